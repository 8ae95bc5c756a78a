# buildah 1.28: build an image from scratch with a `buildah run` step under the runtime
# (recipes/buildah.sh, the README's recipe, run as written with its runtime path replaced).
# Every buildah command gets private storage (--root, --runroot, the vfs driver), TMPDIR and
# containers.conf/registries.conf of ours; `from` gets a cgroup parent under this run's name and
# `run` gives the runtime --root in our folder (buildah passes none: the runtime's default state
# dir would be used). buildah runs in a mount namespace of its own where /var/lib is an overlay
# (private_ns_start): `commit` opens containers/image's blob-info cache in
# /var/lib/containers/cache as root, whatever --root says.

buildah_packages() { echo buildah; }

buildah_setup() {
    B=$VT_TMP/buildah
    mkdir -p "$B/root" "$B/runroot" "$B/tmp" "$B/rt" "$B/sig"
    : > "$B/containers.conf"
    private_ns_start "$B/ns" /var/lib || return 1
    BUILDAH_NS_PID=$VT_NS_PID
    on_exit buildah_teardown
    BH=(timeout -k 5 "$VT_CMD_TIMEOUT" nsenter --mount="/proc/$BUILDAH_NS_PID/ns/mnt" --
        env TMPDIR="$B/tmp" CONTAINERS_CONF="$B/containers.conf" CONTAINERS_REGISTRIES_CONF=/dev/null
        buildah --root "$B/root" --runroot "$B/runroot" --storage-driver vfs)
    "${BH[@]}" version >/dev/null || return 1
}

# buildah, as the recipe calls it: with our private storage, cgroup parent and runtime root.
buildah() {
    local sub=$1; shift
    case "$sub" in
        from) "${BH[@]}" from --cgroup-parent "/$VT_RUN_ID-buildah" "$@";;
        run)  "${BH[@]}" run --runtime-flag "root=$B/rt" "$@";;
        *)    "${BH[@]}" "$sub" "$@";;
    esac
}

buildah_scenarios() {
    local out rc c listed
    [ -n "${VT_OBSERVE_ONLY:-}" ] && return 0
    # the recipe, in a subshell that stops at its first failing command
    out=$(ROOTFS=$VT_TMP/image/rootfs; set -e
          eval "$(sed "s|/usr/local/bin/rampart|$VT_RUNTIME|" "$HERE/recipes/buildah.sh")" 2>&1); rc=$?
    echo "$out" > "$B/recipe.out"; log "recipe output: $out"
    if [ $rc -ne 0 ]; then fail buildah/recipe "exit $rc: $(echo "$out" | tail -n 2 | tr '\n' ' ')"; return; fi
    if echo "$out" | grep -qx built-by-run; then pass buildah/run-output
    else fail buildah/run-output "buildah run printed: $(echo "$out" | tr '\n' ' ')"; fi
    if buildah images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | grep -qx localhost/hello:latest; then
        pass buildah/commit
    else fail buildah/commit "localhost/hello:latest not in: $(buildah images 2>&1 | tr '\n' ' ')"; fi
    if [ -n "$(buildah containers -q 2>/dev/null)" ]; then fail buildah/rm "working containers left: $(buildah containers -q | tr '\n' ' ')"
    else pass buildah/rm; fi

    # the committed image holds what the run step wrote; and the runtime under test is the one
    # buildah ran: its state root lists the container while it waits for our signal file
    c=$(buildah from localhost/hello:latest 2>&1) || { fail buildah/from-committed "$c"; return; }
    buildah run --runtime "$VT_RUNTIME" --network none -v "$B/sig:/sig" "$c" -- \
        sh -c 'cat /etc/motd; while [ ! -e /sig/done ]; do sleep 0.1; done' >"$B/run2.out" 2>&1 &
    local runpid=$!
    if wait_for 20 sh -c "'$VT_RUNTIME' --root '$B/rt' list | awk 'NR > 1' | grep -q running"; then
        listed=yes
    else listed="nothing running in $B/rt: $("$VT_RUNTIME" --root "$B/rt" list 2>&1 | tr '\n' ' ')"; fi
    touch "$B/sig/done"
    wait "$runpid"; rc=$?
    expect_eq buildah/run-committed "built-by-run/0" "$(cat "$B/run2.out")/$rc"
    expect_eq buildah/ran-under-runtime yes "$listed"
    if [ -n "$("$VT_RUNTIME" --root "$B/rt" list -q 2>/dev/null)" ]; then
        fail buildah/runtime-state-gone "$("$VT_RUNTIME" --root "$B/rt" list 2>&1 | tr '\n' ' ')"
    else pass buildah/runtime-state-gone; fi
    buildah rm "$c" >/dev/null 2>&1
    buildah rmi -a -f >/dev/null 2>&1
}

buildah_teardown() {
    [ -n "${BUILDAH_NS_PID:-}" ] || return 0
    kill_runtime_under "$B/"
    kill_pids_mentioning "$B/"
    "${BH[@]}" rm -a >/dev/null 2>&1
    "${BH[@]}" rmi -a -f >/dev/null 2>&1
    # vfs leaves no mounts, and buildah's own are in its namespace: gone with the holder
    stop_pid "$BUILDAH_NS_PID" 0
    unmount_under "$B"
    remove_test_cgroups "$VT_RUN_ID-buildah"
    BUILDAH_NS_PID=
}
