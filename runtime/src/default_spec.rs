//! `rampart spec`: the config.json a new bundle starts from. It is secure by default: a
//! read-only root, every namespace that needs no host provisioning, masked and read-only kernel
//! paths, three capabilities, no_new_privs, rlimits and a pids limit, and the default seccomp
//! profile (seccomp-profiles/default.json). The user namespace is left to `--rootless` or to the user, because
//! its id mappings depend on the host's subordinate id ranges.

use serde_json::{json, Value};

/// Paths hidden from the container: kernel interfaces that leak host information or allow
/// attacks on the host (the same set the widely used engines mask).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

/// Paths left visible but read-only.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The default capability set: what a plain workload needs and nothing more.
pub const DEFAULT_CAPS: &[&str] = &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// The config.json of `rampart spec`. Fails only if the embedded seccomp profile does not parse
/// (a broken build, which the unit tests catch).
pub fn generate(rootless: bool, uid: u32, gid: u32) -> Result<Value, crate::seccomp::SeccompError> {
    let caps = json!(DEFAULT_CAPS);
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "network"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
        json!({"type": "cgroup"}),
    ];
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
    ];
    let mut linux = json!({
        "resources": {
            "devices": [{"allow": false, "access": "rwm"}],
            "pids": {"limit": 4096}
        },
        "namespaces": [],
        "maskedPaths": MASKED_PATHS,
        "readonlyPaths": READONLY_PATHS,
        "seccomp": crate::seccomp::default_profile_json()?,
    });
    if rootless {
        namespaces.push(json!({"type": "user"}));
        linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
        // Without privileges over the host: no fresh sysfs (bind the host's read-only), no
        // cgroup limits or cgroup mount, no devpts gid the mapping lacks.
        mounts.retain(|m| m["destination"] != "/sys/fs/cgroup" && m["destination"] != "/sys");
        mounts.push(
            json!({"destination": "/sys", "type": "none", "source": "/sys",
                           "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}),
        );
        for m in mounts.iter_mut() {
            if m["destination"] == "/dev/pts" {
                m["options"] = json!([
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620"
                ]);
            }
        }
        if let Some(obj) = linux.as_object_mut() {
            obj.remove("resources");
        }
    }
    linux["namespaces"] = Value::Array(namespaces);
    Ok(json!({
        "ociVersion": crate::OCI_VERSION,
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "rampart",
        "mounts": mounts,
        "linux": linux
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_spec_parses_and_validates_as_oci() {
        let v = super::generate(false, 0, 0).unwrap();
        let spec: oci_spec::runtime::Spec = serde_json::from_value(v).unwrap();
        assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
        assert_eq!(
            spec.process().as_ref().unwrap().no_new_privileges(),
            Some(true)
        );
        let r = super::generate(true, 1000, 1000).unwrap();
        let spec: oci_spec::runtime::Spec = serde_json::from_value(r).unwrap();
        assert!(spec.linux().as_ref().unwrap().uid_mappings().is_some());
        // The default profile is in, parses as OCI and compiles.
        let sc = spec.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
        assert_eq!(sc, &crate::seccomp::default_profile().unwrap());
        crate::seccomp::compile(sc).unwrap();
    }
}
