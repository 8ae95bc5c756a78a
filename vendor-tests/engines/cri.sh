# containerd 1.6's CRI plugin, driven over gRPC as the kubelet drives it (Kubernetes'
# RuntimeClass path), with our own CRI client (cri/cri_client.py: Debian 12 has no crictl).
#
# - containerd runs with the CRI plugin enabled, root/state/sockets/config in $VT_TMP/cri, and
#   two runtime handlers: "runc" (the default, /usr/sbin/runc) and the one of
#   recipes/containerd-cri.toml (the README's recipe, with BinaryName set to the runtime under
#   test and Root to a folder of ours). The handler name a pod asks for is read from
#   recipes/runtimeclass.yaml, as the kubelet reads it from the pod's RuntimeClass.
# - Pod networking: a bridge CNI config (containernetworking-plugins, host-local IPAM with its
#   data dir in our folder). containerd and everything it starts (shims, CNI plugins, the pods'
#   netns mounts under /run/netns, CNI's cache in /var/lib/cni) run in a mount and network
#   namespace of this run's own (private_ns_start with VT_NS_NET): the bridge, the veths, the
#   netns mounts and the fixed shim socket dir /run/containerd/s never reach the host, and they go
#   away with the namespace's holder at teardown.
# - The sandbox image is a static pause (cri/pause.c) built here; the app image is the busybox one.

cri_packages() { echo containerd containernetworking-plugins python3-venv gcc libc6-dev iproute2; }

VT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CRI_DIR=$VT_REPO/vendor-tests/cri
RECIPES=$VT_REPO/vendor-tests/recipes
# Pinned so reruns reuse the venv (build/cri-venv, kept between runs).
CRI_PIP=(grpcio==1.85.3 grpcio-tools==1.85.1 protobuf==7.36.2 PyYAML==6.0.3)
VT_PAUSE_REF=docker.io/library/vtpause:1

# cri_venv: a Python venv with grpcio and the code generated from cri.proto, made once and kept
# in build/: the venv is remade when the pins change, the code when the proto does.
# Sets CRI_PY and CRI_GEN_DIR.
cri_venv() {
    local v=$VT_REPO/build/cri-venv pins
    pins=$(printf '%s\n' "${CRI_PIP[@]}")
    CRI_PY=$v/bin/python3
    export CRI_GEN_DIR=$v/gen-$(sha256sum < "$CRI_DIR/cri.proto" | cut -c1-16)
    [ -e "$CRI_GEN_DIR/cri_pb2_grpc.py" ] && return 0
    if [ "$(cat "$v/pins" 2>/dev/null)" != "$pins" ]; then
        rm -rf "$v"
        /usr/bin/python3 -m venv "$v" || return 1
        "$v/bin/pip" install -q --disable-pip-version-check "${CRI_PIP[@]}" >"$VT_TMP/pip.log" 2>&1 ||
            { tail -n 20 "$VT_TMP/pip.log" >&2; return 1; }
        echo "$pins" > "$v/pins"
    fi
    mkdir -p "$CRI_GEN_DIR"
    "$CRI_PY" -m grpc_tools.protoc -I "$CRI_DIR" --python_out="$CRI_GEN_DIR" \
        --grpc_python_out="$CRI_GEN_DIR" "$CRI_DIR/cri.proto" || { rm -rf "$CRI_GEN_DIR"; return 1; }
}

# cri_pause_image DIR: DIR/pause.tar, an OCI image layout holding only the static pause.
cri_pause_image() {
    local dir=$1 root=$1/pause-rootfs lay=$1/pause-layout layer_sha cfg cfg_sha man man_sha
    mkdir -p "$root" "$lay/blobs/sha256"
    gcc -static -Os -o "$root/pause" "$CRI_DIR/pause.c" || return 1
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00Z' \
        -C "$root" -cf "$dir/pause-layer.tar" . || return 1
    layer_sha=$(sha256sum "$dir/pause-layer.tar" | cut -d' ' -f1)
    mv "$dir/pause-layer.tar" "$lay/blobs/sha256/$layer_sha"
    cfg=$(printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer_sha")
    printf '%s' "$cfg" > "$lay/cfg"; cfg_sha=$(sha256sum "$lay/cfg" | cut -d' ' -f1)
    mv "$lay/cfg" "$lay/blobs/sha256/$cfg_sha"
    man=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
        "$cfg_sha" "${#cfg}" "$layer_sha" "$(stat -c %s "$lay/blobs/sha256/$layer_sha")")
    printf '%s' "$man" > "$lay/man"; man_sha=$(sha256sum "$lay/man" | cut -d' ' -f1)
    mv "$lay/man" "$lay/blobs/sha256/$man_sha"
    printf '{"imageLayoutVersion":"1.0.0"}' > "$lay/oci-layout"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
        "$man_sha" "${#man}" "$VT_PAUSE_REF" > "$lay/index.json"
    tar -C "$lay" -cf "$dir/pause.tar" oci-layout index.json blobs
}

# The recipe, with its two paths replaced by the runtime under test and a state root of ours.
cri_recipe() {
    sed -e "s|/usr/local/bin/rampart|$VT_RUNTIME|" -e "s|/run/containerd/rampart|$K/handler-root|" \
        "$RECIPES/containerd-cri.toml"
}

cri_setup() {
    K=$VT_TMP/cri
    mkdir -p "$K/root" "$K/state" "$K/opt" "$K/handler-root" "$K/runc-root" "$K/net.d" \
        "$K/ipam" "$K/logs" "$K/json"
    cri_venv || { echo "cri: cannot make the Python venv for the CRI client" >&2; return 1; }
    CRI=(timeout -k 5 "$VT_CMD_TIMEOUT" "$CRI_PY" "$CRI_DIR/cri_client.py" --socket "$K/containerd.sock")
    HANDLER=$("$CRI_PY" "$CRI_DIR/cri_client.py" runtimeclass-handler "$RECIPES/runtimeclass.yaml") ||
        return 1
    cri_pause_image "$K" || return 1
    cat > "$K/net.d/10-vt.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "vt-pods",
  "plugins": [
    { "type": "bridge", "bridge": "vtbr0", "isGateway": true, "ipMasq": false,
      "ipam": { "type": "host-local", "dataDir": "$K/ipam",
                "ranges": [[{ "subnet": "10.250.0.0/24" }]] } },
    { "type": "loopback" }
  ]
}
EOF
    { cat <<EOF
version = 2
root = "$K/root"
state = "$K/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$K/containerd.sock"
[ttrpc]
  address = "$K/containerd.sock.ttrpc"
[debug]
  address = "$K/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$K/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$VT_PAUSE_REF"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # no CAP_SYS_RESOURCE on this host: keep oom_score_adj at or above containerd's own
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      BinaryName = "/usr/sbin/runc"
      Root = "$K/runc-root"
EOF
      cri_recipe; } > "$K/config.toml"

    # /run: the netns mounts, the shim sockets; /var/lib: CNI's cache (/var/lib/cni).
    VT_NS_NET=1 private_ns_start "$K/ns" /run /var/lib || return 1
    CRI_NS_PID=$VT_NS_PID
    on_exit cri_teardown
    nsenter --mount="/proc/$CRI_NS_PID/ns/mnt" --net="/proc/$CRI_NS_PID/ns/net" -- \
        containerd --config "$K/config.toml" >"$K/containerd.log" 2>&1 &
    CRI_CONTAINERD_PID=$!
    CTR_K=(timeout -k 5 "$VT_CMD_TIMEOUT" ctr --address "$K/containerd.sock" --namespace k8s.io)
    wait_for 30 "${CRI[@]}" version || { tail -n 20 "$K/containerd.log" >&2; return 1; }
    "${CTR_K[@]}" images import "$K/pause.tar" >/dev/null || return 1
    "${CTR_K[@]}" images import "$VT_TMP/image/image.tar" >/dev/null || return 1
    # the CRI plugin learns of imported images from containerd's events
    wait_for 10 "${CRI[@]}" imagestatus "$VT_PAUSE_REF" &&
        wait_for 10 "${CRI[@]}" imagestatus "$VT_IMAGE_REF" ||
        { echo "cri: imported images not seen by the CRI plugin" >&2; return 1; }
}

# pod_json NAME NETWORK(POD|NODE): a PodSandboxConfig as the kubelet writes it (cgroup parent
# under this run's name, so teardown finds it); the file's path is printed.
pod_json() {
    local f=$K/json/pod-$1.json host=$1
    [ "$2" = NODE ] && host=          # the kubelet sends no hostname for a host-network pod
    cat > "$f" <<EOF
{ "metadata": { "name": "$1", "uid": "$VT_RUN_ID-$1", "namespace": "vt", "attempt": 0 },
  "hostname": "$host", "log_directory": "$K/logs/$1",
  "linux": { "cgroup_parent": "/$VT_RUN_ID-cri/$1",
             "security_context": { "namespace_options": { "network": "$2", "pid": "CONTAINER" } } } }
EOF
    mkdir -p "$K/logs/$1"
    echo "$f"
}
# ctr_json POD NAME SECURITY_CONTEXT_JSON CMD...: a ContainerConfig of the busybox image
# (with CTR_RESOURCES, a LinuxContainerResources JSON, if set).
ctr_json() {
    local f=$K/json/ctr-$1-$2.json sc=$3 res=${CTR_RESOURCES:-'{}'} args; shift 3
    args=$("$CRI_PY" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")
    cat > "$f" <<EOF
{ "metadata": { "name": "$(basename "$f" .json)", "attempt": 0 },
  "image": { "image": "$VT_IMAGE_REF" }, "command": $args, "log_path": "$(basename "$f" .json).log",
  "linux": { "security_context": $sc, "resources": $res } }
EOF
    echo "$f"
}
# in_state_root ROOT RUNTIME ID: RUNTIME lists ID in the state root ROOT/k8s.io (the shim passes
# --root Root/<containerd namespace>; the CRI plugin's namespace is k8s.io).
in_state_root() { "$2" --root "$1/k8s.io" list 2>/dev/null | awk 'NR > 1 { print $1 }' | grep -qx "$3"; }
ctr_state() { "${CRI[@]}" state "$1" 2>/dev/null; }
ctr_state_is() { [ "$(ctr_state "$1" | cut -d' ' -f1)" = "$2" ]; }

# The kubelet's container-in-a-pod sequence, for one pod of handler $1 (name $2, network $3).
# Sets POD; adds a long-running app container APP and checks what a pod of this handler must show.
cri_pod() {
    local h=$1 name=$2 net=$3 pj out rc
    pj=$(pod_json "$name" "$net")
    CRI_RUNP_RC=0
    if ! POD=$("${CRI[@]}" runp "$pj" "$h" 2>&1); then
        CRI_RUNP_RC=$?
        fail "cri/$name/run-pod-sandbox" "$POD"; POD=; return 1
    fi
    pass "cri/$name/run-pod-sandbox"
    APP=$("${CRI[@]}" create "$POD" "$(ctr_json "$name" app '{}' sh -c "echo app-started; $VT_LOOP_SCRIPT")" "$pj" 2>&1) ||
        { fail "cri/$name/create-container" "$APP"; APP=; return 1; }
    out=$("${CRI[@]}" start "$APP" 2>&1) || { fail "cri/$name/start-container" "$out"; return 1; }
    if wait_for 10 ctr_state_is "$APP" CONTAINER_RUNNING &&
       wait_for 10 grep -q app-started "$K/logs/$name/ctr-$name-app.log"; then
        pass "cri/$name/create-start-container"
    else fail "cri/$name/create-start-container" "state '$(ctr_state "$APP")', log: $(tail -c 200 "$K/logs/$name/ctr-$name-app.log" 2>&1)"; fi

    out=$("${CRI[@]}" exec "$APP" 10 sh -c 'echo exec-out; exit 3' 2>&1); rc=$?
    expect_eq "cri/$name/exec-sync" "exec-out/3" "$out/$rc"
}

# cri_pod_end NAME ROOT RUNTIME: StopContainer (SIGTERM: the loop exits 0), ContainerStatus
# shows the exit code, RemoveContainer, StopPodSandbox, RemovePodSandbox; RUNTIME must list
# neither in the state root ROOT afterwards.
cri_pod_end() {
    local name=$1 root=$2 rt=$3 out
    [ -n "$POD" ] || return 0
    if [ -n "$APP" ]; then
        if out=$("${CRI[@]}" stop "$APP" 10 2>&1); then
            expect_eq "cri/$name/stop-container" "CONTAINER_EXITED 0" "$(ctr_state "$APP")"
        else fail "cri/$name/stop-container" "$out"; fi
        out=$("${CRI[@]}" rm "$APP" 2>&1)
        if [ -n "$out" ]; then fail "cri/$name/remove-container" "$out"
        elif "${CRI[@]}" state "$APP" >/dev/null 2>&1; then fail "cri/$name/remove-container" "still known to CRI"
        elif in_state_root "$root" "$rt" "$APP"; then fail "cri/$name/remove-container" "still in $root"
        else pass "cri/$name/remove-container"; fi
    fi
    out=$("${CRI[@]}" stopp "$POD" 2>&1)
    if [ -n "$out" ]; then fail "cri/$name/stop-pod-sandbox" "$out"
    elif ! "${CRI[@]}" pods | grep -q "^$POD SANDBOX_NOTREADY"; then
        fail "cri/$name/stop-pod-sandbox" "$("${CRI[@]}" pods | grep "^$POD")"
    else pass "cri/$name/stop-pod-sandbox"; fi
    out=$("${CRI[@]}" rmp "$POD" 2>&1)
    if [ -n "$out" ]; then fail "cri/$name/remove-pod-sandbox" "$out"
    elif "${CRI[@]}" pods | grep -q "^$POD "; then fail "cri/$name/remove-pod-sandbox" "still listed"
    elif in_state_root "$root" "$rt" "$POD"; then fail "cri/$name/remove-pod-sandbox" "sandbox still in $root"
    else pass "cri/$name/remove-pod-sandbox"; fi
    POD=
}

cri_scenarios() {
    local out rc pid host_net containerd_net pod_net c
    [ -n "${VT_OBSERVE_ONLY:-}" ] && { cri_observe; return; }
    expect_eq cri/runtimeclass-handler rampart "$HANDLER"

    # Pod 1: the RuntimeClass handler, with its own network namespace (bridge CNI).
    cri_pod "$HANDLER" net POD
    # a runtime that hangs: every other call would wait for its timeout too
    hung cri "$CRI_RUNP_RC" && return
    if [ -n "$POD" ] && [ -n "$APP" ]; then
        if in_state_root "$K/handler-root" "$VT_RUNTIME" "$POD" && in_state_root "$K/handler-root" "$VT_RUNTIME" "$APP"; then
            pass cri/net/ran-under-handler
        else fail cri/net/ran-under-handler "$VT_RUNTIME --root $K/handler-root/k8s.io list: $("$VT_RUNTIME" --root "$K/handler-root/k8s.io" list 2>&1 | tr '\n' ' ')"; fi
        if in_state_root "$K/runc-root" /usr/sbin/runc "$APP"; then
            fail cri/net/not-under-default "the app is in runc's state root too"
        else pass cri/net/not-under-default; fi
        # inside: only lo and the pod's eth0, an address from our subnet, and a network
        # namespace that is neither the host's nor containerd's
        out=$("${CRI[@]}" exec "$APP" 10 sh -c 'ls /sys/class/net | tr "\n" " "; ip -4 addr show eth0 | awk "/inet /{print \$2}"' 2>&1)
        case "$out" in
            "eth0 lo 10.250.0."*/24) pass cri/net/pod-interfaces;;
            *) fail cri/net/pod-interfaces "interfaces/address inside: $out";;
        esac
        pid=$("$VT_RUNTIME" --root "$K/handler-root/k8s.io" state "$APP" 2>/dev/null | "$CRI_PY" -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
        host_net=$(readlink /proc/$$/ns/net); containerd_net=$(readlink "/proc/$CRI_CONTAINERD_PID/ns/net")
        pod_net=$(readlink "/proc/$pid/ns/net" 2>/dev/null)
        out=$("${CRI[@]}" exec "$APP" 10 readlink /proc/self/ns/net 2>&1)
        if [ -n "$pod_net" ] && [ "$out" = "$pod_net" ] && [ "$pod_net" != "$host_net" ] &&
           [ "$pod_net" != "$containerd_net" ]; then pass cri/net/own-netns
        else fail cri/net/own-netns "inside '$out', app pid $pid '$pod_net', host '$host_net', containerd '$containerd_net'"; fi

        # UpdateContainerResources (the kubelet's in-place resize): the shim runs the runtime's
        # `update --resources -`; the app reads its new memory limit from its own cgroup
        echo '{ "memory_limit_in_bytes": 100663296 }' > "$K/json/update.json"
        out=$("${CRI[@]}" update "$APP" "$K/json/update.json" 2>&1) ||
            fail cri/net/update-container-resources "$out"
        [ -z "$out" ] && expect_eq cri/net/update-container-resources 100663296 \
            "$("${CRI[@]}" exec "$APP" 10 sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max' 2>&1)"

        # ContainerStatus of a container that exited by itself: its exit code
        c=$("${CRI[@]}" create "$POD" "$(ctr_json net exit7 '{}' sh -c 'exit 7')" "$K/json/pod-net.json" 2>&1) &&
            "${CRI[@]}" start "$c" >/dev/null 2>&1
        if wait_for 10 ctr_state_is "$c" CONTAINER_EXITED; then
            expect_eq cri/net/container-status-exit-code "CONTAINER_EXITED 7" "$(ctr_state "$c")"
        else fail cri/net/container-status-exit-code "state '$(ctr_state "$c")' ($c)"; fi
        "${CRI[@]}" rm "$c" >/dev/null 2>&1
    fi
    cri_pod_end net "$K/handler-root" "$VT_RUNTIME"

    # Pod 2: the default handler (runc), host network: runs under runc, not under the handler.
    cri_pod runc hostnet NODE
    if [ -n "$POD" ] && [ -n "$APP" ]; then
        if in_state_root "$K/runc-root" /usr/sbin/runc "$APP" && in_state_root "$K/runc-root" /usr/sbin/runc "$POD" &&
           ! in_state_root "$K/handler-root" "$VT_RUNTIME" "$APP"; then pass cri/hostnet/ran-under-runc
        else fail cri/hostnet/ran-under-runc "runc list: $(/usr/sbin/runc --root "$K/runc-root/k8s.io" list 2>&1 | tr '\n' ' ')"; fi
        out=$("${CRI[@]}" exec "$APP" 10 readlink /proc/self/ns/net 2>&1)
        expect_eq cri/hostnet/node-netns "$(readlink "/proc/$CRI_CONTAINERD_PID/ns/net")" "$out"
    fi
    cri_pod_end hostnet "$K/runc-root" /usr/sbin/runc

    cri_security_context
    cri_observe
}

# The observation set in a container of a pod of the handler, with the kubelet's defaults and a
# 64 MiB memory limit (the CRI plugin mounts the container's cgroup at /sys/fs/cgroup itself).
# Its output comes from the CRI log file, whose lines are "TIME STREAM TAG TEXT".
cri_observe() {
    local pj c log=$K/logs/observe/ctr-observe-obs.log
    pj=$(pod_json observe POD)
    POD=$("${CRI[@]}" runp "$pj" "$HANDLER" 2>&1) || { fail cri/observe "RunPodSandbox: $POD"; POD=; return; }
    APP=
    # resources.limits.memory, as the kubelet sends it
    c=$("${CRI[@]}" create "$POD" "$(CTR_RESOURCES="{ \"memory_limit_in_bytes\": $VT_OBSERVE_MEMORY }" \
        ctr_json observe obs '{ "namespace_options": { "pid": "CONTAINER" } }' sh -c "$VT_OBSERVE_SCRIPT")" "$pj" 2>&1) ||
        { fail cri/observe "CreateContainer: $c"; "${CRI[@]}" stopp "$POD" >/dev/null 2>&1
          "${CRI[@]}" rmp "$POD" >/dev/null 2>&1; POD=; return; }
    "${CRI[@]}" start "$c" >/dev/null 2>&1
    # the CRI plugin writes the log from the container's pipe after the exit is seen: wait for
    # the set's last line
    wait_for 15 ctr_state_is "$c" CONTAINER_EXITED && wait_for 10 grep -q ' memory[.]limit: ' "$log"
    cut -d' ' -f4- "$log" 2>/dev/null > "$VT_OUT/observe-cri.txt"
    observe_check cri/observe "$VT_OUT/observe-cri.txt"
    "${CRI[@]}" rm "$c" >/dev/null 2>&1
    "${CRI[@]}" stopp "$POD" >/dev/null 2>&1; "${CRI[@]}" rmp "$POD" >/dev/null 2>&1
    POD=
}

# A pod whose container has a Kubernetes-style securityContext:
#   runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, readOnlyRootFilesystem: true,
#   allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}
# as the kubelet turns it into CRI (runAsNonRoot is the kubelet's own check of the uid before
# CreateContainer, done here the same way).
cri_security_context() {
    local pj sc uid out c
    pj=$(pod_json secure POD)
    POD=$("${CRI[@]}" runp "$pj" "$HANDLER" 2>&1) || { fail cri/secure/run-pod-sandbox "$POD"; POD=; return; }
    APP=
    uid=1000
    [ "$uid" -ne 0 ] || { fail cri/secure/run-as-non-root "uid 0"; return; }
    sc='{ "run_as_user": { "value": 1000 }, "run_as_group": { "value": 1000 }, "readonly_rootfs": true,
          "no_new_privs": true, "capabilities": { "drop_capabilities": ["ALL"] },
          "seccomp": { "profile_type": "RuntimeDefault" }, "namespace_options": { "pid": "CONTAINER" } }'
    c=$("${CRI[@]}" create "$POD" "$(ctr_json secure app "$sc" sh -c "$VT_LOOP_SCRIPT")" "$pj" 2>&1) &&
        out=$("${CRI[@]}" start "$c" 2>&1) || { fail cri/secure/start "$c $out"; "${CRI[@]}" rm "$c" >/dev/null 2>&1; cri_pod_end secure "$K/handler-root" "$VT_RUNTIME"; return; }
    APP=$c
    wait_for 10 ctr_state_is "$APP" CONTAINER_RUNNING
    if in_state_root "$K/handler-root" "$VT_RUNTIME" "$APP"; then pass cri/secure/ran-under-handler
    else fail cri/secure/ran-under-handler "not in $K/handler-root"; fi
    out=$("${CRI[@]}" exec "$APP" 10 id -u 2>&1)
    expect_eq cri/secure/run-as-user 1000 "$out"
    out=$("${CRI[@]}" exec "$APP" 10 sh -c 'touch /written 2>&1; echo rc=$?' 2>&1)
    case "$out" in *"Read-only file system"*rc=1) pass cri/secure/readonly-rootfs;; *) fail cri/secure/readonly-rootfs "$out";; esac
    out=$("${CRI[@]}" exec "$APP" 10 grep -E '^(CapEff|CapPrm|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status 2>&1 | tr -s '\t\n' '  ')
    expect_eq cri/secure/status "CapPrm: 0000000000000000 CapEff: 0000000000000000 CapAmb: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 " "$out"
    cri_pod_end secure "$K/handler-root" "$VT_RUNTIME"
}

cri_teardown() {
    [ -n "${CRI_NS_PID:-}" ] || return 0
    local p
    kill_runtime_under "$K/"
    if [ -n "${CRI_CONTAINERD_PID:-}" ] && kill -0 "$CRI_CONTAINERD_PID" 2>/dev/null; then
        for p in $("${CRI[@]}" pods 2>/dev/null | cut -d' ' -f1); do
            "${CRI[@]}" stopp "$p" >/dev/null 2>&1; "${CRI[@]}" rmp "$p" >/dev/null 2>&1
        done
        stop_pid "$CRI_CONTAINERD_PID" 10
    fi
    kill_pids_mentioning "$K/"          # shims: -address $K/containerd.sock
    remove_test_cgroups "$VT_RUN_ID-cri"
    # the namespaces (bridge, veths, netns mounts, overlays) go with their last process
    stop_pid "$CRI_NS_PID" 3
    unmount_under "$K"
    CRI_NS_PID=
}
