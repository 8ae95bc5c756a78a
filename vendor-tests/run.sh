#!/bin/bash
# Run real container engines (containerd, podman, docker) against a runc-compatible runtime.
#   vendor-tests/run.sh --runtime /usr/sbin/runc [--engines containerd,cri,podman,docker,podman-rootless,buildah]
#                       [--out DIR] [--observe-only] [--verbose]
# Prints PASS/FAIL/SKIP per scenario and ends with "vendor-tests: N passed, M failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)

VT_RUNTIME=
ENGINES=containerd,cri,podman,docker,podman-rootless,buildah
VT_OUT=
VT_OBSERVE_ONLY=
VT_VERBOSE=
usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --runtime) VT_RUNTIME=$2; shift 2;;
        --engines) ENGINES=$2; shift 2;;
        --out) VT_OUT=$2; shift 2;;
        --observe-only) VT_OBSERVE_ONLY=1; shift;;
        --verbose|-v) VT_VERBOSE=1; shift;;
        -h|--help) usage;;
        *) echo "unknown argument: $1" >&2; usage;;
    esac
done
[ -n "$VT_RUNTIME" ] || usage
[ "$(id -u)" = 0 ] || { echo "vendor-tests: must run as root" >&2; exit 2; }
VT_RUNTIME=$(readlink -f "$VT_RUNTIME")
[ -x "$VT_RUNTIME" ] || { echo "vendor-tests: runtime $VT_RUNTIME is not executable" >&2; exit 2; }

. "$HERE/lib/common.sh"
. "$HERE/lib/dockerlike.sh"
for e in ${ENGINES//,/ }; do
    [ -f "$HERE/engines/$e.sh" ] || die "unknown engine $e (have: $(ls "$HERE/engines" | sed 's/\.sh//' | tr '\n' ' '))"
    . "$HERE/engines/$e.sh"
done
# An engine's functions are named after it with '-' as '_' (podman-rootless: podman_rootless_setup).
engine_fn() { echo "${1//-/_}"; }

# One private dir per run; its name (VT_RUN_ID) also names the run's cgroups and namespaces.
VT_RUN_ID=vt$$x$RANDOM
VT_TMP=/tmp/$VT_RUN_ID
mkdir -m 0711 "$VT_TMP" || die "cannot create $VT_TMP"
VT_OUT=${VT_OUT:-/tmp/vendor-tests-out/$(basename "$VT_RUNTIME")}
mkdir -p "$VT_OUT"
export VT_TMP VT_RUN_ID VT_RUNTIME VT_OUT

# Fixed host paths the engines (and umount: /run/mount) create on first use; removed at the end only if we created them
# and they are empty (another user of the machine may share them).
# Children before their parents: each is removed with rmdir.
# Not here, because no engine makes them on the host any more (tests/leftovers.sh fails if one
# appears): /run/docker/plugins and /var/lib/containers/cache (docker and podman run in mount
# namespaces of their own, lib/common.sh private_ns_start), /run/containers/networks (podman's
# CNI backend instead of netavark's fixed run directory).
VT_FIXED_DIRS=(/run/containerd/s /run/containerd /var/lib/containerd
    /opt/containerd /run/runc /run/mount)
VT_FIXED_NEW=()
# /run/<runtime name>: the runtime's default state root, used when podman gives no --root.
VT_FIXED_DIRS+=("/run/$(basename "$VT_RUNTIME")")
for d in "${VT_FIXED_DIRS[@]}"; do [ -e "$d" ] || VT_FIXED_NEW+=("$d"); done
[ -e /dev/shm/libpod_lock ] || VT_FIXED_NEW+=(/dev/shm/libpod_lock)

VT_DONE=
final_teardown() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -z "$VT_DONE" ]; then       # aborted midway: still end with the summary line
        fail harness "aborted (exit $rc)"
        echo "vendor-tests: $VT_PASSED passed, $VT_FAILED failed"
        [ "$rc" -eq 0 ] && rc=1
    fi
    run_cleanups
    kill_pids_mentioning "$VT_TMP/"
    unmount_under "$VT_TMP"
    remove_test_cgroups "$VT_RUN_ID"
    local d
    for d in "${VT_FIXED_NEW[@]}"; do
        case "$d" in
            # podman's SHM locks: remove only when no process has them mapped
            /dev/shm/libpod_lock) grep -qs libpod_lock /proc/[0-9]*/maps || rm -f "$d";;
            *) rmdir "$d" 2>/dev/null;;
        esac
    done
    if [ -z "$(mounts_under "$VT_TMP")" ]; then rm -rf "$VT_TMP"
    else echo "vendor-tests: keeping $VT_TMP, mounts are left in it" >&2; fi
    exit $rc
}
trap final_teardown EXIT
trap 'exit 130' INT TERM

t_all=$(date +%s)
t=$t_all
pkgs="busybox-static util-linux"
for e in ${ENGINES//,/ }; do pkgs="$pkgs $($(engine_fn "$e")_packages)"; done
ensure_packages $(echo $pkgs | tr ' ' '\n' | sort -u)
echo "TIME install: $(( $(date +%s) - t ))s"

t=$(date +%s)
mkdir -p "$VT_TMP/image"
build_image "$VT_TMP/image" || die "image build failed"
echo "TIME image: $(( $(date +%s) - t ))s"

echo "runtime: $VT_RUNTIME ($(timeout 10 "$VT_RUNTIME" --version 2>/dev/null | head -n 1))"
for e in ${ENGINES//,/ }; do
    echo "== $e"
    t=$(date +%s)
    if ! "$(engine_fn "$e")_setup"; then
        fail "$e/setup" "engine did not start (see output above)"
        run_cleanups
        continue
    fi
    ts=$(( $(date +%s) - t )); t=$(date +%s)
    "$(engine_fn "$e")_scenarios"
    tr=$(( $(date +%s) - t )); t=$(date +%s)
    run_cleanups                     # the engine's teardown, registered by its setup
    echo "TIME $e: setup ${ts}s, scenarios ${tr}s, teardown $(( $(date +%s) - t ))s"
done
echo "TIME total: $(( $(date +%s) - t_all ))s"
echo "observations: $VT_OUT"
[ "$VT_SKIPPED" -gt 0 ] && echo "($VT_SKIPPED skipped)"
echo "vendor-tests: $VT_PASSED passed, $VT_FAILED failed"
VT_DONE=1
[ "$VT_FAILED" -eq 0 ]
