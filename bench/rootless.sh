#!/usr/bin/env bash
# Rootless rampart against rootless runc, in ONE run: an unprivileged user (nobody, uid 65534)
# runs the same config.json (`rampart spec --rootless`, process /bin/true) with each runtime.
# Measured from outside with hyperfine: `run` (create + start + wait + delete) and `exec` into a
# running container. Rootless, rampart re-execs from a sealed memfd copy of itself
# (CVE-2019-5736; no CAP_SYS_ADMIN for the read-only clone), so this is the figure that path costs.
# A benchmark, not a test: nothing here fails on a time.
#
# usage: bench/rootless.sh --rampart PATH [--runc PATH] [--runs N]
set -euo pipefail

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

RAMPART=""
RUNC=/usr/sbin/runc
RUNS=30
while [ $# -gt 0 ]; do
    case "$1" in
        --rampart) RAMPART=${2:-}; shift 2 || die "--rampart needs a value" ;;
        --runc) RUNC=${2:-}; shift 2 || die "--runc needs a value" ;;
        --runs) RUNS=${2:-}; shift 2 || die "--runs needs a value" ;;
        -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[ -x "$RAMPART" ] || die "--rampart PATH is required and must be executable"
[ -x "$RUNC" ] || die "--runc $RUNC: not an executable"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[ "$(id -u)" = 0 ] || die "run as root: it drops to uid 65534 itself"
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >/dev/null
command -v busybox >/dev/null || die "busybox-static is needed (make deps)"
RAMPART=$(cd "$(dirname "$RAMPART")" && pwd)/$(basename "$RAMPART")

UID_=65534
WORK=$(mktemp -d /tmp/rampart-bench-rootless.XXXXXX)
chmod 755 "$WORK"
as_user() {
    setpriv --reuid $UID_ --regid $UID_ --clear-groups \
        env XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK" "$@"
}
cleanup() {
    for rt in rampart runc; do
        bin=$RAMPART; [ $rt = runc ] && bin=$RUNC
        for id in $(ls "$WORK/root-$rt" 2>/dev/null); do
            as_user "$bin" --root "$WORK/root-$rt" delete -f "$id" >/dev/null 2>&1 || true
        done
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

mkdir -p "$WORK/xdg" "$WORK/bundle/rootfs/bin" "$WORK/root-rampart" "$WORK/root-runc"
chmod 700 "$WORK/xdg"
cp "$(command -v busybox)" "$WORK/bundle/rootfs/bin/busybox"
for a in sh true sleep; do ln -s busybox "$WORK/bundle/rootfs/bin/$a"; done
mkdir -p "$WORK/bundle/rootfs/"{proc,sys,dev,tmp}
chown -R $UID_:$UID_ "$WORK"
as_user "$RAMPART" spec --rootless --bundle "$WORK/bundle"
python3 - "$WORK/bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["true"]
json.dump(c, open(p, "w"), indent=1)
EOF
chown $UID_:$UID_ "$WORK/bundle/config.json"

# Both runtimes must run the config before anything is timed.
for rt in rampart runc; do
    bin=$RAMPART; [ $rt = runc ] && bin=$RUNC
    as_user "$bin" --root "$WORK/root-$rt" run --bundle "$WORK/bundle" check-$rt >/dev/null 2>"$WORK/check-$rt.err" \
        || die "$rt cannot run the rootless config: $(tail -3 "$WORK/check-$rt.err")"
done

measure() { # name command...
    local name=$1; shift
    hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/$name.json" "$*" >/dev/null 2>&1 \
        || die "hyperfine failed for $name"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f %.2f" % (r["median"]*1000, r["stddev"]*1000))' "$WORK/$name.json"
}

declare -A RUN EXEC
n=0
for rt in rampart runc; do
    bin=$RAMPART; [ $rt = runc ] && bin=$RUNC
    u="setpriv --reuid $UID_ --regid $UID_ --clear-groups env XDG_RUNTIME_DIR=$WORK/xdg HOME=$WORK"
    # run: a new id each time (hyperfine's {n} is not available; the container is removed by run).
    RUN[$rt]=$(measure run-$rt $u "$bin" --root "$WORK/root-$rt" run --bundle "$WORK/bundle" bench-$rt)
    # exec: into one long-running container.
    python3 - "$WORK/bundle/config.json" "$WORK/bundle-sleep.json" "$WORK/bundle/rootfs" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["args"] = ["sleep", "600"]
c["root"]["path"] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"))
EOF
    mkdir -p "$WORK/bundle-$rt" && cp "$WORK/bundle-sleep.json" "$WORK/bundle-$rt/config.json"
    chown -R $UID_:$UID_ "$WORK/bundle-$rt"
    as_user "$bin" --root "$WORK/root-$rt" run -d --bundle "$WORK/bundle-$rt" sleeper-$rt >/dev/null 2>"$WORK/sleeper-$rt.err" </dev/null \
        || die "$rt: run -d of the exec target: $(tail -3 "$WORK/sleeper-$rt.err")"
    EXEC[$rt]=$(measure exec-$rt $u "$bin" --root "$WORK/root-$rt" exec sleeper-$rt true)
    as_user "$bin" --root "$WORK/root-$rt" delete -f sleeper-$rt >/dev/null 2>&1 || true
    n=$((n + 1))
done

ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
echo "## rootless (uid $UID_, $(uname -r), $RUNS runs each, medians in ms)"
echo
echo "| operation | rampart | runc | rampart/runc |"
echo "|---|---|---|---|"
for op in run exec; do
    if [ $op = run ]; then a=${RUN[rampart]}; b=${RUN[runc]}; else a=${EXEC[rampart]}; b=${EXEC[runc]}; fi
    echo "| $op | ${a%% *} ± ${a##* } | ${b%% *} ± ${b##* } | $(ratio "${a%% *}" "${b%% *}") |"
done
