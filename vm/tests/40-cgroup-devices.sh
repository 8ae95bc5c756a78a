#!/bin/sh
# The v2 device controller is an eBPF program: with CAP_MKNOD the container can make any node,
# but only allowed devices open. 1:3 (null) is allowed by default, 1:11 (kmsg) is not, until
# the config allows it. The open is write-only and writes nothing.
. ./lib.inc
B=$WORK/b
script='mknod /dev/t-null c 1 3 && mknod /dev/t-kmsg c 1 11 || exit 9; if true >/dev/t-null; then echo null=ok; else echo null=denied; fi; if true >/dev/t-kmsg; then echo kmsg=ok; else echo kmsg=denied; fi'
bundle "$B" "[\"sh\",\"-c\",\"$script\"]" '{"devices": [{"allow": false, "access": "rwm"}]}' ',"CAP_MKNOD"'
id=$(new_id dev)
out=$(rp run --bundle "$B" "$id" 2>"$WORK/err") || fail "run: $out $(cat "$WORK/err")"
[ "$out" = "null=ok
kmsg=denied" ] || fail "got '$out'"
grep -q "Operation not permitted" "$WORK/err" || fail "stderr: $(cat "$WORK/err")"
ok "kmsg denied by the eBPF program"
no_cgroup "$id"

bundle "$B" "[\"sh\",\"-c\",\"$script\"]" \
    '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}' ',"CAP_MKNOD"'
id=$(new_id dev-allowed)
out=$(rp run --bundle "$B" "$id") || fail "run: $out"
[ "$out" = "null=ok
kmsg=ok" ] || fail "with an allow rule got '$out'"
ok "kmsg opens once allowed"
no_cgroup "$id"
