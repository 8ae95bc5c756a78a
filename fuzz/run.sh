#!/bin/sh
# Build the fuzz targets and run each for a bounded time, then print a table of what ran.
#
#   fuzz/run.sh [--time SECONDS] [--merge] [--jobs N] [TARGET...]
#
# --time   seconds per target (default 20: the short run `make test` does; the reported long
#          runs use 1800)
# --merge  afterwards, merge what the run found into fuzz/corpus/TARGET (libFuzzer -merge=1
#          keeps only the inputs that add coverage), so the kept corpora grow with each long run
# --jobs   how many targets run at once (default 1)
#
# The fuzzer is cargo-fuzz's libFuzzer. cargo-fuzz wants a nightly compiler for
# -Zsanitizer and the coverage passes; this machine has only stable rustc, which accepts them
# with RUSTC_BOOTSTRAP=1. It is built with `-s none`: the fuzzed code is safe Rust over parsers
# and compilers (what ASan adds there is only cost), and debug assertions stay on, so an
# arithmetic overflow is a crash too.
#
# Each target writes new inputs into a corpus directory of its own under a temporary directory,
# reads the kept corpus in fuzz/corpus/TARGET (never written, unless --merge), and keeps every
# crash in build/fuzz/artifacts/. libFuzzer ends with exit(), so the targets' scratch files go
# under a TMPDIR this script makes and removes. A crash, a timeout (-timeout=25) or running out
# of memory fails the run.
set -eu
cd "$(dirname "$0")"
FUZZ=$(pwd)
TIME=20
MERGE=0
JOBS=1
while [ $# -gt 0 ]; do
    case "$1" in
    --time) TIME=$2; shift 2 ;;
    --merge) MERGE=1; shift ;;
    --jobs) JOBS=$2; shift 2 ;;
    -*) echo "fuzz/run.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
ALL="config_plan seccomp_load landlock state_json mountinfo proc_cgroup cli_args resources_file"
TARGETS=${*:-$ALL}

command -v cargo-fuzz >/dev/null 2>&1 || {
    echo "installing cargo-fuzz 0.13.2 (once)"
    cargo install cargo-fuzz --version 0.13.2 --locked --quiet
}
echo "building the fuzz targets (instrumented, a few minutes the first time)"
if [ "$TARGETS" = "$ALL" ]; then
    RUSTC_BOOTSTRAP=1 cargo fuzz build -s none
else
    for t in $TARGETS; do RUSTC_BOOTSTRAP=1 cargo fuzz build -s none "$t"; done
fi
BIN=$FUZZ/target/x86_64-unknown-linux-gnu/release

WORK=$(mktemp -d /tmp/rampart-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
ARTIFACTS=$(cd .. && pwd)/build/fuzz/artifacts
mkdir -p "$ARTIFACTS"

# One target: its own scratch TMPDIR and new-corpus dir; libFuzzer's output into a log.
run_one() {
    t=$1
    mkdir -p "$WORK/$t/new" "$WORK/$t/tmp" corpus/"$t"
    start=$(date +%s)
    rc=0
    TMPDIR="$WORK/$t/tmp" "$BIN/$t" "$WORK/$t/new" corpus/"$t" \
        -max_total_time="$TIME" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$ARTIFACTS/$t-" >"$WORK/$t/log" 2>&1 || rc=$?
    echo $(( $(date +%s) - start )) >"$WORK/$t/secs"
    echo $rc >"$WORK/$t/rc"
    rm -rf "$WORK/$t/tmp"
}

echo "running: $TARGETS ($TIME s each, $JOBS at a time)"
running=0
for t in $TARGETS; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait
        running=0
    fi
done
wait

failed=0
printf '\n%-16s %8s %12s %10s %9s %8s %s\n' target seconds execs exec/s "cov" corpus result
for t in $TARGETS; do
    log=$WORK/$t/log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
    found=$(ls "$WORK/$t/new" | wc -l)
    kept=$(ls corpus/"$t" | wc -l)
    rc=$(cat "$WORK/$t/rc")
    if [ "$rc" = 0 ]; then
        result="0 crashes"
    else
        result="FAILED (exit $rc): $(ls "$ARTIFACTS" | grep "^$t-" | tr '\n' ' ')"
        failed=$((failed + 1))
        echo "--- $t: the end of libFuzzer's output" >&2
        tail -n 40 "$log" >&2
    fi
    printf '%-16s %8s %12s %10s %9s %8s %s\n' "$t" "$(cat "$WORK/$t/secs")" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "$kept+$found" "$result"
    if [ "$MERGE" = 1 ] && [ "$rc" = 0 ]; then
        mkdir -p "$WORK/$t/tmp"
        TMPDIR="$WORK/$t/tmp" "$BIN/$t" -merge=1 corpus/"$t" "$WORK/$t/new" >/dev/null 2>&1
    fi
done
[ "$failed" = 0 ]
