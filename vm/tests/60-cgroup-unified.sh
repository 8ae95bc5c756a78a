#!/bin/sh
# linux.resources.unified key/values are written as they are; rdma too where present.
. ./lib.inc
B=$WORK/b
bundle "$B" '["sleep","1000"]' \
    '{"unified": {"memory.high": "52428800", "pids.max": "12", "cpu.weight": "77"}}'
id=$(new_id unified)
rp run -d --bundle "$B" "$id" || fail "run -d"
expect_file "$(cg "$id")/memory.high" 52428800
expect_file "$(cg "$id")/pids.max" 12
expect_file "$(cg "$id")/cpu.weight" 77
rp delete --force "$id" || fail "delete"
no_cgroup "$id"

# A key of a controller that does not exist is an error, and the failed create leaves nothing.
bundle "$B" '["true"]' '{"unified": {"nosuch.max": "1"}}'
id=$(new_id unified-bad)
rp create --bundle "$B" "$id" 2>"$WORK/err" && fail "create with a bad unified key succeeded"
ok "bad unified key refused: $(cat "$WORK/err")"
no_cgroup "$id"
[ ! -e "$ROOT/$id" ] || fail "state of $id left behind"
