#!/bin/sh
# Benchmark (not a test): a syscall-heavy loop inside a container under rampart's default seccomp
# profile, rampart vs runc in the same run, timed from outside with hyperfine.
#
#   bench/seccomp-loop.sh [--rampart PATH] [--runc PATH] [--runs N] [--iterations N]
#
# Both runtimes get the same bundle: the config.json of `rampart spec` (so the same default
# profile; runc compiles it with libseccomp) and a static loop program built here with gcc.
# Workloads, each N iterations:
#   getppid  one constant-allowed syscall: served by the kernel's seccomp action cache when the
#            filter allows it without looking at arguments
#   personality  personality(0xffffffff), a cheap query whose argument the profile checks, so
#            the filter program runs on every call (no action cache)
#   unfiltered  the getppid loop with linux.seccomp removed, as the floor
# Prints hyperfine's table per workload and the rampart/runc ratio of the means.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
rampart=${RAMPART:-$here/../target/debug/rampart}
runc=/usr/sbin/runc
runs=10
iters=1000000
while [ $# -gt 0 ]; do
    case $1 in
        --rampart) rampart=$2; shift 2 ;;
        --runc) runc=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --iterations) iters=$2; shift 2 ;;
        *) echo "usage: $0 [--rampart PATH] [--runc PATH] [--runs N] [--iterations N]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for tool in hyperfine gcc busybox python3; do
    command -v $tool >/dev/null || { echo "missing $tool (apt-get install -y --no-install-recommends $tool)" >&2; exit 1; }
done
[ -x "$rampart" ] || { echo "no rampart binary at $rampart (cargo build)" >&2; exit 1; }
[ -x "$runc" ] || { echo "no runc at $runc" >&2; exit 1; }

work=$(mktemp -d /tmp/rampart-bench-seccomp.XXXXXX)
cleanup() {
    "$rampart" --root "$work/rampart-root" delete --force bench-sc >/dev/null 2>&1 || true
    "$runc" --root "$work/runc-root" delete --force bench-sc >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

cat > "$work/loop.c" <<'CEOF'
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    if (argc > 1 && strcmp(argv[1], "personality") == 0) {
        for (long i = 0; i < n; i++)
            if (personality(0xffffffff) < 0) return 1;
    } else {
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
    }
    return 0;
}
CEOF
gcc -static -O2 -o "$work/loop" "$work/loop.c"

# bundle-<name>: rootfs with the loop program, config from `rampart spec`.
make_bundle() { # name workload seccomp(yes|no)
    b="$work/bundle-$1"
    mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys" "$b/rootfs/tmp"
    cp "$work/loop" "$b/rootfs/bin/loop"
    cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
    ln -sf busybox "$b/rootfs/bin/sh"
    "$rampart" spec --bundle "$b"
    python3 - "$b/config.json" "$2" "$iters" "$3" <<'PEOF'
import json, sys
path, workload, iters, seccomp = sys.argv[1:]
c = json.load(open(path))
c["process"]["args"] = ["/bin/loop", workload, iters]
if seccomp == "no":
    del c["linux"]["seccomp"]
json.dump(c, open(path, "w"), indent=1)
PEOF
}
make_bundle getppid getppid yes
make_bundle personality personality yes
make_bundle unfiltered getppid no

# Sanity: both runtimes run every bundle and the filter is really in place.
for name in getppid personality unfiltered; do
    "$rampart" --root "$work/rampart-root" run --bundle "$work/bundle-$name" bench-sc
    "$runc" --root "$work/runc-root" run --bundle "$work/bundle-$name" bench-sc
done

echo "iterations per run: $iters; runs: $runs; rampart: $rampart; runc: $runc"
for name in getppid personality unfiltered; do
    echo
    echo "== $name"
    hyperfine --style basic --runs "$runs" --warmup 2 \
        --export-json "$work/$name.json" \
        -n rampart "$rampart --root $work/rampart-root run --bundle $work/bundle-$name bench-sc" \
        -n runc "$runc --root $work/runc-root run --bundle $work/bundle-$name bench-sc"
done

echo
echo "| workload | rampart mean (ms) | runc mean (ms) | rampart/runc |"
echo "| --- | --- | --- | --- |"
for name in getppid personality unfiltered; do
    python3 - "$work/$name.json" "$name" <<'PEOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
a, b = r["rampart"]["mean"] * 1000, r["runc"]["mean"] * 1000
print(f"| {sys.argv[2]} | {a:.1f} ± {r['rampart']['stddev']*1000:.1f} | {b:.1f} ± {r['runc']['stddev']*1000:.1f} | {a/b:.2f} |")
PEOF
done
