#!/bin/sh
# The last lines of `make test`: what every stage ran, and one line for the whole suite,
#
#   N passed, M failed, K skipped
#
# read from the logs the Makefile kept of each stage (build/test-logs/STAGE.log, its exit status
# in STAGE.rc). What is counted, per stage:
#   unit, integration  cargo's "test result:" lines (ignored tests are counted as skipped)
#   fuzz               one per target in fuzz/run.sh's table ("0 crashes" or "FAILED")
#   vm-test            vm-test.sh's "passed=N failed=M"
#   vendor-test        each "vendor-tests: N passed, M failed" line (rampart, runc, the diff) and
#                      their "(K skipped)"
#   leftovers          one check: the host is as it was
# A stage that exited non-zero without a failed test counted (a build that broke, a VM that did
# not boot) counts as one failure of its own, so the line never reads clean when a stage broke.
#
# usage: tests/summary.sh LOGDIR STAGE...
# Exits 0 only when nothing failed and every stage exited 0.
set -eu
DIR=$1
shift

total_p=0 total_f=0 total_s=0 bad=0
for stage in "$@"; do
    log=$DIR/$stage.log
    rc=$(cat "$DIR/$stage.rc" 2>/dev/null || echo "not run")
    p=0 f=0 s=0
    if [ -f "$log" ]; then
        case "$stage" in
        unit | integration)
            set -- $(sed -n 's/.*test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$log" |
                awk '{p += $1; f += $2; s += $3} END {print p + 0, f + 0, s + 0}')
            p=$1 f=$2 s=$3 ;;
        fuzz)
            p=$(grep -c ' 0 crashes$' "$log" || true)
            f=$(grep -c ' FAILED (exit ' "$log" || true) ;;
        vm-test)
            line=$(grep -o '^passed=[0-9]* failed=[0-9]*' "$log" | tail -n1 || true)
            if [ -n "$line" ]; then
                p=$(echo "$line" | sed 's/passed=\([0-9]*\).*/\1/')
                f=$(echo "$line" | sed 's/.*failed=\([0-9]*\)/\1/')
            fi ;;
        vendor-test)
            set -- $(sed -n 's/^vendor-tests: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" |
                awk '{p += $1; f += $2} END {print p + 0, f + 0}')
            p=$1 f=$2
            s=$(sed -n 's/^(\([0-9]*\) skipped)$/\1/p' "$log" | awk '{s += $1} END {print s + 0}') ;;
        esac
    fi
    if [ "$stage" = leftovers ]; then
        if [ "$rc" = 0 ]; then p=1; else f=1; fi
    fi
    note=""
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1
        note=" (exited $rc with no failed test counted: see $log)"
    fi
    [ "$rc" = 0 ] || bad=1
    secs=$(cat "$DIR/$stage.secs" 2>/dev/null || true)
    printf '  %-12s %5s passed, %s failed, %s skipped%s%s\n' "$stage" "$p" "$f" "$s" \
        "${secs:+ in ${secs} s}" "$note"
    total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
done
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" = 0 ] && [ "$bad" = 0 ]
