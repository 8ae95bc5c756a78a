//! The commands that drive a running container's cgroup: `pause`, `resume`, `ps`, `update`.
//! `pause`, `resume` and `update` take the container's state lock for as long as they read the
//! state and act; `ps` only looks and takes none.

use super::{Cgroup, CgroupError, Driver, Layout};
use crate::container::status_of;
use crate::state::{ContainerDir, State, StateError, Status};
use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxPids, LinuxResources,
};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("update: {0}")]
    Policy(#[from] crate::audit::policy::PolicyError),
    #[error("update: reading the container's config {path} for the policy check: {msg}")]
    PolicyConfig { path: PathBuf, msg: String },
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    IntelRdt(#[from] crate::intel_rdt::IntelRdtError),
    #[error("container {id} has no cgroup (created with --cgroup-manager disabled, or rootless where no cgroup was delegated to the caller)")]
    NoCgroup { id: String },
    #[error("container {id} is {status}: {what} needs a {want} container")]
    WrongStatus {
        id: String,
        status: &'static str,
        what: &'static str,
        want: &'static str,
    },
    #[error("reading resources from {path}: {err}")]
    ReadResources { path: String, err: io::Error },
    #[error("parsing resources from {path}: {err}")]
    ParseResources {
        path: String,
        err: serde_json::Error,
    },
    #[error("--{flag} {value:?}: {why}")]
    BadFlag {
        flag: &'static str,
        value: String,
        why: String,
    },
    #[error("running ps {args:?}: {err}")]
    PsSpawn { args: Vec<String>, err: io::Error },
    #[error("ps {args:?} failed: {stderr}")]
    PsFailed { args: Vec<String>, stderr: String },
    #[error("ps output has no PID column in its header {header:?}")]
    PsNoPid { header: String },
}

/// Loads the state and opens the cgroup of a container (state lock held by the returned dir).
fn open(root: &Path, id: &str) -> Result<(ContainerDir, State, Status, Cgroup), CommandError> {
    open_dir(ContainerDir::open(root, id)?)
}

fn open_dir(dir: ContainerDir) -> Result<(ContainerDir, State, Status, Cgroup), CommandError> {
    let st = dir.load()?;
    let status = status_of(&dir, &st);
    let path = st
        .cgroup_path
        .clone()
        .ok_or_else(|| CommandError::NoCgroup { id: dir.id.clone() })?;
    let cg = Cgroup::open(&path, &dir.id, Driver::Cgroupfs)?;
    Ok((dir, st, status, cg))
}

fn wrong(id: &str, status: Status, what: &'static str, want: &'static str) -> CommandError {
    CommandError::WrongStatus {
        id: id.to_string(),
        status: status.as_str(),
        what,
        want,
    }
}

/// `pause`: freezes every process of a running container (freezer v1 / cgroup.freeze v2).
pub fn pause(root: &Path, id: &str) -> Result<(), CommandError> {
    let r = pause_container(root, id);
    let res = r.as_ref().map(|_| ()).map_err(|e| e.to_string());
    crate::audit_log::record(crate::audit_log::Action::Pause, root, id, res);
    r
}

fn pause_container(root: &Path, id: &str) -> Result<(), CommandError> {
    let (_dir, _st, status, cg) = open(root, id)?;
    if status != Status::Running {
        return Err(wrong(id, status, "pause", "running"));
    }
    cg.freeze(true)?;
    crate::crash_points::at("pause:frozen");
    Ok(())
}

/// `resume`: thaws a paused container.
pub fn resume(root: &Path, id: &str) -> Result<(), CommandError> {
    let r = resume_container(root, id);
    let res = r.as_ref().map(|_| ()).map_err(|e| e.to_string());
    crate::audit_log::record(crate::audit_log::Action::Resume, root, id, res);
    r
}

fn resume_container(root: &Path, id: &str) -> Result<(), CommandError> {
    let (_dir, _st, status, cg) = open(root, id)?;
    if status != Status::Paused {
        return Err(wrong(id, status, "resume", "paused"));
    }
    cg.freeze(false)?;
    crate::crash_points::at("resume:thawed");
    Ok(())
}

/// The host pids of every process in the container's cgroup. Read without the lock (`ps`
/// only looks), so it answers while another command works on the container.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>, CommandError> {
    let dir = ContainerDir::peek(root, id)?;
    let st = dir.load()?;
    if st.cgroup_path.is_none() {
        // No cgroup (a rootless container on a host that delegates none, or the cgroupfs
        // driver disabled): its processes are those in the pid namespace it made, or below;
        // without one of its own, its init.
        let status = status_of(&dir, &st);
        if status == Status::Stopped {
            return Err(wrong(id, status, "ps", "running"));
        }
        let mut v = crate::container::pids_in_own_namespace(&st);
        v.sort_unstable();
        return Ok(v);
    }
    let (_dir, _st, status, cg) = open_dir(dir)?;
    if status == Status::Stopped {
        return Err(wrong(id, status, "ps", "running"));
    }
    let mut v = cg.pids()?;
    v.sort_unstable();
    Ok(v)
}

/// `ps` in table form: the host's `ps ARGS` (default `-ef`), its header, and only the lines of
/// the container's processes, found by the column headed PID (as runc does).
pub fn ps_table(root: &Path, id: &str, args: &[String]) -> Result<String, CommandError> {
    let pids = pids(root, id)?;
    let args: Vec<String> = if args.is_empty() {
        vec!["-ef".into()]
    } else {
        args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|err| CommandError::PsSpawn {
            args: args.clone(),
            err,
        })?;
    if !out.status.success() {
        return Err(CommandError::PsFailed {
            args,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    filter_ps(&String::from_utf8_lossy(&out.stdout), &pids)
}

fn filter_ps(text: &str, pids: &[i32]) -> Result<String, CommandError> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| CommandError::PsNoPid {
            header: header.to_string(),
        })?;
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// runc's `update` flags; every one overrides the same field of `--resources`.
#[derive(Clone, Debug, Default)]
pub struct UpdateFlags {
    pub resources: Option<PathBuf>,
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub memory_reservation: Option<String>,
    pub kernel_memory: Option<String>,
    pub kernel_memory_tcp: Option<String>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_burst: Option<u64>,
    pub cpu_idle: Option<i64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    /// Intel RDT schemata lines for the container's resctrl group (not cgroup resources).
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
    /// The global `--policy` level: new device rules are held to it (and to the saved config's
    /// `run.rampart.policy` annotation) as create held the config's.
    pub policy: Option<crate::audit::Level>,
}

/// A size as runc takes it: bytes, or a number with k/m/g/t (binary units, optional "b"),
/// or -1 for unlimited.
pub fn parse_bytes(flag: &'static str, s: &str) -> Result<i64, CommandError> {
    let bad = |why: &str| CommandError::BadFlag {
        flag,
        value: s.to_string(),
        why: why.to_string(),
    };
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult): (&str, i64) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad("not a size"))?;
    // Checked on the product: "9e18" alone fits, "9e18k" would be cut down to i64::MAX by the
    // cast. NaN fails the range test too.
    let bytes = n * mult as f64;
    if !(0.0..9.0e18).contains(&bytes) {
        return Err(bad("out of range"));
    }
    Ok(bytes as i64)
}

fn read_resources(path: &Path) -> Result<LinuxResources, CommandError> {
    let shown = path.display().to_string();
    let mut text = String::new();
    if path == Path::new("-") {
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| CommandError::ReadResources {
                path: shown.clone(),
                err,
            })?;
    } else {
        text = std::fs::read_to_string(path).map_err(|err| CommandError::ReadResources {
            path: shown.clone(),
            err,
        })?;
    }
    serde_json::from_str(&text).map_err(|err| CommandError::ParseResources { path: shown, err })
}

/// The resources `update` applies: `--resources` (if any), then the flags on top.
pub fn update_resources(f: &UpdateFlags) -> Result<LinuxResources, CommandError> {
    let mut r = match &f.resources {
        Some(p) => read_resources(p)?,
        None => LinuxResources::default(),
    };
    let mut mem = (*r.memory()).unwrap_or_default();
    let mut mem_set = r.memory().is_some();
    let sizes: [(&'static str, &Option<String>, fn(&mut LinuxMemory, i64)); 5] = [
        ("memory", &f.memory, |m, v| {
            m.set_limit(Some(v));
        }),
        ("memory-swap", &f.memory_swap, |m, v| {
            m.set_swap(Some(v));
        }),
        ("memory-reservation", &f.memory_reservation, |m, v| {
            m.set_reservation(Some(v));
        }),
        ("kernel-memory", &f.kernel_memory, |m, v| {
            m.set_kernel(Some(v));
        }),
        ("kernel-memory-tcp", &f.kernel_memory_tcp, |m, v| {
            m.set_kernel_tcp(Some(v));
        }),
    ];
    for (flag, value, set) in sizes {
        if let Some(v) = value {
            set(&mut mem, parse_bytes(flag, v)?);
            mem_set = true;
        }
    }
    if mem_set {
        r.set_memory(Some(mem));
    }

    let mut cpu: LinuxCpu = r.cpu().clone().unwrap_or_default();
    let mut cpu_set = r.cpu().is_some();
    if let Some(v) = f.cpu_shares {
        cpu.set_shares(Some(v));
        cpu_set = true;
    }
    if let Some(v) = f.cpu_quota {
        cpu.set_quota(Some(v));
        cpu_set = true;
    }
    if let Some(v) = f.cpu_period {
        cpu.set_period(Some(v));
        cpu_set = true;
    }
    if let Some(v) = f.cpu_burst {
        cpu.set_burst(Some(v));
        cpu_set = true;
    }
    if let Some(v) = f.cpu_idle {
        if !(0..=1).contains(&v) {
            return Err(CommandError::BadFlag {
                flag: "cpu-idle",
                value: v.to_string(),
                why: "must be 0 or 1".into(),
            });
        }
        cpu.set_idle(Some(v));
        cpu_set = true;
    }
    if let Some(v) = f.cpu_rt_period {
        cpu.set_realtime_period(Some(v));
        cpu_set = true;
    }
    if let Some(v) = f.cpu_rt_runtime {
        cpu.set_realtime_runtime(Some(v));
        cpu_set = true;
    }
    if let Some(v) = &f.cpuset_cpus {
        cpu.set_cpus(Some(v.clone()));
        cpu_set = true;
    }
    if let Some(v) = &f.cpuset_mems {
        cpu.set_mems(Some(v.clone()));
        cpu_set = true;
    }
    if cpu_set {
        r.set_cpu(Some(cpu));
    }

    if let Some(v) = f.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(v);
        r.set_pids(Some(p));
    }
    if let Some(w) = f.blkio_weight {
        if !(10..=1000).contains(&w) && w != 0 {
            return Err(CommandError::BadFlag {
                flag: "blkio-weight",
                value: w.to_string(),
                why: "must be 10..1000".into(),
            });
        }
        let mut b: LinuxBlockIo = r.block_io().clone().unwrap_or_default();
        b.set_weight(Some(w));
        r.set_block_io(Some(b));
    }
    Ok(r)
}

/// `update`: applies new limits to a created, running or paused container.
pub fn update(root: &Path, id: &str, f: &UpdateFlags) -> Result<(), CommandError> {
    let r = update_container(root, id, f);
    let res = r.as_ref().map(|_| ()).map_err(|e| e.to_string());
    crate::audit_log::record(crate::audit_log::Action::Update, root, id, res);
    r
}

fn update_container(root: &Path, id: &str, f: &UpdateFlags) -> Result<(), CommandError> {
    let mut r = update_resources(f)?;
    let (dir, st, status, cg) = open(root, id)?;
    if status == Status::Stopped {
        return Err(wrong(id, status, "update", "running"));
    }
    // Checked before the cgroup is changed, so a refused schema leaves the update undone.
    let rdt_lines = if f.l3_cache_schema.is_some() || f.mem_bw_schema.is_some() {
        let resctrl = match crate::intel_rdt::resctrl_root() {
            Ok(r) => Some(r),
            Err(crate::intel_rdt::IntelRdtError::NoResctrl) => None,
            Err(e) => return Err(e.into()),
        };
        crate::intel_rdt::check_update(
            resctrl.as_deref(),
            st.intel_rdt.as_ref(),
            id,
            f.l3_cache_schema.as_deref(),
            f.mem_bw_schema.as_deref(),
        )?
    } else {
        Vec::new()
    };
    check_policy(&dir.path, &st.bundle, f.policy, &r)?;
    // On v2 the device rules are one eBPF program that libcgroups rebuilds on every apply: an
    // update without devices would drop the container's own allow rules, so keep the ones it
    // was created with. (v1 lists are left alone when no rules are given.)
    if cg.layout() == Layout::V2 && r.devices().is_none() {
        r.set_devices(created_devices(&dir.path, &st.bundle));
    }
    cg.apply(&r)?;
    if let Some(pl) = &st.intel_rdt {
        crate::intel_rdt::apply_update(pl, &rdt_lines)?;
    }
    crate::crash_points::at("update:applied");
    Ok(())
}

/// The policy create enforced holds for update: the saved config with the update's device
/// rules in place of its own goes through the same check, so `update --resources` cannot allow
/// the devices the policy refused. (The limits an update changes are reported only, at every
/// level.)
fn check_policy(
    state_dir: &Path,
    bundle: &Path,
    flag: Option<crate::audit::Level>,
    r: &LinuxResources,
) -> Result<(), CommandError> {
    use crate::audit::policy;
    let saved = state_dir.join("config.json");
    let path = if saved.exists() {
        saved
    } else {
        bundle.join("config.json")
    };
    let bad = |msg: String| CommandError::PolicyConfig {
        path: path.clone(),
        msg,
    };
    let bytes =
        std::fs::read(&path).map_err(|e| bad(crate::logging::errno_in_words(&e.to_string())))?;
    let spec = crate::spec::parse(&path, &bytes).map_err(|e| bad(e.to_string()))?;
    let annotations = spec.annotations().clone().unwrap_or_default();
    if flag.is_none() && !annotations.contains_key(policy::ANNOTATION) {
        return Ok(());
    }
    let Some(devices) = r.devices() else {
        return Ok(());
    };
    let mut raw: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let devices = serde_json::to_value(devices).map_err(|e| bad(e.to_string()))?;
    let Some(linux) = raw
        .as_object_mut()
        .map(|o| o.entry("linux").or_insert_with(|| serde_json::json!({})))
        .and_then(serde_json::Value::as_object_mut)
    else {
        return Err(bad("linux is not a JSON object".into()));
    };
    let resources = linux
        .entry("resources")
        .or_insert_with(|| serde_json::json!({}));
    if !resources.is_object() {
        *resources = serde_json::json!({});
    }
    resources["devices"] = devices;
    policy::enforce(flag, &annotations, &raw, bundle, None)?;
    Ok(())
}

/// linux.resources.devices of the config the container was created from (the copy saved in the
/// state directory, else the bundle's).
fn created_devices(state_dir: &Path, bundle: &Path) -> Option<Vec<LinuxDeviceCgroup>> {
    let saved = state_dir.join("config.json");
    let path = if saved.exists() {
        saved
    } else {
        bundle.join("config.json")
    };
    let bytes = std::fs::read(&path).ok()?;
    let spec: oci_spec::runtime::Spec = serde_json::from_slice(&bytes).ok()?;
    spec.linux()
        .as_ref()?
        .resources()
        .as_ref()?
        .devices()
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("memory", "1024").unwrap(), 1024);
        assert_eq!(parse_bytes("memory", "64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("memory", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("memory", "2kb").unwrap(), 2048);
        assert_eq!(parse_bytes("memory", "-1").unwrap(), -1);
        for bad in ["8e18k", "9223372036854775807t", "nan", "inf", "-2", "1e400"] {
            assert!(parse_bytes("memory", bad).is_err(), "{bad}");
        }
        assert!(parse_bytes("memory", "lots").is_err());
        assert!(parse_bytes("memory", "-5").is_err());
    }

    #[test]
    fn flags_override_file_values() {
        let f = UpdateFlags {
            memory: Some("32m".into()),
            cpu_quota: Some(20000),
            pids_limit: Some(10),
            ..Default::default()
        };
        let r = update_resources(&f).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(32 << 20));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(20000));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 10);
        assert!(r.block_io().is_none());
    }

    #[test]
    fn ps_filter_by_pid_column() {
        let text = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\nroot 42 1 0 10:00 ? 00:00:00 sleep 9\n";
        let out = filter_ps(text, &[42]).unwrap();
        assert_eq!(
            out,
            "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:00 ? 00:00:00 sleep 9\n"
        );
        assert!(filter_ps("A B\n", &[1]).is_err());
    }
}
