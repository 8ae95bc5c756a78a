//! Landlock: filesystem and TCP-port confinement that holds even for root in the container.
//!
//! The configuration follows the runtime-spec proposal (PRs #1111/#1241), `process.landlock`:
//!
//! ```json
//! "landlock": {
//!   "ruleset": { "handledAccessFS": ["write_file", "make_reg"], "handledAccessNet": ["bind_tcp"] },
//!   "rules": {
//!     "pathBeneath": [ { "allowedAccess": ["write_file", "make_reg"], "paths": ["/data"] } ],
//!     "netPort":     [ { "allowedAccess": ["bind_tcp"], "ports": [8080] } ]
//!   },
//!   "disableBestEffort": false
//! }
//! ```
//!
//! Access names are the kernel's `LANDLOCK_ACCESS_FS_*` / `LANDLOCK_ACCESS_NET_*` names in lower
//! case without the prefix. Handled rights are denied unless a rule allows them beneath a path
//! (or on a port); rights that are not handled are not restricted at all.
//!
//! Best effort (the default): rights this kernel's Landlock ABI cannot enforce are dropped, and
//! what is enforced and what was dropped is logged. With `disableBestEffort` a right the kernel
//! cannot enforce is a create-time error.
//!
//! The default policy: the annotation `run.rampart.landlock: default` derives a policy from the
//! mounts: read and execute across the whole root, every right (so writes too) only beneath the
//! mounts that are writable: tmpfs, devpts and mqueue mounts and bind mounts without `ro`. The
//! rootfs itself is never writable under it, even when `root.readonly` is false: give the
//! workload a volume or a tmpfs for what it writes. Network is not handled. `rampart spec` does
//! not turn it on: its root is already read-only, so the policy would add little there, while
//! every user who flips `readonly` off to write into the rootfs would be denied with nothing in
//! the config to explain why; it is one annotation away for those who want it.
//!
//! Order of calls: `plan` at create time (in the runtime, so a bad policy fails `create`);
//! `prepare` in the init after pivot_root and the rootfs is finished, while it still has its
//! privileges (it opens the rule paths inside the container's root, beneath which the rights
//! apply); `enforce` last, right before execve, after hooks and every other step that touches
//! the filesystem. Exec'd processes call `prepare` then `enforce` (or `apply`) in the same way.
//!
//! Landlock needs no_new_privs (or CAP_SYS_ADMIN) to restrict a process: a Landlock policy
//! implies noNewPrivileges, so a setuid binary cannot run outside the policy's assumptions.

use crate::logging;
use crate::mounts::{BindKind, MountPlan};
use crate::paths::{self, PathError};
use crate::syscalls;
use landlock::{
    AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetError, RulesetStatus, ABI,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The annotation that switches the derived default policy on, and its only accepted value.
pub const DEFAULT_POLICY_ANNOTATION: &str = "run.rampart.landlock";
pub const DEFAULT_POLICY_VALUE: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    #[error("{path}: process.landlock: {err}")]
    ParseConfig { path: PathBuf, err: String },
    #[error("process.landlock: {field}: unknown access right {name:?}")]
    UnknownRight { field: String, name: String },
    #[error("process.landlock: the ruleset handles no access right")]
    NothingHandled,
    #[error("process.landlock: {field}: {name} is allowed by a rule but not listed in {handled}")]
    NotHandled {
        field: String,
        name: String,
        handled: &'static str,
    },
    #[error("process.landlock: rules.pathBeneath: {path} must be an absolute path")]
    RelativePath { path: PathBuf },
    #[error("process.landlock: rules.{field}: a rule with no {what}")]
    EmptyRule {
        field: &'static str,
        what: &'static str,
    },
    #[error(
        "process.landlock: disableBestEffort is set but this kernel's Landlock cannot enforce: {rights}"
    )]
    Unsupported { rights: String },
    #[error("annotation {DEFAULT_POLICY_ANNOTATION}: unknown value {value:?} (only \"default\")")]
    BadAnnotation { value: String },
    #[error(
        "both process.landlock and the {DEFAULT_POLICY_ANNOTATION} annotation are set: choose one"
    )]
    BothPolicies,
    #[error("landlock: opening / of the container: {0}")]
    OpenRoot(io::Error),
    #[error("landlock: rule path {path}: {err}")]
    RulePath { path: PathBuf, err: PathError },
    #[error("landlock: fstat of rule path {path}: {err}")]
    StatRulePath { path: PathBuf, err: io::Error },
    #[error("landlock: creating the ruleset: {0}")]
    CreateRuleset(RulesetError),
    #[error("landlock: adding the rule for {path}: {err}")]
    AddPathRule { path: PathBuf, err: RulesetError },
    #[error("landlock: adding the rule for port {port}: {err}")]
    AddPortRule { port: u16, err: RulesetError },
    #[error("landlock: landlock_restrict_self: {0}")]
    RestrictSelf(RulesetError),
    #[error("landlock: the kernel did not fully enforce the ruleset ({0:?})")]
    NotEnforced(RulesetStatus),
}

// ---- the configuration, as written in config.json -------------------------------------------

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LandlockConfig {
    pub ruleset: RulesetConfig,
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub disable_best_effort: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesetConfig {
    #[serde(default, rename = "handledAccessFS", alias = "handledAccessFs")]
    pub handled_access_fs: Vec<String>,
    #[serde(
        default,
        rename = "handledAccessNet",
        alias = "handledAccessNetwork",
        alias = "handledAccessNET"
    )]
    pub handled_access_net: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RulesConfig {
    #[serde(default)]
    pub path_beneath: Vec<PathRuleConfig>,
    #[serde(default)]
    pub net_port: Vec<PortRuleConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PathRuleConfig {
    pub allowed_access: Vec<String>,
    pub paths: Vec<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortRuleConfig {
    pub allowed_access: Vec<String>,
    pub ports: Vec<u16>,
}

// ---- access names ---------------------------------------------------------------------------

/// Every filesystem right by its kernel name (LANDLOCK_ACCESS_FS_<NAME>, lower case).
const FS_RIGHTS: &[(&str, AccessFs)] = &[
    ("execute", AccessFs::Execute),
    ("write_file", AccessFs::WriteFile),
    ("read_file", AccessFs::ReadFile),
    ("read_dir", AccessFs::ReadDir),
    ("remove_dir", AccessFs::RemoveDir),
    ("remove_file", AccessFs::RemoveFile),
    ("make_char", AccessFs::MakeChar),
    ("make_dir", AccessFs::MakeDir),
    ("make_reg", AccessFs::MakeReg),
    ("make_sock", AccessFs::MakeSock),
    ("make_fifo", AccessFs::MakeFifo),
    ("make_block", AccessFs::MakeBlock),
    ("make_sym", AccessFs::MakeSym),
    ("refer", AccessFs::Refer),
    ("truncate", AccessFs::Truncate),
    ("ioctl_dev", AccessFs::IoctlDev),
    // Newer than ABI 7: accepted, and dropped (best effort) or refused (disableBestEffort)
    // where the kernel lacks them.
    ("resolve_unix", AccessFs::ResolveUnix),
];

/// Every network right by its kernel name (LANDLOCK_ACCESS_NET_<NAME>, lower case).
const NET_RIGHTS: &[(&str, AccessNet)] = &[
    ("bind_tcp", AccessNet::BindTcp),
    ("connect_tcp", AccessNet::ConnectTcp),
    ("bind_udp", AccessNet::BindUdp),
    ("connect_send_udp", AccessNet::ConnectSendUdp),
];

/// What the derived default policy handles: every right of ABI 1 to 7.
const DEFAULT_POLICY_FS: &[&str] = &[
    "execute",
    "write_file",
    "read_file",
    "read_dir",
    "remove_dir",
    "remove_file",
    "make_char",
    "make_dir",
    "make_reg",
    "make_sock",
    "make_fifo",
    "make_block",
    "make_sym",
    "refer",
    "truncate",
    "ioctl_dev",
];
const DEFAULT_POLICY_READ: &[&str] = &["execute", "read_file", "read_dir"];

/// Mount types whose mounts the default policy treats as writable (unless mounted `ro`).
const WRITABLE_FS_TYPES: &[&str] = &["tmpfs", "devpts", "mqueue"];

fn parse_rights<T: landlock::Access>(
    table: &[(&str, T)],
    names: &[String],
    field: &str,
) -> Result<BitFlags<T>, LandlockError> {
    let mut set = BitFlags::<T>::empty();
    for name in names {
        let right = table
            .iter()
            .find(|(n, _)| *n == name.as_str())
            .map(|(_, r)| *r)
            .ok_or_else(|| LandlockError::UnknownRight {
                field: field.to_string(),
                name: name.clone(),
            })?;
        set |= right;
    }
    Ok(set)
}

/// The kernel names of the rights in `set`, for messages.
fn names<T: landlock::Access>(table: &[(&'static str, T)], set: BitFlags<T>) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(_, r)| set.contains(*r))
        .map(|(n, _)| *n)
        .collect()
}

// ---- the plan -------------------------------------------------------------------------------

/// The validated policy: only rights this kernel enforces, each rule's rights a subset of the
/// handled ones.
#[derive(Clone, Debug)]
pub struct LandlockPlan {
    pub handled_fs: BitFlags<AccessFs>,
    pub handled_net: BitFlags<AccessNet>,
    pub path_rules: Vec<(PathBuf, BitFlags<AccessFs>)>,
    pub port_rules: Vec<(u16, BitFlags<AccessNet>)>,
    /// Where the policy came from, for the log.
    pub source: &'static str,
}

/// `process` of a config.json as raw JSON: oci-spec does not know `process.landlock` (it is a
/// proposal), so it is parsed beside oci-spec from the same bytes (read once by the caller).
pub fn raw_process(config_path: &Path, bytes: &[u8]) -> Result<Option<Value>, LandlockError> {
    // Only `process` becomes a Value: serde skips the rest of the file (mostly the seccomp
    // profile) without building it, which was about a quarter of create's user-space work.
    #[derive(serde::Deserialize)]
    struct ProcessOnly {
        process: Option<Value>,
    }
    let v: ProcessOnly = serde_json::from_slice(bytes).map_err(|e| LandlockError::ParseConfig {
        path: config_path.to_path_buf(),
        err: e.to_string(),
    })?;
    Ok(v.process)
}

/// Parses `process.landlock` out of a raw process object (config.json's or exec's process.json).
pub fn parse_process(
    process: &Value,
    origin: &Path,
) -> Result<Option<LandlockConfig>, LandlockError> {
    match process.get("landlock") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| LandlockError::ParseConfig {
                    path: origin.to_path_buf(),
                    err: e.to_string(),
                })
        }
    }
}

/// Validates the explicit policy or derives the default one (from the annotation) into a plan.
/// None when the container asks for no Landlock confinement, or when best effort left nothing
/// this kernel can enforce.
pub fn plan(
    config: Option<&LandlockConfig>,
    annotations: &HashMap<String, String>,
    mounts: &[MountPlan],
) -> Result<Option<LandlockPlan>, LandlockError> {
    let derived = match annotations.get(DEFAULT_POLICY_ANNOTATION) {
        None => None,
        Some(v) if v == DEFAULT_POLICY_VALUE => Some(default_policy(mounts)),
        Some(v) => return Err(LandlockError::BadAnnotation { value: v.clone() }),
    };
    let (config, source) = match (config, &derived) {
        (Some(_), Some(_)) => return Err(LandlockError::BothPolicies),
        (Some(c), None) => (c, "process.landlock"),
        (None, Some(d)) => (d, "the default policy"),
        (None, None) => return Ok(None),
    };
    validate(config, source)
}

/// The derived default policy, as if the user had written it.
pub fn default_policy(mounts: &[MountPlan]) -> LandlockConfig {
    let all: Vec<String> = DEFAULT_POLICY_FS.iter().map(|s| s.to_string()).collect();
    let mut rules = vec![PathRuleConfig {
        allowed_access: DEFAULT_POLICY_READ.iter().map(|s| s.to_string()).collect(),
        paths: vec![PathBuf::from("/")],
    }];
    let writable: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| m.attr_set & syscalls::MOUNT_ATTR_RDONLY == 0)
        .filter(|m| {
            matches!(m.bind, Some(BindKind::Bind | BindKind::Rbind))
                || WRITABLE_FS_TYPES.contains(&m.fstype.as_str())
        })
        .map(|m| m.destination.clone())
        .collect();
    if !writable.is_empty() {
        rules.push(PathRuleConfig {
            allowed_access: all.clone(),
            paths: writable,
        });
    }
    LandlockConfig {
        ruleset: RulesetConfig {
            handled_access_fs: all,
            handled_access_net: Vec::new(),
        },
        rules: RulesConfig {
            path_beneath: rules,
            net_port: Vec::new(),
        },
        // The default policy always adapts to the kernel: it is not the user's explicit demand.
        disable_best_effort: false,
    }
}

/// Which of `set` this kernel's Landlock enforces: each right is offered to the crate as a hard
/// requirement on its own (the crate checks it against the kernel's ABI version; no ruleset is
/// created for that).
fn supported_fs(set: BitFlags<AccessFs>) -> BitFlags<AccessFs> {
    set.iter()
        .filter(|r| {
            Ruleset::default()
                .set_compatibility(CompatLevel::HardRequirement)
                .handle_access(*r)
                .is_ok()
        })
        .collect()
}

fn supported_net(set: BitFlags<AccessNet>) -> BitFlags<AccessNet> {
    set.iter()
        .filter(|r| {
            Ruleset::default()
                .set_compatibility(CompatLevel::HardRequirement)
                .handle_access(*r)
                .is_ok()
        })
        .collect()
}

fn validate(
    c: &LandlockConfig,
    source: &'static str,
) -> Result<Option<LandlockPlan>, LandlockError> {
    let handled_fs = parse_rights(
        FS_RIGHTS,
        &c.ruleset.handled_access_fs,
        "ruleset.handledAccessFS",
    )?;
    let handled_net = parse_rights(
        NET_RIGHTS,
        &c.ruleset.handled_access_net,
        "ruleset.handledAccessNet",
    )?;
    if handled_fs.is_empty() && handled_net.is_empty() {
        return Err(LandlockError::NothingHandled);
    }
    let mut path_rules = Vec::new();
    for (i, r) in c.rules.path_beneath.iter().enumerate() {
        let field = format!("rules.pathBeneath[{i}].allowedAccess");
        let allowed = parse_rights(FS_RIGHTS, &r.allowed_access, &field)?;
        if let Some(extra) = (allowed & !handled_fs).iter().next() {
            return Err(LandlockError::NotHandled {
                field,
                name: names(FS_RIGHTS, extra.into()).join(","),
                handled: "ruleset.handledAccessFS",
            });
        }
        if r.paths.is_empty() {
            return Err(LandlockError::EmptyRule {
                field: "pathBeneath",
                what: "paths",
            });
        }
        for p in &r.paths {
            if !p.is_absolute() {
                return Err(LandlockError::RelativePath { path: p.clone() });
            }
            path_rules.push((p.clone(), allowed));
        }
    }
    let mut port_rules = Vec::new();
    for (i, r) in c.rules.net_port.iter().enumerate() {
        let field = format!("rules.netPort[{i}].allowedAccess");
        let allowed = parse_rights(NET_RIGHTS, &r.allowed_access, &field)?;
        if let Some(extra) = (allowed & !handled_net).iter().next() {
            return Err(LandlockError::NotHandled {
                field,
                name: names(NET_RIGHTS, extra.into()).join(","),
                handled: "ruleset.handledAccessNet",
            });
        }
        if r.ports.is_empty() {
            return Err(LandlockError::EmptyRule {
                field: "netPort",
                what: "ports",
            });
        }
        for p in &r.ports {
            port_rules.push((*p, allowed));
        }
    }

    let fs_ok = supported_fs(handled_fs);
    let net_ok = supported_net(handled_net);
    let mut dropped: Vec<&str> = names(FS_RIGHTS, handled_fs & !fs_ok);
    dropped.extend(names(NET_RIGHTS, handled_net & !net_ok));
    if !dropped.is_empty() {
        if c.disable_best_effort {
            return Err(LandlockError::Unsupported {
                rights: dropped.join(", "),
            });
        }
        logging::warn(&format!(
            "landlock ({source}): this kernel cannot enforce {}; best effort: left unrestricted",
            dropped.join(", ")
        ));
    }
    if fs_ok.is_empty() && net_ok.is_empty() {
        logging::warn(&format!(
            "landlock ({source}): nothing of the policy is enforceable on this kernel; not enforced"
        ));
        return Ok(None);
    }
    let path_rules: Vec<_> = path_rules
        .into_iter()
        .map(|(p, a)| (p, a & fs_ok))
        .filter(|(_, a)| !a.is_empty())
        .collect();
    let port_rules: Vec<_> = port_rules
        .into_iter()
        .map(|(p, a)| (p, a & net_ok))
        .filter(|(_, a)| !a.is_empty())
        .collect();
    let plan = LandlockPlan {
        handled_fs: fs_ok,
        handled_net: net_ok,
        path_rules,
        port_rules,
        source,
    };
    logging::debug(&plan.describe());
    Ok(Some(plan))
}

impl LandlockPlan {
    /// One line saying exactly what will be enforced.
    pub fn describe(&self) -> String {
        let rules: Vec<String> = self
            .path_rules
            .iter()
            .map(|(p, a)| format!("{}:[{}]", p.display(), names(FS_RIGHTS, *a).join(",")))
            .chain(
                self.port_rules
                    .iter()
                    .map(|(p, a)| format!("port {p}:[{}]", names(NET_RIGHTS, *a).join(","))),
            )
            .collect();
        format!(
            "landlock ({}): enforcing handled fs [{}], handled net [{}], rules {}",
            self.source,
            names(FS_RIGHTS, self.handled_fs).join(","),
            names(NET_RIGHTS, self.handled_net).join(","),
            rules.join(" ")
        )
    }
}

// ---- in the container -----------------------------------------------------------------------

/// A ruleset with every rule added, not yet enforced.
pub struct Prepared {
    ruleset: RulesetCreated,
}

/// Builds the ruleset inside the container: called after pivot_root (paths resolve inside the
/// container's root, never through magic links) while the process still has its privileges.
pub fn prepare(plan: &LandlockPlan) -> Result<Prepared, LandlockError> {
    // Hard requirement: the plan holds only rights the kernel supports, so anything short of
    // that now is an error, never a silently weaker policy.
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
    if !plan.handled_fs.is_empty() {
        ruleset = ruleset
            .handle_access(plan.handled_fs)
            .map_err(LandlockError::CreateRuleset)?;
    }
    if !plan.handled_net.is_empty() {
        ruleset = ruleset
            .handle_access(plan.handled_net)
            .map_err(LandlockError::CreateRuleset)?;
    }
    let mut created = ruleset.create().map_err(LandlockError::CreateRuleset)?;

    let root = syscalls::open(Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(LandlockError::OpenRoot)?;
    // Rights that only mean something on directories; the kernel refuses them on a file rule.
    let file_rights = AccessFs::from_file(ABI::V10);
    for (path, access) in &plan.path_rules {
        let fd =
            paths::open_in_root(root.as_fd(), path).map_err(|err| LandlockError::RulePath {
                path: path.clone(),
                err,
            })?;
        let is_dir = paths::is_dir(fd.as_fd()).map_err(|err| LandlockError::StatRulePath {
            path: path.clone(),
            err,
        })?;
        let access = if is_dir {
            *access
        } else {
            *access & file_rights
        };
        if access.is_empty() {
            continue;
        }
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|err| LandlockError::AddPathRule {
                path: path.clone(),
                err,
            })?;
    }
    for (port, access) in &plan.port_rules {
        created = created
            .add_rule(NetPort::new(*port, *access))
            .map_err(|err| LandlockError::AddPortRule { port: *port, err })?;
    }
    Ok(Prepared { ruleset: created })
}

/// Restricts the calling process (and everything it execs) to the prepared ruleset. Sets
/// no_new_privs, which Landlock requires of an unprivileged process.
pub fn enforce(p: Prepared) -> Result<(), LandlockError> {
    let status = p
        .ruleset
        .no_new_privs(true)
        .restrict_self()
        .map_err(LandlockError::RestrictSelf)?;
    if status.ruleset != RulesetStatus::FullyEnforced {
        return Err(LandlockError::NotEnforced(status.ruleset));
    }
    Ok(())
}

/// `prepare` and `enforce` in one step, for exec'd processes that have nothing to do between.
pub fn apply(plan: &LandlockPlan) -> Result<(), LandlockError> {
    enforce(prepare(plan)?)
}

/// The ruleset `prepare_pending` built, waiting for `enforce_pending`. A process-wide slot
/// because the two calls sit in different steps of the init (and of exec's child), which are
/// single-threaded and exec right after; nothing else reads it.
static PENDING: Mutex<Option<Prepared>> = Mutex::new(None);

/// `prepare`, keeping the result for `enforce_pending` (nothing to do without a policy).
pub fn prepare_pending(plan: Option<&LandlockPlan>) -> Result<(), LandlockError> {
    let Some(plan) = plan else { return Ok(()) };
    let prepared = prepare(plan)?;
    if let Ok(mut slot) = PENDING.lock() {
        *slot = Some(prepared);
    }
    Ok(())
}

/// Enforces what `prepare_pending` built, or prepares it now if it was not called.
pub fn enforce_pending(plan: Option<&LandlockPlan>) -> Result<(), LandlockError> {
    let Some(plan) = plan else { return Ok(()) };
    let pending = PENDING.lock().ok().and_then(|mut slot| slot.take());
    let prepared = match pending {
        Some(p) => p,
        None => prepare(plan)?,
    };
    enforce(prepared)?;
    logging::debug(&format!("{} (pid {})", plan.describe(), std::process::id()));
    Ok(())
}

/// What `features` reports: the names rampart accepts and whether the kernel has Landlock.
pub fn features() -> Value {
    let fs: Vec<&str> = FS_RIGHTS.iter().map(|(n, _)| *n).collect();
    let net: Vec<&str> = NET_RIGHTS.iter().map(|(n, _)| *n).collect();
    let all_fs = FS_RIGHTS.iter().fold(BitFlags::empty(), |a, (_, r)| a | *r);
    let all_net = NET_RIGHTS
        .iter()
        .fold(BitFlags::empty(), |a, (_, r)| a | *r);
    serde_json::json!({
        "enabled": !supported_fs(all_fs).is_empty(),
        "accessFS": fs,
        "accessNet": net,
        "supportedAccessFS": names(FS_RIGHTS, supported_fs(all_fs)),
        "supportedAccessNet": names(NET_RIGHTS, supported_net(all_net)),
        "defaultPolicyAnnotation": DEFAULT_POLICY_ANNOTATION,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(j: serde_json::Value) -> LandlockConfig {
        serde_json::from_value(j).unwrap()
    }

    #[test]
    fn unknown_right_is_an_error() {
        let c = cfg(serde_json::json!({"ruleset": {"handledAccessFS": ["write_fil"]}}));
        let e = validate(&c, "t").unwrap_err().to_string();
        assert!(e.contains("write_fil"), "{e}");
    }

    #[test]
    fn unknown_field_is_an_error() {
        let r: Result<LandlockConfig, _> = serde_json::from_value(
            serde_json::json!({"ruleset": {"handledAccessFS": ["write_file"]}, "disableBestEfort": true}),
        );
        assert!(r.is_err());
    }

    #[test]
    fn rule_rights_must_be_handled() {
        let c = cfg(serde_json::json!({
            "ruleset": {"handledAccessFS": ["write_file"]},
            "rules": {"pathBeneath": [{"allowedAccess": ["read_file"], "paths": ["/x"]}]}
        }));
        let e = validate(&c, "t").unwrap_err().to_string();
        assert!(
            e.contains("read_file") && e.contains("handledAccessFS"),
            "{e}"
        );
    }

    #[test]
    fn relative_rule_path_is_an_error() {
        let c = cfg(serde_json::json!({
            "ruleset": {"handledAccessFS": ["write_file"]},
            "rules": {"pathBeneath": [{"allowedAccess": ["write_file"], "paths": ["x"]}]}
        }));
        assert!(matches!(
            validate(&c, "t"),
            Err(LandlockError::RelativePath { .. })
        ));
    }

    #[test]
    fn empty_ruleset_is_an_error() {
        let c = cfg(serde_json::json!({"ruleset": {}}));
        assert!(matches!(
            validate(&c, "t"),
            Err(LandlockError::NothingHandled)
        ));
    }

    #[test]
    fn names_round_trip() {
        let set = parse_rights(FS_RIGHTS, &["refer".into(), "execute".into()], "f").unwrap();
        assert_eq!(names(FS_RIGHTS, set), vec!["execute", "refer"]);
    }

    #[test]
    fn default_policy_writes_only_under_writable_mounts() {
        let mounts: Vec<MountPlan> = [
            json!({"destination": "/proc", "type": "proc", "source": "proc"}),
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}),
            json!({"destination": "/ro-tmp", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}),
            json!({"destination": "/vol", "type": "bind", "source": "/v", "options": ["rbind", "rw"]}),
            json!({"destination": "/ro-vol", "type": "none", "source": "/v", "options": ["bind", "ro"]}),
            json!({"destination": "/sys", "type": "sysfs", "source": "sysfs"}),
            json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts"}),
        ]
        .into_iter()
        .map(|m| crate::mounts::plan(&serde_json::from_value(m).unwrap(), Path::new("/b")).unwrap())
        .collect();
        let c = default_policy(&mounts);
        let rules = &c.rules.path_beneath;
        assert_eq!(rules[0].paths, vec![PathBuf::from("/")]);
        assert_eq!(
            rules[0].allowed_access,
            vec!["execute", "read_file", "read_dir"]
        );
        let writable: Vec<_> = rules[1].paths.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(writable, vec!["/tmp", "/vol", "/dev/pts"]);
        assert_eq!(rules[1].allowed_access, c.ruleset.handled_access_fs);
        assert!(c.ruleset.handled_access_net.is_empty());
    }

    #[test]
    fn annotation_value_is_checked() {
        let mut a = HashMap::new();
        a.insert(DEFAULT_POLICY_ANNOTATION.to_string(), "on".to_string());
        assert!(matches!(
            plan(None, &a, &[]),
            Err(LandlockError::BadAnnotation { .. })
        ));
        a.insert(DEFAULT_POLICY_ANNOTATION.to_string(), "default".to_string());
        let c = cfg(json!({"ruleset": {"handledAccessFS": ["write_file"]}}));
        assert!(matches!(
            plan(Some(&c), &a, &[]),
            Err(LandlockError::BothPolicies)
        ));
    }
}
