//! `rampart check`: its JSON against what this test observes of the host by other means (uname,
//! /proc/cgroups, statfs of /sys/fs/cgroup, the Landlock syscall, sysctl files, unshare).
use rampart_integration::*;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Command;

fn check_json(r: &Root, extra: &[&str]) -> Value {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    let o = r.rampart(&args);
    o.ok();
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("check json: {e}: {}", o.stdout))
}

fn command_stdout(prog: &str, args: &[&str]) -> String {
    let o = Command::new(prog).args(args).output().expect(prog);
    assert!(o.status.success(), "{prog} {args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn mount_count() -> usize {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .count()
}

#[test]
fn check_json_matches_the_host() {
    let r = Root::new();
    let b = Bundle::new(&["true"]);
    let mounts_before = mount_count();
    let v = check_json(&r, &["--bundle", b.path().to_str().unwrap()]);
    assert_eq!(mount_count(), mounts_before, "check left a mount behind");

    // Kernel: uname.
    assert_eq!(v["kernel"]["release"], command_stdout("uname", &["-r"]));

    // cgroups: the kind of /sys/fs/cgroup, and /proc/cgroups for the v1 controllers (those with
    // a hierarchy id other than 0 are mounted as v1).
    let top = command_stdout("stat", &["-f", "-c", "%T", "/sys/fs/cgroup"]);
    let unified = Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists();
    let want_layout = match (top.as_str(), unified) {
        ("cgroup2fs", _) => "v2",
        (_, true) => "hybrid",
        _ => "v1",
    };
    assert_eq!(v["cgroups"]["layout"], want_layout, "{}", v["cgroups"]);
    let mut v1: Vec<String> = fs::read_to_string("/proc/cgroups")
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4 && f[1] != "0" && f[3] == "1").then(|| f[0].to_string())
        })
        .collect();
    v1.sort();
    assert_eq!(
        v["cgroups"]["v1_controllers"],
        serde_json::json!(v1),
        "{}",
        v["cgroups"]
    );
    if unified {
        let ctrls: Vec<String> = fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect();
        assert_eq!(v["cgroups"]["v2"]["controllers"], serde_json::json!(ctrls));
    }

    // Landlock: the ABI the kernel reports to this test.
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a NULL attribute returns a number, no fd.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    if abi > 0 {
        assert_eq!(v["landlock"]["abi"], abi, "{}", v["landlock"]);
    } else {
        assert!(v["landlock"]["abi"].is_null());
    }

    // AppArmor: the module's own switch (off on this host's kernel, on in the VM).
    let apparmor = fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .map(|s| s.trim() == "Y")
        .unwrap_or(false);
    assert_eq!(v["lsm"]["apparmor"]["enabled"], apparmor, "{}", v["lsm"]);
    let missing: Vec<String> = v["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["what"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        missing.iter().any(|m| m == "AppArmor"),
        !apparmor,
        "{missing:?}"
    );
    assert_eq!(
        missing
            .iter()
            .any(|m| m == "cgroup v2 as the only hierarchy"),
        want_layout != "v2",
        "{missing:?}"
    );

    // seccomp: the kernel's list of actions.
    let actions: Vec<String> = fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail")
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(v["seccomp"]["actions_avail"], serde_json::json!(actions));
    assert_eq!(v["seccomp"]["filter"], true);
    assert_eq!(
        v["seccomp"]["filter_flags"]["SECCOMP_FILTER_FLAG_TSYNC"], true,
        "{}",
        v["seccomp"]
    );

    // User namespaces: the sysctl, and whether unshare -U works for us.
    let max: u64 = fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(v["user_namespaces"]["max_user_namespaces"], max);
    let unshare_ok = Command::new("unshare")
        .args(["-U", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert_eq!(v["user_namespaces"]["allowed"], unshare_ok);
    let subuid_root: Vec<Value> = fs::read_to_string("/etc/subuid")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("root:") || l.starts_with("0:"))
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            serde_json::json!({"start": f[1].parse::<u64>().unwrap(), "count": f[2].parse::<u64>().unwrap()})
        })
        .collect();
    assert_eq!(
        v["user_namespaces"]["subuid"],
        serde_json::json!(subuid_root)
    );

    // Syscalls: all three exist since Linux 5.6 (pidfd_open 5.3, clone3 5.3, openat2 5.6).
    let rel = command_stdout("uname", &["-r"]);
    let mut it = rel.split(|c: char| !c.is_ascii_digit());
    let (maj, min): (u32, u32) = (
        it.next().unwrap().parse().unwrap(),
        it.next().unwrap().parse().unwrap(),
    );
    let new = (maj, min) >= (5, 6);
    for s in ["pidfd_open", "clone3", "openat2"] {
        assert_eq!(v["syscalls"][s]["available"], new, "{s}: {}", v["syscalls"]);
    }

    // Idmapped mounts: the state root, bundle and rootfs are on this host's root filesystem.
    for k in ["state_root", "bundle", "rootfs"] {
        let m = &v["idmapped_mounts"][k];
        let fs_type = command_stdout(
            "stat",
            &["-f", "-c", "%T", m["probed_at"].as_str().unwrap()],
        );
        // ext2/ext3 is how stat names ext4; tmpfs and ext4 take idmappings since Linux 5.12/6.3.
        if fs_type == "ext2/ext3" || fs_type == "tmpfs" {
            assert_eq!(m["supported"], true, "{k}: {m}");
        }
    }
    assert_eq!(
        v["idmapped_mounts"]["rootfs"]["path"],
        b.rootfs().to_str().unwrap()
    );
}

#[test]
fn idmapped_mount_probe_says_no_for_procfs() {
    // procfs does not allow idmapped mounts: the probe must say so, and leave no mount.
    let r = Root::new();
    let before = mount_count();
    let o = Command::new(rampart_bin())
        .args([
            "--root",
            "/proc/sys/rampart-none",
            "check",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = &v["idmapped_mounts"]["state_root"];
    assert_eq!(m["probed_at"], "/proc/sys", "{m}");
    assert_eq!(m["filesystem"], "proc", "{m}");
    assert_eq!(m["supported"], false, "{m}");
    assert!(
        v["missing"].as_array().unwrap().iter().any(|x| x["what"]
            .as_str()
            .unwrap()
            .starts_with("idmapped mounts on state_root")),
        "{}",
        v["missing"]
    );
    assert_eq!(mount_count(), before);
    drop(r);
}

#[test]
fn check_text_names_each_item() {
    let r = Root::new();
    let o = r.rampart(&["check"]);
    o.ok();
    let release = command_stdout("uname", &["-r"]);
    assert!(
        o.stdout
            .starts_with(&format!("kernel                   {release}\n")),
        "{}",
        o.stdout
    );
    for item in [
        "cgroup layout",
        "user namespaces",
        "seccomp actions",
        "landlock ABI",
        "apparmor",
        "selinux",
        "idmapped mounts (state_root)",
        "pidfd_open",
        "clone3",
        "openat2",
        "missing",
    ] {
        assert!(
            o.stdout.contains(item),
            "{item} missing from:\n{}",
            o.stdout
        );
    }
}
