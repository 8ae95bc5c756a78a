#!/bin/sh
# memory.checkBeforeUpdate on cgroup v2: the kernel takes a memory.max below the usage (and
# OOM-kills), so the runtime must refuse it itself and leave the limit as it was.
. ./lib.inc
B=$WORK/b
bundle "$B" '["sh","-c","dd if=/dev/zero of=/dev/fill bs=1M count=24 2>/dev/null; echo > /dev/filled; exec sleep 1000"]' \
    '{"memory": {"limit": 268435456}}'
id=$(new_id checkupd)
rp run -d --bundle "$B" "$id" || fail "run -d"
C=$(cg "$id")
i=0
until rp exec "$id" test -e /dev/filled 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the workload did not fill /dev"; sleep 0.1
done
echo '{"memory": {"limit": 8388608, "checkBeforeUpdate": true}}' >"$WORK/res.json"
out=$(rp update --resources "$WORK/res.json" "$id" 2>&1) && fail "a limit below the usage was taken"
echo "$out" | grep -q "is below the" || fail "refusal: $out"
expect_file "$C/memory.max" 268435456
rp exec "$id" test -e /dev/filled || fail "the container did not survive the refused update"
ok "a limit below the usage is refused"
echo '{"memory": {"limit": 134217728, "checkBeforeUpdate": true}}' >"$WORK/res.json"
rp update --resources "$WORK/res.json" "$id" || fail "a limit above the usage was refused"
expect_file "$C/memory.max" 134217728
ok "a limit above the usage is taken"
rp delete --force "$id" || fail "delete"
no_cgroup "$id"
