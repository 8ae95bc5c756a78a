//! Namespaces: which ones the container creates and which it joins by path.
//!
//! New namespaces are made by the clone(2) that creates the init (a user namespace first, so it
//! owns the others), except two that must come later: the cgroup namespace, unshared by the init
//! after the runtime moved it into its cgroup (so the namespace's root is the container's cgroup),
//! and the time namespace, which only takes effect at execve. Joined namespaces are entered by the
//! init with setns: the user namespace first, so it has the rights to join the rest.

use crate::syscalls;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("namespace {kind} listed twice")]
    Duplicate { kind: &'static str },
    #[error("namespace {kind}: path {path} must be absolute")]
    RelativePath { kind: &'static str, path: PathBuf },
    #[error("a mount namespace is required: the runtime never mounts in the host's namespace")]
    NoMountNamespace,
    #[error("mount namespace {path} is the runtime's own: a mount namespace of the container's own is required, the runtime never mounts in the host's namespace")]
    OwnMountNamespace { path: PathBuf },
    #[error("joining {kind} namespace {path}: open: {err}")]
    Open {
        kind: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error("joining {kind} namespace {path}: not a namespace file (filesystem magic {magic:#x}, not nsfs)")]
    NotNamespace {
        kind: &'static str,
        path: PathBuf,
        magic: i64,
    },
    #[error("joining {kind} namespace {path}: setns: {err}")]
    Setns {
        kind: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error("unshare({kind}): {err}")]
    Unshare { kind: &'static str, err: io::Error },
}

/// NSFS_MAGIC from linux/magic.h: the filesystem of /proc/<pid>/ns/* files and their bind mounts.
pub const NSFS_MAGIC: i64 = 0x6e73_6673;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    User,
    Pid,
    Mount,
    Uts,
    Ipc,
    Net,
    Cgroup,
    Time,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Pid => "pid",
            Kind::Mount => "mnt",
            Kind::Uts => "uts",
            Kind::Ipc => "ipc",
            Kind::Net => "net",
            Kind::Cgroup => "cgroup",
            Kind::Time => "time",
        }
    }

    pub fn flag(self) -> i32 {
        match self {
            Kind::User => libc::CLONE_NEWUSER,
            Kind::Pid => libc::CLONE_NEWPID,
            Kind::Mount => libc::CLONE_NEWNS,
            Kind::Uts => libc::CLONE_NEWUTS,
            Kind::Ipc => libc::CLONE_NEWIPC,
            Kind::Net => libc::CLONE_NEWNET,
            Kind::Cgroup => libc::CLONE_NEWCGROUP,
            Kind::Time => libc::CLONE_NEWTIME,
        }
    }

    /// The setns order: user first (it grants the rights for the rest), mount last (after it the
    /// other paths would be looked up in the container's filesystem).
    pub const JOIN_ORDER: [Kind; 8] = [
        Kind::User,
        Kind::Pid,
        Kind::Uts,
        Kind::Ipc,
        Kind::Net,
        Kind::Cgroup,
        Kind::Time,
        Kind::Mount,
    ];

    /// The name used in /proc/<pid>/ns/.
    pub fn proc_name(self) -> &'static str {
        match self {
            Kind::Pid => "pid",
            Kind::Time => "time",
            k => k.name(),
        }
    }

    fn from_oci(t: oci_spec::runtime::LinuxNamespaceType) -> Kind {
        use oci_spec::runtime::LinuxNamespaceType as T;
        match t {
            T::User => Kind::User,
            T::Pid => Kind::Pid,
            T::Mount => Kind::Mount,
            T::Uts => Kind::Uts,
            T::Ipc => Kind::Ipc,
            T::Network => Kind::Net,
            T::Cgroup => Kind::Cgroup,
            T::Time => Kind::Time,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct NamespacePlan {
    /// Namespaces to create.
    pub new: Vec<Kind>,
    /// Namespaces to join, with their paths.
    pub join: Vec<(Kind, PathBuf)>,
}

impl NamespacePlan {
    pub fn has(&self, k: Kind) -> bool {
        self.new.contains(&k) || self.join.iter().any(|(j, _)| *j == k)
    }

    pub fn creates(&self, k: Kind) -> bool {
        self.new.contains(&k)
    }

    /// A namespace of kind `k` that is not the runtime's own: a new one, or one joined by a path
    /// that names another namespace than the runtime's (a path naming the host's own namespace
    /// gives the container nothing private: sysctls written there change the host).
    pub fn private(&self, k: Kind) -> bool {
        self.creates(k)
            || self
                .join
                .iter()
                .any(|(j, p)| *j == k && !is_runtimes_own(k, p))
    }

    /// Flags for the clone(2) that makes the init. Cgroup and time come later (see module doc);
    /// when a user namespace is joined, everything is unshared after that setns instead.
    pub fn clone_flags(&self) -> i32 {
        if self.join.iter().any(|(k, _)| *k == Kind::User) {
            return if self.creates(Kind::Pid) {
                libc::CLONE_NEWPID
            } else {
                0
            };
        }
        self.new
            .iter()
            .filter(|k| !matches!(k, Kind::Cgroup | Kind::Time))
            .fold(0, |f, k| f | k.flag())
    }

    /// Flags the init unshares itself, after joining and after being placed in its cgroup.
    pub fn unshare_flags(&self) -> i32 {
        let cloned = self.clone_flags();
        self.new
            .iter()
            .filter(|k| !matches!(k, Kind::Time | Kind::Pid))
            .map(|k| k.flag())
            .filter(|f| cloned & f == 0)
            .fold(0, |a, f| a | f)
    }
}

pub fn plan(list: &[oci_spec::runtime::LinuxNamespace]) -> Result<NamespacePlan, NamespaceError> {
    let mut p = NamespacePlan::default();
    for ns in list {
        let kind = Kind::from_oci(ns.typ());
        if p.has(kind) {
            return Err(NamespaceError::Duplicate { kind: kind.name() });
        }
        match ns.path() {
            Some(path) if !path.as_os_str().is_empty() => {
                if !path.is_absolute() {
                    return Err(NamespaceError::RelativePath {
                        kind: kind.name(),
                        path: path.clone(),
                    });
                }
                p.join.push((kind, path.clone()));
            }
            _ => p.new.push(kind),
        }
    }
    if !p.has(Kind::Mount) {
        return Err(NamespaceError::NoMountNamespace);
    }
    // Joining the runtime's own mount namespace is having none: the rootfs would be set up, and
    // pivot_root done, in the caller's (the host's) mount table.
    if let Some((_, path)) = p
        .join
        .iter()
        .find(|(k, path)| *k == Kind::Mount && is_runtimes_own(Kind::Mount, path))
    {
        return Err(NamespaceError::OwnMountNamespace { path: path.clone() });
    }
    Ok(p)
}

/// Opens every namespace to join. Done by the runtime before clone, so a bad path is reported
/// before any process exists.
pub fn open_joins(p: &NamespacePlan) -> Result<Vec<(Kind, PathBuf, OwnedFd)>, NamespaceError> {
    let mut out = Vec::new();
    for k in Kind::JOIN_ORDER {
        for (kind, path) in p.join.iter().filter(|(j, _)| *j == k) {
            let fd = open_namespace(*kind, path)?;
            // Checked again on the descriptor: the path may have been changed since `plan`.
            if *kind == Kind::Mount && is_current(fd.as_fd(), Kind::Mount) {
                return Err(NamespaceError::OwnMountNamespace { path: path.clone() });
            }
            out.push((*kind, path.clone(), fd));
        }
    }
    Ok(out)
}

/// Opens a namespace file named by the config. It is looked at through an O_PATH descriptor
/// first: opening whatever the path names for reading would block on a FIFO and could have a
/// driver's side effects on a device node. Only a file of nsfs is then opened for setns (which
/// refuses O_PATH descriptors), through that same descriptor.
fn open_namespace(kind: Kind, path: &Path) -> Result<OwnedFd, NamespaceError> {
    let open_err = |err| NamespaceError::Open {
        kind: kind.name(),
        path: path.to_path_buf(),
        err,
    };
    let handle = syscalls::open(path, libc::O_PATH, 0).map_err(open_err)?;
    let magic = syscalls::fstatfs_magic(handle.as_fd()).map_err(open_err)?;
    if magic != NSFS_MAGIC {
        return Err(NamespaceError::NotNamespace {
            kind: kind.name(),
            path: path.to_path_buf(),
            magic,
        });
    }
    let reopen = format!("/proc/self/fd/{}", handle.as_raw_fd());
    syscalls::open(Path::new(&reopen), libc::O_RDONLY, 0).map_err(open_err)
}

/// Whether the namespace file at `path` is the runtime's own namespace of that kind (the host's,
/// when the runtime runs on the host): joining it by path is not a namespace of the container's
/// own. An unreadable path counts as not the runtime's; opening it fails later with its error.
pub fn is_runtimes_own(kind: Kind, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let own = std::fs::metadata(format!("/proc/self/ns/{}", kind.proc_name()));
    match (std::fs::metadata(path), own) {
        (Ok(theirs), Ok(own)) => (theirs.dev(), theirs.ino()) == (own.dev(), own.ino()),
        _ => false,
    }
}

/// Whether the open namespace `fd` is the one this process is in already (compared with
/// /proc/self/ns/<kind>, so only before the container's own /proc is mounted).
pub fn is_current(fd: std::os::fd::BorrowedFd<'_>, kind: Kind) -> bool {
    use std::os::unix::fs::MetadataExt;
    let own = std::fs::metadata(format!("/proc/self/ns/{}", kind.proc_name()));
    match (syscalls::fstat(fd), own) {
        (Ok(theirs), Ok(own)) => (theirs.st_dev, theirs.st_ino) == (own.dev(), own.ino()),
        _ => false,
    }
}

/// setns into each opened namespace, in JOIN_ORDER. The pid namespace is skipped here: it is
/// joined by the runtime before clone (setns of a pid namespace only affects children).
pub fn join(fds: &[(Kind, PathBuf, OwnedFd)], skip_pid: bool) -> Result<(), NamespaceError> {
    for (kind, path, fd) in fds {
        if *kind == Kind::Pid && skip_pid {
            continue;
        }
        syscalls::setns(fd.as_fd(), kind.flag()).map_err(|err| NamespaceError::Setns {
            kind: kind.name(),
            path: path.clone(),
            err,
        })?;
    }
    Ok(())
}

pub fn unshare(flags: i32) -> Result<(), NamespaceError> {
    if flags == 0 {
        return Ok(());
    }
    syscalls::unshare(flags).map_err(|err| NamespaceError::Unshare {
        kind: describe(flags),
        err,
    })
}

fn describe(flags: i32) -> &'static str {
    if flags & libc::CLONE_NEWCGROUP != 0 && flags.count_ones() == 1 {
        "cgroup"
    } else if flags == libc::CLONE_NEWTIME {
        "time"
    } else {
        "namespaces"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(j: &str) -> Vec<oci_spec::runtime::LinuxNamespace> {
        serde_json::from_str(j).unwrap()
    }

    #[test]
    fn clone_and_unshare_split() {
        let p = plan(&parse(
            r#"[{"type":"pid"},{"type":"mount"},{"type":"cgroup"},{"type":"network","path":"/proc/1/ns/net"}]"#,
        ))
        .unwrap();
        assert_eq!(p.clone_flags(), libc::CLONE_NEWPID | libc::CLONE_NEWNS);
        assert_eq!(p.unshare_flags(), libc::CLONE_NEWCGROUP);
        assert_eq!(p.join.len(), 1);
    }

    #[test]
    fn mount_namespace_required_and_duplicates_refused() {
        assert!(matches!(
            plan(&parse(r#"[{"type":"pid"}]"#)),
            Err(NamespaceError::NoMountNamespace)
        ));
        assert!(matches!(
            plan(&parse(r#"[{"type":"mount"},{"type":"mount"}]"#)),
            Err(NamespaceError::Duplicate { .. })
        ));
        // The runtime's own mount namespace, under any name, is no mount namespace at all.
        for path in ["/proc/self/ns/mnt", "/proc/thread-self/ns/mnt"] {
            let list = format!(r#"[{{"type":"mount","path":"{path}"}}]"#);
            assert!(
                matches!(
                    plan(&parse(&list)),
                    Err(NamespaceError::OwnMountNamespace { .. })
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn unknown_namespace_type_is_a_parse_error() {
        assert!(
            serde_json::from_str::<Vec<oci_spec::runtime::LinuxNamespace>>(r#"[{"type":"bogus"}]"#)
                .is_err()
        );
    }
}
