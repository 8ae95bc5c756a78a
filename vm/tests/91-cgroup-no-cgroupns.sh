#!/bin/sh
# Without a cgroup namespace (how Docker and podman run on hosts where they do not ask for one)
# the container's /sys/fs/cgroup is its own cgroup, read-only: it reads its own limits there and
# sees nothing of the host's tree above it.
. ./lib.inc
B=$WORK/b
# (no double quotes: the script is pasted into the JSON as it is)
script='cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; ls /sys/fs/cgroup | grep -c ^rampart-; grep -w /sys/fs/cgroup /proc/self/mountinfo; echo max >/sys/fs/cgroup/pids.max && echo wrote-pids || echo refused'
bundle "$B" "[\"sh\",\"-c\",\"$script\"]" '{"memory": {"limit": 33554432}, "pids": {"limit": 21}}'
sed -i 's/,{"type":"cgroup"}//' "$B/config.json"
grep -q '"type":"cgroup"}' "$B/config.json" && fail "cgroup namespace still in the config"
id=$(new_id nocgns)
out=$(rp run --bundle "$B" "$id" 2>"$WORK/err") || fail "run: $out $(cat "$WORK/err")"
echo "$out"
[ "$(echo "$out" | sed -n 1p)" = 33554432 ] || fail "memory.max is not the container's"
[ "$(echo "$out" | sed -n 2p)" = 21 ] || fail "pids.max is not the container's"
# the host's root would list this container's own rampart-<id> directory
[ "$(echo "$out" | sed -n 3p)" = 0 ] || fail "host cgroups visible"
echo "$out" | sed -n 4p | grep -q "^[0-9]* [0-9]* [0-9:]* /rampart-$id /sys/fs/cgroup ro[, ]" ||
    fail "mount is not the container's cgroup, read-only"
[ "$(echo "$out" | sed -n 5p)" = refused ] || fail "pids.max write not refused"
ok "own cgroup2 directory without a cgroup namespace"
no_cgroup "$id"
