#!/bin/sh
# cpu quota/period, shares (converted to cpu.weight like runc) and cpuset are in the cgroup
# files, seen from inside the container (its cgroup namespace root) and outside.
. ./lib.inc
B=$WORK/b
bundle "$B" '["sh","-c","cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/cpuset.cpus; grep Cpus_allowed_list /proc/self/status"]' \
    '{"cpu": {"quota": 25000, "period": 50000, "shares": 512, "cpus": "1", "mems": "0"}}'
id=$(new_id cpu)
out=$(rp run --bundle "$B" "$id") || fail "run: $out"
want="25000 50000
59
1
Cpus_allowed_list:	1"
[ "$out" = "$want" ] || fail "got '$out', want '$want'"
ok "cpu.max, cpu.weight, cpuset.cpus inside"
no_cgroup "$id"

# idle and burst where the kernel has them.
bundle "$B" '["sleep","1000"]' '{"cpu": {"quota": 20000, "period": 100000, "burst": 10000}}'
id=$(new_id cpu-burst)
rp run -d --bundle "$B" "$id" || fail "run -d"
expect_file "$(cg "$id")/cpu.max" "20000 100000"
expect_file "$(cg "$id")/cpu.max.burst" 10000
rp delete --force "$id" || fail "delete"
no_cgroup "$id"
