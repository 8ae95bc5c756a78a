//! What the engines' configs need from the runtime, found by driving rampart with containerd,
//! podman and Docker (vendor-tests/): configs without a cgroup namespace (all three on a v1 or
//! hybrid host) and podman's stock seccomp profile, which lists setns twice without args.

use rampart_integration::*;
use serde_json::json;
use std::path::Path;

fn is_v1_host() -> bool {
    Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists()
}

/// Without a cgroup namespace the container's /sys/fs/cgroup/<controller> must be its own cgroup
/// (so it sees its limits, and nothing of the host's tree), read-only; the hybrid host's cgroup2,
/// where the container is not placed, is not mounted.
#[test]
fn cgroupfs_without_cgroupns_is_the_containers_own_cgroup() {
    if !is_v1_host() {
        eprintln!("skipped: not a cgroup v1/hybrid host");
        return;
    }
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; \
         ls /sys/fs/cgroup/memory | grep -c '^rampart-' ; \
         ls /sys/fs/cgroup; \
         grep ' /sys/fs/cgroup/memory ' /proc/self/mountinfo; \
         (echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes) 2>/dev/null && echo wrote \
         || echo not-written",
    ]);
    b.drop_namespace("cgroup");
    b.edit(|c| c["linux"]["resources"]["memory"] = json!({"limit": 48u64 << 20}));
    let id = unique("compat-cgns");
    let out = run_ok(&r, &b, &id);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&(48u64 << 20).to_string().as_str()),
        "{out}"
    );
    // The host's root would list the other rampart-* cgroups (at least our own).
    assert_eq!(lines.get(1), Some(&"0"), "host cgroups visible: {out}");
    assert!(
        lines.contains(&"memory") && lines.contains(&"pids"),
        "{out}"
    );
    assert!(!lines.contains(&"unified"), "hybrid cgroup2 mounted: {out}");
    let mi = lines
        .iter()
        .find(|l| l.contains(" /sys/fs/cgroup/memory "))
        .unwrap_or_else(|| panic!("no memory mount: {out}"));
    let fields: Vec<&str> = mi.split(' ').collect();
    // mountinfo field 4 is the root of the mount within its filesystem.
    assert_eq!(fields[3], format!("/rampart-{id}"), "{mi}");
    assert!(fields[5].split(',').any(|o| o == "ro"), "{mi}");
    assert_eq!(lines.last(), Some(&"not-written"), "{out}");
    assert_nothing_left(&r, &b, &id);
}

/// libseccomp keeps the first rule without args for a syscall; podman's profile relies on it
/// (setns allowed, later denied without CAP_SYS_ADMIN). The first decides, and the duplicate
/// is not reported on stderr, where conmon would show it to the user.
#[test]
fn seccomp_first_rule_without_args_wins_quietly() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "mkdir /tmp/a 2>&1 || echo mkdir-denied; echo $$ >/dev/null; echo done",
    ]);
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ALLOW"},
            ]
        })
    });
    let id = unique("compat-seccomp");
    let o = r.run(&b, &id);
    o.ok();
    assert!(o.stdout.contains("mkdir-denied"), "{o:#?}");
    assert!(o.stdout.contains("done"), "{o:#?}");
    assert!(!o.stderr.contains("mkdir"), "duplicate reported: {o:#?}");
    assert!(!b.rootfs().join("tmp/a").exists());
    assert_nothing_left(&r, &b, &id);
}

/// `create --bundle B ID` that must fail; returns its output, with the log format's escaping
/// of quotes undone in stderr.
fn create_fails(r: &Root, b: &Bundle, id: &str) -> Out {
    let o = r.rampart(&[
        std::ffi::OsStr::new("create"),
        std::ffi::OsStr::new("--bundle"),
        b.path().as_os_str(),
        std::ffi::OsStr::new(id),
    ]);
    o.fails();
    Out {
        stderr: o.stderr.replace("\\\"", "\""),
        ..o
    }
}

/// Docker turns a create error into exit 127 only when it reads Go's lower-case
/// "no such file or directory" (or "executable file not found"), as runc writes it.
#[test]
fn missing_executable_is_reported_at_create_in_runcs_words() {
    let r = Root::new();
    let b = Bundle::new(&["/nonexistent"]);
    let id = unique("compat-enoent");
    let o = create_fails(&r, &b, &id);
    assert!(
        o.stderr
            .contains("exec: \"/nonexistent\": stat /nonexistent: no such file or directory"),
        "{o:#?}"
    );
    assert!(!o.stderr.contains("os error"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// A file without an execute bit is refused at create with "permission denied" (podman and
/// Docker exit 126), not by execve after start.
#[test]
fn non_executable_file_is_refused_at_create() {
    let r = Root::new();
    let b = Bundle::new(&["/etc/passwd"]);
    let id = unique("compat-noexec");
    let o = create_fails(&r, &b, &id);
    assert!(
        o.stderr
            .contains("exec: \"/etc/passwd\": permission denied"),
        "{o:#?}"
    );
    assert_nothing_left(&r, &b, &id);

    let b = Bundle::new(&["/bin"]);
    let id = unique("compat-dir");
    let o = create_fails(&r, &b, &id);
    assert!(
        o.stderr.contains("exec: \"/bin\": permission denied"),
        "{o:#?}"
    );
    assert_nothing_left(&r, &b, &id);
}

/// podman's `--read-only` and `--tmpfs` mounts carry runc's `tmpcopyup`: the new tmpfs starts
/// with the image's files below it (owner and mode kept); writes stay in the tmpfs.
#[test]
fn tmpcopyup_fills_the_tmpfs_from_the_image() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "head -n 1 /etc/passwd; stat -c '%a %u' /etc/sub /etc/sub/f; readlink /etc/link; \
         echo new > /etc/new && echo tmpfs-writable; \
         (echo x > /ro/f) 2>/dev/null && echo ro-writable || echo ro-refused; cat /ro/f; \
         grep -E ' /(etc|ro) ' /proc/self/mountinfo | awk '{print $5, $6, $9}'",
    ]);
    let etc = b.rootfs().join("etc");
    std::fs::create_dir_all(etc.join("sub")).unwrap();
    write_file(&etc.join("sub/f"), "f\n");
    std::os::unix::fs::chown(etc.join("sub"), Some(1234), Some(1234)).unwrap();
    std::os::unix::fs::chown(etc.join("sub/f"), Some(99), Some(99)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(etc.join("sub"), std::fs::Permissions::from_mode(0o705)).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", etc.join("link")).unwrap();
    std::fs::create_dir_all(b.rootfs().join("ro")).unwrap();
    write_file(&b.rootfs().join("ro/f"), "image-file\n");
    b.edit(|c| {
        let m = c["mounts"].as_array_mut().unwrap();
        m.push(
            json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                      "options": ["nosuid", "nodev", "tmpcopyup"]}),
        );
        m.push(
            json!({"destination": "/ro", "type": "tmpfs", "source": "tmpfs",
                      "options": ["ro", "tmpcopyup"]}),
        );
    });
    let id = unique("compat-copyup");
    let out = run_ok(&r, &b, &id);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..7],
        &[
            "root:x:0:0:root:/root:/bin/sh",
            "705 1234",
            "644 99",
            "/etc/passwd",
            "tmpfs-writable",
            "ro-refused",
            "image-file",
        ],
        "{out}"
    );
    // mountinfo: mount point, per-mount options, fs type.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("/etc rw,") && l.ends_with(" tmpfs")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("/ro ro,") && l.ends_with(" tmpfs")),
        "{out}"
    );
    assert!(!etc.join("new").exists(), "the write reached the image");
    assert_nothing_left(&r, &b, &id);

    // Only a tmpfs can be copied up into.
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/mnt", "type": "proc",
            "source": "proc", "options": ["tmpcopyup"]}));
    });
    let id = unique("compat-copyup-proc");
    let o = r.run(&b, &id);
    o.fails();
    assert!(o.stderr.contains("tmpcopyup"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// buildah puts its default capabilities in the ambient set with an empty inheritable set; the
/// kernel refuses to raise those (EPERM) and runc leaves them out. The container must run, with
/// only the capabilities in both permitted and inheritable raised into ambient.
#[test]
fn ambient_capabilities_not_inheritable_are_left_out_as_runc() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "grep -E '^Cap(Inh|Prm|Amb):' /proc/self/status"]);
    b.edit(|c| {
        let both = json!(["CAP_KILL", "CAP_AUDIT_WRITE", "CAP_CHOWN"]);
        c["process"]["capabilities"] = json!({
            "bounding": both, "effective": both, "permitted": both,
            "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL", "CAP_AUDIT_WRITE", "CAP_CHOWN"],
        });
    });
    let id = unique("compat-ambient");
    let out = run_ok(&r, &b, &id);
    let field = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {k} in {out}"))
            .to_string()
    };
    // CAP_CHOWN 0, CAP_KILL 5, CAP_AUDIT_WRITE 29
    assert_eq!(field("CapPrm:"), "0000000020000021", "{out}");
    assert_eq!(field("CapInh:"), "0000000000000020", "{out}");
    assert_eq!(field("CapAmb:"), "0000000000000020", "{out}");
    assert_nothing_left(&r, &b, &id);
}
