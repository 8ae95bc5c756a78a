//! In-root path resolution. Every path the runtime touches inside the container's rootfs is
//! resolved once, by openat2(RESOLVE_IN_ROOT), to an O_PATH descriptor; mounts and checks then use
//! that descriptor and never the string again, so a symlink swapped in by the image or by a
//! racing container process cannot redirect the runtime outside the root (CVE-2021-30465).

use crate::syscalls::{self, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("resolving {path} inside the rootfs: {source}")]
    Resolve { path: PathBuf, source: io::Error },
    #[error("creating {path} inside the rootfs: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("{path} inside the rootfs is not a directory")]
    NotDir { path: PathBuf },
    #[error("{path} inside the rootfs is a symlink or crosses one, refused for this mount")]
    Symlink { path: PathBuf },
}

/// What a created path should be when it does not exist yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// Strips the leading "/" and any "." so the path is relative to the root descriptor.
pub fn relative(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect()
}

/// Opens `path` inside `root` as O_PATH, following symlinks only within the root.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd, PathError> {
    resolve(root, path, 0)
}

/// Like `open_in_root` but any symlink along the path is an error (for proc and sysfs mounts,
/// CVE-2019-19921 / CVE-2023-27561).
pub fn open_in_root_nosymlinks(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd, PathError> {
    resolve(root, path, RESOLVE_NO_SYMLINKS).map_err(|e| match e {
        PathError::Resolve { path, source } if source.raw_os_error() == Some(libc::ELOOP) => {
            PathError::Symlink { path }
        }
        other => other,
    })
}

fn resolve(root: BorrowedFd<'_>, path: &Path, extra: u64) -> Result<OwnedFd, PathError> {
    let rel = relative(path);
    let rel = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    syscalls::openat2(
        root,
        &rel,
        libc::O_PATH,
        0,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra,
    )
    .map_err(|source| PathError::Resolve {
        path: path.to_path_buf(),
        source,
    })
}

/// Resolves `path` inside `root`, creating missing directories (and the last component as
/// `kind`) along the way, each creation relative to its already-resolved parent descriptor.
pub fn create_in_root(root: BorrowedFd<'_>, path: &Path, kind: Kind) -> Result<OwnedFd, PathError> {
    match open_in_root(root, path) {
        Ok(fd) => return Ok(fd),
        Err(PathError::Resolve { source, .. }) if source.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let rel = relative(path);
    let comps: Vec<_> = rel.components().collect();
    let mut parent: Option<OwnedFd> = None;
    let mut prefix = PathBuf::new();
    for (i, comp) in comps.iter().enumerate() {
        prefix.push(comp);
        let last = i + 1 == comps.len();
        match open_in_root(root, &prefix) {
            Ok(fd) => {
                parent = Some(fd);
                continue;
            }
            Err(PathError::Resolve { source, .. })
                if source.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let dir = match &parent {
            Some(p) => p.as_fd(),
            None => root,
        };
        let name = Path::new(comp.as_os_str());
        let made = if last && kind == Kind::File {
            syscalls::openat(
                dir,
                name,
                libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_WRONLY,
                0o644,
            )
            .map(drop)
        } else {
            syscalls::mkdirat(dir, name, 0o755)
        };
        match made {
            Ok(()) => {}
            // Someone else made it in between: resolve what is there now, still inside the root.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(source) => {
                return Err(PathError::Create {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        parent = Some(open_in_root(root, &prefix)?);
    }
    match parent {
        Some(fd) => Ok(fd),
        None => open_in_root(root, path),
    }
}

/// Opens the parent directory of `path` inside the root (creating it) and returns it with the
/// final name, for operations that need a (dirfd, name) pair such as mknodat and symlinkat.
pub fn parent_in_root(root: BorrowedFd<'_>, path: &Path) -> Result<(OwnedFd, PathBuf), PathError> {
    let rel = relative(path);
    let name = rel
        .file_name()
        .map(PathBuf::from)
        .ok_or_else(|| PathError::NotDir {
            path: path.to_path_buf(),
        })?;
    let parent = rel.parent().unwrap_or(Path::new(""));
    let fd = create_in_root(root, parent, Kind::Dir)?;
    let st = syscalls::fstat(fd.as_fd()).map_err(|source| PathError::Resolve {
        path: parent.to_path_buf(),
        source,
    })?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(PathError::NotDir {
            path: parent.to_path_buf(),
        });
    }
    Ok((fd, name))
}

pub fn is_dir(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(syscalls::fstat(fd)?.st_mode & libc::S_IFMT == libc::S_IFDIR)
}
