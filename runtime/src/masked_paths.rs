//! maskedPaths and readonlyPaths: hiding and write-protecting kernel interfaces inside the
//! container. Applied after pivot_root, on paths resolved inside the new root.
//!
//! Masking a file binds the container's /dev/null over it. That /dev/null is opened once with
//! O_NOFOLLOW and must be the character device 1:3, so an image that makes /dev/null a symlink
//! (CVE-2025-31133) cannot turn masking into a writable bind of something else: we fail closed.
//! Masking a directory mounts an empty read-only tmpfs over it.

use crate::mounts::{self, MountError};
use crate::paths::{self, PathError};
use crate::syscalls::{self, MountAttr};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("{path}: must be an absolute path")]
    Relative { path: PathBuf },
    #[error("masking {path}: {err}")]
    Resolve { path: PathBuf, err: PathError },
    #[error("masking: /dev/null in the container is not the null device (char 1:3): {reason}")]
    BadNull { reason: String },
    #[error("masking {path}: {err}")]
    Mount { path: PathBuf, err: io::Error },
    #[error("masking {path}: {err}")]
    Tmpfs { path: PathBuf, err: MountError },
    #[error("making {path} read-only: {err}")]
    Readonly { path: PathBuf, err: io::Error },
}

pub fn check_absolute(paths: &[PathBuf]) -> Result<(), MaskError> {
    match paths.iter().find(|p| !p.is_absolute()) {
        Some(p) => Err(MaskError::Relative { path: p.clone() }),
        None => Ok(()),
    }
}

/// Opens `/dev/null` inside the root and proves it is the real null device.
pub fn open_null(root: BorrowedFd<'_>) -> Result<OwnedFd, MaskError> {
    let fd = syscalls::openat2(
        root,
        Path::new("dev/null"),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        syscalls::RESOLVE_IN_ROOT | syscalls::RESOLVE_NO_SYMLINKS | syscalls::RESOLVE_NO_MAGICLINKS,
    )
    .map_err(|e| MaskError::BadNull {
        reason: e.to_string(),
    })?;
    let st = syscalls::fstat(fd.as_fd()).map_err(|e| MaskError::BadNull {
        reason: e.to_string(),
    })?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(MaskError::BadNull {
            reason: format!(
                "mode {:o}, rdev {}:{}",
                st.st_mode,
                libc::major(st.st_rdev),
                libc::minor(st.st_rdev)
            ),
        });
    }
    Ok(fd)
}

/// Opens `path` inside the root; `None` when it does not exist (the runtime spec lets masked and
/// read-only paths be absent).
fn open_existing(root: BorrowedFd<'_>, path: &Path) -> Result<Option<OwnedFd>, MaskError> {
    match paths::open_in_root(root, path) {
        Ok(fd) => Ok(Some(fd)),
        Err(PathError::Resolve { source, .. }) if source.raw_os_error() == Some(libc::ENOENT) => {
            Ok(None)
        }
        Err(err) => Err(MaskError::Resolve {
            path: path.to_path_buf(),
            err,
        }),
    }
}

/// Hides each path: /dev/null over files, an empty read-only tmpfs over directories.
/// Paths that do not exist are skipped, as the runtime spec allows.
pub fn mask(root: BorrowedFd<'_>, list: &[PathBuf]) -> Result<(), MaskError> {
    if list.is_empty() {
        return Ok(());
    }
    let null = open_null(root)?;
    for path in list {
        let Some(target) = open_existing(root, path)? else {
            continue;
        };
        let is_dir = paths::is_dir(target.as_fd()).map_err(|err| MaskError::Mount {
            path: path.clone(),
            err,
        })?;
        let tree = if is_dir {
            mounts::new_fs(
                path,
                "tmpfs",
                Some("tmpfs"),
                &[],
                syscalls::MOUNT_ATTR_RDONLY,
            )
            .map_err(|err| MaskError::Tmpfs {
                path: path.clone(),
                err,
            })?
        } else {
            syscalls::open_tree(null.as_fd(), Path::new(""), syscalls::OPEN_TREE_CLONE).map_err(
                |err| MaskError::Mount {
                    path: path.clone(),
                    err,
                },
            )?
        };
        syscalls::move_mount_fd(tree.as_fd(), target.as_fd()).map_err(|err| MaskError::Mount {
            path: path.clone(),
            err,
        })?;
    }
    Ok(())
}

/// Re-binds each path onto itself read-only (with nosuid, nodev, noexec), recursively.
pub fn make_readonly(root: BorrowedFd<'_>, list: &[PathBuf]) -> Result<(), MaskError> {
    for path in list {
        let Some(target) = open_existing(root, path)? else {
            continue;
        };
        let ro = |err| MaskError::Readonly {
            path: path.clone(),
            err,
        };
        let tree = syscalls::open_tree(
            target.as_fd(),
            Path::new(""),
            syscalls::OPEN_TREE_CLONE | syscalls::AT_RECURSIVE,
        )
        .map_err(ro)?;
        let attr = MountAttr {
            attr_set: syscalls::MOUNT_ATTR_RDONLY
                | syscalls::MOUNT_ATTR_NOSUID
                | syscalls::MOUNT_ATTR_NODEV
                | syscalls::MOUNT_ATTR_NOEXEC,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        syscalls::mount_setattr(tree.as_fd(), true, &attr).map_err(ro)?;
        syscalls::move_mount_fd(tree.as_fd(), target.as_fd()).map_err(ro)?;
    }
    Ok(())
}
