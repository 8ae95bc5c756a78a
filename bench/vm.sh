#!/usr/bin/env bash
# The benchmark inside the nested VM (pure cgroup v2), where crun runs too: bench/run.sh with
# rampart, runc and crun, through vm/vm-test.sh. The guest is busybox only, so this packs bash,
# hyperfine, jq, bc, GNU time, util-linux unshare, runc and crun (vm-test.sh copies the host
# libraries of every dynamic ELF in the tests dir), plus run.sh and the default seccomp profile.
# Times under TCG emulation are much slower than on the host: read the ratios, not the ms.
#
# usage: bench/vm.sh --rampart STATIC-PATH [--out FILE] [-- run.sh options, default --quick]
set -euo pipefail

log() { printf 'bench-vm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAMPART=""
OUT=$REPO/bench/results-vm.md
RUN_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rampart) RAMPART=${2:-}; shift 2 || die "--rampart needs a value" ;;
        --out) OUT=${2:-}; shift 2 || die "--out needs a value" ;;
        --) shift; RUN_ARGS=("$@"); break ;;
        *) die "unknown argument: $1" ;;
    esac
done
[ -n "$RAMPART" ] && [ -x "$RAMPART" ] || die "--rampart PATH (a static build) is required"
[ ${#RUN_ARGS[@]} -gt 0 ] || RUN_ARGS=(--quick)

need=""
for p in hyperfine time jq bc runc crun; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
if [ -n "$need" ]; then
    log "installing:$need"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench-vm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
T=$WORK/tests
mkdir -p "$T/bin" "$T/repo/bench" "$T/repo/seccomp-profiles"
for b in /bin/bash "$(command -v hyperfine)" "$(command -v jq)" "$(command -v bc)" /usr/bin/time \
         /usr/bin/unshare /usr/sbin/runc /usr/bin/crun; do
    cp -L "$b" "$T/bin/"
done
chmod 0755 "$T/bin/"*
cp "$REPO/bench/run.sh" "$T/repo/bench/"
cp "$REPO/seccomp-profiles/default.json" "$T/repo/seccomp-profiles/"
# Each argument on its own line, read back into an array in the guest (no word splitting).
printf '%s\n' "${RUN_ARGS[@]}" >"$T/run-args"
cat >"$T/50-bench.sh" <<'EOF'
#!/bin/sh
# Runs in the guest: put the packed tools where run.sh looks, then run it.
set -e
for b in /tests/bin/*; do
    n=${b##*/}
    case "$n" in
        runc) dst=/usr/sbin/runc ;;
        *) dst=/usr/bin/$n ;;
    esac
    # Busybox applets (bc, time, unshare) are symlinks to the running busybox: replace them.
    rm -f "$dst"
    cp "$b" "$dst"
done
# busybox's unshare lacks --root: util-linux's goes first in PATH.
export PATH=/usr/bin:$PATH
echo "BENCH-TABLE-BEGIN"
/usr/bin/bash -c 'mapfile -t a </tests/run-args; exec /tests/repo/bench/run.sh --rampart /usr/local/bin/rampart --out /tmp/bench.md "${a[@]}"' 2>/tmp/bench.err || {
    echo "bench failed:"; tail -30 /tmp/bench.err; exit 1; }
echo "BENCH-TABLE-END"
EOF
chmod 0755 "$T/50-bench.sh"

log "booting the VM (slow: TCG emulation)"
rc=0
"$REPO/vm/vm-test.sh" --rampart "$RAMPART" --tests "$T" --workdir "$WORK/vm" \
    --timeout 3000 --test-timeout 2700 >&2 || rc=$?
CONSOLE=$WORK/vm/console.log
if [ -f "$CONSOLE" ] && grep -q BENCH-TABLE-END "$CONSOLE"; then
    sed -n '/BENCH-TABLE-BEGIN/,/BENCH-TABLE-END/p' "$CONSOLE" | sed '1d;$d' | tr -d '\r' \
        | sed 's/^# rampart benchmark$/# rampart benchmark (nested VM, QEMU TCG, pure cgroup v2)/' >"$WORK/table.md"
    cat "$WORK/table.md"
    cp "$WORK/table.md" "$OUT" && log "results kept in $OUT"
else
    log "no table from the VM (vm-test.sh exit $rc); console tail:"
    [ -f "$CONSOLE" ] && tail -40 "$CONSOLE" >&2
    exit 1
fi
