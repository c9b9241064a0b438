#!/usr/bin/env bash
# slotgated under a real systemd manager (make test-systemd; root).
#
# Boots systemd in systemd-nspawn on an overlay of this machine's root (tmpfs upper layer: the host is
# not changed), installs the units, binaries and man pages with `make install`, runs the operator's steps of the
# README (systemd-sysusers, systemd-tmpfiles, a key in /etc/slotgate/agp-api-key mode 0600), then:
#   - man slotgated, man slotgate and man slotgate.run find the installed pages;
#   - systemctl start slotgated.socket: the socket is root:slotgate 0660, the service is not running;
#   - the first connect starts the service, which answers it and reaches active (running), with the
#     daemon's STATUS= line in `systemctl status` (start-to-READY time printed);
#   - the hardened unit serves under its own user: the main process is user slotgate, a lease is taken
#     (written to the ledger under StateDirectory) and released, the lease records the caller's uid;
#   - systemctl reload: a live key changed in the file (slots.reserve) applies without a restart, same
#     main pid, "settings reloaded" in the journal (reload time printed);
#   - a stopped core (SIGSTOP of the main pid) misses its watchdog pings: the unit is restarted with
#     result 'watchdog' (a drop-in shortens WatchdogSec to 4 s; the time to the restart is printed);
#   - systemctl stop: the daemon exits 0 within TimeoutStopSec (stop time printed), the socket stays;
#   - without /etc/slotgate/agp-api-key systemd refuses the start (status 243/CREDENTIALS).
# The test's drop-in sets SLOTGATE_UPSTREAM_SIMULATE=true, so no network is needed and the config file
# stays the packaged one.
#
# Usage: Tests/systemd/test-systemd.sh [DIR holding built slotgated and slotgate, default .build/debug]
# SYSTEMD_TEST_IF_ALLOWED=1 (how `make test` calls it): a machine that cannot run the manager (not
# root, no nspawn and no apt, cgroups or overlayfs refused) prints one SKIP line and exits 0. A
# failure of the units themselves always exits 1.
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$(pwd)
BIN_DIR=$(realpath -m "${1:-.build/debug}")
IF_ALLOWED=${SYSTEMD_TEST_IF_ALLOWED:-0}
CGROUP_NAME=slotgate-test-$$
started=$SECONDS
passed=0

work="" root="" nspawn_pid="" pid1="" cgroup_moved=() original_cgroups=""

skip() {
    if [ "$IF_ALLOWED" = 1 ]; then
        echo "SKIP test-systemd: $*"
        exit 0
    fi
    echo "test-systemd cannot run here: $*" >&2
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
[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn, overlayfs, cgroups); run: sudo make test-systemd"
for b in slotgated slotgate; do
    [ -x "$BIN_DIR/$b" ] || fail "$BIN_DIR/$b is missing (swift build first)"
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
make --no-print-directory -s install DESTDIR="$root" PREFIX=/usr/local INSTALL_BINARIES_FROM="$BIN_DIR" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "make install into the container root failed"; }
# The test's drop-in: the simulator instead of the platform, a short watchdog for the watchdog check.
mkdir -p "$root/etc/systemd/system/slotgated.service.d"
cat >"$root/etc/systemd/system/slotgated.service.d/test.conf" <<'EOF'
[Service]
Environment=SLOTGATE_UPSTREAM_SIMULATE=true
WatchdogSec=4s
EOF
# The key as the README tells operators to install it (the simulator ignores it).
umask 077
printf 'agp-test-key-not-a-secret\n' >"$root/etc/slotgate/agp-api-key"
umask 022
chmod 0600 "$root/etc/slotgate/agp-api-key"

# --- Boot -----------------------------------------------------------------------------------------------
boot_start=$(now_ms)
systemd-nspawn -D "$root" -b --register=no --keep-unit --private-network --console=read-only \
    --machine=slotgate-test >"$work/console.log" 2>&1 &
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

# --- The operator's steps ---------------------------------------------------------------------------------
inside systemd-sysusers >/dev/null 2>&1 || fail "systemd-sysusers failed"
inside systemd-tmpfiles --create slotgate.conf || fail "systemd-tmpfiles --create slotgate.conf failed"
inside systemctl daemon-reload
inside getent passwd slotgate >/dev/null || fail "systemd-sysusers did not create the user slotgate"
[ "$(inside stat -c '%a %U %G' /etc/slotgate)" = "750 root slotgate" ] || fail "/etc/slotgate is not 0750 root:slotgate after systemd-tmpfiles"
[ "$(inside stat -c '%a %U %G' /etc/slotgate/slotgate.yaml)" = "640 root slotgate" ] || fail "slotgate.yaml is not 0640 root:slotgate"
ok "systemd-sysusers creates slotgate; systemd-tmpfiles makes /etc/slotgate 0750 root:slotgate"

# The operator's `man slotgated`, `man slotgate`, and the unit's Documentation=man:slotgated(8).
# (Debian links /usr/local/man to share/man, and man may name either.)
man_finds() { inside sh -c 'readlink -f "$(man -w "$1")"' _ "$1"; }
[ "$(man_finds slotgated)" = /usr/local/share/man/man8/slotgated.8 ] || fail "man -w slotgated: $(inside man -w slotgated 2>&1)"
[ "$(man_finds slotgate)" = /usr/local/share/man/man1/slotgate.1 ] || fail "man -w slotgate: $(inside man -w slotgate 2>&1)"
[ "$(man_finds slotgate.run)" = /usr/local/share/man/man1/slotgate.run.1 ] || fail "man -w slotgate.run: $(inside man -w slotgate.run 2>&1)"
grep -q "^SIGNALS" <<<"$(inside env MANWIDTH=80 man slotgated 2>&1)" || fail "man slotgated does not show its SIGNALS section"
grep -qx "Documentation=man:slotgated(8)" "$root/usr/local/lib/systemd/system/slotgated.service" ||
    fail "slotgated.service does not name man:slotgated(8)"
ok "man slotgated, man slotgate and man slotgate.run find the installed pages"

inside systemctl start slotgated.socket || fail "systemctl start slotgated.socket failed"
[ "$(inside stat -c '%a %U %G %F' /run/slotgate/slotgate.sock)" = "660 root slotgate socket" ] ||
    fail "the socket is not 0660 root:slotgate: $(inside stat -c '%a %U %G %F' /run/slotgate/slotgate.sock)"
[ "$(prop slotgated.service ActiveState)" = inactive ] || fail "slotgated.service runs before the first connect"
ok "slotgated.socket listens on /run/slotgate/slotgate.sock (0660 root:slotgate); the service is not started yet"

# First connect: the service starts and answers the very request that started it.
t0=$(now_ms)
status_json=$(inside curl -sS --max-time 20 --unix-socket /run/slotgate/slotgate.sock http://localhost/v1/status) ||
    fail "the first connect got no answer"
first_answer_ms=$(($(now_ms) - t0))
echo "$status_json" | grep -q '"ready":true' || fail "the first answer is not ready: $status_json"
for _ in $(seq 100); do
    [ "$(prop slotgated.service SubState)" = running ] && break
    sleep 0.1
done
[ "$(prop slotgated.service ActiveState)/$(prop slotgated.service SubState)" = active/running ] ||
    fail "slotgated.service did not reach active (running): $(prop slotgated.service ActiveState)/$(prop slotgated.service SubState) (does the daemon send READY=1?)"
start_us=$(prop slotgated.service ExecMainStartTimestampMonotonic)
active_us=$(prop slotgated.service ActiveEnterTimestampMonotonic)
ready_ms=$(((active_us - start_us) / 1000))
ok "the first connect started slotgated.service; it answered in ${first_answer_ms} ms and reached active (running) ${ready_ms} ms after exec (start-to-READY)"

status_text=$(prop slotgated.service StatusText)
[ -n "$status_text" ] || fail "slotgated.service has no STATUS= line (does the daemon send STATUS=?)"
inside systemctl --no-pager status slotgated.service | grep -q "Status: \"" || fail "systemctl status shows no Status: line"
ok "systemctl status shows the daemon's STATUS line: \"$status_text\""

# The hardened unit serves under its own user, from its state directory.
main_pid=$(prop slotgated.service MainPID)
[ "$(inside stat -c %U "/proc/$main_pid")" = slotgate ] || fail "the main process runs as $(inside stat -c %U "/proc/$main_pid"), not slotgate"
lease=$(inside curl -sS --max-time 10 --unix-socket /run/slotgate/slotgate.sock -X POST -H 'Content-Type: application/json' \
    -d '{"holder":"test-systemd","wait_s":10}' http://localhost/v1/leases) || fail "POST /v1/leases failed"
lease_id=$(echo "$lease" | sed -nE 's/.*"id":"(lse_[^"]+)".*/\1/p')
[ -n "$lease_id" ] || fail "no lease granted under the hardened unit: $lease"
echo "$lease" | grep -q '"uid":0' || fail "the lease does not record the caller's uid 0 (SO_PEERCRED): $lease"
inside curl -sS --max-time 10 --unix-socket /run/slotgate/slotgate.sock -X DELETE "http://localhost/v1/leases/$lease_id" | grep -q '"state":"released"' ||
    fail "the lease could not be released"
inside sh -c 'ls -ln /var/lib/slotgate' | grep -q . || fail "nothing in /var/lib/slotgate (StateDirectory)"
[ "$(inside stat -c '%U %a' /var/lib/slotgate)" = "slotgate 700" ] || fail "/var/lib/slotgate is not slotgate's, mode 0700"
inside runuser -u slotgate -- /usr/local/bin/slotgate status >/dev/null 2>&1 || fail "slotgate status as a member of group slotgate failed"
if inside runuser -u nobody -- /usr/local/bin/slotgate status >/dev/null 2>&1; then fail "user nobody (not in group slotgate) may use the socket"; fi
ok "the hardened unit serves as user slotgate (pid $main_pid): a lease taken and released, ledger in /var/lib/slotgate; group slotgate may connect, others may not"

# Reload: a live key changed in the file takes effect without a restart.
inside sed -i 's/^  # reserve: 0$/  reserve: 1/' /etc/slotgate/slotgate.yaml
inside grep -q '^  reserve: 1$' /etc/slotgate/slotgate.yaml || fail "could not set slots.reserve in the container's config"
t0=$(now_ms)
inside systemctl reload slotgated.service || fail "systemctl reload slotgated failed"
reload_ms=$(($(now_ms) - t0))
for _ in $(seq 50); do
    journal=$(inside journalctl --no-pager -u slotgated.service)
    grep -q "settings reloaded" <<<"$journal" && break
    sleep 0.1
done
grep -q "settings reloaded" <<<"$journal" || fail "the journal does not say 'settings reloaded'"
inside curl -sf --max-time 10 --unix-socket /run/slotgate/slotgate.sock http://localhost/v1/status | grep -q '"reserved":1' ||
    fail "slots.reserve: 1 was not applied by the reload"
[ "$(prop slotgated.service ActiveState)/$(prop slotgated.service MainPID)" = "active/$main_pid" ] ||
    fail "after reload the unit is $(prop slotgated.service ActiveState) with main pid $(prop slotgated.service MainPID) (was $main_pid)"
inside curl -sf --max-time 10 --unix-socket /run/slotgate/slotgate.sock http://localhost/v1/status | grep -q '"ready":true' ||
    fail "no answer after reload"
ok "systemctl reload slotgated: done in ${reload_ms} ms, slots.reserve 0 -> 1 applied live, same main pid, answering; status now \"$(prop slotgated.service StatusText)\""

# A reload with a file a start would refuse fails before the daemon is signalled (ExecReload runs
# slotgated --check-config first): the running settings stay, the journal says why.
inside cp /etc/slotgate/slotgate.yaml /root/slotgate.yaml.good
inside sed -i 's/^  reserve: 1$/  reserve: many/' /etc/slotgate/slotgate.yaml
if inside systemctl reload slotgated.service 2>/dev/null; then fail "systemctl reload succeeded with a file a start would refuse"; fi
[ "$(prop slotgated.service ActiveState)/$(prop slotgated.service MainPID)" = "active/$main_pid" ] ||
    fail "after a refused reload the unit is $(prop slotgated.service ActiveState) with main pid $(prop slotgated.service MainPID)"
for _ in $(seq 50); do
    journal=$(inside journalctl --no-pager -u slotgated.service)
    grep -q 'slots.reserve: must be' <<<"$journal" && break
    sleep 0.1
done
grep -q 'slots.reserve: must be' <<<"$journal" || fail "the journal does not say why the reload was refused"
inside curl -sf --max-time 10 --unix-socket /run/slotgate/slotgate.sock http://localhost/v1/status | grep -q '"reserved":1' ||
    fail "the running settings changed after a refused reload"
inside cp /root/slotgate.yaml.good /etc/slotgate/slotgate.yaml
ok "systemctl reload with slots.reserve: many fails (slotgated --check-config, exit 78) and the daemon keeps its settings"

# Watchdog: the pings keep the unit alive past WatchdogSec, a stopped process gets it restarted.
sleep 5
[ "$(prop slotgated.service MainPID)" = "$main_pid" ] || fail "the unit was restarted without a hang (missing WATCHDOG=1 pings?)"
restarts=$(prop slotgated.service NRestarts)
t0=$(now_ms)
inside kill -STOP "$main_pid"
new_pid=""
for _ in $(seq 200); do
    pid=$(prop slotgated.service MainPID)
    if [ "$pid" != "$main_pid" ] && [ "$pid" != 0 ] && [ "$(prop slotgated.service SubState)" = running ]; then
        new_pid=$pid
        break
    fi
    sleep 0.1
done
[ -n "$new_pid" ] || fail "the stopped daemon was not restarted within 20 s"
watchdog_ms=$(($(now_ms) - t0))
[ "$(prop slotgated.service NRestarts)" -gt "$restarts" ] || fail "NRestarts did not grow"
# journald may write the lines a moment after the restart: look for them for up to 5 s. The journal is read
# into a variable first: `journalctl | grep -q` fails under pipefail when grep stops reading early (SIGPIPE).
for _ in $(seq 50); do
    journal=$(inside journalctl --no-pager -u slotgated.service)
    grep -q "Watchdog timeout" <<<"$journal" && grep -q "Failed with result 'watchdog'" <<<"$journal" && break
    sleep 0.1
done
grep -q "Watchdog timeout" <<<"$journal" || fail "the journal does not record a watchdog timeout"
grep -q "Failed with result 'watchdog'" <<<"$journal" || fail "the unit did not fail with result 'watchdog'"
inside curl -sf --max-time 10 --unix-socket /run/slotgate/slotgate.sock http://localhost/v1/status | grep -q '"ready":true' ||
    fail "no answer after the watchdog restart"
ok "a stopped daemon (SIGSTOP) was killed with result 'watchdog' and restarted: ${watchdog_ms} ms from the hang to active again (WatchdogSec=4s)"

# Stop.
t0=$(now_ms)
inside systemctl stop slotgated.service 2>/dev/null || fail "systemctl stop slotgated failed"
stop_ms=$(($(now_ms) - t0))
[ "$(prop slotgated.service ActiveState)" = inactive ] || fail "slotgated.service is $(prop slotgated.service ActiveState) after stop"
[ "$(prop slotgated.service Result)" = success ] || fail "stop result is $(prop slotgated.service Result), not success"
[ "$(prop slotgated.service ExecMainCode)/$(prop slotgated.service ExecMainStatus)" = "1/0" ] ||
    fail "the daemon did not exit 0 on SIGTERM (code/status $(prop slotgated.service ExecMainCode)/$(prop slotgated.service ExecMainStatus))"
[ "$(prop slotgated.socket ActiveState)" = active ] && inside test -S /run/slotgate/slotgate.sock ||
    fail "the socket unit or its socket file went away with the service"
ok "systemctl stop slotgated: exit 0 in ${stop_ms} ms; slotgated.socket still listens for the next connect"

# Without the key file systemd refuses the start itself (README "Troubleshooting").
inside mv /etc/slotgate/agp-api-key /etc/slotgate/agp-api-key.away
if inside systemctl start slotgated.service 2>/dev/null; then fail "slotgated.service started without /etc/slotgate/agp-api-key"; fi
[ "$(prop slotgated.service ExecMainStatus)" = 243 ] || fail "a missing key file did not fail with status 243/CREDENTIALS (got $(prop slotgated.service ExecMainStatus))"
inside systemctl stop slotgated.service 2>/dev/null || true
inside mv /etc/slotgate/agp-api-key.away /etc/slotgate/agp-api-key
ok "without /etc/slotgate/agp-api-key systemd refuses the start with status=243/CREDENTIALS"

echo "test-systemd: $passed checks passed in $((SECONDS - started)) s (start-to-READY ${ready_ms} ms, reload ${reload_ms} ms, hang-to-restart ${watchdog_ms} ms, stop ${stop_ms} ms)"
mkdir -p "$REPO/.build" && echo "$passed" >>"$REPO/.build/checks.count"
