//! Hostile workloads and configs must leave the runtime answering: a workload killed before
//! `start`, an init killed while `create` runs, a fork bomb under a pids limit, a container that
//! goes for exec.fifo or its terminal, a container that floods its output, and configs with a
//! 100,000-entry env, 1,000 mounts or a 1 MiB hostname. Every rampart command runs under the
//! harness's guard (`run_with_timeout`): a command that hangs fails the test, whatever the
//! machine's speed. After each case `state`, `list`, `kill` and `delete` give the right status or
//! a clear error, and nothing of the container is left on the host.
use rampart_integration::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The guard for every command: generous, because it only tells a hang from a slow machine.
const GUARD: Duration = Duration::from_secs(60);

/// An error the runtime reports itself: a non-zero exit that is not a death by signal (the
/// release build aborts on a panic, and SIGPIPE or SIGKILL would also end it midway), with a
/// message on stderr and no panic text.
#[track_caller]
fn clear_error(o: &Out) {
    assert_ne!(o.code, 0, "should have failed: {o:#?}");
    assert!(o.code < 128, "the runtime died of a signal: {o:#?}");
    assert!(!o.stderr.trim().is_empty(), "no message: {o:#?}");
    assert!(!o.stderr.contains("panicked"), "a panic: {o:#?}");
}

/// Nothing of `id` is left: no state directory, no listing, no cgroup, no mount of the bundle,
/// and the init `pid` (when known) is gone.
#[track_caller]
fn nothing_left(r: &Root, b: &Bundle, id: &str, pid: Option<i32>) {
    assert!(!r.ids().contains(&id.to_string()), "{id} still listed");
    assert_nothing_left(r, b, id);
    if let Some(pid) = pid {
        assert!(wait_pid_gone(pid, 10), "init {pid} of {id} still runs");
    }
}

/// `rampart create` for `b` as `id`, with its output collected (not asserted).
fn create(r: &Root, b: &Bundle, id: &str) -> Out {
    r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ])
}

fn init_pid(r: &Root, id: &str) -> i32 {
    r.state(id)["pid"].as_i64().expect("pid in state") as i32
}

/// A host hook script at `dir/name` (runs as root on the host, like prestart/createRuntime).
fn host_hook(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    write_file(&p, &format!("#!/bin/sh\n{body}\n"));
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Reads the state JSON on stdin and SIGKILLs the pid in it (a hook that kills the init).
const KILL_INIT: &str = r#"pid=$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p')
[ -n "$pid" ] || exit 3
kill -9 "$pid""#;

/// The cgroup of a bundle is put at /<id>, so a test can read its files.
fn own_cgroup(b: &mut Bundle, id: &str) {
    let path = format!("/{id}");
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
}

// ---------------------------------------------------------------- before start

/// The init is killed after `create` (an OOM kill, an admin's kill -9): the container reads as
/// stopped, `start` and `kill` refuse with a clear error, a plain `delete` removes it.
#[test]
fn a_workload_killed_before_start_reads_stopped_and_deletes_cleanly() {
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "echo should-never-run"]);
    let id = unique("hostile-prestart");
    create(&r, &b, &id).ok();
    assert_eq!(r.status(&id), "created");
    let pid = init_pid(&r, &id);
    // SAFETY-free: SIGKILL to the init this test's create made (not reaped: it is not ours).
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(wait_pid_gone(pid, 10), "init {pid} survived SIGKILL");

    assert_eq!(r.status(&id), "stopped");
    let list = r.rampart(&["list", "--format", "json"]);
    list.ok();
    let all: Vec<Value> = serde_json::from_str(&list.stdout).unwrap();
    let mine: Vec<&Value> = all.iter().filter(|c| c["id"] == id.as_str()).collect();
    assert_eq!(mine.len(), 1, "{all:?}");
    assert_eq!(mine[0]["status"], "stopped", "{all:?}");

    let o = r.rampart(&["start", &id]);
    clear_error(&o);
    assert!(o.stderr.contains("stopped"), "{o:#?}");
    let o = r.rampart(&["kill", &id, "KILL"]);
    clear_error(&o);
    assert!(o.stderr.contains("not running"), "{o:#?}");
    r.rampart(&["delete", &id]).ok();
    nothing_left(&r, &b, &id, Some(pid));
}

// ---------------------------------------------------------------- during create

/// A hook of `stage` SIGKILLs the init while `create` runs: create fails with a clear error, in
/// bounded time, and leaves nothing (no state, cgroup, mount, process).
fn init_killed_by_hook(stage: &str, pid_namespace: bool) {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "echo should-never-run"]);
    let id = unique(&format!("hostile-{}", stage.to_lowercase()));
    own_cgroup(&mut b, &id);
    if !pid_namespace {
        b.drop_namespace("pid");
    }
    let ran = b.path().join("hook-ran");
    let body = if stage == "createContainer" {
        // Run by the init itself, inside the container's namespaces: its parent is the init.
        format!("touch {}\nkill -9 $PPID", ran.display())
    } else {
        format!("touch {}\n{KILL_INIT}", ran.display())
    };
    let hook = host_hook(b.path(), "kill-init.sh", &body);
    b.edit(|c| c["hooks"] = json!({ stage: [{"path": hook, "env": ["PATH=/usr/bin:/bin"]}] }));
    let o = create(&r, &b, &id);
    assert!(ran.exists(), "the {stage} hook did not run: {o:#?}");
    clear_error(&o);
    nothing_left(&r, &b, &id, None);
    assert!(
        processes_containing(&b.path().to_string_lossy()).is_empty(),
        "a hook or init of {id} is still running"
    );
}

#[test]
fn an_init_killed_by_a_prestart_hook_fails_create_and_leaves_nothing() {
    init_killed_by_hook("prestart", true);
}

#[test]
fn an_init_killed_by_a_create_runtime_hook_fails_create_and_leaves_nothing() {
    init_killed_by_hook("createRuntime", true);
}

/// Without a pid namespace of its own the init can be killed from inside its own setup: a
/// createContainer hook (run by the init, in the container) kills its parent.
#[test]
fn an_init_killed_by_its_own_create_container_hook_fails_create_and_leaves_nothing() {
    init_killed_by_hook("createContainer", false);
}

/// The init is SIGKILLed from outside as soon as its pid is in state.json, wherever `create`
/// is at that moment: either create fails cleanly, or it succeeded just before and the
/// container reads as stopped and deletes. Both leave nothing.
#[test]
fn an_init_killed_from_outside_while_create_runs_leaves_nothing() {
    for round in 0..5 {
        let r = Root::new();
        let mut b = Bundle::new(&["sh", "-c", "echo should-never-run"]);
        let id = unique(&format!("hostile-race{round}"));
        own_cgroup(&mut b, &id);
        let state = r.path().join(&id).join("state.json");
        let killer = std::thread::spawn(move || {
            let end = Instant::now() + GUARD;
            while Instant::now() < end {
                let pid = fs::read(&state)
                    .ok()
                    .and_then(|s| serde_json::from_slice::<Value>(&s).ok())
                    .and_then(|v| v["pid"].as_i64())
                    .unwrap_or(0) as i32;
                if pid > 0 {
                    // SAFETY-free: the pid create recorded for the init it just cloned.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return Some(pid);
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            None
        });
        let o = create(&r, &b, &id);
        let pid = killer.join().unwrap();
        if o.code == 0 {
            let pid = pid.expect("create succeeded without a pid in its state");
            assert!(wait_pid_gone(pid, 10));
            assert_eq!(r.status(&id), "stopped", "round {round}");
            clear_error(&r.rampart(&["start", &id]));
            r.rampart(&["delete", &id]).ok();
        } else {
            clear_error(&o);
        }
        nothing_left(&r, &b, &id, pid);
    }
}

// ---------------------------------------------------------------- fork bomb

/// The bomb runs beside the init, which then becomes a `sleep` (exec, no fork): a shell at the
/// limit gives up on its failed forks and exits, and the init must outlive that.
const FORK_BOMB: &str = "bomb() { bomb & bomb & wait; }; bomb & exec sleep 100000";

/// A fork bomb under a pids limit of 32: the cgroup holds it to the limit, `state`, `list` and
/// `ps` answer while it runs, and `delete --force` ends every process of it.
fn fork_bomb(pid_namespace: bool) {
    const LIMIT: u64 = 32;
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", FORK_BOMB]);
    let id = unique(if pid_namespace {
        "hostile-bomb"
    } else {
        "hostile-bomb-hostpid"
    });
    own_cgroup(&mut b, &id);
    b.edit(|c| c["linux"]["resources"]["pids"] = json!({"limit": LIMIT}));
    if !pid_namespace {
        b.drop_namespace("pid");
    }
    create(&r, &b, &id).ok();
    let pid = init_pid(&r, &id);
    r.rampart(&["start", &id]).ok();
    let cg = PathBuf::from(format!("/sys/fs/cgroup/pids/{id}"));
    // The kernel counts each fork refused at the limit in pids.events ("max N").
    let refused = || {
        fs::read_to_string(cg.join("pids.events"))
            .ok()
            .and_then(|s| s.trim().strip_prefix("max ")?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let end = Instant::now() + GUARD;
    while refused() == 0 {
        assert!(
            Instant::now() < end,
            "the fork bomb never reached its limit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let current: u64 = fs::read_to_string(cg.join("pids.current"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(current <= LIMIT, "pids.current {current} over the limit");
    assert_eq!(r.status(&id), "running");
    assert!(r.ids().contains(&id));
    let ps = r.rampart(&["ps", "--format", "json", &id]);
    ps.ok();
    let pids: Vec<i64> = serde_json::from_str(&ps.stdout).unwrap();
    assert!(
        !pids.is_empty() && pids.len() as u64 <= LIMIT,
        "ps: {}",
        ps.stdout
    );
    r.rampart(&["delete", "--force", &id]).ok();
    nothing_left(&r, &b, &id, Some(pid));
    for p in pids {
        assert!(!pid_alive(p as i32), "bomb process {p} survived delete");
    }
}

#[test]
fn a_fork_bomb_under_a_pids_limit_leaves_the_runtime_answering() {
    fork_bomb(true);
}

/// Without a pid namespace nothing kills the bomb's processes with its init: each must be
/// killed while the others keep forking into the freed slots.
#[test]
fn a_fork_bomb_without_a_pid_namespace_is_ended_by_delete() {
    fork_bomb(false);
}

// ---------------------------------------------------------------- exec.fifo

/// The fifo lives in the host's state directory, which the container's mount namespace does not
/// show, and every descriptor of it is close-on-exec: neither a startContainer hook (a program of
/// the image, run in the container) nor the workload holds or can find it.
#[test]
fn the_container_cannot_reach_exec_fifo() {
    let r = Root::new();
    let look =
        "for f in /proc/self/fd/* /proc/1/fd/*; do readlink \"$f\"; done > /out/$1.fds 2>&1; \
                find / -xdev -name exec.fifo > /out/$1.find 2>&1; \
                if test -e \"$2\"; then echo visible > /out/$1.root; fi; exit 0";
    let mut b = Bundle::new(&["sh", "-c", "/bin/look workload \"$0\"", "ROOT"]);
    let out = b.bind_dir("/out", false);
    b.script("/bin/look", look);
    let root = r.path().to_string_lossy().into_owned();
    b.edit(|c| {
        c["process"]["args"][3] = json!(root);
        c["hooks"] = json!({"startContainer": [
            {"path": "/bin/look", "args": ["look", "hook", root], "env": ["PATH=/bin"]}]});
    });
    let id = unique("hostile-fifo-reach");
    let o = r.run(&b, &id);
    o.ok();
    for who in ["hook", "workload"] {
        let fds = fs::read_to_string(out.join(format!("{who}.fds"))).unwrap();
        assert!(!fds.is_empty(), "{who} listed no descriptors");
        assert!(
            !fds.contains("exec.fifo") && !fds.contains(&root),
            "{who} holds: {fds}"
        );
        let found = fs::read_to_string(out.join(format!("{who}.find"))).unwrap();
        assert!(!found.contains("exec.fifo"), "{who} found: {found}");
        assert!(
            !out.join(format!("{who}.root")).exists(),
            "{who} sees the state root"
        );
    }
    nothing_left(&r, &b, &id, None);
}

/// A createRuntime hook (host root, the only one who can reach the state directory) swaps
/// exec.fifo for `what`: `start` must not write through it, must say so, and the container must
/// still delete. Returns start's output.
fn fifo_swapped(what: &str) -> Out {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "echo ran > /out/ran"]);
    let out = b.bind_dir("/out", false);
    let id = unique(&format!("hostile-fifo-{what}"));
    let fifo = r.path().join(&id).join("exec.fifo");
    let target = b.path().join("target");
    fs::write(&target, "untouched").unwrap();
    let swap = match what {
        "symlink" => format!("ln -s {} {}", target.display(), fifo.display()),
        "file" => format!("echo planted > {}", fifo.display()),
        "fifo" => format!("mkfifo {}", fifo.display()),
        _ => unreachable!(),
    };
    let hook = host_hook(
        b.path(),
        "swap.sh",
        &format!("rm -f {}\n{swap}", fifo.display()),
    );
    b.edit(|c| {
        c["hooks"] = json!({"createRuntime": [{"path": hook, "env": ["PATH=/usr/bin:/bin"]}]})
    });
    create(&r, &b, &id).ok();
    let pid = init_pid(&r, &id);
    let o = r.rampart(&["start", &id]);
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "untouched",
        "start wrote through the planted {what}"
    );
    assert!(!out.join("ran").exists(), "the workload ran: {o:#?}");
    // Whatever start said, the container answers and goes away.
    let st = r.rampart(&["state", &id]);
    st.ok();
    r.rampart(&["delete", "--force", &id]).ok();
    nothing_left(&r, &b, &id, Some(pid));
    o
}

#[test]
fn start_does_not_write_through_a_symlink_planted_as_exec_fifo() {
    let o = fifo_swapped("symlink");
    clear_error(&o);
    assert!(o.stderr.contains("exec.fifo"), "{o:#?}");
}

/// A regular file in its place: writing the byte into it would report a start that never
/// reached the init, which waits on the real fifo for ever.
#[test]
fn start_refuses_a_regular_file_planted_as_exec_fifo() {
    let o = fifo_swapped("file");
    clear_error(&o);
    assert!(o.stderr.contains("exec.fifo"), "{o:#?}");
}

/// Another fifo in its place has no reader: start fails at once instead of waiting for one.
#[test]
fn start_fails_on_a_foreign_fifo_planted_as_exec_fifo() {
    let o = fifo_swapped("fifo");
    clear_error(&o);
}

// ---------------------------------------------------------------- the terminal

/// `rampart run` proxies the pty of a terminal=true container (no console socket): a workload
/// that closes its terminal and goes on does not leave run stuck, and its exit code comes back.
#[test]
fn a_terminal_workload_that_closes_its_tty_does_not_hold_run() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "exec 0<&- 1>&- 2>&-; sleep 1; exit 5"]);
    b.edit(|c| c["process"]["terminal"] = true.into());
    let id = unique("hostile-tty-close");
    let o = r.run(&b, &id);
    assert_eq!(o.code, 5, "{o:#?}");
    nothing_left(&r, &b, &id, None);
}

/// A workload that hands its terminal to a background process flooding it, then exits: run
/// returns the init's code instead of copying the flood for ever. Without a pid namespace the
/// background process outlives the init; run's delete ends it.
#[test]
fn a_background_process_flooding_the_terminal_does_not_hold_run() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "yes flood & sleep 0.5; exit 6"]);
    b.edit(|c| c["process"]["terminal"] = true.into());
    b.drop_namespace("pid");
    let id = unique("hostile-tty-flood");
    // The flood is counted, not kept: the test is about run returning, not about disk space.
    let o = rampart_counting_stdout(
        &r,
        &[
            OsStr::new("run"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ],
    );
    assert_eq!(o.code, 6, "{o:#?}");
    assert!(
        counted(&o) > 0,
        "the flood never reached the terminal: {o:#?}"
    );
    nothing_left(&r, &b, &id, None);
}

/// The same through `exec -t`: the exec'd process leaves a flooder on the terminal and exits.
#[test]
fn a_background_process_flooding_the_terminal_does_not_hold_exec() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("hostile-exec-flood");
    create(&r, &b, &id).ok();
    let pid = init_pid(&r, &id);
    r.rampart(&["start", &id]).ok();
    let args = [
        "exec",
        "-t",
        &id,
        "sh",
        "-c",
        "yes flood & sleep 0.5; exit 7",
    ];
    let o = rampart_counting_stdout(&r, &args.map(OsStr::new));
    assert_eq!(o.code, 7, "{o:#?}");
    assert!(
        counted(&o) > 0,
        "the flood never reached the terminal: {o:#?}"
    );
    assert_eq!(r.status(&id), "running");
    r.rampart(&["delete", "--force", &id]).ok();
    nothing_left(&r, &b, &id, Some(pid));
}

/// `rampart --root R ARGS` under the guard with its stdout counted, not kept (a flood would fill
/// the harness's capture file): through `sh`, stdout into `wc -c`, which the returned `Out` has
/// as its stdout; the code is rampart's own (from a file, the pipeline's being wc's).
fn rampart_counting_stdout(r: &Root, args: &[&OsStr]) -> Out {
    let dir = TempDir::new("flood-code");
    let code_file = dir.path().join("code");
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg("f=$1; shift; { \"$@\"; echo $? > \"$f\"; } | wc -c")
        .arg("sh")
        .arg(&code_file)
        .arg(rampart_bin())
        .arg("--root")
        .arg(r.path())
        .args(args)
        .stdin(Stdio::null());
    let mut o = run_with_timeout(sh, GUARD);
    o.code = fs::read_to_string(&code_file)
        .unwrap_or_else(|e| panic!("no exit code from rampart ({e}): {o:#?}"))
        .trim()
        .parse()
        .unwrap();
    o
}

/// Bytes counted by [`rampart_counting_stdout`].
fn counted(o: &Out) -> u64 {
    o.stdout.trim().parse().unwrap_or(0)
}

// ---------------------------------------------------------------- output flood

/// A detached container whose stdout is a pipe nobody reads, written as fast as it can: it
/// blocks in write, and the runtime's commands answer all the same.
#[test]
fn a_container_flooding_an_unread_stdout_leaves_the_runtime_answering() {
    let r = Root::new();
    let mut b = Bundle::new(&["yes", "flood"]);
    let id = unique("hostile-flood");
    own_cgroup(&mut b, &id);
    // The create's stdout is a pipe this test holds open and never reads: the container
    // inherits it. create itself exits once the init is ready.
    let mut c = r.cmd(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    c.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let unread = child.stdout.take().unwrap();
    let end = Instant::now() + GUARD;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("create hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "create: {status:?}");
    let pid = init_pid(&r, &id);
    r.rampart(&["start", &id]).ok();
    // The pipe fills; then the workload sleeps in write.
    let blocked = || {
        fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("pipe"))
            || fs::read_to_string(format!("/proc/{pid}/stack")).is_ok_and(|s| s.contains("pipe"))
    };
    let end = Instant::now() + GUARD;
    while !blocked() {
        assert!(Instant::now() < end, "the flood never filled the pipe");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(r.status(&id), "running");
    assert!(r.ids().contains(&id));
    r.rampart(&["ps", &id]).ok();
    r.rampart(&["kill", &id, "KILL"]).ok();
    assert!(r.wait_status(&id, "stopped", 10));
    r.rampart(&["delete", &id]).ok();
    drop(unread);
    nothing_left(&r, &b, &id, Some(pid));
}

// ---------------------------------------------------------------- huge configs

/// 100,000 environment variables: the workload sees them all, or create refuses with a clear
/// error (execve's E2BIG beyond the kernel's limit on arguments and environment).
#[test]
fn a_config_with_100000_env_entries_works_or_is_refused_clearly() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "env | grep -c '^VT_'"]);
    b.edit(|c| {
        let mut env: Vec<Value> = vec![json!("PATH=/bin")];
        env.extend((0..100_000).map(|i| json!(format!("VT_{i}=x"))));
        c["process"]["env"] = Value::Array(env);
    });
    let id = unique("hostile-env");
    let o = r.run(&b, &id);
    eprintln!("100,000 env entries: exit {}, {}", o.code, o.stderr.trim());
    if o.code == 0 {
        assert_eq!(o.stdout.trim(), "100000", "{}", o.stderr);
    } else {
        clear_error(&o);
        assert!(
            o.stderr.to_lowercase().contains("argument list too long")
                || o.stderr.contains("environment"),
            "unclear: {}",
            o.stderr
        );
    }
    nothing_left(&r, &b, &id, None);
}

/// 1,000 tmpfs mounts: all are in the container, or create refuses clearly.
#[test]
fn a_config_with_1000_mounts_works_or_is_refused_clearly() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "grep -c ' /many/m' /proc/self/mountinfo"]);
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        for i in 0..1000 {
            mounts.push(
                json!({"destination": format!("/many/m{i}"), "type": "tmpfs",
                               "source": "tmpfs", "options": ["nosuid", "nodev", "size=4k"]}),
            );
        }
    });
    fs::create_dir_all(b.rootfs().join("many")).unwrap();
    for i in 0..1000 {
        fs::create_dir(b.rootfs().join(format!("many/m{i}"))).unwrap();
    }
    let id = unique("hostile-mounts");
    let o = r.run(&b, &id);
    eprintln!("1,000 mounts: exit {}, {}", o.code, o.stderr.trim());
    if o.code == 0 {
        assert_eq!(o.stdout.trim(), "1000", "{}", o.stderr);
    } else {
        clear_error(&o);
    }
    nothing_left(&r, &b, &id, None);
    assert!(host_mounts_containing("/many/m").is_empty());
}

/// A 1 MiB hostname (the kernel takes at most 64 bytes) and domainname: refused by name at
/// create, before any process or cgroup exists.
#[test]
fn a_one_mib_hostname_is_refused_clearly() {
    for field in ["hostname", "domainname"] {
        let r = Root::new();
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c[field] = json!("h".repeat(1 << 20)));
        let id = unique("hostile-hostname");
        let o = create(&r, &b, &id);
        clear_error(&o);
        assert!(
            o.stderr.contains(field) && o.stderr.contains("64"),
            "unclear: {}",
            &o.stderr[..o.stderr.len().min(400)]
        );
        assert!(
            o.stderr.len() < 4096,
            "the whole value is echoed back: {} bytes",
            o.stderr.len()
        );
        nothing_left(&r, &b, &id, None);
    }
}
