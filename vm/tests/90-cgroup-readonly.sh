#!/bin/sh
# Inside the container the cgroup2 mount is read-only: root there cannot raise its limits,
# make sub-cgroups or remount it read-write.
. ./lib.inc
B=$WORK/b
script='echo max >/sys/fs/cgroup/pids.max && echo wrote-pids; echo max >/sys/fs/cgroup/memory.max && echo wrote-memory; mkdir /sys/fs/cgroup/sub && echo made-sub; mount -o remount,rw /sys/fs/cgroup && echo remounted; cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max; grep cgroup2 /proc/self/mountinfo'
bundle "$B" "[\"sh\",\"-c\",\"$script\"]" '{"memory": {"limit": 33554432}, "pids": {"limit": 20}}'
id=$(new_id ro)
out=$(rp run --bundle "$B" "$id" 2>"$WORK/err") || fail "run: $out $(cat "$WORK/err")"
echo "$out"
for bad in wrote-pids wrote-memory made-sub remounted; do
    echo "$out" | grep -q "$bad" && fail "$bad"
done
grep -q "Read-only file system" "$WORK/err" || fail "stderr: $(cat "$WORK/err")"
[ "$(echo "$out" | sed -n 1p)" = 20 ] || fail "pids.max changed"
[ "$(echo "$out" | sed -n 2p)" = 33554432 ] || fail "memory.max changed"
echo "$out" | sed -n 3p | grep -q ' /sys/fs/cgroup ro[, ]' || fail "cgroup2 mount not read-only"
ok "cgroup2 read-only inside"
no_cgroup "$id"
