#!/bin/sh
# AppArmor through rampart (runs in the nested VM, where the kernel has AppArmor; the dev hosts
# do not). A profile loaded with apparmor_parser denies writes under /denied; a container run
# with process.apparmorProfile shows the profile in /proc/self/attr/current and its write there
# fails, while the same container without the profile writes. Unloads the profile and removes
# everything it made, also on failure.
set -u
RAMPART=${RAMPART:-/usr/local/bin/rampart}
PROFILE=rampart-vmtest-deny
W=$(mktemp -d /tmp/aa-test.XXXXXX)
STATE=$W/state
fail() { echo "FAIL: $*"; exit 1; }
cleanup() {
    for id in $("$RAMPART" --root "$STATE" list -q 2>/dev/null); do
        "$RAMPART" --root "$STATE" delete --force "$id" >/dev/null 2>&1
    done
    grep -q "^$PROFILE " /sys/kernel/security/apparmor/profiles 2>/dev/null &&
        printf '%s' "$PROFILE" >/sys/kernel/security/apparmor/.remove
    rm -rf "$W"
}
trap cleanup EXIT

[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] || fail "AppArmor not enabled in the guest"
command -v apparmor_parser >/dev/null || fail "no apparmor_parser in the guest"

cat >"$W/profile" <<P
profile $PROFILE flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  signal,
  deny /denied/** w,
}
P
apparmor_parser -K -r "$W/profile" || fail "apparmor_parser could not load the profile"
grep -q "^$PROFILE " /sys/kernel/security/apparmor/profiles || fail "profile not listed after load"

# bundle NAME PROFILE SCRIPT [userns]: a busybox bundle with a writable root and /denied,
# /allowed in it; with "userns", in a user namespace (root mapped to root), where the kernel
# refuses rampart a fresh procfs (masked /proc paths) and it clones the container's /proc.
bundle() {
    b=$W/$1
    mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/denied" "$b/rootfs/allowed"
    cp /bin/busybox "$b/rootfs/bin/busybox"
    for a in sh cat echo; do ln -sf busybox "$b/rootfs/bin/$a"; done
    profile_line=""
    [ -n "$2" ] && profile_line="\"apparmorProfile\": \"$2\","
    ns='"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],'
    [ "${4:-}" = userns ] && ns='"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "user"}],
    "uidMappings": [{"containerID": 0, "hostID": 0, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 0, "size": 65536}],'
    cat >"$b/config.json" <<C
{
  "ociVersion": "1.2.0",
  "process": {
    "user": {"uid": 0, "gid": 0},
    "args": ["sh", "-c", "$3"],
    "env": ["PATH=/bin"],
    "cwd": "/",
    $profile_line
    "noNewPrivileges": true,
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}
  },
  "root": {"path": "rootfs", "readonly": false},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}
  ],
  "linux": {
    $ns
    "maskedPaths": ["/proc/kcore", "/proc/keys"],
    "readonlyPaths": ["/proc/sys"]
  }
}
C
}

SCRIPT='cat /proc/self/attr/current; echo x > /denied/f && echo denied-write-ok; echo y > /allowed/f && echo allowed-write-ok'

# Control: without the profile the container is unconfined and writes to /denied.
bundle plain "" "$SCRIPT"
out=$("$RAMPART" --root "$STATE" run --bundle "$W/plain" aa-plain 2>&1) || fail "control run failed: $out"
echo "control: $out"
echo "$out" | grep -q '^unconfined' || fail "control container is not unconfined"
echo "$out" | grep -q denied-write-ok || fail "control container could not write /denied"

# With the profile.
bundle confined "$PROFILE" "$SCRIPT"
out=$("$RAMPART" --root "$STATE" run --bundle "$W/confined" aa-confined 2>&1) || fail "confined run failed: $out"
echo "confined: $out"
echo "$out" | grep -qx "$PROFILE (enforce)" || fail "/proc/self/attr/current does not show $PROFILE (enforce)"
echo "$out" | grep -q denied-write-ok && fail "the profile did not deny the write to /denied"
echo "$out" | grep -q 'can.t create /denied/f: Permission denied' || fail "no EACCES for /denied/f"
echo "$out" | grep -q allowed-write-ok || fail "the profile denied a write it allows"
[ -e "$W/confined/rootfs/denied/f" ] && fail "/denied/f exists on the host side"

# The same in a user namespace.
bundle confined-userns "$PROFILE" "$SCRIPT" userns
out=$("$RAMPART" --root "$STATE" --debug --log "$W/userns.log" run --bundle "$W/confined-userns" aa-userns 2>&1) ||
    fail "userns run failed: $out $(cat "$W/userns.log")"
grep apparmor "$W/userns.log"
echo "confined, user namespace: $out"
echo "$out" | grep -qx "$PROFILE (enforce)" || fail "userns: attr/current does not show $PROFILE (enforce)"
echo "$out" | grep -q denied-write-ok && fail "userns: the profile did not deny the write to /denied"
echo "$out" | grep -q allowed-write-ok || fail "userns: the profile denied a write it allows"

# exec: --apparmor confines an exec'd process of an unconfined container; the container's
# profile holds for a plain exec in a confined one.
bundle long "" "sleep 1000"
"$RAMPART" --root "$STATE" create --bundle "$W/long" aa-long >/dev/null 2>&1 </dev/null || fail "create aa-long"
"$RAMPART" --root "$STATE" start aa-long || fail "start aa-long"
out=$("$RAMPART" --root "$STATE" exec --apparmor "$PROFILE" aa-long sh -c "$SCRIPT" 2>&1) || fail "exec --apparmor failed: $out"
echo "exec --apparmor: $out"
echo "$out" | grep -qx "$PROFILE (enforce)" || fail "exec --apparmor: attr/current does not show the profile"
echo "$out" | grep -q denied-write-ok && fail "exec --apparmor: the write to /denied was not denied"
out=$("$RAMPART" --root "$STATE" exec aa-long cat /proc/self/attr/current 2>&1) || fail "plain exec failed: $out"
[ "$out" = unconfined ] || fail "plain exec into an unconfined container: $out"
bundle long-confined "$PROFILE" "sleep 1000"
"$RAMPART" --root "$STATE" create --bundle "$W/long-confined" aa-longc >/dev/null 2>&1 </dev/null || fail "create aa-longc"
"$RAMPART" --root "$STATE" start aa-longc || fail "start aa-longc"
out=$("$RAMPART" --root "$STATE" exec aa-longc sh -c "$SCRIPT" 2>&1) || fail "exec into confined failed: $out"
echo "exec into a confined container: $out"
echo "$out" | grep -qx "$PROFILE (enforce)" || fail "exec'd process does not carry the container's profile"
echo "$out" | grep -q denied-write-ok && fail "exec'd process could write /denied"
for id in aa-long aa-longc; do "$RAMPART" --root "$STATE" delete --force "$id" || fail "delete $id"; done

# A profile the kernel does not know: the container must not start unconfined.
bundle unknown "rampart-no-such-profile" "echo should-not-run"
if out=$("$RAMPART" --root "$STATE" create --bundle "$W/unknown" aa-unknown-c 2>&1 </dev/null); then
    fail "create with an unknown profile succeeded: $out"
fi
echo "create, unknown profile: $out"
echo "$out" | grep -q 'no such profile is loaded' || fail "create's error does not say the profile is not loaded"
if out=$("$RAMPART" --root "$STATE" run --bundle "$W/unknown" aa-unknown 2>&1); then
    fail "a container with an unknown profile ran: $out"
fi
echo "unknown profile: $out"
echo "$out" | grep -q should-not-run && fail "the workload ran with an unknown profile"
echo "$out" | grep -q 'rampart-no-such-profile' || fail "the error does not name the profile: $out"

[ -z "$("$RAMPART" --root "$STATE" list -q)" ] || fail "containers left: $("$RAMPART" --root "$STATE" list -q)"
echo "apparmor ok"
