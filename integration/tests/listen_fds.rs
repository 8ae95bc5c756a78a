//! Socket activation (systemd's sd_listen_fds protocol): descriptors 3.. of the caller reach the
//! container as LISTEN_FDS only when LISTEN_PID names the rampart process itself. A LISTEN_FDS
//! inherited without LISTEN_PID (or for another pid) must not carry the caller's stray open
//! descriptors into the container.
use rampart_integration::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Inside the container: for fds 3 and 4 of the shell itself, whether they exist and what
/// reading them gives, then the socket-activation variables it got.
const PROBE: &str = "for f in 3 4; do \
       if [ -e /proc/$$/fd/$f ]; then echo \"open$f\"; fi; \
       if cat <&$f 2>/dev/null; then echo \"read$f\"; fi; \
     done; \
     echo \"env LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID self=$$\"";

struct Secrets {
    dir: TempDir,
}

impl Secrets {
    fn new() -> Secrets {
        let dir = TempDir::new("listen-secrets");
        fs::write(dir.path().join("s3"), "SECRET-THREE\n").unwrap();
        fs::write(dir.path().join("s4"), "SECRET-FOUR\n").unwrap();
        Secrets { dir }
    }
    fn path(&self, n: u32) -> String {
        self.dir.path().join(format!("s{n}")).display().to_string()
    }
}

/// Runs rampart from a shell that holds the secret files open as fds 3 and 4 (not close-on-exec,
/// as a caller's stray descriptors are) with `env` set, then execs rampart with `args`, so
/// `$$` is rampart's own pid.
fn with_open_fds(root: &Path, s: &Secrets, env: &str, args: &[&str]) -> Out {
    let mut c = Command::new("sh");
    // $0 is rampart, $1 and $2 the files, $3 the state root; the rest are rampart's arguments.
    let script = format!(
        "exec 3<\"$1\" 4<\"$2\"; root=\"$3\"; shift 3; {env} exec \"$0\" --root \"$root\" \"$@\""
    );
    c.arg("-c")
        .arg(script)
        .arg(rampart_bin())
        .arg(s.path(3))
        .arg(s.path(4))
        .arg(root);
    c.args(args);
    c.stdin(std::process::Stdio::null());
    run_with_timeout(c, Duration::from_secs(60))
}

#[track_caller]
fn sees_nothing(o: &Out, what: &str) {
    assert_eq!(o.code, 0, "{what}: {o:#?}");
    for leak in ["SECRET", "open3", "open4", "read3", "read4"] {
        assert!(
            !o.stdout.contains(leak),
            "{what}: the caller's fd reached the container ({leak}): {o:#?}"
        );
    }
    assert!(
        o.stdout.contains("env LISTEN_FDS= LISTEN_PID= "),
        "{what}: socket-activation variables set without passed fds: {o:#?}"
    );
}

/// The attack: a caller (an engine, a shell) started from a socket-activated unit inherits
/// LISTEN_FDS in its environment, but not LISTEN_PID for itself, and holds unrelated host files
/// open at 3 and 4. None of them may reach the container; with LISTEN_PID naming rampart they
/// do, as the protocol means.
#[test]
fn listen_fds_pass_only_with_a_matching_listen_pid() {
    let r = Root::new();
    let s = Secrets::new();
    let mut b = Bundle::new(&["sh", "-c", PROBE]);
    let root = r.path().to_path_buf();
    let run = |env: &str, extra: &[&str], b: &Bundle| {
        let id = unique("listen-run");
        let bundle = b.path().display().to_string();
        let mut args = vec!["run", "--bundle", &bundle];
        args.extend_from_slice(extra);
        args.push(&id);
        let o = with_open_fds(&root, &s, env, &args);
        assert_nothing_left(&r, b, &id);
        o
    };

    sees_nothing(
        &run("LISTEN_FDS=2", &[], &b),
        "LISTEN_FDS without LISTEN_PID",
    );
    sees_nothing(
        &run("LISTEN_FDS=2 LISTEN_PID=1", &[], &b),
        "LISTEN_PID of another process",
    );
    sees_nothing(
        &run("LISTEN_FDS=2 LISTEN_PID=", &[], &b),
        "an empty LISTEN_PID",
    );

    // --preserve-fds still passes what it names, and only that.
    let o = run("LISTEN_FDS=2", &["--preserve-fds", "1"], &b);
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(
        o.stdout.contains("SECRET-THREE") && o.stdout.contains("open3"),
        "{o:#?}"
    );
    assert!(
        !o.stdout.contains("SECRET-FOUR") && !o.stdout.contains("open4"),
        "fd 4 passed beyond --preserve-fds 1: {o:#?}"
    );

    // The protocol's own case: LISTEN_PID is rampart's pid (the shell's $$, kept by exec).
    let o = run("LISTEN_FDS=2 LISTEN_PID=$$", &[], &b);
    assert_eq!(o.code, 0, "{o:#?}");
    for want in ["SECRET-THREE", "SECRET-FOUR", "open3", "open4"] {
        assert!(o.stdout.contains(want), "{want} missing: {o:#?}");
    }
    // The workload is told the fds are its own: LISTEN_PID is its pid in the container (1).
    assert!(
        o.stdout.contains("env LISTEN_FDS=2 LISTEN_PID=1 self=1"),
        "{o:#?}"
    );

    // The config's own LISTEN_* variables are left alone when nothing was passed.
    b.edit(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push("LISTEN_FDS=7".into())
    });
    let o = run("LISTEN_FDS=2", &[], &b);
    assert!(o.stdout.contains("env LISTEN_FDS=7 "), "{o:#?}");
    assert!(!o.stdout.contains("SECRET"), "{o:#?}");
}

/// The same through `exec` into a running container.
#[test]
fn exec_passes_listen_fds_only_with_a_matching_listen_pid() {
    let r = Root::new();
    let s = Secrets::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("listen-exec");
    r.create(&b, &id);
    r.rampart(&["start", &id]).ok();
    let root = r.path().to_path_buf();
    let exec = |env: &str| with_open_fds(&root, &s, env, &["exec", &id, "sh", "-c", PROBE]);

    sees_nothing(&exec("LISTEN_FDS=2"), "exec: LISTEN_FDS without LISTEN_PID");
    sees_nothing(
        &exec("LISTEN_FDS=2 LISTEN_PID=1"),
        "exec: LISTEN_PID of another process",
    );

    let o = exec("LISTEN_FDS=2 LISTEN_PID=$$");
    assert_eq!(o.code, 0, "{o:#?}");
    for want in ["SECRET-THREE", "SECRET-FOUR", "open3", "open4"] {
        assert!(o.stdout.contains(want), "exec: {want} missing: {o:#?}");
    }
    // An exec'd process is not pid 1: LISTEN_PID must name it, or sd_listen_fds ignores them.
    let line = o
        .stdout
        .lines()
        .find(|l| l.starts_with("env "))
        .unwrap_or_default()
        .to_string();
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(field("LISTEN_FDS="), "2", "{line}");
    assert_eq!(field("LISTEN_PID="), field("self="), "{line}");

    r.rampart(&["delete", "-f", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}
