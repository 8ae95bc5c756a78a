#!/usr/bin/env bash
# rampart against runc (and crun where it runs), side by side, in ONE run, with the same
# config.json for every runtime. Measured from outside: hyperfine for times, /usr/bin/time for
# peak RSS. Prints a table with rampart/runc (and rampart/crun) ratios and the targets of issue 8.
# This is a benchmark, not a test: nothing here fails on a time.
#
# usage: bench/run.sh --rampart PATH [--runc PATH] [--crun PATH|none] [--runs N]
#                     [--concurrent N] [--sequential N] [--parallel N] [--out FILE] [--quick]
#                     [--also NAME=PATH]...
#
# rampart is measured twice: as root takes it (create, run and exec re-exec from a read-only
# clone of the binary, CVE-2019-5736) and as "rampart-memfd", the sealed-memfd copy a caller
# without CAP_SYS_ADMIN gets (RAMPART_SEALED_BINARY=memfd). --also adds another binary as a
# column, e.g. a build from before a change, to see what the change costs in the same run.
#
# Every runtime gets a private --root and its own container ids; all of it lives in a temp dir
# that is removed at the end (containers are force-deleted first, also on failure or ^C).
set -euo pipefail

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAMPART=""
RUNC=/usr/sbin/runc
CRUN=""
RUNS=30
CONCURRENT=50
PARALLEL=100
SEQUENTIAL=100
OUT=""
QUICK=0
ALSO=()

while [ $# -gt 0 ]; do
    case "$1" in
        --rampart) RAMPART=${2:-}; shift 2 || die "--rampart needs a value" ;;
        --runc) RUNC=${2:-}; shift 2 || die "--runc needs a value" ;;
        --crun) CRUN=${2:-}; shift 2 || die "--crun needs a value" ;;
        --runs) RUNS=${2:-}; shift 2 || die "--runs needs a value" ;;
        --concurrent) CONCURRENT=${2:-}; shift 2 || die "--concurrent needs a value" ;;
        --sequential) SEQUENTIAL=${2:-}; shift 2 || die "--sequential needs a value" ;;
        --parallel) PARALLEL=${2:-}; shift 2 || die "--parallel needs a value" ;;
        --out) OUT=${2:-}; shift 2 || die "--out needs a value" ;;
        --quick) QUICK=1; shift ;;
        --also) ALSO+=("${2:-}"); shift 2 || die "--also needs NAME=PATH" ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[ -n "$RAMPART" ] || { usage >&2; die "--rampart is required"; }
[ -x "$RAMPART" ] || die "--rampart $RAMPART: not an executable"
RAMPART=$(cd "$(dirname "$RAMPART")" && pwd)/$(basename "$RAMPART")
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
if [ "$QUICK" = 1 ]; then RUNS=5; CONCURRENT=10; SEQUENTIAL=10; PARALLEL=10; fi
[ -z "$OUT" ] && OUT=$REPO/bench/results-$(if grep -qs ' cgroup ' /proc/self/mounts; then echo host; else echo v2; fi).md

# ---------------------------------------------------------------- tools (installed if missing)
need_pkgs=""
command -v hyperfine >/dev/null || need_pkgs="$need_pkgs hyperfine"
[ -x /usr/bin/time ] || need_pkgs="$need_pkgs time"
command -v jq >/dev/null || need_pkgs="$need_pkgs jq"
command -v bc >/dev/null || need_pkgs="$need_pkgs bc"
[ -x /bin/busybox ] || need_pkgs="$need_pkgs busybox-static"
[ -x "$RUNC" ] || [ "$RUNC" != /usr/sbin/runc ] || need_pkgs="$need_pkgs runc"
if [ -z "$CRUN" ]; then
    CRUN=/usr/bin/crun
    [ -x "$CRUN" ] || need_pkgs="$need_pkgs crun"
fi
if [ -n "$need_pkgs" ]; then
    log "installing:$need_pkgs"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need_pkgs >/dev/null \
        || die "apt-get install$need_pkgs failed"
fi
[ -x "$RUNC" ] || die "runc $RUNC: not an executable"

# ---------------------------------------------------------------- work dir and cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-bench.XXXXXX")
NAMES=()          # runtime names, in table order
declare -A BIN    # name -> binary
declare -A ROOT   # name -> private --root
cleanup() {
    local rc=$? n id
    for n in "${NAMES[@]}"; do
        [ -d "${ROOT[$n]}" ] || continue
        for id in $(ls "${ROOT[$n]}" 2>/dev/null); do
            timeout 20 "${BIN[$n]}" --root "${ROOT[$n]}" delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 3' INT TERM HUP

add_runtime() { NAMES+=("$1"); BIN[$1]=$2; ROOT[$1]=$WORK/root-$1; mkdir -p "${ROOT[$1]}"; }
add_runtime rampart "$RAMPART"
add_runtime rampart-memfd "$RAMPART"
for a in "${ALSO[@]}"; do
    [ -x "${a#*=}" ] && [ "${a%%=*}" != "$a" ] || die "--also $a: want NAME=PATH of an executable"
    add_runtime "${a%%=*}" "${a#*=}"
done
add_runtime runc "$RUNC"

# ---------------------------------------------------------------- bundles
# One rootfs (busybox-static) and one config from `rampart spec`, edited only where every
# runtime must agree: ociVersion 1.0.2 (crun 1.8 refuses 1.2.0), no terminal, and the project's
# default seccomp profile when the spec does not carry one yet. Variants differ in args only.
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev" "$ROOTFS/tmp"
cp /bin/busybox "$ROOTFS/bin/busybox"
for a in sh true sleep dd grep cat; do ln -s busybox "$ROOTFS/bin/$a"; done
"$RAMPART" spec --bundle "$WORK" >/dev/null || die "rampart spec failed"
BASE=$WORK/base.json
jq --slurpfile sc "$REPO/seccomp-profiles/default.json" --arg rootfs "$ROOTFS" '
    .ociVersion = "1.0.2"
    | .root.path = $rootfs
    | .process.terminal = false
    | .process.args = ["/bin/true"]
    | if .linux.seccomp == null then .linux.seccomp = $sc[0] else . end' \
    "$WORK/config.json" >"$BASE"
rm -f "$WORK/config.json"

# make_bundle NAME JQ-FILTER: a bundle dir sharing the rootfs, with the base config edited.
make_bundle() {
    mkdir -p "$WORK/b-$1"
    jq "$2" "$BASE" >"$WORK/b-$1/config.json"
    echo "$WORK/b-$1"
}
B_TRUE=$(make_bundle true '.')
B_SLEEP=$(make_bundle sleep '.process.args = ["sleep", "100000"]')
# A syscall-heavy loop: 2 syscalls per byte, each one through the seccomp filter.
LOOP_BYTES=200000
[ "$QUICK" = 1 ] && LOOP_BYTES=20000
B_LOOP=$(make_bundle loop ".process.args = [\"dd\", \"if=/dev/zero\", \"of=/dev/null\", \"bs=1\", \"count=$LOOP_BYTES\"]")
B_SECCOMP=$(make_bundle seccomp '.process.args = ["grep", "^Seccomp:", "/proc/self/status"]')

# crun is measured only where it works (it refuses a hybrid cgroup layout).
if [ "$CRUN" != none ] && [ -x "$CRUN" ]; then
    mkdir -p "$WORK/root-crun-probe"
    if msg=$(timeout 30 "$CRUN" --root "$WORK/root-crun-probe" run --bundle "$B_TRUE" "probe-$$" 2>&1 </dev/null); then
        add_runtime crun "$CRUN"
    else
        CRUN_SKIP="crun skipped: $(echo "$msg" | tail -1)"
        log "$CRUN_SKIP"
    fi
    rm -rf "$WORK/root-crun-probe"
fi

# hyperfine's --prepare for `delete`: a container whose /bin/true has run and exited (bounded
# wait, so a runtime that never reports "stopped" fails the row instead of hanging).
cat >"$WORK/prep-delete.sh" <<'EOF'
# usage: prep-delete.sh BIN ROOT BUNDLE ID
"$1" --root "$2" delete --force "$4" 2>/dev/null
"$1" --root "$2" create --bundle "$3" "$4" </dev/null && "$1" --root "$2" start "$4" || exit 1
i=0
until "$1" --root "$2" state "$4" 2>/dev/null | grep -q '"stopped"'; do
    i=$((i + 1))
    [ "$i" -lt 5000 ] || exit 1
done
EOF

# One whole lifecycle for the parallel row; exit 1 at its first failure.
cat >"$WORK/lifecycle.sh" <<'EOF'
# usage: lifecycle.sh BIN ROOT BUNDLE ID
set -e
"$1" --root "$2" create --bundle "$3" "$4" </dev/null >/dev/null
"$1" --root "$2" start "$4" >/dev/null
"$1" --root "$2" exec "$4" /bin/true </dev/null >/dev/null
"$1" --root "$2" kill "$4" KILL
i=0
until "$1" --root "$2" state "$4" 2>/dev/null | grep -q '"stopped"'; do
    i=$((i + 1))
    [ "$i" -lt 5000 ] || exit 1
done
"$1" --root "$2" delete "$4"
EOF

# ---------------------------------------------------------------- measurement helpers
declare -A MEAN SD SECCOMP_MODE PAR_LISTS   # "<row>|<runtime>" -> seconds
HF_LOG=$WORK/hyperfine.log

# hf ROW RUNTIME RUNS CMD [PREPARE]: mean and stddev of CMD (run without a shell).
hf() {
    local row=$1 rt=$2 runs=$3 cmd=$4 prep=${5:-} json=$WORK/hf.json
    local args=(--style basic -N --runs "$runs" --export-json "$json")
    [ "$runs" -ge 10 ] && args+=(--warmup 3)
    [ -n "$prep" ] && args+=(--prepare "$prep")
    if hyperfine "${args[@]}" "$cmd" >>"$HF_LOG" 2>&1; then
        MEAN[$row|$rt]=$(jq '.results[0].mean' "$json")
        SD[$row|$rt]=$(jq '.results[0].stddev // 0' "$json")
    else
        log "$row/$rt failed (see below)"; tail -5 "$HF_LOG" >&2
        MEAN[$row|$rt]=fail
    fi
}

# rt NAME ARGS...: the runtime with its private root.
rtcmd() { echo "${BIN[$1]} --root ${ROOT[$1]}"; }

# now: seconds since the epoch, with ns.
now() { echo "$EPOCHREALTIME"; }

# max_rss CMD...: the maximum resident set (KiB) of CMD's process as wait4 reports it.
max_rss() {
    /usr/bin/time -o "$WORK/rss" -f '%M' "$@" </dev/null >/dev/null 2>&1 || true
    tail -1 "$WORK/rss"
}

# ---------------------------------------------------------------- the measurements
HAS_EXEC=()
for n in "${NAMES[@]}"; do
    R=$(rtcmd "$n")
    id=b$$-$n
    if [ "$n" = rampart-memfd ]; then export RAMPART_SEALED_BINARY=memfd; else unset RAMPART_SEALED_BINARY; fi
    log "$n: run, create, start, delete of /bin/true"
    hf run "$n" "$RUNS" "$R run --bundle $B_TRUE $id-run"
    hf create "$n" "$RUNS" "$R create --bundle $B_TRUE $id-c" "$R delete --force $id-c"
    $R delete --force "$id-c" >/dev/null 2>&1 || true
    hf start "$n" "$RUNS" "$R start $id-s" "sh -c '$R delete --force $id-s; $R create --bundle $B_TRUE $id-s'"
    # delete of a container whose /bin/true has exited (what an engine does after the exit).
    hf delete "$n" "$RUNS" "$R delete $id-d" "sh $WORK/prep-delete.sh ${BIN[$n]} ${ROOT[$n]} $B_TRUE $id-d"
    $R delete --force "$id-s" >/dev/null 2>&1 || true
    $R delete --force "$id-d" >/dev/null 2>&1 || true

    log "$n: peak RSS of create"
    v=0
    for i in 1 2 3 4 5; do
        r=$(max_rss $R create --bundle "$B_TRUE" "$id-m")
        $R delete --force "$id-m" >/dev/null 2>&1 || true
        [ -n "$r" ] && [ "$r" -gt "$v" ] && v=$r
    done
    MEAN[rss_create|$n]=$v

    log "$n: exec into a running container"
    if $R run --detach --bundle "$B_SLEEP" "$id-x" </dev/null >/dev/null 2>&1; then
        if $R exec "$id-x" /bin/true </dev/null >/dev/null 2>&1; then
            HAS_EXEC+=("$n")
            hf exec "$n" "$RUNS" "$R exec $id-x /bin/true"
            v=0
            for i in 1 2 3 4 5; do
                r=$(max_rss $R exec "$id-x" /bin/true)
                [ -n "$r" ] && [ "$r" -gt "$v" ] && v=$r
            done
            MEAN[rss_exec|$n]=$v
        else
            MEAN[exec|$n]=n/a; MEAN[rss_exec|$n]=n/a
        fi
        $R delete --force "$id-x" >/dev/null 2>&1 || true
    else
        MEAN[exec|$n]=fail; MEAN[rss_exec|$n]=fail
    fi

    log "$n: syscall loop under seccomp"
    SECCOMP_MODE[$n]=$($R run --bundle "$B_SECCOMP" "$id-sc" </dev/null 2>/dev/null | awk '{print $2}' || true)
    hf loop "$n" $(( RUNS > 10 ? 10 : RUNS )) "$R run --bundle $B_LOOP $id-loop"

    log "$n: $SEQUENTIAL sequential runs"
    t0=$(now); ok=1
    for i in $(seq "$SEQUENTIAL"); do
        $R run --bundle "$B_TRUE" "$id-seq" </dev/null >/dev/null 2>&1 || { ok=0; break; }
    done
    t1=$(now)
    if [ "$ok" = 1 ]; then MEAN[seq|$n]=$(echo "$t1 - $t0" | bc -l); else MEAN[seq|$n]=fail; fi

    log "$n: $CONCURRENT containers created and started concurrently, then deleted"
    t0=$(now)
    for i in $(seq "$CONCURRENT"); do
        ( $R create --bundle "$B_SLEEP" "$id-p$i" </dev/null >/dev/null 2>&1 && $R start "$id-p$i" >/dev/null 2>&1 ) &
    done
    wait
    t1=$(now)
    running=$($R list --quiet 2>/dev/null | grep -c "^$id-p" || true)
    for i in $(seq "$CONCURRENT"); do
        $R delete --force "$id-p$i" >/dev/null 2>&1 &
    done
    wait
    t2=$(now)
    left=$(ls "${ROOT[$n]}" | grep -c "^$id-p" || true)
    if [ "$running" = "$CONCURRENT" ] && [ "$left" = 0 ]; then
        MEAN[conc|$n]=$(echo "$t2 - $t0" | bc -l)
        MEAN[conc_up|$n]=$(echo "$t1 - $t0" | bc -l)
    else
        log "$n: concurrent: $running of $CONCURRENT came up, $left left after delete"
        MEAN[conc|$n]=fail; MEAN[conc_up|$n]=fail
    fi

    # The load of issue 16: PARALLEL whole lifecycles at once, each with its own id, while
    # `list` runs over and over in the same root. The row is the wall time until all are gone;
    # it fails if any command of any lifecycle failed, if a `list` errored, or if a state
    # directory is left.
    log "$n: $PARALLEL parallel lifecycles (create, start, exec, kill, delete) with list churning"
    : >"$WORK/par-fail"
    rm -f "$WORK/par-stop"
    ( lists=0 bad=0
      while [ ! -e "$WORK/par-stop" ]; do
          $R list >/dev/null 2>&1 || bad=$((bad + 1))
          lists=$((lists + 1))
      done
      echo "$lists $bad" >"$WORK/par-lists" ) &
    lister=$!
    pids=()
    t0=$(now)
    for i in $(seq "$PARALLEL"); do
        ( sh "$WORK/lifecycle.sh" "${BIN[$n]}" "${ROOT[$n]}" "$B_SLEEP" "$id-l$i" 2>>"$WORK/par-err" \
            || echo "$id-l$i" >>"$WORK/par-fail" ) &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    t1=$(now)
    touch "$WORK/par-stop"
    wait "$lister" || true
    read -r lists bad <"$WORK/par-lists" || { lists=0; bad=unknown; }
    failed=$(wc -l <"$WORK/par-fail")
    for i in $(seq "$PARALLEL"); do $R delete --force "$id-l$i" >/dev/null 2>&1 || true; done
    left=$(ls "${ROOT[$n]}" | grep -c "^$id-l" || true)
    # A failing `list` is a finding of its own (printed under the table), not a failed row: the
    # time is still the time of the lifecycles.
    PAR_LISTS[$n]="$bad of $lists"
    if [ "$failed" = 0 ] && [ "$left" = 0 ]; then
        MEAN[par|$n]=$(echo "$t1 - $t0" | bc -l)
    else
        log "$n: parallel: $failed of $PARALLEL lifecycles failed, $bad of $lists lists failed, $left left"
        tail -3 "$WORK/par-err" >&2 2>/dev/null || true
        MEAN[par|$n]=fail
    fi
    rm -f "$WORK/par-err"

    log "$n: smallest memory limit under which /bin/true still runs"
    MEAN[memfloor|$n]=none
    for kib in 128 256 512 768 1024 1536 2048 3072 4096 6144 8192 12288 16384 32768; do
        b=$(make_bundle "mem$kib" ".linux.resources.memory = {\"limit\": $((kib * 1024))}")
        if timeout 60 $R run --bundle "$b" "$id-mem" </dev/null >/dev/null 2>&1; then
            MEAN[memfloor|$n]=$kib
            break
        fi
        timeout 20 $R delete --force "$id-mem" >/dev/null 2>&1 || true
    done
done

unset RAMPART_SEALED_BINARY

# The floor: the same namespaces made by unshare(1), chroot into the rootfs, exec /bin/true.
NS_FLAGS=$(jq -r '[.linux.namespaces[].type
    | {pid:"--pid", network:"--net", ipc:"--ipc", uts:"--uts", mount:"--mount",
       cgroup:"--cgroup", user:"--user", time:"--time"}[.]] | join(" ")' "$BASE")
log "floor: unshare --fork $NS_FLAGS --root $ROOTFS /bin/true"
hf floor run "$RUNS" "unshare --fork $NS_FLAGS --root=$ROOTFS /bin/true"

# ---------------------------------------------------------------- the table
ms() { case "$1" in fail|n/a|none|"") echo "${1:--}" ;; *) printf '%.2f ms' "$(echo "$1 * 1000" | bc -l)" ;; esac; }
sec() { case "$1" in fail|n/a|none|"") echo "${1:--}" ;; *) printf '%.3f s' "$1" ;; esac; }
kib() { case "$1" in fail|n/a|none|"") echo "${1:--}" ;; *) printf '%d KiB' "$1" ;; esac; }
ratio() {
    case "$1$2" in *fail*|*n/a*|*none*) echo "-"; return ;; esac
    [ -n "$1" ] && [ -n "$2" ] && [ "$(echo "$2 > 0" | bc -l)" = 1 ] || { echo "-"; return; }
    printf '%.2f' "$(echo "$1 / $2" | bc -l)"
}

bin_size() { stat -L -c %s "$1"; }
# Static or dynamic, from the ELF's interpreter path near the start of the file (ldd is not in
# the VM's busybox userland, and it reports static-pie binaries as "statically linked" with exit 0).
linkage() {
    if head -c 4096 "$1" | grep -q '/ld-linux'; then echo dynamic
    else echo static; fi
}
STATIC_BIN=$REPO/target/x86_64-unknown-linux-gnu/release/rampart
DYNAMIC_BIN=$REPO/target/release/rampart

{
    echo "# rampart benchmark"
    echo
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(uname -nrm), $(nproc) cores, $(awk '/MemTotal/ {printf "%d MiB", $2/1024}' /proc/meminfo)"
    echo "cgroups: $(if grep -qs ' cgroup ' /proc/self/mounts; then echo 'hybrid (v1 controllers)'; else echo 'pure v2'; fi)"
    echo "runtimes: rampart $("$RAMPART" --version | head -1) ($RAMPART); runc $("$RUNC" --version | head -1 | awk '{print $3}')$( [ -n "${BIN[crun]:-}" ] && echo "; crun $("$CRUN" --version | head -1 | awk '{print $3}')")"
    [ -n "${CRUN_SKIP:-}" ] && echo "$CRUN_SKIP"
    echo "config: \`rampart spec\` + args /bin/true + the default seccomp profile, same file for all; hyperfine runs: $RUNS"
    echo
    hdr="| measurement"
    for n in "${NAMES[@]}"; do hdr="$hdr | $n"; done
    hdr="$hdr | rampart/runc"
    [ -n "${BIN[crun]:-}" ] && hdr="$hdr | rampart/crun"
    echo "$hdr |"
    cols=$(( ${#NAMES[@]} + 2 + $( [ -n "${BIN[crun]:-}" ] && echo 1 || echo 0) ))
    printf '|'; for _ in $(seq "$cols"); do printf -- ' --- |'; done; echo
    row() { # row LABEL KEY FORMAT
        local line="| $1" n
        for n in "${NAMES[@]}"; do line="$line | $($3 "${MEAN[$2|$n]:-}")"; done
        line="$line | $(ratio "${MEAN[$2|rampart]:-}" "${MEAN[$2|runc]:-}")"
        [ -n "${BIN[crun]:-}" ] && line="$line | $(ratio "${MEAN[$2|rampart]:-}" "${MEAN[$2|crun]:-}")"
        echo "$line |"
    }
    row "run /bin/true (create+start+wait+delete)" run ms
    row "create" create ms
    row "start" start ms
    row "delete (stopped)" delete ms
    row "exec /bin/true into a running container" exec ms
    row "peak RSS of create" rss_create kib
    row "peak RSS of exec" rss_exec kib
    row "run of dd bs=1 count=$LOOP_BYTES (seccomp filter per syscall)" loop ms
    row "$SEQUENTIAL sequential runs of /bin/true" seq sec
    row "$CONCURRENT concurrent create+start (all running)" conc_up sec
    row "$CONCURRENT concurrent create+start, then delete" conc sec
    row "$PARALLEL parallel lifecycles (create, start, exec, kill, delete; list churning)" par sec
    row "smallest memory limit /bin/true runs under" memfloor kib
    line="| binary size"
    for n in "${NAMES[@]}"; do line="$line | $(( $(bin_size "${BIN[$n]}") / 1024 )) KiB $(linkage "${BIN[$n]}")"; done
    line="$line | $(ratio "$(bin_size "$RAMPART")" "$(bin_size "$RUNC")")"
    [ -n "${BIN[crun]:-}" ] && line="$line | $(ratio "$(bin_size "$RAMPART")" "$(bin_size "$CRUN")")"
    echo "$line |"
    line="| seccomp mode inside (2 = filter)"
    for n in "${NAMES[@]}"; do line="$line | ${SECCOMP_MODE[$n]:--}"; done
    echo "$line | |$( [ -n "${BIN[crun]:-}" ] && echo ' |')"
    echo
    echo "floor (unshare --fork $NS_FLAGS --root=rootfs /bin/true): $(ms "${MEAN[floor|run]}")"
    echo "rampart run / floor: $(ratio "${MEAN[run|rampart]}" "${MEAN[floor|run]}"); runc run / floor: $(ratio "${MEAN[run|runc]}" "${MEAN[floor|run]}")$( [ -n "${BIN[crun]:-}" ] && echo "; crun run / floor: $(ratio "${MEAN[run|crun]}" "${MEAN[floor|run]}")")"
    for n in "${NAMES[@]}"; do
        case "$n" in rampart|runc|crun) continue ;; esac
        echo "$n / runc: run $(ratio "${MEAN[run|$n]:-}" "${MEAN[run|runc]:-}"), create $(ratio "${MEAN[create|$n]:-}" "${MEAN[create|runc]:-}"), exec $(ratio "${MEAN[exec|$n]:-}" "${MEAN[exec|runc]:-}"), peak RSS of create $(ratio "${MEAN[rss_create|$n]:-}" "${MEAN[rss_create|runc]:-}"); rampart / $n: run $(ratio "${MEAN[run|rampart]:-}" "${MEAN[run|$n]:-}"), exec $(ratio "${MEAN[exec|rampart]:-}" "${MEAN[exec|$n]:-}")"
    done
    line="list during the $PARALLEL parallel lifecycles, failed:"
    for n in "${NAMES[@]}"; do line="$line $n ${PAR_LISTS[$n]:--};"; done
    echo "${line%;}"
    for b in "$STATIC_BIN" "$DYNAMIC_BIN"; do
        if [ -x "$b" ] && [ "$b" != "$RAMPART" ]; then
            echo "other rampart build ($b): $(( $(bin_size "$b") / 1024 )) KiB $(linkage "$b")"
        fi
    done
    echo
    echo "## targets (issue 8)"
    met() { if [ "$1" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
    lt() { case "$1$2" in *fail*|*n/a*|*none*|"") echo 0; return ;; esac; [ "$(echo "$1 <= $2" | bc -l)" = 1 ] && echo 1 || echo 0; }
    r=${MEAN[run|rampart]}
    echo "- run of /bin/true <= 1/4 of runc's: $(ratio "$r" "${MEAN[run|runc]}") -> $(met "$(lt "$r" "$(echo "${MEAN[run|runc]} / 4" | bc -l)")")"
    echo "- run of /bin/true <= 2.5x the floor: $(ratio "$r" "${MEAN[floor|run]}") -> $(met "$(lt "$r" "$(echo "${MEAN[floor|run]} * 2.5" | bc -l)")")"
    if [ -n "${BIN[crun]:-}" ]; then
        echo "- faster than crun: $(ratio "$r" "${MEAN[run|crun]}") -> $(met "$(lt "$r" "${MEAN[run|crun]}")")"
    else
        echo "- faster than crun: not measured here (${CRUN_SKIP:-crun not available}); see the VM run"
    fi
    rss=${MEAN[rss_create|rampart]}
    echo "- peak RSS of create <= 3 MiB: $(kib "$rss") -> $(met "$(lt "$rss" 3072)")"
    rss=${MEAN[rss_exec|rampart]:-n/a}
    if [ "$rss" = n/a ]; then
        echo "- peak RSS of exec <= 3 MiB: not measured (this rampart has no exec)"
    else
        echo "- peak RSS of exec <= 3 MiB: $(kib "$rss") -> $(met "$(lt "$rss" 3072)")"
    fi
    sb=$RAMPART; [ "$(linkage "$sb")" = static ] || { [ -x "$STATIC_BIN" ] && sb=$STATIC_BIN; }
    if [ "$(linkage "$sb")" = static ]; then
        echo "- static release binary <= 5 MiB: $(( $(bin_size "$sb") / 1024 )) KiB -> $(met "$(lt "$(bin_size "$sb")" $((5 * 1024 * 1024)))")"
    else
        echo "- static release binary <= 5 MiB: no static build found (make static); dynamic one is $(( $(bin_size "$sb") / 1024 )) KiB"
    fi
} >"$WORK/table.md"

cat "$WORK/table.md"
if cp "$WORK/table.md" "$OUT" 2>/dev/null; then log "results kept in $OUT"; fi
