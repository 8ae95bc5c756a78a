# Scenarios shared by Docker and Podman, whose command lines are alike.
# The engine file sets:
#   E          engine name (prefix of scenario names)
#   CLI_CMD    array: the engine's CLI with private state (e.g. docker -H unix://...)
#   RUN_OPTS   array: options for every `run` (runtime, network, cgroup parent, ...)
#   IMG        image name
#   READONLY_WANT  what the read-only-tmpfs scenario prints ('|' for newlines)
#   <E>_state_gone ID  function: true when the runtime's state for container ID is gone

cli()       { "${CLI_CMD[@]}" "$@"; }
dl_status() { cli inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
dl_is()     { [ "$(dl_status "$1")" = "$2" ]; }
dl_exit()   { cli inspect -f '{{.State.ExitCode}}' "$1" 2>/dev/null; }

dl_scenarios() {
    local out rc id t0
    [ -n "${VT_OBSERVE_ONLY:-}" ] && { dl_observe; return; }

    # run to completion, exit code
    cli run --rm "${RUN_OPTS[@]}" "$IMG" sh -c 'exit 7' >/dev/null 2>&1; rc=$?
    expect_eq "$E/run-exit-code" 7 "$rc"
    hung "$E" "$rc" && return

    cli run --rm "${RUN_OPTS[@]}" "$IMG" echo hello-from-container >"$VT_TMP/out" 2>&1
    expect_eq "$E/run-stdout" hello-from-container "$(tr -d '\r' < "$VT_TMP/out")"

    # detached long-running container
    id=$(cli run -d --name vt-long "${RUN_OPTS[@]}" "$IMG" sh -c "$VT_LOOP_SCRIPT" 2>&1) ||
        fail "$E/run-detached" "$id"
    if wait_for 10 dl_is vt-long running; then pass "$E/run-detached"
    else fail "$E/run-detached" "status $(dl_status vt-long)"; fi

    # exec without a tty: output and exit code
    out=$(cli exec vt-long sh -c 'echo exec-out; exit 3' 2>&1); rc=$?
    expect_eq "$E/exec" "exec-out/3" "$(echo "$out" | tr -d '\r')/$rc"

    # exec with a tty (console socket path through the runtime)
    out=$(cli exec -t vt-long tty 2>&1 | tr -cd '[:print:]\n')
    case "$out" in */dev/pts/[0-9]*) pass "$E/exec-tty";; *) fail "$E/exec-tty" "tty said: $out";; esac

    # run with a tty
    out=$(cli run --rm -t "${RUN_OPTS[@]}" "$IMG" tty 2>&1 | tr -cd '[:print:]\n')
    case "$out" in */dev/pts/[0-9]*) pass "$E/run-tty";; *) fail "$E/run-tty" "tty said: $out";; esac

    # ps / top (podman reads /proc itself; docker asks the shim, which runs `runtime ps`)
    out=$(cli top vt-long 2>&1)
    if echo "$out" | grep -q 'while'; then pass "$E/top"; else fail "$E/top" "$(echo "$out" | tail -n 1)"; fi

    # stats (read from the cgroups by the engine)
    out=$(cli stats --no-stream --format '{{.PIDs}} {{.MemUsage}}' vt-long 2>&1)
    if echo "$out" | grep -qE '^[1-9][0-9]* [0-9.]+[kKMG]i?B'; then pass "$E/stats"; else fail "$E/stats" "$out"; fi

    # update of limits, seen from inside the container
    if out=$(cli update --memory 96m --memory-swap 96m vt-long 2>&1); then
        out=$(cli exec vt-long cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>&1)
        expect_eq "$E/update" 100663296 "$out"
    else
        fail "$E/update" "$(echo "$out" | tail -n 1)"
    fi

    # pause / resume (freezer)
    out=$(cli pause vt-long 2>&1)
    if [ "$(dl_status vt-long)" = paused ]; then
        out=$(cli unpause vt-long 2>&1)
        if [ "$(dl_status vt-long)" = running ] && cli exec vt-long true >/dev/null 2>&1; then pass "$E/pause-resume"
        else fail "$E/pause-resume" "after unpause: $(dl_status vt-long) $out"; fi
    else
        fail "$E/pause-resume" "after pause: $(dl_status vt-long) $out"
    fi

    # kill with a signal: the trap exits 42 on SIGUSR1
    cli run -d --name vt-kill "${RUN_OPTS[@]}" "$IMG" sh -c "$VT_LOOP_SCRIPT" >/dev/null 2>&1
    wait_for 10 dl_is vt-kill running
    cli kill -s USR1 vt-kill >/dev/null 2>&1
    rc=$(cli wait vt-kill 2>/dev/null | tail -n 1)
    expect_eq "$E/kill-signal" 42 "$rc"

    # stop: SIGTERM, the trap exits 0 well before the 10 s timeout
    t0=$(date +%s)
    out=$(cli stop -t 10 vt-long 2>&1)
    expect_eq "$E/stop" "exited/0/fast" "$(dl_status vt-long)/$(dl_exit vt-long)/$( [ $(( $(date +%s) - t0 )) -lt 8 ] && echo fast || echo slow)" "$out"

    # stop of a container that ignores SIGTERM: the engine falls back to SIGKILL
    cli run -d --name vt-stubborn "${RUN_OPTS[@]}" "$IMG" sh -c 'trap "" TERM; while :; do sleep 0.2; done' >/dev/null 2>&1
    wait_for 10 dl_is vt-stubborn running
    out=$(cli stop -t 1 vt-stubborn 2>&1)
    expect_eq "$E/stop-sigkill" "exited/137" "$(dl_status vt-stubborn)/$(dl_exit vt-stubborn)" "$out"

    # remove: the engine forgets it and the runtime's state is gone
    id=$(cli inspect -f '{{.Id}}' vt-kill 2>/dev/null)
    cli start vt-kill >/dev/null 2>&1      # running again, so the runtime has state to lose
    local had_state=yes; "${E}_state_gone" "$id" && had_state=no
    out=$(cli rm -f vt-long vt-kill vt-stubborn 2>&1)
    if [ $had_state = no ]; then fail "$E/remove" "runtime state for $id not found while running"
    elif cli inspect vt-kill >/dev/null 2>&1; then fail "$E/remove" "still there: $out"
    elif ! "${E}_state_gone" "$id"; then fail "$E/remove" "runtime state for $id left"
    else pass "$E/remove"; fi

    # a broken container: the runtime's error reaches the user, and the engine, which reads the
    # runtime's words to choose it, exits 127 (command not found) as with runc
    out=$(cli run --name vt-broken "${RUN_OPTS[@]}" "$IMG" /nonexistent 2>&1); rc=$?
    if [ $rc -ne 127 ]; then fail "$E/broken-error-message" "exit $rc, want 127: $(echo "$out" | tail -n 1)"
    else error_check "$E/broken-error-message" "$out"; fi
    echo "$out" > "$VT_OUT/$E-broken-message.txt"
    cli rm -f vt-broken >/dev/null 2>&1

    # read-only rootfs plus a tmpfs: podman asks the runtime to fill the tmpfs with what the image
    # has below it (runc's tmpcopyup mount option), Docker does not (READONLY_WANT, engine file)
    out=$(cli run --rm --read-only --tmpfs /etc "${RUN_OPTS[@]}" "$IMG" sh -c \
        'touch /x 2>/dev/null && echo rootfs-writable; touch /etc/new && echo tmpfs-writable; head -n 1 /etc/passwd 2>/dev/null || echo etc-empty' \
        2>&1 | tr -d '\r' | tr '\n' '|')
    expect_eq "$E/read-only-tmpfs" "$READONLY_WANT" "$out"

    # a file that is not executable: refused at create, the engine exits 126
    out=$(cli run --rm "${RUN_OPTS[@]}" "$IMG" /etc/passwd 2>&1); rc=$?
    expect_eq "$E/not-executable" 126 "$rc" "$(echo "$out" | tail -n 1)"

    dl_observe
}

# observation set
dl_observe() {
    cli run --rm "${RUN_OPTS[@]}" --hostname vt-observe --memory "$VT_OBSERVE_MEMORY" "$IMG" sh -c "$VT_OBSERVE_SCRIPT" \
        2>&1 | tr -d '\r' > "$VT_OUT/observe-$E.txt"
    observe_check "$E/observe" "$VT_OUT/observe-$E.txt"
}
