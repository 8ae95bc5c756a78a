//! Attacks on `--policy` (security review, issue 17): configs the policy check let through but
//! that ran with a confinement the policy refuses. Each test performs the attack against the
//! real binary and checks the outcome that matters (what the container could really read, write
//! or hold), not only the refusal message.
use rampart_integration::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::path::Path;

/// `rampart --policy P run --bundle B ID`.
fn run_with_policy(r: &Root, b: &Bundle, policy: &str, id: &str) -> Out {
    r.rampart(&[
        OsStr::new("--policy"),
        OsStr::new(policy),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ])
}

/// The effective capability mask a `/proc/<pid>/status` text shows.
fn cap_eff(status: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no CapEff in {status}"))
}

const CAP_SYS_ADMIN_BIT: u64 = 1 << 21;

/// A container created and started under `--policy restricted`, its init sleeping.
fn restricted_sleeper(r: &Root, id: &str) -> Bundle {
    let b = Bundle::new(&["sleep", "60"]);
    r.rampart(&[
        OsStr::new("--policy"),
        OsStr::new("restricted"),
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ])
    .ok();
    r.rampart(&["--policy", "restricted", "start", id]).ok();
    b
}

/// Attack: after a restricted create, `exec --cap CAP_SYS_ADMIN` (or a --process JSON with the
/// capability and no_new_privs off) starts a process in the container with CAP_SYS_ADMIN: the
/// policy was checked for the init only.
#[test]
fn exec_cannot_add_what_the_policy_refuses() {
    let r = Root::new();
    let id = unique("pa-exec");
    let b = restricted_sleeper(&r, &id);
    let o = r.rampart(&[
        "--policy",
        "restricted",
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        &id,
        "--",
        "cat",
        "/proc/self/status",
    ]);
    if o.code == 0 {
        assert_eq!(
            cap_eff(&o.stdout) & CAP_SYS_ADMIN_BIT,
            0,
            "exec --cap under --policy restricted ran with CAP_SYS_ADMIN: {o:#?}"
        );
    }
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA110"), "{o:#?}");

    // The same through --process, and without the flag: the annotation in the saved config.
    let process = b.path().join("process.json");
    let mut p = b.config["process"].clone();
    p["args"] = json!(["cat", "/proc/self/status"]);
    p["noNewPrivileges"] = json!(false);
    for set in ["bounding", "effective", "permitted"] {
        p["capabilities"][set] = json!(["CAP_SYS_ADMIN"]);
    }
    std::fs::write(&process, serde_json::to_vec(&p).unwrap()).unwrap();
    let o = r.rampart(&[
        OsStr::new("--policy"),
        OsStr::new("restricted"),
        OsStr::new("exec"),
        OsStr::new("--process"),
        process.as_os_str(),
        OsStr::new(&id),
    ]);
    if o.code == 0 {
        assert_eq!(
            cap_eff(&o.stdout) & CAP_SYS_ADMIN_BIT,
            0,
            "exec --process under --policy restricted ran with CAP_SYS_ADMIN: {o:#?}"
        );
    }
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(
        o.stderr.contains("RA110") && o.stderr.contains("RA102"),
        "{o:#?}"
    );
    // A plain exec that asks for nothing more still works.
    let o = r.rampart(&["--policy", "restricted", "exec", &id, "--", "true"]);
    assert_eq!(o.code, 0, "{o:#?}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

/// Same attack with the policy asked by the config's annotation only (no flag on exec).
#[test]
fn exec_keeps_the_annotated_policy() {
    let r = Root::new();
    let id = unique("pa-exec-ann");
    let mut b = Bundle::new(&["sleep", "60"]);
    b.edit(|c| c["annotations"] = json!({"run.rampart.policy": "restricted"}));
    r.create(&b, &id);
    r.rampart(&["start", &id]).ok();
    let o = r.rampart(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        &id,
        "--",
        "cat",
        "/proc/self/status",
    ]);
    if o.code == 0 {
        assert_eq!(
            cap_eff(&o.stdout) & CAP_SYS_ADMIN_BIT,
            0,
            "exec --cap under the restricted annotation ran with CAP_SYS_ADMIN: {o:#?}"
        );
    }
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA110"), "{o:#?}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

/// Attack: an overlay mount whose lowerdir is the host's /etc is no "bind", so the audit did
/// not look at its source: the container reads the host's /etc.
#[test]
fn overlay_lowerdir_on_a_host_path_is_refused() {
    let marker = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let mut b = Bundle::new(&["cat", "/hostetc/hostname"]);
    let empty = b.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let lower = format!("lowerdir=/etc:{}", empty.display());
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/hostetc", "type": "overlay", "source": "overlay",
            "options": [lower, "ro"]
        }))
    });
    let r = Root::new();
    let id = unique("pa-overlay");
    let o = run_with_policy(&r, &b, "restricted", &id);
    assert!(
        !(o.code == 0 && !marker.is_empty() && o.stdout.contains(marker.trim())),
        "the host's /etc was readable through an overlay under --policy restricted: {o:#?}"
    );
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA141"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// The block device and filesystem type of the filesystem holding `p`, from mountinfo.
fn device_of(p: &Path) -> Option<(String, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let p = std::fs::canonicalize(p).ok()?;
    let mut best: Option<(usize, String, String)> = None;
    for line in info.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let sep = f.iter().position(|x| *x == "-")?;
        let (point, fstype, source) = (f[4], f[sep + 1], f[sep + 2]);
        if p.starts_with(point) && best.as_ref().is_none_or(|(n, _, _)| point.len() >= *n) {
            best = Some((point.len(), fstype.to_string(), source.to_string()));
        }
    }
    best.map(|(_, t, s)| (s, t))
}

/// Attack: a mount of the host's own block device (type ext4, source /dev/vda) is no bind and
/// names no device in linux.devices, so the audit let it through: the container sees the host's
/// whole disk.
#[test]
fn a_mount_of_a_host_block_device_is_refused() {
    use std::os::unix::fs::FileTypeExt;
    let host = TempDir::new("pa-blk-marker");
    let marker = host.path().join("marker");
    let secret = unique("host-disk-secret");
    std::fs::write(&marker, &secret).unwrap();
    let (dev, fstype) = device_of(&marker).expect("the filesystem of the temp dir");
    let is_block = std::fs::metadata(&dev).is_ok_and(|m| m.file_type().is_block_device());
    assert!(
        is_block,
        "this attack needs the temp dir on a block device filesystem; {dev} ({fstype}) is not"
    );
    let inside = format!("/hostdisk{}", marker.display());
    let mut b = Bundle::new(&["cat", &inside]);
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/hostdisk", "type": fstype, "source": dev, "options": ["ro"]
        }))
    });
    let r = Root::new();
    let id = unique("pa-blk");
    let o = run_with_policy(&r, &b, "restricted", &id);
    assert!(
        !(o.code == 0 && o.stdout.contains(&secret)),
        "the host's disk was mounted under --policy restricted: {o:#?}"
    );
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA151"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// Attack: a second proc mount at another destination is reached by neither maskedPaths nor
/// readonlyPaths (they name /proc/...), so its sys/ is writable: uid 0 without a user namespace
/// writes the host's global sysctls. The test writes vm.stat_interval's own value back.
#[test]
fn a_second_proc_mount_is_refused() {
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "v=$(cat /proc2/sys/vm/stat_interval); \
         if echo $v > /proc/sys/vm/stat_interval; then echo WROTE-PROC; fi; \
         if echo $v > /proc2/sys/vm/stat_interval; then echo WROTE-PROC2; fi",
    ]);
    b.edit(|c: &mut Value| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/proc2", "type": "proc", "source": "proc",
            "options": ["nosuid", "noexec", "nodev"]
        }))
    });
    let r = Root::new();
    let id = unique("pa-proc2");
    let o = run_with_policy(&r, &b, "restricted", &id);
    assert!(
        !o.stdout.contains("WROTE-PROC2"),
        "a host sysctl was written through a second proc mount under --policy restricted: {o:#?}"
    );
    assert!(!o.stdout.contains("WROTE-PROC\n"), "{o:#?}");
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA145"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// Attack: hooks.createRuntime runs a program on the host, as root, outside every namespace,
/// and the policy did not look at hooks: a restricted config wrote a host file.
#[test]
fn host_hooks_are_refused_by_restricted() {
    let host = TempDir::new("pa-hook");
    let pwned = host.path().join("pwned");
    let mut b = Bundle::new(&["true"]);
    let cmd = format!("id -u > {}", pwned.display());
    b.edit(|c| {
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", cmd]}]})
    });
    let r = Root::new();
    let id = unique("pa-hook");
    let o = run_with_policy(&r, &b, "restricted", &id);
    assert!(
        !pwned.exists(),
        "a createRuntime hook ran on the host under --policy restricted: {o:#?}"
    );
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA190"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// Attack: `{"type": "mount", "path": "/proc/self/ns/mnt"}` is a mount namespace entry, so the
/// "a mount namespace is required" check passed, but it names the runtime's own: the rootfs was
/// set up (propagation changed, root bound, pivot_root) in the caller's mount namespace, the
/// host's, and pivot_root moved the root of every process there. The test runs the runtime
/// inside a private mount namespace of its own (unshare -m) so that the attack, if it works,
/// only wrecks that copy, and looks whether the shell that ran `create` still sees its root.
#[test]
fn joining_the_runtimes_own_mount_namespace_is_refused() {
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "mount");
        ns.push(json!({"type": "mount", "path": "/proc/self/ns/mnt"}));
    });
    let r = Root::new();
    let id = unique("pa-mntns");
    let marker = b.path().join("config.json");
    let script = format!(
        "{} --root {} create --bundle {} {id}; echo create-exit=$?; \
         if test -e {}; then echo ROOT-KEPT; else echo ROOT-PIVOTED; fi",
        rampart_bin().display(),
        r.path().display(),
        b.path().display(),
        marker.display()
    );
    let mut c = std::process::Command::new("unshare");
    c.args(["-m", "--propagation", "private", "sh", "-c", &script]);
    c.stdin(std::process::Stdio::null());
    let o = run_with_timeout(c, std::time::Duration::from_secs(60));
    assert!(
        !o.stdout.contains("ROOT-PIVOTED"),
        "create pivoted the root of the runtime's own mount namespace: {o:#?}"
    );
    assert!(o.stdout.contains("ROOT-KEPT"), "{o:#?}");
    assert!(!o.stdout.contains("create-exit=0"), "{o:#?}");
    assert!(o.stderr.contains("mount namespace"), "{o:#?}");
    drop(r);
    let r = Root::new();
    assert_nothing_left(&r, &b, &id);
}

/// Attack: after a restricted create, `update --resources` with `{"allow": true, "access":
/// "rwm"}` makes the device cgroup allow every device (RA150, refused by baseline): a device
/// node the config listed but did not allow (/dev/kvm here, usable by uid 0) opens. A device
/// given to a policy-checked container stays behind its device rules.
#[test]
fn update_cannot_allow_what_the_policy_refuses() {
    assert!(
        Path::new("/dev/kvm").exists(),
        "this attack opens /dev/kvm (10:232): the host has none"
    );
    let mut b = Bundle::new(&["sleep", "60"]);
    b.edit(|c| {
        c["linux"]["devices"] = json!([{"path": "/dev/kvm", "type": "c", "major": 10,
            "minor": 232, "fileMode": 0o600, "uid": 0, "gid": 0}]);
    });
    let r = Root::new();
    let id = unique("pa-update");
    r.rampart(&[
        OsStr::new("--policy"),
        OsStr::new("restricted"),
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ])
    .ok();
    r.rampart(&["--policy", "restricted", "start", &id]).ok();
    let open_kvm = |r: &Root| {
        r.rampart(&[
            "--policy",
            "restricted",
            "exec",
            &id,
            "--",
            "sh",
            "-c",
            "if exec 3<>/dev/kvm; then echo KVM-OPENED; fi",
        ])
    };
    let o = open_kvm(&r);
    assert!(
        !o.stdout.contains("KVM-OPENED"),
        "not allowed at create: {o:#?}"
    );
    let res = b.path().join("resources.json");
    std::fs::write(&res, r#"{"devices": [{"allow": true, "access": "rwm"}]}"#).unwrap();
    let u = r.rampart(&[
        OsStr::new("--policy"),
        OsStr::new("restricted"),
        OsStr::new("update"),
        OsStr::new("--resources"),
        res.as_os_str(),
        OsStr::new(&id),
    ]);
    let o = open_kvm(&r);
    assert!(
        !o.stdout.contains("KVM-OPENED"),
        "update under --policy restricted let the container open /dev/kvm: {u:#?} {o:#?}"
    );
    assert_ne!(u.code, 0, "{u:#?}");
    assert!(u.stderr.contains("RA150"), "{u:#?}");
    // An update the policy has nothing against still applies.
    let u = r.rampart(&[
        "--policy",
        "restricted",
        "update",
        "--pids-limit",
        "200",
        &id,
    ]);
    assert_eq!(u.code, 0, "{u:#?}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

/// Attack: a seccomp rule that allows `unshare` under an argument condition that every value
/// meets (`(arg0 & 0) == 0`) is not "unconditional" to the audit's RA122, yet the kernel lets
/// every unshare through: a restricted container made itself a new user namespace.
#[test]
fn an_always_true_seccomp_condition_is_unconditional() {
    let mut b = Bundle::new(&["sh", "-c", "if unshare -U true; then echo UNSHARED; fi"]);
    b.edit(|c| {
        let rules = c["linux"]["seccomp"]["syscalls"].as_array_mut().unwrap();
        rules.insert(
            0,
            json!({"names": ["unshare"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}),
        );
    });
    let r = Root::new();
    let id = unique("pa-seccomp");
    let o = run_with_policy(&r, &b, "restricted", &id);
    assert!(
        !o.stdout.contains("UNSHARED"),
        "unshare was allowed under --policy restricted: {o:#?}"
    );
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA122"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
    // Without the rule the default profile refuses it, so the probe above can tell.
    let plain = Bundle::new(&["sh", "-c", "if unshare -U true; then echo UNSHARED; fi"]);
    let r = Root::new();
    let id = unique("pa-seccomp-plain");
    let o = run_with_policy(&r, &plain, "restricted", &id);
    assert!(!o.stdout.contains("UNSHARED"), "{o:#?}");
    assert_nothing_left(&r, &plain, &id);
}

/// Attack on `rampart audit` (and create) with a hostile bundle: config.json is a FIFO, so
/// reading it blocked forever. It must be a clear error at once.
#[test]
fn a_fifo_config_is_an_error_not_a_hang() {
    let dir = TempDir::new("pa-fifo");
    std::fs::create_dir_all(dir.path().join("rootfs")).unwrap();
    let fifo = dir.path().join("config.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let r = Root::new();
    for args in [
        vec![
            OsStr::new("audit"),
            OsStr::new("--bundle"),
            dir.path().as_os_str(),
        ],
        vec![
            OsStr::new("create"),
            OsStr::new("--bundle"),
            dir.path().as_os_str(),
            OsStr::new("pa-fifo"),
        ],
    ] {
        let o = run_with_timeout(r.cmd(&args), std::time::Duration::from_secs(20));
        assert_eq!(o.code, 1, "{args:?} hung or did not fail cleanly: {o:#?}");
        assert!(o.stderr.contains("not a regular file"), "{o:#?}");
    }
    assert!(r.ids().is_empty());
}

/// Attack: a sysfs mount without "ro" was not looked at by any rule: uid 0 without a user
/// namespace writes the host's kernel knobs through it (/sys/kernel/uevent_helper runs a
/// program on the host). The test writes /sys/kernel/mm/ksm/run's own value back.
#[test]
fn a_writable_sysfs_is_refused() {
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "v=$(cat /sys/kernel/mm/ksm/run); if echo $v > /sys/kernel/mm/ksm/run; then echo WROTE-SYS; fi",
    ]);
    b.edit(|c| {
        for m in c["mounts"].as_array_mut().unwrap() {
            if m["type"] == "sysfs" {
                m["options"] = json!(["nosuid", "noexec", "nodev"]);
            }
        }
    });
    let r = Root::new();
    let id = unique("pa-sysfs");
    let o = run_with_policy(&r, &b, "restricted", &id);
    assert!(
        !o.stdout.contains("WROTE-SYS"),
        "a host sysfs knob was written under --policy restricted: {o:#?}"
    );
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA147"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// Accepts one connection on `listener`; when it brings a seccomp listener fd (the runtime's
/// hand-off), answers every notification "continue" (the kernel runs the call) until the
/// filter's last user is gone. Returns how many calls it let through; None when the connection
/// had no fd (the test's own wake-up after a refused run).
fn permissive_agent(listener: std::os::unix::net::UnixListener) -> Option<u32> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    let (conn, _) = listener.accept().ok()?;
    let mut seccomp_fd = None;
    loop {
        let mut buf = [0u8; 4096];
        let mut cbuf = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: all-zero msghdr is valid; the pointers set below are to live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        // SAFETY: msg describes writable buffers owned by this frame.
        let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n <= 0 {
            break;
        }
        // SAFETY: msg was filled by recvmsg; CMSG_* walk its control buffer.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd);
                    seccomp_fd = Some(OwnedFd::from_raw_fd(fd));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    let fd = seccomp_fd?;
    let mut continued = 0;
    loop {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; 60 s is a guard against hanging, not a measurement.
        if unsafe { libc::poll(&mut p, 1, 60_000) } != 1 || p.revents & libc::POLLIN == 0 {
            return Some(continued);
        }
        // SAFETY: zeroed seccomp_notif is what NOTIF_RECV requires.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: a seccomp listener fd and a writable seccomp_notif.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) } != 0 {
            return Some(continued);
        }
        let resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: 0,
            flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        };
        // SAFETY: answering the request just received.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) } == 0 {
            continued += 1;
        }
    }
}

/// Attack: a dangerous call sent to a seccomp agent (SCMP_ACT_NOTIFY) is not "allowed" to the
/// audit, but the agent named by listenerPath decides, and one that answers "continue" lets it
/// through: a restricted container made itself a new user namespace.
#[test]
fn a_dangerous_call_handed_to_an_agent_is_refused() {
    let dir = TempDir::new("pa-agent");
    let sock = dir.path().join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind agent socket");
    let agent = std::thread::spawn(move || permissive_agent(listener));
    let mut b = Bundle::new(&["sh", "-c", "if unshare -U true; then echo UNSHARED; fi"]);
    b.edit(|c| {
        let sc = &mut c["linux"]["seccomp"];
        sc["listenerPath"] = json!(sock);
        sc["syscalls"].as_array_mut().unwrap().insert(
            0,
            json!({"names": ["unshare"], "action": "SCMP_ACT_NOTIFY"}),
        );
    });
    let r = Root::new();
    let id = unique("pa-agent");
    let o = run_with_policy(&r, &b, "restricted", &id);
    // Wake the agent if the runtime never connected.
    let _ = std::os::unix::net::UnixStream::connect(&sock);
    let continued = agent.join().expect("agent thread");
    assert!(
        !o.stdout.contains("UNSHARED"),
        "unshare went through an agent under --policy restricted ({continued:?} calls continued): {o:#?}"
    );
    assert_ne!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("RA122"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}
