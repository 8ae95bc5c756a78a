//! `rampart audit` and policy enforcement: what a bundle's config.json (and, where it matters,
//! its rootfs) gives the container, as findings a person or a CI system can act on.
//!
//! - `rules`: the catalogue (stable ids RA1xx, severity, the policy level that refuses a finding,
//!   the checklist it comes from); `checks`: what produces findings from a config.
//! - `report`: the findings as text, JSON and SARIF 2.1.0.
//! - `policy`: the levels privileged < baseline < restricted (after Kubernetes' Pod Security
//!   Standards), chosen by `--policy` or the `run.rampart.policy` annotation, and the check
//!   `create` runs before anything is made.
//!
//! Order of calls: `audit_bundle` for the `audit` command; `policy::enforce` from `create`, after
//! the config has been validated into a plan (so a broken config is reported as such first) and
//! before any namespace is opened, state directory made, cgroup or process created.
//!
//! The checks read the config as JSON, not the typed `Spec`: a finding names the exact JSON
//! pointer of the offending entry (`/process/capabilities/bounding/3`), and oci-spec keeps the
//! capability sets as unordered sets. The config is still parsed by `spec` first, so what is
//! audited is what `create` would accept.

pub mod checks;
pub mod policy;
pub mod report;
pub mod rules;

use crate::spec::{self, SpecError};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub use policy::Level;

/// How bad a finding is. The scale rates isolation first:
/// - critical: the container can take the host over as configured (the engine's socket, the
///   host's root bound in);
/// - high: one step from an escape or from host-wide effect (CAP_SYS_ADMIN, the host's pid or
///   network namespace, no seccomp filter);
/// - medium: a protection layer missing or weakened (a writable root, missing masked paths);
/// - low: defense in depth or availability only (no LSM on top of the other layers, no memory or
///   cpu limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// One thing the config lets the container do that a checklist objects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule's stable id (RA1xx); `rules::rule(id)` has its why, fix and sources.
    pub id: &'static str,
    /// The severity of this occurrence: some rules rate by context (a read-only bind of /etc is
    /// less than a writable one).
    pub severity: Severity,
    /// JSON pointer (RFC 6901) into config.json of the entry the finding is about.
    pub path: String,
    /// What was found, with the values involved.
    pub message: String,
    /// The least strict policy level that refuses this occurrence (baseline: baseline and
    /// restricted refuse it); None: reported only.
    pub level: Option<Level>,
}

impl Finding {
    /// Whether `policy` refuses this finding.
    pub fn violates(&self, policy: Level) -> bool {
        self.level
            .is_some_and(|l| l <= policy && policy != Level::Privileged)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{path}: not valid JSON: {msg}")]
    Json { path: PathBuf, msg: String },
}

/// What `audit` looked at and found.
#[derive(Clone, Debug)]
pub struct Report {
    pub bundle: PathBuf,
    pub config: PathBuf,
    pub findings: Vec<Finding>,
}

/// Audits `<bundle>/config.json`, and its rootfs where a rule needs it.
pub fn audit_bundle(bundle: &Path) -> Result<Report, AuditError> {
    let bundle = spec::bundle_dir(bundle)?;
    let (_spec, bytes) = spec::load_with_bytes(&bundle)?;
    let config = bundle.join("config.json");
    let raw: Value = serde_json::from_slice(&bytes).map_err(|e| AuditError::Json {
        path: config.clone(),
        msg: e.to_string(),
    })?;
    let rootfs = rootfs_of(&raw, &bundle);
    let findings = checks::check(&raw, &bundle, rootfs.as_deref());
    Ok(Report {
        bundle,
        config,
        findings,
    })
}

/// root.path made absolute (relative to the bundle), if it names a directory.
pub fn rootfs_of(raw: &Value, bundle: &Path) -> Option<PathBuf> {
    let p = Path::new(raw.pointer("/root/path")?.as_str()?);
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        bundle.join(p)
    };
    p.is_dir().then_some(p)
}
