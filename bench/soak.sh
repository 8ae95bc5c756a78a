#!/usr/bin/env bash
# Soak: N sequential `rampart run` of /bin/true (10,000 by default), each with its own id, from
# one bundle and one private --root. Before and after (and every --every runs) it takes the
# host's figures: the mount table, the directories of every cgroup hierarchy under
# /sys/fs/cgroup, the open files of the host (/proc/sys/fs/file-nr) and of every process alive
# both before and after, the processes, and the entries in the state root. It prints them and
# exits non-zero if a run failed or if anything grew.
#
# usage: bench/soak.sh --rampart PATH [--runs N] [--every N]
#
# The machine is shared: another user's mounts, cgroups or open files may come and go meanwhile.
# So growth is shown entry by entry, and every new entry is checked against the soak's own
# (its temp dir, its container ids "soak<PID>-*", the rampart processes it ran). Growth of the
# soak's own is a failure; foreign growth is listed as such and fails only with --strict.
# Not part of `make test` (it takes minutes): `make soak`.
set -euo pipefail

log() { printf 'soak: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

RAMPART="" RUNS=10000 EVERY=1000 STRICT=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rampart) RAMPART=${2:-}; shift 2 || die "--rampart needs a value" ;;
        --runs) RUNS=${2:-}; shift 2 || die "--runs needs a value" ;;
        --every) EVERY=${2:-}; shift 2 || die "--every needs a value" ;;
        --strict) STRICT=1; shift ;;
        -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[ -x "$RAMPART" ] || die "--rampart PATH is required and must be executable"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ "$EVERY" =~ ^[1-9][0-9]*$ ]] || die "--every must be a positive integer"
[ "$(id -u)" = 0 ] || die "run as root (the host's cgroups and mount table are what is watched)"
[ -x /bin/busybox ] || die "busybox-static is needed (make deps)"
RAMPART=$(cd "$(dirname "$RAMPART")" && pwd)/$(basename "$RAMPART")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rampart-soak.XXXXXX")
ROOT=$WORK/root
PREFIX=soak$$
cleanup() {
    local rc=$? id
    for id in $(ls "$ROOT" 2>/dev/null); do
        timeout 20 "$RAMPART" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 3' INT TERM HUP

# The bundle: busybox's true, `rampart spec`'s defaults (its own cgroup /rampart-<id> in every
# hierarchy, the default seccomp profile, read-only root).
mkdir -p "$WORK/b/rootfs/bin" "$WORK/b/rootfs/proc" "$WORK/b/rootfs/sys" "$WORK/b/rootfs/dev" "$ROOT"
cp /bin/busybox "$WORK/b/rootfs/bin/busybox"
ln -s busybox "$WORK/b/rootfs/bin/true"
"$RAMPART" spec --bundle "$WORK/b" >/dev/null
sed -i 's|^\( *\)"sh"$|\1"/bin/true"|' "$WORK/b/config.json"
grep -q '"/bin/true"' "$WORK/b/config.json" || die "could not set the process to /bin/true in config.json"

# ---------------------------------------------------------------- snapshots
# Each snapshot is a sorted file of entries, one per line, so growth is a set difference.
HIER=$(awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo | sort)
snap_mounts() { awk '{print $1, $5, $10}' /proc/self/mountinfo | sort >"$1"; }
snap_cgroups() { local h; for h in $HIER; do find "$h" -type d 2>/dev/null; done | sort >"$1"; }
# Field 22 of a stat line (start time), counted after the command name.
start_time() { local f; read -r -a f <<<"${1##*) }"; echo "${f[19]:-}"; }
# pid, start time (field 22 of stat, so a reused pid is a different process), command line.
snap_procs() {
    local d pid st ppid root stat
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        stat=$(cat "$d/stat" 2>/dev/null) || continue
        # The command name (field 2) may hold spaces: fields 3.. follow the last ") ".
        read -r _ ppid _ <<<"${stat##*) }"
        # The snapshot's own pipeline (children of this shell) is not the host's.
        [ "$ppid" != $$ ] || continue
        st=$(start_time "$stat")
        # Its root and cgroups too: a container's process names neither the soak nor its ids in
        # its command line, but its root is the soak's rootfs and its cgroup /rampart-<id>.
        root=$(readlink "$d/root" 2>/dev/null || echo '?')
        echo "$pid $st [$(cat "$d/comm" 2>/dev/null)] $(tr '\0\n' '  ' <"$d/cmdline" 2>/dev/null | cut -c1-200) root=$root cg=$(grep -o "$PREFIX-[0-9]*" "$d/cgroup" 2>/dev/null | head -1)"
    done | sort >"$1"
}
# "pid start-time fd -> target" for every open file of every process.
snap_fds() {
    local d pid st fd
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        st=$(start_time "$(cat "$d/stat" 2>/dev/null)")
        [ -n "$st" ] || continue
        for fd in "$d"/fd/*; do
            [ -e "$fd" ] || [ -L "$fd" ] || continue
            echo "$pid $st ${fd##*/} -> $(readlink "$fd" 2>/dev/null || echo '?')"
        done
    done | sort >"$1"
}
snap_state() { ls -A "$ROOT" | sort >"$1"; }
file_nr() { awk '{print $1}' /proc/sys/fs/file-nr; }
count() { wc -l <"$1" | tr -d ' '; }
# The soak's own, by what it names: its temp dir, its ids, its cgroups (/rampart-<id>); and any
# new open file of the soak's shell itself.
ours() { grep -e "$WORK" -e "$PREFIX-" -e "^$$ " || true; }

snapshot() { # TAG
    snap_mounts "$WORK/mounts.$1"; snap_cgroups "$WORK/cgroups.$1"; snap_procs "$WORK/procs.$1"
    snap_fds "$WORK/fds.$1"; snap_state "$WORK/state.$1"; file_nr >"$WORK/filenr.$1"
}

per_hierarchy() { # TAG: "name=count ..." of the cgroup dirs per hierarchy
    local h out=""
    for h in $HIER; do out="$out ${h#/sys/fs/cgroup/}=$(grep -c "^$h\(/\|\$\)" "$WORK/cgroups.$1" || true)"; done
    echo "${out# }"
}

snapshot before
log "$RUNS sequential runs of /bin/true with $RAMPART (ids $PREFIX-1..$PREFIX-$RUNS, root $ROOT)"
log "before: mounts $(count "$WORK/mounts.before"), cgroup dirs $(count "$WORK/cgroups.before"), file-nr $(cat "$WORK/filenr.before"), state root entries $(count "$WORK/state.before")"

FAILED=0 FIRST_FAIL=""
T0=$EPOCHREALTIME
for i in $(seq "$RUNS"); do
    if ! out=$("$RAMPART" --root "$ROOT" run --bundle "$WORK/b" "$PREFIX-$i" </dev/null 2>&1); then
        FAILED=$((FAILED + 1))
        [ -n "$FIRST_FAIL" ] || FIRST_FAIL="run $i: $out"
    fi
    if [ $((i % EVERY)) = 0 ]; then
        snap_mounts "$WORK/m.now"; snap_cgroups "$WORK/c.now"; snap_state "$WORK/s.now"
        log "$i/$RUNS $(printf '%.1f' "$(echo "$EPOCHREALTIME - $T0" | bc -l)") s: mounts $(count "$WORK/m.now"), cgroup dirs $(count "$WORK/c.now"), file-nr $(file_nr), state root entries $(count "$WORK/s.now"), failed runs $FAILED"
    fi
done
T1=$EPOCHREALTIME
# A cgroup the kernel still frees, or a process still exiting, gets a moment before the count.
sleep 1
snapshot after

# ---------------------------------------------------------------- report
GREW=0 FOREIGN=0
# A process is new by its pid and start time (a kernel thread's name changes with its work).
new_entries() {
    if [ "$1" = procs ]; then
        awk 'NR == FNR { seen[$1 " " $2] = 1; next } !(($1 " " $2) in seen)' "$WORK/procs.before" "$WORK/procs.after"
    else
        comm -13 "$WORK/$1.before" "$WORK/$1.after"
    fi
}
# fds only of the processes alive before and after (same pid and start time): the long-lived ones.
LONG=$(comm -12 <(cut -d' ' -f1,2 "$WORK/procs.before") <(cut -d' ' -f1,2 "$WORK/procs.after") | sed 's/$/ /')
long_fds() { grep -F -f <(echo "$LONG") "$WORK/fds.$1" || true; }
long_fds before >"$WORK/lfds.before"; long_fds after >"$WORK/lfds.after"

echo "# rampart soak"
echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(uname -nrm), $(nproc) cores"
echo "rampart: $("$RAMPART" --version | head -1) ($RAMPART)"
echo "$RUNS sequential \`run\` of /bin/true, $FAILED failed; elapsed $(printf '%.1f' "$(echo "$T1 - $T0" | bc -l)") s ($(printf '%.2f' "$(echo "($T1 - $T0) * 1000 / $RUNS" | bc -l)") ms per run)"
echo
echo "| figure | before | after | new entries | of them the soak's |"
echo "| --- | --- | --- | --- | --- |"
for k in mounts cgroups procs lfds state; do
    case $k in
        mounts) label="host mount table (/proc/self/mountinfo)" ;;
        cgroups) label="cgroup dirs, all hierarchies ($(per_hierarchy before) -> $(per_hierarchy after))" ;;
        procs) label="processes" ;;
        lfds) label="open fds of the long-lived processes ($(echo "$LONG" | grep -c . ) alive throughout)" ;;
        state) label="entries in the state root" ;;
    esac
    new=$(new_entries "$k" | grep -c . || true)
    own=$(new_entries "$k" | ours | grep -c . || true)
    b=$(count "$WORK/$k.before"); a=$(count "$WORK/$k.after")
    echo "| $label | $b | $a | $new | $own |"
    if [ "$own" != 0 ] || { [ "$k" = state ] && [ "$a" != "$b" ]; }; then
        GREW=1
        { echo "the soak's own new entries in $k:"; new_entries "$k" | ours | head -20; } >&2
    elif [ "$a" -gt "$b" ]; then
        FOREIGN=1
        { echo "$k grew by $((a - b)), none of it the soak's (another user of the machine); new entries:"; new_entries "$k" | head -20; } >&2
    fi
done
echo "| open files of the host (file-nr, allocated) | $(cat "$WORK/filenr.before") | $(cat "$WORK/filenr.after") | | |"
echo
if [ "$FAILED" != 0 ]; then
    log "FAIL: $FAILED of $RUNS runs failed; first: $FIRST_FAIL"
    exit 1
fi
if [ "$GREW" = 1 ]; then log "FAIL: the soak left entries of its own behind (above)"; exit 1; fi
if [ "$FOREIGN" = 1 ] && [ "$STRICT" = 1 ]; then log "FAIL (--strict): figures grew (above)"; exit 1; fi
log "ok: nothing of the soak's is left; every figure is where it began$( [ "$FOREIGN" = 1 ] && echo ' except for the foreign entries listed above')"
