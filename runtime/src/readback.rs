//! The confinement actually in force on a process, read back from the kernel through /proc and
//! the cgroup files, for the audit events (`audit_log`). Nothing here trusts the plan: every
//! value is what the kernel reports for that pid at the moment of reading.
//!
//! Call it only once the process runs its final program (the workload after `start`'s exec, an
//! exec'd process after its exec): before, the init still holds the runtime's privileges.
//!
//! Every field is read on its own; one that cannot be read is reported as an error string in
//! its place, so a process that exits half-way gives a partial record, never none.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The namespaces /proc/PID/ns lists that a container may or may not have of its own.
const NAMESPACES: &[&str] = &["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// An OS error in words, without "(os error N)".
pub fn words(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {}", path.display(), words(&e)))
}

fn or_error(v: Result<Value, String>) -> Value {
    v.unwrap_or_else(|e| json!({ "error": e }))
}

/// Everything below for `pid`, as the `observed` object of an event.
pub fn observe(pid: i32) -> Value {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    // The "workload exec'd" signals (exec.fifo's hangup, the exec socket's EOF) come when execve
    // closes close-on-exec descriptors, before it commits the new credentials and LSM label.
    // Opening /proc/PID/environ takes the exec update lock, which execve holds until after
    // commit_creds: once the open returns, the status read below is the workload's.
    let _ = std::fs::File::open(proc_dir.join("environ"));
    let status = read(&proc_dir.join("status"));
    let mut out = Map::new();
    out.insert("pid".into(), pid.into());
    out.insert(
        "capabilities".into(),
        or_error(status.clone().map(|s| capabilities(&s))),
    );
    out.insert(
        "no_new_privs".into(),
        or_error(status.clone().and_then(|s| no_new_privs(&s))),
    );
    out.insert("seccomp".into(), or_error(status.and_then(|s| seccomp(&s))));
    out.insert(
        "uid_map".into(),
        or_error(read(&proc_dir.join("uid_map")).map(|s| id_map(&s))),
    );
    out.insert(
        "gid_map".into(),
        or_error(read(&proc_dir.join("gid_map")).map(|s| id_map(&s))),
    );
    out.insert("namespaces".into(), namespaces(&proc_dir));
    out.insert("lsm".into(), lsm(&proc_dir));
    out.insert(
        "cgroup".into(),
        or_error(read(&proc_dir.join("cgroup")).and_then(|c| {
            let mounts = read(Path::new("/proc/self/mountinfo"))?;
            Ok(cgroup_limits(&c, &mounts, Path::new("/")))
        })),
    );
    out.insert(
        "mounts".into(),
        or_error(read(&proc_dir.join("mountinfo")).map(|m| mount_confinement(&m))),
    );
    Value::Object(out)
}

/// The five capability sets of /proc/PID/status, as the kernel prints them (hex masks).
pub fn capabilities(status: &str) -> Value {
    let mut m = Map::new();
    for (key, name) in [
        ("CapInh", "inheritable"),
        ("CapPrm", "permitted"),
        ("CapEff", "effective"),
        ("CapBnd", "bounding"),
        ("CapAmb", "ambient"),
    ] {
        let v = field(status, key)
            .map(Value::from)
            .unwrap_or_else(|| json!({ "error": format!("no {key} in /proc/PID/status") }));
        m.insert(name.into(), v);
    }
    Value::Object(m)
}

fn field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

pub fn no_new_privs(status: &str) -> Result<Value, String> {
    match field(status, "NoNewPrivs") {
        Some("1") => Ok(true.into()),
        Some("0") => Ok(false.into()),
        other => Err(format!("NoNewPrivs in /proc/PID/status is {other:?}")),
    }
}

/// Seccomp mode (0 off, 1 strict, 2 filter) and the number of filters stacked on the process.
pub fn seccomp(status: &str) -> Result<Value, String> {
    let num = |k: &str| -> Result<u64, String> {
        field(status, k)
            .ok_or_else(|| format!("no {k} in /proc/PID/status"))?
            .parse()
            .map_err(|_| format!("{k} in /proc/PID/status is not a number"))
    };
    let mode = num("Seccomp")?;
    let name = match mode {
        0 => "disabled",
        1 => "strict",
        2 => "filter",
        _ => "unknown",
    };
    // Seccomp_filters came with Linux 5.9; older kernels only say the mode.
    let filters = num("Seccomp_filters").ok();
    Ok(json!({ "mode": mode, "mode_name": name, "filters": filters }))
}

/// uid_map/gid_map lines as [inside, outside, count] triples.
pub fn id_map(text: &str) -> Value {
    let rows: Vec<Value> = text
        .lines()
        .filter_map(|l| {
            let n: Vec<u64> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (n.len() == 3).then(|| json!(n))
        })
        .collect();
    Value::Array(rows)
}

/// For every namespace kind: the process's namespace and whether it is the runtime's own (the
/// host's, for a runtime run by an engine on the host), i.e. shared rather than private.
fn namespaces(proc_dir: &Path) -> Value {
    let mut m = Map::new();
    for ns in NAMESPACES {
        let theirs = std::fs::read_link(proc_dir.join("ns").join(ns));
        let ours = std::fs::read_link(Path::new("/proc/self/ns").join(ns));
        let v = match (theirs, ours) {
            (Ok(t), Ok(o)) => json!({
                "id": t.to_string_lossy(),
                "private": t != o,
            }),
            (Err(e), _) => {
                json!({ "error": format!("{}/ns/{ns}: {}", proc_dir.display(), words(&e)) })
            }
            (_, Err(e)) => json!({ "error": format!("/proc/self/ns/{ns}: {}", words(&e)) }),
        };
        m.insert((*ns).into(), v);
    }
    Value::Object(m)
}

/// The AppArmor label (attr/apparmor/current, or the shared attr/current of older kernels) and
/// the SELinux context when SELinux is the LSM answering attr/current.
fn lsm(proc_dir: &Path) -> Value {
    let label = |p: PathBuf| {
        std::fs::read(&p)
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .trim_end_matches(['\n', '\0'])
                    .to_string()
            })
            .map_err(|e| format!("{}: {}", p.display(), words(&e)))
    };
    let apparmor = match label(proc_dir.join("attr/apparmor/current")) {
        Ok(l) => Value::from(l),
        // No AppArmor in this kernel: the file is missing or refuses reads (EINVAL).
        Err(e) => json!({ "error": e }),
    };
    let current = match label(proc_dir.join("attr/current")) {
        Ok(l) => Value::from(l),
        Err(e) => json!({ "error": e }),
    };
    json!({ "apparmor": apparmor, "attr_current": current })
}

/// The cgroup mounts of a mountinfo text: (mount point, root inside the hierarchy, v1
/// controllers or None for cgroup2).
fn cgroup_mounts(mountinfo: &str) -> Vec<(PathBuf, String, Option<Vec<String>>)> {
    let mut out = Vec::new();
    for m in crate::mountinfo::parse(mountinfo) {
        let (root, point) = (m.root, PathBuf::from(m.mount_point));
        match m.fstype.as_str() {
            "cgroup2" => out.push((point, root, None)),
            "cgroup" => {
                let ctrls = m
                    .super_opts
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("release_agent"))
                    .map(|o| o.to_string())
                    .collect();
                out.push((point, root, Some(ctrls)))
            }
            _ => {}
        }
    }
    out
}

/// The limits a process is held to, read from the cgroup files of the cgroups /proc/PID/cgroup
/// names (in the reader's cgroup namespace, so full paths for a runtime on the host). v1 and v2
/// hierarchies are read alike; a hybrid host reports both. `prefix` is prepended to mount
/// points (tests pass a fake tree).
pub fn cgroup_limits(proc_cgroup: &str, mountinfo: &str, prefix: &Path) -> Value {
    let mounts = cgroup_mounts(mountinfo);
    // (file to read, key in the record) per kind of hierarchy.
    const V1: &[(&str, &str, &str)] = &[
        ("memory", "memory.limit_in_bytes", "memory_limit"),
        ("memory", "memory.memsw.limit_in_bytes", "memory_swap_limit"),
        ("pids", "pids.max", "pids_max"),
        ("cpu", "cpu.cfs_quota_us", "cpu_quota_us"),
        ("cpu", "cpu.cfs_period_us", "cpu_period_us"),
        ("cpu", "cpu.shares", "cpu_shares"),
        ("cpuset", "cpuset.cpus", "cpuset_cpus"),
        ("freezer", "freezer.state", "freezer_state"),
    ];
    const V2: &[(&str, &str)] = &[
        ("memory.max", "memory_max"),
        ("memory.swap.max", "memory_swap_max"),
        ("pids.max", "pids_max"),
        ("cpu.max", "cpu_max"),
        ("cpu.weight", "cpu_weight"),
        ("cpuset.cpus", "cpuset_cpus"),
        ("cgroup.freeze", "freeze"),
    ];
    let mut v1 = Map::new();
    let mut v2 = Map::new();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let ctrl_list: Vec<&str> = ctrls.split(',').filter(|c| !c.is_empty()).collect();
        let mount = mounts.iter().find(|(_, _, c)| match c {
            None => ctrl_list.is_empty(),
            Some(cs) => {
                !ctrl_list.is_empty() && ctrl_list.iter().all(|x| cs.iter().any(|y| y == x))
            }
        });
        let Some((point, root, _)) = mount else {
            continue;
        };
        // The hierarchy may be mounted from below its root (mountinfo's root field).
        let rel = if root == "/" {
            path.trim_start_matches('/')
        } else {
            match path.strip_prefix(root.as_str()) {
                Some(r) => r.trim_start_matches('/'),
                None => continue,
            }
        };
        let dir = prefix
            .join(point.strip_prefix("/").unwrap_or(point))
            .join(rel);
        let read_into = |m: &mut Map<String, Value>, file: &str, key: &str| {
            if let Ok(t) = std::fs::read_to_string(dir.join(file)) {
                m.insert(key.into(), t.trim().into());
            }
        };
        if ctrl_list.is_empty() {
            v2.insert("path".into(), path.into());
            for (file, key) in V2 {
                read_into(&mut v2, file, key);
            }
        } else {
            for (ctrl, file, key) in V1 {
                if ctrl_list.contains(ctrl) {
                    v1.insert(format!("{ctrl}_path"), path.into());
                    read_into(&mut v1, file, key);
                }
            }
        }
    }
    let mut out = Map::new();
    if !v1.is_empty() {
        out.insert("v1".into(), Value::Object(v1));
    }
    if !v2.is_empty() {
        out.insert("v2".into(), Value::Object(v2));
    }
    Value::Object(out)
}

/// Read-only root, masked and read-only kernel paths, from the process's own mountinfo (mount
/// points are shown relative to its root). The topmost mount at a point is the one in force.
///
/// A masked file is a bind of a character device (rampart and runc bind /dev/null: its root in
/// mountinfo is `/null`); a masked directory is a read-only tmpfs over a /proc or /sys path.
pub fn mount_confinement(mountinfo: &str) -> Value {
    // Later lines are mounted later, so the last entry for a point is the one in force.
    let mut top: Vec<(String, String, String, bool)> = Vec::new();
    for m in crate::mountinfo::parse(mountinfo) {
        let ro = m.read_only();
        top.retain(|(pt, ..)| *pt != m.mount_point);
        top.push((m.mount_point, m.root, m.fstype, ro));
    }
    let readonly_root = top.iter().find(|(pt, ..)| pt == "/").map(|t| t.3);
    let kernel_path = |pt: &str| pt.starts_with("/proc/") || pt.starts_with("/sys/");
    let has_submounts = |pt: &str| {
        let below = format!("{pt}/");
        top.iter().any(|(p, ..)| p.starts_with(&below))
    };
    let mut masked = Vec::new();
    let mut readonly = Vec::new();
    for (pt, root, fs, ro) in &top {
        if !kernel_path(pt) {
            continue;
        }
        if root.ends_with("/null") && matches!(fs.as_str(), "devtmpfs" | "tmpfs") {
            masked.push(pt.clone());
        } else if fs == "tmpfs" && *ro && !has_submounts(pt) {
            // A mask has nothing below it; a read-only tmpfs holding mounts (the cgroup
            // hierarchies under /sys/fs/cgroup on v1) is a mount root, not a mask.
            masked.push(pt.clone());
        } else if *ro && matches!(fs.as_str(), "proc" | "sysfs") {
            readonly.push(pt.clone());
        }
    }
    masked.sort();
    readonly.sort();
    json!({
        "readonly_root": readonly_root,
        "masked_paths": masked,
        "readonly_paths": readonly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsh\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n\
CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n\
NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";

    #[test]
    fn status_fields() {
        let c = capabilities(STATUS);
        assert_eq!(c["effective"], "00000000a80425fb");
        assert_eq!(c["ambient"], "0000000000000000");
        assert_eq!(no_new_privs(STATUS).unwrap(), Value::Bool(true));
        let s = seccomp(STATUS).unwrap();
        assert_eq!(s["mode"], 2);
        assert_eq!(s["filters"], 1);
        assert!(no_new_privs("Name: x\n").is_err());
        assert_eq!(capabilities("")["permitted"]["error"].is_string(), true);
    }

    #[test]
    fn id_maps() {
        let m = id_map("         0     100000      65536\n");
        assert_eq!(m, json!([[0, 100000, 65536]]));
        assert_eq!(id_map(""), json!([]));
    }

    #[test]
    fn masked_and_readonly_from_mountinfo() {
        let mi = "\
600 500 0:50 / / ro,relatime - overlay overlay rw
601 600 0:51 / /proc rw,nosuid - proc proc rw
602 601 0:52 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw
603 601 0:53 / /proc/acpi ro,relatime - tmpfs tmpfs ro
604 601 0:51 /sys /proc/sys ro,nosuid - proc proc rw
605 600 0:54 / /tmp rw - tmpfs tmpfs rw
608 600 0:56 / /sys/fs/cgroup ro - tmpfs tmpfs ro
609 608 0:57 / /sys/fs/cgroup/pids ro - cgroup cgroup ro,pids
606 600 0:55 / /proc/bus rw - proc proc rw
607 606 0:51 /bus /proc/bus ro,nosuid - proc proc rw
";
        let v = mount_confinement(mi);
        assert_eq!(v["readonly_root"], true);
        assert_eq!(v["masked_paths"], json!(["/proc/acpi", "/proc/kcore"]));
        assert_eq!(v["readonly_paths"], json!(["/proc/bus", "/proc/sys"]));
        let rw = mount_confinement("1 0 0:1 / / rw - ext4 /dev/sda rw\n");
        assert_eq!(rw["readonly_root"], false);
    }

    #[test]
    fn cgroup_limits_v1_and_v2_from_files() {
        let tmp = std::env::temp_dir().join(format!("rampart-readback-{}", std::process::id()));
        let mem = tmp.join("sys/fs/cgroup/memory/c1");
        let pids = tmp.join("sys/fs/cgroup/pids/c1");
        let uni = tmp.join("sys/fs/cgroup/unified/c1");
        for d in [&mem, &pids, &uni] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(mem.join("memory.limit_in_bytes"), "67108864\n").unwrap();
        std::fs::write(pids.join("pids.max"), "42\n").unwrap();
        std::fs::write(uni.join("pids.max"), "max\n").unwrap();
        let mi = "\
30 20 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
31 20 0:27 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
32 20 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
";
        let pc = "5:memory:/c1\n6:pids:/c1\n0::/c1\n";
        let v = cgroup_limits(pc, mi, &tmp);
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!(v["v1"]["memory_limit"], "67108864");
        assert_eq!(v["v1"]["pids_max"], "42");
        assert_eq!(v["v1"]["pids_path"], "/c1");
        assert_eq!(v["v2"]["pids_max"], "max");
    }

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(crate::mountinfo::unescape(r"/a\040b"), "/a b");
        assert_eq!(crate::mountinfo::unescape(r"/a\\"), r"/a\\");
    }
}
