//! seccomp: compiles the OCI `linux.seccomp` section into a BPF program and installs it.
//!
//! Order of use:
//! 1. [`SeccompPlan::compile`] (wrapping [`compile`]) while validating the config (pure, no
//!    syscalls; cacheable through [`Compiled::to_bytes`]). Log its `warnings` (unknown syscall
//!    names, skipped architectures).
//! 2. In the container's init (and in an exec'd process) call [`install_for`] at each
//!    [`Stage`]; it loads the filter at exactly one of them:
//!    - without no_new_privs, before the capability drop ([`Stage::BeforeCapabilityDrop`]):
//!      loading a filter then needs CAP_SYS_ADMIN, which the process is about to lose;
//!    - with no_new_privs and NOTIFY rules, right after no_new_privs
//!      ([`Stage::AfterNoNewPrivs`]): the listener fd must travel back to the runtime over the
//!      init socket, which is closed once the init reports ready;
//!    - with no_new_privs and no NOTIFY rule, right before execve ([`Stage::BeforeExec`]), so
//!      the runtime's own last steps (waiting on exec.fifo, startContainer hooks) need not be
//!      allowed by the profile.
//!
//!    It returns the listener fd when NOTIFY rules exist.
//! 3. The runtime (outside the container, where `listenerPath` resolves as the user meant it)
//!    calls [`send_listener`] to hand that fd to the agent, with the state "creating".
//!
//! Why our own BPF emitter and not seccompiler: seccompiler 0.5 gives one match action per
//! filter, one architecture per filter (a mismatch kills), no SECCOMP_RET_USER_NOTIF, no filter
//! flags, and its `apply_filter` always sets no_new_privs. OCI needs per-rule actions (ERRNO with
//! different errnos, NOTIFY, TRAP, LOG...), x86_64 + i386 + x32 in one filter, and flags. Bending
//! it would mean one stacked filter per action (slower: every filter runs on every syscall, and
//! stacking changes precedence). Its syscall name tables, the one part worth borrowing, are
//! private (`pub(crate)`), and it has no i386/x32 tables. So rampart does not use seccompiler (the
//! dependency is gone). The emitter (`bpf.rs`) is ~150 lines.
//!
//! The default profile (`seccomp-profiles/default.json`, [`default_profile`]): default deny with
//! EPERM for x86_64, i386 and x32; 356 names allowed unconditionally (292 exist on x86_64, the rest
//! are i386 variants such as `_llseek`, `fstat64`, `socketcall`). Decisions:
//! - clone: allowed unless a CLONE_NEW* flag is set (masked check on the low 32 bits, which is all
//!   the kernel reads); unshare, setns, mount and the new mount API, pivot_root: denied, so no
//!   namespace (above all no user namespace) can be made from inside.
//! - clone3: ENOSYS, since its flags are in memory seccomp cannot read; glibc then uses clone.
//! - personality: only query (0xffffffff), PER_LINUX, PER_LINUX32 and their UNAME26 variants.
//! - ptrace, process_vm_readv/writev, kcmp: denied. Engines allow ptrace on Linux >= 4.8, but
//!   same-uid processes in a container can trace each other without CAP_SYS_PTRACE, and the issue
//!   asks that tracing another process fails. Debugging needs an explicit profile.
//! - socket(AF_VSOCK): EAFNOSUPPORT (it reaches the hypervisor around the network namespace).
//!   Not enforceable for i386 socketcall(2), whose arguments are in memory; socketcall stays
//!   allowed because i386 glibc uses it for every socket call.
//! - ioctl TIOCSTI and TIOCLINUX: EPERM (typing into a terminal the host may share).
//!
//!   Both exceptions are written the way libseccomp (and so runc) decides: a rule without
//!   arguments overrides every argument-scoped rule of its syscall, and a rule with the default
//!   action is dropped. So socket and ioctl are not in the unconditional list. socket: the
//!   AF_VSOCK rule (EQ/MASKED_EQ nodes are tried first), then "allowed if the argument fits in 32
//!   bits". ioctl: allowed if the command's low 32 bits are neither TIOCSTI (0x5412) nor
//!   TIOCLINUX (0x541c), as 35 MASKED_EQ rules (one per bit the two share, "this bit differs",
//!   plus the 6 other values of the 3 bits where they differ); the high half is ignored, as the
//!   kernel does, so a sign-extended command (musl passes an int) is still allowed, and the two
//!   denied ones get the default EPERM with any high half.
//! - denied as well: bpf, perf_event_open, io_uring_* (its operations bypass seccomp), keyctl,
//!   add_key, request_key, kexec_*, *_module, reboot, swapon/off, open_by_handle_at and
//!   name_to_handle_at, userfaultfd, clock/time setters, syslog, acct, quotactl, iopl/ioperm,
//!   modify_ldt, mbind/set_mempolicy, fanotify, lookup_dcookie, vm86, and everything unlisted.
//!
//! Files: `compile` (config → program), `db` (libseccomp's per-syscall decision tree, so rules
//! combine exactly as under runc), `bpf` (program type and emitter), `arch` and `tables` (ABIs
//! and syscall numbers), `install` (seccomp(2)), `notify` (listener hand-off), `error`; tests in
//! `tests` and `differential` (against libseccomp itself, with `testdata/`).

mod arch;
mod bpf;
mod compile;
mod db;
mod error;
mod install;
mod notify;
mod tables;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use oci_spec::runtime::LinuxSeccomp;

pub use arch::X32_SYSCALL_BIT;
pub use bpf::{Program, MAX_INSNS};
pub use compile::{compile, BAD_ARCH_ACTION};
pub use error::SeccompError;
pub use install::install;
pub use notify::{process_state_json, send_listener};

/// rampart's default profile (default deny with EPERM), embedded at build time.
const DEFAULT_PROFILE: &str = include_str!("../../../seccomp-profiles/default.json");

/// The default profile as JSON, for `rampart spec` to put into config.json verbatim.
pub fn default_profile_json() -> Result<serde_json::Value, SeccompError> {
    serde_json::from_str(DEFAULT_PROFILE)
        .map_err(|e| SeccompError::Config(format!("embedded default profile: {e}")))
}

/// A compiled filter: everything [`install`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    /// The BPF program.
    pub program: Program,
    /// SECCOMP_FILTER_FLAG_* for seccomp(2), including NEW_LISTENER when `uses_notify`.
    pub flags: u32,
    /// Whether some rule returns SECCOMP_RET_USER_NOTIF, i.e. [`install`] returns a listener fd
    /// that must go to the agent.
    pub uses_notify: bool,
    /// Things skipped while compiling, for the caller to log. Not part of the cached bytes.
    pub warnings: Vec<String>,
}

/// Magic and format version of [`Compiled::to_bytes`].
const CACHE_MAGIC: &[u8; 8] = b"RSCMP\x00\x00\x01";

impl Compiled {
    /// A stable byte form for caching: magic, flags (u32 LE), uses_notify (u8), program bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + self.program.len() * 8);
        out.extend_from_slice(CACHE_MAGIC);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.push(u8::from(self.uses_notify));
        out.extend_from_slice(&self.program.to_bytes());
        out
    }

    /// Inverse of [`Compiled::to_bytes`] (warnings come back empty).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SeccompError> {
        let rest = bytes
            .strip_prefix(CACHE_MAGIC.as_slice())
            .ok_or(SeccompError::BadProgramBytes("wrong magic or version"))?;
        let (head, prog) = rest
            .split_at_checked(5)
            .ok_or(SeccompError::BadProgramBytes("truncated header"))?;
        let flags = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let uses_notify = match head[4] {
            0 => false,
            1 => true,
            _ => return Err(SeccompError::BadProgramBytes("bad notify byte")),
        };
        Ok(Compiled {
            program: Program::from_bytes(prog)?,
            flags,
            uses_notify,
            warnings: Vec::new(),
        })
    }
}

/// rampart's default profile (`seccomp-profiles/default.json`). The file is checked by the tests,
/// so an error here means a broken build, but it is reported rather than panicking.
pub fn default_profile() -> Result<LinuxSeccomp, SeccompError> {
    serde_json::from_str(DEFAULT_PROFILE)
        .map_err(|e| SeccompError::Config(format!("embedded default profile: {e}")))
}

/// What the validated plan keeps of `linux.seccomp`: the compiled filter and where its listener
/// goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeccompPlan {
    pub compiled: Compiled,
    /// `listenerPath`: the agent's unix socket (set whenever `compiled.uses_notify`).
    pub listener_path: Option<PathBuf>,
    /// `listenerMetadata`, passed to the agent verbatim.
    pub listener_metadata: Option<String>,
}

impl SeccompPlan {
    /// Compiles `cfg`; the caller logs `compiled.warnings`.
    pub fn compile(cfg: &LinuxSeccomp) -> Result<Self, SeccompError> {
        Ok(SeccompPlan {
            compiled: compile(cfg)?,
            listener_path: cfg.listener_path().clone(),
            listener_metadata: cfg.listener_metadata().clone().filter(|m| !m.is_empty()),
        })
    }

    /// The one stage at which [`install_for`] loads this filter.
    pub fn stage(&self, no_new_privs: bool) -> Stage {
        if !no_new_privs {
            Stage::BeforeCapabilityDrop
        } else if self.compiled.uses_notify {
            Stage::AfterNoNewPrivs
        } else {
            Stage::BeforeExec
        }
    }
}

/// The points in a process's confinement where a filter may be loaded (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// After the executable lookup, before the bounding set, uid/gid and capability changes.
    BeforeCapabilityDrop,
    /// Right after prctl(PR_SET_NO_NEW_PRIVS).
    AfterNoNewPrivs,
    /// The last step before execve.
    BeforeExec,
}

/// Loads `plan`'s filter if `stage` is where it belongs for a process whose no_new_privs setting
/// is `no_new_privs`; does nothing otherwise (and for `None`, a config without seccomp). Call it
/// at every [`Stage`] in order. Returns the listener fd when the filter has NOTIFY rules: the
/// caller must get it to [`send_listener`] (the init passes it to the runtime with its ready
/// message).
pub fn install_for(
    plan: Option<&SeccompPlan>,
    no_new_privs: bool,
    stage: Stage,
) -> Result<Option<OwnedFd>, SeccompError> {
    match plan {
        Some(p) if p.stage(no_new_privs) == stage => install(&p.compiled),
        _ => Ok(None),
    }
}

/// The runtime's side of the NOTIFY hand-off: sends the listener fd that the init passed back
/// (`listener`) to the agent at `plan.listener_path`, with the container state `state_json` (the
/// hook state document, status "creating") and `pid`, the init as the host sees it. Nothing to do
/// without NOTIFY rules; a filter with NOTIFY rules whose fd did not arrive is an error, since the
/// container would wait forever on its first notified syscall.
pub fn send_to_agent(
    plan: Option<&SeccompPlan>,
    listener: Option<OwnedFd>,
    pid: i32,
    state_json: &[u8],
) -> Result<(), SeccompError> {
    let Some(plan) = plan.filter(|p| p.compiled.uses_notify) else {
        // An fd we did not ask for is closed on drop.
        return Ok(());
    };
    let (Some(fd), Some(path)) = (listener, plan.listener_path.as_deref()) else {
        return Err(SeccompError::ListenerMissing);
    };
    let state: oci_spec::runtime::State =
        serde_json::from_slice(state_json).map_err(SeccompError::StateJson)?;
    send_listener(
        path,
        std::os::fd::AsFd::as_fd(&fd),
        pid,
        plan.listener_metadata.as_deref(),
        &state,
    )
}
