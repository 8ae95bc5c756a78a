#!/bin/sh
# pause freezes through cgroup.freeze and `state` says paused; resume thaws; ps and events work.
. ./lib.inc
B=$WORK/b
bundle "$B" '["sh","-c","sleep 1000 & exec sleep 999"]' '{"pids": {"limit": 50}}'
id=$(new_id pause)
rp run -d --bundle "$B" "$id" || fail "run -d"
C=$(cg "$id")
rp pause "$id" || fail "pause"
[ "$(status "$id")" = paused ] || fail "state says $(status "$id") after pause"
expect_file "$C/cgroup.freeze" 1
grep -q '^frozen 1' "$C/cgroup.events" || fail "cgroup.events: $(cat "$C/cgroup.events")"
ok "frozen"
rp pause "$id" 2>/dev/null && fail "pausing a paused container succeeded"
rp resume "$id" || fail "resume"
[ "$(status "$id")" = running ] || fail "state says $(status "$id") after resume"
grep -q '^frozen 0' "$C/cgroup.events" || fail "cgroup.events: $(cat "$C/cgroup.events")"
ok "thawed"

pids=$(rp ps --format json "$id") || fail "ps"
n=$(echo "$pids" | tr -d '[]' | tr ',' '\n' | grep -c .)
[ "$n" = 2 ] || fail "ps --format json: $pids"
ok "ps: $pids"
ev=$(rp events --stats "$id") || fail "events --stats"
echo "$ev" | grep -q '"type":"stats"' || fail "events: $ev"
echo "$ev" | grep -q '"pids":{"current":2,"limit":50}' || fail "events pids: $ev"
ok "events --stats"

rp pause "$id" || fail "pause again"
rp delete --force "$id" || fail "delete of a paused container"
no_cgroup "$id"
