//! Two commands on one container id at the same time, through the real binary, many times:
//! create/create, create/delete, start/delete, start/start, delete/delete, exec/delete,
//! kill/delete, pause/exec, update/delete, and a delete-then-recreate of the id racing with
//! start, kill, delete and delete --force.
//!
//! Each round launches both commands at once (two threads meet at a barrier, then spawn), with
//! the second one shifted by a few hundred microseconds more each round (-4 ms to +4 ms), so
//! the rounds sweep the commands across each other's critical sections rather than hitting one
//! interleaving only. Then, for every round:
//!  - each command's outcome is one the two serial orders allow (or, where noted, an overlap
//!    that is still one winner): a success, or an error message that names the id and says why
//!    (exists, does not exist, its status); never a panic, an "os error", a warning, a hang (the
//!    60 s guard of `run_with_timeout`) or a corrupt state;
//!  - `state` and `list` agree with each other and with what won (a status, or gone);
//!  - after the final delete nothing is left: no state directory (nor anything else in the
//!    state root), no cgroup directory named after the id in any hierarchy, no mount
//!    mentioning the bundle or the state root, no process rooted in the bundle's rootfs.
use rampart_integration::*;
use serde_json::Value;
use std::ffi::OsString;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// Rounds per pair: two sweeps of the 17 offsets below, enough to see both orders and the
/// overlaps of every pair, few enough that the whole file stays well under two minutes.
const ROUNDS: usize = 34;

/// Rounds of each delete-then-recreate race: three sweeps. Its window (a directory present at
/// the id's name before its create holds the lock) is microseconds wide; on main, before the
/// fix in state.rs, these rounds hit it in most runs.
const RECREATE_ROUNDS: usize = 51;

/// The shift of the second command in round `i`: -4 ms to +4 ms in steps of 0.5 ms.
fn offset(i: usize) -> i64 {
    ((i % 17) as i64 - 8) * 500
}

/// A command line for `rampart --root <root> ...`.
fn args(a: &[&str]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

/// Runs the command lists `a` and `b` (each a sequence run back to back in its own thread) at
/// once: both threads meet at a barrier and then spawn, the second shifted by `shift_us`
/// (negative: the first waits instead). Returns every outcome, in order, for each side.
fn race(
    r: &Root,
    a: Vec<Vec<OsString>>,
    b: Vec<Vec<OsString>>,
    shift_us: i64,
) -> (Vec<Out>, Vec<Out>) {
    let barrier = Arc::new(Barrier::new(2));
    let side = |cmds: Vec<Vec<OsString>>, delay_us: i64| {
        let barrier = barrier.clone();
        let root = r.path().to_path_buf();
        std::thread::spawn(move || {
            let made: Vec<_> = cmds
                .iter()
                .map(|c| {
                    let mut cmd = std::process::Command::new(rampart_bin());
                    cmd.arg("--root").arg(&root).args(c);
                    cmd.stdin(std::process::Stdio::null());
                    cmd
                })
                .collect();
            barrier.wait();
            if delay_us > 0 {
                std::thread::sleep(Duration::from_micros(delay_us as u64));
            }
            made.into_iter()
                .map(|c| run_with_timeout(c, Duration::from_secs(60)))
                .collect::<Vec<_>>()
        })
    };
    let ta = side(a, -shift_us);
    let tb = side(b, shift_us);
    (ta.join().expect("side a"), tb.join().expect("side b"))
}

/// What a command came to: "ok", or the kind of error its message gives. Panics (failing the
/// test) on anything that is not a clear, expected error about this id: a panic, an
/// "os error", a message that does not name the id, a warning, or a crash by signal.
fn kind(o: &Out, id: &str, what: &str) -> &'static str {
    let ctx = || format!("{what}: {o:#?}");
    assert!(!o.stderr.contains("panicked"), "panic in {}", ctx());
    assert!(!o.stderr.contains("level=warning"), "warning in {}", ctx());
    if o.code == 0 {
        assert!(
            !o.stderr.contains("level=error"),
            "error on success in {}",
            ctx()
        );
        return "ok";
    }
    // rampart's own exit codes are 1 (an error), 255 for exec's own failures (runc's status
    // for "the runtime failed", as opposed to the process), or the process's (exec: 128+N by
    // signal N). The exec calls here are "exec round N" and side (a) of "exec-delete".
    if o.code == 137 && !o.stderr.contains("level=error") {
        return "killed";
    }
    let exec = what.starts_with("exec round") || what.starts_with("exec-delete (a)");
    assert_eq!(o.code, if exec { 255 } else { 1 }, "exit code of {}", ctx());
    let msg = o
        .stderr
        .lines()
        .filter_map(|l| l.split_once("level=error msg=").map(|(_, m)| m))
        .last()
        .unwrap_or_else(|| panic!("no error message in {}", ctx()));
    assert!(
        !msg.contains("os error"),
        "unclear error (a raw errno) in {}",
        ctx()
    );
    assert!(!msg.contains("corrupt"), "corrupt state in {}", ctx());
    assert!(
        msg.contains(id),
        "the error does not name the id in {}",
        ctx()
    );
    for (needle, k) in [
        ("already exists", "exists"),
        ("does not exist", "missing"),
        ("it is running, not created", "not-created"),
        ("that is running", "running"),
        ("in a paused container", "paused"),
        ("is not running", "not-running"),
    ] {
        if msg.contains(needle) {
            return k;
        }
    }
    panic!("unexpected error in {}", ctx());
}

/// The container as `state` and `list` see it: its status, or "gone". Panics if they disagree,
/// if the state is not the id's, or if a live status has no live init. A container whose init
/// was just killed may turn from created or running to stopped while it is read: it is read
/// again until state and list agree on a status whose init matches it.
fn final_status(r: &Root, id: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        let first = read_status(r, id);
        let list = r.rampart(&["list", "--format", "json"]);
        list.ok();
        assert!(list.stderr.is_empty(), "list warned: {list:#?}");
        let all: Value = serde_json::from_str(list.stdout.trim())
            .unwrap_or_else(|e| panic!("list json {e}: {list:?}"));
        let listed = all
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap_or("?").to_string())
            .unwrap_or_else(|| "gone".into());
        if first.as_deref() == Some(listed.as_str()) {
            return listed;
        }
        last = format!("state {first:?}, list {listed}");
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("state and list of {id} never agreed: {last}");
}

/// `state <id>`: Some(status) ("gone" when it does not exist), None when the init of a live
/// status is already dead (the status is about to change). The state.json file itself must
/// parse and name the id.
fn read_status(r: &Root, id: &str) -> Option<String> {
    let o = r.rampart(&["state", id]);
    if o.code != 0 {
        assert_eq!(kind(&o, id, "state"), "missing");
        assert!(
            !r.path().join(id).join("state.json").exists(),
            "state says gone, its state.json is there"
        );
        return Some("gone".into());
    }
    let st: Value =
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("state json {e}: {o:?}"));
    assert_eq!(st["id"], id, "{st}");
    let raw = std::fs::read(r.path().join(id).join("state.json")).expect("state.json");
    let saved: Value = serde_json::from_slice(&raw).expect("state.json parses");
    assert_eq!(saved["id"], id, "state.json of another container");
    let status = st["status"].as_str().unwrap_or("?").to_string();
    let pid = st["pid"].as_i64().unwrap_or(0) as i32;
    if status != "stopped" && !(pid > 0 && pid_alive(pid)) {
        return None;
    }
    Some(status)
}

/// Processes whose root directory is `rootfs` (or below it): a container's, whatever their
/// command line says.
fn processes_rooted_in(rootfs: &Path) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|p| p.starts_with(rootfs))
        })
        .collect()
}

/// Deletes what is left of `id` and asserts that nothing of it remains on the host.
#[track_caller]
fn delete_and_check_nothing_left(r: &Root, b: &Bundle, id: &str) {
    r.rampart(&["delete", "--force", id]).ok();
    assert_nothing_left(r, b, id);
    let root_mounts = host_mounts_containing(&r.path().to_string_lossy());
    assert!(
        root_mounts.is_empty(),
        "mounts of the state root: {root_mounts:#?}"
    );
    let left: Vec<_> = std::fs::read_dir(r.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "the state root still holds {left:?}");
    let rootfs = b.rootfs().canonicalize().unwrap();
    let procs = processes_rooted_in(&rootfs);
    assert!(procs.is_empty(), "processes of {id} left: {procs:?}");
}

/// A bundle whose process waits (so a started container stays running), with the cgroup
/// mounted read-only inside as `rampart spec` has it.
fn sleeper() -> Bundle {
    Bundle::new(&["sleep", "1000"])
}

fn create_cmd(b: &Bundle, id: &str) -> Vec<OsString> {
    vec![
        "create".into(),
        "--bundle".into(),
        b.path().into(),
        id.into(),
    ]
}

/// The shape of every pair test: `setup` brings the id to its starting point, then `a` and `b`
/// race; `allowed` lists the (a, b, final status) outcomes that are one winner; the final
/// status is checked against state and list, then everything is deleted and checked gone.
struct Pair<'a> {
    name: &'a str,
    setup: &'a dyn Fn(&Root, &Bundle, &str),
    a: &'a dyn Fn(&Bundle, &str) -> Vec<Vec<OsString>>,
    b: &'a dyn Fn(&Bundle, &str) -> Vec<Vec<OsString>>,
    allowed: &'a [(&'a str, &'a str, &'a str)],
}

fn run_pair(p: Pair<'_>) {
    let r = Root::new();
    let b = sleeper();
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..ROUNDS {
        let id = unique(&format!("race-{}", p.name));
        (p.setup)(&r, &b, &id);
        let (oa, ob) = race(&r, (p.a)(&b, &id), (p.b)(&b, &id), offset(i));
        let ka = kind(&oa[0], &id, &format!("{} (a) round {i}", p.name));
        let kb = kind(&ob[0], &id, &format!("{} (b) round {i}", p.name));
        let fin = final_status(&r, &id);
        let outcome = (ka, kb, fin.as_str());
        assert!(
            p.allowed.iter().any(|w| *w == outcome),
            "{} round {i}: outcome {outcome:?} is not one of {:?}\na: {:#?}\nb: {:#?}",
            p.name,
            p.allowed,
            oa,
            ob
        );
        *seen.entry(format!("{outcome:?}")).or_insert(0) += 1;
        delete_and_check_nothing_left(&r, &b, &id);
    }
    // Which interleavings the rounds reached (shown with --nocapture).
    eprintln!("{}: {ROUNDS} rounds: {seen:?}", p.name);
}

fn nothing(_: &Root, _: &Bundle, _: &str) {}

fn created(r: &Root, b: &Bundle, id: &str) {
    r.create(b, id);
}

fn running(r: &Root, b: &Bundle, id: &str) {
    r.create(b, id);
    r.rampart(&["start", id]).ok();
}

#[test]
fn create_create() {
    run_pair(Pair {
        name: "create-create",
        setup: &nothing,
        a: &|b, id| vec![create_cmd(b, id)],
        b: &|b, id| vec![create_cmd(b, id)],
        allowed: &[("ok", "exists", "created"), ("exists", "ok", "created")],
    });
}

#[test]
fn create_delete() {
    run_pair(Pair {
        name: "create-delete",
        setup: &nothing,
        a: &|b, id| vec![create_cmd(b, id)],
        b: &|_, id| vec![args(&["delete", id])],
        // create then delete (a created container is deleted without --force); or delete first.
        allowed: &[("ok", "ok", "gone"), ("ok", "missing", "created")],
    });
}

#[test]
fn start_delete() {
    run_pair(Pair {
        name: "start-delete",
        setup: &created,
        a: &|_, id| vec![args(&["start", id])],
        b: &|_, id| vec![args(&["delete", id])],
        allowed: &[("ok", "running", "running"), ("missing", "ok", "gone")],
    });
}

#[test]
fn start_start() {
    run_pair(Pair {
        name: "start-start",
        setup: &created,
        a: &|_, id| vec![args(&["start", id])],
        b: &|_, id| vec![args(&["start", id])],
        allowed: &[
            ("ok", "not-created", "running"),
            ("not-created", "ok", "running"),
        ],
    });
}

#[test]
fn delete_delete() {
    run_pair(Pair {
        name: "delete-delete",
        setup: &created,
        a: &|_, id| vec![args(&["delete", id])],
        b: &|_, id| vec![args(&["delete", id])],
        allowed: &[("ok", "missing", "gone"), ("missing", "ok", "gone")],
    });
}

#[test]
fn exec_delete() {
    run_pair(Pair {
        name: "exec-delete",
        setup: &running,
        a: &|_, id| vec![args(&["exec", id, "true"])],
        b: &|_, id| vec![args(&["delete", "--force", id])],
        // exec first; delete first; or the exec's process was in the container (exec had let go
        // of the lock) when the delete killed everything in it: exit 128+SIGKILL.
        allowed: &[
            ("ok", "ok", "gone"),
            ("missing", "ok", "gone"),
            ("killed", "ok", "gone"),
        ],
    });
}

#[test]
fn kill_delete() {
    run_pair(Pair {
        name: "kill-delete",
        setup: &running,
        a: &|_, id| vec![args(&["kill", id, "KILL"])],
        b: &|_, id| vec![args(&["delete", "--force", id])],
        allowed: &[("ok", "ok", "gone"), ("missing", "ok", "gone")],
    });
}

#[test]
fn update_delete() {
    run_pair(Pair {
        name: "update-delete",
        setup: &running,
        a: &|_, id| vec![args(&["update", "--pids-limit", "50", id])],
        b: &|_, id| vec![args(&["delete", "--force", id])],
        allowed: &[("ok", "ok", "gone"), ("missing", "ok", "gone")],
    });
}

/// pause/exec on a running container. The pause side resumes right after a successful pause
/// (an exec whose process was frozen half-made waits for that, as in runc); `resume` must then
/// succeed. exec sees the container paused (and refuses) or runs.
#[test]
fn pause_exec() {
    // The freezer: cgroup v1's hierarchy here (the host is hybrid), cgroup.freeze on v2.
    assert!(
        Path::new("/sys/fs/cgroup/freezer").is_dir()
            || Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
        "no freezer on this host"
    );
    let r = Root::new();
    let b = sleeper();
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..ROUNDS {
        let id = unique("race-pause-exec");
        running(&r, &b, &id);
        let pause_then_resume = vec![args(&["pause", &id]), args(&["resume", &id])];
        let (oa, ob) = race(
            &r,
            pause_then_resume,
            vec![args(&["exec", &id, "echo", "in"])],
            offset(i),
        );
        let ka = kind(&oa[0], &id, &format!("pause round {i}"));
        assert_eq!(ka, "ok", "pause round {i}: {oa:#?}");
        assert_eq!(kind(&oa[1], &id, &format!("resume round {i}")), "ok");
        let kb = kind(&ob[0], &id, &format!("exec round {i}"));
        assert!(kb == "ok" || kb == "paused", "exec round {i}: {ob:#?}");
        if kb == "ok" {
            assert_eq!(ob[0].stdout, "in\n", "exec round {i}: {ob:#?}");
        }
        assert_eq!(final_status(&r, &id), "running", "round {i}");
        // The freezer is thawed: the container still answers.
        r.rampart(&["exec", &id, "true"]).ok();
        *seen.entry(kb).or_insert(0) += 1;
        delete_and_check_nothing_left(&r, &b, &id);
    }
    eprintln!("pause-exec: {ROUNDS} rounds, exec outcomes: {seen:?}");
}

/// A delete and a create of the same id back to back (the old container is a created one), and
/// another command `other` on that id, repeated `times` times back to back, racing them. The
/// other command must act on the old container, on the new one or on none, each time under the
/// lock of the directory it acts on: `allowed` are its outcomes, and `check` judges the final
/// status given how many of the other commands succeeded. The delete and the create always
/// succeed (the create's directory must never be taken from under it).
fn recreate_race(
    name: &str,
    other: &dyn Fn(&str) -> Vec<OsString>,
    times: usize,
    allowed: &[&str],
    check: &dyn Fn(&str, usize) -> bool,
) {
    let r = Root::new();
    let b = sleeper();
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..RECREATE_ROUNDS {
        let id = unique(&format!("recreate-{name}"));
        created(&r, &b, &id);
        let a = vec![args(&["delete", "--force", &id]), create_cmd(&b, &id)];
        let (oa, ob) = race(&r, a, vec![other(&id); times], offset(i));
        assert_eq!(
            kind(&oa[0], &id, &format!("{name}: delete round {i}")),
            "ok"
        );
        assert_eq!(
            kind(&oa[1], &id, &format!("{name}: re-create round {i}")),
            "ok",
            "{name} round {i}: the re-create failed\nother: {ob:#?}"
        );
        let mut oks = 0;
        for (j, out) in ob.iter().enumerate() {
            let k = kind(out, &id, &format!("{name} #{j} round {i}"));
            assert!(
                allowed.contains(&k),
                "{name} round {i}: #{j}: {k}: {out:#?}"
            );
            oks += usize::from(k == "ok");
            *seen.entry(k).or_insert(0) += 1;
        }
        let fin = final_status(&r, &id);
        assert!(
            check(&fin, oks),
            "{name} round {i}: final {fin} after {oks} successes: {ob:#?}"
        );
        *seen
            .entry(if fin == "gone" {
                "final gone"
            } else {
                "final present"
            })
            .or_insert(0) += 1;
        delete_and_check_nothing_left(&r, &b, &id);
    }
    eprintln!("recreate-{name}: {RECREATE_ROUNDS} rounds: {seen:?}");
}

#[test]
fn recreate_races_start() {
    // At most one start per container succeeds (two in all: the old one's and the new one's);
    // the new container ends running only if a start succeeded.
    recreate_race(
        "start",
        &|id| args(&["start", id]),
        6,
        &["ok", "missing", "not-created"],
        &|fin, oks| oks <= 2 && (fin == "created" || (fin == "running" && oks >= 1)),
    );
}

#[test]
fn recreate_races_kill() {
    // A kill of the new container's init leaves it stopped; of the old one, nothing to see. A
    // second kill of an init already dead finds it not running.
    recreate_race(
        "kill",
        &|id| args(&["kill", id, "KILL"]),
        6,
        &["ok", "missing", "not-running"],
        &|fin, oks| fin == "created" || (fin == "stopped" && oks >= 1),
    );
}

#[test]
fn recreate_races_delete() {
    // A created container is deleted without --force: the old one, the new one, or none.
    recreate_race(
        "delete",
        &|id| args(&["delete", id]),
        6,
        &["ok", "missing"],
        &|fin, oks| oks <= 2 && (fin == "created" || (fin == "gone" && oks >= 1)),
    );
}

#[test]
fn recreate_races_delete_force() {
    recreate_race(
        "delete-force",
        &|id| args(&["delete", "--force", id]),
        6,
        &["ok"],
        &|fin, _| fin == "created" || fin == "gone",
    );
}
