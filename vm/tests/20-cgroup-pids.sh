#!/bin/sh
# A fork loop stops at pids.max: an inner shell dies at the first refused fork, pids.events
# counts it, and the outer shell plus 6 sleeps (7 tasks) are what is left under a limit of 8.
. ./lib.inc
B=$WORK/b
bundle "$B" '["sh","-c","sh -c '"'"'for i in $(seq 1 30); do sleep 60 & done'"'"' 2>/dev/null; echo rc=$?; read c </sys/fs/cgroup/pids.current; read m </sys/fs/cgroup/pids.max; read e </sys/fs/cgroup/pids.events; echo current=$c max=$m events=$e"]' \
    '{"pids": {"limit": 8}}'
id=$(new_id pids)
out=$(rp run --bundle "$B" "$id") || fail "run: $out"
want="rc=2
current=7 max=8 events=max 1"
[ "$out" = "$want" ] || fail "got '$out', want '$want'"
ok "fork loop stopped at pids.max"
no_cgroup "$id"
