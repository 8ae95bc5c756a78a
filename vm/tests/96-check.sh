#!/bin/sh
# `rampart check --format json` in the VM: AppArmor on, pure cgroup v2 with the root's controllers,
# the kernel uname reports, nothing about AppArmor or cgroup v2 in "missing". Then an audit event
# read back here: the v2 cgroup limit and the AppArmor label (unconfined) the workload has.
. ./lib.inc

rp check --format json >"$WORK/check.json" || fail "check --format json"
J=$WORK/check.json

# value KEY: the scalar after the first "KEY": in the (pretty, one key per line) JSON after
# the line matching SECTION.
value() {
    awk -v sec="$1" -v key="\"$2\":" '
        index($0, sec) { on = 1 }
        on && index($0, key) { sub(/^[^:]*: */, ""); sub(/,$/, ""); gsub(/"/, ""); print; exit }
    ' "$J"
}
# array SECTION KEY: the items of the array KEY after the line matching SECTION, one a line.
array() {
    awk -v sec="$1" -v key="\"$2\": [" '
        index($0, sec) { on = 1 }
        on && index($0, key) { inarr = 1; next }
        inarr && /\]/ { exit }
        inarr { gsub(/[",[:space:]]/, ""); print }
    ' "$J"
}

[ "$(value '"kernel"' release)" = "$(uname -r)" ] || fail "kernel release $(value '"kernel"' release), uname says $(uname -r)"
ok "kernel $(uname -r)"

[ "$(value '"cgroups"' layout)" = v2 ] || fail "cgroup layout $(value '"cgroups"' layout), want v2"
ok "cgroup layout v2"
want=$(tr ' ' '\n' </sys/fs/cgroup/cgroup.controllers | sort)
got=$(array '"v2": {' controllers | sort)
[ -n "$want" ] && [ "$got" = "$want" ] || fail "v2 controllers '$got', the root has '$want'"
ok "v2 controllers: $(echo $got)"

[ "$(value '"apparmor": {' enabled)" = true ] || fail "AppArmor not reported enabled: $(cat "$J")"
array '"lsm"' active | grep -qx apparmor || fail "apparmor not in the active LSMs"
ok "AppArmor enabled"
grep -q '"what": "AppArmor"' "$J" && fail "AppArmor listed as missing"
grep -q '"what": "cgroup v2 as the only hierarchy"' "$J" && fail "cgroup v2 listed as missing"
ok "neither AppArmor nor cgroup v2 missing"

rp check >"$WORK/check.txt" || fail "check (text)"
grep -q '^apparmor  *yes$' "$WORK/check.txt" || fail "text: $(cat "$WORK/check.txt")"
ok "text says apparmor yes"

# An audit event here: the limit read back from the v2 cgroup, the label from attr/apparmor.
B=$WORK/b
bundle "$B" '["sleep","1000"]' '{"pids": {"limit": 12}}'
id=$(new_id check-audit)
LOG=$WORK/audit.jsonl
rp --audit-log "$LOG" run -d --bundle "$B" "$id" || fail "run -d with --audit-log"
start=$(grep '"action":"start"' "$LOG")
[ -n "$start" ] || fail "no start event: $(cat "$LOG")"
echo "$start" | grep -q '"pids_max":"12"' || fail "start event lacks the v2 pids.max 12: $start"
echo "$start" | grep -q '"apparmor":"unconfined"' || fail "start event lacks the AppArmor label: $start"
ok "audit start event: pids.max 12 and AppArmor label read back"
rp --audit-log "$LOG" delete --force "$id" || fail "delete"
[ "$(grep -c '"action":"delete"' "$LOG")" = 1 ] || fail "no delete event"
no_cgroup "$id"
ok "delete event"
