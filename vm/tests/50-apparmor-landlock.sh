#!/bin/sh
# Landlock best effort across ABI versions, on a kernel older than the dev hosts': the guest's
# 6.1 kernel has Landlock ABI 2 (no truncate, ABI 3; no TCP port rules, ABI 4). Best effort runs
# the container with what the kernel can enforce and logs the rest; disableBestEffort refuses it.
# (Named with the AppArmor tests: the nested-VM LSM tests.)
set -u
RAMPART=${RAMPART:-/usr/local/bin/rampart}
W=$(mktemp -d /tmp/ll-test.XXXXXX)
STATE=$W/state
fail() { echo "FAIL: $*"; exit 1; }
cleanup() {
    for id in $("$RAMPART" --root "$STATE" list -q 2>/dev/null); do
        "$RAMPART" --root "$STATE" delete --force "$id" >/dev/null 2>&1
    done
    rm -rf "$W"
}
trap cleanup EXIT
grep -q landlock /sys/kernel/security/lsm || fail "Landlock is not an active LSM in the guest"

# bundle NAME DISABLE_BEST_EFFORT
bundle() {
    b=$W/$1
    mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/data" "$b/rootfs/root"
    cp /bin/busybox "$b/rootfs/bin/busybox"
    for a in sh cat echo id; do ln -sf busybox "$b/rootfs/bin/$a"; done
    cat >"$b/config.json" <<C
{
  "ociVersion": "1.2.0",
  "process": {
    "user": {"uid": 0, "gid": 0},
    "args": ["sh", "-c", "id -u; echo a > /data/f && echo data-ok; echo b > /root/f && echo root-ok; true"],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "noNewPrivileges": true,
    "landlock": {
      "ruleset": {"handledAccessFS": ["write_file", "make_reg", "truncate"], "handledAccessNet": ["bind_tcp"]},
      "rules": {"pathBeneath": [{"allowedAccess": ["write_file", "make_reg", "truncate"], "paths": ["/data"]}],
                "netPort": [{"allowedAccess": ["bind_tcp"], "ports": [8080]}]},
      "disableBestEffort": $2
    }
  },
  "root": {"path": "rootfs", "readonly": false},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}
  ],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}
}
C
}

bundle best false
out=$("$RAMPART" --root "$STATE" --debug --log "$W/best.log" run --bundle "$W/best" ll-best 2>&1) ||
    fail "best-effort run failed: $out $(cat "$W/best.log")"
echo "best effort: $out"
grep landlock "$W/best.log"
echo "$out" | grep -q data-ok || fail "the rule's write to /data failed"
echo "$out" | grep -q root-ok && fail "write_file (ABI 1) was not enforced outside /data"
grep -q 'cannot enforce truncate, bind_tcp' "$W/best.log" || fail "the log does not say truncate and bind_tcp were dropped"
grep -q 'enforcing handled fs \[write_file,make_reg\], handled net \[\]' "$W/best.log" ||
    fail "the log does not say what was enforced"

bundle strict true
if out=$("$RAMPART" --root "$STATE" run --bundle "$W/strict" ll-strict 2>&1 </dev/null); then
    fail "disableBestEffort ran on a kernel without truncate/bind_tcp: $out"
fi
echo "disableBestEffort: $out"
echo "$out" | grep -q 'disableBestEffort.*truncate, bind_tcp' || fail "the error does not name the rights"
[ -z "$("$RAMPART" --root "$STATE" list -q)" ] || fail "containers left behind"
echo "landlock best effort ok"
