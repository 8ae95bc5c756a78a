//! CVE-2019-5736, performed for real: the image makes a process that rampart puts into the
//! container execute /proc/self/exe, so the kernel runs the runtime's own binary inside the
//! container; a process of the container keeps a descriptor of that binary and, once no runtime
//! process runs, reopens it for writing and overwrites it (the published exploit's steps).
//!
//! The "host binary" is a private copy of rampart that only the test runs as the runtime, so a
//! missing defense corrupts nothing else. After each attack the copy must be byte-identical.
//!
//! Matrix: the static and the dynamic build; the victim is a container's init (a second container
//! of the pod joins the attacker's pid namespace) or an `exec`'d process; the image reaches the
//! binary through a symlink (/bin/sh -> /proc/self/exe), a `#!/proc/self/exe` script, or args
//! naming /proc/self/exe; and both defenses: the read-only detached clone (what root gets) and
//! the sealed memfd (what a caller without CAP_SYS_ADMIN gets; forced here with
//! RAMPART_SEALED_BINARY=memfd), and the rootless case: the runtime run by an unprivileged user
//! on a rootless config, with its copy owned by that user (rampart picks the memfd itself).
//!
//! The attacker is a small C program (tests/attacks/cve_2019_5736.c, built here with gcc) running
//! as the attacker container's PID 1: it spins on /proc/<victim>/exe to win the moment between the
//! victim's execve of /proc/self/exe and the binary's own PR_SET_DUMPABLE, keeps the descriptor,
//! and once the test says no runtime process runs any more, reopens it for writing. A victim it
//! did not catch is run again (a bounded number of times); the test requires the catch, so it
//! cannot pass without the attack having been made.

use rampart_integration::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MARK: &str = "MARK-5736";

#[derive(Clone, Copy, Debug)]
enum Build {
    Static,
    Dynamic,
}

#[derive(Clone, Copy, Debug)]
enum Entry {
    Init,
    Exec,
}

#[derive(Clone, Copy, Debug)]
enum Form {
    Symlink,
    Shebang,
    Args,
}

#[derive(Clone, Copy, Debug)]
enum Defense {
    ReadOnlyClone,
    SealedMemfd,
    /// The runtime run by an unprivileged user (nobody) on a rootless config: no CAP_SYS_ADMIN
    /// anywhere on the host, so rampart itself picks the sealed memfd. The host copy belongs to
    /// that user, who may write it: the container's root is that user on the host, so without
    /// the defense the kernel lets the attacker's write through.
    Rootless,
}

/// The binary of the given build. The static one comes from `make static` (RAMPART_STATIC_BIN).
fn binary(build: Build) -> PathBuf {
    let p = match build {
        Build::Dynamic => rampart_bin(),
        Build::Static => PathBuf::from(std::env::var_os("RAMPART_STATIC_BIN").expect(
            "RAMPART_STATIC_BIN is not set: build the static binary (`make static`) and point \
             RAMPART_STATIC_BIN at it (`make integration` does both)",
        )),
    };
    let interp = has_interpreter(&p);
    match build {
        Build::Dynamic => assert!(interp, "{} is not a dynamic build", p.display()),
        Build::Static => assert!(!interp, "{} is not a static build", p.display()),
    }
    p
}

/// Whether the ELF file has a PT_INTERP program header (is dynamically linked).
fn has_interpreter(p: &Path) -> bool {
    let b = fs::read(p).unwrap();
    assert_eq!(&b[..4], b"\x7fELF", "{} is not an ELF file", p.display());
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == 3
    })
}

/// Copies the shared libraries `bin` needs (as `ldd` lists them) into the rootfs at the same
/// paths, so the dynamic binary can run inside the container, as the reviewer's image had it.
fn copy_libraries(bin: &Path, rootfs: &Path) {
    let out = Command::new("ldd").arg(bin).output().expect("run ldd");
    assert!(out.status.success(), "ldd {}: {out:?}", bin.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut copied = 0;
    for line in text.lines() {
        let lib = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        let Some(lib) = lib.filter(|l| l.starts_with('/')) else {
            continue;
        };
        let dest = rootfs.join(lib.trim_start_matches('/'));
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(lib, &dest).unwrap_or_else(|e| panic!("copy {lib}: {e}"));
        copied += 1;
    }
    assert!(copied >= 2, "ldd listed no libraries: {text}");
}

fn wait_file(p: &Path, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if p.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Builds the attacker program into `dir`.
fn build_attacker(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attacks/cve_2019_5736.c");
    let out = dir.join("attacker");
    build_static_c(&src, &out, &["-O2"]);
    out
}

/// Puts the victim's way to /proc/self/exe into `rootfs` and returns the process args that take
/// it. The symlink form replaces /bin/sh, so the attacker's own shell is called as busybox.
fn plant(form: Form, rootfs: &Path) -> Vec<String> {
    match form {
        Form::Symlink => {
            let sh = rootfs.join("bin/sh");
            let _ = fs::remove_file(&sh);
            std::os::unix::fs::symlink("/proc/self/exe", &sh).unwrap();
            vec!["/bin/sh".into(), MARK.into()]
        }
        Form::Shebang => {
            let p = rootfs.join(MARK);
            fs::write(&p, "#!/proc/self/exe\n").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            vec![format!("/{MARK}")]
        }
        Form::Args => vec!["/proc/self/exe".into(), MARK.into()],
    }
}

struct Attack {
    build: Build,
    entry: Entry,
    form: Form,
    defense: Defense,
}

impl Attack {
    /// The runtime copy as a command: `<copy> --root <root> <args>`, with the defense chosen.
    fn runtime(&self, copy: &Path, r: &Root, args: &[&str]) -> Command {
        let mut c = Command::new(copy);
        c.arg("--root").arg(r.path()).args(args);
        c.stdin(Stdio::null());
        match self.defense {
            Defense::ReadOnlyClone => c.env_remove("RAMPART_SEALED_BINARY"),
            Defense::SealedMemfd => c.env("RAMPART_SEALED_BINARY", "memfd"),
            Defense::Rootless => {
                use std::os::unix::process::CommandExt;
                c.env_remove("RAMPART_SEALED_BINARY")
                    .uid(ROOTLESS_UID)
                    .gid(ROOTLESS_UID)
            }
        };
        c
    }

    fn run(&self) -> Result<String, String> {
        let what = format!(
            "{:?} build, {:?}, {:?} form, {:?}",
            self.build, self.entry, self.form, self.defense
        );
        let rootless = matches!(self.defense, Defense::Rootless);
        let user = rootless.then(UserSession::new);
        let r = Root::new();
        let tmp = TempDir::new("5736");
        let copy = tmp.path().join("rampart-host-copy");
        fs::copy(binary(self.build), &copy).unwrap();
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
        if rootless {
            // The user's own state root and its own copy of the runtime (as in ~/bin).
            chown_to_user(r.path());
            chown_to_user(&copy);
        }
        let before = fs::read(&copy).unwrap();
        let bundle = |args: &[&str]| match &user {
            Some(u) => u.bundle(args),
            None => Bundle::new(args),
        };

        // The attacker's container; for the exec entry its image is also the victim's.
        let mut a = bundle(&["/attacker"]);
        fs::copy(build_attacker(tmp.path()), a.rootfs().join("attacker")).unwrap();
        let w = a.bind_dir("/w", false);
        if rootless {
            chown_to_user(&w);
        }
        // The victim's image: the attacker's own for exec; for the init, a second container of
        // the pod that joins the attacker's pid namespace (and, rootless, its user namespace,
        // which owns that pid namespace).
        let mut b = match self.entry {
            Entry::Exec => None,
            Entry::Init => Some(bundle(&["true"])),
        };
        let image = b.as_ref().map(|b| b.rootfs()).unwrap_or_else(|| a.rootfs());
        if matches!(self.build, Build::Dynamic) {
            copy_libraries(&copy, &image);
        }
        let args = plant(self.form, &image);
        let ida = unique("cve5736a");
        let run_d = |bundle: &Bundle, id: &str| {
            let c = self.runtime(
                &copy,
                &r,
                &["run", "-d", "--bundle", bundle.path().to_str().unwrap(), id],
            );
            run_with_timeout(c, Duration::from_secs(60))
        };
        let o = run_d(&a, &ida);
        assert_eq!(o.code, 0, "{what}: attacker container: {o:#?}");
        let apid = r.state(&ida)["pid"].as_i64().unwrap();
        if let Some(b) = b.as_mut() {
            b.edit(|c| {
                c["process"]["args"] = json!(args);
                for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                    if ns["type"] == "pid" || ns["type"] == "user" {
                        let t = if ns["type"] == "pid" { "pid" } else { "user" };
                        ns["path"] = Value::from(format!("/proc/{apid}/ns/{t}"));
                    }
                }
                if let Some(linux) = c["linux"].as_object_mut() {
                    linux.remove("uidMappings");
                    linux.remove("gidMappings");
                }
            });
        }

        // Victims until the attacker catches one (it must win a short window each time).
        let mut victims = Vec::new();
        let mut grabbed = false;
        for attempt in 0..50 {
            match &b {
                Some(b) => {
                    // The id carries the marker too: the attacker finds the init before its
                    // execve and spins on it from there.
                    let idb = format!("{}-{MARK}", unique("cve5736b"));
                    let o = run_d(b, &idb);
                    assert_eq!(o.code, 0, "{what}: victim container: {o:#?}");
                    let end = Instant::now() + Duration::from_secs(30);
                    while r.status(&idb) != "stopped" && Instant::now() < end {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    victims.push(idb);
                }
                None => {
                    let mut argv = vec!["exec".to_string(), ida.clone()];
                    argv.extend(args.iter().cloned());
                    let argv: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
                    let o =
                        run_with_timeout(self.runtime(&copy, &r, &argv), Duration::from_secs(60));
                    // The victim is rampart run with arguments it rejects: a usage error.
                    assert_ne!(o.code, 0, "{what}: attempt {attempt}: {o:#?}");
                }
            }
            if wait_file(&w.join("grabbed"), 1) {
                grabbed = true;
                break;
            }
        }
        // No runtime process runs any more: every command above has returned and every victim
        // has exited. Now the attacker tries to write.
        fs::write(w.join("go"), "").unwrap();
        let finished = wait_file(&w.join("result"), 30);
        let result = fs::read_to_string(w.join("result")).unwrap_or_default();
        let missed = fs::read_to_string(w.join("missed")).unwrap_or_default();
        let after = fs::read(&copy).unwrap();

        for idb in &victims {
            r.rampart(&["delete", "--force", idb]).ok();
            assert_nothing_left(&r, b.as_ref().unwrap(), idb);
        }
        r.rampart(&["delete", "--force", &ida]).ok();
        assert_nothing_left(&r, &a, &ida);

        // The attack really ran: the binary executed inside the container and the attacker held
        // a descriptor of it. Without that the test would prove nothing.
        let misses = missed.lines().count();
        if !grabbed {
            return Err(format!(
                "{what}: the attacker never got hold of the victim's binary ({misses} misses; {result})"
            ));
        }
        if !finished {
            return Err(format!("{what}: the attacker never finished"));
        }
        if after != before {
            return Err(format!(
                "{what}: the host's runtime binary was overwritten from the container (attacker: {})",
                result.trim()
            ));
        }
        if !result.starts_with("refused") {
            return Err(format!("{what}: attacker: {result}"));
        }
        Ok(format!(
            "{what}: caught after {misses} misses, {}",
            result.trim()
        ))
    }
}

/// Every form, each attacked on its own; all must hold.
fn matrix(build: Build, entry: Entry, defense: Defense) {
    let mut failed = Vec::new();
    for form in [Form::Symlink, Form::Shebang, Form::Args] {
        let attack = Attack {
            build,
            entry,
            form,
            defense,
        };
        match attack.run() {
            Ok(held) => eprintln!("{held}"),
            Err(broken) => failed.push(broken),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn static_build_init_read_only_clone() {
    matrix(Build::Static, Entry::Init, Defense::ReadOnlyClone);
}

#[test]
fn static_build_exec_read_only_clone() {
    matrix(Build::Static, Entry::Exec, Defense::ReadOnlyClone);
}

#[test]
fn dynamic_build_init_read_only_clone() {
    matrix(Build::Dynamic, Entry::Init, Defense::ReadOnlyClone);
}

#[test]
fn dynamic_build_exec_read_only_clone() {
    matrix(Build::Dynamic, Entry::Exec, Defense::ReadOnlyClone);
}

#[test]
fn static_build_init_sealed_memfd() {
    matrix(Build::Static, Entry::Init, Defense::SealedMemfd);
}

#[test]
fn static_build_exec_sealed_memfd() {
    matrix(Build::Static, Entry::Exec, Defense::SealedMemfd);
}

#[test]
fn dynamic_build_init_sealed_memfd() {
    matrix(Build::Dynamic, Entry::Init, Defense::SealedMemfd);
}

#[test]
fn dynamic_build_exec_sealed_memfd() {
    matrix(Build::Dynamic, Entry::Exec, Defense::SealedMemfd);
}

#[test]
fn static_build_init_rootless() {
    matrix(Build::Static, Entry::Init, Defense::Rootless);
}

#[test]
fn static_build_exec_rootless() {
    matrix(Build::Static, Entry::Exec, Defense::Rootless);
}

#[test]
fn dynamic_build_init_rootless() {
    matrix(Build::Dynamic, Entry::Init, Defense::Rootless);
}

#[test]
fn dynamic_build_exec_rootless() {
    matrix(Build::Dynamic, Entry::Exec, Defense::Rootless);
}

/// A binary that sits on a read-only mount of the host (a read-only /usr) is not safe as it is:
/// the container keeps a handle to that attached mount, and once the host remounts it writable
/// (an upgrade, an administrator) the attacker's reopen succeeds. rampart must re-exec from its
/// own detached clone all the same. The "host" here is a private mount namespace the test makes
/// (a holder process), so nothing is mounted in the real host's table.
#[test]
fn a_binary_on_a_read_only_host_mount_is_cloned_all_the_same() {
    use std::process::Child;
    let r = Root::new();
    let tmp = TempDir::new("5736ro");
    let bin_dir = tmp.path().join("usr-bin");
    fs::create_dir_all(&bin_dir).unwrap();
    let copy = bin_dir.join("rampart-host-copy");
    fs::copy(binary(Build::Static), &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    let before = fs::read(&copy).unwrap();

    struct Holder(Child);
    impl Drop for Holder {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let holder = Holder(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sleep", "600"])
            .spawn()
            .expect("unshare"),
    );
    let h = holder.0.id().to_string();
    // Wait until the holder is in its own mount namespace.
    let end = Instant::now() + Duration::from_secs(10);
    while fs::read_link(format!("/proc/{h}/ns/mnt")).ok() == fs::read_link("/proc/self/ns/mnt").ok()
        && Instant::now() < end
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let in_ns = |args: &[&str]| {
        let mut c = Command::new("nsenter");
        c.args(["-t", &h, "-m", "--"])
            .args(args)
            .stdin(Stdio::null());
        c
    };
    let dir = bin_dir.to_str().unwrap();
    for args in [
        vec!["mount", "--bind", dir, dir],
        vec!["mount", "-o", "remount,bind,ro", dir],
    ] {
        let o = in_ns(&args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {o:?}");
    }
    let root = r.path().to_str().unwrap().to_string();
    let runtime = |args: &[&str]| {
        let mut full = vec![copy.to_str().unwrap(), "--root", &root];
        full.extend_from_slice(args);
        run_with_timeout(in_ns(&full), Duration::from_secs(60))
    };

    let mut a = Bundle::new(&["/attacker"]);
    fs::copy(build_attacker(tmp.path()), a.rootfs().join("attacker")).unwrap();
    let w = a.bind_dir("/w", false);
    let ida = unique("cve5736ro");
    runtime(&["run", "-d", "--bundle", a.path().to_str().unwrap(), &ida]).ok();
    let mut grabbed = false;
    for _ in 0..50 {
        let o = runtime(&["exec", &ida, "/proc/self/exe", MARK]);
        assert_ne!(o.code, 0, "{o:#?}");
        if wait_file(&w.join("grabbed"), 1) {
            grabbed = true;
            break;
        }
    }
    // The host makes the mount writable again while the container still holds the binary.
    let o = in_ns(&["mount", "-o", "remount,bind,rw", dir])
        .output()
        .unwrap();
    assert!(o.status.success(), "remount rw: {o:?}");
    fs::write(w.join("go"), "").unwrap();
    let finished = wait_file(&w.join("result"), 30);
    let result = fs::read_to_string(w.join("result")).unwrap_or_default();
    let after = fs::read(&copy).unwrap();
    r.rampart(&["delete", "--force", &ida]).ok();
    drop(holder);
    assert_nothing_left(&r, &a, &ida);

    assert!(
        grabbed,
        "the attacker never got hold of the binary ({result})"
    );
    assert!(finished, "the attacker never finished");
    assert!(
        after == before,
        "the runtime binary was overwritten after the host remounted its mount writable \
         (attacker: {})",
        result.trim()
    );
    assert!(result.starts_with("refused"), "attacker: {result}");
}
