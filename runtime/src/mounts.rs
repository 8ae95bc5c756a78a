//! The container's mounts: parsing `mounts[]` options into a typed plan (at validation time) and
//! mounting each entry inside the rootfs (in the init, before pivot_root).
//!
//! Every mount is made with the fd-based mount API: the destination is resolved inside the root
//! to an O_PATH descriptor (see `paths`), the source becomes a detached mount (open_tree for
//! binds, fsopen/fsmount for filesystems), and move_mount attaches it to the descriptor. No
//! destination string is resolved twice.

use crate::paths::{self, Kind, PathError};
use crate::syscalls::{self, MountAttr};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("mount {destination}: destination must be an absolute path")]
    RelativeDestination { destination: PathBuf },
    #[error("mount {destination}: mount option {option:?} is not supported")]
    UnsupportedOption {
        destination: PathBuf,
        option: String,
    },
    #[error("mount {destination}: a {fstype} mount needs a type")]
    MissingType {
        destination: PathBuf,
        fstype: String,
    },
    #[error("mount {destination}: bind source {source_path}: {err}")]
    BindSource {
        destination: PathBuf,
        source_path: PathBuf,
        err: io::Error,
    },
    #[error("mount {destination}: {err}")]
    Destination {
        destination: PathBuf,
        err: PathError,
    },
    #[error("mount {destination}: {fstype} must be mounted on a directory")]
    NotDirectory {
        destination: PathBuf,
        fstype: String,
    },
    #[error("mount {destination}: fsopen({fstype}): {err}")]
    Fsopen {
        destination: PathBuf,
        fstype: String,
        err: io::Error,
    },
    #[error("mount {destination}: fsconfig({fstype}, {option}): {err}")]
    Fsconfig {
        destination: PathBuf,
        fstype: String,
        option: String,
        err: io::Error,
    },
    #[error("mount {destination}: fsmount({fstype}): {err}")]
    Fsmount {
        destination: PathBuf,
        fstype: String,
        err: io::Error,
    },
    #[error("mount {destination}: open_tree({source_path}): {err}")]
    OpenTree {
        destination: PathBuf,
        source_path: PathBuf,
        err: io::Error,
    },
    #[error("mount {destination}: mount_setattr: {err}")]
    SetAttr {
        destination: PathBuf,
        err: io::Error,
    },
    #[error("mount {destination}: move_mount: {err}")]
    MoveMount {
        destination: PathBuf,
        err: io::Error,
    },
    #[error("mount {destination}: {err}")]
    CopyUp {
        destination: PathBuf,
        err: crate::copyup::CopyUpError,
    },
}

/// Propagation requested for a mount or for the rootfs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Propagation {
    /// MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE.
    pub kind: u64,
    pub recursive: bool,
}

/// One entry of `mounts[]`, validated.
#[derive(Clone, Debug)]
pub struct MountPlan {
    pub destination: PathBuf,
    pub source: Option<PathBuf>,
    pub fstype: String,
    pub bind: Option<BindKind>,
    /// MOUNT_ATTR_* to set.
    pub attr_set: u64,
    /// MOUNT_ATTR_* to clear (e.g. the atime mask when an atime mode is given).
    pub attr_clr: u64,
    /// Filesystem-specific options: ("size", Some("64k")), ("newinstance", None), ...
    pub data: Vec<(String, Option<String>)>,
    pub propagation: Option<Propagation>,
    /// runc's `tmpcopyup` (tmpfs only): the new tmpfs starts with a copy of what is below it.
    pub tmpcopyup: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindKind {
    Bind,
    Rbind,
}

impl MountPlan {
    pub fn is_fs(&self, t: &str) -> bool {
        self.bind.is_none() && self.fstype == t
    }
}

/// Parses one OCI mount. `bundle` anchors relative bind sources, as the runtime spec says.
pub fn plan(m: &oci_spec::runtime::Mount, bundle: &Path) -> Result<MountPlan, MountError> {
    let destination = m.destination().clone();
    if !destination.is_absolute() {
        return Err(MountError::RelativeDestination { destination });
    }
    let mut p = MountPlan {
        destination: destination.clone(),
        source: m.source().clone(),
        fstype: m.typ().clone().unwrap_or_default(),
        bind: None,
        attr_set: 0,
        attr_clr: 0,
        data: Vec::new(),
        propagation: None,
        tmpcopyup: false,
    };
    if p.fstype == "bind" {
        p.bind = Some(BindKind::Bind);
    }
    for opt in m.options().iter().flatten() {
        let mut set = |a: u64| p.attr_set |= a;
        match opt.as_str() {
            "ro" => set(syscalls::MOUNT_ATTR_RDONLY),
            "nosuid" => set(syscalls::MOUNT_ATTR_NOSUID),
            "nodev" => set(syscalls::MOUNT_ATTR_NODEV),
            "noexec" => set(syscalls::MOUNT_ATTR_NOEXEC),
            "nosymfollow" => set(syscalls::MOUNT_ATTR_NOSYMFOLLOW),
            "nodiratime" => set(syscalls::MOUNT_ATTR_NODIRATIME),
            "rw" => p.attr_clr |= syscalls::MOUNT_ATTR_RDONLY,
            "suid" => p.attr_clr |= syscalls::MOUNT_ATTR_NOSUID,
            "dev" => p.attr_clr |= syscalls::MOUNT_ATTR_NODEV,
            "exec" => p.attr_clr |= syscalls::MOUNT_ATTR_NOEXEC,
            "diratime" => p.attr_clr |= syscalls::MOUNT_ATTR_NODIRATIME,
            "symfollow" => p.attr_clr |= syscalls::MOUNT_ATTR_NOSYMFOLLOW,
            "relatime" | "norelatime" | "atime" => {
                p.attr_clr |= syscalls::MOUNT_ATTR_ATIME;
                p.attr_set =
                    (p.attr_set & !syscalls::MOUNT_ATTR_ATIME) | syscalls::MOUNT_ATTR_RELATIME;
            }
            "noatime" => {
                p.attr_clr |= syscalls::MOUNT_ATTR_ATIME;
                p.attr_set =
                    (p.attr_set & !syscalls::MOUNT_ATTR_ATIME) | syscalls::MOUNT_ATTR_NOATIME;
            }
            "strictatime" => {
                p.attr_clr |= syscalls::MOUNT_ATTR_ATIME;
                p.attr_set =
                    (p.attr_set & !syscalls::MOUNT_ATTR_ATIME) | syscalls::MOUNT_ATTR_STRICTATIME;
            }
            "nostrictatime" => {}
            "bind" => p.bind = Some(p.bind.unwrap_or(BindKind::Bind)),
            "rbind" => p.bind = Some(BindKind::Rbind),
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
            | "runbindable" => {
                p.propagation = Some(parse_propagation(opt).unwrap_or(Propagation {
                    kind: libc::MS_PRIVATE,
                    recursive: false,
                }))
            }
            // Superblock flags that the mount attribute API does not carry: hand them to fsconfig.
            "sync" | "dirsync" | "lazytime" | "mand" => p.data.push((opt.clone(), None)),
            "async" | "nomand" | "nolazytime" | "defaults" => {}
            // podman sends it for --read-only and --tmpfs; meaningful for a tmpfs only.
            "tmpcopyup" if p.fstype == "tmpfs" => p.tmpcopyup = true,
            "remount" | "idmap" | "ridmap" | "rro" | "rrw" | "rnosuid" | "rnodev" | "rnoexec"
            | "tmpcopyup" => {
                return Err(MountError::UnsupportedOption {
                    destination,
                    option: opt.clone(),
                })
            }
            other => match other.split_once('=') {
                Some((k, v)) => p.data.push((k.to_string(), Some(v.to_string()))),
                None => p.data.push((other.to_string(), None)),
            },
        }
    }
    if p.bind.is_some() {
        let src = p.source.clone().unwrap_or_default();
        let src = if src.is_absolute() {
            src
        } else {
            bundle.join(src)
        };
        p.source = Some(src);
    } else if p.fstype.is_empty() {
        return Err(MountError::MissingType {
            destination,
            fstype: "non-bind".into(),
        });
    }
    Ok(p)
}

/// "rprivate" → MS_PRIVATE recursive, and so on. None for anything else.
pub fn parse_propagation(s: &str) -> Option<Propagation> {
    let (recursive, base) = match s.strip_prefix('r') {
        Some(b) if b != "o" => (true, b),
        _ => (false, s),
    };
    let kind = match base {
        "private" => libc::MS_PRIVATE,
        "shared" => libc::MS_SHARED,
        "slave" => libc::MS_SLAVE,
        "unbindable" => libc::MS_UNBINDABLE,
        _ => return None,
    };
    Some(Propagation { kind, recursive })
}

/// Mounts one planned entry inside the root. Runs in the init, in the container's mount namespace.
pub fn mount_one(root: BorrowedFd<'_>, m: &MountPlan) -> Result<(), MountError> {
    let dest_err = |err| MountError::Destination {
        destination: m.destination.clone(),
        err,
    };
    let tree = match m.bind {
        Some(kind) => {
            let src = m.source.clone().unwrap_or_default();
            let src_fd =
                syscalls::open(&src, libc::O_PATH, 0).map_err(|err| MountError::BindSource {
                    destination: m.destination.clone(),
                    source_path: src.clone(),
                    err,
                })?;
            let src_is_dir =
                paths::is_dir(src_fd.as_fd()).map_err(|err| MountError::BindSource {
                    destination: m.destination.clone(),
                    source_path: src.clone(),
                    err,
                })?;
            let kind_of = if src_is_dir { Kind::Dir } else { Kind::File };
            let dest = paths::create_in_root(root, &m.destination, kind_of).map_err(dest_err)?;
            let mut flags = syscalls::OPEN_TREE_CLONE;
            if kind == BindKind::Rbind {
                flags |= syscalls::AT_RECURSIVE;
            }
            let tree =
                syscalls::open_tree(src_fd.as_fd(), Path::new(""), flags).map_err(|err| {
                    MountError::OpenTree {
                        destination: m.destination.clone(),
                        source_path: src.clone(),
                        err,
                    }
                })?;
            if m.attr_set != 0 || m.attr_clr != 0 {
                let attr = MountAttr {
                    attr_set: m.attr_set,
                    attr_clr: m.attr_clr,
                    propagation: 0,
                    userns_fd: 0,
                };
                // Applied to every mount of an rbind: a read-only volume stays read-only below.
                syscalls::mount_setattr(tree.as_fd(), kind == BindKind::Rbind, &attr).map_err(
                    |err| MountError::SetAttr {
                        destination: m.destination.clone(),
                        err,
                    },
                )?;
            }
            attach(&m.destination, tree, dest)?
        }
        None => {
            let needs_plain_dir = matches!(m.fstype.as_str(), "proc" | "sysfs");
            let dest = if needs_plain_dir {
                // Create the directory if missing, then re-open refusing any symlink on the way.
                paths::create_in_root(root, &m.destination, Kind::Dir).map_err(dest_err)?;
                paths::open_in_root_nosymlinks(root, &m.destination).map_err(dest_err)?
            } else {
                paths::create_in_root(root, &m.destination, Kind::Dir).map_err(dest_err)?
            };
            if needs_plain_dir && !paths::is_dir(dest.as_fd()).unwrap_or(false) {
                return Err(MountError::NotDirectory {
                    destination: m.destination.clone(),
                    fstype: m.fstype.clone(),
                });
            }
            let src = m
                .source
                .as_ref()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| m.fstype.clone());
            if !m.tmpcopyup {
                let tree = new_fs(&m.destination, &m.fstype, Some(&src), &m.data, m.attr_set)?;
                attach(&m.destination, tree, dest)?
            } else {
                // Filled while still detached (and writable), then made read-only if asked.
                let rw = m.attr_set & !syscalls::MOUNT_ATTR_RDONLY;
                let tree = new_fs(&m.destination, &m.fstype, Some(&src), &m.data, rw)?;
                crate::copyup::copy_tree(dest.as_fd(), tree.as_fd()).map_err(|err| {
                    MountError::CopyUp {
                        destination: m.destination.clone(),
                        err,
                    }
                })?;
                if rw != m.attr_set {
                    let attr = MountAttr {
                        attr_set: syscalls::MOUNT_ATTR_RDONLY,
                        attr_clr: 0,
                        propagation: 0,
                        userns_fd: 0,
                    };
                    syscalls::mount_setattr(tree.as_fd(), false, &attr).map_err(|err| {
                        MountError::SetAttr {
                            destination: m.destination.clone(),
                            err,
                        }
                    })?;
                }
                attach(&m.destination, tree, dest)?
            }
        }
    };
    if let Some(p) = m.propagation {
        let attr = MountAttr {
            attr_set: 0,
            attr_clr: 0,
            propagation: p.kind,
            userns_fd: 0,
        };
        syscalls::mount_setattr(tree.as_fd(), p.recursive, &attr).map_err(|err| {
            MountError::SetAttr {
                destination: m.destination.clone(),
                err,
            }
        })?;
    }
    Ok(())
}

/// Creates a new filesystem instance and returns it as a detached mount.
pub fn new_fs(
    destination: &Path,
    fstype: &str,
    source: Option<&str>,
    data: &[(String, Option<String>)],
    attrs: u64,
) -> Result<OwnedFd, MountError> {
    let fs = syscalls::fsopen(fstype).map_err(|err| MountError::Fsopen {
        destination: destination.to_path_buf(),
        fstype: fstype.to_string(),
        err,
    })?;
    let cfg_err = |option: &str, err| MountError::Fsconfig {
        destination: destination.to_path_buf(),
        fstype: fstype.to_string(),
        option: option.to_string(),
        err,
    };
    if let Some(src) = source {
        syscalls::fsconfig_set(fs.as_fd(), "source", Some(src))
            .map_err(|e| cfg_err("source", e))?;
    }
    for (k, v) in data {
        syscalls::fsconfig_set(fs.as_fd(), k, v.as_deref()).map_err(|e| cfg_err(k, e))?;
    }
    // fsmount takes only the per-mount attributes; the atime mode is one of them.
    syscalls::fs_create_mount(fs.as_fd(), attrs).map_err(|err| MountError::Fsmount {
        destination: destination.to_path_buf(),
        fstype: fstype.to_string(),
        err,
    })
}

/// Attaches a detached mount onto a resolved destination and returns the mount's descriptor.
pub fn attach(destination: &Path, tree: OwnedFd, dest: OwnedFd) -> Result<OwnedFd, MountError> {
    syscalls::move_mount_fd(tree.as_fd(), dest.as_fd()).map_err(|err| MountError::MoveMount {
        destination: destination.to_path_buf(),
        err,
    })?;
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(dest: &str, typ: &str, opts: &[&str]) -> oci_spec::runtime::Mount {
        let mut m = oci_spec::runtime::Mount::default();
        m.set_destination(PathBuf::from(dest));
        m.set_typ(Some(typ.to_string()));
        m.set_source(Some(PathBuf::from("src")));
        m.set_options(Some(opts.iter().map(|s| s.to_string()).collect()));
        m
    }

    #[test]
    fn parses_flags_and_data() {
        let p = plan(
            &mount(
                "/dev",
                "tmpfs",
                &["nosuid", "strictatime", "mode=755", "size=65536k"],
            ),
            Path::new("/b"),
        )
        .unwrap();
        assert_eq!(
            p.attr_set,
            syscalls::MOUNT_ATTR_NOSUID | syscalls::MOUNT_ATTR_STRICTATIME
        );
        assert_eq!(p.data.len(), 2);
        assert!(p.bind.is_none());
    }

    #[test]
    fn bind_sources_are_anchored_at_the_bundle() {
        let p = plan(&mount("/data", "none", &["rbind", "ro"]), Path::new("/b")).unwrap();
        assert_eq!(p.bind, Some(BindKind::Rbind));
        assert_eq!(p.source, Some(PathBuf::from("/b/src")));
        assert_eq!(p.attr_set, syscalls::MOUNT_ATTR_RDONLY);
    }

    #[test]
    fn relative_destination_is_refused() {
        assert!(matches!(
            plan(&mount("data", "tmpfs", &[]), Path::new("/b")),
            Err(MountError::RelativeDestination { .. })
        ));
    }

    #[test]
    fn propagation_names() {
        assert_eq!(
            parse_propagation("rslave"),
            Some(Propagation {
                kind: libc::MS_SLAVE,
                recursive: true
            })
        );
        assert_eq!(parse_propagation("ro"), None);
    }
}
