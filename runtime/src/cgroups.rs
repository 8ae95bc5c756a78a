//! The container's cgroup, through the `libcgroups` crate (v1, hybrid and v2 hosts).
//!
//! The runtime creates the cgroup and applies `linux.resources` before the init may continue,
//! moves the init into it, and at delete kills what is left and removes it. Inside the container
//! the cgroup filesystem is mounted read-only (see `container_mounts`), so a process cannot lift
//! its own limits.

use libcgroups::common::{AnyCgroupManager, CgroupConfig, CgroupManager, ControllerOpt, FreezerState};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

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
    #[error("the systemd cgroup driver needs a running systemd (none found on this host); use the cgroupfs driver")]
    NoSystemd,
}

/// How the CLI asked for cgroups to be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    Cgroupfs,
    Systemd,
    Disabled,
}

pub struct Cgroup {
    mgr: AnyCgroupManager,
    pub path: PathBuf,
}

/// The cgroup path for a container: the config's `cgroupsPath` (relative ones are placed under the
/// root of the hierarchy), or `/rampart-<id>` when unset.
pub fn path_for(config: Option<&Path>, id: &str) -> Result<PathBuf, CgroupError> {
    let p = match config {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from(format!("/rampart-{id}")),
    };
    if p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(CgroupError::BadPath { path: p });
    }
    Ok(if p.is_absolute() {
        p
    } else {
        Path::new("/").join(p)
    })
}

fn err(path: &Path, what: &'static str, e: impl std::fmt::Display) -> CgroupError {
    CgroupError::Manager {
        path: path.to_path_buf(),
        what,
        err: e.to_string(),
    }
}

impl Cgroup {
    pub fn open(path: &Path, id: &str, driver: Driver) -> Result<Self, CgroupError> {
        if driver == Driver::Systemd && !Path::new("/run/systemd/system").exists() {
            return Err(CgroupError::NoSystemd);
        }
        let mgr = libcgroups::common::create_cgroup_manager(CgroupConfig {
            cgroup_path: path.to_path_buf(),
            systemd_cgroup: driver == Driver::Systemd,
            container_name: id.to_string(),
        })
        .map_err(|e| err(path, "opening", e))?;
        Ok(Cgroup {
            mgr,
            path: path.to_path_buf(),
        })
    }

    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        self.mgr
            .add_task(Pid::from_raw(pid))
            .map_err(|e| err(&self.path, "adding the init", e))
    }

    pub fn apply(&self, resources: &oci_spec::runtime::LinuxResources) -> Result<(), CgroupError> {
        let disable_oom_killer = resources
            .memory()
            .as_ref()
            .and_then(|m| m.disable_oom_killer())
            .unwrap_or(false);
        self.mgr
            .apply(&ControllerOpt {
                resources,
                disable_oom_killer,
                oom_score_adj: None,
                freezer_state: None,
            })
            .map_err(|e| err(&self.path, "applying resources", e))
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
            .map_err(|e| err(&self.path, "freezing", e))
    }

    /// Kills whatever is left and removes the cgroup directories.
    pub fn remove(&self) -> Result<(), CgroupError> {
        self.mgr.remove().map_err(|e| err(&self.path, "removing", e))
    }
}

/// True when the container's freezer says it is frozen.
pub fn is_frozen(path: &Path) -> bool {
    let v1 = Path::new("/sys/fs/cgroup/freezer")
        .join(path.strip_prefix("/").unwrap_or(path))
        .join("freezer.state");
    if let Ok(s) = std::fs::read_to_string(&v1) {
        return s.trim() == "FROZEN";
    }
    let v2 = Path::new("/sys/fs/cgroup")
        .join(path.strip_prefix("/").unwrap_or(path))
        .join("cgroup.freeze");
    std::fs::read_to_string(v2).map(|s| s.trim() == "1").unwrap_or(false)
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
            PathBuf::from("/a/b")
        );
        assert!(path_for(Some(Path::new("/a/../b")), "c1").is_err());
    }
}
