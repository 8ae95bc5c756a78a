#!/bin/sh
# Rootless with a delegated cgroup v2 subtree: an unprivileged user (uid 1000) owns
# /sys/fs/cgroup/rl-deleg-PID (the directory, its cgroup.procs, cgroup.subtree_control and
# cgroup.threads; memory and pids enabled for its children), the way systemd delegates
# user@.service. Its `rampart spec --rootless` config with linux.cgroupsPath inside that subtree
# gets a memory and a pids limit enforced: a fork loop stops at pids.max, a memory hog is
# OOM-killed, both seen from inside the container and from the host's side of the cgroup. The
# same config pointed outside the subtree is refused with the rootless limits error and
# leaves no cgroup. The user's processes start in a leaf of its subtree (session), as systemd
# starts a user's session inside its delegated cgroup: moving a process needs write access to
# the common ancestor's cgroup.procs, so a process in a root-owned cgroup could not move its
# container into the subtree at all.
. ./lib.inc
TUSER=rltest
TUID=1000
D=/sys/fs/cgroup/rl-deleg-$$
SESS=$D/session
OTHER=/sys/fs/cgroup/rl-other-$$
U=$WORK/user              # owned by the user: bundles and XDG_RUNTIME_DIR
XRD=$U/run
MEM=33554432              # 32 MiB, swap the same (no swap)

# as_user CMD ARGS...: runs CMD as the test user from the session leaf of its subtree, with
# its own XDG_RUNTIME_DIR (rampart's rootless state goes to $XDG_RUNTIME_DIR/rampart). The
# shell moves itself while still root; su (busybox) then drops to the user, keeping the
# environment but HOME/SHELL/USER/LOGNAME. The `--`: su parses options after the user name
# too, and would take a `-c` among CMD's arguments as its own.
as_user() {
    sh -c 'echo $$ >"$0/cgroup.procs" || exit 125
        export XDG_RUNTIME_DIR=$1; shift
        exec su -s /bin/sh -c '"'"'exec "$0" "$@"'"'"' -- '"$TUSER"' "$@"' "$SESS" "$XRD" "$@"
}
urp() { as_user "$RAMPART" "$@"; }
# new_uid NAME: a fresh id of the user's, remembered (in a file, see new_id) for cleanup.
new_uid() { id="$1-$$"; echo "$id" >>"$WORK/uids"; echo "$id"; }
ustatus() { urp state "$1" 2>/dev/null | grep '"status"' | sed 's/.*"status": *"\([a-z]*\)".*/\1/'; }

# On exit: the user deletes its containers, then the cgroups made here go, leaves first; one
# that cannot go (a process left in it) fails the test, as the next test would inherit it.
cleanup_rootless() {
    rc=$?
    for id in $(cat "$WORK/uids" 2>/dev/null); do
        out=$(urp delete --force "$id" 2>&1) || [ "$rc" = 0 ] || echo "cleanup: delete $id: $out"
    done
    for top in "$D" "$OTHER"; do
        [ -d "$top" ] || continue
        find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
        [ -d "$top" ] || continue
        echo "FAIL: cleanup: cannot remove $top"; rc=1
        for d in $(find "$top" -type d); do echo "  $d: procs $(cat "$d/cgroup.procs" | tr '\n' ' ')"; done
    done
    [ -f "$WORK/passwd" ] && cp "$WORK/passwd" /etc/passwd
    [ -f "$WORK/group" ] && cp "$WORK/group" /etc/group
    cleanup
    exit $rc
}
trap cleanup_rootless EXIT

# The user: busybox su reads /etc/passwd and /etc/group (rampart itself reads no NSS).
cp /etc/passwd "$WORK/passwd" && cp /etc/group "$WORK/group" || fail "saving /etc/passwd"
grep -q "^$TUSER:" /etc/passwd && fail "$TUSER already exists"
echo "$TUSER:x:$TUID:$TUID:rootless test:/nonexistent:/bin/sh" >>/etc/passwd
echo "$TUSER:x:$TUID:" >>/etc/group

# The delegated subtree. The root's subtree_control already has memory and pids (init2);
# enabled in $D's too, so its children (the containers) get memory.max and pids.max. The
# user gets the directory (to make children), cgroup.procs (to move processes between its
# cgroups), cgroup.subtree_control and cgroup.threads: what systemd chowns for Delegate=yes.
grep -qw memory /sys/fs/cgroup/cgroup.subtree_control && grep -qw pids /sys/fs/cgroup/cgroup.subtree_control \
    || fail "root subtree_control lacks memory/pids: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
mkdir "$D" "$SESS" "$OTHER" || fail "mkdir cgroups"
echo "+memory +pids" >"$D/cgroup.subtree_control" || fail "enabling memory and pids in $D"
chown "$TUID:$TUID" "$D" "$D/cgroup.procs" "$D/cgroup.subtree_control" "$D/cgroup.threads" \
    "$SESS" "$SESS/cgroup.procs" "$SESS/cgroup.subtree_control" "$SESS/cgroup.threads" || fail "chown $D"
chmod 0711 "$WORK"
mkdir -p "$U" "$XRD" && chown "$TUID:$TUID" "$U" "$XRD" && chmod 0700 "$U" "$XRD" || fail "user dirs"

who=$(as_user sh -c 'echo "$(id -u):$(id -g) $(cat /proc/self/cgroup) $XDG_RUNTIME_DIR"')
[ "$who" = "$TUID:$TUID 0::/${D#/sys/fs/cgroup/}/session $XRD" ] || fail "as_user runs as '$who'"
ok "as_user: uid:gid $TUID:$TUID in the session leaf of the delegated subtree"

# ubundle DIR CGROUPS_PATH ARGS_JSON: the user's `rampart spec --rootless` (its own uid and gid
# mapped to 0, user namespace, /sys bound from the host) with the process args, the cgroup
# path, the memory and pids limits and a read-only cgroup2 mount over /sys/fs/cgroup (after the
# /sys bind: mounts go in order) so the container reads its own limits. No JSON tools here: the
# edits anchor on spec's layout (process.args at four spaces, mounts the only top-level array).
ubundle() {
    bundle "$1" '["true"]' '{}'
    rm "$1/config.json"
    chown "$TUID:$TUID" "$1" || fail "chown $1"
    as_user sh -c 'cd "$0" && exec "$1" spec --rootless' "$1" "$RAMPART" || fail "spec --rootless as $TUSER"
    grep -q "\"hostID\": $TUID," "$1/config.json" || fail "spec --rootless did not map uid $TUID: $(grep -A2 hostID "$1/config.json")"
    sed -i -e '/^    "args": \[$/,/^    \],$/c\    "args": '"$3"',' \
        -e 's|^  "linux": {$|  "linux": {\n    "cgroupsPath": "'"$2"'",\n    "resources": {"memory": {"limit": '$MEM', "swap": '$MEM'}, "pids": {"limit": 8}},|' \
        -e '/^  "mounts": \[$/,/^  \],$/s|^  \],$|    ,{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid","noexec","nodev","relatime","ro"]}\n  ],|' \
        "$1/config.json" || fail "editing $1/config.json"
    grep -q '"cgroupsPath"' "$1/config.json" && grep -q '"destination": "/sys/fs/cgroup"' "$1/config.json" \
        && [ "$(grep -c '"args": \[\]\|"args": \["' "$1/config.json")" = 1 ] || fail "config edits did not apply: $(cat "$1/config.json")"
}

# wait_stopped ID: the user's container has exited.
wait_stopped() {
    i=0
    while [ "$(ustatus "$1")" != stopped ]; do
        i=$((i + 1)); [ $i -lt 300 ] || fail "$1 did not stop (status '$(ustatus "$1")')"; sleep 0.1
    done
}

# --- pids: the fork loop of 20-cgroup-pids.sh, in the user's cgroup.
B=$U/pids
ubundle "$B" /${D#/sys/fs/cgroup/}/cpids '["sh","-c","sh -c '"'"'for i in $(seq 1 30); do sleep 60 & done'"'"' 2>/dev/null; echo rc=$?; read c </sys/fs/cgroup/pids.current; read m </sys/fs/cgroup/pids.max; read e </sys/fs/cgroup/pids.events; echo current=$c max=$m events=$e; exec sleep 60"]'
id=$(new_uid rl-pids)
urp create --bundle "$B" "$id" >"$WORK/pids.out" 2>"$WORK/pids.err" || fail "create as $TUSER: $(cat "$WORK/pids.err")"
[ -d "$D/cpids" ] || fail "no cgroup $D/cpids after create"
[ "$(stat -c %u "$D/cpids")" = "$TUID" ] || fail "$D/cpids is owned by $(stat -c %u "$D/cpids"), want $TUID"
expect_file "$D/cpids/pids.max" 8
expect_file "$D/cpids/memory.max" $MEM
expect_file "$D/cpids/memory.swap.max" 0
pid=$(urp state "$id" | grep '"pid"' | sed 's/[^0-9]//g')
grep -qx "0::/${D#/sys/fs/cgroup/}/cpids" "/proc/$pid/cgroup" || fail "init $pid is in $(cat "/proc/$pid/cgroup")"
ok "init $pid starts in $D/cpids"
urp start "$id" || fail "start"
want="rc=2
current=7 max=8 events=max 1"
i=0
until [ "$(cat "$WORK/pids.out")" = "$want" ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "inside: got '$(cat "$WORK/pids.out")', want '$want' (stderr: $(cat "$WORK/pids.err"))"; sleep 0.1
done
ok "inside: fork loop stopped at pids.max 8"
# From the host: the same cgroup, the tasks left (the outer shell exec'ed sleep) and the
# refused fork.
expect_file "$D/cpids/pids.current" 7
expect_file "$D/cpids/pids.events" "max 1"
urp kill "$id" KILL || fail "kill"
wait_stopped "$id"
urp delete "$id" || fail "delete as $TUSER"
[ ! -e "$D/cpids" ] || fail "delete left $D/cpids"
[ -d "$SESS" ] || fail "delete removed the delegated subtree itself"
ok "delete as $TUSER removed $D/cpids and nothing above it"
[ -s "$WORK/pids.err" ] && echo "info: create's stderr: $(cat "$WORK/pids.err")"

# --- memory: a 64 MiB buffer under 32 MiB without swap is OOM-killed.
B=$U/mem
ubundle "$B" /${D#/sys/fs/cgroup/}/cmem '["sh","-c","read m </sys/fs/cgroup/memory.max; read s </sys/fs/cgroup/memory.swap.max; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; r=$?; echo max=$m swap=$s dd=$r $(grep oom_kill /sys/fs/cgroup/memory.events)"]'
id=$(new_uid rl-mem)
urp create --bundle "$B" "$id" >"$WORK/mem.out" 2>"$WORK/mem.err" || fail "create as $TUSER: $(cat "$WORK/mem.err")"
urp start "$id" || fail "start"
wait_stopped "$id"
# The shell survives (the OOM killer picks dd, the big one) and says what it saw.
out=$(cat "$WORK/mem.out")
want="max=$MEM swap=0 dd=137 oom_kill 1"
[ "$out" = "$want" ] || fail "inside: got '$out', want '$want' (stderr: $(cat "$WORK/mem.err"))"
ok "inside: $out"
kills=$(grep '^oom_kill ' "$D/cmem/memory.events" | cut -d' ' -f2)
[ "${kills:-0}" -ge 1 ] || fail "host: $D/cmem/memory.events: $(cat "$D/cmem/memory.events")"
ok "host: $D/cmem/memory.events oom_kill $kills"
urp delete "$id" || fail "delete as $TUSER"
[ ! -e "$D/cmem" ] || fail "delete left $D/cmem"

# run: the hog alone, exit 137, and nothing left.
B=$U/hog
ubundle "$B" /${D#/sys/fs/cgroup/}/chog '["dd","if=/dev/zero","of=/dev/null","bs=64M","count=1"]'
id=$(new_uid rl-hog)
urp run --bundle "$B" "$id" 2>"$WORK/hog.err"; rc=$?
[ "$rc" = 137 ] || fail "run as $TUSER exited $rc, want 137 (OOM kill): $(cat "$WORK/hog.err")"
[ ! -e "$D/chog" ] || fail "run left $D/chog"
ok "run as $TUSER: hog OOM-killed (137), cgroup removed"

# --- outside the subtree: the same limits are refused, not dropped, and nothing is made.
for path in /${OTHER#/sys/fs/cgroup/}/c1 /rl-none-$$/c1; do
    B=$U/out-$(echo "$path" | tr / _)
    ubundle "$B" "$path" '["true"]'
    id=$(new_uid rl-out)
    urp run --bundle "$B" "$id" >"$WORK/out.out" 2>"$WORK/out.err" && fail "run with $path outside the subtree succeeded"
    grep -q "rootless: linux.resources sets memory, pids, but the cgroup $path cannot be made or joined by uid $TUID" "$WORK/out.err" \
        || fail "$path: not the rootless limits error: $(cat "$WORK/out.err")"
    [ ! -e "/sys/fs/cgroup$path" ] && [ ! -e "/sys/fs/cgroup/rl-none-$$" ] || fail "$path: a cgroup was made"
    [ -z "$(find "$OTHER" -mindepth 1 -type d)" ] || fail "$OTHER has children: $(find "$OTHER" -mindepth 1 -type d)"
    urp state "$id" >/dev/null 2>&1 && fail "$path: a container $id is left"
    ok "$path refused, no cgroup, no state: $(grep 'rootless:' "$WORK/out.err")"
done
