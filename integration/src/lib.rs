//! Test harness for driving the real `rampart` binary against real bundles.
//!
//! Every test makes its own state root (`Root`) and bundles (`Bundle`) under a private temporary
//! directory; both remove themselves on drop, also when the test fails, and `Root` force-deletes
//! any container still listed in it. Container ids are unique per test process so tests can run
//! in parallel. The binary is `$RAMPART_BIN` (set by `make integration` to the release build), or
//! the workspace's `target/debug/rampart` during development.

use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The rampart binary under test.
pub fn rampart_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RAMPART_BIN") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/rampart");
    // A concurrent `cargo build` relinks the binary; give it a moment rather than failing (a
    // panic in Root's drop would leak the containers it was about to delete).
    for _ in 0..300 {
        if p.exists() {
            return p;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "no rampart binary at {}: run `cargo build` or set RAMPART_BIN",
        p.display()
    );
}

/// A fresh name: `<prefix>-<pid>-<n>`; safe to use as container id and cgroup name.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A temporary directory removed on drop (after unmounting nothing: tests never mount here).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique(&format!("rampart-it-{prefix}")));
        fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Where the busybox binary comes from (busybox-static).
pub fn busybox() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("busybox not found: install busybox-static");
}

/// Applets linked in every test rootfs.
const APPLETS: &[&str] = &[
    "sh", "cat", "echo", "id", "ls", "sleep", "true", "false", "hostname", "mkdir", "touch",
    "grep", "stat", "env", "pwd", "mount", "umount", "ps", "kill", "wc", "head", "tail", "dd",
    "readlink", "rm", "ln", "chmod", "tty", "nproc", "ulimit", "uname", "test", "printf", "cut",
    "tr", "seq", "wget", "nc", "httpd", "unshare", "od", "mknod", "sysctl", "find", "sort",
    "xargs", "sed", "awk", "yes", "cp", "mv", "dirname", "basename", "date", "df", "whoami",
    "expr", "timeout", "nsenter", "chroot", "touch", "ip", "ping", "setsid", "nohup", "top",
    "free",
];

/// A bundle: `rootfs/` with busybox and its applets, and a `config.json` from `rampart spec`.
pub struct Bundle {
    pub dir: TempDir,
    pub config: Value,
}

impl Bundle {
    /// A bundle whose process runs `args`, starting from `rampart spec`'s secure default.
    pub fn new(args: &[&str]) -> Bundle {
        let dir = TempDir::new("bundle");
        let rootfs = dir.path().join("rootfs");
        for d in ["bin", "proc", "dev", "sys", "tmp", "etc", "root"] {
            fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        let bb = rootfs.join("bin/busybox");
        fs::copy(busybox(), &bb).expect("copy busybox");
        fs::set_permissions(&bb, fs::Permissions::from_mode(0o755)).unwrap();
        for a in APPLETS {
            let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a));
        }
        fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
        )
        .unwrap();
        fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        let out = Command::new(rampart_bin())
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .expect("run rampart spec");
        assert!(out.status.success(), "rampart spec failed: {out:?}");
        let mut b = Bundle {
            config: read_json(&dir.path().join("config.json")),
            dir,
        };
        b.config["process"]["args"] = args.iter().map(|s| Value::from(*s)).collect();
        b.save();
        b
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// Changes the config and writes it back.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self.save();
        self
    }

    pub fn save(&self) {
        fs::write(
            self.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Writes an executable script into the rootfs (or anywhere, given an absolute host path).
    pub fn script(&self, path_in_rootfs: &str, body: &str) -> PathBuf {
        let p = self.rootfs().join(path_in_rootfs.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
}

/// A private state root (`--root`). On drop every container in it is force-deleted.
pub struct Root {
    pub dir: TempDir,
}

impl Default for Root {
    fn default() -> Self {
        Self::new()
    }
}

impl Root {
    pub fn new() -> Root {
        Root {
            dir: TempDir::new("root"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `rampart --root <root> <args...>` as a Command, ready to run.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(rampart_bin());
        c.arg("--root").arg(self.path());
        for a in args {
            c.arg(a.as_ref());
        }
        c.stdin(Stdio::null());
        c
    }

    /// Runs `rampart --root <root> <args...>` and collects its output (with a 60 s guard).
    pub fn rampart<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        run_with_timeout(self.cmd(args), Duration::from_secs(60))
    }

    /// `rampart run --bundle <b> <id>` in the foreground.
    pub fn run(&self, b: &Bundle, id: &str) -> Out {
        self.rampart(&[
            OsStr::new("run"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(id),
        ])
    }

    /// `rampart create --bundle <b> <id>`, asserting success.
    pub fn create(&self, b: &Bundle, id: &str) -> Out {
        let o = self.rampart(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(id),
        ]);
        o.ok();
        o
    }

    /// The parsed output of `state <id>`.
    pub fn state(&self, id: &str) -> Value {
        let o = self.rampart(&["state", id]);
        o.ok();
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("state json: {e}: {}", o.stdout))
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap_or("").to_string()
    }

    /// Waits (up to `secs`) for the container's status to become `want`.
    pub fn wait_status(&self, id: &str, want: &str, secs: u64) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if self.status(id) == want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Ids listed by `list -q`.
    pub fn ids(&self) -> Vec<String> {
        let o = self.rampart(&["list", "-q"]);
        o.stdout.lines().map(|s| s.to_string()).collect()
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        for id in self.ids() {
            let _ = self.rampart(&["delete", "--force", &id]);
        }
        // Anything a failed delete left (state dirs) goes with the temp dir.
    }
}

/// The collected result of one rampart (or other) invocation.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts exit 0 and returns self.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "command failed: {self:#?}");
        self
    }
    /// Asserts a non-zero exit and returns self.
    #[track_caller]
    pub fn fails(&self) -> &Self {
        assert_ne!(self.code, 0, "command should have failed: {self:#?}");
        self
    }
}

/// Runs a command with its output captured; kills it (by pid) after `limit`.
///
/// Output goes to unlinked temporary files, not pipes: a container made by `create` or `run -d`
/// inherits the runtime's stdout/stderr and keeps them open, so waiting for EOF on a pipe would
/// wait for the container, not for the command.
pub fn run_with_timeout(mut c: Command, limit: Duration) -> Out {
    let capture = |name: &str| {
        let p = std::env::temp_dir().join(unique(&format!("rampart-it-{name}")));
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&p)
            .expect("capture file");
        let _ = fs::remove_file(&p);
        f
    };
    let (out_f, err_f) = (capture("stdout"), capture("stderr"));
    c.stdout(out_f.try_clone().expect("dup"))
        .stderr(err_f.try_clone().expect("dup"));
    let mut child = c.spawn().expect("spawn");
    let pid = child.id() as i32;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d2 = done.clone();
    let guard = std::thread::spawn(move || {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if d2.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY-free: kill by the pid of the child we spawned and have not reaped yet.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        true
    });
    let status = child.wait().expect("wait");
    done.store(true, Ordering::SeqCst);
    let timed_out = guard.join().unwrap_or(false);
    assert!(!timed_out, "command timed out after {limit:?}: {c:?}");
    use std::io::{Read, Seek};
    use std::os::unix::process::ExitStatusExt;
    let read_all = |mut f: fs::File| {
        let mut v = Vec::new();
        let _ = f.seek(std::io::SeekFrom::Start(0));
        let _ = f.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    };
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Out {
        code,
        stdout: read_all(out_f),
        stderr: read_all(err_f),
    }
}

/// Mount points in the host's mount table whose path or source mentions `needle`.
pub fn host_mounts_containing(needle: &str) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(|l| l.to_string())
        .collect()
}

/// cgroup directories anywhere under /sys/fs/cgroup whose name contains `needle` (depth ≤ 4).
pub fn cgroups_containing(needle: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, needle: &str, depth: u32, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                let p = e.path();
                if e.file_name().to_string_lossy().contains(needle) {
                    out.push(p.clone());
                }
                walk(&p, needle, depth - 1, out);
            }
        }
    }
    let mut v = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), needle, 4, &mut v);
    v
}

/// Host processes whose command line contains `needle`.
pub fn processes_containing(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut v = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if pid == me {
                continue;
            }
            if let Ok(c) = fs::read(format!("/proc/{pid}/cmdline")) {
                let s = String::from_utf8_lossy(&c).replace('\0', " ");
                if s.contains(needle) {
                    v.push(pid);
                }
            }
        }
    }
    v
}

/// Asserts nothing of container `id` (run from bundle `b` under root `r`) is left on the host.
#[track_caller]
pub fn assert_nothing_left(r: &Root, b: &Bundle, id: &str) {
    assert!(!r.path().join(id).exists(), "state dir of {id} left behind");
    let m = host_mounts_containing(&b.path().to_string_lossy());
    assert!(m.is_empty(), "mounts left behind: {m:#?}");
    let c = cgroups_containing(id);
    assert!(c.is_empty(), "cgroups left behind: {c:#?}");
}

/// Writes `s` to a file, creating parents.
pub fn write_file(p: &Path, s: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    let mut f = fs::File::create(p).unwrap();
    f.write_all(s.as_bytes()).unwrap();
}

/// Whether a pid is alive (not a zombie).
pub fn pid_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

impl Bundle {
    /// A host directory (inside the bundle dir) bind-mounted at `dest` in the container, read-only
    /// or read-write; returns the host path. The destination is made in the rootfs beforehand.
    pub fn bind_dir(&mut self, dest: &str, readonly: bool) -> PathBuf {
        let host = self.path().join(format!("host{}", dest.replace('/', "_")));
        fs::create_dir_all(&host).unwrap();
        fs::create_dir_all(self.rootfs().join(dest.trim_start_matches('/'))).unwrap();
        let mut opts = vec!["rbind", "nosuid", "nodev"];
        opts.push(if readonly { "ro" } else { "rw" });
        let m = serde_json::json!({
            "destination": dest, "type": "bind", "source": host, "options": opts,
        });
        self.edit(|c| c["mounts"].as_array_mut().unwrap().push(m));
        host
    }

    /// Removes the namespace of `kind` (e.g. "pid") from the config.
    pub fn drop_namespace(&mut self, kind: &str) -> &mut Self {
        self.edit(|c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != kind)
        })
    }
}

/// Waits up to `secs` for `p` to exist.
pub fn wait_for_path(p: &Path, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if p.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Waits up to `secs` for the process `pid` to be gone (or a zombie).
pub fn wait_pid_gone(pid: i32, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if !pid_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `run` of the bundle that must succeed; returns its stdout.
#[track_caller]
pub fn run_ok(r: &Root, b: &Bundle, id: &str) -> String {
    let o = r.run(b, id);
    o.ok();
    o.stdout
}

/// Builds the C program `src` into the static executable `out` with gcc (the tests' small
/// helpers and attackers: busybox cannot make the syscalls they need). `flags` go before `-o`.
pub fn build_static_c(src: &Path, out: &Path, flags: &[&str]) {
    let o = Command::new("gcc")
        .arg("-static")
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(src)
        .output()
        .expect("run gcc");
    assert!(
        o.status.success(),
        "gcc {}: {}",
        src.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The unprivileged host user the rootless tests run rampart as: `nobody`, present on every
/// Debian system, so no test adds a user to the host.
pub const ROOTLESS_UID: u32 = 65534;

/// An unprivileged caller's session: a home and an `XDG_RUNTIME_DIR` (0700) of its own, both
/// under a temporary directory owned by [`ROOTLESS_UID`]. Commands run as that uid and gid with
/// no supplementary groups. On drop every container left in the user's default state root
/// ($XDG_RUNTIME_DIR/rampart) is force-deleted, first as the user, then as root.
pub struct UserSession {
    pub dir: TempDir,
    pub xdg: PathBuf,
}

impl Default for UserSession {
    fn default() -> Self {
        Self::new()
    }
}

/// chown -R to the rootless test user.
pub fn chown_to_user(p: &Path) {
    let ok = Command::new("chown")
        .arg("-R")
        .arg(format!("{ROOTLESS_UID}:{ROOTLESS_UID}"))
        .arg(p)
        .status()
        .expect("run chown");
    assert!(ok.success(), "chown -R {}", p.display());
}

impl UserSession {
    pub fn new() -> UserSession {
        let dir = TempDir::new("user");
        let xdg = dir.path().join("xdg");
        fs::create_dir(&xdg).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&xdg, fs::Permissions::from_mode(0o700)).unwrap();
        chown_to_user(dir.path());
        UserSession { dir, xdg }
    }

    /// The state root rampart uses by default for this user.
    pub fn root(&self) -> PathBuf {
        self.xdg.join("rampart")
    }

    /// `program args...` as the user, with its XDG_RUNTIME_DIR and HOME (no --root given).
    pub fn command<S: AsRef<OsStr>>(&self, program: &Path, args: &[S]) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new(program);
        c.args(args)
            .uid(ROOTLESS_UID)
            .gid(ROOTLESS_UID)
            .env("XDG_RUNTIME_DIR", &self.xdg)
            .env("HOME", self.dir.path())
            .env_remove("RAMPART_SEALED_BINARY")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        c
    }

    /// `rampart args...` as the user.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        self.command(&rampart_bin(), args)
    }

    /// Runs `rampart args...` as the user (60 s guard).
    pub fn rampart<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        run_with_timeout(self.cmd(args), Duration::from_secs(60))
    }

    /// A bundle whose config.json is the one the user's `rampart spec --rootless` writes, with
    /// `args` as the process. The rootfs stays root's (readable by all), as an image would be.
    pub fn bundle(&self, args: &[&str]) -> Bundle {
        let mut b = Bundle::new(args);
        let config = b.path().join("config.json");
        fs::remove_file(&config).unwrap();
        let ok = Command::new("chown")
            .arg(format!("{ROOTLESS_UID}:{ROOTLESS_UID}"))
            .arg(b.path())
            .status()
            .expect("run chown");
        assert!(ok.success());
        self.rampart(&[
            OsStr::new("spec"),
            OsStr::new("--rootless"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
        ])
        .ok();
        b.config = read_json(&config);
        b.config["process"]["args"] = args.iter().map(|s| Value::from(*s)).collect();
        b.save();
        b
    }

    /// Ids in the user's state root.
    pub fn ids(&self) -> Vec<String> {
        fs::read_dir(self.root())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The parsed output of `state <id>`, asked as the user.
    pub fn state(&self, id: &str) -> Value {
        let o = self.rampart(&["state", id]);
        o.ok();
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("state json: {e}: {}", o.stdout))
    }
}

impl Drop for UserSession {
    fn drop(&mut self) {
        for id in self.ids() {
            let _ = self.rampart(&["delete", "--force", &id]);
        }
        for id in self.ids() {
            let mut c = Command::new(rampart_bin());
            c.arg("--root")
                .arg(self.root())
                .args(["delete", "--force", &id]);
            c.stdin(Stdio::null());
            let _ = run_with_timeout(c, Duration::from_secs(60));
        }
    }
}
