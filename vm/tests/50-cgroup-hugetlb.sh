#!/bin/sh
# hugepageLimits land in hugetlb.<size>.max (when the guest kernel has the hugetlb controller).
. ./lib.inc
grep -qw hugetlb /sys/fs/cgroup/cgroup.controllers || { echo "skip: no hugetlb controller"; exit 0; }
B=$WORK/b
bundle "$B" '["sh","-c","cat /sys/fs/cgroup/hugetlb.2MB.max"]' \
    '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}'
id=$(new_id hugetlb)
out=$(rp run --bundle "$B" "$id") || fail "run: $out"
[ "$out" = 4194304 ] || fail "hugetlb.2MB.max is '$out'"
ok "hugetlb.2MB.max = 4194304"
no_cgroup "$id"
