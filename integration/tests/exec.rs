//! `rampart exec` through the real binary: output and exit codes, namespaces and cgroup joined,
//! capabilities, the --process JSON, detached exec with a pid file, the env/user/cwd flags,
//! refusals, and --preserve-fds / LISTEN_FDS.
use rampart_integration::*;
use serde_json::json;
use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

/// Creates and starts a container whose init sleeps; returns the init's host pid.
fn start_sleeper(r: &Root, b: &Bundle, id: &str) -> i32 {
    let st = r
        .cmd(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(id),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    assert!(st.success(), "create {id} failed");
    r.rampart(&["start", id]).ok();
    assert!(r.wait_status(id, "running", 10));
    r.state(id)["pid"].as_i64().unwrap() as i32
}

fn exec(r: &Root, id: &str, args: &[&str]) -> Out {
    let mut v = vec!["exec", id];
    v.extend_from_slice(args);
    r.rampart(&v)
}

/// `exec --detach --pid-file F` with stdio away from pipes (the detached process keeps its stdio,
/// so a pipe would never reach end of file); returns the pid from the file.
fn exec_detached(r: &Root, b: &Bundle, id: &str, name: &str, args: &[&str]) -> i32 {
    let pid_file = b.path().join(format!("{name}.pid"));
    let err_file = b.path().join(format!("{name}.err"));
    let mut v: Vec<&OsStr> = vec![
        OsStr::new("exec"),
        OsStr::new("--detach"),
        OsStr::new("--pid-file"),
    ];
    v.push(pid_file.as_os_str());
    v.push(OsStr::new(id));
    v.extend(args.iter().map(OsStr::new));
    let mut child = r
        .cmd(&v)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_file).unwrap())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("exec --detach did not return");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let err = std::fs::read_to_string(&err_file).unwrap_or_default();
    assert!(status.success(), "exec --detach failed: {err}");
    std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn sleeper() -> Bundle {
    Bundle::new(&["sleep", "1000"])
}

#[test]
fn exec_prints_and_returns_the_exit_code() {
    let r = Root::new();
    let b = sleeper();
    let id = unique("exec-code");
    start_sleeper(&r, &b, &id);
    let o = exec(
        &r,
        &id,
        &["sh", "-c", "echo out-line; echo err-line >&2; exit 7"],
    );
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(o.stdout.trim(), "out-line");
    assert!(o.stderr.contains("err-line"), "{o:?}");
    let o = exec(&r, &id, &["sh", "-c", "kill -9 $$"]);
    assert_eq!(o.code, 137, "{o:?}");
    // A missing command is an error of the exec itself.
    let o = exec(&r, &id, &["/no/such/binary"]);
    o.fails();
    assert!(o.stderr.contains("no/such/binary"), "{o:?}");
    // The container is unharmed by all of it.
    assert_eq!(r.status(&id), "running");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn exec_joins_every_namespace_and_the_cgroup_of_the_init() {
    let r = Root::new();
    let b = sleeper();
    let id = unique("exec-ns");
    let init = start_sleeper(&r, &b, &id);
    let names = ["pid", "mnt", "net", "uts", "ipc", "cgroup", "user", "time"];
    let script: String = names
        .iter()
        .map(|n| format!("echo {n} $(readlink /proc/self/ns/{n});"))
        .collect();
    let o = exec(&r, &id, &["sh", "-c", &script]);
    o.ok();
    for n in names {
        let want = std::fs::read_link(format!("/proc/{init}/ns/{n}")).unwrap();
        let line = format!("{n} {}", want.display());
        assert!(
            o.stdout.lines().any(|l| l == line),
            "{n}: want {line:?} in {}",
            o.stdout
        );
    }
    // Inside its own pid namespace the init is 1, so the exec'd shell is not.
    let o = exec(&r, &id, &["sh", "-c", "echo $$; cat /proc/1/cmdline"]);
    o.ok();
    let mut lines = o.stdout.lines();
    assert_ne!(lines.next(), Some("1"));
    assert!(o.stdout.contains("sleep"), "{o:?}");

    // The cgroup, seen from the host, is the init's.
    let pid = exec_detached(&r, &b, &id, "ns", &["sleep", "1000"]);
    let cg = |p: i32| std::fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
    assert_eq!(cg(pid), cg(init));
    assert!(cg(pid).contains(&id), "{}", cg(pid));
    for n in names {
        assert_eq!(
            std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap(),
            std::fs::read_link(format!("/proc/{init}/ns/{n}")).unwrap(),
            "{n}"
        );
    }
    r.rampart(&["delete", "--force", &id]).ok();
    assert!(wait_pid_gone(pid, 10), "exec'd process survived delete");
    assert_nothing_left(&r, &b, &id);
}

fn status_field(out: &str, field: &str) -> String {
    out.lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
        .unwrap_or_default()
}

#[test]
fn exec_gets_the_containers_confinement_and_no_inheritable_or_ambient_caps() {
    let r = Root::new();
    let b = sleeper();
    let id = unique("exec-caps");
    start_sleeper(&r, &b, &id);
    let o = exec(&r, &id, &["cat", "/proc/self/status"]);
    o.ok();
    assert_eq!(status_field(&o.stdout, "CapInh"), "0000000000000000");
    assert_eq!(status_field(&o.stdout, "CapAmb"), "0000000000000000");
    // rampart spec's default: AUDIT_WRITE, KILL, NET_BIND_SERVICE.
    assert_eq!(status_field(&o.stdout, "CapEff"), "0000000020000420");
    assert_eq!(status_field(&o.stdout, "CapBnd"), "0000000020000420");
    assert_eq!(status_field(&o.stdout, "NoNewPrivs"), "1");
    // The init's rlimit holds for exec'd processes too.
    let o = exec(&r, &id, &["sh", "-c", "ulimit -n"]);
    assert_eq!(o.stdout.trim(), "1024", "{o:?}");

    // --cap adds to bounding/effective/permitted only.
    let o = exec(
        &r,
        &id,
        &["--cap", "CAP_SYS_ADMIN", "cat", "/proc/self/status"],
    );
    o.ok();
    assert_eq!(status_field(&o.stdout, "CapEff"), "0000000020200420");
    assert_eq!(status_field(&o.stdout, "CapInh"), "0000000000000000");
    assert_eq!(status_field(&o.stdout, "CapAmb"), "0000000000000000");
}

#[test]
fn exec_cap_with_an_empty_or_a_used_inheritable_set() {
    let r = Root::new();
    // An empty inheritable list: --cap goes to bounding/effective/permitted, not ambient (which
    // could not be raised without it).
    let mut b = sleeper();
    b.edit(|c| c["process"]["capabilities"]["inheritable"] = json!([]));
    let id = unique("exec-cap-inh0");
    start_sleeper(&r, &b, &id);
    let o = exec(
        &r,
        &id,
        &["--cap", "CAP_NET_RAW", "cat", "/proc/self/status"],
    );
    o.ok();
    assert_eq!(
        status_field(&o.stdout, "CapEff"),
        "0000000020002420",
        "{o:?}"
    );
    assert_eq!(status_field(&o.stdout, "CapAmb"), "0000000000000000");
    r.rampart(&["delete", "--force", &id]).ok();

    // A config that uses ambient capabilities (a non-root workload keeping CAP_KILL): --cap's
    // capability reaches a non-root exec'd process through ambient too.
    let mut b = sleeper();
    b.edit(|c| {
        c["process"]["capabilities"]["inheritable"] = json!(["CAP_KILL"]);
        c["process"]["capabilities"]["ambient"] = json!(["CAP_KILL"]);
    });
    let id = unique("exec-cap-amb");
    start_sleeper(&r, &b, &id);
    let o = exec(
        &r,
        &id,
        &[
            "-u",
            "1000",
            "--cap",
            "CAP_NET_RAW",
            "cat",
            "/proc/self/status",
        ],
    );
    o.ok();
    // KILL (5) and NET_RAW (13).
    assert_eq!(
        status_field(&o.stdout, "CapAmb"),
        "0000000000002020",
        "{o:?}"
    );
    assert_eq!(
        status_field(&o.stdout, "CapEff"),
        "0000000000002020",
        "{o:?}"
    );
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn exec_with_a_process_json() {
    let r = Root::new();
    let b = sleeper();
    let id = unique("exec-json");
    start_sleeper(&r, &b, &id);
    let p = b.path().join("process.json");
    write_file(
        &p,
        r#"{"terminal":false,"user":{"uid":65534,"gid":65534,"additionalGids":[5]},
            "args":["sh","-c","echo $GREETING; id -u; id -g; id -G; pwd; grep CapBnd /proc/self/status"],
            "env":["PATH=/bin","GREETING=hello-json"],"cwd":"/tmp",
            "capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}}"#,
    );
    let o = r.rampart(&[
        OsStr::new("exec"),
        OsStr::new("--process"),
        p.as_os_str(),
        OsStr::new(&id),
    ]);
    o.ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "hello-json");
    assert_eq!(lines[1], "65534");
    assert_eq!(lines[2], "65534");
    assert!(lines[3].split_whitespace().any(|g| g == "5"), "{o:?}");
    assert_eq!(lines[4], "/tmp");
    // The JSON's capabilities replace the container's (bounding: CAP_KILL only).
    assert!(lines[5].ends_with("0000000000000020"), "{o:?}");
    // A bad process file is an error, not a panic.
    write_file(&p, "{not json");
    let o = r.rampart(&[
        OsStr::new("exec"),
        OsStr::new("--process"),
        p.as_os_str(),
        OsStr::new(&id),
    ]);
    o.fails();
    assert!(o.stderr.contains("process JSON"), "{o:?}");
}

#[test]
fn exec_env_user_and_cwd_flags() {
    let r = Root::new();
    let b = sleeper();
    let id = unique("exec-flags");
    start_sleeper(&r, &b, &id);
    let o = exec(
        &r,
        &id,
        &[
            "-e",
            "FOO=bar",
            "--env",
            "TERM=dumb",
            "-u",
            "1000:1001",
            "-g",
            "7",
            "--cwd",
            "/tmp",
            "--",
            "sh",
            "-c",
            "echo $FOO $TERM; id -u; id -g; id -G; pwd",
        ],
    );
    o.ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "bar dumb");
    assert_eq!(lines[1], "1000");
    assert_eq!(lines[2], "1001");
    assert!(lines[3].split_whitespace().any(|g| g == "7"), "{o:?}");
    assert_eq!(lines[4], "/tmp");
    // A relative --cwd is refused before anything runs.
    exec(&r, &id, &["--cwd", "tmp", "true"]).fails();
    exec(&r, &id, &["-u", "nobody:x", "true"]).fails();
}

#[test]
fn detached_exec_writes_the_host_pid() {
    let r = Root::new();
    let b = sleeper();
    let id = unique("exec-detach");
    let init = start_sleeper(&r, &b, &id);
    let pid = exec_detached(&r, &b, &id, "d", &["sleep", "777"]);
    assert_ne!(pid, init);
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmd, b"sleep\0777\0");
    // Its host pid is the first of NSpid; inside it has another one.
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid: Vec<&str> = st
        .lines()
        .find(|l| l.starts_with("NSpid:"))
        .unwrap()
        .split_whitespace()
        .skip(1)
        .collect();
    assert_eq!(nspid.len(), 2, "{nspid:?}");
    assert_eq!(nspid[0], pid.to_string());
    r.rampart(&["delete", "--force", &id]).ok();
    assert!(wait_pid_gone(pid, 10));
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn exec_is_refused_in_stopped_and_paused_containers() {
    let r = Root::new();
    let b = Bundle::new(&["true"]);
    let id = unique("exec-stopped");
    let st = r
        .cmd(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    r.rampart(&["start", &id]).ok();
    assert!(r.wait_status(&id, "stopped", 10));
    let o = exec(&r, &id, &["true"]);
    o.fails();
    assert!(o.stderr.contains("stopped"), "{o:?}");

    let b2 = sleeper();
    let id2 = unique("exec-paused");
    start_sleeper(&r, &b2, &id2);
    let paused = r.rampart(&["pause", &id2]);
    if paused.code != 0 {
        // No `pause` command yet: freeze through the v1 freezer directly.
        let f = format!("/sys/fs/cgroup/freezer/rampart-{id2}/freezer.state");
        std::fs::write(&f, "FROZEN").unwrap();
    }
    assert!(r.wait_status(&id2, "paused", 10));
    let o = exec(&r, &id2, &["true"]);
    o.fails();
    assert!(o.stderr.contains("paused"), "{o:?}");
    if paused.code == 0 {
        r.rampart(&["resume", &id2]).ok();
    } else {
        let f = format!("/sys/fs/cgroup/freezer/rampart-{id2}/freezer.state");
        std::fs::write(&f, "THAWED").unwrap();
    }
    assert!(r.wait_status(&id2, "running", 10));
    exec(&r, &id2, &["true"]).ok();
    // Unknown container.
    exec(&r, "no-such-container", &["true"]).fails();
}

/// A command with `file` open as descriptor 3 (and nothing else above stdio).
fn with_fd3(mut c: std::process::Command, file: &std::fs::File) -> std::process::Command {
    use std::os::fd::AsRawFd;
    let raw = file.as_raw_fd();
    // SAFETY: between fork and exec only async-signal-safe dup2/fcntl are called.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::fcntl(3, libc::F_SETFD, 0);
            Ok(())
        });
    }
    c
}

/// `c` run through a shell that sets LISTEN_PID to its own pid and execs the command, so the
/// socket-activation fds are meant for the rampart process itself (sd_listen_fds protocol).
fn with_listen_pid(c: &std::process::Command) -> std::process::Command {
    let mut w = std::process::Command::new("sh");
    w.arg("-c")
        .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
        .arg(c.get_program())
        .args(c.get_args())
        .stdin(std::process::Stdio::null());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    w
}

#[test]
fn preserve_fds_and_listen_fds_reach_exec_and_run() {
    let r = Root::new();
    let b = sleeper();
    let id = unique("exec-fds");
    start_sleeper(&r, &b, &id);
    let data = b.path().join("fd3.txt");
    write_file(&data, "preserved-content\n");

    let f = std::fs::File::open(&data).unwrap();
    let c = r.cmd(&[
        "exec",
        "--preserve-fds",
        "1",
        &id,
        "sh",
        "-c",
        "cat <&3; test -e /proc/self/fd/4 && echo leaked-4 || echo no-fd-4",
    ]);
    let o = run_with_timeout(with_fd3(c, &f), Duration::from_secs(60));
    o.ok();
    assert_eq!(o.stdout, "preserved-content\nno-fd-4\n", "{o:?}");
    // --preserve-fds 3 with only fd 3 given: 4 and 5 do not exist in the container either (no
    // placeholder of the runtime's gets through), for exec and for run.
    let f = std::fs::File::open(&data).unwrap();
    let c = r.cmd(&["exec", "--preserve-fds", "3", &id, "ls", "/proc/self/fd"]);
    let o = run_with_timeout(with_fd3(c, &f), Duration::from_secs(60));
    o.ok();
    let fds: Vec<&str> = o.stdout.split_whitespace().collect();
    assert_eq!(
        fds,
        ["0", "1", "2", "3", "4"],
        "fd 4 is ls's own directory: {o:?}"
    );
    let b2 = Bundle::new(&["ls", "/proc/self/fd"]);
    let f = std::fs::File::open(&data).unwrap();
    let c = r.cmd(&[
        "run",
        "--preserve-fds",
        "3",
        "--bundle",
        b2.path().to_str().unwrap(),
        &unique("run-fds"),
    ]);
    let o = run_with_timeout(with_fd3(c, &f), Duration::from_secs(60));
    o.ok();
    let fds: Vec<&str> = o.stdout.split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2", "3", "4"], "{o:?}");
    // Without --preserve-fds the descriptor does not get in.
    let f = std::fs::File::open(&data).unwrap();
    let c = r.cmd(&["exec", &id, "sh", "-c", "cat <&3 || echo closed"]);
    let o = run_with_timeout(with_fd3(c, &f), Duration::from_secs(60));
    assert!(o.stdout.contains("closed"), "{o:?}");

    // LISTEN_FDS: passed on, LISTEN_PID names the process as the container sees it.
    let f = std::fs::File::open(&data).unwrap();
    let mut c = r.cmd(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo $LISTEN_FDS $LISTEN_PID $$; cat <&3",
    ]);
    c.env("LISTEN_FDS", "1");
    let o = run_with_timeout(with_fd3(with_listen_pid(&c), &f), Duration::from_secs(60));
    o.ok();
    let first: Vec<&str> = o
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(first[0], "1");
    assert_eq!(
        first[1], first[2],
        "LISTEN_PID is not the process's pid: {o:?}"
    );
    assert!(o.stdout.contains("preserved-content"), "{o:?}");

    // run: the init gets them too (pid 1 in its own pid namespace).
    let b2 = Bundle::new(&["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3"]);
    let id2 = unique("run-fds");
    let f = std::fs::File::open(&data).unwrap();
    let mut c = r.cmd(&[
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b2.path().as_os_str(),
        OsStr::new(&id2),
    ]);
    c.env("LISTEN_FDS", "1");
    let o = run_with_timeout(with_fd3(with_listen_pid(&c), &f), Duration::from_secs(60));
    o.ok();
    assert_eq!(o.stdout, "1 1\npreserved-content\n", "{o:?}");
    let id3 = unique("run-preserve");
    let b3 = Bundle::new(&["sh", "-c", "cat <&3"]);
    let f = std::fs::File::open(&data).unwrap();
    let c = r.cmd(&[
        OsStr::new("run"),
        OsStr::new("--preserve-fds"),
        OsStr::new("1"),
        OsStr::new("--bundle"),
        b3.path().as_os_str(),
        OsStr::new(&id3),
    ]);
    let o = run_with_timeout(with_fd3(c, &f), Duration::from_secs(60));
    o.ok();
    assert_eq!(o.stdout, "preserved-content\n", "{o:?}");
    assert_nothing_left(&r, &b2, &id2);
    assert_nothing_left(&r, &b3, &id3);
}
