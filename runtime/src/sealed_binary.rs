//! The runtime binary that container processes run from (CVE-2019-5736).
//!
//! rampart clones the container's init and every exec'd process from itself, so until a
//! process's own execve completes, its /proc/self/exe is rampart's binary. An image whose
//! workload is /proc/self/exe (a symlink `/bin/sh -> /proc/self/exe`, a script starting with
//! `#!/proc/self/exe`, or args naming it) makes the kernel run that binary inside the container.
//! There it is dumpable again (a fresh execve), so a process of the container can hold a handle
//! on it (/proc/<pid>/exe, or the image's ld.so / LD_PRELOAD code in the process itself) and
//! reopen it for writing once no rampart runs: the next `rampart` anyone starts on the host is
//! the attacker's.
//!
//! So `create`, `run` and `exec` never do their work from a binary whose inode is writable
//! through the path the kernel hands out. Before anything else they re-exec themselves from:
//!  1. a read-only detached clone of the binary's mount (open_tree OPEN_TREE_CLONE of
//!     /proc/self/exe, mount_setattr MOUNT_ATTR_RDONLY, execveat). No copy is made: the same
//!     inode, the same page cache. It needs CAP_SYS_ADMIN over the caller's mount namespace. The
//!     clone's fd is close-on-exec, so at the execveat the clone is dissolved: the mount stays
//!     alive only as the process's exe and belongs to no mount namespace, and the kernel refuses
//!     mount_setattr, remount and open_tree clones of a mount that is attached nowhere, so nobody,
//!     not even a process with CAP_SYS_ADMIN in the container's user namespace, can make it
//!     writable again; every write open through it fails with EROFS.
//!  2. otherwise (no CAP_SYS_ADMIN: a rootless caller) a sealed memfd copy: F_SEAL_WRITE,
//!     F_SEAL_SHRINK, F_SEAL_GROW and F_SEAL_SEAL, so the copy can never change, whoever holds it.
//!     This is the only path that copies the binary (once per command).
//!
//! After the re-exec the check is an open, an fcntl and an fstatvfs. A binary that runs from a
//! sealed memfd already is used as it is; one on a read-only mount that this process did not
//! make (a read-only /usr) is not: that mount is attached to the host, and a remount there would
//! make the binary writable to a container still holding it. Only the re-exec mark says a
//! read-only mount is the clone made here (no property of a mount tells a clone attached nowhere
//! from one attached in a namespace we cannot see). PR_SET_DUMPABLE 0 (set by the CLI first
//! thing, again after the re-exec) stays: it keeps other container processes away from
//! /proc/<runtime pid>/exe, mem and fds.
//!
//! Order: call [`ensure`] before the command opens anything it passes on (the re-exec keeps only
//! descriptors without FD_CLOEXEC: stdio, `--preserve-fds`, LISTEN_FDS, the console socket are
//! inherited as they were) and while the process has a single thread. The pid stays the same
//! across the re-exec, so LISTEN_PID still matches.

use crate::syscalls::{self, MountAttr};
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set (to the method) in the environment of the re-exec'd runtime: it says the read-only mount
/// the new process runs from is the clone made for it, and a second pass that still finds an
/// unsafe binary fails instead of re-executing forever. Removed once checked, so hooks and
/// containers never see it.
const REEXEC_MARK: &str = "_RAMPART_SEALED_REEXEC";

/// `RAMPART_SEALED_BINARY=memfd` takes the memfd path even where the read-only clone would work,
/// so tests and benchmarks can exercise the path rootless callers take.
const FORCE_VAR: &str = "RAMPART_SEALED_BINARY";

/// The two methods, as the re-exec mark names them.
const CLONE: &str = "read-only clone";
const MEMFD: &str = "sealed memfd";

/// Set once this process has checked its binary: later calls return at once.
static VERIFIED: AtomicBool = AtomicBool::new(false);

const SEALS: i32 = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("opening the runtime binary /proc/self/exe: {0}")]
    OpenSelf(io::Error),
    #[error("inspecting the runtime binary /proc/self/exe: {0}")]
    Inspect(io::Error),
    #[error("making a sealed copy of the runtime binary: memfd_create: {0}")]
    MemfdCreate(io::Error),
    #[error("making a sealed copy of the runtime binary: copying into the memfd: {0}")]
    MemfdCopy(io::Error),
    #[error("making a sealed copy of the runtime binary: sealing the memfd: {0}")]
    MemfdSeal(io::Error),
    #[error("re-executing the runtime from its {method}: execveat: {err}")]
    Exec {
        method: &'static str,
        err: io::Error,
    },
    #[error(
        "the runtime still runs from a writable binary after re-executing from its {method}; \
         refusing to let a container reach it"
    )]
    StillWritable { method: String },
    #[error("{FORCE_VAR}={value:?}: only \"memfd\" is understood")]
    BadForce { value: String },
}

/// How the running binary is protected, if it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Protection {
    /// The binary sits on a read-only mount (for example the detached clone after the re-exec).
    ReadOnlyMount,
    /// The binary is a memfd with every seal set.
    SealedMemfd,
}

/// Makes sure this process runs from a binary the container cannot write: returns when it
/// already does, re-execs (and never returns) otherwise.
pub fn ensure() -> Result<(), SealError> {
    if VERIFIED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mark = std::env::var_os(REEXEC_MARK);
    let exe = syscalls::open(Path::new("/proc/self/exe"), libc::O_RDONLY, 0)
        .map_err(SealError::OpenSelf)?;
    let safe = match protection(&exe)? {
        Some(Protection::SealedMemfd) => true,
        // A read-only mount counts only as the clone this process was just re-executed from: a
        // read-only mount that was there already is attached to the host, whose administrator can
        // remount it writable while a container still holds the binary.
        Some(Protection::ReadOnlyMount) => mark.as_deref() == Some(CLONE.as_ref()),
        None => false,
    };
    if safe {
        if mark.is_some() {
            // Single-threaded here (see the module doc): nothing reads the environment
            // concurrently. On failure the mark stays, so a second call fails too instead of
            // re-executing again.
            std::env::remove_var(REEXEC_MARK);
        }
        VERIFIED.store(true, Ordering::Relaxed);
        return Ok(());
    }
    if let Some(method) = mark {
        return Err(SealError::StillWritable {
            method: method.to_string_lossy().into_owned(),
        });
    }
    let force_memfd = match std::env::var_os(FORCE_VAR) {
        None => false,
        Some(v) if v.is_empty() => false,
        Some(v) if v == "memfd" => true,
        Some(v) => {
            return Err(SealError::BadForce {
                value: v.to_string_lossy().into_owned(),
            })
        }
    };
    let clone = if force_memfd {
        None
    } else {
        read_only_clone(&exe)
    };
    let (fd, method) = match clone {
        Some(fd) => (fd, CLONE),
        None => (sealed_memfd(&exe)?, MEMFD),
    };
    drop(exe);
    let err = reexec(&fd, method);
    Err(SealError::Exec { method, err })
}

/// Whether the binary `exe` (an fd of /proc/self/exe) cannot be written through.
pub fn protection(exe: &OwnedFd) -> Result<Option<Protection>, SealError> {
    match syscalls::get_seals(exe.as_fd()) {
        Ok(s) if s & SEALS == SEALS => return Ok(Some(Protection::SealedMemfd)),
        Ok(_) => {}
        // Not a sealable file (a regular file on disk).
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
        Err(e) => return Err(SealError::Inspect(e)),
    }
    if syscalls::on_read_only_mount(exe.as_fd()).map_err(SealError::Inspect)? {
        return Ok(Some(Protection::ReadOnlyMount));
    }
    Ok(None)
}

/// A detached, read-only bind mount of the binary, as an O_PATH fd to execveat. None when the
/// caller may not make one (EPERM without CAP_SYS_ADMIN) or the kernel lacks the mount API: the
/// memfd path needs neither.
fn read_only_clone(exe: &OwnedFd) -> Option<OwnedFd> {
    // The path is absolute: the directory fd open_tree wants is not used; any will do.
    let fd = syscalls::open_tree(
        exe.as_fd(),
        Path::new("/proc/self/exe"),
        syscalls::OPEN_TREE_CLONE,
    )
    .ok()?;
    let attr = MountAttr {
        attr_set: syscalls::MOUNT_ATTR_RDONLY
            | syscalls::MOUNT_ATTR_NOSUID
            | syscalls::MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    syscalls::mount_setattr(fd.as_fd(), false, &attr).ok()?;
    Some(fd)
}

/// A memfd holding a copy of the binary, with every seal set.
fn sealed_memfd(exe: &OwnedFd) -> Result<OwnedFd, SealError> {
    let len = syscalls::fstat(exe.as_fd())
        .map_err(SealError::MemfdCopy)?
        .st_size as u64;
    let memfd = syscalls::memfd_create_exec(c"rampart").map_err(SealError::MemfdCreate)?;
    syscalls::sendfile_all(memfd.as_fd(), exe.as_fd(), len).map_err(SealError::MemfdCopy)?;
    syscalls::add_seals(memfd.as_fd(), SEALS).map_err(SealError::MemfdSeal)?;
    Ok(memfd)
}

/// execveat of `fd` with this process's argv and environment plus the re-exec mark.
fn reexec(fd: &OwnedFd, method: &'static str) -> io::Error {
    let to_c = |s: OsString| CString::new(s.into_vec()).unwrap_or_default();
    let argv: Vec<CString> = std::env::args_os().map(to_c).collect();
    let mut envp: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            to_c(kv)
        })
        .collect();
    let mut mark = OsString::from(REEXEC_MARK);
    mark.push("=");
    mark.push(method);
    envp.push(to_c(mark));
    syscalls::execveat_fd(fd.as_fd(), &argv, &envp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_memfd_counts_as_protected_and_cannot_be_written() {
        let exe = syscalls::open(Path::new("/proc/self/exe"), libc::O_RDONLY, 0).unwrap();
        let memfd = sealed_memfd(&exe).unwrap();
        assert_eq!(protection(&memfd).unwrap(), Some(Protection::SealedMemfd));
        let err = syscalls::write_all_fd(memfd.as_fd(), b"#!/bin/sh\n").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        let len = syscalls::fstat(exe.as_fd()).unwrap().st_size;
        assert_eq!(syscalls::fstat(memfd.as_fd()).unwrap().st_size, len);
    }

    #[test]
    fn the_test_binary_on_disk_is_not_protected() {
        let exe = syscalls::open(Path::new("/proc/self/exe"), libc::O_RDONLY, 0).unwrap();
        assert_eq!(protection(&exe).unwrap(), None);
    }
}
