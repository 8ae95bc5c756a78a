//! OCI hooks through the real binary: every kind runs, in lifecycle order, with the state JSON on
//! stdin; a failing or hanging createRuntime hook fails `create` and leaves nothing behind.
use rampart_integration::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A host shell script that appends "<name> <stdin>" as one line to `log`.
fn logging_hook(dir: &Path, log: &Path) -> PathBuf {
    let p = dir.join("hook.sh");
    fs::write(
        &p,
        format!("#!/bin/sh\ns=$(cat)\necho \"$1 $s\" >> {}\n", log.display()),
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn hook(path: &Path, name: &str) -> Value {
    json!({"path": path, "args": ["hook", name], "env": ["PATH=/usr/bin:/bin"]})
}

/// (hook name, state JSON) per line of the log.
fn read_log(log: &Path) -> Vec<(String, Value)> {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (name, js) = l.split_once(' ').unwrap_or((l, ""));
            let v = serde_json::from_str(js).unwrap_or_else(|e| panic!("hook stdin {js:?}: {e}"));
            (name.to_string(), v)
        })
        .collect()
}

#[test]
fn all_hooks_run_in_order_with_state_on_stdin() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "touch /out/workload; sleep 1000"]);
    let out = b.bind_dir("/out", false);
    let log = out.join("log");
    let host_hook = logging_hook(b.path(), &log);
    // startContainer runs inside the container after pivot_root: its path is in the rootfs and
    // it writes to the same log through the /out volume.
    b.script("/bin/hook-in", "s=$(cat)\necho \"$1 $s\" >> /out/log");
    b.edit(|c| {
        c["annotations"] = json!({"hook.test": "yes"});
        c["hooks"] = json!({
            "prestart": [hook(&host_hook, "prestart")],
            "createRuntime": [hook(&host_hook, "createRuntime")],
            "createContainer": [hook(&host_hook, "createContainer")],
            "startContainer": [{"path": "/bin/hook-in", "args": ["hook-in", "startContainer"],
                                "env": ["PATH=/bin"]}],
            "poststart": [hook(&host_hook, "poststart")],
            "poststop": [hook(&host_hook, "poststop"), hook(&host_hook, "poststop2")],
        });
    });
    let id = unique("hooks");
    r.create(&b, &id);
    let pid = r.state(&id)["pid"].as_i64().unwrap();
    let names = |v: &[(String, Value)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&read_log(&log)),
        ["prestart", "createRuntime", "createContainer"]
    );
    r.rampart(&["start", &id]).ok();
    // poststart runs before `start` returns; startContainer ran before the workload's exec.
    assert_eq!(
        names(&read_log(&log)),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart"
        ]
    );
    assert!(wait_for_path(&out.join("workload"), 10));
    r.rampart(&["kill", &id, "KILL"]).ok();
    assert!(r.wait_status(&id, "stopped", 10));
    r.rampart(&["delete", &id]).ok();
    let entries = read_log(&log);
    assert_eq!(
        names(&entries),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop",
            "poststop2"
        ]
    );
    let bundle = b.path().canonicalize().unwrap();
    for (name, st) in &entries {
        assert_eq!(st["id"], id.as_str(), "{name}: {st}");
        assert_eq!(st["bundle"], bundle.to_str().unwrap(), "{name}: {st}");
        assert_eq!(st["annotations"]["hook.test"], "yes", "{name}: {st}");
        assert!(st["ociVersion"].is_string(), "{name}: {st}");
        let want = match name.as_str() {
            "prestart" | "createRuntime" | "createContainer" => "creating",
            "startContainer" => "created",
            "poststart" => "running",
            _ => "stopped",
        };
        assert_eq!(st["status"], want, "{name}: {st}");
        if !name.starts_with("poststop") {
            assert_eq!(st["pid"].as_i64(), Some(pid), "{name}: {st}");
        }
    }
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn run_runs_hooks_and_poststop() {
    let r = Root::new();
    let mut b = Bundle::new(&["true"]);
    let log = b.path().join("log");
    let host_hook = logging_hook(b.path(), &log);
    b.edit(|c| {
        c["hooks"] = json!({
            "createRuntime": [hook(&host_hook, "createRuntime")],
            "poststart": [hook(&host_hook, "poststart")],
            "poststop": [hook(&host_hook, "poststop")],
        })
    });
    let id = unique("hooks-run");
    r.run(&b, &id).ok();
    let names: Vec<String> = read_log(&log).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["createRuntime", "poststart", "poststop"]);
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    let r = Root::new();
    let mut b = Bundle::new(&["true"]);
    let log = b.path().join("log");
    let host_hook = logging_hook(b.path(), &log);
    b.edit(|c| {
        c["hooks"] = json!({
            "createRuntime": [
                hook(&host_hook, "first"),
                {"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]},
                hook(&host_hook, "never"),
            ],
            "poststop": [hook(&host_hook, "poststop")],
        })
    });
    let id = unique("hook-fail");
    let o = r.rampart(&[
        std::ffi::OsStr::new("create"),
        std::ffi::OsStr::new("--bundle"),
        b.path().as_os_str(),
        std::ffi::OsStr::new(&id),
    ]);
    o.fails();
    assert!(o.stderr.contains("createRuntime"), "{o:?}");
    assert!(o.stderr.contains("status 3"), "{o:?}");
    let names: Vec<String> = read_log(&log).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["first"], "hooks after the failing one must not run");
    assert!(r.ids().is_empty());
    assert_nothing_left(&r, &b, &id);
    assert!(
        processes_containing(&id).is_empty(),
        "init of {id} left running"
    );
}

#[test]
fn hook_timeout_kills_the_hook_and_fails_create() {
    let r = Root::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["hooks"] = json!({
            "createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "31337"], "timeout": 1}],
        })
    });
    let id = unique("hook-timeout");
    let o = r.rampart(&[
        std::ffi::OsStr::new("create"),
        std::ffi::OsStr::new("--bundle"),
        b.path().as_os_str(),
        std::ffi::OsStr::new(&id),
    ]);
    o.fails();
    assert!(o.stderr.contains("timeout"), "{o:?}");
    assert!(
        processes_containing("sleep 31337").is_empty(),
        "the timed-out hook still runs"
    );
    assert!(
        processes_containing(&id).is_empty(),
        "init of {id} left running"
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn relative_hook_path_is_refused() {
    let r = Root::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["hooks"] = json!({"prestart": [{"path": "bin/true"}]}));
    let id = unique("hook-rel");
    let o = r.run(&b, &id);
    o.fails();
    assert!(o.stderr.contains("absolute"), "{o:?}");
    assert_nothing_left(&r, &b, &id);
}

/// A hook that never reads its stdin, given a state bigger than a pipe holds (large
/// annotations): the write of the state must not outlast the hook's timeout. A startContainer
/// hook is a program of the image, so this is the container holding the runtime.
#[test]
fn a_hook_that_never_reads_its_stdin_still_times_out() {
    let r = Root::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["annotations"] = json!({"big": "x".repeat(200_000)});
        c["hooks"] = json!({"prestart": [
            {"path": "/bin/sleep", "args": ["sleep", "31338"], "timeout": 1}
        ]});
    });
    let id = unique("hook-noread");
    let t = std::time::Instant::now();
    let o = r.run(&b, &id);
    o.fails();
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "the hook's timeout did not hold: {:?}",
        t.elapsed()
    );
    assert!(o.stderr.contains("timeout"), "{o:?}");
    assert!(
        processes_containing("sleep 31338").is_empty(),
        "the timed-out hook still runs"
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn a_start_container_hook_without_env_gets_the_process_environment() {
    // runc runs it with the container process's environment; one with env gets only its own.
    let r = Root::new();
    let mut b = Bundle::new(&["cat", "/tmp/hook-env"]);
    b.script(
        "/bin/env-hook",
        "echo \"$1 MARK=${MARK:-unset} OWN=${OWN:-unset}\" >> /tmp/hook-env",
    );
    b.edit(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("MARK=from-process"));
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
        c["hooks"] = json!({"startContainer": [
            {"path": "/bin/env-hook", "args": ["env-hook", "bare"]},
            {"path": "/bin/env-hook", "args": ["env-hook", "own"], "env": ["OWN=yes", "PATH=/bin"]}
        ]});
    });
    let id = unique("hook-env");
    let o = r.run(&b, &id);
    o.ok();
    assert_eq!(
        o.stdout, "bare MARK=from-process OWN=unset\nown MARK=unset OWN=yes\n",
        "{o:#?}"
    );
}

/// runtime-spec 1.3, lifecycle step 9: a failing poststart hook makes `start` fail and stops
/// the container; the hooks after it do not run; `delete` then runs poststop and cleans up.
#[test]
fn a_failing_poststart_hook_fails_start_and_stops_the_container() {
    let r = Root::new();
    let mut b = Bundle::new(&["sleep", "300"]);
    let log = b.path().join("log");
    let host_hook = logging_hook(b.path(), &log);
    b.edit(|c| {
        c["hooks"] = json!({
            "poststart": [
                hook(&host_hook, "first"),
                {"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]},
                hook(&host_hook, "never"),
            ],
            "poststop": [hook(&host_hook, "poststop")],
        })
    });
    let id = unique("poststart-fail");
    r.create(&b, &id).ok();
    let pid = r.state(&id)["pid"].as_i64().unwrap() as i32;
    let o = r.rampart(&["start", &id]);
    o.fails();
    assert!(o.stderr.contains("poststart"), "{o:?}");
    assert!(o.stderr.contains("status 4"), "{o:?}");
    assert!(
        wait_pid_gone(pid, 10),
        "the workload still runs after the failed start"
    );
    assert!(r.wait_status(&id, "stopped", 10), "{}", r.status(&id));
    r.rampart(&["delete", &id]).ok();
    let names: Vec<String> = read_log(&log).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["first", "poststop"]);
    assert_nothing_left(&r, &b, &id);
}
