//! `tmpcopyup`, runc's mount extension that podman sends for `--read-only` (/run, /tmp,
//! /var/tmp) and `--tmpfs`: a new tmpfs starts with a copy of what the image has at its mount
//! point, so the files an image ships there stay visible.
//!
//! Called in the init, before pivot_root, with the destination directory (inside the rootfs) and
//! the detached tmpfs (fsmount's descriptor, before move_mount). Everything is descriptor-relative
//! and nothing follows a symlink: the source is the image's, i.e. the container author's, tree.

use crate::syscalls;
use nix::dir::Dir;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fchmodat, fstatat, FchmodatFlags, Mode};
use std::ffi::OsStr;
use std::fs::{File, Permissions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Deeper trees are refused rather than recursed into without bound.
const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum CopyUpError {
    #[error("tmpcopyup: reading {path}: {err}")]
    Read { path: PathBuf, err: io::Error },
    #[error("tmpcopyup: creating {path}: {err}")]
    Create { path: PathBuf, err: io::Error },
    #[error("tmpcopyup: copying {path}: {err}")]
    Copy { path: PathBuf, err: io::Error },
    #[error("tmpcopyup: setting owner or mode of {path}: {err}")]
    Attrs { path: PathBuf, err: io::Error },
    #[error("tmpcopyup: {path} is more than {MAX_DEPTH} directories deep")]
    TooDeep { path: PathBuf },
}

/// Copies the contents of directory `src` into directory `dst`: directories, regular files,
/// symlinks, fifos and device nodes, with owner and mode; sockets are skipped (they are only
/// names of a listener that is not there).
pub fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<(), CopyUpError> {
    copy_dir(src, dst, Path::new("/"), 0)
}

fn copy_dir(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    at: &Path,
    depth: usize,
) -> Result<(), CopyUpError> {
    if depth > MAX_DEPTH {
        return Err(CopyUpError::TooDeep {
            path: at.to_path_buf(),
        });
    }
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |err: io::Error| CopyUpError::Read { path, err }
    };
    // The source may be an O_PATH descriptor: open the directory itself for listing.
    let listing = syscalls::openat(src, Path::new("."), libc::O_RDONLY | libc::O_DIRECTORY, 0)
        .map_err(read_err(at))?;
    let mut dir = Dir::from(listing).map_err(|e| read_err(at)(e.into()))?;
    let mut names = Vec::new();
    for entry in dir.iter() {
        let entry = entry.map_err(|e| read_err(at)(e.into()))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes()).to_os_string();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    for name in names {
        let path = at.join(&name);
        let name = Path::new(&name);
        let st = fstatat(Some(src.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| read_err(&path)(e.into()))?;
        let mode = st.st_mode & 0o7777;
        let create_err = |err| CopyUpError::Create {
            path: path.clone(),
            err,
        };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                syscalls::mkdirat(dst, name, 0o700).map_err(create_err)?;
                let from = open_nofollow(src, name, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(read_err(&path))?;
                let to = open_nofollow(dst, name, libc::O_RDONLY | libc::O_DIRECTORY)
                    .map_err(create_err)?;
                copy_dir(from.as_fd(), to.as_fd(), &path, depth + 1)?;
                set_attrs(to, st.st_uid, st.st_gid, Some(mode), &path)?;
            }
            libc::S_IFREG => {
                let from =
                    File::from(open_nofollow(src, name, libc::O_RDONLY).map_err(read_err(&path))?);
                let to = open_nofollow(dst, name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL)
                    .map_err(create_err)?;
                let mut to = File::from(to);
                io::copy(&mut &from, &mut to).map_err(|err| CopyUpError::Copy {
                    path: path.clone(),
                    err,
                })?;
                set_attrs(to.into(), st.st_uid, st.st_gid, Some(mode), &path)?;
            }
            libc::S_IFLNK => {
                let target = nix::fcntl::readlinkat(Some(src.as_raw_fd()), name)
                    .map_err(|e| read_err(&path)(e.into()))?;
                syscalls::symlinkat(Path::new(&target), dst, name).map_err(create_err)?;
                // The link itself (a symlink's mode means nothing on Linux).
                let link = open_nofollow(dst, name, libc::O_PATH).map_err(create_err)?;
                set_attrs(link, st.st_uid, st.st_gid, None, &path)?;
            }
            libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK => {
                syscalls::mknodat(dst, name, st.st_mode, st.st_rdev).map_err(create_err)?;
                let node = open_nofollow(dst, name, libc::O_PATH).map_err(create_err)?;
                let attrs_err = |err| CopyUpError::Attrs {
                    path: path.clone(),
                    err,
                };
                syscalls::fchown_fd(node.as_fd(), st.st_uid, st.st_gid).map_err(attrs_err)?;
                // mknod applied the umask; the name is our own fresh node (no O_PATH fchmod).
                fchmodat(
                    Some(dst.as_raw_fd()),
                    name,
                    Mode::from_bits_truncate(mode),
                    FchmodatFlags::FollowSymlink,
                )
                .map_err(|e| attrs_err(e.into()))?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn open_nofollow(dir: BorrowedFd<'_>, name: &Path, flags: i32) -> io::Result<OwnedFd> {
    syscalls::openat(dir, name, flags | libc::O_NOFOLLOW, 0o600)
}

/// Owner first, then mode: chown clears set-id bits, which the mode puts back.
fn set_attrs(
    fd: OwnedFd,
    uid: u32,
    gid: u32,
    mode: Option<u32>,
    path: &Path,
) -> Result<(), CopyUpError> {
    let err = |err| CopyUpError::Attrs {
        path: path.to_path_buf(),
        err,
    };
    syscalls::fchown_fd(fd.as_fd(), uid, gid).map_err(err)?;
    if let Some(m) = mode {
        File::from(fd)
            .set_permissions(Permissions::from_mode(m))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn copies_files_dirs_links_and_fifos_with_modes() {
        let base = std::env::temp_dir().join(format!("rampart-copyup-{}", std::process::id()));
        let (src, dst) = (base.join("src"), base.join("dst"));
        std::fs::create_dir_all(src.join("d/e")).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(src.join("d/f"), b"hello").unwrap();
        std::fs::set_permissions(src.join("d/e"), Permissions::from_mode(0o1703)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        nix::unistd::mkfifo(&src.join("fifo"), Mode::from_bits_truncate(0o640)).unwrap();
        std::os::unix::fs::chown(src.join("d/f"), Some(12), Some(34)).unwrap();
        // After chown, which clears set-id bits.
        std::fs::set_permissions(src.join("d/f"), Permissions::from_mode(0o4751)).unwrap();

        let s = syscalls::open(&src, libc::O_PATH | libc::O_DIRECTORY, 0).unwrap();
        let d = syscalls::open(&dst, libc::O_PATH | libc::O_DIRECTORY, 0).unwrap();
        copy_tree(s.as_fd(), d.as_fd()).unwrap();

        assert_eq!(std::fs::read(dst.join("d/f")).unwrap(), b"hello");
        let f = std::fs::metadata(dst.join("d/f")).unwrap();
        assert_eq!((f.mode() & 0o7777, f.uid(), f.gid()), (0o4751, 12, 34));
        assert_eq!(
            std::fs::metadata(dst.join("d/e")).unwrap().mode() & 0o7777,
            0o1703
        );
        assert_eq!(
            std::fs::read_link(dst.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        let fifo = std::fs::symlink_metadata(dst.join("fifo")).unwrap();
        assert_eq!(fifo.mode() & libc::S_IFMT, libc::S_IFIFO);
        let want = std::fs::symlink_metadata(src.join("fifo")).unwrap().mode();
        assert_eq!(fifo.mode(), want);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
