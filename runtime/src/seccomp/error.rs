//! The one error type of the seccomp module: a variant per failing step, naming the syscall.

use std::io;
use std::path::PathBuf;

/// Why compiling, installing or handing over a seccomp filter failed.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The config asks for something this runtime cannot express (bad field combination,
    /// out-of-range value, architecture without a syscall table).
    #[error("seccomp config: {0}")]
    Config(String),

    /// rampart only has syscall tables for an x86_64 host (x86_64, i386 and x32 ABIs).
    #[error("seccomp: native architecture {0} is not supported")]
    UnsupportedNativeArch(&'static str),

    /// The kernel refuses programs longer than BPF_MAXINSNS (4096) instructions.
    #[error("seccomp: compiled program has {0} instructions, the kernel accepts at most 4096")]
    ProgramTooLong(usize),

    /// A cached program blob could not be decoded.
    #[error("seccomp: cached program is malformed: {0}")]
    BadProgramBytes(&'static str),

    /// seccomp(SECCOMP_SET_MODE_FILTER) failed (EACCES: neither no_new_privs nor CAP_SYS_ADMIN;
    /// EINVAL: a flag or action the kernel does not know).
    #[error("seccomp(SECCOMP_SET_MODE_FILTER, flags {flags:#x}): {source}")]
    SetModeFilter { flags: u32, source: io::Error },

    /// With TSYNC, another thread could not be synchronised; the kernel names it.
    #[error("seccomp(SECCOMP_SET_MODE_FILTER) with TSYNC: thread {0} could not be synchronised")]
    TsyncThread(i64),

    /// Serialising the container process state for the seccomp agent.
    #[error("seccomp listener: container process state JSON: {0}")]
    StateJson(#[from] serde_json::Error),

    /// socket(AF_UNIX, SOCK_STREAM) for the listener hand-off.
    #[error("seccomp listener: socket(AF_UNIX): {0}")]
    ListenerSocket(nix::Error),

    /// connect(2) to the agent's listenerPath.
    #[error("seccomp listener: connect({path}): {source}")]
    ListenerConnect { path: PathBuf, source: nix::Error },

    /// The filter has NOTIFY rules but the container's init did not pass back its listener fd.
    #[error("seccomp listener: the container init did not pass the listener fd back")]
    ListenerMissing,

    /// sendmsg(2) with SCM_RIGHTS to the agent.
    #[error("seccomp listener: sendmsg to {path}: {source}")]
    ListenerSend { path: PathBuf, source: nix::Error },
}
