//! The typed plan: the whole config.json validated and converted before any process is made.
//! Code that runs inside the half-built container only reads a `Plan`; it never meets a
//! configuration error that could have been found here.

use crate::apparmor::{self, AppArmorError};
use crate::capabilities::{self, CapError, CapsPlan};
use crate::cgroups::{self, CgroupError};
use crate::devices::{self, DeviceError, DevicePlan};
use crate::hooks::{self, HookError, HooksPlan};
use crate::identity::User;
use crate::landlock::{self, LandlockError, LandlockPlan};
use crate::masked_paths::{self, MaskError};
use crate::mounts::{self, MountError, MountPlan, Propagation};
use crate::namespaces::{self, Kind, NamespaceError, NamespacePlan};
use crate::rlimits::{self, Rlimit, RlimitError};
use crate::seccomp::{SeccompError, SeccompPlan};
use crate::sysctl::{self, SysctlError};
use crate::userns::{self, IdMap, UsernsError};
use oci_spec::runtime::Spec;
use std::collections::HashMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};

/// The kernel's limit on a host or domain name (__NEW_UTS_LEN), in bytes.
const UTS_NAME_MAX: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("ociVersion {value:?} is not a version: the runtime-spec wants SemVer (MAJOR.MINOR.PATCH, e.g. 1.2.0)")]
    BadOciVersion { value: String },
    #[error("ociVersion {value:?}: this runtime implements runtime-spec 1.x only")]
    UnsupportedOciVersion { value: String },
    #[error("{field} is not supported by this rampart yet: it is refused rather than ignored; remove it from the config")]
    Unsupported { field: &'static str },
    #[error("linux.personality.flags {flags:?}: the runtime-spec defines no personality flags")]
    PersonalityFlags { flags: Vec<String> },
    #[error("config has no process section")]
    NoProcess,
    #[error("config has no root section")]
    NoRoot,
    #[error("config has no linux section")]
    NoLinux,
    #[error("process.args must not be empty")]
    NoArgs,
    #[error("process.cwd {cwd} must be an absolute path")]
    RelativeCwd { cwd: PathBuf },
    #[error("root.path {path}: {err}")]
    Rootfs { path: PathBuf, err: std::io::Error },
    #[error("root.path {path} is not a directory")]
    RootfsNotDir { path: PathBuf },
    #[error("{field} contains a NUL byte")]
    Nul { field: &'static str },
    #[error("process.env entry {entry:?} is not KEY=VALUE")]
    BadEnv { entry: String },
    #[error("hostname is set but the container has no UTS namespace of its own")]
    HostnameWithoutUts,
    #[error("{field} is {len} bytes long; the kernel takes at most {UTS_NAME_MAX} (sethostname/setdomainname)")]
    UtsNameTooLong { field: &'static str, len: usize },
    #[error("domainname is set but the container has no UTS namespace of its own")]
    DomainnameWithoutUts,
    #[error("rootfsPropagation {value:?} is not one of shared, slave, private, unbindable (r- forms too)")]
    BadPropagation { value: String },
    #[error("process.terminal is true but no --console-socket was given")]
    TerminalWithoutSocket,
    #[error("linux.timeOffsets given without a time namespace")]
    TimeOffsetsWithoutNs,
    #[error("linux.timeOffsets.{clock}: only monotonic and boottime can be offset")]
    BadTimeOffsetClock { clock: String },
    #[error("linux.timeOffsets.{clock}.nanosecs {nanos} must be below 1000000000")]
    BadTimeOffsetNanos { clock: String, nanos: u32 },
    #[error("{field} 4294967295 is not an id: set*id(2) read (uid_t)-1 as \"leave unchanged\", so the process would keep the runtime's root identity")]
    UnchangedId { field: &'static str },
    #[error("process.oomScoreAdj {value} is outside -1000..1000")]
    BadOomScoreAdj { value: i32 },
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    #[error(transparent)]
    Userns(#[from] UsernsError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Mask(#[from] MaskError),
    #[error(transparent)]
    Capability(#[from] CapError),
    #[error(transparent)]
    Rlimit(#[from] RlimitError),
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error(transparent)]
    Landlock(#[from] LandlockError),
    #[error(transparent)]
    AppArmor(#[from] AppArmorError),
    #[error(transparent)]
    Scheduling(#[from] crate::scheduling::SchedulingError),
    #[error(transparent)]
    MemoryPolicy(#[from] crate::memory_policy::MemoryPolicyError),
    #[error(transparent)]
    NetDevice(#[from] crate::net_devices::NetDeviceError),
    #[error(transparent)]
    IntelRdt(#[from] crate::intel_rdt::IntelRdtError),
}

/// What the workload process is: shared by the init and, later, by exec.
#[derive(Clone, Debug)]
pub struct ProcessPlan {
    pub args: Vec<CString>,
    pub env: Vec<CString>,
    /// PATH from env, for looking up args[0].
    pub path_env: String,
    pub cwd: PathBuf,
    pub user: User,
    pub caps: CapsPlan,
    pub no_new_privileges: bool,
    pub rlimits: Vec<Rlimit>,
    pub oom_score_adj: Option<i32>,
    pub terminal: bool,
    /// process.consoleSize as (rows, columns): the pty's window size from the start.
    pub console_size: Option<(u16, u16)>,
    /// Socket-activation descriptors (3..3+N) inherited from the caller's LISTEN_FDS; passed on
    /// with LISTEN_FDS/LISTEN_PID set for the process (0: none).
    pub listen_fds: u32,
    /// process.apparmorProfile, checked at plan time to be applicable on this host.
    pub apparmor_profile: Option<String>,
    /// process.ioPriority, process.scheduler, process.execCPUAffinity.
    pub scheduling: crate::scheduling::SchedulingPlan,
}

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl ProcessPlan {
    pub fn from_oci(p: &oci_spec::runtime::Process) -> Result<Self, PlanError> {
        let args = p.args().clone().unwrap_or_default();
        if args.is_empty() {
            return Err(PlanError::NoArgs);
        }

        let args = args
            .into_iter()
            .map(|a| {
                CString::new(a).map_err(|_| PlanError::Nul {
                    field: "process.args",
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut path_env = DEFAULT_PATH.to_string();
        let mut env = Vec::new();
        for e in p.env().iter().flatten() {
            let Some((k, v)) = e.split_once('=') else {
                return Err(PlanError::BadEnv { entry: e.clone() });
            };
            if k.is_empty() {
                return Err(PlanError::BadEnv { entry: e.clone() });
            }
            if k == "PATH" {
                path_env = v.to_string();
            }
            env.push(CString::new(e.as_str()).map_err(|_| PlanError::Nul {
                field: "process.env",
            })?);
        }
        let cwd = p.cwd().clone();
        if !cwd.is_absolute() {
            return Err(PlanError::RelativeCwd { cwd });
        }
        let user = User::from_oci(p.user());
        for (field, id) in [
            ("process.user.uid", user.uid),
            ("process.user.gid", user.gid),
        ]
        .into_iter()
        .chain(
            user.additional_gids
                .iter()
                .map(|g| ("process.user.additionalGids", *g)),
        ) {
            if id == u32::MAX {
                return Err(PlanError::UnchangedId { field });
            }
        }
        Ok(ProcessPlan {
            args,
            env,
            path_env,
            cwd,
            user,
            caps: capabilities::plan(p.capabilities().as_ref())?,
            no_new_privileges: p.no_new_privileges().unwrap_or(false),
            rlimits: rlimits::plan(p.rlimits().as_deref().unwrap_or(&[]))?,
            oom_score_adj: match p.oom_score_adj() {
                Some(v) if !(-1000..=1000).contains(&v) => {
                    return Err(PlanError::BadOomScoreAdj { value: v })
                }
                v => v,
            },
            terminal: p.terminal().unwrap_or(false),
            // Sizes beyond a u16 cannot be expressed by TIOCSWINSZ; clamp rather than wrap.
            console_size: p.console_size().map(|b| {
                (
                    b.height().min(u16::MAX as u64) as u16,
                    b.width().min(u16::MAX as u64) as u16,
                )
            }),
            listen_fds: 0,
            apparmor_profile: apparmor::plan(p.apparmor_profile().as_deref())?,
            scheduling: crate::scheduling::plan(
                p.io_priority().as_ref(),
                p.scheduler().as_ref(),
                p.exec_cpu_affinity().as_ref(),
            )?,
        })
    }
}

/// The whole validated container.
pub struct Plan {
    pub bundle: PathBuf,
    pub oci_version: String,
    pub rootfs: PathBuf,
    pub root_readonly: bool,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub namespaces: NamespacePlan,
    pub uid_maps: Vec<IdMap>,
    pub gid_maps: Vec<IdMap>,
    pub mounts: Vec<MountPlan>,
    /// The config mounts a tmpfs on /dev: make the default devices and symlinks in it.
    pub dev_tmpfs: bool,
    pub devices: Vec<DevicePlan>,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub rootfs_propagation: Option<Propagation>,
    pub sysctl: Vec<(String, String)>,
    pub process: ProcessPlan,
    pub hooks: HooksPlan,
    pub cgroup_path: PathBuf,
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    pub annotations: HashMap<String, String>,
    /// linux.seccomp compiled into BPF; loaded by the init with `seccomp::install_for`.
    pub seccomp: Option<SeccompPlan>,
    pub time_offsets: Vec<(String, i64, u32)>,
    /// The container's Landlock policy (process.landlock or the default-policy annotation),
    /// enforced on the init and on every exec'd process.
    pub landlock: Option<LandlockPlan>,
    /// linux.memoryPolicy for set_mempolicy(2).
    pub memory_policy: Option<crate::memory_policy::MemoryPolicyPlan>,
    /// linux.personality as the personality(2) argument (PER_LINUX 0 or PER_LINUX32 8).
    pub personality: Option<libc::c_ulong>,
    /// linux.netDevices: host links moved into the container's network namespace at create.
    pub net_devices: Vec<crate::net_devices::NetDevicePlan>,
    /// linux.intelRdt: the resctrl group's schemata and monitoring.
    pub intel_rdt: Option<crate::intel_rdt::IntelRdtPlan>,
}

impl Plan {
    pub fn user_namespace(&self) -> bool {
        self.namespaces.creates(Kind::User)
    }
}

/// ociVersion must be a SemVer 2.0 version (MAJOR.MINOR.PATCH, with an optional -pre-release and
/// +build part), as the runtime-spec requires, and of major version 1, the only one there is.
fn check_oci_version(v: &str) -> Result<(), PlanError> {
    let bad = || PlanError::BadOciVersion {
        value: v.to_string(),
    };
    let (core, build) = match v.split_once('+') {
        Some((c, b)) => (c, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match core.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (core, None),
    };
    let numeric = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 || !parts.iter().all(|p| numeric(p)) {
        return Err(bad());
    }
    let ident_ok = |s: &str| {
        s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    if pre.is_some_and(|p| !ident_ok(p)) || build.is_some_and(|b| !ident_ok(b)) {
        return Err(bad());
    }
    if parts[0] != "1" {
        return Err(PlanError::UnsupportedOciVersion {
            value: v.to_string(),
        });
    }
    Ok(())
}

/// Validates `spec` into a plan. `spec` was parsed from `config_bytes`, read from `config_path`
/// (the bundle's config.json, or the copy saved in the state directory for exec); the fields
/// oci-spec does not know (`process.landlock`) are taken from those same bytes. `bundle` is
/// absolute.
pub fn build(
    spec: &Spec,
    config_path: &Path,
    config_bytes: &[u8],
    bundle: &Path,
    id: &str,
    console_socket: bool,
) -> Result<Plan, PlanError> {
    check_oci_version(spec.version())?;
    let process = spec.process().as_ref().ok_or(PlanError::NoProcess)?;
    let root = spec.root().as_ref().ok_or(PlanError::NoRoot)?;
    let linux = spec.linux().as_ref().ok_or(PlanError::NoLinux)?;

    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let rootfs = std::fs::canonicalize(&rootfs).map_err(|err| PlanError::Rootfs {
        path: rootfs.clone(),
        err,
    })?;
    if !rootfs.is_dir() {
        return Err(PlanError::RootfsNotDir { path: rootfs });
    }

    let intel_rdt = crate::intel_rdt::plan(linux.intel_rdt().as_ref())?;
    if intel_rdt.is_some() {
        // The runtime-spec: "if resctrl is not mounted, the runtime MUST generate an error";
        // here, before anything is made.
        crate::intel_rdt::resctrl_root()?;
    }
    let personality = match linux.personality() {
        None => None,
        Some(p) if p.flags().as_ref().is_some_and(|f| !f.is_empty()) => {
            // The runtime-spec defines no flag values yet.
            return Err(PlanError::PersonalityFlags {
                flags: p.flags().clone().unwrap_or_default(),
            });
        }
        Some(p) => Some(match p.domain() {
            oci_spec::runtime::LinuxPersonalityDomain::PerLinux => 0x0000,
            oci_spec::runtime::LinuxPersonalityDomain::PerLinux32 => 0x0008,
        }),
    };
    let namespaces = namespaces::plan(linux.namespaces().as_deref().unwrap_or(&[]))?;
    let net_devices = crate::net_devices::plan(linux.net_devices().as_ref(), &namespaces)?;
    let uid_maps = userns::plan(
        "uidMappings",
        linux.uid_mappings().as_deref().unwrap_or(&[]),
    )?;
    let gid_maps = userns::plan(
        "gidMappings",
        linux.gid_mappings().as_deref().unwrap_or(&[]),
    )?;
    userns::check_disjoint("uidMappings", &uid_maps)?;
    userns::check_disjoint("gidMappings", &gid_maps)?;
    if namespaces.creates(Kind::User) && (uid_maps.is_empty() || gid_maps.is_empty()) {
        return Err(UsernsError::MissingMappings.into());
    }
    if !namespaces.creates(Kind::User) && !(uid_maps.is_empty() && gid_maps.is_empty()) {
        return Err(UsernsError::MappingsWithoutNamespace.into());
    }
    // Checked here rather than left to sethostname's EINVAL inside the half-made container,
    // which names neither the field nor the limit.
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if let Some(v) = value.as_deref().filter(|v| v.len() > UTS_NAME_MAX) {
            return Err(PlanError::UtsNameTooLong {
                field,
                len: v.len(),
            });
        }
    }
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !namespaces.creates(Kind::Uts) {
        return Err(PlanError::HostnameWithoutUts);
    }
    // The same for the NIS domain name: without a UTS namespace of its own, setdomainname
    // would rename the host.
    if spec.domainname().as_deref().is_some_and(|d| !d.is_empty()) && !namespaces.creates(Kind::Uts)
    {
        return Err(PlanError::DomainnameWithoutUts);
    }

    let mut mounts = spec
        .mounts()
        .iter()
        .flatten()
        .map(|m| mounts::plan(m, bundle))
        .collect::<Result<Vec<_>, _>>()?;
    mounts::inherit_container_maps(
        &mut mounts,
        namespaces.creates(Kind::User),
        &uid_maps,
        &gid_maps,
    )?;
    let dev_tmpfs = mounts
        .iter()
        .any(|m| m.destination == Path::new("/dev") && m.bind.is_none());
    let devices = linux
        .devices()
        .iter()
        .flatten()
        .map(devices::plan)
        .collect::<Result<Vec<_>, _>>()?;
    let to_paths = |v: &Option<Vec<String>>| -> Vec<PathBuf> {
        v.iter().flatten().map(PathBuf::from).collect()
    };
    let masked_paths = to_paths(linux.masked_paths());
    let readonly_paths = to_paths(linux.readonly_paths());
    masked_paths::check_absolute(&masked_paths)?;
    masked_paths::check_absolute(&readonly_paths)?;

    let rootfs_propagation = match linux.rootfs_propagation().as_deref() {
        None | Some("") => None,
        Some(v) => Some(
            mounts::parse_propagation(v).ok_or_else(|| PlanError::BadPropagation {
                value: v.to_string(),
            })?,
        ),
    };

    // Joined namespaces count only when they are not the runtime's (the host's) own: a config
    // that joins the host's network namespace by path must not write the host's net sysctls.
    let ns_for_sysctl = sysctl::Namespaced {
        ipc: namespaces.private(Kind::Ipc),
        net: namespaces.private(Kind::Net),
        uts: namespaces.private(Kind::Uts),
    };
    let mut sysctl = Vec::new();
    for (k, v) in linux.sysctl().iter().flatten() {
        sysctl::validate(k, &ns_for_sysctl)?;
        sysctl.push((k.clone(), v.clone()));
    }
    sysctl.sort();

    let process = ProcessPlan::from_oci(process)?;
    if process.terminal && !console_socket {
        return Err(PlanError::TerminalWithoutSocket);
    }

    let mut time_offsets = Vec::new();
    // What /proc/self/timens_offsets accepts, checked here rather than by a failed write in
    // the half-made container.
    for (clock, off) in linux.time_offsets().iter().flatten() {
        if clock != "monotonic" && clock != "boottime" {
            return Err(PlanError::BadTimeOffsetClock {
                clock: clock.clone(),
            });
        }
        let nanos = off.nanosecs().unwrap_or(0);
        if nanos >= 1_000_000_000 {
            return Err(PlanError::BadTimeOffsetNanos {
                clock: clock.clone(),
                nanos,
            });
        }
        time_offsets.push((clock.clone(), off.secs().unwrap_or(0), nanos));
    }
    if !time_offsets.is_empty() && !namespaces.creates(Kind::Time) {
        return Err(PlanError::TimeOffsetsWithoutNs);
    }

    // Compiled here so a bad profile fails create before any process exists.
    let seccomp = match linux.seccomp() {
        Some(cfg) => {
            let p = SeccompPlan::compile(cfg)?;
            // Debug level, as runc: engines' stock profiles name syscalls this kernel or ABI
            // lacks, and without --log (conmon) a warning would land in the user's exec output.
            for w in &p.compiled.warnings {
                crate::logging::debug(w);
            }
            Some(p)
        }
        None => None,
    };

    let annotations = spec.annotations().clone().unwrap_or_default();
    let raw_process = landlock::raw_process(config_path, config_bytes)?;
    let landlock_config = match &raw_process {
        Some(p) => landlock::parse_process(p, config_path)?,
        None => None,
    };
    let landlock = landlock::plan(landlock_config.as_ref(), &annotations, &mounts)?;

    Ok(Plan {
        bundle: bundle.to_path_buf(),
        oci_version: spec.version().clone(),
        rootfs,
        root_readonly: root.readonly().unwrap_or(false),
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        namespaces,
        uid_maps,
        gid_maps,
        mounts,
        dev_tmpfs,
        devices,
        masked_paths,
        readonly_paths,
        rootfs_propagation,
        sysctl,
        process,
        hooks: hooks::plan(spec.hooks().as_ref())?,
        cgroup_path: cgroups::path_for(linux.cgroups_path().as_deref(), id)?,
        resources: linux.resources().clone(),
        annotations,
        seccomp,
        time_offsets,
        landlock,
        personality,
        memory_policy: crate::memory_policy::plan(linux.memory_policy().as_ref())?,
        net_devices,
        intel_rdt,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn oci_version_must_be_semver_of_major_1() {
        for ok in [
            "1.0.0",
            "1.2.0",
            "1.0.2-dev",
            "1.1.0-rc.1",
            "1.3.0+abc.1",
            "1.0.0-rc1+x",
        ] {
            assert!(super::check_oci_version(ok).is_ok(), "{ok}");
        }
        for bad in [
            "invalid", "", "1", "1.0", "1.0.0.0", "01.0.0", "1.0.x", "1.0.0-", "v1.0.0",
        ] {
            assert!(super::check_oci_version(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            super::check_oci_version("2.0.0"),
            Err(super::PlanError::UnsupportedOciVersion { .. })
        ));
    }
}
