//! The OCI lifecycle through the real binary: create → start → state → kill → delete, run and
//! its exit codes and signal forwarding, list, --version.
use rampart_integration::*;
use std::ffi::OsStr;
use std::fs;
use std::process::Stdio;

/// A workload that records each signal it gets in /out and keeps running until `exit` is written.
const TRAPPER: &str = "trap 'echo TERM >> /out/sigs' TERM; trap 'echo USR1 >> /out/sigs' USR1; \
    trap 'echo HUP >> /out/sigs' HUP; touch /out/ready; \
    while [ ! -e /out/exit ]; do sleep 0.05; done";

fn cmdline(pid: i32) -> String {
    String::from_utf8_lossy(&fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .replace('\0', " ")
}

fn create_with_pidfile(r: &Root, b: &Bundle, id: &str, pid_file: &std::path::Path) -> Out {
    r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new("--pid-file"),
        pid_file.as_os_str(),
        OsStr::new(id),
    ])
}

#[test]
fn create_start_state_delete() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "touch /out/marker; sleep 1000"]);
    let out = b.bind_dir("/out", false);
    b.edit(|c| c["annotations"] = serde_json::json!({"org.example.key": "value-1"}));
    let id = unique("life");
    let pid_file = b.path().join("init.pid");
    create_with_pidfile(&r, &b, &id, &pid_file).ok();

    let st = r.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(
        st["bundle"],
        b.path().canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(st["annotations"]["org.example.key"], "value-1");
    assert!(
        st["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{st}"
    );
    let pid = st["pid"].as_i64().unwrap() as i32;
    assert!(pid > 0 && pid_alive(pid), "{st}");
    let written: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(written, pid, "--pid-file holds the init's host pid");

    // Created: the workload has not been executed yet; the init is still the runtime's clone,
    // sleeping (not spinning) on the exec fifo.
    assert!(!out.join("marker").exists(), "workload ran before start");
    assert!(
        cmdline(pid).contains("rampart"),
        "init already exec'd: {}",
        cmdline(pid)
    );
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let s = stat.rsplit(')').next().unwrap().trim_start();
    assert!(s.starts_with('S'), "created init is not sleeping: {stat}");

    r.rampart(&["start", &id]).ok();
    assert!(
        wait_for_path(&out.join("marker"), 10),
        "workload did not run after start"
    );
    assert_eq!(r.status(&id), "running");
    assert!(cmdline(pid).starts_with("sleep 1000"), "{}", cmdline(pid));
    // start of a running container is refused.
    let o = r.rampart(&["start", &id]);
    o.fails();
    assert!(o.stderr.contains("not created"), "{o:?}");

    // delete of a running container is refused without --force, and leaves it running.
    let o = r.rampart(&["delete", &id]);
    o.fails();
    assert!(o.stderr.contains("running"), "{o:?}");
    assert!(pid_alive(pid));
    assert_eq!(r.status(&id), "running");

    r.rampart(&["delete", "-f", &id]).ok();
    assert!(wait_pid_gone(pid, 10), "init survived delete -f");
    assert!(r.ids().is_empty());
    let o = r.rampart(&["state", &id]);
    o.fails();
    assert!(o.stderr.contains("does not exist"), "{o:?}");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn created_container_can_be_deleted_without_force() {
    let r = Root::new();
    let b = Bundle::new(&["true"]);
    let id = unique("created-del");
    r.create(&b, &id);
    let pid = r.state(&id)["pid"].as_i64().unwrap() as i32;
    r.rampart(&["delete", &id]).ok();
    assert!(wait_pid_gone(pid, 10));
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn stopped_state_and_plain_delete() {
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "exit 3"]);
    let id = unique("stopped");
    r.create(&b, &id);
    let pid = r.state(&id)["pid"].as_i64().unwrap() as i32;
    r.rampart(&["start", &id]).ok();
    assert!(r.wait_status(&id, "stopped", 10), "{}", r.state(&id));
    // As runc: a stopped container reports pid 0.
    assert_eq!(r.state(&id)["pid"], 0);
    assert!(!pid_alive(pid));
    let o = r.rampart(&["kill", &id, "KILL"]);
    o.fails();
    assert!(o.stderr.contains("not running"), "{o:?}");
    r.rampart(&["delete", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

fn start_trapper(r: &Root) -> (Bundle, std::path::PathBuf, String, i32) {
    let mut b = Bundle::new(&["sh", "-c", TRAPPER]);
    let out = b.bind_dir("/out", false);
    let id = unique("kill");
    r.create(&b, &id);
    r.rampart(&["start", &id]).ok();
    assert!(wait_for_path(&out.join("ready"), 10), "workload not ready");
    let pid = r.state(&id)["pid"].as_i64().unwrap() as i32;
    (b, out, id, pid)
}

fn wait_sigs(out: &std::path::Path, want: &str) -> String {
    let p = out.join("sigs");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = fs::read_to_string(&p).unwrap_or_default();
        if s == want || std::time::Instant::now() > end {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn kill_default_by_name_and_by_number() {
    let r = Root::new();
    let (b, out, id, pid) = start_trapper(&r);
    r.rampart(&["kill", &id]).ok();
    assert_eq!(
        wait_sigs(&out, "TERM\n"),
        "TERM\n",
        "default signal is TERM"
    );
    r.rampart(&["kill", &id, "USR1"]).ok();
    assert_eq!(wait_sigs(&out, "TERM\nUSR1\n"), "TERM\nUSR1\n");
    r.rampart(&["kill", &id, "SIGHUP"]).ok();
    assert_eq!(wait_sigs(&out, "TERM\nUSR1\nHUP\n"), "TERM\nUSR1\nHUP\n");
    r.rampart(&["kill", &id, "10"]).ok(); // SIGUSR1 on x86-64
    assert_eq!(
        wait_sigs(&out, "TERM\nUSR1\nHUP\nUSR1\n"),
        "TERM\nUSR1\nHUP\nUSR1\n"
    );
    let o = r.rampart(&["kill", &id, "NOSUCHSIG"]);
    o.fails();
    assert!(pid_alive(pid));
    r.rampart(&["kill", &id, "9"]).ok();
    assert!(wait_pid_gone(pid, 10));
    assert!(r.wait_status(&id, "stopped", 10));
    r.rampart(&["delete", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn kill_all_reaches_every_process() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "sleep 1000 & echo $! > /out/child1; sleep 1001 & echo $! > /out/child2; touch /out/ready; wait",
    ]);
    let out = b.bind_dir("/out", false);
    let id = unique("killall");
    r.create(&b, &id);
    let pid = r.state(&id)["pid"].as_i64().unwrap() as i32;
    r.rampart(&["start", &id]).ok();
    assert!(wait_for_path(&out.join("ready"), 10));
    let children = processes_containing("sleep 100");
    let ours: Vec<i32> = children
        .into_iter()
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/status"))
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    l.starts_with("PPid:") && l.split_whitespace().nth(1) == Some(&pid.to_string())
                })
        })
        .collect();
    assert_eq!(ours.len(), 2, "two sleeping children of the init");
    r.rampart(&["kill", "--all", &id, "KILL"]).ok();
    for p in ours.iter().chain([pid].iter()) {
        assert!(wait_pid_gone(*p, 10), "pid {p} survived kill --all");
    }
    assert!(r.wait_status(&id, "stopped", 10));
    r.rampart(&["delete", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn duplicate_id_is_refused() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("dup");
    r.create(&b, &id);
    let pid = r.state(&id)["pid"].as_i64().unwrap();
    let o = r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.fails();
    assert!(o.stderr.contains("already exists"), "{o:?}");
    // The first container is untouched.
    let st = r.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"].as_i64().unwrap(), pid);
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn run_exit_codes() {
    let r = Root::new();
    for (args, code) in [
        (vec!["true"], 0),
        (vec!["sh", "-c", "exit 7"], 7),
        (vec!["false"], 1),
    ] {
        let b = Bundle::new(&args);
        let id = unique("exit");
        assert_eq!(r.run(&b, &id).code, code, "{args:?}");
        assert_nothing_left(&r, &b, &id);
    }
    // Killed by SIGKILL: 128+9. Without a pid namespace the shell is not an init and the kernel
    // does deliver its own SIGKILL.
    let mut b = Bundle::new(&["sh", "-c", "kill -KILL $$; sleep 5"]);
    b.drop_namespace("pid");
    let id = unique("exit");
    assert_eq!(r.run(&b, &id).code, 137);
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn run_exit_code_when_killed_from_outside() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "touch /out/ready; sleep 1000"]);
    let out = b.bind_dir("/out", false);
    let id = unique("killed");
    let pid_file = b.path().join("run.pid");
    let child = r
        .cmd(&[
            OsStr::new("run"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new("--pid-file"),
            pid_file.as_os_str(),
            OsStr::new(&id),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for_path(&out.join("ready"), 10));
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        r.state(&id)["pid"],
        pid,
        "run --pid-file holds the init's pid"
    );
    // SAFETY-free test code: SIGKILL to the container's init, whose pid we just read.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(137), "{o:?}");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn run_forwards_signals() {
    for (sig, code) in [(libc::SIGTERM, 42), (libc::SIGUSR1, 43)] {
        let r = Root::new();
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "trap 'exit 42' TERM; trap 'exit 43' USR1; touch /out/ready; \
             while true; do sleep 0.05; done",
        ]);
        let out = b.bind_dir("/out", false);
        let id = unique("fwd");
        let child = r
            .cmd(&[
                OsStr::new("run"),
                OsStr::new("--bundle"),
                b.path().as_os_str(),
                OsStr::new(&id),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(wait_for_path(&out.join("ready"), 10));
        // Signal the foreground `rampart run` process itself; it must pass the signal on.
        unsafe { libc::kill(child.id() as i32, sig) };
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(code), "signal {sig}: {o:?}");
        assert_nothing_left(&r, &b, &id);
    }
}

#[test]
fn run_detached_then_list() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id_a = unique("detached-a");
    let id_b = unique("detached-b-longer-name");
    for id in [&id_a, &id_b] {
        let o = r.rampart(&[
            OsStr::new("run"),
            OsStr::new("-d"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(id.as_str()),
        ]);
        o.ok();
        assert_eq!(r.status(id), "running");
    }
    let mut ids = vec![id_a.clone(), id_b.clone()];
    ids.sort();
    assert_eq!(r.ids(), ids, "list -q");

    let o = r.rampart(&["list", "--format", "json"]);
    o.ok();
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    for e in arr {
        assert_eq!(e["status"], "running");
        assert!(e["pid"].as_i64().unwrap() > 0);
        assert_eq!(
            e["bundle"],
            b.path().canonicalize().unwrap().to_str().unwrap()
        );
    }

    // The table: a header, one row per container, every column starting at the same offset in
    // each line (runc pads with a tabwriter).
    let o = r.rampart(&["list"]);
    o.ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", o.stdout);
    let header = lines[0];
    let cols = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
    let starts: Vec<usize> = cols.iter().map(|c| header.find(c).unwrap()).collect();
    assert_eq!(starts[0], 0);
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 6, "row {line:?}");
        assert!(ids.contains(&fields[0].to_string()));
        assert_eq!(fields[2], "running");
        assert_eq!(fields[5], "root", "owner of the state dir");
        for (i, f) in fields.iter().enumerate() {
            // Each field starts at its header's column, with at least 3 spaces before the next.
            assert_eq!(
                line[starts[i]..].split_whitespace().next(),
                Some(*f),
                "{line:?} col {i}"
            );
            if i > 0 {
                assert_eq!(&line[starts[i] - 3..starts[i]], "   ", "{line:?} col {i}");
            }
        }
    }
    for id in [&id_a, &id_b] {
        r.rampart(&["delete", "-f", id.as_str()]).ok();
        assert_nothing_left(&r, &b, id);
    }
    assert!(r.ids().is_empty());
    // An empty list still prints the header.
    let o = r.rampart(&["list"]);
    o.ok();
    assert!(o.stdout.starts_with("ID"), "{o:?}");
}

#[test]
fn version_names_version_spec_and_commit() {
    let r = Root::new();
    let o = r.rampart(&["--version"]);
    o.ok();
    let s = o.stdout;
    // runc's first line is "runc version X"; Docker's `info` parses that shape.
    assert_eq!(
        s.lines().next().unwrap_or(""),
        concat!("rampart version ", env!("CARGO_PKG_VERSION")),
        "{s}"
    );
    assert_eq!(r.rampart(&["-v"]).stdout, s, "-v is --version, as in runc");
    assert!(s.lines().any(|l| l.starts_with("spec: 1.")), "{s}");
    let commit = s
        .lines()
        .find_map(|l| l.strip_prefix("commit: "))
        .unwrap_or("");
    assert!(!commit.trim().is_empty(), "{s}");
}
