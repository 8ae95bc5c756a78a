//! `linux.sysctl`: kernel parameters written through the container's own /proc/sys after
//! pivot_root, so they land in the container's namespaces. Validation refuses keys that are not
//! namespaced by a namespace the container has (they would change the host), as runc does.

use crate::syscalls;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

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
    #[error("sysctl: opening a procfs handle of our own: {0}")]
    Proc(io::Error),
    #[error("sysctl: {path} is not on procfs (magic {magic:#x}), refused")]
    NotProcfs { path: PathBuf, magic: i64 },
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
        return if ns.ipc {
            Ok(())
        } else {
            deny("needs an IPC namespace")
        };
    }
    if k.starts_with("net.") {
        return if ns.net {
            Ok(())
        } else {
            deny("needs a network namespace")
        };
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

/// Writes each sysctl through a procfs handle the runtime made itself, never through the path
/// string /proc/sys/...: a volume or symlink placed over the container's /proc/sys (an image
/// link plus a shared volume, say) would otherwise redirect the write to a file another tenant
/// chose, such as a host-global sysctl (CVE-2025-52881). Each key is opened beneath that handle
/// without crossing a mount or following a link, and the result must be a procfs file.
pub fn apply(list: &[(String, String)]) -> Result<(), SysctlError> {
    if list.is_empty() {
        return Ok(());
    }
    let proc = proc_handle()?;
    let resolve = syscalls::RESOLVE_BENEATH
        | syscalls::RESOLVE_NO_XDEV
        | syscalls::RESOLVE_NO_SYMLINKS
        | syscalls::RESOLVE_NO_MAGICLINKS;
    for (key, value) in list {
        let rel = PathBuf::from("sys").join(key.replace('.', "/"));
        let path = Path::new("/proc").join(&rel);
        let write_err = |err| SysctlError::Write {
            key: key.clone(),
            path: path.clone(),
            err,
        };
        let fd =
            syscalls::openat2(proc.as_fd(), &rel, libc::O_WRONLY, 0, resolve).map_err(write_err)?;
        let magic = syscalls::fstatfs_magic(fd.as_fd()).map_err(write_err)?;
        if magic != PROC_SUPER_MAGIC {
            return Err(SysctlError::NotProcfs { path, magic });
        }
        syscalls::write_all_fd(fd.as_fd(), value.as_bytes()).map_err(write_err)?;
    }
    Ok(())
}

/// The root of a procfs only the runtime holds: a fresh, detached instance, or else a detached
/// non-recursive copy of the container's /proc mount (so nothing mounted below it comes along).
fn proc_handle() -> Result<OwnedFd, SysctlError> {
    let fresh = syscalls::fsopen("proc").and_then(|fs| {
        syscalls::fs_create_mount(
            fs.as_fd(),
            syscalls::MOUNT_ATTR_NOSUID | syscalls::MOUNT_ATTR_NODEV | syscalls::MOUNT_ATTR_NOEXEC,
        )
    });
    let fd = match fresh {
        Ok(fd) => fd,
        Err(_) => syscalls::open(Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)
            .and_then(|root| {
                syscalls::open_tree(
                    root.as_fd(),
                    Path::new("proc"),
                    syscalls::OPEN_TREE_CLONE | libc::AT_SYMLINK_NOFOLLOW as u32,
                )
            })
            .map_err(SysctlError::Proc)?,
    };
    let magic = syscalls::fstatfs_magic(fd.as_fd()).map_err(SysctlError::Proc)?;
    if magic != PROC_SUPER_MAGIC {
        return Err(SysctlError::NotProcfs {
            path: PathBuf::from("/proc"),
            magic,
        });
    }
    Ok(fd)
}
