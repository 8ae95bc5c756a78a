#!/bin/bash
# What the test suite left on the host: `make test` takes a snapshot before its first test and
# compares at the end, so only what appeared during the suite is blamed (a host with state of its
# own, or an earlier failed run, is not).
#   tests/leftovers.sh snapshot FILE   record the host's state into FILE
#   tests/leftovers.sh check FILE      exit 1, listing each one, if anything new is left
# What counts (each line of the listing is "KIND<TAB>ITEM"):
#   mount    a mount in /proc/self/mountinfo whose point or source names rampart or a test temp dir
#   cgroup   a cgroup directory in any hierarchy under /sys/fs/cgroup named rampart*, vt<run>*
#            (the vendor tests' run id) or <name>-<pid>-<n> (the integration tests' ids)
#   process  a process whose command line names rampart or a test temp dir, or runs a rampart binary
#   state    an entry of /run/rampart (rampart's default state root as root)
#   path     a fixed path an engine makes when it is not kept in the tests' folders:
#            /run/docker/plugins, /run/containers/networks,
#            /var/lib/containers/cache/blob-info-cache-v1.boltdb, and the engines' other fixed
#            paths (/run/containerd, /run/runc, /dev/shm/libpod_lock; not /run/mount, util-linux's own empty dir),
#            CNI's state (/var/lib/cni) and the netns mount dir /run/netns (the CRI engine's pods)
#   tmp      a test temp dir left in /tmp (rampart-it-*, vt<run>*)
#   link     a network link (`ip -o link`), and a named network namespace in /run/netns
# Assumes no other test suite runs on the machine at the same time: its state would be blamed too.
set -u

# Test temp dirs and names: the integration harness's TempDir (rampart-it-<what>-<pid>-<n>) and
# the vendor tests' run dir (/tmp/vt<pid>x<random>).
TEST_PATTERN='rampart|/tmp/vt[0-9]+x[0-9]+'

listing() {
    local self=$$ ancestors=" " p
    # The checker and whoever started it (make, a shell whose command line may name rampart) are
    # not leftovers.
    p=$self
    while [ -n "$p" ] && [ "$p" != 0 ]; do
        ancestors="$ancestors$p "
        p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
    done

    # mount point and source, from the fields before and after the " - " separator
    awk -v pat="$TEST_PATTERN" '{
        for (i = 7; i <= NF; i++) if ($i == "-") break
        line = $5 " " $(i + 1) " " $(i + 2)
        if (line ~ pat) print "mount\t" line
    }' /proc/self/mountinfo

    find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -type d 2>/dev/null |
        awk -F/ '{ n = $NF } n ~ /^rampart/ || n ~ /^vt[0-9]+x[0-9]+/ || n ~ /-[0-9]+-[0-9]+$/ { print "cgroup\t" $0 }'

    local d pid start cmd exe
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        case "$ancestors" in *" $pid "*) continue;; esac
        cmd=$(tr '\0' ' ' 2>/dev/null < "$d/cmdline") || continue
        exe=$(readlink "$d/exe" 2>/dev/null)
        if echo "$cmd" | grep -qE "$TEST_PATTERN" || [ "${exe##*/}" = rampart ]; then
            # pid and start time (field 22 of stat): a reused pid is a new process
            start=$(awk '{ sub(/.*\) /, ""); print $20 }' "$d/stat" 2>/dev/null)
            [ -n "$start" ] && printf 'process\t%s %s %s\n' "$pid" "$start" "$(echo "$cmd" | cut -c1-160)"
        fi
    done

    [ -d /run/rampart ] && for d in /run/rampart/*; do [ -e "$d" ] && printf 'state\t%s\n' "$d"; done

    for d in /run/docker/plugins /run/containers/networks \
             /var/lib/containers/cache/blob-info-cache-v1.boltdb \
             /run/containerd /run/runc /dev/shm/libpod_lock /var/lib/cni /run/netns; do
        [ -e "$d" ] && printf 'path\t%s\n' "$d"
    done

    for d in /tmp/rampart-it-* /tmp/vt[0-9]*x[0-9]*; do
        [ -e "$d" ] && printf 'tmp\t%s\n' "$d"
    done

    ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print "link\t" $2 }'
    [ -d /run/netns ] && for d in /run/netns/*; do [ -e "$d" ] && printf 'link\tnetns %s\n' "$d"; done
    return 0
}

case "${1:-}" in
    snapshot)
        [ -n "${2:-}" ] || { echo "usage: $0 snapshot FILE" >&2; exit 2; }
        listing | sort -u > "$2"
        echo "leftovers: snapshot of $(wc -l < "$2") items in $2"
        ;;
    check)
        [ -n "${2:-}" ] && [ -f "$2" ] || { echo "usage: $0 check FILE (from snapshot)" >&2; exit 2; }
        new=$(listing | sort -u | comm -13 "$2" -)
        if [ -n "$new" ]; then
            echo "leftovers: the test suite left these on the host:" >&2
            echo "$new" | sed 's/^/  /' >&2
            exit 1
        fi
        echo "leftovers: nothing left on the host"
        ;;
    *) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2;;
esac
