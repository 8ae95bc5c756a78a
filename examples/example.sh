# Runs inside the example container (busybox sh).
echo "hello from rampart"
echo "id:        $(id)"
echo "hostname:  $(hostname)"
echo "pid:       $$"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status
if touch /probe 2>/dev/null; then echo "root fs:   writable"; else echo "root fs:   read-only"; fi
# /proc/keys lists the keys the caller may see; a masked path reads as empty (it is /dev/null).
if [ -n "$(cat /proc/keys 2>/dev/null)" ]; then echo "/proc/keys: readable"; else echo "/proc/keys: masked"; fi
