# Rootless podman 4.3 + conmon: an unprivileged host user runs `podman --runtime PATH` the way a
# user's shell would (run, exec, stop, rm), and podman runs the runtime as uid 0 of the user
# namespace it makes with newuidmap/newgidmap (Debian's uidmap).
#
# No host state is touched for the user: it is `nobody` (an existing account), its HOME,
# XDG_RUNTIME_DIR, config and storage (vfs driver) live in our temp dir, and its /etc/subuid and
# /etc/subgid ranges exist only in a private mount namespace: every podman command starts as
#   unshare --mount (private) -> bind our subuid/subgid files over /etc/subuid, /etc/subgid
#   -> setpriv to the user -> env -i (the user's environment only) -> podman ...
# newuidmap (setuid root) runs inside that namespace and reads our ranges. The bind mounts die
# with the namespace; podman's own mounts (vfs needs none, /etc/hosts & co. are bind mounts made by
# the runtime) live in the mount namespace podman makes in its user namespace, which dies with
# podman's pause process and conmon, both stopped at teardown by pid.
#
# Host constraints (HOST.md): cgroup v1 hybrid with nothing delegated to users, so rootless
# containers get no cgroup here (podman puts no cgroupsPath in the config, the runtime skips its
# cgroup), and nothing that needs one is tested (stats, update, pause, memory limit). podman's
# cgroups="disabled" is not used: podman 4.3 allows it only with crun/krun, and refuses runc.
# Network: --network none (a network namespace with loopback only), so slirp4netns is not needed.
# Fixed host path: the SHM lock file /dev/shm/libpod_rootless_lock_<uid> (removed at teardown if
# this run created it and no process maps it).

podman_rootless_packages() { echo podman conmon uidmap; }

PR_UID=65534
PR_SUBIDS=300000:65536     # the user's subordinate range (only in our private mount namespaces)

podman_rootless_setup() {
    PR=$VT_TMP/podman-rootless
    PU=$PR/user                               # everything the user owns
    PR_NAME=$(getent passwd "$PR_UID" | cut -d: -f1)
    [ -n "$PR_NAME" ] || { echo "podman-rootless: no user with uid $PR_UID" >&2; return 1; }
    PR_GID=$(getent passwd "$PR_UID" | cut -d: -f4)
    command -v newuidmap >/dev/null || { echo "podman-rootless: newuidmap missing (uidmap)" >&2; return 1; }
    mkdir -m 0711 "$PR" || return 1
    mkdir -p "$PU"/{home,xdg,root,runroot,tmp,net,volumes,conf}
    # newuidmap looks the user up by name or uid; both forms work, the name is what useradd writes
    echo "$PR_NAME:$PR_SUBIDS" > "$PR/subuid"
    echo "$PR_NAME:$PR_SUBIDS" > "$PR/subgid"
    cat > "$PU/conf/containers.conf" <<EOF
[containers]
netns = "none"
[network]
network_backend = "cni"
network_config_dir = "$PU/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PU/events.log"
tmp_dir = "$PU/tmp"
image_copy_tmp_dir = "$PU/tmp"
volume_path = "$PU/volumes"
static_dir = "$PU/root/libpod"
EOF
    cat > "$PU/conf/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$PU/root"
runroot = "$PU/runroot"
EOF
    chown -R "$PR_UID:$PR_GID" "$PU"
    chmod 0700 "$PU/xdg"                      # podman insists XDG_RUNTIME_DIR is the user's alone
    PR_LOCK=/dev/shm/libpod_rootless_lock_$PR_UID
    PR_LOCK_NEW=; [ -e "$PR_LOCK" ] || PR_LOCK_NEW=1
    on_exit podman_rootless_teardown

    # The user's environment: nothing of ours leaks in (env -i); USER as a login sets it.
    PR_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$PU/home" USER="$PR_NAME" LOGNAME="$PR_NAME"
            XDG_RUNTIME_DIR="$PU/xdg" XDG_CONFIG_HOME="$PU/home/.config" XDG_DATA_HOME="$PU/home/.local/share"
            TMPDIR="$PU/tmp" CONTAINERS_CONF="$PU/conf/containers.conf"
            CONTAINERS_STORAGE_CONF="$PU/conf/storage.conf" CONTAINERS_REGISTRIES_CONF=/dev/null)
    # as_user ARGS...: ARGS as the user, in a private mount namespace that has our subid files.
    # `mount --make-rshared /` only inside that (already private) namespace: podman warns on a
    # non-shared / (rootless mounts might not propagate); it cannot reach the host's mounts.
    PR_AS_USER=(unshare --mount --propagation private sh -c
        'mount -n --bind "$1" /etc/subuid && mount -n --bind "$2" /etc/subgid && mount -n --make-rshared / &&
         u=$3 g=$4 && shift 4 && exec setpriv --reuid "$u" --regid "$g" --clear-groups "$@"'
        vt-as-user "$PR/subuid" "$PR/subgid" "$PR_UID" "$PR_GID" "${PR_ENV[@]}")
    CLI_CMD=(timeout -k 5 "$VT_CMD_TIMEOUT" "${PR_AS_USER[@]}"
             podman --root "$PU/root" --runroot "$PU/runroot" --tmpdir "$PU/tmp"
             --cgroup-manager cgroupfs --events-backend file --runtime "$VT_RUNTIME")
    # the image: the user can read it (VT_TMP is 0711, the tar 0644)
    "${CLI_CMD[@]}" import -q "$VT_TMP/image/rootfs.tar" localhost/vtbusybox:latest >/dev/null || return 1
    PODMAN_ROOTLESS_READY=1
    E=podman-rootless
    IMG=localhost/vtbusybox:latest
    RUN_OPTS=(--network none)
}

# The runtime's state as the user sees it: `RUNTIME state ID` run by the user (no --root, as
# podman gives none: both runc and rampart then use $XDG_RUNTIME_DIR/<name>), and that directory.
podman_rootless_has_state() {
    [ -n "$1" ] || return 1
    [ -d "$PU/xdg/$(basename "$VT_RUNTIME")/$1" ] &&
        timeout 10 setpriv --reuid "$PR_UID" --regid "$PR_GID" --clear-groups "${PR_ENV[@]}" \
            "$VT_RUNTIME" state "$1" >/dev/null 2>&1
}
podman_rootless_state_gone() {
    [ -n "$1" ] && [ ! -e "$PU/xdg/$(basename "$VT_RUNTIME")/$1" ] &&
        ! timeout 10 setpriv --reuid "$PR_UID" --regid "$PR_GID" --clear-groups "${PR_ENV[@]}" \
            "$VT_RUNTIME" state "$1" >/dev/null 2>&1
}

# host_ids PID: "real/effective uid real/effective gid" of a host process, from its status file.
host_ids() {
    awk '/^Uid:/ { u = $2 "/" $3 } /^Gid:/ { g = $2 "/" $3 } END { print u " " g }' "/proc/$1/status" 2>/dev/null
}

podman_rootless_scenarios() {
    local out rc id pid t0 sub=${PR_SUBIDS%:*} n=${PR_SUBIDS#*:}
    [ -n "${VT_OBSERVE_ONLY:-}" ] && { podman_rootless_observe; return; }

    # run to completion: exit code, stdout
    cli run --rm "${RUN_OPTS[@]}" "$IMG" sh -c 'exit 7' >/dev/null 2>&1; rc=$?
    expect_eq "$E/run-exit-code" 7 "$rc"
    hung "$E" "$rc" && return
    cli run --rm "${RUN_OPTS[@]}" "$IMG" echo hello-from-container >"$VT_TMP/out" 2>&1
    expect_eq "$E/run-stdout" hello-from-container "$(tr -d '\r' < "$VT_TMP/out")"

    # root inside, through the user's own id and its subordinate range (newuidmap read our
    # /etc/subuid): the maps as the container sees them, normalized to single spaces
    out=$(cli run --rm "${RUN_OPTS[@]}" "$IMG" sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map' 2>&1 |
          tr -d '\r' | awk '{ $1 = $1; print }' | tr '\n' '|')
    expect_eq "$E/run-userns" "0|0|0 $PR_UID 1|1 $sub $n|0 $PR_GID 1|1 $sub $n|" "$out"

    # detached long-running container; on the host its process is the user's
    id=$(cli run -d --name vt-long "${RUN_OPTS[@]}" "$IMG" sh -c "$VT_LOOP_SCRIPT" 2>&1) ||
        fail "$E/run-detached" "$id"
    if wait_for 10 dl_is vt-long running; then pass "$E/run-detached"
    else fail "$E/run-detached" "status $(dl_status vt-long)"; fi
    pid=$(cli inspect -f '{{.State.Pid}}' vt-long 2>/dev/null)
    if [ -n "$pid" ] && [ "$pid" -gt 0 ] 2>/dev/null; then
        expect_eq "$E/host-uid" "$PR_UID/$PR_UID $PR_GID/$PR_GID" "$(host_ids "$pid")" "pid $pid"
    else
        fail "$E/host-uid" "no pid for vt-long: '$pid'"
    fi

    # exec without a tty: output and exit code; with a tty (console socket through the runtime)
    out=$(cli exec vt-long sh -c 'echo exec-out; id -u; exit 3' 2>&1); rc=$?
    expect_eq "$E/exec" "exec-out|0|/3" "$(echo "$out" | tr -d '\r' | tr '\n' '|')/$rc"
    out=$(cli exec -t vt-long tty 2>&1 | tr -cd '[:print:]\n')
    case "$out" in */dev/pts/[0-9]*) pass "$E/exec-tty";; *) fail "$E/exec-tty" "tty said: $out";; esac

    # stop: SIGTERM, the trap exits 0 well before the 10 s timeout
    t0=$(date +%s)
    out=$(cli stop -t 10 vt-long 2>&1)
    expect_eq "$E/stop" "exited/0/fast" "$(dl_status vt-long)/$(dl_exit vt-long)/$( [ $(( $(date +%s) - t0 )) -lt 8 ] && echo fast || echo slow)" "$out"

    # stop of a container that ignores SIGTERM: podman falls back to SIGKILL
    cli run -d --name vt-stubborn "${RUN_OPTS[@]}" "$IMG" sh -c 'trap "" TERM; while :; do sleep 0.2; done' >/dev/null 2>&1
    wait_for 10 dl_is vt-stubborn running
    out=$(cli stop -t 1 vt-stubborn 2>&1)
    expect_eq "$E/stop-sigkill" "exited/137" "$(dl_status vt-stubborn)/$(dl_exit vt-stubborn)" "$out"

    # remove: podman forgets it and the runtime's state (the user's) is gone
    id=$(cli inspect -f '{{.Id}}' vt-long 2>/dev/null)
    cli start vt-long >/dev/null 2>&1      # running again, so the runtime has state to lose
    local had_state=no; podman_rootless_has_state "$id" && had_state=yes
    out=$(cli rm -f -t 1 vt-long vt-stubborn 2>&1)
    if [ $had_state = no ]; then fail "$E/remove" "runtime state for '$id' not found under $PU/xdg while running"
    elif cli inspect vt-long >/dev/null 2>&1; then fail "$E/remove" "still there: $out"
    elif ! podman_rootless_state_gone "$id"; then fail "$E/remove" "runtime state for $id left"
    else pass "$E/remove"; fi

    podman_rootless_observe
}

# observation set, without --memory: no cgroup for a rootless container on this host (podman
# refuses limits), so observe_check is not asked for the container's own limit
podman_rootless_observe() {
    cli run --rm "${RUN_OPTS[@]}" --hostname vt-observe "$IMG" sh -c "$VT_OBSERVE_SCRIPT" \
        2>&1 | tr -d '\r' > "$VT_OUT/observe-$E.txt"
    observe_check "$E/observe" "$VT_OUT/observe-$E.txt" ""
}

# pids_in_userns INODE: processes in the user namespace ns/user -> user:[INODE]
pids_in_userns() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/user" 2>/dev/null)" = "user:[$1]" ] && echo "${p#/proc/}"
    done
    return 0
}

podman_rootless_teardown() {
    if [ -n "${PODMAN_ROOTLESS_READY:-}" ]; then
        kill_runtime_under "$PU/"
        "${CLI_CMD[@]}" rm -a -f -t 0 >/dev/null 2>&1
    fi
    # podman's pause process holds its user namespace (and in it the mount namespace); every
    # process in that namespace is one podman, conmon or a container started for this run.
    local pause ns p
    pause=$(cat "$PU/tmp/pause.pid" 2>/dev/null)
    if [ -n "$pause" ] && [ "$(stat -c %u "/proc/$pause" 2>/dev/null)" = "$PR_UID" ]; then
        ns=$(readlink "/proc/$pause/ns/user" | tr -dc 0-9)
        for p in $(pids_in_userns "$ns"); do
            [ "$p" = "$pause" ] && continue
            # a zombie is dead already (conmon's exited children go to pid 1, which reaps them)
            [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
            log "killing pid $p left in podman's user namespace: $(tr '\0' ' ' 2>/dev/null < /proc/$p/cmdline | cut -c1-80)"
            stop_pid "$p" 3
        done
        # it blocks SIGTERM and holds nothing but the namespaces: SIGKILL at once (grace 0)
        log "stopping podman's pause process $pause"
        stop_pid "$pause" 0
    fi
    kill_pids_mentioning "$PR/"          # conmon: -b $PU/..., -p $PU/...
    unmount_under "$PR"
    if [ -n "${PR_LOCK_NEW:-}" ] && [ -e "$PR_LOCK" ]; then
        grep -qs "$(basename "$PR_LOCK")" /proc/[0-9]*/maps || rm -f "$PR_LOCK"
    fi
    PODMAN_ROOTLESS_READY=
}
