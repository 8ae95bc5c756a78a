# containerd 1.6 + ctr + containerd-shim-runc-v2, with private root/state/sockets/config.
# The runtime is passed per container with `ctr run --runc-binary PATH --runc-root DIR`, the
# README's recipe (the same BinaryName/Root options a CRI runtime class sets: engines/cri.sh).
# Fixed host path: the shim's socket dir /run/containerd/s (not configurable in 1.6);
# run.sh removes it at the end if it created it and it is empty.

containerd_packages() { echo containerd; }

containerd_setup() {
    C=$VT_TMP/containerd
    mkdir -p "$C/root" "$C/state" "$C/runc" "$C/fifo" "$C/opt"
    cat > "$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
[debug]
  address = "$C/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
EOF
    containerd --config "$C/config.toml" >"$C/containerd.log" 2>&1 &
    CONTAINERD_PID=$!
    on_exit containerd_teardown
    NS=$VT_RUN_ID
    CTR_BARE=(ctr --address "$C/containerd.sock" --namespace "$NS")
    CTR=(timeout -k 5 "$VT_CMD_TIMEOUT" "${CTR_BARE[@]}")
    wait_for 30 "${CTR[@]}" version || { tail -n 20 "$C/containerd.log" >&2; return 1; }
    "${CTR[@]}" images import "$VT_TMP/image/image.tar" >/dev/null || return 1
    IMG=$VT_IMAGE_REF
    # cgroups: /<run id>/<container> in every hierarchy (teardown removes /<run id>*).
    # The runtime flags are the README's ctr recipe (recipes/containerd-ctr.sh: ctr run
    # --runc-binary B --runc-root R ...), B and R replaced by the runtime under test and $C/runc.
    local recipe
    read -r -a recipe < <(grep '^ctr run ' "$HERE/recipes/containerd-ctr.sh" |
        sed -e "s|/usr/local/bin/rampart|$VT_RUNTIME|" -e "s|/run/containerd/rampart|$C/runc|")
    [ "${recipe[2]:-}" = --runc-binary ] && [ "${recipe[4]:-}" = --runc-root ] ||
        { echo "containerd: recipes/containerd-ctr.sh: no 'ctr run --runc-binary B --runc-root R' line" >&2; return 1; }
    RUN=(run "${recipe[@]:2:4}" --fifo-dir "$C/fifo")
}
cg() { echo "/$VT_RUN_ID/$1"; }
ctr_run() { local name=$1; shift; "${CTR[@]}" "${RUN[@]}" --cgroup "$(cg "$name")" "$@"; }
task_status() { "${CTR[@]}" task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
task_is() { [ "$(task_status "$1")" = "$2" ]; }

containerd_scenarios() {
    local out rc pid
    [ -n "${VT_OBSERVE_ONLY:-}" ] && { containerd_observe; return; }

    # run to completion: ctr run exits with the task's status
    ctr_run c-exit --rm "$IMG" c-exit sh -c 'exit 7' >/dev/null 2>&1; rc=$?
    expect_eq containerd/run-exit-code 7 "$rc"
    hung containerd "$rc" && return

    out=$(ctr_run c-echo --rm "$IMG" c-echo echo hello-from-container 2>&1)
    expect_eq containerd/run-stdout hello-from-container "$out"

    # detached long-running container
    out=$(ctr_run c-long -d "$IMG" c-long sh -c "$VT_LOOP_SCRIPT" 2>&1) || fail containerd/run-detached "$out"
    if wait_for 10 task_is c-long RUNNING; then pass containerd/run-detached
    else fail containerd/run-detached "status '$(task_status c-long)' $out"; fi

    # exec without a tty
    out=$("${CTR[@]}" task exec --exec-id e1 --fifo-dir "$C/fifo" c-long sh -c 'echo exec-out; exit 3' 2>&1); rc=$?
    expect_eq containerd/exec "exec-out/3" "$out/$rc"

    # exec with a tty: ctr wants a terminal on its own stdin, `script` gives it one
    # (timeout goes outside script: inside, its own process group would not own the terminal)
    out=$(timeout -k 5 "$VT_CMD_TIMEOUT" script -qec "${CTR_BARE[*]} task exec -t --exec-id e2 --fifo-dir $C/fifo c-long tty" /dev/null </dev/null 2>&1 | tr -cd '[:print:]\n')
    case "$out" in */dev/pts/[0-9]*) pass containerd/exec-tty;; *) fail containerd/exec-tty "tty said: $out";; esac

    # run with a tty
    out=$(timeout -k 5 "$VT_CMD_TIMEOUT" script -qec "${CTR_BARE[*]} ${RUN[*]} --cgroup $(cg c-tty) --rm -t $IMG c-tty tty" /dev/null </dev/null 2>&1 | tr -cd '[:print:]\n')
    case "$out" in */dev/pts/[0-9]*) pass containerd/run-tty;; *) fail containerd/run-tty "tty said: $out";; esac

    # ps: the shim runs `runtime ps --format json`
    pid=$("${CTR[@]}" task ls | awk '$1 == "c-long" { print $2 }')
    out=$("${CTR[@]}" task ps c-long 2>&1)
    if echo "$out" | awk 'NR > 1 { print $1 }' | grep -qx "$pid"; then pass containerd/ps
    else fail containerd/ps "init pid $pid not listed: $out"; fi

    # metrics: the shim reads the cgroup itself
    out=$("${CTR[@]}" task metrics c-long 2>&1)
    if echo "$out" | grep -qE '^pids\.current +[1-9]' && echo "$out" | grep -q '^memory\.usage_in_bytes'; then
        pass containerd/metrics
    else fail containerd/metrics "$(echo "$out" | head -n 3 | tr '\n' ' ')"; fi

    # update: ctr 1.6 has no `task update`; the shim's Update (runtime `update --resources -`)
    # is reached through docker update (same shim) and through CRI UpdateContainerResources.
    skip containerd/update "ctr 1.6 has no task update; shim update path covered by docker/update and cri/net/update-container-resources"

    # pause / resume
    "${CTR[@]}" task pause c-long >/dev/null 2>&1
    if [ "$(task_status c-long)" = PAUSED ]; then
        "${CTR[@]}" task resume c-long >/dev/null 2>&1
        if [ "$(task_status c-long)" = RUNNING ] &&
           "${CTR[@]}" task exec --exec-id e3 --fifo-dir "$C/fifo" c-long true >/dev/null 2>&1; then
            pass containerd/pause-resume
        else fail containerd/pause-resume "after resume: $(task_status c-long)"; fi
    else fail containerd/pause-resume "after pause: $(task_status c-long)"; fi

    # kill with a signal: attached `ctr run` returns the task's exit status (trap exits 42)
    ctr_run c-kill --rm "$IMG" c-kill sh -c "$VT_LOOP_SCRIPT" >/dev/null 2>&1 &
    local runpid=$!
    wait_for 10 task_is c-kill RUNNING
    "${CTR[@]}" task kill -s SIGUSR1 c-kill >/dev/null 2>&1
    wait "$runpid"; rc=$?
    expect_eq containerd/kill-signal 42 "$rc"

    # kill --all: SIGKILL every process of the container (exec a second one first)
    ctr_run c-all -d "$IMG" c-all sh -c "$VT_LOOP_SCRIPT" >/dev/null 2>&1
    wait_for 10 task_is c-all RUNNING
    "${CTR[@]}" task exec -d --exec-id e4 --fifo-dir "$C/fifo" c-all sleep 1000 >/dev/null 2>&1
    "${CTR[@]}" task kill -a -s SIGKILL c-all >/dev/null 2>&1
    if wait_for 10 task_is c-all STOPPED; then pass containerd/kill-all
    else fail containerd/kill-all "status $(task_status c-all)"; fi
    "${CTR[@]}" task rm c-all >/dev/null 2>&1; "${CTR[@]}" container rm c-all >/dev/null 2>&1

    # stop (ctr has none): SIGTERM, the trap exits 0; `task rm` returns the exit status
    "${CTR[@]}" task kill -s SIGTERM c-long >/dev/null 2>&1
    if wait_for 8 task_is c-long STOPPED; then
        "${CTR[@]}" task rm c-long >/dev/null 2>&1; rc=$?
        expect_eq containerd/stop 0 "$rc"
    else fail containerd/stop "status $(task_status c-long) 8 s after SIGTERM"; fi

    # remove: container gone, runtime state and cgroup gone
    out=$("${CTR[@]}" container rm c-long 2>&1)
    if "${CTR[@]}" container info c-long >/dev/null 2>&1; then fail containerd/remove "still there: $out"
    elif [ -e "$C/runc/$NS/c-long" ]; then fail containerd/remove "runtime state $C/runc/$NS/c-long left"
    elif [ -d "/sys/fs/cgroup/memory$(cg c-long)" ]; then fail containerd/remove "cgroup $(cg c-long) left"
    else pass containerd/remove; fi

    # broken container: the runtime's words reach ctr's user (via the runtime's JSON --log)
    out=$(ctr_run c-broken --rm "$IMG" c-broken /nonexistent 2>&1); rc=$?
    if [ $rc -eq 0 ]; then fail containerd/broken-error-message "exit 0"
    else error_check containerd/broken-error-message "$out"; fi
    echo "$out" > "$VT_OUT/containerd-broken-message.txt"
    "${CTR[@]}" container rm c-broken >/dev/null 2>&1

    # policy: the annotation run.rampart.policy=restricted on a privileged container; the shim
    # passes rampart's refusal (its JSON --log) on to ctr's user, and no task is left
    if is_rampart; then
        out=$(ctr_run c-policy --rm --privileged --annotation run.rampart.policy=restricted "$IMG" c-policy true 2>&1); rc=$?
        policy_check containerd/policy-refused "$out" "$rc"
        echo "$out" > "$VT_OUT/containerd-policy-message.txt"
        if [ -n "$(task_status c-policy)" ]; then fail containerd/policy-nothing-left "task c-policy exists"
        elif [ -e "$C/runc/$NS/c-policy" ]; then fail containerd/policy-nothing-left "runtime state $C/runc/$NS/c-policy left"
        elif [ -d "/sys/fs/cgroup/memory$(cg c-policy)" ]; then fail containerd/policy-nothing-left "cgroup $(cg c-policy) left"
        else pass containerd/policy-nothing-left; fi
        "${CTR[@]}" container rm c-policy >/dev/null 2>&1
    else
        skip containerd/policy-refused "$(basename "$VT_RUNTIME") has no run.rampart.policy"
    fi

    containerd_observe
}

# observation set. ctr sets no hostname (the container's UTS namespace starts as a copy of the
# host's) and its default spec mounts no cgroupfs: add one (as Docker and podman do) to read the limit.
containerd_observe() {
    ctr_run c-observe --rm --memory-limit "$VT_OBSERVE_MEMORY" \
        --mount type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev "$IMG" c-observe sh -c "$VT_OBSERVE_SCRIPT" \
        2>&1 | sed "s/^hostname: .*/hostname: (host's)/" > "$VT_OUT/observe-containerd.txt"
    observe_check containerd/observe "$VT_OUT/observe-containerd.txt"
}

containerd_teardown() {
    [ -n "${CONTAINERD_PID:-}" ] || return 0
    local id
    kill_runtime_under "$C/"
    for id in $("${CTR[@]}" task ls -q 2>/dev/null); do
        "${CTR[@]}" task kill -a -s SIGKILL "$id" >/dev/null 2>&1
    done
    sleep 0.3
    for id in $("${CTR[@]}" task ls -q 2>/dev/null); do "${CTR[@]}" task rm -f "$id" >/dev/null 2>&1; done
    for id in $("${CTR[@]}" container ls -q 2>/dev/null); do "${CTR[@]}" container rm "$id" >/dev/null 2>&1; done
    stop_pid "$CONTAINERD_PID" 10
    kill_pids_mentioning "$C/"          # shims: -address $C/containerd.sock
    unmount_under "$C"
    CONTAINERD_PID=
}
