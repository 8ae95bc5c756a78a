# Runs inside the example container (busybox sh).
echo "hello from rampart"
echo "id:        $(id)"
echo "hostname:  $(hostname)"
echo "pid:       $$"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status
if touch /probe 2>/dev/null; then echo "root fs:   writable"; else echo "root fs:   read-only"; fi
if cat /proc/kcore >/dev/null 2>&1; then echo "kcore:     readable"; else echo "kcore:     masked"; fi
