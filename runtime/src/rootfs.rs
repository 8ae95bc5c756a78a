//! The container's root filesystem, in the order the init must call these:
//! `prepare` (propagation, the rootfs bind, every mount, /dev) → createContainer hooks →
//! `enter` (pivot_root, or chroot with --no-pivot) → `finish` (sysctl, masked and read-only paths,
//! read-only root). All of it runs in the init, inside the container's mount namespace.

use crate::cgroups::HierarchyMount;
use crate::devices::{self, DeviceError};
use crate::masked_paths::{self, MaskError};
use crate::mounts::{self, MountError, MountPlan};
use crate::paths::{self, Kind, PathError};
use crate::plan::Plan;
use crate::syscalls::{self, MountAttr};
use crate::sysctl::{self, SysctlError};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("setting propagation of / : {0}")]
    Propagation(io::Error),
    #[error("binding the rootfs {path} onto itself: {err}")]
    BindRoot { path: PathBuf, err: io::Error },
    #[error("opening the rootfs {path}: {err}")]
    OpenRoot { path: PathBuf, err: io::Error },
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("process.cwd {path}: {err}")]
    Cwd { path: PathBuf, err: PathError },
    #[error("pivot_root into {path}: {err}")]
    PivotRoot { path: PathBuf, err: io::Error },
    #[error("detaching the old root: {0}")]
    DetachOldRoot(io::Error),
    #[error("--no-pivot: moving the rootfs onto / and chroot: {0}")]
    NoPivot(io::Error),
    #[error(transparent)]
    Mask(#[from] MaskError),
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    #[error("making the root read-only: {0}")]
    ReadonlyRoot(io::Error),
    #[error("cgroup mount {path}: {err}")]
    CgroupMount { path: PathBuf, err: io::Error },
    #[error("cgroup mount {path}: reading /proc/self/cgroup: {err}")]
    ReadOwnCgroup { path: PathBuf, err: io::Error },
    #[error("cgroup mount {path}: no line for this hierarchy in /proc/self/cgroup")]
    OwnCgroupUnknown { path: PathBuf },
    #[error("cgroup mount {path}: cloning the container's cgroup {dir}: {err}")]
    CgroupBind {
        path: PathBuf,
        dir: PathBuf,
        err: io::Error,
    },
}

/// Everything up to (not including) pivot_root. Returns the rootfs descriptor.
///
/// `idmapped` holds, per entry of `plan.mounts`, the detached idmapped bind the runtime made
/// (see `mounts::prepare_idmapped`).
pub fn prepare(
    plan: &Plan,
    cgroup_hierarchies: &[HierarchyMount],
    idmapped: &[Option<OwnedFd>],
) -> Result<OwnedFd, RootfsError> {
    // Nothing we mount may propagate back to the host: make our copy of the tree a slave (or what
    // rootfsPropagation asks, except shared, which is applied to the new root at the end).
    let initial = match plan.rootfs_propagation {
        Some(p) if p.kind != libc::MS_SHARED => p.kind,
        _ => libc::MS_SLAVE,
    };
    syscalls::mount(None, Path::new("/"), None, libc::MS_REC | initial, None)
        .map_err(RootfsError::Propagation)?;
    // pivot_root needs the new root to be a mount point.
    syscalls::mount(
        Some(&plan.rootfs),
        &plan.rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .map_err(|err| RootfsError::BindRoot {
        path: plan.rootfs.clone(),
        err,
    })?;
    let root =
        syscalls::open(&plan.rootfs, libc::O_PATH | libc::O_DIRECTORY, 0).map_err(|err| {
            RootfsError::OpenRoot {
                path: plan.rootfs.clone(),
                err,
            }
        })?;

    // Without a cgroup namespace of its own, a fresh cgroupfs would show the host's whole
    // hierarchy: bind the container's own cgroup directories instead, as runc does.
    let own_cgroupns = plan.namespaces.has(crate::namespaces::Kind::Cgroup);
    for (i, m) in plan.mounts.iter().enumerate() {
        if m.is_fs("cgroup") || m.is_fs("cgroup2") {
            mount_cgroupfs(root.as_fd(), m, cgroup_hierarchies, own_cgroupns)?;
        } else {
            let prepared = idmapped.get(i).and_then(|t| t.as_ref()).map(|t| t.as_fd());
            mounts::mount_one(root.as_fd(), m, prepared)?;
        }
    }

    // mknod needs CAP_MKNOD in the initial user namespace: in a user namespace, new or joined,
    // and for any caller who is not root, the host's nodes are bound in instead. That includes a
    // runtime started inside a user namespace whose config asks for none (runc:
    // `userns.RunningInUserNS()`): rootless podman runs the runtime as root of its own user
    // namespace and the container shares it, so the config has no user namespace and the caller
    // is uid 0, yet mknod fails with EPERM (seen through vendor-tests' podman-rootless engine).
    let bind_devices = plan.namespaces.has(crate::namespaces::Kind::User)
        || crate::userns::caller_is_unprivileged()
        || crate::userns::in_user_namespace();
    if plan.dev_tmpfs {
        for d in devices::defaults() {
            if !plan.devices.iter().any(|c| c.path == d.path) {
                devices::create(root.as_fd(), &d, bind_devices)?;
            }
        }
    }
    for d in &plan.devices {
        devices::create(root.as_fd(), d, bind_devices)?;
    }
    if plan.dev_tmpfs {
        devices::create_symlinks(root.as_fd())?;
    }

    paths::create_in_root(root.as_fd(), &plan.process.cwd, Kind::Dir).map_err(|err| {
        RootfsError::Cwd {
            path: plan.process.cwd.clone(),
            err,
        }
    })?;
    Ok(root)
}

/// The cgroup filesystem inside the container, always read-only: one cgroup2 mount on a unified
/// host, or a tmpfs holding one mount per v1 hierarchy elsewhere. On a hybrid host the cgroup2
/// beside the v1 hierarchies is left out (as runc does): the container is not placed in it, so
/// it would show the host's root there. In its own cgroup namespace each is a fresh mount (rooted
/// at the container's cgroup); otherwise a read-only clone of the container's cgroup directory.
fn mount_cgroupfs(
    root: std::os::fd::BorrowedFd<'_>,
    m: &MountPlan,
    hierarchies: &[HierarchyMount],
    own_cgroupns: bool,
) -> Result<(), RootfsError> {
    let ro = syscalls::MOUNT_ATTR_RDONLY
        | syscalls::MOUNT_ATTR_NOSUID
        | syscalls::MOUNT_ATTR_NODEV
        | syscalls::MOUNT_ATTR_NOEXEC;
    let dest = paths::create_in_root(root, &m.destination, Kind::Dir).map_err(|e| {
        RootfsError::Mount(MountError::Destination {
            destination: m.destination.clone(),
            err: e,
        })
    })?;
    let own = if own_cgroupns {
        String::new()
    } else {
        std::fs::read_to_string("/proc/self/cgroup").map_err(|err| RootfsError::ReadOwnCgroup {
            path: m.destination.clone(),
            err,
        })?
    };
    let hierarchy = |path: &Path, h: &HierarchyMount| -> Result<OwnedFd, RootfsError> {
        if own_cgroupns {
            return Ok(mounts::new_fs(
                path,
                &h.fstype,
                Some("cgroup"),
                &h.options,
                ro,
            )?);
        }
        let rel = own_cgroup_path(&own, h).ok_or_else(|| RootfsError::OwnCgroupUnknown {
            path: path.to_path_buf(),
        })?;
        let source = Path::new("/sys/fs/cgroup")
            .join(&h.name)
            .join(rel.trim_start_matches('/'));
        let bind_err = |err| RootfsError::CgroupBind {
            path: path.to_path_buf(),
            dir: source.clone(),
            err,
        };
        // An absolute path: resolved in the host's tree, still visible before pivot_root.
        let tree =
            syscalls::open_tree(root, &source, syscalls::OPEN_TREE_CLONE).map_err(bind_err)?;
        let attr = MountAttr {
            attr_set: ro,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        syscalls::mount_setattr(tree.as_fd(), false, &attr).map_err(bind_err)?;
        Ok(tree)
    };
    if let Some(h) = hierarchies.iter().find(|h| h.name.is_empty()) {
        let tree = hierarchy(&m.destination, h)?;
        mounts::attach(&m.destination, tree, dest)?;
        return Ok(());
    }
    let tmpfs = mounts::new_fs(
        &m.destination,
        "tmpfs",
        Some("tmpfs"),
        &[("mode".into(), Some("755".into()))],
        syscalls::MOUNT_ATTR_NOSUID | syscalls::MOUNT_ATTR_NODEV | syscalls::MOUNT_ATTR_NOEXEC,
    )?;
    let tmpfs = mounts::attach(&m.destination, tmpfs, dest)?;
    for h in hierarchies.iter().filter(|h| h.fstype != "cgroup2") {
        let path = m.destination.join(&h.name);
        let sub = paths::create_in_root(root, &path, Kind::Dir).map_err(|e| {
            RootfsError::Mount(MountError::Destination {
                destination: path.clone(),
                err: e,
            })
        })?;
        let tree = hierarchy(&path, h)?;
        mounts::attach(&path, tree, sub)?;
    }
    let attr = MountAttr {
        attr_set: syscalls::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    syscalls::mount_setattr(tmpfs.as_fd(), false, &attr).map_err(|err| RootfsError::CgroupMount {
        path: m.destination.clone(),
        err,
    })
}

/// The path of our cgroup in hierarchy `h`, from the text of /proc/self/cgroup
/// ("ID:controllers:path" lines; "0::path" for cgroup2). A v1 line matches when each of its
/// controllers ("cpu,cpuacct", "name=systemd") is among the hierarchy's mount options.
pub(crate) fn own_cgroup_path(proc_self_cgroup: &str, h: &HierarchyMount) -> Option<String> {
    let opts: Vec<String> = h
        .options
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    proc_self_cgroup.lines().find_map(|line| {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
        let matches = if h.fstype == "cgroup2" {
            controllers.is_empty()
        } else {
            !controllers.is_empty() && controllers.split(',').all(|c| opts.iter().any(|o| o == c))
        };
        matches.then(|| path.to_string())
    })
}

/// Makes the rootfs the process's root. With pivot_root the old root is detached entirely, so
/// nothing of the host's tree stays reachable.
pub fn enter(plan: &Plan, root: OwnedFd, no_pivot: bool) -> Result<(), RootfsError> {
    // SAFETY: fchdir on a descriptor we own (O_PATH directories are allowed).
    if unsafe { libc::fchdir(root.as_raw_fd()) } != 0 {
        return Err(RootfsError::PivotRoot {
            path: plan.rootfs.clone(),
            err: io::Error::last_os_error(),
        });
    }
    drop(root);
    if no_pivot {
        syscalls::mount(
            Some(Path::new(".")),
            Path::new("/"),
            None,
            libc::MS_MOVE,
            None,
        )
        .map_err(RootfsError::NoPivot)?;
        // SAFETY: static C string.
        if unsafe { libc::chroot(c".".as_ptr()) } != 0 {
            return Err(RootfsError::NoPivot(io::Error::last_os_error()));
        }
    } else {
        syscalls::pivot_root_dot().map_err(|err| RootfsError::PivotRoot {
            path: plan.rootfs.clone(),
            err,
        })?;
        // The old root now sits on top of the new one at "."; make it a slave first so the
        // detach cannot propagate an unmount to the host, then lazily detach it.
        syscalls::mount(
            None,
            Path::new("."),
            None,
            libc::MS_SLAVE | libc::MS_REC,
            None,
        )
        .map_err(RootfsError::DetachOldRoot)?;
        syscalls::umount_detach(Path::new(".")).map_err(RootfsError::DetachOldRoot)?;
    }
    // SAFETY: static C string.
    if unsafe { libc::chdir(c"/".as_ptr()) } != 0 {
        return Err(RootfsError::PivotRoot {
            path: plan.rootfs.clone(),
            err: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// After pivot_root: sysctls, masked and read-only paths, shared propagation, read-only root.
pub fn finish(plan: &Plan) -> Result<(), RootfsError> {
    sysctl::apply(&plan.sysctl)?;
    let root =
        syscalls::open(Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0).map_err(|err| {
            RootfsError::OpenRoot {
                path: PathBuf::from("/"),
                err,
            }
        })?;
    masked_paths::make_readonly(root.as_fd(), &plan.readonly_paths)?;
    masked_paths::mask(root.as_fd(), &plan.masked_paths)?;
    if let Some(p) = plan
        .rootfs_propagation
        .filter(|p| p.kind == libc::MS_SHARED)
    {
        let flags = libc::MS_SHARED | if p.recursive { libc::MS_REC } else { 0 };
        syscalls::mount(None, Path::new("/"), None, flags, None)
            .map_err(RootfsError::Propagation)?;
    }
    if plan.root_readonly {
        // Only the root mount itself: volumes mounted below keep their own mode.
        let attr = MountAttr {
            attr_set: syscalls::MOUNT_ATTR_RDONLY,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        syscalls::mount_setattr(root.as_fd(), false, &attr).map_err(RootfsError::ReadonlyRoot)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, fstype: &str, opts: &[(&str, Option<&str>)]) -> HierarchyMount {
        HierarchyMount {
            name: name.into(),
            fstype: fstype.into(),
            options: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(String::from)))
                .collect(),
        }
    }

    #[test]
    fn own_cgroup_path_matches_the_hierarchy() {
        let text = "12:cpu,cpuacct:/a/cpu\n4:memory:/a/mem\n1:name=systemd:/sd\n0::/v2\n";
        let cpu = h("cpu,cpuacct", "cgroup", &[("cpu", None), ("cpuacct", None)]);
        assert_eq!(own_cgroup_path(text, &cpu).as_deref(), Some("/a/cpu"));
        let mem = h("memory", "cgroup", &[("memory", None)]);
        assert_eq!(own_cgroup_path(text, &mem).as_deref(), Some("/a/mem"));
        let sd = h(
            "systemd",
            "cgroup",
            &[("xattr", None), ("name", Some("systemd"))],
        );
        assert_eq!(own_cgroup_path(text, &sd).as_deref(), Some("/sd"));
        let v2 = h("", "cgroup2", &[]);
        assert_eq!(own_cgroup_path(text, &v2).as_deref(), Some("/v2"));
        let pids = h("pids", "cgroup", &[("pids", None)]);
        assert_eq!(own_cgroup_path(text, &pids), None);
    }
}
