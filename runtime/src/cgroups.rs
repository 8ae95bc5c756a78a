//! The container's cgroup, through the `libcgroups` crate (v1, hybrid and v2 hosts).
//!
//! Order of calls at create: `Cgroup::open` (resolves the path for the driver, touches nothing) →
//! `add` the init (libcgroups creates the directories when the first task is added) → `apply`
//! the resources, all before the init may continue. Later commands re-open the cgroup by the
//! cgroupfs path kept in the state (`Cgroup::path`): `pause`/`resume` (`freeze`), `ps` (`pids`),
//! `update` (`apply` again), `events` (`stats`, `oom_kills`). `delete` and failed creates call
//! `remove`, which kills what is left and removes the directories.
//!
//! Inside the container the cgroup filesystem is mounted read-only (see `container_mounts` and
//! rootfs.rs), so a process cannot lift its own limits.
//!
//! cgroupsPath semantics (cgroupfs driver): absolute paths are taken from the root of each
//! hierarchy; relative ones are placed under that root too (the default parent is the hierarchy
//! root, not the runtime's own cgroup, which on some hosts is a supervisor's memory cgroup);
//! unset means `/rampart-<id>`. With `--systemd-cgroup` the path must be `slice:prefix:name`.

pub mod commands;

use libcgroups::common::{
    AnyCgroupManager, CgroupConfig, CgroupManager, CgroupSetup, ControllerOpt, FreezerState,
};
use libcgroups::stats::Stats;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::logging;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
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
    Write {
        path: PathBuf,
        err: std::io::Error,
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
    mgr: AnyCgroupManager,
    /// The cgroup's path relative to the root of every hierarchy (always absolute).
    pub path: PathBuf,
    layout: Layout,
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
    let slice = if slice.is_empty() { "system.slice" } else { slice };
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
        let mgr = libcgroups::common::create_cgroup_manager(CgroupConfig {
            cgroup_path: cgroup_path.clone(),
            systemd_cgroup: systemd,
            container_name: id.to_string(),
        })
        .map_err(|e| err(&cgroup_path, "opening", e))?;
        let path = if systemd {
            let (slice, prefix, name) = systemd_parts(&cgroup_path).ok_or_else(|| {
                CgroupError::SystemdPath {
                    path: cgroup_path.display().to_string(),
                }
            })?;
            systemd_cgroupfs_path(&slice, &prefix, &name)?
        } else {
            cgroup_path
        };
        Ok(Cgroup { mgr, path, layout })
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        self.mgr
            .add_task(Pid::from_raw(pid))
            .map_err(|e| err(&self.path, "adding the init", e))
    }

    /// Applies `linux.resources` (at create, and again for `update`). Kernel memory limits are
    /// ignored with a warning (the kernel dropped them); rdma goes through the rdma controller,
    /// which libcgroups does not drive.
    pub fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        let mut r = resources.clone();
        if let Some(mut m) = r.memory().clone() {
            if m.kernel().is_some() || m.kernel_tcp().is_some() {
                logging::warn("linux.resources.memory.kernel and kernelTCP are ignored: the kernel no longer supports kernel memory limits");
                m.set_kernel(None).set_kernel_tcp(None);
                r.set_memory(Some(m));
            }
        }
        if self.layout == Layout::V1 && r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::UnifiedOnV1);
        }
        let rdma = r.rdma().clone().filter(|m| !m.is_empty());
        if let (Some(rdma), Layout::V2) = (&rdma, self.layout) {
            // cgroup v2's rdma.max takes the same lines as v1; hand them over as a unified key.
            let mut unified = r.unified().clone().unwrap_or_default();
            unified.insert("rdma.max".into(), rdma_lines(rdma).join("\n"));
            r.set_unified(Some(unified));
        }
        r.set_rdma(None);
        let disable_oom_killer = r
            .memory()
            .as_ref()
            .and_then(|m| m.disable_oom_killer())
            .unwrap_or(false);
        self.mgr
            .apply(&ControllerOpt {
                resources: &r,
                disable_oom_killer,
                oom_score_adj: None,
                freezer_state: None,
            })
            .map_err(|e| err(&self.path, "applying resources", e))?;
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
        self.mgr
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
        self.mgr
            .freeze(st)
            .map_err(|e| err(&self.path, if frozen { "freezing" } else { "thawing" }, e))
    }

    pub fn stats(&self) -> Result<Stats, CgroupError> {
        self.mgr
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
        self.mgr.remove().map_err(|e| err(&self.path, "removing", e))
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
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mount_point = left.split(' ').nth(4)?;
        let mut r = right.split(' ');
        if r.next()? != "cgroup" {
            return None;
        }
        let opts = r.nth(1)?;
        opts.split(',')
            .any(|o| o == controller)
            .then(|| Path::new(mount_point).join(relative(path)))
    })
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
        let dir = Path::new("/sys/fs/cgroup").join(&h.name).join(relative(path));
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
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split(' ').nth(4).unwrap_or("");
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        let _source = r.next();
        let super_opts = r.next().unwrap_or("");
        let Some(rel) = mount_point.strip_prefix("/sys/fs/cgroup") else {
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
                    .map(|o| match o.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (o.to_string(), None),
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
    fn flat_keyed_files() {
        let m = flat_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        assert_eq!(m.get("oom_kill"), Some(&3));
        assert_eq!(m.get("under_oom"), Some(&0));
    }
}
