//! `linux.sysctl`: kernel parameters written through the container's own /proc/sys after
//! pivot_root, so they land in the container's namespaces. Validation refuses keys that are not
//! namespaced by a namespace the container has (they would change the host), as runc does.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    #[error("sysctl {key}: not allowed: {why}")]
    NotAllowed { key: String, why: String },
    #[error("sysctl {key}: writing {path}: {err}")]
    Write {
        key: String,
        path: PathBuf,
        err: io::Error,
    },
}

/// Which namespaces the container has, for deciding whether a key is safe.
pub struct Namespaced {
    pub ipc: bool,
    pub net: bool,
    pub uts: bool,
}

pub fn validate(key: &str, ns: &Namespaced) -> Result<(), SysctlError> {
    let deny = |why: &str| {
        Err(SysctlError::NotAllowed {
            key: key.to_string(),
            why: why.to_string(),
        })
    };
    if key.contains("..") || key.starts_with('/') || key.is_empty() {
        return deny("malformed key");
    }
    let k = key.replace('/', ".");
    let ipc_keys = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if ipc_keys.contains(&k.as_str()) || k.starts_with("fs.mqueue.") {
        return if ns.ipc { Ok(()) } else { deny("needs an IPC namespace") };
    }
    if k.starts_with("net.") {
        return if ns.net { Ok(()) } else { deny("needs a network namespace") };
    }
    if k == "kernel.hostname" || k == "kernel.domainname" {
        return if ns.uts {
            Ok(())
        } else {
            deny("needs a UTS namespace")
        };
    }
    deny("not a namespaced sysctl")
}

pub fn apply(list: &[(String, String)]) -> Result<(), SysctlError> {
    for (key, value) in list {
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value.as_bytes()).map_err(|err| SysctlError::Write {
            key: key.clone(),
            path,
            err,
        })?;
    }
    Ok(())
}
