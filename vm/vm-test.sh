#!/usr/bin/env bash
# Boots a throw-away QEMU (TCG) guest running Debian's 6.1 kernel from a busybox initramfs, runs the
# executable /tests/*.sh inside it and turns the guest's summary line into this script's exit code.
# Why a VM: the development hosts have a hybrid cgroup layout and no AppArmor; the guest has a pure
# cgroup v2 hierarchy and AppArmor, and nothing a test does there can reach the host.
#
# Exit codes: 0 all tests passed, 1 a test failed, 2 usage error, 3 the VM itself failed
# (timeout, no summary line, download/boot problem).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: vm/vm-test.sh --rampart PATH --tests DIR [--timeout SECONDS] [--workdir DIR]
                     [--test-timeout SECONDS] [--cache DIR]

  --rampart PATH        binary installed as /usr/local/bin/rampart in the guest (should be static)
  --tests DIR           copied to /tests; every executable /tests/*.sh runs, sorted by name
  --timeout SECONDS     wall-clock limit for the whole boot (default 600); qemu is killed after it
  --test-timeout SECS   limit per test inside the guest (default 300)
  --workdir DIR         keep the initramfs and console.log there (default: a temp dir, removed)
  --cache DIR           download cache (default: <repo>/build/vm-cache, or $RAMPART_VM_CACHE)
EOF
}

log() { printf 'vm-test: %s\n' "$*" >&2; }
die() { log "error: $1"; exit "${2:-3}"; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAMPART=""
TESTS=""
TIMEOUT=600
TEST_TIMEOUT=300
WORKDIR=""
CACHE=${RAMPART_VM_CACHE:-$REPO/build/vm-cache}
# Loaded in this order inside the guest (no depmod there): handy for network and overlay tests.
MODULES=(net/llc/llc net/802/stp net/bridge/bridge drivers/net/veth fs/overlayfs/overlay)

while [ $# -gt 0 ]; do
    case "$1" in
        --rampart) RAMPART=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        --tests) TESTS=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        --timeout) TIMEOUT=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        --test-timeout) TEST_TIMEOUT=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        --workdir) WORKDIR=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        --cache) CACHE=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
        -h|--help) usage; exit 0 ;;
        *) log "unknown argument: $1"; usage >&2; exit 2 ;;
    esac
done
[ -n "$RAMPART" ] && [ -n "$TESTS" ] || { usage >&2; exit 2; }
[ -f "$RAMPART" ] || die "--rampart $RAMPART: not a file" 2
[ -d "$TESTS" ] || die "--tests $TESTS: not a directory" 2
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive integer" 2
[[ "$TEST_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "--test-timeout must be a positive integer" 2

# ---------------------------------------------------------------- temp dirs and cleanup
QEMU_PID=""
TMP_OWNED=""
CACHE_TMP=()   # half-written cache entries of this run, removed if it stops early
cleanup() {
    local rc=$?
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        # QEMU_PID is `timeout`, which forwards the signal to qemu.
        kill -TERM "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    [ -n "$TMP_OWNED" ] && rm -rf "$TMP_OWNED"
    [ ${#CACHE_TMP[@]} -gt 0 ] && rm -rf "${CACHE_TMP[@]}"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 3' INT TERM HUP

if [ -n "$WORKDIR" ]; then
    mkdir -p "$WORKDIR"
    WORKDIR=$(cd "$WORKDIR" && pwd)
    rm -rf "$WORKDIR/root"
else
    WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/rampart-vm.XXXXXX")
    TMP_OWNED=$WORKDIR
fi
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

# ---------------------------------------------------------------- host packages
APT_UPDATED=""
apt_update_once() {
    [ -n "$APT_UPDATED" ] && return 0
    log "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
}

ensure_host_tools() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v cpio >/dev/null || missing+=(cpio)
    command -v readelf >/dev/null || missing+=(binutils)
    # busybox-static ships /bin/busybox; the plain busybox package ships a dynamic one.
    if ! [ -x /bin/busybox ] || is_dynamic /bin/busybox; then missing+=(busybox-static); fi
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "need root to install ${missing[*]}"
    log "installing ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
        apt_update_once
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
            || die "apt-get install ${missing[*]} failed"
    fi
}

# Prints the candidate version of a package, empty if apt does not know it.
candidate_version() {
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'
}

# fetch_deb PKG DEST: unpacks PKG's candidate version into DEST unless DEST/.done exists.
fetch_deb() {
    local pkg=$1 dest=$2 dl unpack
    [ -f "$dest/.done" ] && return 0
    dl=$(mktemp -d "$CACHE/.download.XXXXXX")
    unpack=$(mktemp -d "$CACHE/.unpack.XXXXXX")
    CACHE_TMP+=("$dl" "$unpack")
    log "downloading $pkg"
    if ! (cd "$dl" && apt-get -o APT::Sandbox::User=root download -qq "$pkg" >&2); then
        apt_update_once
        (cd "$dl" && apt-get -o APT::Sandbox::User=root download -qq "$pkg" >&2) || { rm -rf "$dl"; die "apt-get download $pkg failed"; }
    fi
    dpkg -x "$dl"/*.deb "$unpack" || die "dpkg -x $pkg failed"
    rm -rf "$dl"
    touch "$unpack/.done"
    # Publish atomically; a concurrent run may have won the race, which is fine.
    mv -T "$unpack" "$dest" 2>/dev/null || rm -rf "$unpack"
}

# Sets KERNEL (vmlinuz path) and KMODS (dir holding the kernel/ module tree) from the cache,
# downloading the newest linux-image-6.1.0-N-amd64 when it is not cached yet.
fetch_kernel() {
    local pkg dir tmp new kver m
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null \
        | awk '{print $1}' | sort -V | tail -n1 || true)
    if [ -z "$pkg" ]; then
        # No apt lists: use whatever kernel the cache already holds, else refresh the lists.
        dir=$(ls -d "$CACHE"/linux-image-6.1.0-*-amd64 2>/dev/null | sort -V | tail -n1 || true)
        if [ -n "$dir" ] && [ -f "$dir/.done" ]; then pkg=$(basename "$dir"); else
            apt_update_once
            pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' \
                | awk '{print $1}' | sort -V | tail -n1)
            [ -n "$pkg" ] || die "no linux-image-6.1.0-*-amd64 package known to apt"
        fi
    fi
    dir=$CACHE/$pkg
    if ! [ -f "$dir/.done" ]; then
        tmp=$(mktemp -u "$CACHE/.kernel-deb.XXXXXX")
        new=$(mktemp -d "$CACHE/.kernel-new.XXXXXX")
        CACHE_TMP+=("$tmp" "$new")
        fetch_deb "$pkg" "$tmp"
        # Keep only what the guest needs: the full module tree is ~400 MB.
        mkdir -p "$new/modules"
        cp "$tmp"/boot/vmlinuz-* "$new/vmlinuz"
        kver=$(basename "$tmp"/lib/modules/*)
        echo "$kver" >"$new/kernel-version"
        for m in "${MODULES[@]}"; do
            cp "$tmp/lib/modules/$kver/kernel/$m.ko" "$new/modules/" \
                || log "warning: module $m not in $pkg"
        done
        rm -rf "$tmp"
        touch "$new/.done"
        # Older kernels are of no further use.
        find "$CACHE" -maxdepth 1 -name 'linux-image-6.1.0-*-amd64' ! -name "$pkg" -exec rm -rf {} +
        mv -T "$new" "$dir" 2>/dev/null || rm -rf "$new"
    fi
    KERNEL=$dir/vmlinuz
    KMODS=$dir/modules
    KPKG=$pkg
}

# Sets APPARMOR to an unpacked apparmor package, or empty when that is not available.
fetch_apparmor() {
    local ver
    APPARMOR=""
    ver=$(candidate_version apparmor)
    if [ -z "$ver" ]; then
        APPARMOR=$(ls -d "$CACHE"/apparmor-* 2>/dev/null | tail -n1 || true)
        [ -n "$APPARMOR" ] && [ -f "$APPARMOR/.done" ] || { APPARMOR=""; log "warning: apparmor package unknown to apt; no apparmor_parser in the guest"; }
        return 0
    fi
    local dir=$CACHE/apparmor-${ver//[^A-Za-z0-9.+~-]/_}
    if ! [ -f "$dir/.done" ]; then
        find "$CACHE" -maxdepth 1 -name 'apparmor-*' ! -name "${dir##*/}" -exec rm -rf {} +
        fetch_deb apparmor "$dir"
    fi
    APPARMOR=$dir
}

# ---------------------------------------------------------------- initramfs
ROOT=""
# is_dynamic FILE: whether FILE is an ELF that needs a program interpreter (ld.so). Not `ldd`:
# it exits 0 on a static-pie binary (what `make static` builds), reporting "statically linked".
is_dynamic() { readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }

# copy_libs FILE: copies the shared libraries (and loader) a dynamic ELF needs into $ROOT.
copy_libs() {
    local f=$1 lib
    is_dynamic "$f" || return 0   # static, or not an ELF executable
    for lib in $(ldd "$f" | grep -o '/[^ )]*'); do
        [ -e "$ROOT$lib" ] && continue
        mkdir -p "$ROOT$(dirname "$lib")"
        cp -L "$lib" "$ROOT$lib"
    done
}

is_elf() { [ "$(head -c4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }

build_initramfs() {
    ROOT=$WORKDIR/root
    mkdir -p "$ROOT"/{bin,sbin,etc,proc,sys,dev,run,tmp,root,lib/modules,usr/local/bin,usr/bin,usr/sbin,var/tmp,tests}
    chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
    cp /bin/busybox "$ROOT/bin/busybox"
    local applet
    for applet in $(/bin/busybox --list-full); do
        [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ROOT/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
    echo rampart-vm >"$ROOT/etc/hostname"
    cp "$KMODS"/*.ko "$ROOT/lib/modules/" 2>/dev/null || true
    local m
    for m in "${MODULES[@]}"; do echo "$(basename "$m").ko"; done >"$ROOT/lib/modules/load-order"

    if [ -n "$APPARMOR" ]; then
        cp "$APPARMOR/sbin/apparmor_parser" "$ROOT/sbin/"
        copy_libs "$ROOT/sbin/apparmor_parser"
        cp -a "$APPARMOR/etc/apparmor" "$APPARMOR/etc/apparmor.d" "$ROOT/etc/"
        # parser.conf points at the feature set the parser compiles for.
        mkdir -p "$ROOT/usr/share"
        cp -a "$APPARMOR/usr/share/apparmor-features" "$ROOT/usr/share/"
    fi

    cp "$RAMPART" "$ROOT/usr/local/bin/rampart"
    chmod 0755 "$ROOT/usr/local/bin/rampart"
    if is_dynamic "$RAMPART"; then
        log "warning: $RAMPART is dynamically linked; copying its libraries"
        copy_libs "$RAMPART"
    fi

    cp -a "$TESTS/." "$ROOT/tests/"
    local f
    while IFS= read -r -d '' f; do
        is_elf "$f" && copy_libs "$f"
    done < <(find "$ROOT/tests" -type f -perm -u+x -print0)

    install -m 0755 "$REPO/vm/guest/init" "$ROOT/init"
    install -m 0755 "$REPO/vm/guest/init2" "$ROOT/sbin/init2"

    (cd "$ROOT" && find . -print0 | LC_ALL=C sort -z \
        | cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -1 >"$WORKDIR/initramfs.cpio.gz"
    rm -rf "$ROOT"
}

# ---------------------------------------------------------------- boot
boot() {
    local logf=$WORKDIR/console.log rc tail_pid
    : >"$logf"
    log "booting $KPKG (timeout ${TIMEOUT}s)"
    # -k: qemu gets SIGTERM at the timeout, SIGKILL 10 s later.
    timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot -nic none \
        -kernel "$KERNEL" -initrd "$WORKDIR/initramfs.cpio.gz" \
        -append "console=ttyS0 quiet panic=-1 vmtest.timeout=$TEST_TIMEOUT" \
        </dev/null >"$logf" 2>&1 &
    QEMU_PID=$!
    # Firmware writes terminal escapes (screen clears); keep them off our stdout.
    tail -n +1 -f --pid="$QEMU_PID" "$logf" | tr -d '\r' | sed -u 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' &
    tail_pid=$!
    set +e
    wait "$QEMU_PID"
    rc=$?
    set -e
    QEMU_PID=""
    wait "$tail_pid" 2>/dev/null || true
    CONSOLE_LOG=$logf
    QEMU_RC=$rc
}

# ---------------------------------------------------------------- main
START=$(date +%s)
ensure_host_tools
fetch_kernel
fetch_apparmor
build_initramfs
boot
ELAPSED=$(( $(date +%s) - START ))

RESULTS=$(tr -d '\r' <"$CONSOLE_LOG" | grep -o 'VMTEST-RESULT [^ ]* \(PASS\|FAIL\) [0-9]* [0-9]*s' || true)
SUMMARY=$(tr -d '\r' <"$CONSOLE_LOG" | grep -o 'VMTEST-SUMMARY passed=[0-9]* failed=[0-9]*' | tail -n1 || true)
echo "---- vm-test results (${ELAPSED}s) ----"
[ -n "$RESULTS" ] && printf '%s\n' "$RESULTS" | awk '{ printf "%-4s %s (rc=%s, %s)\n", $3, $2, $4, $5 }'
[ -z "$TMP_OWNED" ] && echo "console log: $CONSOLE_LOG"

if [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then
    die "the VM did not finish within ${TIMEOUT}s; qemu was killed (raise --timeout?)"
fi
[ -n "$SUMMARY" ] || die "no VMTEST-SUMMARY line on the console (qemu exit status $QEMU_RC): the guest crashed or never ran the tests"
PASSED=$(sed 's/.*passed=\([0-9]*\).*/\1/' <<<"$SUMMARY")
FAILED=$(sed 's/.*failed=\([0-9]*\).*/\1/' <<<"$SUMMARY")
echo "passed=$PASSED failed=$FAILED"
[ "$FAILED" = 0 ] || exit 1
[ "$PASSED" -gt 0 ] || { log "no test ran: are the /tests/*.sh files executable?"; exit 1; }
exit 0
