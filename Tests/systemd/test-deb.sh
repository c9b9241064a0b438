#!/usr/bin/env bash
# The Debian package under a real systemd manager (make test-deb; root).
#
# The container is test-systemd.sh's (systemd-nspawn booting an overlay of this machine's root on a tmpfs; the
# host is not changed; the setup below is copied from it). In it:
#   - dpkg -i of the first package: postinst creates the user slotgate (systemd-sysusers) and /etc/slotgate
#     (systemd-tmpfiles), enables and starts slotgated.socket, and does not start slotgated.service;
#   - with the key in /etc/slotgate/agp-api-key and a runtime drop-in turning the simulator on, the first
#     `slotgate status` starts the service, which reaches active (running) (READY=1);
#   - `slotgate acquire --holder deb-test --ttl 3600` takes a lease that stays held;
#   - dpkg -i of the second package (same binaries, DEB_REVISION bumped) upgrades in place: the conffile the
#     operator edited is kept, the service runs again on a new pid, and the lease is still live;
#   - dpkg --purge: no file of the package, no /etc/slotgate, /var/lib/slotgate or /run/slotgate, no unit
#     enablement symlink and no deb-systemd-helper state are left; the system user slotgate may stay.
#
# Usage: Tests/systemd/test-deb.sh FIRST.deb SECOND.deb (make test-deb builds both)
# SYSTEMD_TEST_IF_ALLOWED=1: a machine that cannot run the container prints one SKIP line and exits 0.
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$(pwd)
DEB1=$(realpath -m "${1:?usage: test-deb.sh FIRST.deb SECOND.deb}")
DEB2=$(realpath -m "${2:?usage: test-deb.sh FIRST.deb SECOND.deb}")
IF_ALLOWED=${SYSTEMD_TEST_IF_ALLOWED:-0}
CGROUP_NAME=slotgate-deb-test-$$
started=$SECONDS
passed=0

work="" root="" nspawn_pid="" pid1="" cgroup_moved=() original_cgroups=""

skip() {
    if [ "$IF_ALLOWED" = 1 ]; then
        echo "SKIP test-deb: $*"
        exit 0
    fi
    echo "test-deb cannot run here: $*" >&2
    exit 1
}
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() {
    echo "FAIL: $*" >&2
    if [ -n "$pid1" ]; then
        echo "--- systemctl status slotgated.socket slotgated.service" >&2
        inside systemctl --no-pager -l status slotgated.socket slotgated.service >&2 || true
        echo "--- journalctl -u slotgated (last 40 lines)" >&2
        inside journalctl --no-pager -n 40 -u slotgated.service -u slotgated.socket >&2 || true
    fi
    exit 1
}
now_ms() { date +%s%3N; }
# A command inside the container, time-boxed.
inside() { timeout 30 nsenter -t "$pid1" -a "$@"; }
prop() { inside systemctl show -P "$2" "$1"; }

cleanup() {
    set +e
    if [ -n "$pid1" ] && kill -0 "$pid1" 2>/dev/null; then
        kill -s SIGRTMIN+4 "$pid1" 2>/dev/null
    fi
    if [ -n "$nspawn_pid" ]; then
        for _ in $(seq 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$nspawn_pid" 2>/dev/null; then
            echo "note: the container did not power off within 10 s; killing systemd-nspawn ($nspawn_pid)" >&2
            kill -KILL "$nspawn_pid" 2>/dev/null
        fi
        wait "$nspawn_pid" 2>/dev/null
    fi
    if [ -n "$root" ]; then
        mountpoint -q "$root" && { umount "$root" 2>/dev/null || umount -l "$root"; }
    fi
    if [ -n "$work" ]; then
        mountpoint -q "$work" && { umount "$work" 2>/dev/null || umount -l "$work"; }
        rmdir "$work" 2>/dev/null
    fi
    # Back to the cgroups this shell came from, then remove the test's own.
    local entry hierarchy path
    for entry in "${cgroup_moved[@]}"; do
        hierarchy=${entry%%=*} path=${entry#*=}
        echo $$ >"/sys/fs/cgroup/$hierarchy$path/cgroup.procs" 2>/dev/null
        [ -d "/sys/fs/cgroup/$hierarchy/$CGROUP_NAME" ] && find "/sys/fs/cgroup/$hierarchy/$CGROUP_NAME" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Is this machine able to run a manager? ---------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn, overlayfs, cgroups); run: sudo make test-deb"
for d in "$DEB1" "$DEB2"; do
    [ -f "$d" ] || fail "$d is missing (make deb first)"
done
if ! command -v systemd-nspawn >/dev/null; then
    command -v apt-get >/dev/null || skip "systemd-nspawn is missing and there is no apt-get to install systemd-container"
    echo "installing systemd-container (systemd-nspawn)"
    timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container >/dev/null 2>&1 ||
        { timeout 300 apt-get update -qq >/dev/null 2>&1 && timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container >/dev/null 2>&1; } ||
        skip "systemd-nspawn is missing and apt-get could not install systemd-container"
fi
[ -d /sys/fs/cgroup ] || skip "no /sys/fs/cgroup"
# A starting manager moves every process of its cgroup into init.scope: move this shell (and so
# nspawn) into a fresh cgroup first, in every named hierarchy systemd uses.
for hierarchy in systemd unified; do
    [ -d "/sys/fs/cgroup/$hierarchy" ] || continue
    if [ "$hierarchy" = unified ]; then
        current=$(sed -n 's/^0::\(.*\)$/\1/p' /proc/self/cgroup)
    else
        current=$(sed -n 's/^[0-9]*:name=systemd:\(.*\)$/\1/p' /proc/self/cgroup)
    fi
    mkdir -p "/sys/fs/cgroup/$hierarchy/$CGROUP_NAME" 2>/dev/null || skip "cannot create a cgroup under /sys/fs/cgroup/$hierarchy (read-only cgroups)"
    cgroup_moved+=("$hierarchy=${current:-/}")
    echo $$ >"/sys/fs/cgroup/$hierarchy/$CGROUP_NAME/cgroup.procs" 2>/dev/null || skip "cannot move a process between cgroups in /sys/fs/cgroup/$hierarchy"
done
if [ ! -d /sys/fs/cgroup/systemd ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
    skip "no cgroup hierarchy systemd can use"
fi
if [ -f /sys/fs/cgroup/cgroup.controllers ] && [ ${#cgroup_moved[@]} -eq 0 ]; then
    current=$(sed -n 's/^0::\(.*\)$/\1/p' /proc/self/cgroup)
    mkdir -p "/sys/fs/cgroup/$CGROUP_NAME" 2>/dev/null || skip "cannot create a cgroup (read-only cgroups)"
    cgroup_moved+=("=${current:-/}")
    echo $$ >"/sys/fs/cgroup/$CGROUP_NAME/cgroup.procs" 2>/dev/null || skip "cannot move a process between cgroups"
fi

# --- The overlay root ---------------------------------------------------------------------------------
work=$(mktemp -d /tmp/slotgate-nspawn.XXXXXX)
mount -t tmpfs -o size=2g,mode=0755 tmpfs "$work" || skip "cannot mount a tmpfs"
mkdir -p "$work/upper" "$work/work" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$work/root" ||
    { umount "$work"; skip "cannot mount an overlay of / (overlayfs refused)"; }
root=$work/root

# Host units that make no sense inside: masked.
mkdir -p "$root/etc/systemd/system"
for unit in postgresql.service e2scrub_reap.service systemd-timesyncd.service systemd-pstore.service \
    getty@tty1.service console-getty.service ssh.service cron.service remote-fs.target \
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer man-db.timer \
    logrotate.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# A slotgate installed on the host itself must not shadow the one under test.
rm -rf "$root/etc/slotgate" "$root/etc/systemd/system/slotgated.service.d" "$root/var/lib/slotgate"
# A container image's policy-rc.d (Docker's answers 101) would make deb-systemd-invoke start nothing; a Debian
# host has none.
rm -f "$root/usr/sbin/policy-rc.d"
# The packages, where dpkg inside can read them.
mkdir -p "$root/root/debs"
cp "$DEB1" "$DEB2" "$root/root/debs/"
inner1=/root/debs/$(basename "$DEB1") inner2=/root/debs/$(basename "$DEB2")

# --- Boot -----------------------------------------------------------------------------------------------
boot_start=$(now_ms)
systemd-nspawn -D "$root" -b --register=no --keep-unit --private-network --console=read-only \
    --machine=slotgate-deb-test >"$work/console.log" 2>&1 &
nspawn_pid=$!
# The container's PID 1: the descendant of nspawn whose NSpid ends in 1.
descendants() {
    local p child
    for p in "$@"; do
        for child in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
            echo "$child"
            descendants "$child"
        done
    done
}
for _ in $(seq 100); do
    for p in $(descendants "$nspawn_pid"); do
        if grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$p/status" 2>/dev/null && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
            pid1=$p
            break 2
        fi
    done
    kill -0 "$nspawn_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$pid1" ]; then
    tail -20 "$work/console.log" >&2
    if grep -qiE "cgroup|Operation not permitted|not supported" "$work/console.log"; then
        skip "systemd-nspawn could not boot a container here: $(grep -iE 'cgroup|not permitted|not supported' "$work/console.log" | head -1)"
    fi
    fail "systemd-nspawn did not start a container"
fi
state=""
for _ in $(seq 300); do
    state=$(timeout 5 nsenter -t "$pid1" -a systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded | maintenance | stopping | offline) break ;; esac
    kill -0 "$pid1" 2>/dev/null || break
    sleep 0.1
done
case "$state" in
    running | degraded) ;;
    *) tail -20 "$work/console.log" >&2; fail "the container's manager did not finish booting within 30 s (state: ${state:-none})" ;;
esac
echo "container booted in $(($(now_ms) - boot_start)) ms (system state: $state)"
[ "$state" = running ] || inside systemctl --no-pager --failed --plain --no-legend | sed 's/^/  failed in the container (not slotgate): /'


# --- Install -----------------------------------------------------------------------------------------------
inside dpkg-query -W slotgate >/dev/null 2>&1 && fail "slotgate is already installed in the container (from the host's root)"
t0=$(now_ms)
inside env DEBIAN_FRONTEND=noninteractive dpkg -i "$inner1" >"$work/dpkg-install.log" 2>&1 || { cat "$work/dpkg-install.log" >&2; fail "dpkg -i $(basename "$DEB1") failed"; }
install_ms=$(($(now_ms) - t0))
inside getent passwd slotgate >/dev/null || fail "postinst did not create the user slotgate"
[ "$(inside stat -c '%a %U %G' /etc/slotgate)" = "750 root slotgate" ] || fail "/etc/slotgate is $(inside stat -c '%a %U %G' /etc/slotgate), not 750 root:slotgate"
[ "$(inside stat -c '%a %U %G' /etc/slotgate/slotgate.yaml)" = "640 root slotgate" ] || fail "slotgate.yaml is not 0640 root:slotgate"
inside grep -qx /etc/slotgate/slotgate.yaml /var/lib/dpkg/info/slotgate.conffiles || fail "slotgate.yaml is not a conffile"
[ "$(prop slotgated.socket UnitFileState)" = enabled ] || fail "slotgated.socket is not enabled"
[ "$(prop slotgated.socket ActiveState)" = active ] || fail "slotgated.socket is not started"
[ "$(prop slotgated.service ActiveState)" = inactive ] || fail "postinst started slotgated.service (there is no key yet)"
inside test -S /run/slotgate/slotgate.sock || fail "no socket at /run/slotgate/slotgate.sock"
[ "$(inside readlink -f /usr/share/man/man8/slotgated.8.gz)" = /usr/share/man/man8/slotgated.8.gz ] || fail "no slotgated(8) man page"
inside sh -c 'man -w slotgated' | grep -q slotgated.8.gz || fail "man -w slotgated does not find the page"
ok "dpkg -i $(basename "$DEB1") in ${install_ms} ms: user slotgate, /etc/slotgate 0750 root:slotgate, slotgate.yaml a conffile, slotgated.socket enabled and listening, the service not started, man slotgated"

# The operator's step (the key) and the test's runtime drop-in (the simulator), then the first connect.
umask 077
printf 'agp-test-key-not-a-secret\n' >"$root/etc/slotgate/agp-api-key"
umask 022
chmod 0600 "$root/etc/slotgate/agp-api-key"
# (/run inside is the container's own tmpfs: written from inside.)
inside sh -c 'mkdir -p /run/systemd/system/slotgated.service.d && printf "[Service]\nEnvironment=SLOTGATE_UPSTREAM_SIMULATE=true\n" >/run/systemd/system/slotgated.service.d/test.conf'
inside systemctl daemon-reload
status_out=$(inside /usr/bin/slotgate status 2>&1) || fail "slotgate status failed: $status_out"
for _ in $(seq 100); do
    [ "$(prop slotgated.service SubState)" = running ] && break
    sleep 0.1
done
[ "$(prop slotgated.service ActiveState)/$(prop slotgated.service SubState)" = active/running ] ||
    fail "slotgated.service did not reach active (running) (READY=1)"
grep -q "SIMULATOR" <<<"$status_out" || fail "slotgate status does not show the simulator: $status_out"
main_pid=$(prop slotgated.service MainPID)
[ "$(inside stat -c %U "/proc/$main_pid")" = slotgate ] || fail "the daemon does not run as slotgate"
ok "the first slotgate status started slotgated.service (active (running), user slotgate, status \"$(prop slotgated.service StatusText)\")"
echo "$status_out" | sed 's/^/  | /'

lease_id=$(inside /usr/bin/slotgate acquire --holder deb-test --ttl 3600 --wait 10) || fail "slotgate acquire failed"
[[ "$lease_id" == lse_* ]] || fail "slotgate acquire printed $lease_id, not a lease id"
inside /usr/bin/slotgate leases | grep -q "$lease_id" || fail "slotgate leases does not list $lease_id"
ok "slotgate acquire --holder deb-test --ttl 3600: lease $lease_id held"

# --- Upgrade in place --------------------------------------------------------------------------------------
inside sed -i 's/^  # reserve: 0$/  reserve: 1/' /etc/slotgate/slotgate.yaml
inside grep -q '^  reserve: 1$' /etc/slotgate/slotgate.yaml || fail "could not edit the conffile"
t0=$(now_ms)
inside env DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$inner2" >"$work/dpkg-upgrade.log" 2>&1 || { cat "$work/dpkg-upgrade.log" >&2; fail "dpkg -i $(basename "$DEB2") (upgrade) failed"; }
upgrade_ms=$(($(now_ms) - t0))
[ "$(inside dpkg-query -W -f '${Version}' slotgate)" = "$(dpkg-deb -f "$DEB2" Version)" ] || fail "the upgrade did not install $(dpkg-deb -f "$DEB2" Version)"
inside grep -q '^  reserve: 1$' /etc/slotgate/slotgate.yaml || fail "the upgrade replaced the edited conffile"
for _ in $(seq 100); do
    [ "$(prop slotgated.service SubState)" = running ] && break
    sleep 0.1
done
new_pid=$(prop slotgated.service MainPID)
[ "$(prop slotgated.service ActiveState)/$(prop slotgated.service SubState)" = active/running ] || fail "slotgated.service is not running after the upgrade"
[ "$new_pid" != "$main_pid" ] || fail "the upgrade did not restart slotgated (same pid $main_pid)"
[ "$(prop slotgated.socket UnitFileState)" = enabled ] || fail "slotgated.socket is not enabled after the upgrade"
leases_out=$(inside /usr/bin/slotgate leases 2>&1) || fail "slotgate leases failed after the upgrade: $leases_out"
grep -q "$lease_id" <<<"$leases_out" || fail "lease $lease_id did not survive the upgrade: $leases_out"
lease_json=$(inside curl -sS --max-time 10 --unix-socket /run/slotgate/slotgate.sock "http://localhost/v1/leases/$lease_id") || fail "GET the lease failed"
grep -qE '"state":"(granted|bound)"' <<<"$lease_json" || fail "lease $lease_id is not held after the upgrade: $lease_json"
inside curl -sf --max-time 10 --unix-socket /run/slotgate/slotgate.sock http://localhost/v1/status | grep -q '"reserved":1' ||
    fail "the edited conffile (slots.reserve: 1) is not in force after the upgrade"
ok "dpkg -i $(basename "$DEB2") upgraded in place in ${upgrade_ms} ms: the edited conffile kept, slotgated restarted (pid $main_pid -> $new_pid), lease $lease_id still held"

# --- Purge ------------------------------------------------------------------------------------------------
files=$(inside dpkg-query -L slotgate | grep -vE '^/\.$' || true)
t0=$(now_ms)
inside env DEBIAN_FRONTEND=noninteractive dpkg --purge slotgate >"$work/dpkg-purge.log" 2>&1 || { cat "$work/dpkg-purge.log" >&2; fail "dpkg --purge slotgate failed"; }
purge_ms=$(($(now_ms) - t0))
[ "$(prop slotgated.service ActiveState)" = inactive ] || fail "slotgated.service still runs after purge"
left=""
while IFS= read -r f; do
    [ -n "$f" ] || continue
    inside test -d "$f" && continue # shared directories (/usr/bin, /etc) stay
    inside test -e "$f" && left="$left $f"
done <<<"$files"
for d in /etc/slotgate /var/lib/slotgate /run/slotgate /usr/share/doc/slotgate \
    /etc/systemd/system/sockets.target.wants/slotgated.socket /etc/systemd/system/multi-user.target.wants/slotgated.service \
    /var/lib/systemd/deb-systemd-helper-enabled/slotgated.socket.dsh-also /var/lib/systemd/deb-systemd-helper-enabled/sockets.target.wants/slotgated.socket \
    /var/lib/systemd/deb-systemd-helper-masked/slotgated.socket /var/lib/systemd/deb-systemd-helper-masked/slotgated.service \
    /var/lib/dpkg/info/slotgate.list /var/lib/dpkg/info/slotgate.conffiles /var/lib/dpkg/info/slotgate.postrm; do
    inside test -e "$d" && left="$left $d"
done
extra=$(inside sh -c 'find /etc /var/lib/systemd /lib/systemd /usr -name "*slotgate*" 2>/dev/null' | grep -v '^/run/systemd/' || true)
[ -z "$left" ] || fail "left after purge:$left"
[ -z "$extra" ] || fail "left after purge: $extra"
inside dpkg-query -W slotgate >/dev/null 2>&1 && [ -n "$(inside dpkg-query -W -f '${db:Status-Status}' slotgate)" ] &&
    [ "$(inside dpkg-query -W -f '${db:Status-Status}' slotgate)" != not-installed ] && fail "dpkg still knows slotgate"
kept=$(inside getent passwd slotgate >/dev/null && echo "the system user slotgate (Debian policy keeps users)" || echo nothing)
ok "dpkg --purge slotgate in ${purge_ms} ms: no file, config, ledger, runtime directory or unit enablement left; kept: $kept"

echo "test-deb: $passed checks passed in $((SECONDS - started)) s (install ${install_ms} ms, upgrade ${upgrade_ms} ms, purge ${purge_ms} ms)"
mkdir -p "$REPO/.build" && echo "$passed" >>"$REPO/.build/checks.count"
