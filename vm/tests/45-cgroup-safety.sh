#!/bin/sh
# cgroup v2 safety: the eBPF device program is installed even when the config has no device
# rules (or no resources at all), so a container with CAP_MKNOD cannot open a block device of
# the host; the init does not hold the host's cgroup directory (the clone3 CLONE_INTO_CGROUP
# fd) while it waits for start; a populated cgroup is refused; kill --all and delete -f spare a
# process of the host moved into the container's (pre-existing) cgroup and leave that cgroup.
. ./lib.inc
B=$WORK/b

# A block device of this VM that root here can open. The VM boots from an initramfs and has
# none (no disk, no loop module): then 7:0 (loop0), whose driver is not loaded. Its open fails
# with ENXIO in the block layer, after the device program's check, which fails it with EPERM
# first: EPERM still says the program denied the device. (The host test opens a real one.)
disk=""
for n in /dev/*; do
    [ -b "$n" ] || continue
    if dd if="$n" of=/dev/null bs=1 count=1 2>/dev/null; then disk=$n; break; fi
done
if [ -n "$disk" ]; then
    maj=$(( 0x$(stat -c %t "$disk") )); min=$(( 0x$(stat -c %T "$disk") ))
else
    disk="7:0 (no driver here)"; maj=7; min=0
    mknod "$WORK/loop0" b 7 0 || fail "mknod on the VM"
    dd if="$WORK/loop0" of=/dev/null bs=1 count=1 2>"$WORK/err"
    grep -q "Operation not permitted" "$WORK/err" && fail "7:0 is refused outside any container"
    ok "7:0 outside a container: $(cat "$WORK/err")"
fi
ok "attacking $disk ($maj:$min)"
script="mknod /dev/hostdisk b $maj $min || exit 9; if dd if=/dev/hostdisk of=/dev/null bs=1 count=1 2>/dev/err; then echo disk=READ; else echo disk=\$(cat /dev/err); fi; mknod /dev/null2 c 1 3 || exit 8; for d in null null2 zero full urandom random; do if head -c1 /dev/\$d >/dev/null 2>/dev/err; then echo \$d=ok; else echo \$d=\$(cat /dev/err); fi; done; if true 2>/dev/err </dev/tty; then echo tty=ok; else echo tty=\$(cat /dev/err); fi"
check_devices() {
    echo "$2" | grep -q "^disk=.*Operation not permitted" || fail "$1: block device not refused: $2"
    for d in null null2 zero full urandom random; do
        echo "$2" | grep -qx "$d=ok" || fail "$1: $d does not open: $2"
    done
    echo "$2" | grep "^tty=" | grep -q "Operation not permitted" && fail "$1: /dev/tty refused: $2"
    ok "$1: $disk refused by the eBPF program, the standard devices open"
}

bundle "$B" "[\"sh\",\"-c\",\"$script\"]" '{}' ',"CAP_MKNOD"'
sed -i '/"resources":/d' "$B/config.json"
grep -q resources "$B/config.json" && fail "config still has resources"
id=$(new_id nores)
out=$(rp run --bundle "$B" "$id" 2>&1) || fail "run: $out"
check_devices "no resources" "$out"
no_cgroup "$id"

bundle "$B" "[\"sh\",\"-c\",\"$script\"]" '{"pids": {"limit": 100}}' ',"CAP_MKNOD"'
id=$(new_id pidsonly)
out=$(rp run --bundle "$B" "$id" 2>&1) || fail "run: $out"
check_devices "resources without devices" "$out"
no_cgroup "$id"

# The init, waiting for start, holds no descriptor into /sys/fs/cgroup.
bundle "$B" '["sleep","1000"]' '{}'
id=$(new_id fd)
rp create --bundle "$B" "$id" || fail "create"
pid=$(rp state "$id" | grep '"pid"' | sed 's/[^0-9]//g')
[ -n "$pid" ] && [ -d "/proc/$pid/fd" ] || fail "no init pid ($pid)"
n=0
for f in /proc/$pid/fd/*; do
    t=$(readlink "$f") || continue
    n=$((n + 1))
    case "$t" in /sys/fs/cgroup*) fail "init $pid holds $f -> $t" ;; esac
done
[ "$n" -gt 0 ] || fail "read no fd of init $pid"
ok "init $pid: none of its $n descriptors points into /sys/fs/cgroup"
rp delete --force "$id" || fail "delete"
no_cgroup "$id"

# A populated cgroup is refused; its process and the cgroup stay.
P=/sys/fs/cgroup/shared-$$
mkdir "$P" || fail "mkdir $P"
sleep 1000 &
S=$!
# The containers go first (cleanup), then the sleep (by its pid), then the cgroup.
cleanup_shared() { cleanup; kill -9 "$S" 2>/dev/null; wait "$S" 2>/dev/null; rmdir "$P" 2>/dev/null; }
trap cleanup_shared EXIT
echo "$S" >"$P/cgroup.procs" || fail "moving the sleep in"
sed -i "s|\"linux\": {|\"linux\": {\"cgroupsPath\": \"/shared-$$\",|" "$B/config.json"
id=$(new_id populated)
rp run -d --bundle "$B" "$id" 2>"$WORK/err" && fail "run in a populated cgroup succeeded"
grep -q "already holds 1 process" "$WORK/err" || fail "unclear refusal: $(cat "$WORK/err")"
rp kill --all "$id" KILL 2>/dev/null; rp delete --force "$id" 2>/dev/null
kill -0 "$S" || fail "the sleep in the shared cgroup died"
[ -d "$P" ] || fail "$P removed"
ok "populated cgroup refused: $(cat "$WORK/err")"

# Joined while empty, the sleep moved in afterwards: kill --all and delete -f spare it.
echo "$S" >/sys/fs/cgroup/cgroup.procs || fail "moving the sleep out"
id=$(new_id joined)
rp run -d --bundle "$B" "$id" || fail "run -d in the empty $P"
echo "$S" >"$P/cgroup.procs" || fail "moving the sleep in"
rp kill --all "$id" KILL || fail "kill --all"
sleep 1
kill -0 "$S" || fail "kill --all killed the sleep"
[ "$(status "$id")" = stopped ] || fail "kill --all left the container $(status "$id")"
echo "$S" >/sys/fs/cgroup/cgroup.procs
rp run -d --bundle "$B" "$id-2" || fail "run -d again"
IDS="$IDS $id-2"
echo "$S" >"$P/cgroup.procs"
rp delete --force "$id" || fail "delete"
rp delete --force "$id-2" || fail "delete -f of a running one"
kill -0 "$S" || fail "delete -f killed the sleep"
[ -d "$P" ] || fail "delete removed the pre-existing $P"
ok "kill --all and delete -f spare the sleep and leave $P"
