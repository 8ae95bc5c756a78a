//! The container's cgroup, through the `libcgroups` crate (v1, hybrid and v2 hosts).
//!
//! Order of calls at create: `Cgroup::open` (resolves the path for the driver, touches nothing) →
//! `check_unpopulated` (a cgroup holding processes is refused) → `dirs_to_make`, recorded in the
//! state before anything is made → `add` the init (creates the directories) → `apply`
//! `resources_at_create` (always: the device rules start from deny-all even when the config
//! has none), all before the init may continue. On v2 with the cgroupfs driver, `prepare_for_clone` makes the directories before
//! the clone instead and the init is cloned into the cgroup (clone3 CLONE_INTO_CGROUP), so `add`
//! is skipped unless the kernel lacks that and the old order is taken. On v1, `add` and the default config's resources (device rules, a pids limit) are
//! done here from a mount table read once per process; libcgroups' v1 manager, whose
//! constructor re-reads mountinfo and /proc/self/cgroup once per controller, is only made for
//! other resources and the later commands. v2 goes through libcgroups throughout. Later commands re-open the cgroup by the
//! cgroupfs path kept in the state (`Cgroup::path`): `pause`/`resume` (`freeze`), `ps` (`pids`),
//! `update` (`apply` again), `events` (`stats`, `oom_kills`). `delete` and failed creates kill
//! only the container's own processes (container.rs) and then `remove_made`: only directories
//! the create made go, a cgroup that existed before stays. `remove` (libcgroups: kills
//! everything in the cgroup) is left for states that did not record what they made, and for
//! systemd's cgroups on v2.
//!
//! Inside the container the cgroup filesystem is mounted read-only (see `container_mounts` and
//! rootfs.rs), so a process cannot lift its own limits.
//!
//! cgroupsPath semantics (cgroupfs driver): absolute paths are taken from the root of each
//! hierarchy; relative ones are placed under that root too (the default parent is the hierarchy
//! root, not the runtime's own cgroup, which on some hosts is a supervisor's memory cgroup);
//! unset means `/rampart-<id>`. With `--systemd-cgroup` the path must be `slice:prefix:name`.

pub mod commands;

use crate::mountinfo::{self, Mount};
use libcgroups::common::{
    AnyCgroupManager, CgroupConfig, CgroupManager, CgroupSetup, ControllerOpt, FreezerState,
};
use libcgroups::stats::Stats;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::logging;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("linux.resources.memory.limit {limit} is below the {usage} bytes the container uses now ({path}), and checkBeforeUpdate is set")]
    BelowUsage {
        path: PathBuf,
        usage: i64,
        limit: i64,
    },
    #[error("cgroup {path}: {what}: {err}")]
    Manager {
        path: PathBuf,
        what: &'static str,
        err: String,
    },
    #[error("cgroupsPath {path}: must not contain '..'")]
    BadPath { path: PathBuf },
    #[error("the systemd cgroup driver needs a running systemd (none found on this host: no /run/systemd/system); use the cgroupfs driver")]
    NoSystemd,
    #[error("cgroupsPath {path:?}: the systemd cgroup driver expects the form slice:prefix:name")]
    SystemdPath { path: String },
    #[error("detecting the cgroup layout under /sys/fs/cgroup: {0}")]
    Setup(String),
    #[error("linux.resources.unified needs a cgroup v2 (unified) host; this one uses cgroup v1")]
    UnifiedOnV1,
    #[error("linux.resources.rdma: the rdma controller is not available on this host")]
    NoRdma,
    #[error("cgroup {path}: the {controller} controller is not mounted on this host")]
    NoController {
        path: PathBuf,
        controller: &'static str,
    },
    #[error("writing {path}: {err}")]
    Write { path: PathBuf, err: std::io::Error },
    #[error("creating the cgroup directory {path}: {err}")]
    CreateDir { path: PathBuf, err: std::io::Error },
    #[error("reading {path}: {err}")]
    Read { path: PathBuf, err: std::io::Error },
    #[error("opening the cgroup directory {path}: {err}")]
    OpenDir { path: PathBuf, err: std::io::Error },
    #[error("{path}: the parent cpuset is empty, nothing to inherit")]
    EmptyCpuset { path: PathBuf },
    #[error("cgroup {path} already holds {count} process(es): a container is not put in a populated cgroup, which its delete would take down with it (runc 1.1 warns that this will be refused, later runc refuses it); name an empty or new cgroup in linux.cgroupsPath")]
    Populated { path: PathBuf, count: usize },
    #[error("removing the cgroup directory {path}: {err}")]
    RemoveDir { path: PathBuf, err: std::io::Error },
    #[error("exec --cgroup {arg:?}: {why}")]
    BadSubCgroup { arg: String, why: String },
    #[error("exec --cgroup: the container's sub-cgroup {path} does not exist (create it first, as with runc)")]
    NoSubCgroup { path: PathBuf },
    #[error("rootless: linux.resources sets {limits}, but the cgroup {path} cannot be made or joined by uid {uid} ({dir} is not writable): delegate a cgroup v2 subtree to this user (chown it, its cgroup.procs and cgroup.subtree_control) and point linux.cgroupsPath into it, or remove the limits")]
    RootlessLimits {
        limits: String,
        path: PathBuf,
        uid: u32,
        dir: PathBuf,
    },
}

/// How the CLI asked for cgroups to be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    Cgroupfs,
    Systemd,
    Disabled,
}

/// Which cgroup version drives resources on this host (hybrid hosts count as v1: the unified
/// hierarchy there holds no resource controllers libcgroups drives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    V1,
    V2,
}

pub fn layout() -> Result<Layout, CgroupError> {
    match libcgroups::common::get_cgroup_setup() {
        Ok(CgroupSetup::Unified) => Ok(Layout::V2),
        Ok(CgroupSetup::Legacy | CgroupSetup::Hybrid) => Ok(Layout::V1),
        Err(e) => Err(CgroupError::Setup(e.to_string())),
    }
}

pub struct Cgroup {
    /// The libcgroups manager, made on first use on v1 (its constructor reads mountinfo and
    /// /proc/self/cgroup through a verified procfs handle once per controller, about half of a
    /// `create`'s user-space work); on v2 made by `open`.
    mgr: OnceCell<AnyCgroupManager>,
    config: CgroupConfig,
    /// The cgroup's path relative to the root of every hierarchy (always absolute).
    pub path: PathBuf,
    layout: Layout,
    /// v1: the cgroup's directory per controller libcgroups drives, from the cached mount table,
    /// so adding a task and the common resources need no manager.
    v1_dirs: Vec<(&'static str, PathBuf)>,
    /// Made for a rootless caller: device rules are not set through the cgroup (that needs
    /// CAP_SYS_ADMIN on v1 and CAP_BPF on v2; in a user namespace no device node can be made,
    /// only the host's bound in with the host's permissions).
    rootless: bool,
}

/// The v1 controllers libcgroups' manager drives, by their names in mountinfo.
pub(crate) const V1_CONTROLLERS: [&str; 12] = [
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "hugetlb",
    "pids",
    "perf_event",
    "memory",
    "blkio",
    "net_prio",
    "net_cls",
    "freezer",
];

/// Device rules every container gets after its own (the same list, in the same order, that
/// libcgroups' v1 devices controller writes: /dev/null, zero, full, tty, urandom, random, mknod
/// of any char/block device, console, pts, ptmx, tun).
const V1_DEFAULT_DEVICE_RULES: [&str; 12] = [
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:9 rwm",
    "c 1:8 rwm",
    "c *:* m",
    "b *:* m",
    "c 5:1 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c 10:200 rwm",
];

/// The resources a container's cgroup gets at create, whatever the config says: the device rules
/// start from deny-all (a new v1 cgroup inherits its parent's list, "a *:* rwm" below the host
/// root, and a v2 cgroup without a program allows every device), then the config's own rules,
/// then the standard allow list (`V1_DEFAULT_DEVICE_RULES` on v1, libcgroups' on v2), the order
/// runc applies them in. With no resources at all the device rules are still written.
pub fn resources_at_create(config: Option<&LinuxResources>) -> LinuxResources {
    let mut r = config.cloned().unwrap_or_default();
    let mut devices = vec![oci_spec::runtime::LinuxDeviceCgroup::default()];
    devices[0].set_allow(false).set_access(Some("rwm".into()));
    devices.extend(r.devices().iter().flatten().cloned());
    r.set_devices(Some(devices));
    r
}

/// One `exec --cgroup` argument: `PATH` (every controller; the only form on cgroup v2) or
/// `CONTROLLER[,CONTROLLER...]:PATH` (cgroup v1). PATH names a sub-cgroup of the container's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubCgroup {
    pub controllers: Vec<String>,
    pub path: PathBuf,
}

impl SubCgroup {
    pub fn parse(arg: &str) -> Result<SubCgroup, CgroupError> {
        let bad = |why: &str| CgroupError::BadSubCgroup {
            arg: arg.to_string(),
            why: why.to_string(),
        };
        let (controllers, path) = match arg.split_once(':') {
            Some((c, p)) => (
                c.split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                p,
            ),
            None => (Vec::new(), arg),
        };
        let path = relative(Path::new(path));
        if path.as_os_str().is_empty() {
            return Err(bad("names no sub-cgroup"));
        }
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(bad(
                "the path must stay below the container's cgroup (no '..')",
            ));
        }
        Ok(SubCgroup {
            controllers,
            path: path.to_path_buf(),
        })
    }
}

/// The limits `r` sets, by field name (device rules are not limits here): what a rootless
/// container without a usable cgroup cannot be given.
pub fn limits_set(r: Option<&LinuxResources>) -> Vec<&'static str> {
    let Some(r) = r else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let fields: [(&'static str, bool); 8] = [
        ("memory", r.memory().is_some()),
        ("cpu", r.cpu().is_some()),
        ("pids", r.pids().is_some()),
        ("blockIO", r.block_io().is_some()),
        (
            "hugepageLimits",
            r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()),
        ),
        ("network", r.network().is_some()),
        ("rdma", r.rdma().as_ref().is_some_and(|m| !m.is_empty())),
        (
            "unified",
            r.unified().as_ref().is_some_and(|m| !m.is_empty()),
        ),
    ];
    for (name, set) in fields {
        if set {
            out.push(name);
        }
    }
    out
}

/// Processes in `dir` and in every cgroup below it (0 when `dir` does not exist).
fn procs_below(dir: &Path) -> usize {
    let here = std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0);
    let below: usize = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| procs_below(&e.path()))
                .sum()
        })
        .unwrap_or(0);
    here + below
}

/// Host pids in the cgroup's directory of every hierarchy mounted under /sys/fs/cgroup (a
/// process may sit in one hierarchy's directory only).
pub fn procs(path: &Path) -> Vec<i32> {
    let mut out = Vec::new();
    for h in container_mounts() {
        let f = Path::new("/sys/fs/cgroup")
            .join(&h.name)
            .join(relative(path))
            .join("cgroup.procs");
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            if !out.contains(&pid) {
                out.push(pid);
            }
        }
    }
    out
}

/// Removes the directories a create made (`dirs` parents first, as `Cgroup::dirs_to_make` lists
/// them), children first. The leaves (the container's cgroup itself) get up to 2 s to empty: the
/// container's processes were just killed and the kernel frees a cgroup only once they are
/// gone. A made parent that is busy holds someone else's cgroup now and is left alone, as is a
/// directory that no longer exists (a retried delete, a create killed before its mkdir).
pub fn remove_made(path: &Path, dirs: &[PathBuf]) -> Result<(), CgroupError> {
    let leaf = relative(path);
    for dir in dirs.iter().rev() {
        let is_leaf = dir.ends_with(leaf);
        if is_leaf {
            // Sub-cgroups of the container's (made by an engine, or for `exec --cgroup`) go
            // first, deepest first, as runc removes them; one that still holds a process makes
            // the leaf's rmdir fail below.
            remove_children(dir);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match std::fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && !is_leaf => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(err) => {
                    return Err(CgroupError::RemoveDir {
                        path: dir.clone(),
                        err,
                    })
                }
            }
        }
    }
    Ok(())
}

/// Removes the (empty) cgroup directories below `dir`, deepest first; errors are left to the
/// removal of `dir` itself to report.
fn remove_children(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let child = e.path();
            remove_children(&child);
            let _ = std::fs::remove_dir(&child);
        }
    }
}

/// This process's mount table, read once: create, delete and the cgroup commands look up
/// hierarchies several times, and the runtime's own mounts do not change while it runs (the
/// init's mounts are made in its own mount namespace).
fn mount_table() -> &'static [Mount] {
    static TABLE: OnceLock<Vec<Mount>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
            return Vec::new();
        };
        mountinfo::parse(&info)
    })
}

/// The controllers of this process's v1 cgroups (/proc/self/cgroup), read once.
fn own_v1_controllers() -> &'static [String] {
    static OWN: OnceLock<Vec<String>> = OnceLock::new();
    OWN.get_or_init(|| {
        let Ok(text) = std::fs::read_to_string("/proc/self/cgroup") else {
            return Vec::new();
        };
        parse_v1_controllers(&text)
    })
}

/// Every controller named in a /proc/PID/cgroup text ("ID:controllers:path" lines).
pub(crate) fn parse_v1_controllers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| Some(l.split(':').nth(1)?.split(',').map(str::to_string)))
        .flatten()
        .filter(|c| !c.is_empty())
        .collect()
}

/// The mount point libcgroups' v1 manager uses for `controller`: the first cgroup mount whose
/// directory is named after it (or after the usual co-mounts).
fn v1_mount_point(controller: &str) -> Option<&'static str> {
    v1_mount_point_in(mount_table(), controller)
}

/// `v1_mount_point` in the mount table `table`.
pub(crate) fn v1_mount_point_in<'a>(table: &'a [Mount], controller: &str) -> Option<&'a str> {
    table
        .iter()
        .filter(|m| m.fstype == "cgroup")
        .find(|m| mount_point_is_for(&m.mount_point, controller))
        .map(|m| m.mount_point.as_str())
}

/// libcgroups' rule: the mount point's last components name the controller or its co-mount.
fn mount_point_is_for(mount_point: &str, controller: &str) -> bool {
    let names: &[&str] = match controller {
        "net_cls" => &["net_cls,net_prio", "net_prio,net_cls", "net_cls"],
        "net_prio" => &["net_cls,net_prio", "net_prio,net_cls", "net_prio"],
        "cpu" => &["cpu,cpuacct", "cpu"],
        "cpuacct" => &["cpu,cpuacct", "cpuacct"],
        _ => &[],
    };
    let p = Path::new(mount_point);
    if names.is_empty() {
        p.ends_with(controller)
    } else {
        names.iter().any(|n| p.ends_with(n))
    }
}

/// The cgroup's directory for every v1 controller this host mounts and this process is in,
/// as libcgroups' manager would resolve them.
fn v1_dirs_for(path: &Path) -> Vec<(&'static str, PathBuf)> {
    let own = own_v1_controllers();
    V1_CONTROLLERS
        .iter()
        .filter(|c| own.iter().any(|o| o == *c))
        .filter_map(|c| Some((*c, Path::new(v1_mount_point(c)?).join(relative(path)))))
        .collect()
}

/// Copies the parent's cpuset.cpus/mems into each level of `dir` below the cpuset mount that
/// has none: a v1 cpuset cgroup with an empty set refuses tasks (ENOSPC).
fn cpuset_inherit(mount_point: &Path, dir: &Path, file: &str) -> Result<(), CgroupError> {
    let Ok(rel) = dir.strip_prefix(mount_point) else {
        return Ok(());
    };
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).map_err(|err| CgroupError::Read { path: p, err });
    let mut current = mount_point.to_path_buf();
    for component in rel.components() {
        let parent_value = read(current.join(file))?;
        if parent_value.trim().is_empty() {
            return Err(CgroupError::EmptyCpuset { path: current });
        }
        current.push(component);
        let child = current.join(file);
        if read(child.clone())?.trim().is_empty() {
            write_existing(&child, &[parent_value.as_str()])?;
        }
    }
    Ok(())
}

/// Where libcgroups' v2 manager finds the unified hierarchy.
const V2_ROOT: &str = "/sys/fs/cgroup";

/// `+name` for each controller in `root`'s cgroup.controllers that libcgroups' v2 manager
/// enables when it makes a cgroup (others, e.g. rdma or misc, it leaves alone).
fn v2_enableable_controllers(root: &Path) -> Result<Vec<String>, CgroupError> {
    let path = root.join("cgroup.controllers");
    let text = std::fs::read_to_string(&path).map_err(|err| CgroupError::Read { path, err })?;
    Ok(text
        .split_whitespace()
        .filter(|c| matches!(*c, "cpu" | "cpuset" | "hugetlb" | "io" | "memory" | "pids"))
        .map(|c| format!("+{c}"))
        .collect())
}

/// Best effort, one write per controller as libcgroups does: one the parent lacks (or that
/// is already on) must not stop the others; a limit needing a missing one fails when applied.
fn v2_enable_controllers(dir: &Path, controllers: &[String]) {
    let path = dir.join("cgroup.subtree_control");
    for c in controllers {
        let _ = write_existing(&path, &[c.as_str()]);
    }
}

/// Writes each item with its own write(2) to an existing cgroup file (devices.allow takes one
/// rule per write).
fn write_existing(path: &Path, items: &[&str]) -> Result<(), CgroupError> {
    let werr = |err| CgroupError::Write {
        path: path.to_path_buf(),
        err,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(werr)?;
    for item in items {
        f.write_all(item.as_bytes()).map_err(werr)?;
    }
    Ok(())
}

/// The cgroup path from the config, validated: `/rampart-<id>` when unset; relative paths are
/// kept relative (the driver decides where they go, see `Cgroup::open`).
pub fn path_for(config: Option<&Path>, id: &str) -> Result<PathBuf, CgroupError> {
    let p = match config {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from(format!("/rampart-{id}")),
    };
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(CgroupError::BadPath { path: p });
    }
    Ok(p)
}

/// `slice:prefix:name` as the systemd driver wants it.
fn systemd_parts(p: &Path) -> Option<(String, String, String)> {
    let s = p.to_str()?;
    let mut it = s.split(':');
    let (slice, prefix, name) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || name.is_empty() || s.contains('/') {
        return None;
    }
    Some((slice.to_string(), prefix.to_string(), name.to_string()))
}

/// The cgroupfs path systemd gives `slice:prefix:name`: the slice expanded into its parents
/// ("a-b.slice" → "/a.slice/a-b.slice") and the unit `prefix-name.scope`.
fn systemd_cgroupfs_path(slice: &str, prefix: &str, name: &str) -> Result<PathBuf, CgroupError> {
    let bad = || CgroupError::SystemdPath {
        path: format!("{slice}:{prefix}:{name}"),
    };
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let mut out = PathBuf::from("/");
    if slice != "-.slice" {
        let stem = slice.strip_suffix(".slice").ok_or_else(bad)?;
        if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
            return Err(bad());
        }
        let mut acc = String::new();
        for part in stem.split('-') {
            if !acc.is_empty() {
                acc.push('-');
            }
            acc.push_str(part);
            out.push(format!("{acc}.slice"));
        }
    }
    if name.ends_with(".slice") {
        out.push(name);
    } else if prefix.is_empty() {
        out.push(format!("{name}.scope"));
    } else {
        out.push(format!("{prefix}-{name}.scope"));
    }
    Ok(out)
}

fn err(path: &Path, what: &'static str, e: impl std::fmt::Display) -> CgroupError {
    CgroupError::Manager {
        path: path.to_path_buf(),
        what,
        err: e.to_string(),
    }
}

impl Cgroup {
    /// Resolves the path for the driver and makes the manager; nothing is created yet.
    pub fn open(path: &Path, id: &str, driver: Driver) -> Result<Self, CgroupError> {
        let layout = layout()?;
        let (cgroup_path, systemd) = match driver {
            Driver::Systemd => {
                if !Path::new("/run/systemd/system").exists() {
                    return Err(CgroupError::NoSystemd);
                }
                let default = PathBuf::from(format!("/rampart-{id}"));
                let (slice, prefix, name) = if path == default {
                    ("system.slice".into(), "rampart".into(), id.to_string())
                } else {
                    systemd_parts(path).ok_or_else(|| CgroupError::SystemdPath {
                        path: path.display().to_string(),
                    })?
                };
                match layout {
                    // libcgroups talks to systemd over D-Bus on v2 hosts.
                    Layout::V2 => (PathBuf::from(format!("{slice}:{prefix}:{name}")), true),
                    // On v1 there is no D-Bus manager in libcgroups: place the cgroup where
                    // systemd would have put the scope, through cgroupfs.
                    Layout::V1 => (systemd_cgroupfs_path(&slice, &prefix, &name)?, false),
                }
            }
            _ if path.is_absolute() => (path.to_path_buf(), false),
            _ => (Path::new("/").join(path), false),
        };
        let config = CgroupConfig {
            cgroup_path: cgroup_path.clone(),
            systemd_cgroup: systemd,
            container_name: id.to_string(),
        };
        let mgr = OnceCell::new();
        // libcgroups' v1 manager cannot fail to be made (controllers it cannot find are left
        // out), so making it later changes no outcome; v2 and systemd managers may fail here.
        if layout == Layout::V2 {
            let m = libcgroups::common::create_cgroup_manager(config.clone())
                .map_err(|e| err(&cgroup_path, "opening", e))?;
            let _ = mgr.set(m);
        }
        let path = if systemd {
            let (slice, prefix, name) =
                systemd_parts(&cgroup_path).ok_or_else(|| CgroupError::SystemdPath {
                    path: cgroup_path.display().to_string(),
                })?;
            systemd_cgroupfs_path(&slice, &prefix, &name)?
        } else {
            cgroup_path
        };
        let v1_dirs = match layout {
            Layout::V1 => v1_dirs_for(&path),
            Layout::V2 => Vec::new(),
        };
        Ok(Cgroup {
            mgr,
            config,
            path,
            layout,
            v1_dirs,
            rootless: false,
        })
    }

    /// The directories an exec'd process goes into for `subs` (`exec --cgroup`), each checked to
    /// exist: on v1 one per hierarchy a sub-cgroup is named for (the catch-all form names all),
    /// on v2 the one sub-cgroup.
    pub fn sub_dirs(&self, subs: &[SubCgroup]) -> Result<Vec<PathBuf>, CgroupError> {
        let mut out: Vec<PathBuf> = Vec::new();
        let mut push = |d: PathBuf| -> Result<(), CgroupError> {
            if !d.is_dir() {
                return Err(CgroupError::NoSubCgroup { path: d });
            }
            if !out.contains(&d) {
                out.push(d);
            }
            Ok(())
        };
        match self.layout {
            Layout::V2 => {
                if let Some(s) = subs.iter().find(|s| !s.controllers.is_empty()) {
                    return Err(CgroupError::BadSubCgroup {
                        arg: format!("{}:{}", s.controllers.join(","), s.path.display()),
                        why: "cgroup v2 has one hierarchy: give the path alone".into(),
                    });
                }
                if subs.len() > 1 {
                    return Err(CgroupError::BadSubCgroup {
                        arg: subs
                            .iter()
                            .map(|s| s.path.display().to_string())
                            .collect::<Vec<_>>()
                            .join(" "),
                        why: "cgroup v2 has one hierarchy: give one path".into(),
                    });
                }
                if let Some(s) = subs.first() {
                    push(v2_dir(&self.path).join(&s.path))?;
                }
            }
            Layout::V1 => {
                for s in subs {
                    for c in &s.controllers {
                        if !self.v1_dirs.iter().any(|(name, _)| name == c) {
                            return Err(CgroupError::BadSubCgroup {
                                arg: format!("{c}:{}", s.path.display()),
                                why: format!("no {c} hierarchy holds the container"),
                            });
                        }
                    }
                }
                for (controller, dir) in &self.v1_dirs {
                    // A named controller wins over the catch-all form, as in runc.
                    let named = subs
                        .iter()
                        .find(|s| s.controllers.iter().any(|c| c == controller));
                    let any = subs.iter().find(|s| s.controllers.is_empty());
                    if let Some(s) = named.or(any) {
                        push(dir.join(&s.path))?;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Moves `pid` (already in the container's cgroup) into the directories of [`Self::sub_dirs`].
    pub fn move_to(&self, pid: i32, dirs: &[PathBuf]) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        for d in dirs {
            write_existing(&d.join("cgroup.procs"), &[pid.as_str()])?;
        }
        Ok(())
    }

    /// Marks the cgroup as a rootless caller's (see the `rootless` field).
    pub fn set_rootless(&mut self) {
        self.rootless = true;
    }

    fn mgr(&self) -> Result<&AnyCgroupManager, CgroupError> {
        if let Some(m) = self.mgr.get() {
            return Ok(m);
        }
        let m = libcgroups::common::create_cgroup_manager(self.config.clone())
            .map_err(|e| err(&self.path, "opening", e))?;
        Ok(self.mgr.get_or_init(|| m))
    }

    fn v1_dir_of(&self, controller: &'static str) -> Result<&Path, CgroupError> {
        self.v1_dirs
            .iter()
            .find(|(c, _)| *c == controller)
            .map(|(_, d)| d.as_path())
            .ok_or_else(|| CgroupError::NoController {
                path: self.path.clone(),
                controller,
            })
    }

    /// v1: creates the directory in every hierarchy and moves `pid` in, what libcgroups'
    /// `add_task` does, from the cached mount table (co-mounted controllers share a directory,
    /// written once).
    fn v1_add(&self, pid: i32) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        let mut done: Vec<&Path> = Vec::new();
        for (controller, dir) in &self.v1_dirs {
            if done.contains(&dir.as_path()) {
                continue;
            }
            std::fs::create_dir_all(dir).map_err(|err| CgroupError::CreateDir {
                path: dir.clone(),
                err,
            })?;
            if *controller == "cpuset" {
                if let Some(mp) = v1_mount_point("cpuset") {
                    cpuset_inherit(Path::new(mp), dir, "cpuset.cpus")?;
                    cpuset_inherit(Path::new(mp), dir, "cpuset.mems")?;
                }
            }
            write_existing(&dir.join("cgroup.procs"), &[pid.as_str()])?;
            done.push(dir);
        }
        Ok(())
    }

    /// v1 resources that are only device rules and a pids limit (the default config's), written
    /// as libcgroups' devices and pids controllers write them. False when anything else is set:
    /// then libcgroups applies the whole lot.
    fn v1_apply_common(
        &self,
        r: &LinuxResources,
        disable_oom_killer: bool,
    ) -> Result<bool, CgroupError> {
        let only_common = r.memory().is_none()
            && r.cpu().is_none()
            && r.block_io().is_none()
            && r.hugepage_limits().is_none()
            && r.network().is_none()
            && !disable_oom_killer;
        if !only_common {
            return Ok(false);
        }
        // Both hierarchies are checked before anything is written, as libcgroups does.
        let devices = self.v1_dir_of("devices")?;
        let pids = match r.pids() {
            Some(p) => Some((self.v1_dir_of("pids")?, p.limit())),
            None => None,
        };
        let (allow, deny) = (devices.join("devices.allow"), devices.join("devices.deny"));
        for d in r.devices().iter().flatten() {
            let rule = d.to_string();
            write_existing(if d.allow() { &allow } else { &deny }, &[rule.as_str()])?;
        }
        write_existing(&allow, &V1_DEFAULT_DEVICE_RULES)?;
        if let Some((dir, limit)) = pids {
            let limit = if limit > 0 {
                limit.to_string()
            } else {
                "max".to_string()
            };
            write_existing(&dir.join("pids.max"), &[limit.as_str()])?;
        }
        Ok(true)
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// True when systemd (over D-Bus, v2) makes and removes the cgroup, not this runtime.
    pub fn systemd_owned(&self) -> bool {
        self.config.systemd_cgroup
    }

    /// The cgroup's directory in every hierarchy the init is added to (v1: one per mount,
    /// co-mounted controllers share it; v2: the unified one).
    fn leaves(&self) -> Vec<PathBuf> {
        match self.layout {
            Layout::V1 => {
                let mut out: Vec<PathBuf> = Vec::new();
                for (_, d) in &self.v1_dirs {
                    if !out.contains(d) {
                        out.push(d.clone());
                    }
                }
                out
            }
            Layout::V2 => vec![Path::new(V2_ROOT).join(relative(&self.path))],
        }
    }

    /// Refuses a cgroup that already holds processes, in it or below it. runc 1.1.5 joins it
    /// with a deprecation warning, and then `kill --all` and `delete` take the other processes
    /// down (seen here with a `sleep` of the host); later runc refuses, and so does rampart: a
    /// shared cgroup's limits, freezer and kill-all would all reach processes that are not the
    /// container's. An existing empty cgroup is used as it is (and left in place by `delete`).
    pub fn check_unpopulated(&self) -> Result<(), CgroupError> {
        for leaf in self.leaves() {
            let count = procs_below(&leaf);
            if count > 0 {
                return Err(CgroupError::Populated { path: leaf, count });
            }
        }
        Ok(())
    }

    /// For a rootless caller: the first directory on the way to the cgroup, in any hierarchy,
    /// that this process may not write (the nearest existing level when the cgroup is still to
    /// be made, its cgroup.procs when it exists). None: the cgroup can be made and joined, as
    /// far as permissions tell; the kernel's rule for moving a process between cgroups (write
    /// access to the common ancestor's cgroup.procs) is checked by the move itself.
    pub fn not_writable(&self) -> Option<PathBuf> {
        for leaf in self.leaves() {
            let target = if leaf.exists() {
                leaf.join("cgroup.procs")
            } else {
                match leaf.ancestors().find(|p| p.exists()) {
                    Some(p) => p.to_path_buf(),
                    None => return Some(leaf),
                }
            };
            if !crate::syscalls::may_write(&target) {
                return Some(target);
            }
        }
        None
    }

    /// The directories `add` or `prepare_for_clone` are about to make: every level of the path
    /// missing now, in every hierarchy, parents first. Recorded in the state before any is made,
    /// so that `delete` removes these and nothing that existed before.
    pub fn dirs_to_make(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for leaf in self.leaves() {
            let mut missing: Vec<PathBuf> = leaf
                .ancestors()
                .take_while(|p| !p.exists())
                .map(Path::to_path_buf)
                .collect();
            missing.reverse();
            out.extend(missing);
        }
        out
    }

    /// cgroup v2 with the cgroupfs driver: makes the cgroup before the init exists and returns
    /// its directory open, for clone3(CLONE_INTO_CGROUP), so the init starts in it and `add`
    /// (a migration) is not needed. What libcgroups' v2 `add_task` does first, in the same way:
    /// a cgroup that exists is used as it is; otherwise the root's controllers (those
    /// libcgroups drives) are enabled, best effort, in the root and in every new level above the
    /// leaf, and the missing directories are made. None on v1/hybrid hosts and with the systemd
    /// driver (systemd makes the scope), which keep the old order.
    pub fn prepare_for_clone(&self) -> Result<Option<std::os::fd::OwnedFd>, CgroupError> {
        if self.layout != Layout::V2 || self.config.systemd_cgroup {
            return Ok(None);
        }
        let root = Path::new(V2_ROOT);
        let leaf = root.join(relative(&self.path));
        if !leaf.exists() {
            let controllers = v2_enableable_controllers(root)?;
            v2_enable_controllers(root, &controllers);
            let mut current = root.to_path_buf();
            let mut components = relative(&self.path).components().peekable();
            while let Some(c) = components.next() {
                current.push(c);
                if !current.exists() {
                    std::fs::create_dir(&current).map_err(|err| CgroupError::CreateDir {
                        path: current.clone(),
                        err,
                    })?;
                }
                // A leaf with controllers in its subtree_control could not hold the init.
                if components.peek().is_some() {
                    v2_enable_controllers(&current, &controllers);
                }
            }
        }
        crate::syscalls::open(&leaf, libc::O_RDONLY | libc::O_DIRECTORY, 0)
            .map(Some)
            .map_err(|err| CgroupError::OpenDir { path: leaf, err })
    }

    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        if self.layout == Layout::V1 {
            return self.v1_add(pid);
        }
        self.mgr()?
            .add_task(Pid::from_raw(pid))
            .map_err(|e| err(&self.path, "adding the init", e))
    }

    /// Applies `linux.resources` (at create, and again for `update`). Kernel memory limits are
    /// ignored with a warning (the kernel dropped them); rdma goes through the rdma controller,
    /// which libcgroups does not drive.
    pub fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        let mut r = resources.clone();
        if let Some(mut m) = *r.memory() {
            if m.kernel().is_some() || m.kernel_tcp().is_some() {
                logging::warn("linux.resources.memory.kernel and kernelTCP are ignored: the kernel no longer supports kernel memory limits");
                m.set_kernel(None).set_kernel_tcp(None);
                r.set_memory(Some(m));
            }
        }
        if self.layout == Layout::V1 && r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::UnifiedOnV1);
        }
        self.check_before_update(&r)?;
        let rdma = r.rdma().clone().filter(|m| !m.is_empty());
        if let (Some(rdma), Layout::V2) = (&rdma, self.layout) {
            // cgroup v2's rdma.max takes the same lines as v1; hand them over as a unified key.
            let mut unified = r.unified().clone().unwrap_or_default();
            unified.insert("rdma.max".into(), rdma_lines(rdma).join("\n"));
            r.set_unified(Some(unified));
        }
        r.set_rdma(None);
        if self.rootless {
            r.set_devices(None);
        }
        let disable_oom_killer = r
            .memory()
            .as_ref()
            .and_then(|m| m.disable_oom_killer())
            .unwrap_or(false);
        let common = self.layout == Layout::V1 && self.v1_apply_common(&r, disable_oom_killer)?;
        if !common {
            let applied = self.mgr()?.apply(&ControllerOpt {
                resources: &r,
                disable_oom_killer,
                oom_score_adj: None,
                freezer_state: None,
            });
            match applied {
                Ok(()) => {}
                // libcgroups' v2 manager always loads a device program, last but for the unified
                // keys: rootless, where it cannot, the limits before it are in place and the
                // unified keys are written here.
                Err(libcgroups::common::AnyManagerError::V2(
                    libcgroups::v2::manager::V2ManagerError::DevicesController(_),
                )) if self.rootless => self.v2_unified(&r)?,
                Err(e) => return Err(err(&self.path, "applying resources", e)),
            }
        }
        if self.layout == Layout::V2 {
            self.v2_no_swap(&r)?;
        }
        if let (Some(rdma), Layout::V1) = (&rdma, self.layout) {
            let dir = v1_dir("rdma", &self.path).ok_or(CgroupError::NoRdma)?;
            for line in rdma_lines(rdma) {
                let f = dir.join("rdma.max");
                std::fs::write(&f, &line).map_err(|err| CgroupError::Write { path: f, err })?;
            }
        }
        Ok(())
    }

    /// linux.resources.unified written key by key into the cgroup's directory.
    fn v2_unified(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        for (key, value) in r.unified().iter().flatten() {
            if key.contains('/') || key.starts_with('.') {
                return Err(CgroupError::Write {
                    path: v2_dir(&self.path).join(key),
                    err: std::io::ErrorKind::InvalidInput.into(),
                });
            }
            let f = v2_dir(&self.path).join(key);
            std::fs::write(&f, value).map_err(|err| CgroupError::Write { path: f, err })?;
        }
        Ok(())
    }

    /// swap == limit means "no swap" (v1's memsw is memory plus swap). libcgroups converts that
    /// to a v2 memory.swap.max of 0 but skips writing zeros, which would leave swap unlimited.
    fn v2_no_swap(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let Some(m) = r.memory() else { return Ok(()) };
        if let (Some(limit), Some(swap)) = (m.limit(), m.swap()) {
            if limit > 0 && swap == limit {
                let f = v2_dir(&self.path).join("memory.swap.max");
                std::fs::write(&f, "0").map_err(|err| CgroupError::Write { path: f, err })?;
            }
        }
        Ok(())
    }

    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        self.mgr()?
            .get_all_pids()
            .map(|v| v.into_iter().map(|p| p.as_raw()).collect())
            .map_err(|e| err(&self.path, "listing processes", e))
    }

    pub fn freeze(&self, frozen: bool) -> Result<(), CgroupError> {
        let st = if frozen {
            FreezerState::Frozen
        } else {
            FreezerState::Thawed
        };
        self.mgr()?
            .freeze(st)
            .map_err(|e| err(&self.path, if frozen { "freezing" } else { "thawing" }, e))
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        self.mgr()?
            .stats()
            .map_err(|e| err(&self.path, "reading statistics", e))
    }

    /// How many processes the kernel's OOM killer killed in this cgroup (None when the memory
    /// controller is not there to say).
    pub fn oom_kills(&self) -> Option<u64> {
        let (dir, file) = match self.layout {
            Layout::V1 => (v1_dir("memory", &self.path)?, "memory.oom_control"),
            Layout::V2 => (v2_dir(&self.path), "memory.events"),
        };
        let text = std::fs::read_to_string(dir.join(file)).ok()?;
        flat_keyed(&text).get("oom_kill").copied()
    }

    /// memory.checkBeforeUpdate: a limit below what the cgroup uses now is refused, as cgroup
    /// v1's kernel does by itself; on v2 the kernel would take it and OOM-kill instead.
    fn check_before_update(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let Some(m) = r
            .memory()
            .as_ref()
            .filter(|m| m.check_before_update() == Some(true))
        else {
            return Ok(());
        };
        let Some(limit) = m.limit().filter(|l| *l > 0) else {
            return Ok(());
        };
        let Some(dir) = self.memory_dir() else {
            return Ok(());
        };
        let file = dir.join(match self.layout {
            Layout::V1 => "memory.usage_in_bytes",
            Layout::V2 => "memory.current",
        });
        // A cgroup not made yet uses nothing.
        let Ok(text) = std::fs::read_to_string(&file) else {
            return Ok(());
        };
        match text.trim().parse::<i64>() {
            Ok(usage) if usage > limit => Err(CgroupError::BelowUsage {
                path: file,
                usage,
                limit,
            }),
            _ => Ok(()),
        }
    }

    /// The cgroup's directory of the memory controller (v1) or the unified hierarchy (v2).
    pub fn memory_dir(&self) -> Option<PathBuf> {
        match self.layout {
            Layout::V1 => v1_dir("memory", &self.path),
            Layout::V2 => Some(v2_dir(&self.path)),
        }
    }

    /// Kills whatever is left and removes the cgroup directories.
    pub fn remove(&self) -> Result<(), CgroupError> {
        // A frozen cgroup's processes cannot die of SIGKILL until thawed.
        if is_frozen(&self.path) {
            let _ = self.freeze(false);
        }
        self.mgr()?
            .remove()
            .map_err(|e| err(&self.path, "removing", e))
    }
}

/// `hca_handle`/`hca_object` limits as rdma.max lines ("mlx4_0 hca_handle=2 hca_object=2000").
fn rdma_lines(rdma: &HashMap<String, oci_spec::runtime::LinuxRdma>) -> Vec<String> {
    let mut names: Vec<&String> = rdma.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|dev| {
            let r = &rdma[dev];
            let mut line = dev.clone();
            if let Some(h) = r.hca_handles() {
                line.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = r.hca_objects() {
                line.push_str(&format!(" hca_object={o}"));
            }
            line
        })
        .collect()
}

/// "key value" lines (memory.events, memory.oom_control, pids.events) as a map.
pub fn flat_keyed(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn relative(path: &Path) -> &Path {
    path.strip_prefix("/").unwrap_or(path)
}

/// The directory of `path` in the v1 hierarchy that carries `controller`.
pub fn v1_dir(controller: &str, path: &Path) -> Option<PathBuf> {
    mount_table()
        .iter()
        .filter(|m| m.fstype == "cgroup")
        .find(|m| m.super_opts.split(',').any(|o| o == controller))
        .map(|m| Path::new(&m.mount_point).join(relative(path)))
}

fn v2_dir(path: &Path) -> PathBuf {
    Path::new(libcgroups::common::DEFAULT_CGROUP_ROOT).join(relative(path))
}

/// True when the container's freezer says it is frozen.
pub fn is_frozen(path: &Path) -> bool {
    if let Some(dir) = v1_dir("freezer", path) {
        if let Ok(s) = std::fs::read_to_string(dir.join("freezer.state")) {
            return s.trim() == "FROZEN";
        }
    }
    std::fs::read_to_string(v2_dir(path).join("cgroup.freeze"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

/// Removes the cgroup of a stopped container when it is empty, without a libcgroups manager:
/// one read of mountinfo and an rmdir per hierarchy. Making the manager re-reads mountinfo and
/// /proc/self/cgroup through a verified procfs handle once per controller, which was the
/// largest single cost of `delete` (and so of `run`) on a v1 host. Returns false when this did
/// not finish the job: a directory the kernel would not remove (processes left, children) or
/// nothing found to remove; the caller then goes through `Cgroup::open` + `remove`, which kill
/// what is left and tolerate the directories already removed here.
pub fn remove_empty(path: &Path) -> bool {
    let hierarchies = container_mounts();
    let mut removed = false;
    for h in &hierarchies {
        let dir = Path::new("/sys/fs/cgroup")
            .join(&h.name)
            .join(relative(path));
        match std::fs::remove_dir(&dir) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return false,
        }
    }
    removed
}

/// One cgroup hierarchy to mount inside the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HierarchyMount {
    /// Directory name under the container's cgroup mount point ("" for a v2 unified mount).
    pub name: String,
    pub fstype: String,
    /// fsconfig options: controllers ("memory") or name=... for named hierarchies.
    pub options: Vec<(String, Option<String>)>,
}

/// The hierarchies the host has mounted under /sys/fs/cgroup, read from mountinfo, so the
/// container gets the same layout (each mounted read-only inside its cgroup namespace).
pub fn container_mounts() -> Vec<HierarchyMount> {
    hierarchies_in(mount_table())
}

/// The cgroup hierarchies mounted under /sys/fs/cgroup in `table`.
pub(crate) fn hierarchies_in(table: &[Mount]) -> Vec<HierarchyMount> {
    let mut out = Vec::new();
    for m in table {
        let (fstype, super_opts) = (m.fstype.as_str(), m.super_opts.as_str());
        // Only /sys/fs/cgroup itself and what is below it (not /sys/fs/cgroupX).
        let Some(rel) = m
            .mount_point
            .strip_prefix("/sys/fs/cgroup")
            .filter(|r| r.is_empty() || r.starts_with('/'))
        else {
            continue;
        };
        match fstype {
            "cgroup2" => out.push(HierarchyMount {
                name: rel.trim_start_matches('/').to_string(),
                fstype: "cgroup2".into(),
                options: Vec::new(),
            }),
            "cgroup" => {
                let options = super_opts
                    .split(',')
                    .filter(|o| *o != "rw" && *o != "ro" && !o.is_empty())
                    .filter(|o| !o.starts_with("release_agent") && *o != "clone_children")
                    // "=x" names no option: fsconfig would refuse an empty key (found by
                    // the mountinfo fuzzer).
                    .filter_map(|o| match o.split_once('=') {
                        Some(("", _)) => None,
                        Some((k, v)) => Some((k.to_string(), Some(v.to_string()))),
                        None => Some((o.to_string(), None)),
                    })
                    .collect();
                out.push(HierarchyMount {
                    name: rel.trim_start_matches('/').to_string(),
                    fstype: "cgroup".into(),
                    options,
                })
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_skip_look_alike_mount_points_and_empty_option_keys() {
        let info = "30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,=x,memory\n\
                    31 25 0:27 / /sys/fs/cgroupX rw - cgroup cgroup rw,pids\n\
                    32 25 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let h = hierarchies_in(&mountinfo::parse(info));
        let names: Vec<&str> = h.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["memory", ""]);
        assert_eq!(h[0].options, [("memory".to_string(), None)]);
    }

    #[test]
    fn default_and_relative_paths() {
        assert_eq!(path_for(None, "c1").unwrap(), PathBuf::from("/rampart-c1"));
        assert_eq!(
            path_for(Some(Path::new("a/b")), "c1").unwrap(),
            PathBuf::from("a/b")
        );
        assert!(path_for(Some(Path::new("/a/../b")), "c1").is_err());
    }

    #[test]
    fn systemd_form() {
        assert_eq!(
            systemd_parts(Path::new("system.slice:docker:abc")),
            Some(("system.slice".into(), "docker".into(), "abc".into()))
        );
        assert_eq!(systemd_parts(Path::new("/a/b")), None);
        assert_eq!(systemd_parts(Path::new("a:b")), None);
        assert_eq!(
            systemd_cgroupfs_path("user-1000.slice", "rampart", "c1").unwrap(),
            PathBuf::from("/user.slice/user-1000.slice/rampart-c1.scope")
        );
        assert_eq!(
            systemd_cgroupfs_path("", "", "c1").unwrap(),
            PathBuf::from("/system.slice/c1.scope")
        );
        assert!(systemd_cgroupfs_path("bad", "p", "c1").is_err());
    }

    #[test]
    fn mount_points_by_controller_name() {
        assert!(mount_point_is_for("/sys/fs/cgroup/memory", "memory"));
        assert!(mount_point_is_for("/sys/fs/cgroup/cpu,cpuacct", "cpu"));
        assert!(mount_point_is_for("/sys/fs/cgroup/cpu,cpuacct", "cpuacct"));
        assert!(mount_point_is_for("/sys/fs/cgroup/cpuacct", "cpuacct"));
        assert!(!mount_point_is_for("/sys/fs/cgroup/cpuacct", "cpu"));
        assert!(mount_point_is_for(
            "/sys/fs/cgroup/net_cls,net_prio",
            "net_prio"
        ));
        assert!(!mount_point_is_for("/sys/fs/cgroup/cpuset", "cpu"));
        assert!(!mount_point_is_for("/sys/fs/cgroup/devices", "memory"));
    }

    #[test]
    fn device_rules_start_from_deny_all() {
        let r = resources_at_create(None);
        let rules: Vec<String> = r
            .devices()
            .iter()
            .flatten()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(rules, ["a *:* rwm"]);
        assert!(!r.devices().as_ref().unwrap()[0].allow());

        let config: LinuxResources = serde_json::from_str(
            r#"{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}],
                "pids": {"limit": 5}}"#,
        )
        .unwrap();
        let r = resources_at_create(Some(&config));
        let rules: Vec<(bool, String)> = r
            .devices()
            .iter()
            .flatten()
            .map(|d| (d.allow(), d.to_string()))
            .collect();
        assert_eq!(
            rules,
            [(false, "a *:* rwm".into()), (true, "c 1:11 w".into())]
        );
        assert_eq!(r.pids().as_ref().unwrap().limit(), 5);
    }

    #[test]
    fn flat_keyed_files() {
        let m = flat_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        assert_eq!(m.get("oom_kill"), Some(&3));
        assert_eq!(m.get("under_oom"), Some(&0));
    }
}
