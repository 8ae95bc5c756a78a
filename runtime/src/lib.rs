//! rampart's container core: spec → validated plan → process tree → rootfs → confinement → exec.
//!
//! - `spec`, `plan`: load config.json and validate it into a typed `Plan` before any process exists.
//! - `container`: the lifecycle commands; `state`: the state directory and its lock.
//! - `process`, `init`: the runtime clones the init, which sets up the container and execs.
//! - `namespaces`, `userns`: namespaces and id mappings.
//! - `rootfs`, `mounts`, `paths`, `devices`, `masked_paths`: the container's filesystem.
//! - `cgroups`: resource limits through libcgroups.
//! - `capabilities`, `identity`, `rlimits`, `sysctl`, `seccomp`: confinement of the process.
//! - `landlock`, `apparmor`: LSM confinement, prepared in the init and enforced right before exec.
//! - `audit`: `rampart audit` findings and the `--policy` check create makes.
//! - `hooks`: OCI hooks; `logging`: runc-compatible logs; `default_spec`: `rampart spec`.
//! - `sealed_binary`: create, run and exec re-exec from a read-only clone or sealed memfd of the
//!   runtime binary before any container process exists (CVE-2019-5736).
//! - `crash_points`: named places between lifecycle steps where a test build (feature
//!   `crash-points`) SIGKILLs the runtime; nothing in a normal build.
//! - `fuzzing` (feature `fuzzing` only): entry points for the fuzz targets in `fuzz/`.
//! - `audit_log`: `--audit-log` events, with the confinement `readback` reads from /proc and
//!   `sha256` digests of the config and the seccomp program.
//! - `host_check`: `rampart check`, what this host can enforce, probed.
//! - `syscalls`: the only place with raw syscalls (unsafe, each with a SAFETY note).

pub mod apparmor;
pub mod audit;
pub mod audit_log;
pub mod capabilities;
pub mod cgroups;
pub mod console;
pub mod container;
pub mod copyup;
pub mod crash_points;
pub mod default_spec;
pub mod devices;
pub mod events;
pub mod exec;
pub mod features;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hooks;
pub mod host_check;
pub mod identity;
pub mod init;
pub mod intel_rdt;
pub mod landlock;
pub mod logging;
pub mod masked_paths;
pub mod memory_policy;
pub mod mountinfo;
pub mod mounts;
pub mod namespaces;
pub mod net_devices;
pub mod paths;
pub mod plan;
pub mod process;
pub mod readback;
pub mod rlimits;
pub mod rootfs;
pub mod scheduling;
pub mod sealed_binary;
pub mod seccomp;
pub mod sha256;
pub mod signals;
pub mod spec;
pub mod state;
pub mod syscalls;
pub mod sysctl;
pub mod userns;

/// The newest runtime-spec version whose every Linux field rampart honours or, where the host
/// cannot apply it, refuses as that version says (README, "Runtime-spec fidelity"). Its rules
/// are followed where versions differ: a failing poststart hook is an error (1.3).
pub const OCI_VERSION: &str = "1.3.0";
