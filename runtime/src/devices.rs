//! /dev inside the container: the default device nodes (when the config gives /dev its own tmpfs),
//! the nodes listed in `linux.devices`, and the standard symlinks (/dev/fd, stdio, ptmx).
//!
//! Nodes are made with mknodat relative to a parent directory resolved inside the root. In a user
//! namespace mknod is not allowed, so the host's node is bind-mounted onto an empty file instead.

use crate::paths::{self, Kind, PathError};
use crate::syscalls;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device {path}: must be an absolute path under /dev, without \".\" or \"..\"")]
    BadPath { path: PathBuf },
    #[error(
        "device {path}: the host's {path} is not the {kind} device {major}:{minor} the config \
         names; refusing to bind it into the container"
    )]
    HostNodeMismatch {
        path: PathBuf,
        kind: &'static str,
        major: u64,
        minor: u64,
    },
    #[error("device {path}: type {typ:?} is not c, b, u or p")]
    BadType { path: PathBuf, typ: String },
    #[error("device {path}: {what} number {value} is outside 0..={max}")]
    BadNumber {
        path: PathBuf,
        what: &'static str,
        value: i64,
        max: i64,
    },
    #[error("device {path}: {err}")]
    Resolve { path: PathBuf, err: PathError },
    #[error("device {path}: mknod: {err}")]
    Mknod { path: PathBuf, err: io::Error },
    #[error("device {path}: chown: {err}")]
    Chown { path: PathBuf, err: io::Error },
    #[error("device {path}: bind-mounting the host node: {err}")]
    Bind { path: PathBuf, err: io::Error },
    #[error("device {path}: symlink: {err}")]
    Symlink { path: PathBuf, err: io::Error },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicePlan {
    pub path: PathBuf,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: u32,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

const MAX_MAJOR: i64 = (1 << 12) - 1;
const MAX_MINOR: i64 = (1 << 20) - 1;

/// The nodes every container gets when its /dev is a fresh tmpfs (the runtime spec's list).
pub fn defaults() -> Vec<DevicePlan> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .iter()
    .map(|(p, major, minor)| DevicePlan {
        path: PathBuf::from(p),
        kind: libc::S_IFCHR,
        major: *major,
        minor: *minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

pub fn plan(d: &oci_spec::runtime::LinuxDevice) -> Result<DevicePlan, DeviceError> {
    use oci_spec::runtime::LinuxDeviceType as T;
    let path = d.path().clone();
    if !under_dev(&path) {
        return Err(DeviceError::BadPath { path });
    }
    let kind = match d.typ() {
        T::C | T::U => libc::S_IFCHR,
        T::B => libc::S_IFBLK,
        T::P => libc::S_IFIFO,
        other => {
            return Err(DeviceError::BadType {
                path,
                typ: other.as_str().to_string(),
            })
        }
    };
    // The kernel's dev_t holds a 12-bit major and a 20-bit minor: anything else would be cut
    // down to some other device's number by makedev.
    let number = |what, value: i64, max: i64| {
        if (0..=max).contains(&value) || kind == libc::S_IFIFO {
            Ok(value.clamp(0, max) as u64)
        } else {
            Err(DeviceError::BadNumber {
                path: path.clone(),
                what,
                value,
                max,
            })
        }
    };
    let major = number("major", d.major(), MAX_MAJOR)?;
    let minor = number("minor", d.minor(), MAX_MINOR)?;
    Ok(DevicePlan {
        path,
        kind,
        major,
        minor,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// `/dev/<name>[/...]` with only plain components: `Path::starts_with` compares components, so
/// `/dev/../etc/x` would pass it, and in a user namespace the node is bound from the host's path.
fn under_dev(path: &Path) -> bool {
    use std::path::Component;
    let mut c = path.components();
    c.next() == Some(Component::RootDir)
        && c.next() == Some(Component::Normal("dev".as_ref()))
        && c.clone().next().is_some()
        && c.all(|c| matches!(c, Component::Normal(_)))
        // components() drops inner "." and repeated slashes: refuse them on the raw bytes too.
        && !path.as_os_str().as_encoded_bytes().windows(2).any(|w| w == b"/.")
}

/// Creates one node inside the root. `bind` is true in a user namespace, where mknod fails.
pub fn create(root: BorrowedFd<'_>, d: &DevicePlan, bind: bool) -> Result<(), DeviceError> {
    let (dir, name) = paths::parent_in_root(root, &d.path).map_err(|err| DeviceError::Resolve {
        path: d.path.clone(),
        err,
    })?;
    if bind {
        let dest = paths::create_in_root(root, &d.path, Kind::File).map_err(|err| {
            DeviceError::Resolve {
                path: d.path.clone(),
                err,
            }
        })?;
        let host = syscalls::open(&d.path, libc::O_PATH | libc::O_NOFOLLOW, 0).map_err(|err| {
            DeviceError::Bind {
                path: d.path.clone(),
                err,
            }
        })?;
        // The host's node at that path is what gets bound, writable: it must be the device the
        // config names, never some other file (a regular file would not even meet the device
        // cgroup).
        let st = syscalls::fstat(host.as_fd()).map_err(|err| DeviceError::Bind {
            path: d.path.clone(),
            err,
        })?;
        let want = libc::makedev(d.major as u32, d.minor as u32);
        if st.st_mode & libc::S_IFMT != d.kind || (d.kind != libc::S_IFIFO && st.st_rdev != want) {
            return Err(DeviceError::HostNodeMismatch {
                path: d.path.clone(),
                kind: match d.kind {
                    libc::S_IFBLK => "block",
                    libc::S_IFIFO => "fifo",
                    _ => "character",
                },
                major: d.major,
                minor: d.minor,
            });
        }
        let tree = syscalls::open_tree(host.as_fd(), Path::new(""), syscalls::OPEN_TREE_CLONE)
            .map_err(|err| DeviceError::Bind {
                path: d.path.clone(),
                err,
            })?;
        return syscalls::move_mount_fd(tree.as_fd(), dest.as_fd()).map_err(|err| {
            DeviceError::Bind {
                path: d.path.clone(),
                err,
            }
        });
    }
    let dev = libc::makedev(d.major as u32, d.minor as u32);
    match syscalls::mknodat(dir.as_fd(), &name, d.kind | d.mode, dev) {
        Ok(()) => {}
        // The image may ship the node already: replace nothing, but check below that it is ours.
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(err) => {
            return Err(DeviceError::Mknod {
                path: d.path.clone(),
                err,
            })
        }
    }
    let node = syscalls::openat(dir.as_fd(), &name, libc::O_PATH | libc::O_NOFOLLOW, 0).map_err(
        |err| DeviceError::Mknod {
            path: d.path.clone(),
            err,
        },
    )?;
    let st = syscalls::fstat(node.as_fd()).map_err(|err| DeviceError::Mknod {
        path: d.path.clone(),
        err,
    })?;
    if st.st_mode & libc::S_IFMT != d.kind || (d.kind != libc::S_IFIFO && st.st_rdev != dev) {
        return Err(DeviceError::Mknod {
            path: d.path.clone(),
            err: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a different file already exists at this path",
            ),
        });
    }
    // mknod's mode is filtered by the umask; set the exact mode through the O_PATH fd's magic link
    // is not possible, so chmod relative to the directory without following links.
    let cname = syscalls::cstr(&name).map_err(|err| DeviceError::Mknod {
        path: d.path.clone(),
        err,
    })?;
    // AT_SYMLINK_NOFOLLOW: the node was verified above, but a process sharing this rootfs could
    // swap it for a symlink since; then chmod fails (EOPNOTSUPP) instead of following the link
    // (pre-pivot, an absolute link would reach the host).
    // SAFETY: valid C string and directory fd.
    let r = unsafe {
        libc::fchmodat(
            std::os::fd::AsRawFd::as_raw_fd(&dir),
            cname.as_ptr(),
            d.mode as libc::mode_t,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(DeviceError::Mknod {
            path: d.path.clone(),
            err: io::Error::last_os_error(),
        });
    }
    syscalls::fchown_fd(node.as_fd(), d.uid, d.gid).map_err(|err| DeviceError::Chown {
        path: d.path.clone(),
        err,
    })
}

/// The standard /dev symlinks (runtime spec "Default Devices" and what runc adds).
pub fn create_symlinks(root: BorrowedFd<'_>) -> Result<(), DeviceError> {
    let mut links = vec![
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/dev/core", "/proc/kcore"));
    }
    for (link, target) in links {
        let path = PathBuf::from(link);
        let (dir, name) =
            paths::parent_in_root(root, &path).map_err(|err| DeviceError::Resolve {
                path: path.clone(),
                err,
            })?;
        match syscalls::symlinkat(Path::new(target), dir.as_fd(), &name) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(err) => return Err(DeviceError::Symlink { path, err }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_paths_must_stay_under_dev() {
        for ok in ["/dev/null", "/dev/net/tun", "/dev/fuse"] {
            assert!(under_dev(Path::new(ok)), "{ok}");
        }
        for bad in [
            "/dev/../tmp/x",
            "/dev/net/../../etc/passwd",
            "/dev/./null",
            "/dev",
            "/dev/",
            "dev/null",
            "/devices/x",
            "/tmp/dev/null",
        ] {
            assert!(!under_dev(Path::new(bad)), "{bad}");
        }
    }

    fn device(typ: &str, major: i64, minor: i64) -> oci_spec::runtime::LinuxDevice {
        serde_json::from_value(serde_json::json!({
            "path": "/dev/x", "type": typ, "major": major, "minor": minor,
        }))
        .unwrap()
    }

    #[test]
    fn numbers_outside_dev_t_are_refused() {
        let p = plan(&device("c", 4095, (1 << 20) - 1)).unwrap();
        assert_eq!((p.major, p.minor), (4095, (1 << 20) - 1));
        for (major, minor) in [(4096, 0), (1 << 32 | 1, 3), (-1, 3), (1, 1 << 20), (1, -1)] {
            assert!(plan(&device("c", major, minor)).is_err(), "{major}:{minor}");
            assert!(plan(&device("b", major, minor)).is_err(), "{major}:{minor}");
        }
        // A fifo has no device number: whatever is written there means nothing.
        assert!(plan(&device("p", -1, 1 << 40)).is_ok());
    }
}
