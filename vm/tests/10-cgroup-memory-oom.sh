#!/bin/sh
# A container allocating past memory.max (swap capped too) is OOM-killed: exit 137 from `run`,
# and the kernel's oom_kill count in memory.events; `events` reports it as an "oom" event.
. ./lib.inc
B=$WORK/b
bundle "$B" '["dd","if=/dev/zero","of=/dev/null","bs=64M","count=1"]' \
    '{"memory": {"limit": 16777216, "swap": 16777216}}'

id=$(new_id oom-run)
rp run --bundle "$B" "$id"; rc=$?
[ "$rc" = 137 ] || fail "run exited $rc, want 137 (SIGKILL by the OOM killer)"
ok "run exit 137"
no_cgroup "$id"

id=$(new_id oom-events)
rp create --bundle "$B" "$id" || fail "create"
expect_file "$(cg "$id")/memory.max" 16777216
expect_file "$(cg "$id")/memory.swap.max" 0
rp events --interval 1s "$id" >"$WORK/events" 2>&1 &
ev=$!
# events prints its first stats at once: wait for it, so it watches before the OOM happens.
i=0
until [ -s "$WORK/events" ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "events printed nothing"; sleep 0.1
done
rp start "$id" || fail "start"
i=0
while [ "$(status "$id")" != stopped ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "container did not stop"; sleep 0.1
done
kills=$(grep '^oom_kill ' "$(cg "$id")/memory.events" | cut -d' ' -f2)
[ "${kills:-0}" -ge 1 ] || fail "memory.events: $(cat "$(cg "$id")/memory.events")"
ok "memory.events oom_kill $kills"
wait $ev || fail "events exited non-zero: $(cat "$WORK/events")"
grep -q '"type":"oom"' "$WORK/events" || fail "no oom event in: $(cat "$WORK/events")"
ok "events reported oom"
rp delete "$id" || fail "delete"
no_cgroup "$id"
