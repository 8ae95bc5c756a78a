//! The five capability sets of `process.capabilities`, as 64-bit masks.
//!
//! Order matters and is the init's job: drop the bounding set while CAP_SETPCAP is still held,
//! switch uid with PR_SET_KEEPCAPS, then `apply` the three thread sets in one capset(2) and raise
//! ambient ones last. Inheritable and ambient stay empty unless the config names them
//! (CVE-2022-29162).

use std::io;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum CapError {
    #[error("capability {name}: not known to this runtime")]
    Unknown { name: String },
    #[error("dropping {name} from the bounding set: {err}")]
    DropBounding { name: String, err: String },
    #[error("capset: {0}")]
    Capset(io::Error),
    #[error("raising ambient capability {name}: {err}")]
    Ambient { name: String, err: io::Error },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapsPlan {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

fn mask(set: &Option<oci_spec::runtime::Capabilities>) -> Result<u64, CapError> {
    let mut m = 0u64;
    for cap in set.iter().flatten() {
        let name = serde_json::to_value(cap)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let c = caps::Capability::from_str(&name).map_err(|_| CapError::Unknown { name })?;
        m |= c.bitmask();
    }
    Ok(m)
}

pub fn plan(c: Option<&oci_spec::runtime::LinuxCapabilities>) -> Result<CapsPlan, CapError> {
    let Some(c) = c else {
        return Ok(CapsPlan::default());
    };
    let permitted = mask(c.permitted())?;
    let inheritable = mask(c.inheritable())?;
    let ambient = mask(c.ambient())?;
    Ok(CapsPlan {
        bounding: mask(c.bounding())?,
        effective: mask(c.effective())?,
        permitted,
        inheritable,
        ambient: raisable_ambient(ambient, permitted, inheritable),
    })
}

/// The part of the ambient set the kernel lets a process raise: only capabilities that are in
/// both its permitted and inheritable sets (prctl(PR_CAP_AMBIENT_RAISE) fails with EPERM for any
/// other). Engines send more: buildah puts its default capabilities in ambient with an empty
/// inheritable set. runc raises each one and leaves the set without those it cannot raise, so
/// the container runs; the same here, decided at planning time and logged (debug level, as
/// runc is quiet about it: on stderr the line would reach buildah's and podman's users). Leaving
/// a capability out of ambient never grants anything.
fn raisable_ambient(ambient: u64, permitted: u64, inheritable: u64) -> u64 {
    let raisable = ambient & permitted & inheritable;
    let left_out = ambient & !raisable;
    if left_out != 0 {
        crate::logging::debug(&format!(
            "process.capabilities.ambient: {} not raised: not in both permitted and inheritable",
            names(left_out).join(", ")
        ));
    }
    raisable
}

/// Names of the capabilities in a mask, in the kernel's order.
fn names(m: u64) -> Vec<String> {
    let mut all: Vec<caps::Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    all.into_iter()
        .filter(|c| m & c.bitmask() != 0)
        .map(|c| c.to_string())
        .collect()
}

/// Names of the capabilities in a mask, for messages and `exec --cap`.
pub fn parse_name(name: &str) -> Result<u64, CapError> {
    let upper = name.to_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    caps::Capability::from_str(&full)
        .map(|c| c.bitmask())
        .map_err(|_| CapError::Unknown {
            name: name.to_string(),
        })
}

/// Drops every capability outside `keep` from the bounding set.
pub fn drop_bounding(keep: u64) -> Result<(), CapError> {
    for cap in caps::all() {
        if keep & cap.bitmask() != 0 {
            continue;
        }
        match caps::drop(None, caps::CapSet::Bounding, cap) {
            Ok(()) => {}
            Err(e) => {
                return Err(CapError::DropBounding {
                    name: cap.to_string(),
                    err: e.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// Sets effective, permitted and inheritable in one capset(2), then raises the ambient set.
pub fn apply(p: &CapsPlan) -> Result<(), CapError> {
    crate::syscalls::capset(p.effective, p.permitted, p.inheritable).map_err(CapError::Capset)?;
    // Clear any ambient capability inherited from the runtime's caller before raising ours.
    let _ = crate::syscalls::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as u64);
    for cap in caps::all() {
        if p.ambient & cap.bitmask() == 0 {
            continue;
        }
        // SAFETY: PR_CAP_AMBIENT_RAISE takes two integer arguments.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                cap.index() as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if r != 0 {
            return Err(CapError::Ambient {
                name: cap.to_string(),
                err: io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_from_oci() {
        let c: oci_spec::runtime::LinuxCapabilities = serde_json::from_str(
            r#"{"bounding":["CAP_KILL","CAP_CHOWN"],"effective":["CAP_KILL"]}"#,
        )
        .unwrap();
        let p = plan(Some(&c)).unwrap();
        assert_eq!(p.bounding, (1 << 5) | 1);
        assert_eq!(p.effective, 1 << 5);
        assert_eq!(p.inheritable, 0);
        assert_eq!(parse_name("net_raw").unwrap(), 1 << 13);
        assert!(parse_name("CAP_NOPE").is_err());
    }

    /// What buildah sends: ambient capabilities with an empty inheritable set. Only those in
    /// both permitted and inheritable stay in the plan's ambient set; the others are left out
    /// (as runc leaves them) instead of failing the container at PR_CAP_AMBIENT_RAISE.
    #[test]
    fn ambient_keeps_only_permitted_and_inheritable() {
        let c: oci_spec::runtime::LinuxCapabilities = serde_json::from_str(
            r#"{"bounding":["CAP_CHOWN","CAP_KILL","CAP_AUDIT_WRITE"],
                "permitted":["CAP_CHOWN","CAP_KILL","CAP_AUDIT_WRITE"],
                "effective":["CAP_CHOWN","CAP_KILL","CAP_AUDIT_WRITE"],
                "inheritable":["CAP_KILL"],
                "ambient":["CAP_CHOWN","CAP_KILL","CAP_AUDIT_WRITE"]}"#,
        )
        .unwrap();
        let p = plan(Some(&c)).unwrap();
        assert_eq!(
            p.ambient,
            1 << 5,
            "only CAP_KILL is in permitted and inheritable"
        );
        assert_eq!(p.permitted, 1 | (1 << 5) | (1 << 29));
        assert_eq!(p.inheritable, 1 << 5);
        let none: oci_spec::runtime::LinuxCapabilities = serde_json::from_str(
            r#"{"permitted":["CAP_CHOWN"],"ambient":["CAP_CHOWN","CAP_NET_RAW"]}"#,
        )
        .unwrap();
        assert_eq!(plan(Some(&none)).unwrap().ambient, 0);
        assert_eq!(names(1 | (1 << 29)), ["CAP_CHOWN", "CAP_AUDIT_WRITE"]);
    }
}
