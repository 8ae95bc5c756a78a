#!/bin/sh
# The guest must offer a pure cgroup v2 hierarchy with the controllers a runtime drives.
set -eu
fail() { echo "FAIL: $*"; exit 1; }
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || fail "no cgroup2 at /sys/fs/cgroup"
! grep -q ' cgroup ' /proc/mounts || fail "a cgroup v1 hierarchy is mounted: $(grep ' cgroup ' /proc/mounts)"
ctrls=$(cat /sys/fs/cgroup/cgroup.controllers)
for c in memory pids cpu io; do
    case " $ctrls " in *" $c "*) ;; *) fail "controller $c missing from '$ctrls'" ;; esac
done
# Controllers are delegated to children, and a child cgroup really limits pids.
case " $(cat /sys/fs/cgroup/cgroup.subtree_control) " in *" memory "*) ;; *) fail "memory not in subtree_control" ;; esac
cg=/sys/fs/cgroup/selftest.$$
mkdir "$cg"
trap 'rmdir "$cg" 2>/dev/null' EXIT
echo 1 >"$cg/pids.max"
[ "$(cat "$cg/pids.max")" = 1 ] || fail "pids.max not written"
[ -f "$cg/memory.max" ] || fail "no memory.max in a child cgroup"
echo "cgroup v2 ok: $ctrls"
