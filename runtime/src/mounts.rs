//! The container's mounts: parsing `mounts[]` options into a typed plan (at validation time) and
//! mounting each entry inside the rootfs (in the init, before pivot_root).
//!
//! Every mount is made with the fd-based mount API: the destination is resolved inside the root
//! to an O_PATH descriptor (see `paths`), the source becomes a detached mount (open_tree for
//! binds, fsopen/fsmount for filesystems), and move_mount attaches it to the descriptor. No
//! destination string is resolved twice.
//!
//! Idmapped binds (`uidMappings`/`gidMappings`, `idmap`/`ridmap`) are the exception to "in the
//! init": `prepare_idmapped` makes them in the runtime, on the host, before the init is cloned,
//! and the init only attaches them (`mount_one` with the prepared tree). MOUNT_ATTR_IDMAP needs
//! CAP_SYS_ADMIN over the user namespace that owns the source's superblock (the host's, for
//! ext4 or tmpfs), which the init no longer has once it is root of its own user namespace.

use crate::paths::{self, Kind, PathError};
use crate::syscalls::{self, MountAttr};
use crate::userns::{self, IdMap, UsernsError};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
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
    #[error("mount {destination}: uidMappings/gidMappings and idmap/ridmap apply to bind mounts only, not to a {fstype} mount")]
    IdmapNotBind {
        destination: PathBuf,
        fstype: String,
    },
    #[error("mount {destination}: an idmapped mount needs both uidMappings and gidMappings")]
    IdmapOneSided { destination: PathBuf },
    #[error("mount {destination}: {option} without uidMappings/gidMappings takes the container's mappings, but the config has no user namespace of its own")]
    IdmapWithoutMappings {
        destination: PathBuf,
        option: &'static str,
    },
    #[error("mount {destination}: {err}")]
    IdmapMappings {
        destination: PathBuf,
        err: Box<UsernsError>,
    },
    #[error("mount {destination}: the user namespace for its idmapping: {err}")]
    IdmapNamespace {
        destination: PathBuf,
        err: Box<UsernsError>,
    },
    #[error("mount {destination}: bind source {source_path} is on a filesystem that cannot be idmapped ({fs}; mount_setattr MOUNT_ATTR_IDMAP: invalid argument)")]
    IdmapUnsupported {
        destination: PathBuf,
        source_path: PathBuf,
        fs: Box<str>,
    },
    #[error(
        "mount {destination}: idmapping {source_path} (mount_setattr MOUNT_ATTR_IDMAP): {err}"
    )]
    SetIdmap {
        destination: PathBuf,
        source_path: PathBuf,
        err: io::Error,
    },
    #[error("mount {destination}: the idmapped mount was not prepared by the runtime")]
    IdmapNotPrepared { destination: PathBuf },
    #[error("mount {destination}: taking over the idmapped mount the runtime made: {err}")]
    IdmapInherit {
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
    /// The recursive options (runtime-spec 1.1: rro, rnosuid, rnoatime, ...): MOUNT_ATTR_* set and
    /// cleared with AT_RECURSIVE on the whole tree of this mount, after everything else.
    pub rattr_set: u64,
    pub rattr_clr: u64,
    /// Filesystem-specific options: ("size", Some("64k")), ("newinstance", None), ...
    pub data: Vec<(String, Option<String>)>,
    pub propagation: Option<Propagation>,
    /// runc's `tmpcopyup` (tmpfs only): the new tmpfs starts with a copy of what is below it.
    pub tmpcopyup: bool,
    /// A bind whose ids are translated (MOUNT_ATTR_IDMAP).
    pub idmap: Option<IdmapPlan>,
}

/// The id translation of an idmapped bind: a file owned by host id `host + k` shows as
/// `container + k` through the mount, and a file made through it as container id `c` is stored
/// as the host id `c` maps to. Empty maps (the `idmap` option alone) are filled with the
/// container's own mappings by [`inherit_container_maps`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdmapPlan {
    pub uids: Vec<IdMap>,
    pub gids: Vec<IdMap>,
    /// `ridmap` (or mappings on an rbind without either option): every mount of the tree.
    pub recursive: bool,
    /// The option that asked for it, for messages.
    pub option: &'static str,
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
        rattr_set: 0,
        rattr_clr: 0,
        data: Vec::new(),
        propagation: None,
        tmpcopyup: false,
        idmap: None,
    };
    let mut idmap_option: Option<&'static str> = None;
    if p.fstype == "bind" {
        p.bind = Some(BindKind::Bind);
    }
    for opt in m.options().iter().flatten() {
        if let Some((set, clr)) = recursive_attr(opt) {
            p.rattr_set = (p.rattr_set & !clr) | set;
            p.rattr_clr = (p.rattr_clr & !set) | clr;
            continue;
        }
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
            "idmap" => idmap_option = Some("idmap"),
            "ridmap" => idmap_option = Some("ridmap"),
            "remount" | "tmpcopyup" => {
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
    p.idmap = plan_idmap(m, &p, idmap_option)?;
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

/// A recursive mount option as (MOUNT_ATTR_* to set, to clear), or None for any other option.
/// An atime mode clears the whole atime field first, as mount_setattr(2) requires.
fn recursive_attr(opt: &str) -> Option<(u64, u64)> {
    use syscalls::{
        MOUNT_ATTR_ATIME as ATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME,
        MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY,
        MOUNT_ATTR_RELATIME, MOUNT_ATTR_STRICTATIME,
    };
    Some(match opt {
        "rro" => (MOUNT_ATTR_RDONLY, 0),
        "rrw" => (0, MOUNT_ATTR_RDONLY),
        "rnosuid" => (MOUNT_ATTR_NOSUID, 0),
        "rsuid" => (0, MOUNT_ATTR_NOSUID),
        "rnodev" => (MOUNT_ATTR_NODEV, 0),
        "rdev" => (0, MOUNT_ATTR_NODEV),
        "rnoexec" => (MOUNT_ATTR_NOEXEC, 0),
        "rexec" => (0, MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (MOUNT_ATTR_NODIRATIME, 0),
        "rdiratime" => (0, MOUNT_ATTR_NODIRATIME),
        "rnosymfollow" => (MOUNT_ATTR_NOSYMFOLLOW, 0),
        "rsymfollow" => (0, MOUNT_ATTR_NOSYMFOLLOW),
        "rnoatime" => (MOUNT_ATTR_NOATIME, ATIME),
        "rstrictatime" => (MOUNT_ATTR_STRICTATIME, ATIME),
        // Undoing noatime or strictatime leaves the kernel's default, relatime (as `atime`,
        // `norelatime` and `nostrictatime` do for one mount).
        "rrelatime" | "ratime" | "rnorelatime" | "rnostrictatime" => (MOUNT_ATTR_RELATIME, ATIME),
        _ => return None,
    })
}

/// The mount's idmapping, checked as the kernel will take it, or None when it asks for none.
fn plan_idmap(
    m: &oci_spec::runtime::Mount,
    p: &MountPlan,
    option: Option<&'static str>,
) -> Result<Option<IdmapPlan>, MountError> {
    let destination = &p.destination;
    let map_err = |err| MountError::IdmapMappings {
        destination: destination.clone(),
        err: Box::new(err),
    };
    let uids =
        userns::plan("uidMappings", m.uid_mappings().as_deref().unwrap_or(&[])).map_err(map_err)?;
    let gids =
        userns::plan("gidMappings", m.gid_mappings().as_deref().unwrap_or(&[])).map_err(map_err)?;
    if option.is_none() && uids.is_empty() && gids.is_empty() {
        return Ok(None);
    }
    if p.bind.is_none() {
        return Err(MountError::IdmapNotBind {
            destination: destination.clone(),
            fstype: p.fstype.clone(),
        });
    }
    if uids.is_empty() != gids.is_empty() {
        return Err(MountError::IdmapOneSided {
            destination: destination.clone(),
        });
    }
    userns::check_disjoint("uidMappings", &uids).map_err(map_err)?;
    userns::check_disjoint("gidMappings", &gids).map_err(map_err)?;
    // Mappings without either option: as runc 1.2, idmapped, recursively for an rbind.
    let recursive = match option {
        Some(o) => o == "ridmap",
        None => p.bind == Some(BindKind::Rbind),
    };
    Ok(Some(IdmapPlan {
        uids,
        gids,
        recursive,
        option: option.unwrap_or("uidMappings"),
    }))
}

/// `idmap`/`ridmap` without mappings of its own takes the container's user-namespace mappings
/// (runtime-spec 1.2); without a user namespace in the config there are none to take.
pub fn inherit_container_maps(
    mounts: &mut [MountPlan],
    user_namespace: bool,
    uids: &[IdMap],
    gids: &[IdMap],
) -> Result<(), MountError> {
    for m in mounts.iter_mut() {
        let Some(idmap) = m.idmap.as_mut() else {
            continue;
        };
        if !idmap.uids.is_empty() {
            continue;
        }
        if !user_namespace {
            return Err(MountError::IdmapWithoutMappings {
                destination: m.destination.clone(),
                option: idmap.option,
            });
        }
        idmap.uids = uids.to_vec();
        idmap.gids = gids.to_vec();
    }
    Ok(())
}

/// Makes every idmapped bind of `mounts` as a detached mount, on the host side: one entry per
/// mount, None for the others. Called by the runtime before it clones the init, which inherits
/// the descriptors and attaches them in [`mount_one`]. Mounts with the same mappings share one
/// user namespace.
pub fn prepare_idmapped(mounts: &[MountPlan]) -> Result<Vec<Option<OwnedFd>>, MountError> {
    let mut spaces: Vec<(&IdmapPlan, OwnedFd)> = Vec::new();
    let mut trees = Vec::with_capacity(mounts.len());
    for m in mounts {
        let (Some(kind), Some(idmap)) = (m.bind, m.idmap.as_ref()) else {
            trees.push(None);
            continue;
        };
        let same = |(p, _): &&(&IdmapPlan, OwnedFd)| p.uids == idmap.uids && p.gids == idmap.gids;
        let ns = match spaces.iter().find(same) {
            Some((_, fd)) => fd.try_clone(),
            None => {
                let fd = userns::scratch_namespace(&idmap.uids, &idmap.gids).map_err(|err| {
                    MountError::IdmapNamespace {
                        destination: m.destination.clone(),
                        err: Box::new(err),
                    }
                })?;
                let copy = fd.try_clone();
                spaces.push((idmap, fd));
                copy
            }
        }
        .map_err(|err| MountError::IdmapInherit {
            destination: m.destination.clone(),
            err,
        })?;
        let (tree, _) = bind_tree(m, kind, Some((ns.as_fd(), idmap.recursive)))?;
        trees.push(Some(tree));
    }
    Ok(trees)
}

/// A detached copy of the bind source with the mount's attributes (and its idmapping, when
/// `idmap` gives the user namespace and whether it applies recursively). Returns whether the
/// source is a directory.
fn bind_tree(
    m: &MountPlan,
    kind: BindKind,
    idmap: Option<(BorrowedFd<'_>, bool)>,
) -> Result<(OwnedFd, bool), MountError> {
    let src = m.source.clone().unwrap_or_default();
    let src_err = |err| MountError::BindSource {
        destination: m.destination.clone(),
        source_path: src.clone(),
        err,
    };
    let src_fd = syscalls::open(&src, libc::O_PATH, 0).map_err(src_err)?;
    let src_is_dir = paths::is_dir(src_fd.as_fd()).map_err(src_err)?;
    let mut flags = syscalls::OPEN_TREE_CLONE;
    if kind == BindKind::Rbind {
        flags |= syscalls::AT_RECURSIVE;
    }
    let tree = syscalls::open_tree(src_fd.as_fd(), Path::new(""), flags).map_err(|err| {
        MountError::OpenTree {
            destination: m.destination.clone(),
            source_path: src.clone(),
            err,
        }
    })?;
    if let Some((ns, recursive)) = idmap {
        // Made on the host, the copy would share the source's peer group: as a slave it gets
        // the host's mount events, as the init's binds do, and sends none back.
        let attr = MountAttr {
            attr_set: syscalls::MOUNT_ATTR_IDMAP,
            attr_clr: 0,
            propagation: libc::MS_SLAVE,
            userns_fd: ns.as_raw_fd() as u64,
        };
        syscalls::mount_setattr(tree.as_fd(), recursive, &attr).map_err(|err| {
            if err.raw_os_error() == Some(libc::EINVAL) {
                MountError::IdmapUnsupported {
                    destination: m.destination.clone(),
                    source_path: src.clone(),
                    fs: fs_name(tree.as_fd(), recursive && kind == BindKind::Rbind).into(),
                }
            } else {
                MountError::SetIdmap {
                    destination: m.destination.clone(),
                    source_path: src.clone(),
                    err,
                }
            }
        })?;
        if recursive != (kind == BindKind::Rbind) {
            let attr = MountAttr {
                attr_set: 0,
                attr_clr: 0,
                propagation: libc::MS_SLAVE,
                userns_fd: 0,
            };
            syscalls::mount_setattr(tree.as_fd(), kind == BindKind::Rbind, &attr).map_err(
                |err| MountError::SetAttr {
                    destination: m.destination.clone(),
                    err,
                },
            )?;
        }
    }
    if m.attr_set != 0 || m.attr_clr != 0 {
        let attr = MountAttr {
            attr_set: m.attr_set,
            attr_clr: m.attr_clr,
            propagation: 0,
            userns_fd: 0,
        };
        // Applied to every mount of an rbind: a read-only volume stays read-only below.
        syscalls::mount_setattr(tree.as_fd(), kind == BindKind::Rbind, &attr).map_err(|err| {
            MountError::SetAttr {
                destination: m.destination.clone(),
                err,
            }
        })?;
    }
    Ok((tree, src_is_dir))
}

/// The filesystem a mount is on, by its statfs magic, for the message that it cannot be
/// idmapped. With `below`, the refusal may have come from a mount under it (ridmap on an rbind).
fn fs_name(fd: BorrowedFd<'_>, below: bool) -> String {
    let what = fs_type(fd);
    if below {
        format!("{what}, or a filesystem mounted below it, does not support idmapped mounts")
    } else {
        format!("{what} does not support idmapped mounts")
    }
}

fn fs_type(fd: BorrowedFd<'_>) -> String {
    let known: &[(i64, &str)] = &[
        (0xEF53, "ext4"),
        (0x0102_1994, "tmpfs"),
        (0x5846_5342, "xfs"),
        (0x9123_683E, "btrfs"),
        (0x794C_7630, "overlay"),
        (0x9FA0, "proc"),
        (0x6265_6572, "sysfs"),
        (0x6367_7270, "cgroup2"),
        (0x0027_e0eb, "cgroup"),
        (0x6969, "nfs"),
        (0x6573_5546, "fuse"),
        (0x1CD1, "devpts"),
        (0x6462_6720, "debugfs"),
    ];
    match syscalls::fstatfs_magic(fd) {
        Ok(magic) => match known.iter().find(|(k, _)| *k == magic) {
            Some((_, name)) => name.to_string(),
            None => format!("filesystem type {magic:#x}"),
        },
        Err(_) => "its filesystem".to_string(),
    }
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
/// `prepared` is the detached tree [`prepare_idmapped`] made for an idmapped bind.
pub fn mount_one(
    root: BorrowedFd<'_>,
    m: &MountPlan,
    prepared: Option<BorrowedFd<'_>>,
) -> Result<(), MountError> {
    let dest_err = |err| MountError::Destination {
        destination: m.destination.clone(),
        err,
    };
    let tree = match m.bind {
        Some(kind) => {
            let (tree, src_is_dir) = match (prepared, &m.idmap) {
                (Some(fd), _) => {
                    let inherit_err = |err| MountError::IdmapInherit {
                        destination: m.destination.clone(),
                        err,
                    };
                    let tree = fd.try_clone_to_owned().map_err(inherit_err)?;
                    let is_dir = paths::is_dir(tree.as_fd()).map_err(inherit_err)?;
                    (tree, is_dir)
                }
                (None, Some(_)) => {
                    return Err(MountError::IdmapNotPrepared {
                        destination: m.destination.clone(),
                    })
                }
                (None, None) => bind_tree(m, kind, None)?,
            };
            let kind_of = if src_is_dir { Kind::Dir } else { Kind::File };
            let dest = paths::create_in_root(root, &m.destination, kind_of).map_err(dest_err)?;
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
    if m.rattr_set != 0 || m.rattr_clr != 0 {
        let attr = MountAttr {
            attr_set: m.rattr_set,
            attr_clr: m.rattr_clr,
            propagation: 0,
            userns_fd: 0,
        };
        syscalls::mount_setattr(tree.as_fd(), true, &attr).map_err(|err| MountError::SetAttr {
            destination: m.destination.clone(),
            err,
        })?;
    }
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

    fn idmapped(typ: &str, opts: &[&str], uids: bool, gids: bool) -> oci_spec::runtime::Mount {
        let mut v = serde_json::to_value(mount("/vol", typ, opts)).unwrap();
        let ids = serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 10}]);
        if uids {
            v["uidMappings"] = ids.clone();
        }
        if gids {
            v["gidMappings"] = ids;
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn idmap_options_and_mappings() {
        let b = Path::new("/b");
        let p = plan(&idmapped("bind", &["rbind"], true, true), b).unwrap();
        let i = p.idmap.unwrap();
        assert!(
            i.recursive,
            "mappings on an rbind without an option: recursive, as runc"
        );
        assert_eq!(i.uids.len(), 1);
        let p = plan(&idmapped("bind", &["rbind", "idmap"], true, true), b).unwrap();
        assert!(!p.idmap.unwrap().recursive);
        let p = plan(&idmapped("bind", &["bind", "ridmap"], true, true), b).unwrap();
        assert!(p.idmap.unwrap().recursive);
        assert!(plan(&idmapped("bind", &["bind"], false, false), b)
            .unwrap()
            .idmap
            .is_none());
        let p = plan(&idmapped("bind", &["idmap"], false, false), b).unwrap();
        assert!(p.idmap.as_ref().unwrap().uids.is_empty());
        assert!(matches!(
            plan(&idmapped("tmpfs", &["idmap"], true, true), b),
            Err(MountError::IdmapNotBind { .. })
        ));
        assert!(matches!(
            plan(&idmapped("tmpfs", &[], true, true), b),
            Err(MountError::IdmapNotBind { .. })
        ));
        assert!(matches!(
            plan(&idmapped("bind", &["bind"], true, false), b),
            Err(MountError::IdmapOneSided { .. })
        ));
    }

    #[test]
    fn idmap_without_mappings_takes_the_containers_or_fails() {
        let b = Path::new("/b");
        let ours = [IdMap {
            container: 0,
            host: 300000,
            size: 65536,
        }];
        let mut mounts = vec![plan(&idmapped("bind", &["ridmap"], false, false), b).unwrap()];
        assert!(matches!(
            inherit_container_maps(&mut mounts, false, &[], &[]),
            Err(MountError::IdmapWithoutMappings { .. })
        ));
        inherit_container_maps(&mut mounts, true, &ours, &ours).unwrap();
        let i = mounts[0].idmap.as_ref().unwrap();
        assert_eq!(
            (i.uids.as_slice(), i.gids.as_slice()),
            (&ours[..], &ours[..])
        );
        // Mappings of its own are kept.
        let mut mounts = vec![plan(&idmapped("bind", &["idmap"], true, true), b).unwrap()];
        inherit_container_maps(&mut mounts, true, &ours, &ours).unwrap();
        assert_eq!(mounts[0].idmap.as_ref().unwrap().uids[0].host, 100000);
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
