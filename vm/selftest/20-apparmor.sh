#!/bin/sh
# The guest must have AppArmor enabled; when apparmor_parser is present, a profile must load.
set -eu
fail() { echo "FAIL: $*"; exit 1; }
enabled=$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || echo N)
[ "$enabled" = Y ] || [ -d /sys/kernel/security/apparmor ] || fail "AppArmor not enabled"
echo "lsm: $(cat /sys/kernel/security/lsm)"
if ! command -v apparmor_parser >/dev/null; then
    echo "apparmor_parser not in the guest; skipping profile load"
    exit 0
fi
cat >/tmp/vmtest-profile <<'P'
profile vmtest-selftest flags=(attach_disconnected) {
  file,
  deny /etc/hostname r,
}
P
apparmor_parser -K -r /tmp/vmtest-profile || fail "apparmor_parser could not load a profile"
grep -q '^vmtest-selftest ' /sys/kernel/security/apparmor/profiles || fail "profile not listed"
# The profile must really confine: a process switched to it reports it and is denied /etc/hostname.
confined() { sh -c 'echo "exec vmtest-selftest" >/proc/self/attr/exec && exec "$@"' sh "$@"; }
label=$(confined cat /proc/self/attr/current) || fail "cannot run a process under the profile"
[ "$label" = "vmtest-selftest (enforce)" ] || fail "confined process has label '$label'"
if confined cat /etc/hostname >/dev/null 2>&1; then fail "profile did not deny /etc/hostname"; fi
echo -n vmtest-selftest >/sys/kernel/security/apparmor/.remove || fail "cannot remove profile"
echo "apparmor ok: profile loaded, enforced and removed"
