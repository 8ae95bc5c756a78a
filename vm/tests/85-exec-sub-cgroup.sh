#!/bin/sh
# exec --cgroup on cgroup v2: the exec'd process runs in an existing sub-cgroup of the
# container's; a missing one or a controller-qualified form is refused before any process is
# made; delete removes the sub-cgroup with the container's own.
. ./lib.inc
B=$WORK/b
bundle "$B" '["sleep","999"]' '{"pids": {"limit": 50}}'
id=$(new_id subcg)
rp run -d --bundle "$B" "$id" || fail "run -d"
C=$(cg "$id")
# A sub-cgroup under a cgroup with processes: the init moves to a leaf of its own first, as an
# engine would (v2 puts processes in leaves only once controllers are enabled below).
mkdir "$C/work" || fail "mkdir $C/work"
out=$(rp exec --cgroup nosuch "$id" true 2>&1) && fail "exec into a missing sub-cgroup succeeded"
echo "$out" | grep -q "does not exist" || fail "missing sub-cgroup: $out"
out=$(rp exec --cgroup memory:work "$id" true 2>&1) && fail "controller form accepted on v2"
echo "$out" | grep -q "one hierarchy" || fail "controller form: $out"
ok "bad forms refused"
rp exec -d --pid-file "$WORK/pid" --cgroup work "$id" sleep 998 || fail "exec --cgroup work"
pid=$(cat "$WORK/pid")
grep -q "^0::/rampart-$id/work\$" /proc/"$pid"/cgroup || fail "exec'd process in $(cat /proc/"$pid"/cgroup)"
grep -qx "$pid" "$C/work/cgroup.procs" || fail "$C/work/cgroup.procs: $(cat "$C/work/cgroup.procs")"
ok "exec'd process in the sub-cgroup"
rp delete --force "$id" || fail "delete"
[ -d "$C/work" ] && fail "sub-cgroup left by delete"
no_cgroup "$id"
ok "delete removed the sub-cgroup"
