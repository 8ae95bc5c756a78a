//! The container must not hold the runtime hostage (SECURITY.md, "runtime held hostage"), through
//! the real binary: a container that SIGSTOPs every new process while `rampart exec` runs; exec
//! into a frozen container and `resume`; read-only commands while the lock is held; SIGINT,
//! SIGTERM and the time bound for a command waiting for the lock; a waiter whose directory was
//! deleted and recreated; and pid-file temp names that are planted symlinks.
use rampart_integration::*;
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// The attacker's init: SIGSTOPs every process that appears in the container (all but itself)
/// whose command name matches the pattern in $1 (`*` for all). `kill`, `case`, `read` and the
/// glob are shell builtins, so the loop makes no processes of its own.
const STOPPER: &str = r#"
while :; do
  for p in /proc/[0-9]*; do
    n=${p#/proc/}
    [ "$n" = 1 ] && continue
    read -r c < "$p/comm" 2>/dev/null || continue
    case "$c" in $1) kill -STOP "$n" 2>/dev/null ;; esac
  done
done
"#;

/// A rampart command running in the background, its output in files (a process that enters the
/// container keeps stdio open, so pipes would not end). Killed by its pid on drop if still there.
struct Bg {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    status: Option<ExitStatus>,
    /// An `exec`, whose own failures exit 255.
    exec: bool,
    _dir: TempDir,
}

impl Bg {
    fn spawn(mut c: Command) -> Bg {
        let exec = c.get_args().any(|a| a == "exec");
        let dir = TempDir::new("bg");
        let out = dir.path().join("stdout");
        let err = dir.path().join("stderr");
        let child = c
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .expect("spawn rampart");
        Bg {
            child,
            out,
            err,
            status: None,
            exec,
            _dir: dir,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The exit status, if it ended within `limit`.
    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(s) = self.status {
                return Some(s);
            }
            if let Some(s) = self.child.try_wait().unwrap() {
                self.status = Some(s);
                return Some(s);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn running(&mut self) -> bool {
        self.wait(Duration::ZERO).is_none()
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Sends `sig` to it (our own child, not yet reaped).
    fn signal(&self, sig: i32) {
        // SAFETY-free: kill by the pid of a child we spawned and have not reaped.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Asserts it ends within `limit` with rampart's own failure status (not killed by a
    /// signal): 255 for exec, as runc's, 1 for every other command. Returns its stderr.
    #[track_caller]
    fn fails_within(&mut self, limit: Duration) -> String {
        let t = Instant::now();
        let s = self
            .wait(limit)
            .unwrap_or_else(|| panic!("still running after {limit:?}; stderr: {}", self.stderr()));
        let want = if self.exec { 255 } else { 1 };
        assert_eq!(
            s.code(),
            Some(want),
            "want exit code {want}, got {s:?} (signal {:?}) after {:?}; stderr: {}",
            s.signal(),
            t.elapsed(),
            self.stderr()
        );
        self.stderr()
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if self.status.is_none() && self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The state directory's lock, taken by the test the way rampart takes it (flock LOCK_EX on the
/// open directory), to play a writer that is stuck while holding it.
struct HeldLock {
    _file: File,
}

fn hold_lock(dir: &Path) -> HeldLock {
    let f = File::open(dir).unwrap_or_else(|e| panic!("open {}: {e}", dir.display()));
    // SAFETY-free: flock on a descriptor we own.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(r, 0, "flock {}", dir.display());
    HeldLock { _file: f }
}

/// Runs a rampart command that must answer within a few seconds.
fn prompt<S: AsRef<OsStr>>(r: &Root, args: &[S]) -> Out {
    run_with_timeout(r.cmd(args), Duration::from_secs(5))
}

/// Creates and starts a container; returns its init's host pid.
fn start(r: &Root, b: &Bundle, id: &str) -> i32 {
    let mut c = Bg::spawn(r.cmd(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ]));
    let s = c.wait(Duration::from_secs(60)).expect("create returns");
    assert!(s.success(), "create {id}: {}", c.stderr());
    r.rampart(&["start", id]).ok();
    assert!(r.wait_status(id, "running", 10));
    r.state(id)["pid"].as_i64().unwrap() as i32
}

/// Field 3 (state) and field 4 (ppid) of /proc/<pid>/stat.
fn stat_of(pid: i32) -> Option<(String, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut f = s[s.rfind(')')? + 1..].split_whitespace();
    let state = f.next()?.to_string();
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

fn children_of(parent: i32) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
            if stat_of(pid).is_some_and(|(_, pp)| pp == parent) {
                v.push(pid);
            }
        }
    }
    v
}

fn wait_until<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn list_json(r: &Root) -> Vec<serde_json::Value> {
    let o = prompt(r, &["list", "--format", "json"]);
    o.ok();
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("list json: {e}: {}", o.stdout))
}

fn status_in_list(all: &[serde_json::Value], id: &str) -> Option<String> {
    all.iter()
        .find(|v| v["id"] == id)
        .map(|v| v["status"].as_str().unwrap_or("").to_string())
}

/// The attack: the container SIGSTOPs the exec's process (those of them whose command name
/// matches `which`), then the host checks that state, list, ps and kill answer, that SIGTERM
/// ends the exec with an error naming `want` (the message part), and that delete -f cleans up.
fn stopped_exec(which: &str, want: &str) {
    let r = Root::new();
    let b = Bundle::new(&["sh", "/stopper.sh", which]);
    b.script("/stopper.sh", STOPPER);
    let other = Bundle::new(&["sleep", "1000"]);
    let id = unique("hostage");
    let id2 = unique("bystander");
    let init = start(&r, &b, &id);
    start(&r, &other, &id2);

    let mut exec = Bg::spawn(r.cmd(&["exec", &id, "sleep", "1000"]));
    // The attack has happened once the exec's process (our child's child is the joiner; the
    // process itself is exec's child by CLONE_PARENT) is stopped.
    let victim = wait_until(20, || {
        children_of(exec.pid())
            .into_iter()
            .find(|&p| stat_of(p).is_some_and(|(s, _)| s == "T"))
    })
    .unwrap_or_else(|| panic!("the exec's process was never stopped: {}", exec.stderr()));
    assert!(exec.running(), "exec ended early: {}", exec.stderr());

    // While the exec is held, the other commands answer, and correctly.
    let st: serde_json::Value =
        serde_json::from_str(&prompt(&r, &["state", &id]).ok().stdout).unwrap();
    assert_eq!(st["status"], "running");
    assert_eq!(st["pid"], init);
    let all = list_json(&r);
    assert_eq!(status_in_list(&all, &id).as_deref(), Some("running"));
    assert_eq!(status_in_list(&all, &id2).as_deref(), Some("running"));
    let pids: Vec<i32> =
        serde_json::from_str(&prompt(&r, &["ps", "--format", "json", &id]).ok().stdout).unwrap();
    assert!(pids.contains(&init) && pids.contains(&victim), "{pids:?}");
    // SIGWINCH: ignored by the shell, so the container lives on; what counts is the answer.
    prompt(&r, &["kill", &id, "WINCH"]).ok();
    prompt(&r, &["kill", &id2, "KILL"]).ok();
    assert!(pid_alive(init));

    // The caller's SIGTERM ends the stuck exec: promptly, with an error, not killed by it.
    exec.signal(libc::SIGTERM);
    let err = exec.fails_within(Duration::from_secs(5));
    eprintln!("exec said: {err}");
    assert!(err.contains("SIGTERM") && err.contains(want), "{err}");
    if err.contains("before process") {
        // Not yet the workload: exec killed it on the way out.
        assert!(
            wait_pid_gone(victim, 3),
            "the half-made process {victim} is left"
        );
    }

    prompt(&r, &["delete", "--force", &id]).ok();
    assert!(
        wait_pid_gone(victim, 10),
        "the exec's process {victim} is left"
    );
    assert!(wait_pid_gone(init, 10));
    assert_nothing_left(&r, &b, &id);
    r.rampart(&["delete", "--force", &id2]).ok();
    assert_nothing_left(&r, &other, &id2);
}

#[test]
fn a_container_that_stops_every_new_process_does_not_hold_the_runtime() {
    // Whichever moment the loop catches the process at: before its exec or after.
    stopped_exec("*", "");
}

#[test]
fn a_container_that_stops_the_half_made_exec_process_does_not_hold_the_runtime() {
    // Until its execve the process is a fork of rampart, named after its binary.
    stopped_exec("rampart*", "before process");
}

#[test]
fn a_container_that_stops_the_exec_workload_does_not_hold_the_runtime() {
    // After the execve: the exec waits for it as runc does, but SIGTERM ends the wait.
    stopped_exec("sleep", "is stopped");
}

#[test]
fn exec_into_a_frozen_container_does_not_hold_resume() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("hostage-frozen");
    start(&r, &b, &id);
    prompt(&r, &["pause", &id]).ok();
    assert_eq!(r.status(&id), "paused");

    // runc semantics: the exec waits in the frozen cgroup until the container is resumed.
    let mut exec = Bg::spawn(r.cmd(&["exec", "--ignore-paused", &id, "echo", "thawed"]));
    std::thread::sleep(Duration::from_millis(500));
    assert!(exec.running(), "exec did not wait: {}", exec.stderr());
    assert_eq!(
        status_in_list(&list_json(&r), &id).as_deref(),
        Some("paused")
    );

    prompt(&r, &["resume", &id]).ok();
    let s = exec
        .wait(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("exec still waiting after resume: {}", exec.stderr()));
    assert!(s.success(), "{s:?}: {}", exec.stderr());
    assert_eq!(exec.stdout().trim(), "thawed");
    assert_eq!(r.status(&id), "running");

    // And a caller who gives up on an exec into a frozen container can: SIGTERM ends it.
    prompt(&r, &["pause", &id]).ok();
    let mut exec = Bg::spawn(r.cmd(&["exec", "--ignore-paused", &id, "echo", "never"]));
    std::thread::sleep(Duration::from_millis(500));
    assert!(exec.running(), "exec did not wait: {}", exec.stderr());
    exec.signal(libc::SIGTERM);
    let err = exec.fails_within(Duration::from_secs(5));
    assert!(err.contains("SIGTERM"), "{err}");
    prompt(&r, &["resume", &id]).ok();
    prompt(&r, &["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn read_only_commands_answer_while_another_command_holds_the_lock() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("hostage-ro");
    let init = start(&r, &b, &id);
    let lock = hold_lock(&r.path().join(&id));

    let st: serde_json::Value =
        serde_json::from_str(&prompt(&r, &["state", &id]).ok().stdout).unwrap();
    assert_eq!(st["status"], "running");
    assert_eq!(st["pid"], init);
    assert_eq!(
        status_in_list(&list_json(&r), &id).as_deref(),
        Some("running")
    );
    let pids: Vec<i32> =
        serde_json::from_str(&prompt(&r, &["ps", "--format", "json", &id]).ok().stdout).unwrap();
    assert_eq!(pids, vec![init]);
    let o = prompt(&r, &["ps", &id]);
    o.ok();
    assert!(o.stdout.contains("sleep 1000"), "{o:?}");
    let ev: serde_json::Value =
        serde_json::from_str(&prompt(&r, &["events", "--stats", &id]).ok().stdout).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], id);

    drop(lock);
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn sigint_and_sigterm_end_a_command_waiting_for_the_lock() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("hostage-wait");
    let init = start(&r, &b, &id);
    let lock = hold_lock(&r.path().join(&id));

    for (args, sig, name) in [
        (vec!["kill", id.as_str(), "KILL"], libc::SIGTERM, "SIGTERM"),
        (
            vec!["delete", "--force", id.as_str()],
            libc::SIGINT,
            "SIGINT",
        ),
    ] {
        let mut w = Bg::spawn(r.cmd(&args));
        std::thread::sleep(Duration::from_millis(300));
        assert!(w.running(), "{args:?} did not wait: {}", w.stderr());
        w.signal(sig);
        let err = w.fails_within(Duration::from_secs(3));
        assert!(err.contains(name) && err.contains(&id), "{args:?}: {err}");
        assert!(pid_alive(init), "{args:?} acted without the lock");
    }
    assert!(r.path().join(&id).join("state.json").exists());

    drop(lock);
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn a_command_waiting_for_the_lock_gives_up_with_busy() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("hostage-busy");
    let init = start(&r, &b, &id);
    let lock = hold_lock(&r.path().join(&id));

    let t = Instant::now();
    let mut w = Bg::spawn(r.cmd(&["delete", "--force", &id]));
    let err = w.fails_within(Duration::from_secs(30));
    assert!(err.contains("is busy"), "{err}");
    assert!(t.elapsed() >= Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(pid_alive(init), "delete acted without the lock");

    drop(lock);
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn a_waiter_on_a_deleted_directory_does_not_act_on_the_new_container() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("hostage-stale");
    let dir = r.path().join(&id);
    // The old container's directory, locked by a writer (the test) that then deletes it.
    std::fs::create_dir(&dir).unwrap();
    let old = hold_lock(&dir);
    let mut waiter = Bg::spawn(r.cmd(&["kill", &id, "KILL"]));
    // The waiter has opened the old directory and waits for its lock.
    let opened = wait_until(5, || {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", waiter.pid())).ok()?;
        fds.flatten()
            .any(|f| std::fs::read_link(f.path()).is_ok_and(|l| l == dir))
            .then_some(())
    });
    assert!(opened.is_some(), "kill never opened {}", dir.display());
    std::fs::remove_dir(&dir).unwrap();

    // A new container of the same id, whose lock another writer (the test) holds.
    r.create(&b, &id);
    let init = r.state(&id)["pid"].as_i64().unwrap() as i32;
    let new = hold_lock(&dir);
    drop(old);

    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        pid_alive(init),
        "the waiter killed the new container without its lock"
    );
    assert!(waiter.running(), "the waiter ended: {}", waiter.stderr());
    waiter.signal(libc::SIGTERM);
    waiter.fails_within(Duration::from_secs(3));
    assert!(pid_alive(init));

    drop(new);
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

/// Runs `args` (a command given `--pid-file <dir>/<name>`) and, as soon as it is spawned,
/// plants a symlink at the temp name it would use (`.<name>.<its pid>`) pointing at a host file
/// the test owns. Returns the pid in the pid file; asserts the host file unchanged and the pid
/// file a regular file.
fn pid_file_with_planted_temp(r: &Root, args: &[&OsStr], pid_file: &Path) -> i32 {
    let dir = pid_file.parent().unwrap();
    let name = pid_file.file_name().unwrap().to_string_lossy().into_owned();
    let target = dir.join(format!("{name}.precious"));
    std::fs::write(&target, "precious\n").unwrap();
    let mut c = Bg::spawn(r.cmd(args));
    let tmp = dir.join(format!(".{name}.{}", c.pid()));
    std::os::unix::fs::symlink(&target, &tmp).expect("plant the symlink before rampart runs");
    let s = c.wait(Duration::from_secs(60)).expect("rampart returns");
    assert!(s.success(), "{args:?}: {}", c.stderr());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "precious\n",
        "{args:?} wrote through the planted symlink"
    );
    let meta = std::fs::symlink_metadata(pid_file).unwrap();
    assert!(
        meta.file_type().is_file(),
        "{}: {meta:?}",
        pid_file.display()
    );
    std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn pid_files_are_not_written_through_a_planted_temp_symlink() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let files = TempDir::new("pidfiles");
    let id = unique("hostage-pid");
    let id2 = unique("hostage-pid-run");

    let p = files.path().join("create.pid");
    let pid = pid_file_with_planted_temp(
        &r,
        &[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new("--pid-file"),
            p.as_os_str(),
            OsStr::new(&id),
        ],
        &p,
    );
    assert_eq!(r.state(&id)["pid"], pid);
    r.rampart(&["start", &id]).ok();

    let p = files.path().join("run.pid");
    let pid = pid_file_with_planted_temp(
        &r,
        &[
            OsStr::new("run"),
            OsStr::new("--detach"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new("--pid-file"),
            p.as_os_str(),
            OsStr::new(&id2),
        ],
        &p,
    );
    assert_eq!(r.state(&id2)["pid"], pid);

    let p = files.path().join("exec.pid");
    let pid = pid_file_with_planted_temp(
        &r,
        &[
            OsStr::new("exec"),
            OsStr::new("--detach"),
            OsStr::new("--pid-file"),
            p.as_os_str(),
            OsStr::new(&id),
            OsStr::new("sleep"),
            OsStr::new("999"),
        ],
        &p,
    );
    let pids: Vec<i32> =
        serde_json::from_str(&r.rampart(&["ps", "--format", "json", &id]).ok().stdout).unwrap();
    assert!(pids.contains(&pid), "{pid} not in {pids:?}");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\0999\0");

    for i in [&id, &id2] {
        r.rampart(&["delete", "--force", i]).ok();
        assert_nothing_left(&r, &b, i);
    }
}

#[test]
fn a_container_that_stops_a_new_init_in_its_pid_namespace_does_not_hold_create() {
    let r = Root::new();
    let a = Bundle::new(&["sh", "/stopper.sh", "rampart*"]);
    a.script("/stopper.sh", STOPPER);
    let ida = unique("hostage-pidns");
    let apid = start(&r, &a, &ida);
    // The second container's init joins the hostile one's pid namespace, where it is seen (and
    // stopped) while it is still a fork of rampart setting itself up.
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.edit(|c| {
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "pid" {
                ns["path"] = serde_json::Value::from(format!("/proc/{apid}/ns/pid"));
            }
        }
    });
    let idb = unique("hostage-joiner");
    let mut create = Bg::spawn(r.cmd(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&idb),
    ]));
    let binit = wait_until(20, || {
        children_of(create.pid())
            .into_iter()
            .find(|&p| stat_of(p).is_some_and(|(s, _)| s == "T"))
    })
    .unwrap_or_else(|| panic!("the new init was never stopped: {}", create.stderr()));
    assert!(create.running(), "create ended early: {}", create.stderr());

    // The held create does not hold the read-only commands.
    let all = list_json(&r);
    assert_eq!(status_in_list(&all, &ida).as_deref(), Some("running"));
    prompt(&r, &["state", &ida]).ok();

    // SIGTERM ends the create, which undoes itself.
    create.signal(libc::SIGTERM);
    let err = create.fails_within(Duration::from_secs(5));
    assert!(err.contains("interrupted by SIGTERM"), "{err}");
    assert!(wait_pid_gone(binit, 5), "the new init {binit} is left");
    assert_nothing_left(&r, &b, &idb);

    prompt(&r, &["delete", "--force", &ida]).ok();
    assert_nothing_left(&r, &a, &ida);
}
