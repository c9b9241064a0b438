#!/usr/bin/env bash
# Fast checks of the systemd side that need no manager (run by `make test` and `make test-units`):
#   1. config/slotgate.yaml lists every key of SettingKey.swift at its default, with its meaning,
#      and the README's key table is the generated one;
#   2. slotgated starts with the example config unchanged and answers /v1/status;
#   3. `make install DESTDIR=tmp` lays out every file (units with the bin path substituted,
#      sysusers, tmpfiles, completions, man pages, docs, config), keeps an existing config, and
#      `make uninstall` removes exactly what it added;
#   4. `systemd-analyze verify` passes on the installed units (a copy whose ExecStart points into
#      DESTDIR, since verify needs the binary at that path);
#   5. `systemd-analyze security --offline=yes --threshold=20` passes (exposure <= 2.0);
#   6. the installed man pages: `man` finds them under the DESTDIR's share/man, mandoc -T lint and
#      groff report nothing, every command's page has its examples, slotgated(8) its signals,
#      environment, files and exit status with the install's paths.
# Usage: Tests/systemd/test-units.sh [DIR holding built slotgated and slotgate, default .build/debug]
set -euo pipefail

cd "$(dirname "$0")/../.."
BIN_DIR=$(realpath "${1:-.build/debug}")
PREFIX=/usr/local
passed=0
work=$(mktemp -d /tmp/slotgate-units.XXXXXX)
daemon_pid=""

cleanup() {
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*" >&2; exit 1; }

for b in slotgated slotgate; do
    [ -x "$BIN_DIR/$b" ] || fail "$BIN_DIR/$b is missing (swift build first)"
done
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (apt-get install systemd)"
for tool in man mandoc groff; do
    command -v $tool >/dev/null || fail "$tool is missing (make deps, or apt-get install man-db mandoc)"
done

# 1. The example config and the README table against SettingKey.swift.
python3 Tests/systemd/settingkeys.py check-config config/slotgate.yaml || fail "config/slotgate.yaml disagrees with SettingKey.swift"
ok "config/slotgate.yaml lists every key at its default"
python3 Tests/systemd/settingkeys.py check-readme README.md || fail "README.md's key table disagrees with SettingKey.swift"
ok "README.md's configuration table is generated from SettingKey.swift"

# 2. The daemon starts with the example config unchanged. It names socket.group slotgate, which must
#    exist: when it does not, root runs the daemon in a private mount namespace whose /etc/group has it.
run_daemon() {
    SLOTGATE_UPSTREAM_SIMULATE=true "$BIN_DIR/slotgated" --config config/slotgate.yaml \
        --socket "$work/api.sock" --state-dir "$work/state" >"$work/daemon.log" 2>&1 &
    daemon_pid=$!
}
if getent group slotgate >/dev/null; then
    run_daemon
    how="group slotgate exists"
elif [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    cp /etc/group "$work/group"
    echo "slotgate:x:64999:" >>"$work/group"
    SLOTGATE_UPSTREAM_SIMULATE=true unshare --mount bash -c \
        'mount --bind "$1/group" /etc/group && exec "$2/slotgated" --config config/slotgate.yaml --socket "$1/api.sock" --state-dir "$1/state"' \
        _ "$work" "$BIN_DIR" >"$work/daemon.log" 2>&1 &
    daemon_pid=$!
    how="group slotgate added in a private mount namespace"
else
    echo "note: no group slotgate and not root: socket.group overridden by SLOTGATE_SOCKET_GROUP=$(id -gn)"
    export SLOTGATE_SOCKET_GROUP
    SLOTGATE_SOCKET_GROUP=$(id -gn)
    run_daemon
    how="socket.group overridden"
fi
status=""
for _ in $(seq 100); do
    if status=$(curl -sf --max-time 2 --unix-socket "$work/api.sock" http://localhost/v1/status 2>/dev/null); then break; fi
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; fail "slotgated exited with the example config"; }
    sleep 0.1
done
echo "$status" | grep -q '"ready":true' || { cat "$work/daemon.log" >&2; fail "slotgated did not answer with the example config"; }
kill -TERM "$daemon_pid"
wait "$daemon_pid" || { cat "$work/daemon.log" >&2; fail "slotgated did not stop cleanly on SIGTERM"; }
daemon_pid=""
ok "slotgated starts with config/slotgate.yaml unchanged ($how) and stops cleanly"

# 3. make install into a temporary DESTDIR, with the already-built binaries.
dest="$work/root"
make --no-print-directory -s install DESTDIR="$dest" PREFIX="$PREFIX" INSTALL_BINARIES_FROM="$BIN_DIR" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "make install failed"; }
expected=(
    "0755 $PREFIX/bin/slotgated"
    "0755 $PREFIX/bin/slotgate"
    "0644 $PREFIX/lib/systemd/system/slotgated.service"
    "0644 $PREFIX/lib/systemd/system/slotgated.socket"
    "0644 $PREFIX/lib/sysusers.d/slotgate.conf"
    "0644 $PREFIX/lib/tmpfiles.d/slotgate.conf"
    "0644 $PREFIX/share/doc/slotgate/README.md"
    "0644 $PREFIX/share/doc/slotgate/docs/security.md"
    "0644 $PREFIX/share/doc/slotgate/docs/api.md"
    "0644 $PREFIX/share/doc/slotgate/docs/openapi.yaml"
    "0644 $PREFIX/share/doc/slotgate/slotgate.yaml"
    "0644 $PREFIX/share/doc/slotgate/contrib/grafana/slotgate.json"
    "0644 $PREFIX/share/doc/slotgate/contrib/prometheus/slotgate-rules.yml"
    "0644 $PREFIX/share/doc/slotgate/contrib/prometheus/slotgate-rules.test.yml"
    "0644 $PREFIX/share/bash-completion/completions/slotgate"
    "0644 $PREFIX/share/zsh/site-functions/_slotgate"
    "0644 $PREFIX/share/fish/vendor_completions.d/slotgate.fish"
    "0644 $PREFIX/share/man/man8/slotgated.8"
    "0644 $PREFIX/share/man/man1/slotgate.1"
    "0640 /etc/slotgate/slotgate.yaml"
)
# One page per subcommand, as `slotgate --help` lists them (a subcommand without a page, or a page without a
# subcommand, fails here).
subcommands=$("$BIN_DIR/slotgate" --help | sed -n '/^SUBCOMMANDS:/,/^$/p' | sed -nE 's/^  ([a-z-]+) .*/\1/p' | grep -vx help)
[ "$(echo "$subcommands" | wc -l)" -ge 9 ] || fail "slotgate --help lists too few subcommands: $subcommands"
for sub in $subcommands; do expected+=("0644 $PREFIX/share/man/man1/slotgate.$sub.1"); done
for entry in "${expected[@]}"; do
    mode=${entry%% *} path=${entry#* }
    [ -f "$dest$path" ] && [ -s "$dest$path" ] || fail "make install did not lay out $path"
    actual=$(stat -c %a "$dest$path")
    [ "$actual" = "${mode#0}" ] || fail "$path has mode $actual, expected $mode"
done
[ "$(stat -c %a "$dest/etc/slotgate")" = 750 ] || fail "/etc/slotgate is not mode 0750"
unexpected=$(cd "$dest" && find . -type f | sed 's|^\.||' | sort | comm -23 - <(printf '%s\n' "${expected[@]#* }" | sort))
[ -z "$unexpected" ] || fail "make install laid out files nobody expects: $unexpected"
! grep -rn '@[A-Z]*DIR@' "$dest$PREFIX/lib/systemd/system" || fail "a unit still holds an @…@ placeholder"
grep -qx "ExecStart=$PREFIX/bin/slotgated --config /etc/slotgate/slotgate.yaml" "$dest$PREFIX/lib/systemd/system/slotgated.service" ||
    fail "ExecStart does not point at $PREFIX/bin/slotgated"
grep -q "^complete .*-F _slotgate slotgate$" "$dest$PREFIX/share/bash-completion/completions/slotgate" &&
    grep -q "^#compdef slotgate" "$dest$PREFIX/share/zsh/site-functions/_slotgate" &&
    grep -q "^complete -c 'slotgate'" "$dest$PREFIX/share/fish/vendor_completions.d/slotgate.fish" || fail "the completions are not the CLI's"
cmp -s config/slotgate.yaml "$dest/etc/slotgate/slotgate.yaml" || fail "the installed config is not config/slotgate.yaml"
ok "make install DESTDIR=… lays out ${#expected[@]} files with their modes, ExecStart=$PREFIX/bin/slotgated"

echo "# the operator's edit" >>"$dest/etc/slotgate/slotgate.yaml"
make --no-print-directory -s install DESTDIR="$dest" PREFIX="$PREFIX" INSTALL_BINARIES_FROM="$BIN_DIR" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "make install (again) failed"; }
grep -q "the operator's edit" "$dest/etc/slotgate/slotgate.yaml" || fail "make install overwrote an existing config"
ok "make install keeps an existing /etc/slotgate/slotgate.yaml"

# 4. systemd-analyze verify on the installed units, ExecStart pointing into DESTDIR; it runs man for each
#    Documentation=man:… line, so MANPATH adds the DESTDIR's pages (slotgated(8)) to the system's.
verify="$work/verify"
mkdir -p "$verify"
for u in slotgated.service slotgated.socket; do
    sed -E "s#^(ExecStart|ExecReload)=$PREFIX/bin/#\1=$dest$PREFIX/bin/#" "$dest$PREFIX/lib/systemd/system/$u" >"$verify/$u"
done
if ! out=$(cd "$verify" && MANPATH="$dest$PREFIX/share/man:" systemd-analyze verify ./slotgated.socket ./slotgated.service 2>&1) ||
    [ -n "$out" ]; then
    echo "$out" >&2
    fail "systemd-analyze verify reported problems"
fi
ok "systemd-analyze verify passes on the installed slotgated.service and slotgated.socket"

# 5. systemd-analyze security: exposure at most 2.0.
if ! out=$(cd "$verify" && systemd-analyze security --offline=yes --threshold=20 ./slotgated.service 2>&1); then
    echo "$out" | grep -v '^✓' >&2
    fail "systemd-analyze security: exposure above 2.0"
fi
score=$(echo "$out" | sed -nE 's/.*Overall exposure level for slotgated.service: ([0-9.]+) .*/\1/p')
ok "systemd-analyze security --offline=yes --threshold=20: exposure $score (at most 2.0)"

# 6. The man pages as installed: man finds them, they render without a warning, and say what they must.
mandir="$dest$PREFIX/share/man"
pages=$(cd "$dest" && find ".$PREFIX/share/man" -type f | sed 's|^\.||' | sort)
for page in $pages; do
    out=$(mandoc -T lint -W warning "$dest$page" 2>&1) || true
    [ -z "$out" ] || { echo "$out" >&2; fail "mandoc -T lint: $page"; }
    out=$(LC_ALL=C.UTF-8 groff -mandoc -ww -z "$dest$page" 2>&1) || fail "groff cannot render $page"
    [ -z "$out" ] || { echo "$out" >&2; fail "groff warns about $page"; }
    ! grep -n '@[A-Z]*@' "$dest$page" || fail "$page still holds an @…@ placeholder"
done
render() { MANPATH="$mandir" MANWIDTH=100 LC_ALL=C.UTF-8 man "$@" 2>&1; }
[ "$(MANPATH="$mandir" man -w slotgate)" = "$mandir/man1/slotgate.1" ] || fail "man -w slotgate does not find $mandir/man1/slotgate.1"
[ "$(MANPATH="$mandir" man -w slotgated)" = "$mandir/man8/slotgated.8" ] || fail "man -w slotgated does not find $mandir/man8/slotgated.8"
daemon_page=$(render 8 slotgated)
for heading in NAME SYNOPSIS DESCRIPTION SIGNALS ENVIRONMENT FILES "EXIT STATUS" "SEE ALSO"; do
    grep -qx "$heading" <<<"$daemon_page" || fail "slotgated(8) has no $heading section"
done
for text in "--check-config" "SIGHUP" "SLOTGATE_API_KEY" "/var/lib/slotgate/ledger.sqlite" \
    "units, in $PREFIX/lib/systemd/system" "$PREFIX/share/doc/slotgate/slotgate.yaml" "EX_CONFIG" "slotgate(1)"; do
    grep -qF -- "$text" <<<"$daemon_page" || fail "slotgated(8) does not mention $text"
done
grep -qE '^ +78 +The configuration is refused' <<<"$daemon_page" || fail "slotgated(8) does not give exit status 78"
# Each page has an Examples display (indented 7 columns as man renders it) that runs its command. (Here-strings,
# not pipes into grep -q: under pipefail the writer's SIGPIPE would fail a match.)
examples() {
    local page=$1 command=$2 shown
    shown=$(render "$page")
    shown=$(sed -n '/^     Examples:/,/^[^ ]/p' <<<"$shown")
    grep -qE "^       (.*[ (])?$command( |\$)" <<<"$shown" || fail "$page's page has no example running $command"
}
examples slotgated "slotgated"
examples slotgate "slotgate [a-z]+"
for sub in $subcommands; do examples "slotgate.$sub" "slotgate( --socket [^ ]+)? $sub"; done
grep -q "slotgate.status(1)" <<<"$(render slotgate)" || fail "slotgate(1) does not refer to slotgate.status(1)"
ok "man finds slotgate(1), $(echo "$subcommands" | wc -l) subcommand pages and slotgated(8); mandoc and groff report nothing; each has examples"

# make uninstall removes what install added, keeps the config.
make --no-print-directory -s uninstall DESTDIR="$dest" PREFIX="$PREFIX" >"$work/uninstall.log" 2>&1 ||
    { cat "$work/uninstall.log" >&2; fail "make uninstall failed"; }
left=$(cd "$dest" && find . -type f | sed 's|^\.||')
[ "$left" = "/etc/slotgate/slotgate.yaml" ] || fail "make uninstall left or removed the wrong files: ${left:-nothing}"
ok "make uninstall removes every installed file and keeps /etc/slotgate/slotgate.yaml"

echo "systemd units: $passed checks passed (exposure $score)"
mkdir -p .build && echo "$passed" >>.build/checks.count
