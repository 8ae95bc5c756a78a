//! `linux.intelRdt`: cache and memory-bandwidth allocation (and monitoring) through the
//! kernel's resctrl filesystem. The container's processes are put in a resctrl group, a
//! directory of the resctrl mount with `schemata` and `tasks` files:
//! - `closID` names a group shared between containers; without it the group is the container's
//!   own, named after its id;
//! - a group that exists already is used as it is, but only if the schemata the config asks for
//!   are what it holds (the runtime-spec: a mismatch is an error, not a silent rewrite);
//! - a group that does not exist is made and given the schemata (a closID group with no
//!   schemata must exist already: it is somebody else's class of service);
//! - `enableMonitoring` adds a monitoring group `mon_groups/<id>` under it.
//!
//! Groups are made only after the state records them, so `delete` (and `delete -f` after a
//! crash) removes exactly what this create made. Removing a resctrl directory hands its tasks
//! back to the parent group; the kernel does it, nothing is lost.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum IntelRdtError {
    #[error("linux.intelRdt: this host has no resctrl filesystem mounted (no mount of type resctrl in /proc/self/mountinfo), so the cache and memory-bandwidth allocation cannot be applied")]
    NoResctrl,
    #[error("linux.intelRdt.closID {clos_id:?} is not a resctrl group name: {why}")]
    BadClosId { clos_id: String, why: &'static str },
    #[error("linux.intelRdt: schemata line {line:?} is not RESOURCE:DOMAIN=VALUE;...")]
    BadSchema { line: String },
    #[error("linux.intelRdt.closID {clos_id}: no such resctrl group at {path}, and the config gives no schemata to make it with")]
    NoSuchGroup { clos_id: String, path: PathBuf },
    #[error("linux.intelRdt.closID {clos_id}: the group's schemata for {resource} are {have:?}, the config asks for {want:?}")]
    Mismatch {
        clos_id: String,
        resource: String,
        have: String,
        want: String,
    },
    #[error("linux.intelRdt.{field}: this host's resctrl does not offer {feature} ({path})")]
    NoMonitoring {
        field: &'static str,
        feature: &'static str,
        path: PathBuf,
    },
    #[error("update --{flag}: this host has no resctrl filesystem mounted (no mount of type resctrl in /proc/self/mountinfo: no Intel RDT, or resctrl not mounted), so the schema cannot be applied")]
    UpdateNoResctrl { flag: &'static str },
    #[error(
        "update --{flag}: Intel RDT/{feature} is not enabled on this host: resctrl has no {path}"
    )]
    UpdateNotEnabled {
        flag: &'static str,
        feature: &'static str,
        path: PathBuf,
    },
    #[error("update --{flag} {line:?}: not a schemata line for {want} (expected {want}:<domain>=<value>;...)")]
    UpdateBadLine {
        flag: &'static str,
        line: String,
        want: &'static str,
    },
    #[error("update --{flag}: container {id} was created without linux.intelRdt, so it has no resctrl group to update")]
    UpdateNoGroup { flag: &'static str, id: String },
    #[error("update --{flag}: container {id} is in the resctrl group {path} (linux.intelRdt.closID) that it did not make: its schemata are shared with every container in it and are not changed by one container's update")]
    UpdateSharedGroup {
        flag: &'static str,
        id: String,
        path: PathBuf,
    },
    #[error("linux.intelRdt: {step} {path}: {err}")]
    Io {
        step: &'static str,
        path: PathBuf,
        err: io::Error,
    },
}

/// The validated section: the schemata lines to write and what the group is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntelRdtPlan {
    pub clos_id: Option<String>,
    /// `schemata`, then `l3CacheSchema`, then `memBwSchema`, one schemata line each.
    pub lines: Vec<String>,
    pub monitoring: bool,
    /// The deprecated enableCMT / enableMBM: the kernel counts for every group by itself, so
    /// they only require that the host offers the counter.
    pub cmt: bool,
    pub mbm: bool,
}

#[allow(deprecated)] // enableCMT and enableMBM are still accepted, as the spec says.
pub fn plan(
    rdt: Option<&oci_spec::runtime::LinuxIntelRdt>,
) -> Result<Option<IntelRdtPlan>, IntelRdtError> {
    let Some(rdt) = rdt else {
        return Ok(None);
    };
    let clos_id = rdt.clos_id().clone().filter(|c| !c.is_empty());
    if let Some(c) = &clos_id {
        let why = if c == "." || c == ".." {
            Some("it is a path component")
        } else if c.contains('/') || c.contains('\0') || c.contains('\n') {
            Some("it contains '/', a NUL or a newline")
        } else if c == "info" || c == "mon_groups" || c == "mon_data" {
            Some("the name is resctrl's own")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(IntelRdtError::BadClosId {
                clos_id: c.clone(),
                why,
            });
        }
    }
    let mut lines = Vec::new();
    let given = rdt
        .schemata()
        .iter()
        .flatten()
        .chain(rdt.l3_cache_schema())
        .chain(rdt.mem_bw_schema());
    for l in given {
        for line in l.lines().map(str::trim).filter(|l| !l.is_empty()) {
            parse_line(line)?;
            lines.push(line.to_string());
        }
    }
    Ok(Some(IntelRdtPlan {
        clos_id,
        lines,
        monitoring: rdt.enable_monitoring().unwrap_or(false),
        cmt: rdt.enable_cmt().unwrap_or(false),
        mbm: rdt.enable_mbm().unwrap_or(false),
    }))
}

/// "L3:0=ff;1=f0" into ("L3", [("0", "ff"), ("1", "f0")]).
fn parse_line(line: &str) -> Result<(String, Vec<(String, String)>), IntelRdtError> {
    let bad = || IntelRdtError::BadSchema {
        line: line.to_string(),
    };
    let (res, doms) = line.split_once(':').ok_or_else(bad)?;
    let res = res.trim();
    if res.is_empty() {
        return Err(bad());
    }
    let mut out = Vec::new();
    for d in doms.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let (id, v) = d.split_once('=').ok_or_else(bad)?;
        if id.trim().is_empty() || v.trim().is_empty() {
            return Err(bad());
        }
        out.push((id.trim().to_string(), v.trim().to_string()));
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok((res.to_string(), out))
}

/// A domain value as the kernel would print it back: cache bitmasks (L2, L3, their CODE/DATA
/// halves) are hex and the kernel drops leading zeros; bandwidth is decimal.
fn normalise(resource: &str, value: &str) -> String {
    let parsed = if resource.starts_with('L') {
        u64::from_str_radix(value.trim_start_matches("0x"), 16).ok()
    } else {
        value.parse::<u64>().ok()
    };
    parsed.map_or_else(|| value.to_lowercase(), |v| v.to_string())
}

/// Where resctrl is mounted, from the mountinfo text (field 9, after " - ", is the type).
pub fn resctrl_root_in(mountinfo: &str) -> Option<PathBuf> {
    crate::mountinfo::parse(mountinfo)
        .into_iter()
        .find(|m| m.fstype == "resctrl")
        .map(|m| PathBuf::from(m.mount_point))
}

pub fn resctrl_root() -> Result<PathBuf, IntelRdtError> {
    let text = fs::read_to_string("/proc/self/mountinfo").map_err(|err| IntelRdtError::Io {
        step: "reading",
        path: PathBuf::from("/proc/self/mountinfo"),
        err,
    })?;
    resctrl_root_in(&text).ok_or(IntelRdtError::NoResctrl)
}

/// What a container's resctrl placement is: the group whose `tasks` its processes join, the
/// monitoring group under it if any, and the directories this create makes (parents first).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    pub group: PathBuf,
    pub mon_group: Option<PathBuf>,
    pub made: Vec<PathBuf>,
}

/// Decides the placement under the resctrl mount `root` and checks it against what exists,
/// before anything is made: the caller records it in the state, then calls [`make`].
pub fn place(root: &Path, p: &IntelRdtPlan, id: &str) -> Result<Placement, IntelRdtError> {
    let group = root.join(p.clos_id.as_deref().unwrap_or(id));
    let mut made = Vec::new();
    if group.is_dir() {
        if let Some(c) = &p.clos_id {
            check_schemata(&group, c, &p.lines)?;
        }
    } else if p.clos_id.is_some() && p.lines.is_empty() {
        return Err(IntelRdtError::NoSuchGroup {
            clos_id: p.clos_id.clone().unwrap_or_default(),
            path: group,
        });
    } else {
        made.push(group.clone());
    }
    for (on, field, feature) in [
        (p.cmt, "enableCMT", "llc_occupancy"),
        (p.mbm, "enableMBM", "mbm_total_bytes"),
    ] {
        let path = root.join("info/L3_MON/mon_features");
        if on && !fs::read_to_string(&path).is_ok_and(|t| t.lines().any(|l| l.trim() == feature)) {
            return Err(IntelRdtError::NoMonitoring {
                field,
                feature,
                path,
            });
        }
    }
    let mon_group = if p.monitoring {
        if !root.join("info/L3_MON").is_dir() {
            return Err(IntelRdtError::NoMonitoring {
                field: "enableMonitoring",
                feature: "monitoring groups",
                path: root.join("info/L3_MON"),
            });
        }
        let m = group.join("mon_groups").join(id);
        made.push(m.clone());
        Some(m)
    } else {
        None
    };
    Ok(Placement {
        group,
        mon_group,
        made,
    })
}

/// An existing group must hold the lines the config gives: each domain the config names must
/// have the same value there.
fn check_schemata(group: &Path, clos_id: &str, lines: &[String]) -> Result<(), IntelRdtError> {
    if lines.is_empty() {
        return Ok(());
    }
    let path = group.join("schemata");
    let text = fs::read_to_string(&path).map_err(|err| IntelRdtError::Io {
        step: "reading",
        path: path.clone(),
        err,
    })?;
    let have: Vec<_> = text
        .lines()
        .filter_map(|l| parse_line(l.trim()).ok())
        .collect();
    for line in lines {
        let (res, doms) = parse_line(line)?;
        let existing = have.iter().find(|(r, _)| *r == res);
        let matches = existing.is_some_and(|(_, hd)| {
            doms.iter().all(|(id, v)| {
                hd.iter()
                    .any(|(hid, hv)| hid == id && normalise(&res, hv) == normalise(&res, v))
            })
        });
        if !matches {
            return Err(IntelRdtError::Mismatch {
                clos_id: clos_id.to_string(),
                resource: res,
                have: existing.map_or_else(String::new, |(r, d)| {
                    let doms: Vec<_> = d.iter().map(|(i, v)| format!("{i}={v}")).collect();
                    format!("{r}:{}", doms.join(";"))
                }),
                want: line.clone(),
            });
        }
    }
    Ok(())
}

/// Makes the placement's directories and writes the schemata into a group it made.
pub fn make(pl: &Placement, p: &IntelRdtPlan) -> Result<(), IntelRdtError> {
    for d in &pl.made {
        fs::create_dir(d).map_err(|err| IntelRdtError::Io {
            step: "making the group",
            path: d.clone(),
            err,
        })?;
    }
    if pl.made.first() == Some(&pl.group) && !p.lines.is_empty() {
        let path = pl.group.join("schemata");
        // One write: the kernel applies the lines together, or refuses them with the reason in
        // info/last_cmd_status.
        let text = p.lines.join("\n") + "\n";
        fs::write(&path, text).map_err(|err| IntelRdtError::Io {
            step: "writing the schemata to",
            path,
            err,
        })?;
    }
    Ok(())
}

/// Puts `pid` in the placement's group (its monitoring group when there is one, which is a
/// member of the group too).
pub fn join(pl: &Placement, pid: i32) -> Result<(), IntelRdtError> {
    let path = pl.mon_group.as_ref().unwrap_or(&pl.group).join("tasks");
    fs::write(&path, pid.to_string()).map_err(|err| IntelRdtError::Io {
        step: "adding the process to",
        path,
        err,
    })
}

/// `update --l3-cache-schema` / `--mem-bw-schema`: checks the new lines against the host's
/// resctrl (`root`, None when there is none) and the container's placement, before anything of
/// the update is applied. Returns the lines to write with [`apply_update`].
///
/// As in runc, only a container created with linux.intelRdt has a group to update. Unlike
/// runc, a closID group this container did not make is refused: writing its schemata would
/// change the limits of every other container in it.
pub fn check_update(
    root: Option<&Path>,
    pl: Option<&Placement>,
    id: &str,
    l3: Option<&str>,
    mb: Option<&str>,
) -> Result<Vec<String>, IntelRdtError> {
    let mut lines = Vec::new();
    for (flag, given, want, feature, info) in [
        ("l3-cache-schema", l3, "L3", "CAT", "info/L3"),
        ("mem-bw-schema", mb, "MB", "MBA", "info/MB"),
    ] {
        let Some(given) = given else { continue };
        let Some(root) = root else {
            return Err(IntelRdtError::UpdateNoResctrl { flag });
        };
        let mut any = false;
        for line in given.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (res, _) = parse_line(line)?;
            // With code/data prioritisation the L3 resource is split into L3CODE and L3DATA.
            if !(res == want || (want == "L3" && (res == "L3CODE" || res == "L3DATA"))) {
                return Err(IntelRdtError::UpdateBadLine {
                    flag,
                    line: line.to_string(),
                    want,
                });
            }
            let info = if res == want {
                root.join(info)
            } else {
                root.join("info").join(&res)
            };
            if !info.is_dir() {
                return Err(IntelRdtError::UpdateNotEnabled {
                    flag,
                    feature,
                    path: info,
                });
            }
            lines.push(line.to_string());
            any = true;
        }
        if !any {
            return Err(IntelRdtError::UpdateBadLine {
                flag,
                line: given.to_string(),
                want,
            });
        }
        let Some(pl) = pl else {
            return Err(IntelRdtError::UpdateNoGroup {
                flag,
                id: id.to_string(),
            });
        };
        if pl.made.first() != Some(&pl.group) {
            return Err(IntelRdtError::UpdateSharedGroup {
                flag,
                id: id.to_string(),
                path: pl.group.clone(),
            });
        }
    }
    Ok(lines)
}

/// Writes the lines [`check_update`] returned into the container's own group: the kernel
/// changes only the resources and domains they name.
pub fn apply_update(pl: &Placement, lines: &[String]) -> Result<(), IntelRdtError> {
    if lines.is_empty() {
        return Ok(());
    }
    let path = pl.group.join("schemata");
    fs::write(&path, lines.join("\n") + "\n").map_err(|err| IntelRdtError::Io {
        step: "writing the schemata to",
        path,
        err,
    })
}

/// Removes what [`make`] made, children first; what is gone already is no error.
pub fn remove(pl: &Placement) -> Result<(), IntelRdtError> {
    for d in pl.made.iter().rev() {
        match fs::remove_dir(d) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(IntelRdtError::Io {
                    step: "removing the group",
                    path: d.clone(),
                    err: e,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rdt(v: serde_json::Value) -> IntelRdtPlan {
        let r: oci_spec::runtime::LinuxIntelRdt = serde_json::from_value(v).unwrap();
        plan(Some(&r)).unwrap().unwrap()
    }

    #[test]
    fn the_mount_is_found_by_its_type() {
        let mi = "22 1 0:21 / /proc rw - proc proc rw\n\
                  40 22 0:35 / /sys/fs/res\\040ctrl rw,relatime shared:5 - resctrl resctrl rw\n";
        assert_eq!(resctrl_root_in(mi), Some(PathBuf::from("/sys/fs/res ctrl")));
        assert_eq!(
            resctrl_root_in("22 1 0:21 / /proc rw - proc proc rw\n"),
            None
        );
    }

    #[test]
    fn lines_come_from_every_field_and_are_checked() {
        let p = rdt(
            json!({"schemata": ["L2:0=3"], "l3CacheSchema": "L3:0=ff;1=f0",
                           "memBwSchema": "MB:0=50"}),
        );
        assert_eq!(p.lines, ["L2:0=3", "L3:0=ff;1=f0", "MB:0=50"]);
        for bad in [
            json!({"l3CacheSchema": "L3"}),
            json!({"memBwSchema": "MB:0"}),
            json!({"schemata": [":0=1"]}),
            json!({"closID": "../x"}),
            json!({"closID": "info"}),
        ] {
            let r: oci_spec::runtime::LinuxIntelRdt = serde_json::from_value(bad.clone()).unwrap();
            assert!(plan(Some(&r)).is_err(), "{bad}");
        }
    }

    /// A directory shaped like a resctrl mount: the decisions are the same; the kernel's own
    /// behaviour (moving tasks, validating masks) is not modelled.
    #[test]
    fn groups_are_made_reused_or_refused() {
        let root = std::env::temp_dir().join(format!("rdt-test-{}", std::process::id()));
        fs::create_dir_all(root.join("shared")).unwrap();
        fs::write(
            root.join("shared/schemata"),
            "L3:0=0ff;1=0f0\n    MB:0=50;1=100\n",
        )
        .unwrap();
        // Own group: made, with the schemata.
        let p = rdt(json!({"l3CacheSchema": "L3:0=f"}));
        let pl = place(&root, &p, "c1").unwrap();
        assert_eq!(pl.made, [root.join("c1")]);
        make(&pl, &p).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("c1/schemata")).unwrap(),
            "L3:0=f\n"
        );
        // resctrl's own files go with the directory; in this stand-in they must go first.
        fs::remove_file(root.join("c1/schemata")).unwrap();
        remove(&pl).unwrap();
        assert!(!root.join("c1").exists());
        // A closID group that exists and matches (the kernel's leading zeros aside): reused.
        let p =
            rdt(json!({"closID": "shared", "l3CacheSchema": "L3:0=ff", "memBwSchema": "MB:1=100"}));
        assert!(place(&root, &p, "c2").unwrap().made.is_empty());
        // ... and one that does not match: refused.
        let p = rdt(json!({"closID": "shared", "memBwSchema": "MB:0=70"}));
        let e = place(&root, &p, "c2").unwrap_err().to_string();
        assert!(e.contains("MB:0=50;1=100") && e.contains("MB:0=70"), "{e}");
        // A closID group that does not exist, with nothing to make it with: refused.
        let p = rdt(json!({"closID": "absent"}));
        assert!(matches!(
            place(&root, &p, "c3"),
            Err(IntelRdtError::NoSuchGroup { .. })
        ));
        // Monitoring needs info/L3_MON.
        let p = rdt(json!({"enableMonitoring": true}));
        assert!(matches!(
            place(&root, &p, "c4"),
            Err(IntelRdtError::NoMonitoring { .. })
        ));
        fs::create_dir_all(root.join("info/L3_MON")).unwrap();
        let pl = place(&root, &p, "c4").unwrap();
        assert_eq!(pl.mon_group, Some(root.join("c4/mon_groups/c4")));
        fs::remove_dir_all(&root).unwrap();
    }

    /// `update --l3-cache-schema/--mem-bw-schema` against a directory shaped like resctrl.
    #[test]
    fn schema_updates_are_checked_then_written_to_the_own_group() {
        let root = std::env::temp_dir().join(format!("rdt-update-{}", std::process::id()));
        fs::create_dir_all(root.join("c1")).unwrap();
        fs::create_dir_all(root.join("shared")).unwrap();
        let own = Placement {
            group: root.join("c1"),
            mon_group: None,
            made: vec![root.join("c1")],
        };
        let shared = Placement {
            group: root.join("shared"),
            mon_group: None,
            made: vec![],
        };
        let e = check_update(None, Some(&own), "c1", Some("L3:0=f"), None).unwrap_err();
        assert!(e.to_string().contains("no resctrl filesystem"), "{e}");
        // No info/L3 yet: CAT is not enabled.
        let e = check_update(Some(&root), Some(&own), "c1", Some("L3:0=f"), None).unwrap_err();
        assert!(
            matches!(e, IntelRdtError::UpdateNotEnabled { feature: "CAT", .. }),
            "{e}"
        );
        fs::create_dir_all(root.join("info/L3")).unwrap();
        fs::create_dir_all(root.join("info/MB")).unwrap();
        for (l3, mb) in [
            (Some("MB:0=50"), None),
            (None, Some("L3:0=f")),
            (Some("L3"), None),
        ] {
            assert!(check_update(Some(&root), Some(&own), "c1", l3, mb).is_err());
        }
        let e = check_update(Some(&root), None, "c1", None, Some("MB:0=50")).unwrap_err();
        assert!(matches!(e, IntelRdtError::UpdateNoGroup { .. }), "{e}");
        let e = check_update(Some(&root), Some(&shared), "c1", Some("L3:0=f"), None).unwrap_err();
        assert!(matches!(e, IntelRdtError::UpdateSharedGroup { .. }), "{e}");
        let lines = check_update(
            Some(&root),
            Some(&own),
            "c1",
            Some("L3:0=f;1=3"),
            Some("MB:0=40"),
        )
        .unwrap();
        assert_eq!(lines, ["L3:0=f;1=3", "MB:0=40"]);
        apply_update(&own, &lines).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("c1/schemata")).unwrap(),
            "L3:0=f;1=3\nMB:0=40\n"
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
