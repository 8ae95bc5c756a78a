#!/bin/bash
# Differential check: run the observation set under two runtimes with every engine and compare.
#   vendor-tests/diff.sh --a /usr/sbin/runc --b /usr/local/bin/rampart [--engines containerd,cri,podman,docker,podman-rootless]
#                        [--out DIR]
# Differences listed in known-differences.txt are deliberate and ignored. Prints PASS/FAIL per
# engine and ends with "vendor-tests: N passed, M failed"; exits non-zero on unexplained differences.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
A='' B='' ENGINES=containerd,cri,podman,docker,podman-rootless OUT=/tmp/vendor-tests-diff
while [ $# -gt 0 ]; do
    case "$1" in
        --a) A=$2; shift 2;;
        --b) B=$2; shift 2;;
        --engines) ENGINES=$2; shift 2;;
        --out) OUT=$2; shift 2;;
        *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2;;
    esac
done
[ -n "$A" ] && [ -n "$B" ] || { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
KNOWN=$HERE/known-differences.txt

rm -rf "$OUT/a" "$OUT/b"
for side in a b; do
    rt=$A; [ $side = b ] && rt=$B
    echo "== observing with $rt"
    "$HERE/run.sh" --runtime "$rt" --engines "$ENGINES" --observe-only --out "$OUT/$side" |
        grep -E '^(PASS|FAIL|TIME total)' | sed 's/^/   /'
done

# known-differences.txt: one rule a line, "ENGINE REGEX" (ENGINE may be *); a changed line whose
# text matches REGEX is a deliberate difference. '#' starts a comment.
known() {
    local engine=$1 line=$2 e re
    [ -f "$KNOWN" ] || return 1
    while read -r e re; do
        [ -z "$e" ] || [ "${e#\#}" != "$e" ] && continue
        [ "$e" = "*" ] || [ "$e" = "$engine" ] || continue
        echo "$line" | grep -qE -- "$re" && return 0
    done < "$KNOWN"
    return 1
}

# normalized FILE: the observation with its mount lines sorted. Engines choose the mount order
# (podman takes its bind mounts of /etc/hosts, /etc/hostname, /run/.containerenv, /dev/shm from a
# Go map, so it changes from run to run under one runtime); runtimes mount in config order.
normalized() { grep -v '^mount: ' "$1"; grep '^mount: ' "$1" | LC_ALL=C sort; }

passed=0 failed=0
for e in ${ENGINES//,/ }; do
    fa=$OUT/a/observe-$e.txt fb=$OUT/b/observe-$e.txt
    if [ ! -s "$fa" ] || [ ! -s "$fb" ]; then
        echo "FAIL diff/$e: no observation from $( [ -s "$fa" ] && echo "$B" || echo "$A")"
        failed=$((failed + 1)); continue
    fi
    unexplained=()
    while IFS= read -r line; do
        known "$e" "${line:1}" || unexplained+=("$line")
    done < <(diff -U0 <(normalized "$fa") <(normalized "$fb") | grep -E '^[-+]' | grep -vE '^(---|\+\+\+) ')
    if [ ${#unexplained[@]} -eq 0 ]; then
        echo "PASS diff/$e"; passed=$((passed + 1))
    else
        echo "FAIL diff/$e: ${#unexplained[@]} unexplained difference(s) (- $A, + $B)"
        printf '    %s\n' "${unexplained[@]}"
        failed=$((failed + 1))
    fi
done
echo "observations: $OUT/a $OUT/b"
echo "vendor-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
