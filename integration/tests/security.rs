//! One test per known runtime escape in ../shared/SECURITY.md. Each reproduces the attack with a
//! hostile bundle (image content, volumes) or a hostile container process, and then checks from
//! the host that nothing outside the container changed: file contents, a host sysctl, the host's
//! mount table, the runtime binary. Victims are files the test made itself (or a harmless sysctl
//! it restores), so a missing defense damages nothing that matters.
//!
//! CVE-2019-5736: the test here checks one layer, PR_SET_DUMPABLE (a container's init waiting in
//! `created` is still the runtime and must not be reachable through /proc/<pid>/exe). The attack
//! itself, with the image making a container process execute /proc/self/exe (symlink, `#!`,
//! args; init and exec; static and dynamic builds), is in cve_2019_5736.rs.

use rampart_integration::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GUARD: Duration = Duration::from_secs(60);

/// Waits (bounded, as a hang guard only) for a file the container writes.
fn wait_file(p: &Path, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if p.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A host directory bind-mounted read-write at `dest` (made in the rootfs first).
fn volume(b: &mut Bundle, name: &str, dest: &str) -> PathBuf {
    let host = b.path().join(name);
    fs::create_dir_all(&host).unwrap();
    let _ = fs::create_dir_all(b.rootfs().join(dest.trim_start_matches('/')));
    let m = json!({"destination": dest, "type": "bind", "source": host,
                   "options": ["rbind", "nosuid", "nodev", "rw"]});
    b.edit(|c| c["mounts"].as_array_mut().unwrap().push(m));
    host
}

/// `rampart --root R <args>` with host descriptor `fd` leaked to it as descriptor `as_fd`
/// (no close-on-exec), the way a careless engine or a leaked runtime descriptor would.
fn run_with_leaked_fd(r: &Root, args: &[&OsStr], fd: i32, as_fd: i32) -> Out {
    let mut c = r.cmd(args);
    // SAFETY: dup2 is async-signal-safe; both descriptors are valid in the forked child.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(fd, as_fd) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run_with_timeout(c, GUARD)
}

fn run_args<'a>(b: &'a Bundle, id: &'a str) -> Vec<&'a OsStr> {
    vec![
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ]
}

fn init_pid(r: &Root, id: &str) -> i32 {
    r.state(id)["pid"].as_i64().expect("state has a pid") as i32
}

// ---- CVE-2019-5736: the runtime's binary reachable through /proc/<pid>/exe ----------------------

/// A hostile container shares its pid namespace with a second container that sits in `created`
/// (its init is still the runtime binary, waiting for `start`). The hostile process looks for
/// it, opens /proc/<pid>/exe, keeps the descriptor until the runtime is gone and re-opens it for
/// writing: the original overwrite of the host's runtime. The "host binary" here is a copy of
/// rampart that only this test runs, so a missing defense corrupts nothing else.
#[test]
fn cve_2019_5736_runtime_binary_unreachable_from_a_container() {
    let r = Root::new();
    let tmp = TempDir::new("5736");
    let victim = tmp.path().join("rt-victim");
    fs::copy(rampart_bin(), &victim).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o755)).unwrap();
    let victim_before = fs::read(&victim).unwrap();
    let real_before = fs::read(rampart_bin()).unwrap();

    let script = r#"
while [ ! -e /shared/go ]; do sleep 0.05; done
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$(cat $d/comm 2>/dev/null)" = "rt-victim" ] || continue
  echo "found $p" >> /shared/log
  ( exec 3</proc/$p/exe || exit 0
    echo "opened $p" >> /shared/log
    while [ ! -e /shared/killed ]; do sleep 0.05; done
    printf PWNED 1<>/proc/self/fd/3 && echo "wrote $p" >> /shared/log ) 2>/dev/null &
done
echo scanned > /shared/scanned
while [ ! -e /shared/killed ]; do sleep 0.05; done
wait
echo finished > /shared/finished
"#;
    let mut a = Bundle::new(&["sh", "-c", script]);
    let shared = volume(&mut a, "shared", "/shared");
    let ida = unique("sec5736a");
    r.create(&a, &ida);
    r.rampart(&["start", &ida]).ok();
    let apid = init_pid(&r, &ida);

    // The second container joins the hostile one's pid namespace and stays in `created`.
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "pid" {
                ns["path"] = Value::from(format!("/proc/{apid}/ns/pid"));
            }
        }
    });
    let idb = unique("sec5736b");
    let mut c = std::process::Command::new(&victim);
    c.arg("--root")
        .arg(r.path())
        .arg("create")
        .arg("--bundle")
        .arg(b.path())
        .arg(&idb);
    c.stdin(std::process::Stdio::null());
    run_with_timeout(c, GUARD).ok();

    fs::write(shared.join("go"), "").unwrap();
    assert!(
        wait_file(&shared.join("scanned"), 30),
        "hostile container never scanned"
    );
    r.rampart(&["delete", "--force", &idb]).ok();
    fs::write(shared.join("killed"), "").unwrap();
    assert!(
        wait_file(&shared.join("finished"), 30),
        "hostile container never finished"
    );
    let log = fs::read_to_string(shared.join("log")).unwrap_or_default();
    r.rampart(&["delete", "--force", &ida]).ok();

    // Non-vacuous: the attacker did see the runtime's process.
    assert!(
        log.contains("found"),
        "the hostile process never saw the runtime: {log}"
    );
    assert!(
        !log.contains("opened"),
        "container opened the runtime's exe: {log}"
    );
    assert!(
        fs::read(&victim).unwrap() == victim_before,
        "runtime binary copy was modified"
    );
    assert!(
        fs::read(rampart_bin()).unwrap() == real_before,
        "rampart binary was modified"
    );
    assert_nothing_left(&r, &a, &ida);
    assert_nothing_left(&r, &b, &idb);
}

// ---- CVE-2024-21626: a leaked host descriptor as the workload's cwd ---------------------------

/// A host directory leaks into the runtime as fd 7 and the config asks for
/// process.cwd = /proc/self/fd/N. Whatever N is, the container must not start with its cwd on
/// the host, and the host file there must stay as it was.
#[test]
fn cve_2024_21626_cwd_through_a_leaked_host_fd_is_refused() {
    let r = Root::new();
    let host = TempDir::new("21626-host");
    let secret = format!("host-secret-{}", unique("s"));
    fs::write(host.path().join("victim"), &secret).unwrap();
    let dir = fs::File::open(host.path()).unwrap();
    use std::os::fd::AsRawFd;
    for n in 3..=10 {
        let mut b = Bundle::new(&["sh", "-c", "echo pwned > victim; cat victim; pwd"]);
        b.edit(|c| c["process"]["cwd"] = Value::from(format!("/proc/self/fd/{n}")));
        let id = unique("sec21626");
        let o = run_with_leaked_fd(&r, &run_args(&b, &id), dir.as_raw_fd(), 7);
        assert_ne!(o.code, 0, "cwd /proc/self/fd/{n} was accepted: {o:#?}");
        assert!(
            !o.stdout.contains(&secret),
            "workload read the host file: {o:#?}"
        );
        assert_eq!(
            fs::read_to_string(host.path().join("victim")).unwrap(),
            secret
        );
        assert_nothing_left(&r, &b, &id);
    }
}

/// The same leaked host directory must not reach the workload as any descriptor: the workload
/// tries every descriptor it has as a way out (cd through it, read and write the host file).
#[test]
fn cve_2024_21626_no_host_descriptor_reaches_the_workload() {
    let r = Root::new();
    let host = TempDir::new("21626-host");
    let secret = format!("host-secret-{}", unique("s"));
    fs::write(host.path().join("victim"), &secret).unwrap();
    let dir = fs::File::open(host.path()).unwrap();
    use std::os::fd::AsRawFd;
    let script = r#"
n=0
while [ $n -lt 64 ]; do
  if [ -e /proc/self/fd/$n ]; then
    echo "fd $n"
    if [ $n -ge 3 ]; then
      ( cd /proc/self/fd/$n 2>/dev/null && cat victim 2>/dev/null; echo pwned > victim ) 2>/dev/null
    fi
  fi
  n=$((n+1))
done
"#;
    let b = Bundle::new(&["sh", "-c", script]);
    let id = unique("sec21626fd");
    let o = run_with_leaked_fd(&r, &run_args(&b, &id), dir.as_raw_fd(), 7);
    o.ok();
    // Non-vacuous: the scan saw the workload's own stdio.
    assert!(o.stdout.contains("fd 1\n"), "scan did not run: {o:#?}");
    assert!(
        !o.stdout.contains(&secret),
        "workload read the host file through a fd: {o:#?}"
    );
    assert_eq!(
        fs::read_to_string(host.path().join("victim")).unwrap(),
        secret
    );
    assert_nothing_left(&r, &b, &id);
}

// ---- CVE-2025-31133: /dev/null in the image is not the null device ----------------------------

/// A bundle that uses the image's own /dev (no /dev tmpfs), whose /dev/null is `null`.
fn image_dev_bundle(null: impl FnOnce(&Path)) -> (Bundle, PathBuf) {
    let script = "for p in /proc/keys /proc/timer_list /proc/kcore /proc/sched_debug /etc/hidden; \
                  do echo pwned > $p 2>/dev/null; done; echo ran";
    let mut b = Bundle::new(&["sh", "-c", script]);
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| !m["destination"].as_str().unwrap_or("").starts_with("/dev"));
        c["linux"]["maskedPaths"]
            .as_array_mut()
            .unwrap()
            .push(Value::from("/etc/hidden"));
    });
    fs::write(b.rootfs().join("etc/hidden"), "hidden").unwrap();
    let vol = volume(&mut b, "vol", "/vol");
    let secret = format!("host-victim-{}", unique("v"));
    fs::write(vol.join("victim"), &secret).unwrap();
    null(&b.rootfs().join("dev/null"));
    (b, vol)
}

/// The image's /dev/null is a symlink to a writable host file (a volume). Masking must not bind
/// that file over the masked paths: rampart fails closed, and the host file keeps its content.
#[test]
fn cve_2025_31133_dev_null_symlink_fails_closed() {
    let r = Root::new();
    let (b, vol) = image_dev_bundle(|p| std::os::unix::fs::symlink("/vol/victim", p).unwrap());
    let before = fs::read_to_string(vol.join("victim")).unwrap();
    let id = unique("sec31133");
    let o = r.run(&b, &id);
    assert_ne!(
        o.code, 0,
        "masking went on with a symlinked /dev/null: {o:#?}"
    );
    assert!(
        o.stderr.contains("/dev/null"),
        "error does not name /dev/null: {o:#?}"
    );
    assert!(!o.stdout.contains("ran"), "the workload ran: {o:#?}");
    assert_eq!(fs::read_to_string(vol.join("victim")).unwrap(), before);
    assert_nothing_left(&r, &b, &id);
}

/// The image's /dev/null is another device (1:5, /dev/zero) or a plain file: refused too.
#[test]
fn cve_2025_31133_dev_null_that_is_not_char_1_3_fails_closed() {
    let r = Root::new();
    let makers: [(&str, Box<dyn FnOnce(&Path)>); 2] = [
        (
            "zero",
            Box::new(|p: &Path| {
                let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
                // SAFETY: valid C string; makes a device node inside the test's own rootfs.
                let rc =
                    unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 5)) };
                assert_eq!(rc, 0, "mknod");
            }),
        ),
        ("file", Box::new(|p: &Path| fs::write(p, "").unwrap())),
    ];
    for (what, make) in makers {
        let (b, vol) = image_dev_bundle(make);
        let before = fs::read_to_string(vol.join("victim")).unwrap();
        let id = unique("sec31133d");
        let o = r.run(&b, &id);
        assert_ne!(o.code, 0, "masking went on with /dev/null = {what}: {o:#?}");
        assert!(
            o.stderr.contains("/dev/null"),
            "error does not name /dev/null: {o:#?}"
        );
        assert!(!o.stdout.contains("ran"), "the workload ran: {o:#?}");
        assert_eq!(fs::read_to_string(vol.join("victim")).unwrap(), before);
        assert_nothing_left(&r, &b, &id);
    }
}

// ---- CVE-2025-52565: the console bind redirected by a symlink ---------------------------------

/// A bundle with `terminal: true` using the image's own /dev (a real null device in it, a fresh
/// devpts at /dev/pts), plus a writable volume at /vol holding a host victim file.
fn console_bundle() -> (Bundle, PathBuf) {
    let mut b = Bundle::new(&["sh", "-c", "echo pwned > /dev/console; echo ran"]);
    b.edit(|c| {
        c["process"]["terminal"] = Value::from(true);
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| {
            m["destination"] != "/dev"
                && m["destination"] != "/dev/shm"
                && m["destination"] != "/dev/mqueue"
        });
    });
    fs::create_dir_all(b.rootfs().join("dev/pts")).unwrap();
    let null =
        std::ffi::CString::new(b.rootfs().join("dev/null").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid C string; the real null device, inside the test's own rootfs.
    let rc = unsafe { libc::mknod(null.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(rc, 0, "mknod /dev/null");
    let vol = volume(&mut b, "vol", "/vol");
    fs::write(vol.join("victim"), format!("host-victim-{}", unique("c"))).unwrap();
    (b, vol)
}

/// `create --console-socket` of a bundle; a connection the runtime makes is queued on the
/// listener without being accepted, which is all the init needs to send the master.
fn create_with_console(r: &Root, b: &Bundle, id: &str) -> Out {
    let sock = b.path().join("console.sock");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--console-socket"),
        sock.as_os_str(),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ])
}

/// The image's /dev/console is a symlink to a host file in a volume. The pty must not be
/// bind-mounted onto the link's target: create fails closed and no mount covers the victim.
#[test]
fn cve_2025_52565_dev_console_symlink_is_refused() {
    let r = Root::new();
    let (b, vol) = console_bundle();
    std::os::unix::fs::symlink("/vol/victim", b.rootfs().join("dev/console")).unwrap();
    let before = fs::read_to_string(vol.join("victim")).unwrap();
    let id = unique("sec52565");
    let o = create_with_console(&r, &b, &id);
    let mut covered = String::new();
    if o.code == 0 {
        let pid = init_pid(&r, &id);
        covered = fs::read_to_string(format!("/proc/{pid}/mountinfo"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("/vol/victim"))
            .collect::<Vec<_>>()
            .join("\n");
        r.rampart(&["delete", "--force", &id]).ok();
    }
    assert!(
        covered.is_empty(),
        "the pty was mounted over the victim: {covered}"
    );
    assert_ne!(o.code, 0, "a symlinked /dev/console was accepted: {o:#?}");
    assert!(
        o.stderr.contains("/dev/console"),
        "error does not name /dev/console: {o:#?}"
    );
    assert_eq!(fs::read_to_string(vol.join("victim")).unwrap(), before);
    assert_nothing_left(&r, &b, &id);
}

/// A hostile directory mounted over /dev/pts whose `ptmx` is a symlink to the victim (and whose
/// `0` is a plain file): the runtime must not take either for the terminal.
#[test]
fn cve_2025_52565_fake_dev_pts_is_refused() {
    let r = Root::new();
    let (mut b, vol) = console_bundle();
    let fake = b.path().join("fake-pts");
    fs::create_dir_all(&fake).unwrap();
    std::os::unix::fs::symlink("/vol/victim", fake.join("ptmx")).unwrap();
    fs::write(fake.join("0"), "").unwrap();
    let m = json!({"destination": "/dev/pts", "type": "bind", "source": fake,
                   "options": ["rbind", "rw"]});
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/dev/pts");
        mounts.push(m);
    });
    let before = fs::read_to_string(vol.join("victim")).unwrap();
    let id = unique("sec52565p");
    let o = create_with_console(&r, &b, &id);
    if o.code == 0 {
        r.rampart(&["delete", "--force", &id]).ok();
    }
    assert_ne!(o.code, 0, "a fake /dev/pts was accepted: {o:#?}");
    assert!(
        o.stderr.contains("ptmx"),
        "error does not name ptmx: {o:#?}"
    );
    assert_eq!(fs::read_to_string(vol.join("victim")).unwrap(), before);
    assert_eq!(fs::read(fake.join("0")).unwrap(), b"");
    assert_nothing_left(&r, &b, &id);
}

// ---- CVE-2025-52881: the runtime's /proc writes redirected -------------------------------------

/// Restores a host sysctl on drop, whatever happened.
struct SysctlGuard {
    path: PathBuf,
    value: String,
}

impl Drop for SysctlGuard {
    fn drop(&mut self) {
        if fs::read_to_string(&self.path).unwrap_or_default() != self.value {
            let _ = fs::write(&self.path, &self.value);
        }
    }
}

/// The image makes /data a symlink to /proc/sys/kernel and the engine mounts a shared volume at
/// /data, so the volume lands on the container's /proc/sys/kernel. In that volume another tenant
/// planted `domainname` -> /proc/sys/fs/lease-break-time (a harmless global sysctl). The config's
/// kernel.domainname sysctl must not be written through that link into the host's sysctl; it
/// must land in the container's own UTS namespace.
#[test]
fn cve_2025_52881_sysctl_write_is_not_redirected() {
    let target = PathBuf::from("/proc/sys/fs/lease-break-time");
    let original = fs::read_to_string(&target).unwrap();
    let _guard = SysctlGuard {
        path: target.clone(),
        value: original.clone(),
    };
    let orig_n: u64 = original.trim().parse().unwrap();
    let hostile = (orig_n + 17).to_string();

    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "echo ran"]);
    std::os::unix::fs::symlink("/proc/sys/kernel", b.rootfs().join("data")).unwrap();
    let vol = b.path().join("shared-volume");
    fs::create_dir_all(&vol).unwrap();
    std::os::unix::fs::symlink(&target, vol.join("domainname")).unwrap();
    let m = json!({"destination": "/data", "type": "bind", "source": vol,
                   "options": ["rbind", "nosuid", "nodev", "rw"]});
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(m);
        c["linux"]["sysctl"] = json!({"kernel.domainname": hostile});
    });
    let id = unique("sec52881");
    r.create(&b, &id);
    let pid = init_pid(&r, &id);
    // What the container's UTS namespace holds, read from the host's /proc inside it.
    let mut c = std::process::Command::new("nsenter");
    c.arg(format!("--uts=/proc/{pid}/ns/uts"))
        .args(["cat", "/proc/sys/kernel/domainname"]);
    let inside = run_with_timeout(c, GUARD);
    let after = fs::read_to_string(&target).unwrap();
    r.rampart(&["delete", "--force", &id]).ok();
    assert_eq!(
        after, original,
        "the host sysctl was written through the container"
    );
    assert!(
        fs::symlink_metadata(vol.join("domainname"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the planted link was replaced"
    );
    // Non-vacuous: the write happened, and went to the container's own UTS namespace.
    inside.ok();
    assert_eq!(
        inside.stdout.trim(),
        hostile,
        "domainname not applied in the container"
    );
    assert_nothing_left(&r, &b, &id);
}

// ---- CVE-2019-19921 / CVE-2023-27561: /proc or /sys in the image is a symlink -----------------

/// proc and sysfs must not be mounted through a symlink (or onto a non-directory) in the image:
/// the runtime would then write LSM labels and sysctls into whatever the image points at.
#[test]
fn cve_2019_19921_proc_and_sys_on_a_symlink_are_refused() {
    let r = Root::new();
    for (dest, how) in [
        ("proc", "symlink"),
        ("sys", "symlink"),
        ("proc", "file"),
        ("sys", "file"),
    ] {
        let b = Bundle::new(&["sh", "-c", "echo ran"]);
        let rootfs = b.rootfs();
        let real = rootfs.join(dest);
        fs::remove_dir(&real).unwrap();
        let fake = rootfs.join(format!("fake{dest}"));
        fs::create_dir_all(fake.join("self/attr")).unwrap();
        fs::write(fake.join("self/attr/current"), "untouched").unwrap();
        match how {
            "symlink" => std::os::unix::fs::symlink(format!("fake{dest}"), &real).unwrap(),
            _ => fs::write(&real, "not a directory").unwrap(),
        }
        let id = unique("sec19921");
        let o = r.run(&b, &id);
        assert_ne!(o.code, 0, "{dest} mounted on a {how}: {o:#?}");
        assert!(!o.stdout.contains("ran"), "the workload ran: {o:#?}");
        assert!(
            o.stderr.contains(&format!("/{dest}")),
            "error does not name /{dest}: {o:#?}"
        );
        assert_eq!(
            fs::read_to_string(fake.join("self/attr/current")).unwrap(),
            "untouched"
        );
        assert!(
            fs::read_dir(&fake).unwrap().count() == 1,
            "the fake {dest} was written to"
        );
        assert_nothing_left(&r, &b, &id);
    }
}

// ---- CVE-2021-30465: a volume's destination swapped for a symlink during mount ---------------

fn rename_exchange(a: &Path, b: &Path) -> bool {
    let ca = std::ffi::CString::new(a.as_os_str().as_encoded_bytes()).unwrap();
    let cb = std::ffi::CString::new(b.as_os_str().as_encoded_bytes()).unwrap();
    const RENAME_EXCHANGE: libc::c_uint = 1 << 1;
    // SAFETY: valid C strings; renames inside the test's own rootfs.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            RENAME_EXCHANGE,
        )
    };
    r == 0
}

/// While containers are created over and over, a racer thread swaps the volume directory /vol
/// with a symlink to an absolute host path (renameat2 RENAME_EXCHANGE). Every mount must land
/// inside the container's root: the tmpfs volume (tagged with a unique source name) shows up in
/// the container's own mount table each time, and the host directory and mount table stay
/// untouched.
#[test]
fn cve_2021_30465_volume_swapped_for_a_symlink_stays_inside_the_root() {
    let r = Root::new();
    let host = TempDir::new("30465-host");
    fs::write(host.path().join("marker"), "host").unwrap();
    let host_abs = host.path().to_path_buf();
    let tag = unique("race30465");

    let mut b = Bundle::new(&["true"]);
    let rootfs = b.rootfs();
    fs::create_dir_all(rootfs.join("vol")).unwrap();
    // The in-root twin of the host path, so the symlink also resolves inside the root.
    fs::create_dir_all(rootfs.join(host_abs.strip_prefix("/").unwrap())).unwrap();
    std::os::unix::fs::symlink(&host_abs, rootfs.join("swap")).unwrap();
    let m = json!({"destination": "/vol", "type": "tmpfs", "source": tag,
                   "options": ["nosuid", "nodev", "size=64k"]});
    b.edit(|c| c["mounts"].as_array_mut().unwrap().push(m));

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let racer = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        let (vol, swap) = (rootfs.join("vol"), rootfs.join("swap"));
        std::thread::spawn(move || {
            // Bounded: stops when told to, or after this many swaps.
            for _ in 0..50_000_000u64 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if rename_exchange(&vol, &swap) {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    let mut landed = 0;
    let mut problems = Vec::new();
    for _ in 0..25 {
        let id = unique("sec30465");
        let o = r.rampart(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ]);
        if o.code == 0 {
            let pid = init_pid(&r, &id);
            let mi = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
            match mi.lines().find(|l| l.contains(&format!(" - tmpfs {tag} "))) {
                Some(_) => landed += 1,
                None => problems.push(format!("volume not inside the root:\n{mi}")),
            }
            r.rampart(&["delete", "--force", &id]).ok();
        }
        assert_nothing_left(&r, &b, &id);
    }
    stop.store(true, Ordering::Relaxed);
    racer.join().unwrap();
    // Leave the rootfs as it was (the bundle is removed anyway).
    if fs::symlink_metadata(rootfs.join("vol"))
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
    {
        rename_exchange(&rootfs.join("vol"), &rootfs.join("swap"));
    }

    assert!(swaps.load(Ordering::Relaxed) > 0, "the racer never swapped");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(landed > 0, "no create succeeded under the race");
    assert!(
        host_mounts_containing(&tag).is_empty(),
        "the volume reached the host's mounts"
    );
    assert_eq!(
        fs::read_dir(host.path()).unwrap().count(),
        1,
        "host directory changed"
    );
    assert_eq!(
        fs::read_to_string(host.path().join("marker")).unwrap(),
        "host"
    );
}

// ---- CVE-2022-29162: inheritable and ambient capabilities -------------------------------------

/// Starts the runtime with CAP_NET_RAW and CAP_SYS_PTRACE in its inheritable set and CAP_NET_RAW
/// in its ambient set, as a careless caller might.
fn with_inheritable_and_ambient_caps(c: &mut std::process::Command) {
    // SAFETY: capget/capset/prctl are async-signal-safe syscalls on the forked child's own
    // credentials; the buffers live on the stack for the duration of each call.
    unsafe {
        c.pre_exec(|| {
            #[repr(C)]
            struct Header {
                version: u32,
                pid: i32,
            }
            #[repr(C)]
            #[derive(Clone, Copy, Default)]
            struct Data {
                effective: u32,
                permitted: u32,
                inheritable: u32,
            }
            let mut h = Header {
                version: 0x2008_0522,
                pid: 0,
            };
            let mut d = [Data::default(); 2];
            if libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            d[0].inheritable |= (1 << 13) | (1 << 19);
            if libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                13 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The CapInh and CapAmb lines of a `grep Cap /proc/self/status` output.
fn cap_field(o: &Out, name: &str) -> String {
    o.stdout
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {name} in {o:#?}"))
}

/// The runtime is started with CAP_NET_RAW and CAP_SYS_PTRACE in its inheritable set and
/// CAP_NET_RAW in its ambient set (as a careless caller might). The config asks for none, so
/// the workload must have empty inheritable and ambient sets.
#[test]
fn cve_2022_29162_inheritable_and_ambient_sets_empty_unless_asked() {
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "grep -E '^Cap(Inh|Amb)' /proc/self/status"]);
    let id = unique("sec29162");
    let mut c = r.cmd(&run_args(&b, &id));
    with_inheritable_and_ambient_caps(&mut c);
    let o = run_with_timeout(c, GUARD);
    o.ok();
    assert_eq!(cap_field(&o, "CapInh:"), "0000000000000000", "{o:#?}");
    assert_eq!(cap_field(&o, "CapAmb:"), "0000000000000000", "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// The same through `rampart exec` (the path of the original CVE), also with `--cap`: the added
/// capability lands in the effective set, never in the inheritable or ambient ones.
#[test]
fn cve_2022_29162_exec_leaves_inheritable_and_ambient_empty() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("sec29162x");
    r.create(&b, &id);
    r.rampart(&["start", &id]).ok();
    for extra in [&[][..], &["--cap", "CAP_NET_RAW"][..]] {
        let mut args = vec!["exec"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[&id, "grep", "-E", "^Cap(Inh|Amb|Eff)", "/proc/self/status"]);
        let mut c = r.cmd(&args);
        with_inheritable_and_ambient_caps(&mut c);
        let o = run_with_timeout(c, GUARD);
        o.ok();
        assert_eq!(
            cap_field(&o, "CapInh:"),
            "0000000000000000",
            "{extra:?}: {o:#?}"
        );
        assert_eq!(
            cap_field(&o, "CapAmb:"),
            "0000000000000000",
            "{extra:?}: {o:#?}"
        );
        if !extra.is_empty() {
            let eff = u64::from_str_radix(&cap_field(&o, "CapEff:"), 16).unwrap();
            assert_ne!(eff & (1 << 13), 0, "--cap CAP_NET_RAW not applied: {o:#?}");
        }
    }
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

// ---- cgroup write-back: lifting one's own limits from inside ---------------------------------

/// A container with memory and pids limits tries to raise both through its cgroup mount (and to
/// remount it read-write). The limits seen from the host stay what the config set.
#[test]
fn cgroup_limits_cannot_be_lifted_from_inside() {
    let r = Root::new();
    let script = r#"
for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes; do
  [ -e $f ] && echo -1 > $f 2>/dev/null && echo "wrote $f"
done
echo max > /sys/fs/cgroup/pids/pids.max 2>/dev/null && echo "wrote pids.max"
mount -o remount,rw /sys/fs/cgroup/memory 2>/dev/null && echo remounted
mount -t cgroup -o memory cgroup /tmp 2>/dev/null && echo mounted
cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max > /shared/seen
echo attempted > /shared/done
while [ ! -e /shared/stop ]; do sleep 0.05; done
"#;
    let mut b = Bundle::new(&["sh", "-c", script]);
    let shared = volume(&mut b, "shared", "/shared");
    let limit: i64 = 64 << 20;
    b.edit(|c| {
        c["linux"]["resources"]["memory"] = json!({"limit": limit});
        c["linux"]["resources"]["pids"] = json!({"limit": 77});
    });
    let id = unique("seccg");
    r.create(&b, &id);
    r.rampart(&["start", &id]).ok();
    assert!(
        wait_file(&shared.join("done"), 30),
        "workload never finished its attempts"
    );
    let cgs = cgroups_containing(&id);
    let find = |ctl: &str, file: &str| {
        cgs.iter()
            .find(|p| p.starts_with(format!("/sys/fs/cgroup/{ctl}")))
            .map(|p| fs::read_to_string(p.join(file)).unwrap().trim().to_string())
            .unwrap_or_else(|| panic!("no {ctl} cgroup for {id} in {cgs:?}"))
    };
    let mem = find("memory", "memory.limit_in_bytes");
    let pids = find("pids", "pids.max");
    let seen = fs::read_to_string(shared.join("seen")).unwrap_or_default();
    fs::write(shared.join("stop"), "").unwrap();
    let _ = r.rampart(&["delete", "--force", &id]);
    assert_eq!(
        mem,
        limit.to_string(),
        "memory limit lifted from inside (seen: {seen})"
    );
    assert_eq!(pids, "77", "pids limit lifted from inside (seen: {seen})");
    // Non-vacuous: the container did see its own limits through the mount it tried to write.
    assert!(
        seen.contains(&limit.to_string()) && seen.contains("77"),
        "seen: {seen}"
    );
    assert_nothing_left(&r, &b, &id);
}
