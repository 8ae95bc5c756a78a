# Podman 4.3 + conmon: no daemon; every command gets private --root/--runroot, the cgroupfs
# manager and the file events backend, and reads our own containers.conf (with the README's
# recipe naming the runtime: recipes/podman-containers.conf) and
# storage.conf (CONTAINERS_CONF / CONTAINERS_STORAGE_CONF), never the host's; the CNI network
# backend (netavark, when installed, would be picked and makes /run/containers/networks, fixed in
# podman 4.3 for root; with --network none no CNI plugin runs either).
# Fixed host path: the SHM lock file /dev/shm/libpod_lock (run.sh removes it if it created it).

podman_packages() { echo podman conmon; }

min_limit() { if [ "$1" = unlimited ] || [ "$1" -gt "$2" ]; then echo "$2"; else echo "$1"; fi; }

podman_setup() {
    P=$VT_TMP/podman
    mkdir -p "$P/root" "$P/runroot" "$P/tmp" "$P/net" "$P/volumes"
    # default_ulimits: rootful podman raises nofile/nproc to 1048576 by default, which fails here
    # (no CAP_SYS_RESOURCE in the bounding set). The runtime can only lower limits, so stay at or
    # below podman's own hard limits: nofile = ours, nproc = ours but podman caps it at pid_max.
    local nofile nproc
    nofile=$(min_limit "$(ulimit -Hn)" 65536)
    nproc=$(min_limit "$(ulimit -Hu)" "$(cat /proc/sys/kernel/pid_max)")
    cat > "$P/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
netns = "none"
[network]
network_backend = "cni"
network_config_dir = "$P/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
tmp_dir = "$P/tmp"
volume_path = "$P/volumes"
static_dir = "$P/root/libpod"
EOF
    # The README's recipe (recipes/podman-containers.conf) with the path of the runtime under
    # test; its [engine] line is dropped, the section is open already (TOML allows one).
    sed -e '/^\[engine\]$/d' -e "s|/usr/local/bin/rampart|$VT_RUNTIME|" \
        "$HERE/recipes/podman-containers.conf" >> "$P/containers.conf"
    cat > "$P/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$P/root"
runroot = "$P/runroot"
EOF
    # containers/image opens its blob-info cache in /var/lib/containers/cache on every image copy
    # (our import) when run as root, and podman 4.3 has no setting for it: podman runs in a
    # mount namespace of its own where /var/lib is an overlay (lib/common.sh, private_ns_start),
    # so the cache lands in $P/ns/upper.
    private_ns_start "$P/ns" /var/lib || return 1
    PODMAN_NS_PID=$VT_NS_PID
    on_exit podman_ns_teardown
    on_exit podman_teardown
    CLI_CMD=(timeout -k 5 "$VT_CMD_TIMEOUT" nsenter --mount="/proc/$PODMAN_NS_PID/ns/mnt" -- env CONTAINERS_CONF="$P/containers.conf" CONTAINERS_STORAGE_CONF="$P/storage.conf"
             CONTAINERS_REGISTRIES_CONF=/dev/null
             podman --root "$P/root" --runroot "$P/runroot" --tmpdir "$P/tmp"
             --cgroup-manager cgroupfs --events-backend file)
    "${CLI_CMD[@]}" import -q "$VT_TMP/image/rootfs.tar" localhost/vtbusybox:latest >/dev/null || return 1
    PODMAN_READY=1
    E=podman
    IMG=localhost/vtbusybox:latest
    READONLY_WANT='tmpfs-writable|root:x:0:0:root:/root:/bin/sh|'
    # cgroups: /<run id>-podman/libpod-<id> and /<run id>-podman/conmon (teardown removes them)
    RUN_OPTS=(--network none --cgroup-parent "/$VT_RUN_ID-podman")
}

# podman gives the runtime no --root: the runtime's default state dir holds the container.
podman_state_gone() {
    [ -n "$1" ] && ! "$VT_RUNTIME" state "$1" >/dev/null 2>&1
}

podman_scenarios() {
    dl_scenarios
    [ -n "${VT_OBSERVE_ONLY:-}" ] && return
    # policy: conmon passes the runtime no global flags, so the annotation asks for the level;
    # podman shows the runtime's stderr to its user
    if is_rampart; then
        local out rc
        out=$(cli run --rm --name vt-policy "${RUN_OPTS[@]}" --privileged --annotation run.rampart.policy=restricted "$IMG" true 2>&1); rc=$?
        policy_check podman/policy-refused "$out" "$rc"
        echo "$out" > "$VT_OUT/podman-policy-message.txt"
        cli rm -f vt-policy >/dev/null 2>&1
    else
        skip podman/policy-refused "$(basename "$VT_RUNTIME") has no run.rampart.policy"
    fi
}

podman_teardown() {
    [ -n "${PODMAN_READY:-}" ] || return 0
    kill_runtime_under "$P/"
    "${CLI_CMD[@]}" rm -a -f -t 0 >/dev/null 2>&1
    kill_pids_mentioning "$P/"          # conmon processes: they get -b $P/... and -p $P/...
    # storage's overlay mounts and the bind mount podman makes of its own graph root are in
    # podman's namespace (they go with it); this is for anything that reached the host's
    unmount_under "$P"
    PODMAN_READY=
}
# After podman_teardown (registered first, so run last): the namespace dies with its holder.
podman_ns_teardown() {
    [ -n "${PODMAN_NS_PID:-}" ] || return 0
    stop_pid "$PODMAN_NS_PID" 0
    PODMAN_NS_PID=
}
