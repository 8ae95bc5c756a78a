//! `rampart check`: what this host lets a runtime enforce, probed rather than assumed, and what
//! a missing piece means for the containers.
//!
//! Every probe is side-effect free or undoes itself before returning: the seccomp flag probe
//! passes a NULL program (nothing is installed), the clone3 probe a size the kernel refuses
//! first, the idmapped-mount probe idmaps a detached clone (open_tree OPEN_TREE_CLONE) that is
//! never attached and disappears when its fd closes, and the user-namespace probe's helper
//! child is killed and reaped before the probe returns.

use crate::readback::words;
use crate::syscalls;
use serde_json::{json, Map, Value};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// What the report is asked about.
pub struct CheckOptions {
    /// The state root (--root) whose filesystem is probed for idmapped mounts.
    pub state_root: PathBuf,
    /// A bundle whose rootfs filesystem is probed too.
    pub bundle: Option<PathBuf>,
}

/// SECCOMP_FILTER_FLAG_* and their names, probed one by one (WAIT_KILLABLE_RECV only together
/// with NEW_LISTENER, which it requires).
const SECCOMP_FLAGS: &[(&str, u32, u32)] = &[
    ("SECCOMP_FILTER_FLAG_TSYNC", 1, 1),
    ("SECCOMP_FILTER_FLAG_LOG", 2, 2),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4, 4),
    ("SECCOMP_FILTER_FLAG_NEW_LISTENER", 8, 8),
    ("SECCOMP_FILTER_FLAG_TSYNC_ESRCH", 16, 16),
    ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 32, 32 | 8),
];

/// The cgroup v1 controllers (a v1 mount's options also hold flags like xattr and name=).
const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

fn read_trim(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The whole report, as JSON (`text` renders it for people).
pub fn report(o: &CheckOptions) -> Value {
    let mut missing: Vec<Value> = Vec::new();
    let mut miss = |what: &str, meaning: &str| {
        missing.push(json!({ "what": what, "meaning": meaning }));
    };

    let kernel = kernel();
    let cgroups = cgroups();
    match cgroups["layout"].as_str() {
        Some("v1") | Some("hybrid") => miss(
            "cgroup v2 as the only hierarchy",
            "limits go through cgroup v1: memory.high, io.max and linux.resources.unified are \
             unavailable, device rules are v1 lists; rootless containers get no cgroup limits \
             (v1 hierarchies are not delegated to users)",
        ),
        Some("none") => miss(
            "cgroups",
            "no resource limits, no pause/resume, no ps; configs with linux.resources are refused",
        ),
        _ => {}
    }
    let userns = user_namespaces();
    if userns["allowed"] != true {
        miss(
            "user namespaces",
            "configs with a user namespace (and every rootless container) are refused",
        );
    }
    let seccomp = seccomp();
    if seccomp["filter"] != true {
        miss(
            "seccomp filters",
            "linux.seccomp cannot be enforced: such configs are refused",
        );
    } else if seccomp["actions_avail"]
        .as_array()
        .is_some_and(|a| !a.iter().any(|x| x == "user_notif"))
    {
        miss(
            "seccomp user notification",
            "profiles with SCMP_ACT_NOTIFY rules are refused",
        );
    }
    let landlock = match syscalls::landlock_abi() {
        Ok(v) => json!({ "abi": v }),
        Err(e) => {
            miss(
                "Landlock",
                "process.landlock and the Landlock default-policy annotation are refused (or \
                 skipped in best-effort mode)",
            );
            json!({ "abi": Value::Null, "error": words(&e) })
        }
    };
    let lsm = lsm();
    if lsm["apparmor"]["enabled"] != true {
        miss(
            "AppArmor",
            "process.apparmorProfile is refused; containers run without an AppArmor profile",
        );
    }
    let mut idmap = Map::new();
    let mut targets = vec![("state_root", o.state_root.clone())];
    if let Some(b) = &o.bundle {
        targets.push(("bundle", b.clone()));
        let rootfs = bundle_rootfs(b);
        targets.push(("rootfs", rootfs));
    }
    for (name, path) in targets {
        let v = idmapped_mount(&path);
        if v["supported"] == false {
            miss(
                &format!("idmapped mounts on {name} {}", path.display()),
                "mounts with uidMappings/gidMappings from this filesystem are refused",
            );
        }
        idmap.insert(name.into(), v);
    }
    let syscalls = probes();
    for (name, meaning) in [
        (
            "pidfd_open",
            "rampart cannot pin container processes by pidfd: kill, delete and exec fail",
        ),
        (
            "clone3",
            "no CLONE_INTO_CGROUP: the init is cloned and then moved into its cgroup",
        ),
        (
            "openat2",
            "no RESOLVE_IN_ROOT path resolution: mounts into the rootfs cannot be made safely, \
             so create fails",
        ),
    ] {
        if syscalls[name]["available"] != true {
            miss(name, meaning);
        }
    }
    json!({
        "kernel": kernel,
        "cgroups": cgroups,
        "user_namespaces": userns,
        "seccomp": seccomp,
        "landlock": landlock,
        "lsm": lsm,
        "idmapped_mounts": Value::Object(idmap),
        "syscalls": syscalls,
        "missing": missing,
    })
}

fn kernel() -> Value {
    match nix::sys::utsname::uname() {
        Ok(u) => json!({
            "release": u.release().to_string_lossy(),
            "version": u.version().to_string_lossy(),
            "machine": u.machine().to_string_lossy(),
        }),
        Err(e) => json!({ "error": format!("uname: {}", e.desc()) }),
    }
}

/// The layout from the mounted hierarchies: v2 when /sys/fs/cgroup is a cgroup2, hybrid when v1
/// controllers are mounted beside a cgroup2, v1 when there is no cgroup2 at all.
pub fn layout(mountinfo: &str) -> (&'static str, Vec<String>, Option<PathBuf>) {
    let mut v1 = Vec::new();
    let mut v2_at = None;
    for m in crate::mountinfo::parse(mountinfo) {
        match m.fstype.as_str() {
            // The first cgroup2 mount, or the one at /sys/fs/cgroup when there are several.
            "cgroup2" if v2_at.is_none() || m.mount_point == "/sys/fs/cgroup" => {
                v2_at = Some(PathBuf::from(&m.mount_point));
            }
            "cgroup" => {
                for o in m.super_opts.split(',') {
                    if V1_CONTROLLERS.contains(&o) && !v1.iter().any(|x| x == o) {
                        v1.push(o.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    v1.sort();
    let layout = match (v1.is_empty(), &v2_at) {
        (true, Some(_)) => "v2",
        (false, Some(_)) => "hybrid",
        (false, None) => "v1",
        (true, None) => "none",
    };
    (layout, v1, v2_at)
}

fn cgroups() -> Value {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let (layout, v1, v2_at) = layout(&mountinfo);
    let mut out = json!({ "layout": layout, "v1_controllers": v1 });
    if let Some(at) = v2_at {
        // The caller's own v2 cgroup: what is delegated to it is what its cgroup offers and
        // whether it may write there (own the directory and cgroup.procs).
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find_map(|l| l.strip_prefix("0::").map(|p| p.to_string()))
            })
            .unwrap_or_else(|| "/".into());
        let dir = at.join(own.trim_start_matches('/'));
        let words_of = |f: &str| -> Vec<String> {
            std::fs::read_to_string(dir.join(f))
                .unwrap_or_default()
                .split_whitespace()
                .map(|s| s.to_string())
                .collect()
        };
        let writable = syscalls::may_write(&dir) && syscalls::may_write(&dir.join("cgroup.procs"));
        out["v2"] = json!({
            "mount": at,
            "caller_cgroup": own,
            "controllers": words_of("cgroup.controllers"),
            "subtree_control": words_of("cgroup.subtree_control"),
            "delegated_to_caller": writable,
        });
    }
    out
}

fn user_namespaces() -> Value {
    let max = read_trim("/proc/sys/user/max_user_namespaces").and_then(|s| s.parse::<u64>().ok());
    // Debian's and Ubuntu's own switches; absent on other kernels.
    let debian = read_trim("/proc/sys/kernel/unprivileged_userns_clone");
    let ubuntu = read_trim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
    // The real answer for this caller: make one (a helper child, killed and reaped at once).
    let probe = match syscalls::park_in_new_user_namespace() {
        Ok(pid) => {
            syscalls::kill_and_reap(pid);
            Ok(())
        }
        Err(e) => Err(words(&e)),
    };
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let name = user_name(
        uid,
        &std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
    );
    let ranges = |file: &str, id: u32| {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        sub_ranges(&text, name.as_deref(), id)
    };
    json!({
        "allowed": probe.is_ok() && max != Some(0),
        "probe_error": probe.err(),
        "max_user_namespaces": max,
        "unprivileged_userns_clone": debian,
        "apparmor_restrict_unprivileged_userns": ubuntu,
        "caller": { "uid": uid, "gid": gid, "name": name },
        "subuid": ranges("/etc/subuid", uid),
        "subgid": ranges("/etc/subgid", gid),
    })
}

/// The name of `uid` in an /etc/passwd text (read directly: a static build has no NSS).
pub fn user_name(uid: u32, passwd: &str) -> Option<String> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
    })
}

/// The subordinate ranges of a user in an /etc/subuid or /etc/subgid text, by name or number:
/// [{"start", "count"}].
pub fn sub_ranges(text: &str, name: Option<&str>, id: u32) -> Value {
    let id = id.to_string();
    let rows: Vec<Value> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            if f.len() != 3 || !(Some(f[0]) == name || f[0] == id) {
                return None;
            }
            let (start, count) = (f[1].parse::<u64>().ok()?, f[2].parse::<u64>().ok()?);
            Some(json!({ "start": start, "count": count }))
        })
        .collect();
    Value::Array(rows)
}

fn seccomp() -> Value {
    let actions: Option<Vec<String>> = read_trim("/proc/sys/kernel/seccomp/actions_avail")
        .map(|s| s.split_whitespace().map(|x| x.to_string()).collect());
    let mut flags = Map::new();
    let mut filter = false;
    for (name, _bit, probe) in SECCOMP_FLAGS {
        let v = match syscalls::seccomp_filter_flags_supported(*probe) {
            Ok(b) => {
                filter = true;
                Value::Bool(b)
            }
            Err(e) => json!({ "error": words(&e) }),
        };
        flags.insert((*name).into(), v);
    }
    // Without CONFIG_SECCOMP_FILTER every flag probe fails the same way (EINVAL on mode 2 is
    // indistinguishable from an unknown flag), so plain flags 0 decides.
    let plain = syscalls::seccomp_filter_flags_supported(0);
    json!({
        "filter": plain.as_ref().map(|b| *b).unwrap_or(false) && filter,
        "actions_avail": actions,
        "filter_flags": Value::Object(flags),
    })
}

fn lsm() -> Value {
    let list = read_trim("/sys/kernel/security/lsm")
        .map(|s| s.split(',').map(|x| x.to_string()).collect::<Vec<_>>());
    let apparmor_param = read_trim("/sys/module/apparmor/parameters/enabled");
    let apparmor_fs = Path::new("/sys/kernel/security/apparmor").is_dir();
    let apparmor_enabled = apparmor_param.as_deref() == Some("Y")
        || list
            .as_ref()
            .is_some_and(|l| l.iter().any(|x| x == "apparmor"));
    let selinux_enforce = read_trim("/sys/fs/selinux/enforce");
    let selinux_mode = match selinux_enforce.as_deref() {
        Some("1") => "enforcing",
        Some("0") => "permissive",
        _ => "disabled",
    };
    json!({
        "active": list,
        "apparmor": {
            "enabled": apparmor_enabled,
            "module_parameter": apparmor_param,
            "securityfs_mounted": apparmor_fs,
        },
        "selinux": { "mode": selinux_mode },
    })
}

/// The rootfs a bundle's config names (root.path, relative to the bundle), or `rootfs`.
fn bundle_rootfs(bundle: &Path) -> PathBuf {
    let path = std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["root"]["path"].as_str().map(|s| s.to_string()))
        .unwrap_or_else(|| "rootfs".into());
    bundle.join(path)
}

/// Whether a mount of `path`'s filesystem can be idmapped: a detached clone of it gets
/// MOUNT_ATTR_IDMAP through a scratch user namespace (0 -> 0, one id). The clone is never
/// attached anywhere and goes when its fd closes, so no mount is left.
pub fn idmapped_mount(wanted: &Path) -> Value {
    // A state root not made yet will be made on the filesystem of its nearest existing parent.
    let Some(path) = wanted.ancestors().find(|p| p.exists()) else {
        return json!({ "path": wanted, "supported": Value::Null, "error": "no existing parent" });
    };
    let fs_type = fs_type_of(path);
    let probe = || -> Result<(), String> {
        let dir = syscalls::open(path, libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|e| format!("opening {}: {}", path.display(), words(&e)))?;
        let tree = syscalls::open_tree(dir.as_fd(), Path::new(""), syscalls::OPEN_TREE_CLONE)
            .map_err(|e| format!("open_tree OPEN_TREE_CLONE: {}", words(&e)))?;
        let one = [crate::userns::IdMap {
            container: 0,
            host: 0,
            size: 1,
        }];
        let ns = crate::userns::scratch_namespace(&one, &one)
            .map_err(|e| format!("a user namespace for the mapping: {e}"))?;
        let attr = syscalls::MountAttr {
            attr_set: syscalls::MOUNT_ATTR_IDMAP,
            attr_clr: 0,
            propagation: 0,
            userns_fd: std::os::fd::AsRawFd::as_raw_fd(&ns) as u64,
        };
        syscalls::mount_setattr(tree.as_fd(), false, &attr)
            .map_err(|e| format!("mount_setattr MOUNT_ATTR_IDMAP: {}", words(&e)))
    };
    match probe() {
        Ok(()) => {
            json!({ "path": wanted, "probed_at": path, "filesystem": fs_type, "supported": true })
        }
        Err(e) => {
            // EPERM is the caller's privilege, not the filesystem's ability.
            let known = !e.contains("Operation not permitted");
            json!({
                "path": wanted,
                "probed_at": path,
                "filesystem": fs_type,
                "supported": if known { Value::Bool(false) } else { Value::Null },
                "error": e,
            })
        }
    }
}

/// The filesystem type of the mount holding `path`, from /proc/self/mountinfo (the longest
/// mount point that is a prefix of its canonical path).
fn fs_type_of(path: &Path) -> Option<String> {
    let canon = path.canonicalize().ok()?;
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String)> = None;
    for line in mi.lines() {
        let (pre, post) = line.split_once(" - ")?;
        let f: Vec<&str> = pre.split(' ').collect();
        let fs = post.split(' ').next()?;
        let point = f.get(4)?;
        if canon.starts_with(point) && best.as_ref().is_none_or(|(l, _)| point.len() >= *l) {
            best = Some((point.len(), fs.to_string()));
        }
    }
    best.map(|(_, fs)| fs)
}

fn probes() -> Value {
    let pidfd = syscalls::pidfd_open(std::process::id() as i32).map(|_| true);
    let clone3 = syscalls::clone3_exists();
    let root = syscalls::open(Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0);
    let openat2 = root.and_then(|r| {
        match syscalls::openat2(
            r.as_fd(),
            Path::new("."),
            libc::O_PATH,
            0,
            syscalls::RESOLVE_IN_ROOT | syscalls::RESOLVE_NO_MAGICLINKS,
        ) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(false),
            Err(e) => Err(e),
        }
    });
    let show = |r: std::io::Result<bool>| match r {
        Ok(b) => json!({ "available": b }),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => json!({ "available": false }),
        Err(e) => json!({ "available": Value::Null, "error": words(&e) }),
    };
    json!({
        "pidfd_open": show(pidfd),
        "clone3": show(clone3),
        "openat2": show(openat2),
    })
}

/// The report for people: one line per item, then what is missing.
pub fn text(r: &Value) -> String {
    let s = |v: &Value| match v {
        Value::String(x) => x.clone(),
        Value::Null => "unknown".into(),
        other => other.to_string(),
    };
    let yes = |v: &Value| match v {
        Value::Bool(true) => "yes".to_string(),
        Value::Bool(false) => "no".to_string(),
        other => s(other),
    };
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<24} {v}\n"));
    line("kernel", s(&r["kernel"]["release"]));
    let cg = &r["cgroups"];
    line("cgroup layout", s(&cg["layout"]));
    line("cgroup v1 controllers", join(&cg["v1_controllers"]));
    if cg.get("v2").is_some() {
        line(
            "cgroup v2 controllers",
            format!(
                "{} (at {}, caller's cgroup {}, delegated: {})",
                join(&cg["v2"]["controllers"]),
                s(&cg["v2"]["mount"]),
                s(&cg["v2"]["caller_cgroup"]),
                yes(&cg["v2"]["delegated_to_caller"])
            ),
        );
    }
    let u = &r["user_namespaces"];
    line(
        "user namespaces",
        format!(
            "{} (max_user_namespaces {})",
            yes(&u["allowed"]),
            s(&u["max_user_namespaces"])
        ),
    );
    line(
        "subuid / subgid",
        format!("{} / {}", ranges(&u["subuid"]), ranges(&u["subgid"])),
    );
    let sc = &r["seccomp"];
    line("seccomp filters", yes(&sc["filter"]));
    line("seccomp actions", join(&sc["actions_avail"]));
    let flags: Vec<String> = sc["filter_flags"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| **v == true)
                .map(|(k, _)| k.trim_start_matches("SECCOMP_FILTER_FLAG_").to_string())
                .collect()
        })
        .unwrap_or_default();
    line("seccomp filter flags", flags.join(" "));
    line("landlock ABI", s(&r["landlock"]["abi"]));
    line("apparmor", yes(&r["lsm"]["apparmor"]["enabled"]));
    line("selinux", s(&r["lsm"]["selinux"]["mode"]));
    if let Some(m) = r["idmapped_mounts"].as_object() {
        for (k, v) in m {
            let why = match &v["error"] {
                Value::String(e) if v["supported"] != true => format!(": {e}"),
                _ => String::new(),
            };
            line(
                &format!("idmapped mounts ({k})"),
                format!(
                    "{} ({} {}){why}",
                    yes(&v["supported"]),
                    s(&v["path"]),
                    s(&v["filesystem"])
                ),
            );
        }
    }
    for k in ["pidfd_open", "clone3", "openat2"] {
        line(k, yes(&r["syscalls"][k]["available"]));
    }
    let missing = r["missing"].as_array().cloned().unwrap_or_default();
    if missing.is_empty() {
        out.push_str("missing: nothing\n");
    } else {
        out.push_str("missing:\n");
        for m in missing {
            out.push_str(&format!("  - {}: {}\n", s(&m["what"]), s(&m["meaning"])));
        }
    }
    out
}

fn join(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".into())
}

fn ranges(v: &Value) -> String {
    let a = v.as_array().cloned().unwrap_or_default();
    if a.is_empty() {
        return "none".into();
    }
    a.iter()
        .map(|r| format!("{}+{}", r["start"], r["count"]))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let hybrid = "\
30 20 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
31 20 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
32 20 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
33 20 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
";
        let (l, v1, at) = layout(hybrid);
        assert_eq!(l, "hybrid");
        assert_eq!(v1, ["cpu", "cpuacct", "memory"]);
        assert_eq!(at, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let v2 = "25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(layout(v2).0, "v2");
        assert_eq!(
            layout("30 20 0:26 / /c rw - cgroup cgroup rw,pids\n").0,
            "v1"
        );
        assert_eq!(layout("1 0 0:1 / / rw - ext4 /dev/sda rw\n").0, "none");
    }

    #[test]
    fn subordinate_ranges() {
        let t = "alice:100000:65536\n1001:200000:1000\nbob:300000:10\nbad line\n";
        assert_eq!(
            sub_ranges(t, Some("alice"), 1000),
            json!([{"start": 100000, "count": 65536}])
        );
        assert_eq!(
            sub_ranges(t, Some("carol"), 1001),
            json!([{"start": 200000, "count": 1000}])
        );
        assert_eq!(sub_ranges(t, None, 5), json!([]));
        let pw = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(user_name(1000, pw).as_deref(), Some("alice"));
        assert_eq!(user_name(7, pw), None);
    }

    #[test]
    fn text_lists_missing() {
        let r = json!({
            "kernel": {"release": "6.1.0"},
            "cgroups": {"layout": "v2", "v1_controllers": [], "v2": {"controllers": ["pids"], "mount": "/sys/fs/cgroup", "caller_cgroup": "/", "delegated_to_caller": true}},
            "missing": [{"what": "AppArmor", "meaning": "refused"}],
        });
        let t = text(&r);
        assert!(t.contains("kernel                   6.1.0\n"), "{t}");
        assert!(t.contains("cgroup v2 controllers    pids"), "{t}");
        assert!(t.contains("  - AppArmor: refused\n"), "{t}");
    }
}
