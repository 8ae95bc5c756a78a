//! Admission: the policy level a container must meet, and the check `create` makes before any
//! process, cgroup or state exists.
//!
//! The levels mirror Kubernetes' Pod Security Standards: `privileged` refuses nothing (the
//! default, so engines keep working unchanged), `baseline` refuses what is known to let a
//! container reach the host (added dangerous capabilities, host namespaces, host paths,
//! unconfined seccomp...), `restricted` also refuses what weakens the hardening (no seccomp
//! filter, no_new_privs off, a writable root...). Which rule belongs to which level:
//! docs/audit-rules.md.
//!
//! The level comes from the global `--policy` flag and from the config's `run.rampart.policy`
//! annotation; with both, the stricter one applies: an operator's flag cannot be relaxed by an
//! image's config, and a config can ask for more than the operator's default.

use super::{checks, Finding};
use serde_json::Value;
use std::collections::HashMap;

/// The annotation a config uses to ask for a policy level.
pub const ANNOTATION: &str = "run.rampart.policy";

/// A policy level, ordered from the most permissive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "annotation {ANNOTATION}: unknown policy {value:?} (privileged, baseline or restricted)"
    )]
    BadAnnotation { value: String },
    #[error("{}", refusal(*.level, .origin, .violations))]
    Refused {
        level: Level,
        origin: &'static str,
        violations: Vec<Finding>,
    },
}

/// The one-line refusal: engines show the last error line of the runtime's log, so every
/// violation has to be in that line.
fn refusal(level: Level, origin: &str, violations: &[Finding]) -> String {
    let list: Vec<String> = violations
        .iter()
        .map(|f| {
            format!(
                "{} {} at {}: {}",
                f.id,
                f.severity.name(),
                f.path,
                f.message
            )
        })
        .collect();
    format!(
        "policy {} ({origin}) refuses this container, {} violation{}: {}",
        level.name(),
        violations.len(),
        if violations.len() == 1 { "" } else { "s" },
        list.join("; ")
    )
}

/// The level in force: the stricter of the flag's and the annotation's, and where it came from
/// (for the message). An annotation with an unknown value is an error, not ignored.
pub fn effective(
    flag: Option<Level>,
    annotations: &HashMap<String, String>,
) -> Result<(Level, &'static str), PolicyError> {
    let annotated = match annotations.get(ANNOTATION) {
        None => None,
        Some(v) => {
            Some(Level::parse(v).ok_or_else(|| PolicyError::BadAnnotation { value: v.clone() })?)
        }
    };
    Ok(match (flag, annotated) {
        (None, None) => (Level::Privileged, "default"),
        (Some(f), None) => (f, "--policy"),
        (None, Some(a)) => (a, "annotation run.rampart.policy"),
        (Some(f), Some(a)) if a > f => (a, "annotation run.rampart.policy, stricter than --policy"),
        (Some(f), Some(_)) => (f, "--policy"),
    })
}

/// Refuses the container when the level in force refuses any finding on its config; every
/// violation is listed in the one error. `raw` is config.json as JSON, `rootfs` the container's
/// root directory.
pub fn enforce(
    flag: Option<Level>,
    annotations: &HashMap<String, String>,
    raw: &Value,
    bundle: &std::path::Path,
    rootfs: Option<&std::path::Path>,
) -> Result<(), PolicyError> {
    let (level, origin) = effective(flag, annotations)?;
    if level == Level::Privileged {
        return Ok(());
    }
    let violations: Vec<Finding> = checks::check(raw, bundle, rootfs)
        .into_iter()
        .filter(|f| f.violates(level))
        .collect();
    if violations.is_empty() {
        return Ok(());
    }
    Err(PolicyError::Refused {
        level,
        origin,
        violations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(v: &str) -> HashMap<String, String> {
        HashMap::from([(ANNOTATION.to_string(), v.to_string())])
    }

    #[test]
    fn stricter_of_flag_and_annotation_wins() {
        let none = HashMap::new();
        assert_eq!(effective(None, &none).unwrap().0, Level::Privileged);
        assert_eq!(
            effective(Some(Level::Baseline), &none).unwrap().0,
            Level::Baseline
        );
        assert_eq!(
            effective(None, &ann("restricted")).unwrap().0,
            Level::Restricted
        );
        // The annotation cannot relax the operator's flag...
        assert_eq!(
            effective(Some(Level::Restricted), &ann("privileged"))
                .unwrap()
                .0,
            Level::Restricted
        );
        // ...but can ask for more.
        assert_eq!(
            effective(Some(Level::Baseline), &ann("restricted"))
                .unwrap()
                .0,
            Level::Restricted
        );
        assert!(matches!(
            effective(None, &ann("strict")),
            Err(PolicyError::BadAnnotation { .. })
        ));
    }
}
