//! Attacks on the rootless paths, through the real binary.
//!
//! A rootless container on a host that delegates no cgroup has none: `kill --all`, `delete` and
//! `ps` find its processes by the pid namespace it made, recorded in the state as the
//! namespace's (st_dev, st_ino). A namespace's inode number is freed with it and handed to the
//! next namespace anyone makes (the kernel allocates the lowest free number). Once the init of
//! such a container has exited and been reaped (an engine's shim reaps it at once) the recorded
//! number names nothing of the container's any more, and may name someone else's namespace.

use rampart_integration::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The two attacks stage namespace numbers, which the kernel hands out host-wide: run in
/// parallel, each one's namespaces take the number the other is waiting for. One at a time.
static STAGING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    STAGING.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shim stand-in (tests/attacks/reaper_shim.c), built once per test into `dir`.
fn reaper_shim(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attacks/reaper_shim.c");
    let out = dir.join("reaper_shim");
    build_static_c(&src, &out, &["-O2"]);
    // The user runs it.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    out
}

/// Processes of the rootless user in pid namespaces of their own, made on demand by one shell
/// in a user namespace of its own (made before the container, so that only pid namespaces take
/// numbers afterwards). Everything it started is SIGKILLed and reaped on drop, also when an
/// assertion fails.
struct Victims {
    maker: Child,
    input: Option<std::process::ChildStdin>,
    output: std::io::BufReader<std::process::ChildStdout>,
    made: Vec<(i32, i32)>,
}

impl Victims {
    /// Made as the rootless user when `u` is given, else as host root.
    fn new(u: Option<&UserSession>) -> Victims {
        let unshare = Path::new("/usr/bin/unshare");
        let args = [
            "-U",
            "-r",
            "sh",
            "-c",
            "while read x; do unshare -p -f sleep 1000 & echo $!; done; wait",
        ];
        let mut c = match u {
            Some(u) => u.command(unshare, &args),
            None => {
                let mut c = std::process::Command::new(unshare);
                c.args(args);
                c
            }
        };
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut maker = c.spawn().expect("spawn the victim maker");
        let input = maker.stdin.take();
        let output = std::io::BufReader::new(maker.stdout.take().unwrap());
        Victims {
            maker,
            input,
            output,
            made: Vec::new(),
        }
    }

    /// One more process in a new pid namespace: (its host pid, the namespace's inode number).
    fn spawn(&mut self) -> (i32, u64) {
        use std::io::{BufRead, Write};
        writeln!(self.input.as_ref().unwrap(), "go").unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        let parent: i32 = line.trim().parse().expect("pid of unshare");
        let children = format!("/proc/{parent}/task/{parent}/children");
        let deadline = Instant::now() + Duration::from_secs(10);
        let sleeper = loop {
            let text = fs::read_to_string(&children).unwrap_or_default();
            if let Some(p) = text.split_whitespace().next() {
                break p.parse::<i32>().unwrap();
            }
            assert!(Instant::now() < deadline, "unshare {parent} made no child");
            std::thread::sleep(Duration::from_millis(5));
        };
        self.made.push((parent, sleeper));
        let ino = fs::metadata(format!("/proc/{sleeper}/ns/pid"))
            .unwrap()
            .ino();
        (sleeper, ino)
    }
}

impl Drop for Victims {
    fn drop(&mut self) {
        for (parent, sleeper) in &self.made {
            // SAFETY: processes this test started; the maker has not reaped them (it waits only
            // after its input ends), so their pids are not reused.
            unsafe {
                libc::kill(*sleeper, libc::SIGKILL);
                libc::kill(*parent, libc::SIGKILL);
            }
        }
        // End of input: the maker reaps its children and exits.
        self.input = None;
        let _ = self.maker.wait();
    }
}

/// Makes pid namespaces until one gets the inode number `recorded`; returns the host pid of the
/// process in it. A freed namespace's number goes back after an RCU grace period, and every
/// namespace made holds its number while its process lives, so the numbers march up to it.
fn victim_in_namespace_numbered(victims: &mut Victims, recorded: u64) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (pid, ino) = victims.spawn();
        if ino == recorded {
            return pid;
        }
        assert!(
            Instant::now() < deadline && victims.made.len() < 300,
            "no namespace got the stopped container's old number {recorded} (last {ino}); cannot stage the attack here"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The attack: container A (rootless, a pid namespace of its own, no cgroup) runs and exits; its
/// init is reaped as an engine's shim reaps it, so A is `stopped` and its pid namespace is gone.
/// Processes of the same user, outside any container, then make pid namespaces until one gets
/// A's old inode number. `delete A` must not kill that process (main SIGKILLed it: it matched
/// A's recorded namespace), nor may `kill --all A` signal it.
#[test]
fn delete_of_a_stopped_rootless_container_spares_a_namespace_that_reused_its_number() {
    let _serial = one_at_a_time();
    let u = UserSession::new();
    let tools = TempDir::new("rl-attack-tools");
    let shim = reaper_shim(tools.path());
    let b = u.bundle(&["true"]);
    let mut victims = Victims::new(Some(&u));
    let id = unique("rl-reuse");
    let bundle = b.path().to_str().unwrap().to_string();
    let rampart = rampart_bin();
    let rampart = rampart.to_str().unwrap();
    let o = run_with_timeout(
        u.command(&shim, &[rampart, "run", "-d", "--bundle", &bundle, &id]),
        Duration::from_secs(60),
    );
    o.ok();
    assert_eq!(u.state(&id)["status"], "stopped", "{o:#?}");
    let st = read_json(&u.root().join(&id).join("state.json"));
    assert_eq!(
        st["own_ns"][0], "pid",
        "A has a pid namespace of its own: {st:#}"
    );
    assert!(
        st["cgroup_path"].is_null(),
        "A has no cgroup (none is delegated here): {st:#}"
    );
    let recorded = st["own_ns"][2].as_u64().unwrap();

    let victim = victim_in_namespace_numbered(&mut victims, recorded);
    eprintln!("victim {victim} is in a pid namespace with A's old number {recorded}");

    let o = u.rampart(&["kill", "--all", &id, "KILL"]);
    assert!(
        !wait_pid_gone(victim, 1),
        "kill --all of the stopped container killed an unrelated process of the user: {o:#?}"
    );
    let o = u.rampart(&["delete", &id]);
    o.ok();
    assert!(
        !wait_pid_gone(victim, 1),
        "delete of the stopped container killed an unrelated process of the user: {o:#?}"
    );
    assert!(
        !u.root().join(&id).exists(),
        "delete left the state: {o:#?}"
    );
}

/// The same with host root and `--cgroup-manager disabled` (no cgroup either, new in the same
/// change): the victim is any process on the host whose pid namespace reuses the number.
#[test]
fn delete_of_a_stopped_cgroupless_root_container_spares_a_namespace_that_reused_its_number() {
    let _serial = one_at_a_time();
    let tools = TempDir::new("rl-attack-tools");
    let shim = reaper_shim(tools.path());
    let r = Root::new();
    let b = Bundle::new(&["true"]);
    let mut victims = Victims::new(None);
    let id = unique("root-reuse");
    let rampart = rampart_bin();
    let mut c = std::process::Command::new(&shim);
    c.arg(&rampart)
        .arg("--root")
        .arg(r.path())
        .args(["--cgroup-manager", "disabled", "run", "-d", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .stdin(Stdio::null());
    run_with_timeout(c, Duration::from_secs(60)).ok();
    let st = read_json(&r.path().join(&id).join("state.json"));
    assert!(st["cgroup_path"].is_null(), "{st:#}");
    assert_eq!(st["own_ns"][0], "pid", "{st:#}");
    let recorded = st["own_ns"][2].as_u64().unwrap();
    let victim = victim_in_namespace_numbered(&mut victims, recorded);
    let o = r.rampart(&["--cgroup-manager", "disabled", "kill", "--all", &id, "KILL"]);
    assert!(
        !wait_pid_gone(victim, 1),
        "kill --all killed a host process: {o:#?}"
    );
    let o = r.rampart(&["--cgroup-manager", "disabled", "delete", &id]);
    o.ok();
    assert!(
        !wait_pid_gone(victim, 1),
        "delete killed a host process: {o:#?}"
    );
}
