//! `features`: the runtime-spec "features" document (features.md), which containerd, Docker and
//! podman read to learn what the runtime accepts. It is fixed at build time (but for
//! `mountExtensions.idmap`, probed on the running kernel) and built from the same names the
//! runtime's parsers accept; the unit tests below feed every listed name back
//! into those parsers (mounts, capabilities, seccomp), so the document cannot claim more than
//! the runtime does.

use crate::namespaces::Kind;
use serde_json::{json, Value};

/// The lowest runtime-spec version rampart accepts in a config.
pub const OCI_VERSION_MIN: &str = "1.0.0";

/// Hooks run by the `hooks` module, in lifecycle order.
pub const HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Mount options the `mounts` module maps onto mount attributes, propagation or fsconfig.
pub const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "lazytime",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "rexec",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// seccomp actions, operators, architectures and filter flags the `seccomp` compiler handles.
pub const SECCOMP_ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
pub const SECCOMP_OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];
pub const SECCOMP_ARCHS: &[&str] = &["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];
pub const SECCOMP_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

fn namespaces() -> Vec<&'static str> {
    // The runtime-spec names, which differ from /proc's for mount and network.
    Kind::JOIN_ORDER
        .iter()
        .map(|k| match k {
            Kind::Mount => "mount",
            Kind::Net => "network",
            k => k.name(),
        })
        .collect()
}

fn capabilities() -> Vec<String> {
    let mut v: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

/// Whether this kernel idmaps mounts: a tmpfs made as a detached mount (never attached, so it
/// leaves nothing behind) gets MOUNT_ATTR_IDMAP through a scratch user namespace. Needs the
/// privilege a create of an idmapped container needs too; without it the answer is false.
fn idmap_supported() -> bool {
    use crate::syscalls;
    use crate::userns::IdMap;
    use std::os::fd::{AsFd, AsRawFd};
    let probe = || -> std::io::Result<()> {
        let fs = syscalls::fsopen("tmpfs")?;
        let tree = syscalls::fs_create_mount(fs.as_fd(), 0)?;
        let map = [IdMap {
            container: 0,
            host: 0,
            size: 1,
        }];
        let ns = crate::userns::scratch_namespace(&map, &map)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let attr = syscalls::MountAttr {
            attr_set: syscalls::MOUNT_ATTR_IDMAP,
            attr_clr: 0,
            propagation: 0,
            userns_fd: ns.as_raw_fd() as u64,
        };
        syscalls::mount_setattr(tree.as_fd(), false, &attr)
    };
    probe().is_ok()
}

/// The features document.
pub fn document() -> Value {
    json!({
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": HOOKS,
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": namespaces(),
            "capabilities": capabilities(),
            "cgroup": {
                "v1": true,
                "v2": true,
                "systemd": true,
                "systemdUser": false,
                "rdma": true
            },
            "seccomp": {
                "enabled": true,
                "actions": SECCOMP_ACTIONS,
                "operators": SECCOMP_OPERATORS,
                "archs": SECCOMP_ARCHS,
                "knownFlags": SECCOMP_FLAGS,
                "supportedFlags": SECCOMP_FLAGS
            },
            "apparmor": {"enabled": true},
            // Not in the runtime-spec schema (consumers ignore unknown keys): what
            // process.landlock accepts and what this kernel enforces.
            "landlock": crate::landlock::features(),
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": true, "schemata": true, "monitoring": true},
            "memoryPolicy": {
                "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                          "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            },
            "netDevices": {"enabled": true},
            "mountExtensions": {"idmap": {"enabled": idmap_supported()}}
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "io.github.rampart.version": env!("CARGO_PKG_VERSION")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mount_option_is_accepted_by_the_mount_planner() {
        for opt in MOUNT_OPTIONS {
            // The idmap options apply to binds only (and take the mappings given with them).
            let m = if opt.ends_with("idmap") {
                json!({"destination": "/x", "type": "bind", "source": "/s", "options": [opt],
                       "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                       "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]})
            } else {
                json!({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": [opt]})
            };
            let m: oci_spec::runtime::Mount = serde_json::from_value(m).unwrap();
            assert!(
                crate::mounts::plan(&m, std::path::Path::new("/b")).is_ok(),
                "{opt}"
            );
        }
    }

    #[test]
    fn every_seccomp_name_compiles() {
        for (i, action) in SECCOMP_ACTIONS.iter().enumerate() {
            let op = SECCOMP_OPERATORS[i % SECCOMP_OPERATORS.len()];
            let mut cfg = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": SECCOMP_ARCHS,
                "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "syscalls": [{"names": ["getcwd"], "action": action,
                              "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]}]
            });
            if *action == "SCMP_ACT_NOTIFY" {
                cfg["listenerPath"] = json!("/run/agent.sock");
            }
            let cfg: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(cfg).unwrap();
            assert!(crate::seccomp::compile(&cfg).is_ok(), "{action} {op}");
        }
        for flag in SECCOMP_FLAGS {
            let cfg: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(json!({
                "defaultAction": "SCMP_ACT_ALLOW", "flags": [flag]
            }))
            .unwrap();
            assert!(crate::seccomp::compile(&cfg).is_ok(), "{flag}");
        }
    }

    #[test]
    fn every_capability_and_namespace_parses() {
        for c in capabilities() {
            assert!(crate::capabilities::parse_name(&c).is_ok(), "{c}");
        }
        for n in namespaces() {
            let ns: Result<oci_spec::runtime::LinuxNamespace, _> =
                serde_json::from_value(json!({"type": n}));
            assert!(ns.is_ok(), "{n}");
        }
        let doc = document();
        assert_eq!(doc["linux"]["namespaces"].as_array().unwrap().len(), 8);
    }
}
