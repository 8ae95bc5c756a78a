#!/usr/bin/env bash
# `run` of /bin/true for several runtimes, interleaved round by round (A, B, C, A, B, C, ...),
# reporting the median of each and its ratio to runc. The order rotates from round to round. On a shared machine the load changes from
# one second to the next; hyperfine measures one command after the other, so a burst of load can
# land on one runtime only. Interleaving spreads it over all of them and the median drops the
# outliers. A benchmark, not a test: nothing fails on a time.
#
# usage: bench/interleaved.sh --rampart PATH [--also NAME=PATH]... [--runc PATH] [--rounds N]
#
# "rampart-memfd" is rampart again with RAMPART_SEALED_BINARY=memfd (the path a caller without
# CAP_SYS_ADMIN takes). Every runtime gets a private --root in a temp dir removed at the end.
set -euo pipefail

log() { printf 'interleaved: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAMPART="" RUNC=/usr/sbin/runc ROUNDS=60
ALSO=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rampart) RAMPART=${2:-}; shift 2 || die "--rampart needs a value" ;;
        --runc) RUNC=${2:-}; shift 2 || die "--runc needs a value" ;;
        --also) ALSO+=("${2:-}"); shift 2 || die "--also needs NAME=PATH" ;;
        --rounds) ROUNDS=${2:-}; shift 2 || die "--rounds needs a value" ;;
        -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[ -x "$RAMPART" ] || die "--rampart $RAMPART: not an executable"
[ -x "$RUNC" ] || die "runc $RUNC: not an executable"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
command -v jq >/dev/null || die "jq is needed (bench/run.sh installs it)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-interleaved.XXXXXX")
NAMES=(rampart rampart-memfd)
declare -A BIN=([rampart]=$RAMPART [rampart-memfd]=$RAMPART) ENVV=([rampart-memfd]=memfd)
for a in "${ALSO[@]}"; do
    [ -x "${a#*=}" ] && [ "${a%%=*}" != "$a" ] || die "--also $a: want NAME=PATH of an executable"
    NAMES+=("${a%%=*}"); BIN[${a%%=*}]=${a#*=}
done
NAMES+=(runc); BIN[runc]=$RUNC
cleanup() {
    local rc=$? n id
    for n in "${NAMES[@]}"; do
        for id in $(ls "$WORK/root-$n" 2>/dev/null); do
            timeout 20 "${BIN[$n]}" --root "$WORK/root-$n" delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 3' INT TERM HUP

# The same bundle as bench/run.sh: busybox, `rampart spec`, /bin/true, the default seccomp profile.
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/proc" "$WORK/rootfs/sys" "$WORK/rootfs/dev" "$WORK/b"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
ln -s busybox "$WORK/rootfs/bin/true"
"$RAMPART" spec --bundle "$WORK" >/dev/null
jq --slurpfile sc "$REPO/seccomp-profiles/default.json" --arg rootfs "$WORK/rootfs" '
    .ociVersion = "1.0.2" | .root.path = $rootfs | .process.terminal = false
    | .process.args = ["/bin/true"]
    | if .linux.seccomp == null then .linux.seccomp = $sc[0] else . end' \
    "$WORK/config.json" >"$WORK/b/config.json"

declare -A TIMES
for n in "${NAMES[@]}"; do mkdir -p "$WORK/root-$n"; TIMES[$n]=""; done
log "${#NAMES[@]} runtimes x $ROUNDS rounds"
# The order rotates every round: whatever a runtime leaves for the next command (runc's exiting
# processes, cgroup removal work in the kernel) would otherwise always land on the same one.
for i in $(seq "$ROUNDS"); do
    k=${#NAMES[@]}
    order=()
    for j in $(seq 0 $((k - 1))); do order+=("${NAMES[$(((i + j) % k))]}"); done
    for n in "${order[@]}"; do
        t0=$EPOCHREALTIME
        RAMPART_SEALED_BINARY=${ENVV[$n]:-} "${BIN[$n]}" --root "$WORK/root-$n" run \
            --bundle "$WORK/b" "i$i" </dev/null >/dev/null 2>&1 || die "$n: run failed in round $i"
        t1=$EPOCHREALTIME
        TIMES[$n]+="$(echo "($t1 - $t0) * 1000" | bc -l) "
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
declare -A MED
for n in "${NAMES[@]}"; do MED[$n]=$(echo "${TIMES[$n]}" | median); done
echo "# run of /bin/true, interleaved, median of $ROUNDS rounds ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| runtime | median run | / runc |"
echo "| --- | --- | --- |"
for n in "${NAMES[@]}"; do
    printf '| %s | %s ms | %.2f |\n' "$n" "${MED[$n]}" "$(echo "${MED[$n]} / ${MED[runc]}" | bc -l)"
done
