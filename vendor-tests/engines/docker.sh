# Docker (Debian's docker.io 20.10): dockerd with private data/exec roots and socket; it starts
# its own containerd (under the exec root) and that containerd's runc v2 shim runs the runtime
# registered in daemon.json (the README's recipe). dockerd and all it starts run in a mount namespace of
# their own where /run is an overlay (lib/common.sh, private_ns_start); the CLI stays on the host.

docker_packages() { echo docker.io containerd; }

docker_setup() {
    D=$VT_TMP/docker
    mkdir -p "$D/data" "$D/exec" "$D/cli"
    # Our own daemon.json, so /etc/docker/daemon.json is not read: the README's recipe
    # (recipes/docker-daemon.json, the runtime "rampart" with the path of the runtime under test),
    # plus a key path that keeps dockerd 20.10 from writing /etc/docker/key.json, plus the runtime
    # "vt-policy": the one under test with runtimeArgs --policy restricted, as an operator would
    # register it (dockerd wraps path and args in a script of its own), and "vt-baseline" with
    # --policy baseline.
    sed "s|/usr/local/bin/rampart|$VT_RUNTIME|" "$HERE/recipes/docker-daemon.json" |
        /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin); d["deprecated-key-path"] = sys.argv[1]; d["runtimes"]["vt-policy"] = {"path": sys.argv[2], "runtimeArgs": ["--policy", "restricted"]}; d["runtimes"]["vt-baseline"] = {"path": sys.argv[2], "runtimeArgs": ["--policy", "baseline"]}; json.dump(d, sys.stdout, indent=2)' \
        "$D/key.json" "$VT_RUNTIME" > "$D/daemon.json" || return 1
    # dockerd 20.10 makes /run/docker/plugins (its plugins' exec root, fixed in its code) and its
    # containerd's shims /run/containerd/s: both land in $D/ns/upper, /run being an overlay in
    # dockerd's own mount namespace (private_ns_start).
    private_ns_start "$D/ns" /run || return 1
    DOCKER_NS_PID=$VT_NS_PID
    on_exit docker_ns_teardown
    # --cgroup-parent: container cgroups go under /<run id>-docker in every hierarchy,
    # which teardown can find and remove.
    nsenter --mount="/proc/$DOCKER_NS_PID/ns/mnt" -- dockerd --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
        --pidfile "$D/docker.pid" -H "unix://$D/docker.sock" \
        --iptables=false --ip-forward=false --ip-masq=false --bridge=none --userland-proxy=false \
        --cgroup-parent "/$VT_RUN_ID-docker" \
        >"$D/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    on_exit docker_teardown
    # /usr/bin/docker, not whatever else is first on PATH (a newer CLI may be in /usr/local/bin).
    CLI_CMD=(timeout -k 5 "$VT_CMD_TIMEOUT" env DOCKER_CONFIG="$D/cli" /usr/bin/docker -H "unix://$D/docker.sock")
    wait_for 60 "${CLI_CMD[@]}" version || { tail -n 20 "$D/dockerd.log" >&2; return 1; }
    "${CLI_CMD[@]}" load -i "$VT_TMP/image/image.tar" >/dev/null || return 1
    E=docker
    IMG=vtbusybox:latest
    READONLY_WANT='tmpfs-writable|etc-empty|'
    RUN_OPTS=(--runtime rampart --network none)
}

# dockerd 20.10 gives every runtime (ours too) --root <exec-root>/runtime-runc/moby.
docker_state_gone() { [ -n "$1" ] && ! ls -d "$D"/exec/runtime-*/moby/"$1" >/dev/null 2>&1; }

docker_scenarios() {
    dl_scenarios
    [ -n "${VT_OBSERVE_ONLY:-}" ] && return
    # policy: a privileged container on the runtime registered with --policy restricted is
    # refused, and the docker user reads rampart's list of violations
    if is_rampart; then
        local out rc
        out=$(cli run --rm --name vt-policy --runtime vt-policy --network none --privileged "$IMG" true 2>&1); rc=$?
        policy_check docker/policy-refused "$out" "$rc"
        echo "$out" > "$VT_OUT/docker-policy-message.txt"
        cli rm -f vt-policy >/dev/null 2>&1
        # What dockerd 20.10's own default container meets under baseline: NET_RAW (Docker's
        # default, not in PSS baseline's list) and a masked-path set without /proc/interrupts and
        # /sys/devices/virtual/powercap (newer Docker masks both); nothing else. Restricted also
        # names its prestart hook (libnetwork-setkey, on every container up to Docker 27: RA190).
        out=$(cli run --rm --name vt-baseline --runtime vt-baseline --network none "$IMG" true 2>&1); rc=$?
        if [ "$rc" -ne 0 ] && echo "$out" | grep -q 'policy baseline (--policy) refuses this container, 2 violations: RA111 medium at /process/capabilities/bounding/[0-9]*: CAP_NET_RAW' &&
            echo "$out" | grep -q 'RA143 medium at /linux/maskedPaths: not masked: /proc/interrupts, /sys/devices/virtual/powercap'; then
            pass docker/policy-baseline-names-docker-defaults
        else fail docker/policy-baseline-names-docker-defaults "exit $rc: $(echo "$out" | tail -n 2)"; fi
        cli rm -f vt-baseline >/dev/null 2>&1
        out=$(cli run --rm --name vt-restricted-hook --runtime vt-policy --network none "$IMG" true 2>&1); rc=$?
        if [ "$rc" -ne 0 ] && echo "$out" | grep -q 'RA190'; then pass docker/policy-restricted-names-the-hook
        else fail docker/policy-restricted-names-the-hook "exit $rc: $(echo "$out" | tail -n 2)"; fi
        cli rm -f vt-restricted-hook >/dev/null 2>&1
    else
        skip docker/policy-refused "$(basename "$VT_RUNTIME") has no --policy"
    fi
}

docker_teardown() {
    [ -n "${DOCKERD_PID:-}" ] || return 0
    local ids
    kill_runtime_under "$D/"
    ids=$("${CLI_CMD[@]}" ps -aq 2>/dev/null)
    [ -n "$ids" ] && "${CLI_CMD[@]}" rm -f $ids >/dev/null 2>&1
    # dockerd writes its pid file; prefer it, fall back to the pid we started.
    stop_pid "$(cat "$D/docker.pid" 2>/dev/null || echo "$DOCKERD_PID")" 20
    stop_pid "$DOCKERD_PID" 5
    kill_pids_mentioning "$D/"           # containerd and shims started for dockerd
    unmount_under "$D"
    DOCKERD_PID=
}
# After docker_teardown (registered first, so run last): the namespace dies with its holder.
docker_ns_teardown() {
    [ -n "${DOCKER_NS_PID:-}" ] || return 0
    stop_pid "$DOCKER_NS_PID" 0
    DOCKER_NS_PID=
}
