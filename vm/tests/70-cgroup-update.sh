#!/bin/sh
# `update` changes the limits of a running container: runc's flags and --resources (file, -).
. ./lib.inc
B=$WORK/b
bundle "$B" '["sleep","1000"]' '{"memory": {"limit": 67108864}, "pids": {"limit": 100}}'
id=$(new_id update)
rp run -d --bundle "$B" "$id" || fail "run -d"
C=$(cg "$id")
expect_file "$C/memory.max" 67108864
rp update --memory 96m --memory-swap 128m --pids-limit 33 --cpu-quota 30000 --cpu-period 100000 \
    --cpu-shares 512 --cpuset-cpus 1 "$id" || fail "update with flags"
expect_file "$C/memory.max" 100663296
expect_file "$C/memory.swap.max" 33554432
expect_file "$C/pids.max" 33
expect_file "$C/cpu.max" "30000 100000"
expect_file "$C/cpu.weight" 59
expect_file "$C/cpuset.cpus" 1
# runc's spelling (--cpu-shares above is rampart's alias for it), and runc 1.2's --cpu-burst.
rp update --cpu-share 1024 --cpu-burst 10000 "$id" || fail "update --cpu-share --cpu-burst"
expect_file "$C/cpu.weight" 100
expect_file "$C/cpu.max.burst" 10000
echo '{"memory": {"limit": 134217728}, "pids": {"limit": 44}, "unified": {"memory.high": "104857600"}}' \
    | rp update --resources - "$id" || fail "update --resources -"
expect_file "$C/memory.max" 134217728
expect_file "$C/pids.max" 44
expect_file "$C/memory.high" 104857600
echo '{"pids": {"limit": 55}}' >"$WORK/res.json"
rp update --resources "$WORK/res.json" "$id" || fail "update --resources FILE"
expect_file "$C/pids.max" 55
rp update --memory lots "$id" 2>/dev/null && fail "a bad --memory was accepted"
expect_file "$C/pids.max" 55
rp delete --force "$id" || fail "delete"
no_cgroup "$id"

# The device eBPF program is rebuilt by every update: the container's own allow rule (1:11
# here) must survive an update that says nothing about devices.
bundle "$B" '["sh","-c","mknod /dev/t-kmsg c 1 11 && exec sleep 1000"]' \
    '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}' ',"CAP_MKNOD"'
id=$(new_id update-dev)
rp run -d --bundle "$B" "$id" || fail "run -d"
i=0
until rp exec "$id" sh -c 'test -c /dev/t-kmsg' 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the node was not made"; sleep 0.1
done
rp exec "$id" sh -c 'true >/dev/t-kmsg' || fail "allowed device denied before update"
rp update --pids-limit 66 "$id" || fail "update"
expect_file "$(cg "$id")/pids.max" 66
rp exec "$id" sh -c 'true >/dev/t-kmsg' || fail "update dropped the container's device rule"
ok "device rules survive update"
rp delete --force "$id" || fail "delete"
no_cgroup "$id"
