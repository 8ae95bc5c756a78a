# Common helpers for the vendor tests: results, cleanup, install, image, observation set.
# Sourced by run.sh; needs: VT_TMP (private temp dir), VT_RUN_ID (unique name), VT_RUNTIME.

# Every engine command runs under `timeout`, so a runtime that hangs fails a scenario instead of
# hanging the run.
VT_CMD_TIMEOUT=${VT_CMD_TIMEOUT:-30}
VT_PASSED=0
VT_FAILED=0
VT_SKIPPED=0

pass() { echo "PASS $1"; VT_PASSED=$((VT_PASSED + 1)); }
fail() { echo "FAIL $1: $2"; VT_FAILED=$((VT_FAILED + 1)); }
skip() { echo "SKIP $1: $2"; VT_SKIPPED=$((VT_SKIPPED + 1)); }
log()  { [ -n "${VT_VERBOSE:-}" ] && echo "  .. $*" >&2; return 0; }
die()  { echo "vendor-tests: $*" >&2; exit 2; }

# check NAME COMMAND...: PASS if the command succeeds, else FAIL with its last output line.
# Scenario functions print their own reason with fail(); check is for one-liners.
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -n 1)"; fi
}

# expect_eq NAME WANT GOT [context]
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'${4:+ ($4)}"; fi
}

# wait_for SECONDS COMMAND...: poll every 0.2 s until the command succeeds.
wait_for() {
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

# ---------------------------------------------------------------- cleanup stack
# Functions registered here run in reverse order at exit (trap EXIT in run.sh), also on failure.
VT_CLEANUPS=()
on_exit() { VT_CLEANUPS+=("$*"); }
run_cleanups() {
    local i
    for (( i=${#VT_CLEANUPS[@]}-1; i>=0; i-- )); do
        eval "${VT_CLEANUPS[$i]}" || true
    done
    VT_CLEANUPS=()
}

# stop_pid PID [GRACE]: SIGTERM, wait up to GRACE seconds (default 10), then SIGKILL.
stop_pid() {
    local pid=$1 grace=${2:-10} i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for (( i=0; i<grace*5; i++ )); do
        kill -0 "$pid" 2>/dev/null || return 0
        # a zombie child of ours counts as gone once reaped by wait
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# pids_mentioning DIR: processes whose command line names our private dir
# (shims get -address DIR/..., conmon gets -b DIR/..., dockerd's containerd gets --config DIR/...).
# This is how we find what we started, without matching on a program name.
pids_mentioning() {
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = "$$" ] && continue
        tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -qF -- "$1" && echo "$p"
    done
    return 0
}
kill_pids_mentioning() {
    local p
    for p in $(pids_mentioning "$1"); do
        log "killing leftover pid $p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | cut -c1-100)"
        stop_pid "$p" 3
    done
}

# kill_runtime_under DIR: runtime processes (exe = the runtime under test) working on DIR, e.g. a
# `create` that hangs; done first at teardown so that the engines' own cleanup calls can return.
kill_runtime_under() {
    local p
    for p in $(pids_mentioning "$1"); do
        [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$VT_RUNTIME" ] || continue
        log "killing runtime process $p: $(tr '\0' ' ' 2>/dev/null < /proc/$p/cmdline | cut -c1-100)"
        kill -KILL "$p" 2>/dev/null
    done
}

# hung NAME RC: after the first scenario, stop this engine's scenarios if the runtime hung
# (every further command would only wait for its timeout too).
hung() {
    [ "$2" -eq 124 ] || [ "$2" -eq 137 ] || return 1
    fail "$1/rest" "the first container timed out after ${VT_CMD_TIMEOUT}s; other scenarios not run"
    return 0
}

# mounts_under DIR: mount points at or below DIR, deepest first (from /proc/self/mountinfo).
mounts_under() {
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
unmount_under() {
    local m tries
    for tries in 1 2 3; do
        [ -z "$(mounts_under "$1")" ] && return 0
        for m in $(mounts_under "$1"); do
            umount -n "$m" 2>/dev/null || umount -n -l "$m" 2>/dev/null || true
        done
    done
    [ -z "$(mounts_under "$1")" ] || echo "vendor-tests: mounts left under $1: $(mounts_under "$1" | tr '\n' ' ')" >&2
}

# remove_test_cgroups NAME: remove cgroup dirs named NAME* at the top of every v1 hierarchy
# (and the cgroup2 mount), killing what is still inside them. NAME is unique to this run
# (VT_RUN_ID), so nothing else can match.
remove_test_cgroups() {
    local prefix=$1 h top d p
    for h in /sys/fs/cgroup/*/; do
        for top in "$h$prefix"*; do
            [ -d "$top" ] || continue
            for p in $(cat $(find "$top" -name cgroup.procs) 2>/dev/null); do
                log "killing pid $p left in $top"; kill -KILL "$p" 2>/dev/null
            done
            # thaw a frozen cgroup so its tasks can die
            find "$top" -name freezer.state -exec sh -c 'echo THAWED > "$1"' _ {} \; 2>/dev/null
            for d in $(find "$top" -depth -type d); do
                rmdir "$d" 2>/dev/null || { sleep 0.3; rmdir "$d" 2>/dev/null; } ||
                    echo "vendor-tests: cannot remove cgroup $d" >&2
            done
        done
    done
}

# ---------------------------------------------------------------- private mount namespace
# Some engine paths are fixed in the engine's code, with no setting to move them: dockerd 20.10
# makes its plugin directory /run/docker/plugins whatever --exec-root says, and podman 4.3 as root
# opens containers/image's blob-info cache in /var/lib/containers/cache on every image copy
# (import, load), whatever --root says. Such an engine runs in a mount namespace of this run's
# own, in which each of those parent directories is an overlay whose upper layer is in our temp
# dir: the engine reads the host's files and everything it writes lands in $1/upper. The host's
# mount table never sees the overlays nor the mounts the engine makes in there; they go away
# with the namespace, when its last process (the holder, stopped at teardown by pid) exits.
#
# private_ns_start DIR MOUNTPOINT...: starts the holder and sets VT_NS_PID to its pid; a command
# enters the namespace with `nsenter --mount=/proc/$VT_NS_PID/ns/mnt -- COMMAND...`.
# With VT_NS_NET=1 the holder also gets a network namespace of its own (only lo, brought up), for
# an engine whose CNI plugins make interfaces (a bridge) in the network namespace it runs in:
# they go away with it (enter with --net=/proc/$VT_NS_PID/ns/net too).
private_ns_start() {
    local dir=$1 m script="" i=0 net=(); shift
    if [ -n "${VT_NS_NET:-}" ]; then net=(--net); script="ip link set lo up || exit 1;"; fi
    for m in "$@"; do
        i=$((i + 1))
        mkdir -p "$dir/upper/$i" "$dir/work/$i" || return 1
        # -n: no entry in /run/mount/utab (which is the host's until /run is an overlay)
        script="$script mount -n -t overlay vt-overlay -o lowerdir=$m,upperdir=$dir/upper/$i,workdir=$dir/work/$i $m || exit 1;"
    done
    # The holder: unshare's own namespace is private (no mount propagates to or from the host).
    # It signals readiness by creating $dir/ready after the overlays are in place.
    unshare --mount "${net[@]}" --propagation private sh -c "$script touch $dir/ready; exec sleep 1000000" \
        >"$dir/holder.log" 2>&1 &
    VT_NS_PID=$!
    wait_for 10 test -e "$dir/ready" || { cat "$dir/holder.log" >&2; stop_pid "$VT_NS_PID" 0; return 1; }
}

# ---------------------------------------------------------------- install
# ensure_packages PKG...: apt-get install the missing ones, quietly; never start services
# (Debian's /usr/sbin/policy-rc.d and the absence of systemd stop them, but we verify).
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "vendor-tests: installing ${missing[*]}" >&2
    local before; before=$(daemon_pids)
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
            >"$VT_TMP/apt.log" 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$VT_TMP/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
            >>"$VT_TMP/apt.log" 2>&1 || { tail -n 20 "$VT_TMP/apt.log" >&2; die "apt-get install failed"; }
    fi
    # If a package's postinst started a daemon anyway, stop it by its pid file.
    local after pf; after=$(daemon_pids)
    if [ "$after" != "$before" ]; then
        for pf in /var/run/docker.pid /run/docker.pid /run/containerd/containerd.pid; do
            [ -s "$pf" ] && { echo "vendor-tests: install started $(cat "$pf") ($pf); stopping it" >&2; stop_pid "$(cat "$pf")"; }
        done
    fi
}
# daemon_pids: pids of the engines' daemons, for comparing before/after an install (read-only).
daemon_pids() {
    local p exe
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        case "$exe" in */dockerd|*/containerd) echo "${p#/proc/}";; esac
    done
}

# ---------------------------------------------------------------- image
# build_image DIR: a busybox-static rootfs, and from it
#   DIR/rootfs.tar  — for `podman import`
#   DIR/image.tar   — one tarball that is both an OCI image layout (index.json, for `ctr images import`)
#                     and a docker-archive (manifest.json, for `docker load`), sharing the same blobs.
VT_IMAGE_REF=docker.io/library/vtbusybox:latest
build_image() {
    local dir=$1 root=$1/rootfs lay=$1/layout a
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,run,var} "$lay/blobs/sha256"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for a in $(/bin/busybox --list-full); do
        [ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
    # Reproducible layer: fixed owner and mtime, sorted names.
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00Z' \
        -C "$root" -cf "$dir/rootfs.tar" .

    local layer_sha layer_size cfg cfg_sha man man_sha
    layer_sha=$(sha256sum "$dir/rootfs.tar" | cut -d' ' -f1)
    layer_size=$(stat -c %s "$dir/rootfs.tar")
    cp "$dir/rootfs.tar" "$lay/blobs/sha256/$layer_sha"
    cfg=$(printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"vendor-tests"}]}' "$layer_sha")
    printf '%s' "$cfg" > "$lay/cfg"
    cfg_sha=$(sha256sum "$lay/cfg" | cut -d' ' -f1)
    mv "$lay/cfg" "$lay/blobs/sha256/$cfg_sha"
    man=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
        "$cfg_sha" "${#cfg}" "$layer_sha" "$layer_size")
    printf '%s' "$man" > "$lay/man"
    man_sha=$(sha256sum "$lay/man" | cut -d' ' -f1)
    mv "$lay/man" "$lay/blobs/sha256/$man_sha"
    printf '{"imageLayoutVersion":"1.0.0"}' > "$lay/oci-layout"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
        "$man_sha" "${#man}" "$VT_IMAGE_REF" > "$lay/index.json"
    printf '[{"Config":"blobs/sha256/%s","RepoTags":["%s"],"Layers":["blobs/sha256/%s"]}]' \
        "$cfg_sha" "${VT_IMAGE_REF#docker.io/library/}" "$layer_sha" > "$lay/manifest.json"
    tar -C "$lay" -cf "$dir/image.tar" oci-layout index.json manifest.json blobs
    rm -rf "$lay"
}

# ---------------------------------------------------------------- observation set
# Printed from inside a container; stable across runs of one runtime, so runc and rampart
# can be compared line by line (diff.sh). Mount sources are left out on purpose (they hold ids).
VT_OBSERVE_SCRIPT='
grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status
echo "id: $(id)"
echo "hostname: $(hostname)"
echo "nofile: $(ulimit -n)"
echo "cwd: $(pwd)"
awk "{ for (i = 7; i <= NF; i++) if (\$i == \"-\") { print \"mount: \" \$5 \" \" \$(i+1) \" \" \$6; break } }" /proc/self/mountinfo
echo "memory.limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max 2>/dev/null || echo none)"
'
# The long-running process of the lifecycle scenarios: exits 0 on SIGTERM, 42 on SIGUSR1.
VT_LOOP_SCRIPT='trap "exit 0" TERM; trap "exit 42" USR1; while :; do sleep 0.2; done'

# observe_check NAME FILE [MEMORY]: PASS if the observation output looks complete and the
# container sees its own memory limit (every engine runs the observation with 64 MiB): a runtime
# that mounts the host's cgroup root instead of the container's cgroup would show the host's limit.
# MEMORY "" skips the limit: rootless podman on this v1 host has no cgroup to set one in.
VT_OBSERVE_MEMORY=67108864
observe_check() {
    local name=$1 f=$2 want=${3-$VT_OBSERVE_MEMORY} absent="" k
    for k in CapEff: NoNewPrivs: Seccomp: "id:" "hostname:" "mount: / " "memory.limit:"; do
        grep -q "^$k" "$f" || absent="$absent '$k'"
    done
    if [ -n "$absent" ]; then fail "$name" "missing$absent in $f"
    elif [ -n "$want" ] && ! grep -qx "memory.limit: $want" "$f"; then
        fail "$name" "container sees $(grep '^memory.limit:' "$f"), want $want"
    else pass "$name"; fi
}

# error_check NAME OUTPUT: the runtime's own words must reach the engine's user.
VT_ERROR_WORDS='executable file not found|no such file or directory'
error_check() {
    if echo "$2" | grep -qiE "$VT_ERROR_WORDS"; then pass "$1"
    else fail "$1" "runtime's message not shown to the user: $(echo "$2" | tail -n 1)"; fi
}

# is_rampart: the runtime under test is rampart (runc and the others have no --policy and no
# run.rampart.policy annotation, so the policy scenarios are skipped for them).
is_rampart() { "$VT_RUNTIME" --version 2>/dev/null | head -n 1 | grep -q '^rampart version'; }

# policy_check NAME OUTPUT RC: a privileged container under --policy restricted (or the
# annotation) is refused, and the engine's user sees rampart's one-line list of violations:
# CAP_SYS_ADMIN (RA110) and no seccomp filter (RA120) among them.
policy_check() {
    local name=$1 out=$2 rc=$3
    if [ "$rc" -eq 0 ]; then fail "$name" "a privileged container ran under policy restricted"
    elif echo "$out" | grep -q 'policy restricted' && echo "$out" | grep -q 'RA110 high at /process/capabilities/.*CAP_SYS_ADMIN' &&
         echo "$out" | grep -q 'RA120 high at /linux/seccomp'; then pass "$name"
    else fail "$name" "the policy's violations did not reach the user: $(echo "$out" | tail -n 1)"; fi
}
