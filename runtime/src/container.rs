//! The lifecycle commands: create, start, run, state, kill, delete, list. Each one takes the
//! state directory's lock for the id it works on, so operations on one container are serialized.

use crate::audit_log::{self, Action};
use crate::cgroups::{self, Cgroup, CgroupError, Driver};
use crate::console;
use crate::crash_points;
use crate::hooks::{self, HookError};
use crate::init::InitContext;
use crate::logging;
use crate::namespaces::{self, Kind};
use crate::plan::{self, PlanError};
use crate::process::{self, ProcessError};
use crate::seccomp;
use crate::spec::{self, SpecError};
use crate::state::{self, ContainerDir, State, StateError, Status};
use crate::syscalls;
use crate::userns::{self, UsernsError};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Namespace(#[from] namespaces::NamespaceError),
    #[error(transparent)]
    NetDevice(#[from] crate::net_devices::NetDeviceError),
    #[error(transparent)]
    IntelRdt(#[from] crate::intel_rdt::IntelRdtError),
    #[error("linux.netDevices: opening the container's network namespace {path}: {err}")]
    NetNamespace { path: PathBuf, err: std::io::Error },
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Userns(#[from] UsernsError),
    #[error(transparent)]
    Mount(#[from] crate::mounts::MountError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error("creating {path}: {err}")]
    Fifo { path: PathBuf, err: io::Error },
    #[error("writing oom_score_adj of pid {pid}: {err}")]
    OomScoreAdj { pid: i32, err: io::Error },
    #[error("writing pid file {path}: {err}")]
    PidFile { path: PathBuf, err: io::Error },
    #[error("cannot start container {id}: it is {status}, not created")]
    NotCreated { id: String, status: &'static str },
    #[error("starting container {id}: its init is gone: {err}")]
    StartFifo { id: String, err: io::Error },
    #[error("starting container {id}: {path} is {what}, not the fifo create made; nothing written to it")]
    FifoReplaced {
        id: String,
        path: PathBuf,
        what: &'static str,
    },
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("cannot delete container {id} that is {status}: stop it first or use --force")]
    NotStopped { id: String, status: &'static str },
    #[error("signal {sig} to pid {pid}: {err}")]
    Signal { sig: i32, pid: i32, err: io::Error },
    #[error("container {id}: init pid {pid} did not exit after SIGKILL")]
    KillTimeout { id: String, pid: i32 },
    #[error("waiting for the container: {0}")]
    Wait(io::Error),
    #[error("prctl(PR_SET_CHILD_SUBREAPER): {0}")]
    Subreaper(io::Error),
    #[error(transparent)]
    Seccomp(#[from] seccomp::SeccompError),
    #[error(transparent)]
    Console(#[from] console::ConsoleError),
    #[error("saving the config to {path}: {err}")]
    SaveConfig { path: PathBuf, err: io::Error },
    #[error(transparent)]
    Policy(#[from] crate::audit::policy::PolicyError),
    #[error("{path}: not valid JSON for the policy check: {msg}")]
    PolicyConfig { path: PathBuf, msg: String },
}

/// Options of `create` (and the create half of `run`).
#[derive(Clone, Debug)]
pub struct CreateOptions {
    pub root: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub cgroup_driver: Driver,
    /// runc's rootless mode (--rootless, or auto for a non-root caller): a cgroup the caller
    /// cannot make or join is skipped with a warning, unless the config sets limits.
    pub rootless: bool,
    /// The global `--policy` level (None: only the config's `run.rampart.policy` annotation, if
    /// any, applies).
    pub policy: Option<crate::audit::Level>,
}

/// The init of a container just created by this process (it is our child until we exit).
pub struct Created {
    pub pid: i32,
    /// The pty master of a foreground `run` with process.terminal and no console socket.
    pub master: Option<std::os::fd::OwnedFd>,
}

/// `create`: builds the container up to the point where only `start` is missing.
pub fn create(o: &CreateOptions) -> Result<Created, Error> {
    create_with(o, false)
}

/// `create`; with `foreground_terminal` (a foreground `run`), process.terminal without a console
/// socket makes a pty whose master comes back in `Created` for the runtime to proxy.
fn create_with(o: &CreateOptions, foreground_terminal: bool) -> Result<Created, Error> {
    let r = create_container(o, foreground_terminal);
    match &r {
        Ok(_) => audit_log::record(Action::Create, &o.root, &o.id, Ok(())),
        Err(e) => audit_log::record_refused(Action::Create, &o.id, &o.bundle, e.to_string()),
    }
    r
}

fn create_container(o: &CreateOptions, foreground_terminal: bool) -> Result<Created, Error> {
    // A bad id is the caller's first mistake: report it before any config problem.
    state::validate_id(&o.id)?;
    let bundle = spec::bundle_dir(&o.bundle)?;
    let (spec, config_bytes) = spec::load_with_bytes(&bundle)?;
    let has_console = o.console_socket.is_some() || foreground_terminal;
    let mut plan = plan::build(
        &spec,
        &bundle.join("config.json"),
        &config_bytes,
        &bundle,
        &o.id,
        has_console,
    )?;
    plan.process.listen_fds = crate::exec::listen_fds_from_env();
    // Admission, after the config proved valid and before anything exists: a refused container
    // leaves no state directory, cgroup, namespace or process behind.
    check_policy(o, &plan, &config_bytes)?;
    let joins = namespaces::open_joins(&plan.namespaces)?;
    let dir = ContainerDir::create(&o.root, &o.id)?;
    crash_points::at("create:state-dir-made");
    // exec confines its processes by this copy, not by a bundle that may change after create.
    let saved = dir.path.join("config.json");
    if let Err(err) = state::write_atomic(&saved, &config_bytes) {
        let _ = dir.remove();
        return Err(Error::SaveConfig { path: saved, err });
    }
    crash_points::at("create:config-saved");
    if audit_log::enabled() {
        audit_log::save_planned(&dir.path, &audit_log::planned(&spec, &plan));
    }
    create_in(o, &plan, dir, joins, foreground_terminal)
}

/// The `--policy` flag and the `run.rampart.policy` annotation (the stricter wins) against the
/// audit's findings on this config; every violation in one error.
fn check_policy(o: &CreateOptions, plan: &plan::Plan, config_bytes: &[u8]) -> Result<(), Error> {
    if o.policy.is_none()
        && !plan
            .annotations
            .contains_key(crate::audit::policy::ANNOTATION)
    {
        return Ok(());
    }
    let raw: serde_json::Value =
        serde_json::from_slice(config_bytes).map_err(|e| Error::PolicyConfig {
            path: plan.bundle.join("config.json"),
            msg: e.to_string(),
        })?;
    crate::audit::policy::enforce(
        o.policy,
        &plan.annotations,
        &raw,
        &plan.bundle,
        Some(&plan.rootfs),
    )?;
    Ok(())
}

fn create_in(
    o: &CreateOptions,
    plan: &plan::Plan,
    dir: ContainerDir,
    joins: Vec<(Kind, PathBuf, std::os::fd::OwnedFd)>,
    foreground_terminal: bool,
) -> Result<Created, Error> {
    let mut cleanup = Cleanup {
        dir: Some(dir),
        cgroup: None,
        pid: None,
        intel_rdt: None,
    };
    let cgroup = match o.cgroup_driver {
        Driver::Disabled => None,
        d => Some(Cgroup::open(&plan.cgroup_path, &o.id, d)?),
    };
    // The rootless relaxations (no device rules, a cgroup skipped) are for a caller who cannot
    // make device nodes anyway. Host root given --rootless=true can (CAP_MKNOD in the initial
    // user namespace, so does a container without a user namespace of its own): dropping the
    // device cgroup for it let the container mknod and read the host's disk. As in runc, the
    // device rules go only where the runtime itself runs unprivileged or in a user namespace.
    let rootless = o.rootless && (userns::caller_is_unprivileged() || userns::in_user_namespace());
    let cgroup = match cgroup {
        Some(cg) if rootless => rootless_cgroup(cg, plan)?,
        cg => cg,
    };
    if plan.user_namespace() {
        // Before anything is made: a mapping the caller cannot write is a config error.
        userns::check_writable(&plan.uid_maps, &plan.gid_maps)?;
    }
    if let Some(cg) = &cgroup {
        cg.check_unpopulated()?;
    }
    let made = cgroup
        .as_ref()
        .filter(|cg| !cg.systemd_owned())
        .map(|cg| cg.dirs_to_make());
    if let Some(cg) = &cgroup {
        // The resolved cgroupfs path (a systemd slice:prefix:name is expanded by open).
        cleanup.cgroup = Some((cg.path.clone(), o.id.clone(), made.clone()));
    }
    let dir = cleanup
        .dir
        .as_ref()
        .ok_or(Error::NotRunning { id: o.id.clone() })?;
    let mut state = State {
        oci_version: plan.oci_version.clone(),
        id: o.id.clone(),
        pid: 0,
        pid_start_time: 0,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        annotations: plan.annotations.clone(),
        created: logging::rfc3339_now(),
        owner: String::new(),
        cgroup_path: cgroup.as_ref().map(|c| c.path.clone()),
        poststart: plan.hooks.poststart.clone(),
        poststop: plan.hooks.poststop.clone(),
        namespaces: all_namespaces(plan),
        started: false,
        cgroup_made: made,
        own_ns: None,
        pid_ns_made: plan.namespaces.creates(Kind::Pid),
        intel_rdt: match &plan.intel_rdt {
            Some(p) => Some(crate::intel_rdt::place(
                &crate::intel_rdt::resctrl_root()?,
                p,
                &o.id,
            )?),
            None => None,
        },
    };
    // Written before the first change on the host (fifo, cgroup directories, the clone), with
    // what is about to be made: `delete -f` after this create is killed at any later point
    // finds all of it. Until the pid is filled in the container reads as stopped.
    dir.save(&state)?;
    crash_points::at("create:state-saved");
    if let (Some(pl), Some(p)) = (&state.intel_rdt, &plan.intel_rdt) {
        cleanup.intel_rdt = Some(pl.clone());
        crate::intel_rdt::make(pl, p)?;
    }
    let fifo_path = dir.fifo_path();
    nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o600)).map_err(
        |e| Error::Fifo {
            path: fifo_path.clone(),
            err: e.into(),
        },
    )?;
    // O_RDWR never blocks on a fifo; the init inherits this and blocks in read() until start.
    let fifo = syscalls::open(&fifo_path, libc::O_RDWR, 0).map_err(|err| Error::Fifo {
        path: fifo_path.clone(),
        err,
    })?;
    crash_points::at("create:fifo-made");
    let needs_cgroupfs = plan
        .mounts
        .iter()
        .any(|m| m.is_fs("cgroup") || m.is_fs("cgroup2"));
    let mut console_keep = None;
    // Before the clone: setting an idmapping needs the host's privilege over the source's
    // filesystem, which the init gives up when it enters its user namespace.
    let idmapped = crate::mounts::prepare_idmapped(&plan.mounts)?;
    let ctx = InitContext {
        idmapped,
        id: o.id.clone(),
        fifo,
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds: o.preserve_fds,
        joins,
        cgroup_hierarchies: if needs_cgroupfs {
            cgroups::container_mounts()
        } else {
            Vec::new()
        },
        lock_fd: dir.lock_fd(),
        console: match (&o.console_socket, plan.process.terminal) {
            (Some(path), true) => Some(console::connect(path)?),
            (None, true) if foreground_terminal => {
                let (theirs, ours) = console::socketpair()?;
                console_keep = Some(ours);
                Some(theirs)
            }
            _ => None,
        },
    };
    // On cgroup v2 the cgroup is made first and the init cloned into it (no migration).
    let cgroup_dir = match &cgroup {
        Some(cg) => cg.prepare_for_clone()?,
        None => None,
    };
    crash_points::at("create:before-clone");
    let init = process::spawn_init(plan, &ctx, cgroup_dir.as_ref().map(|d| d.as_fd()))?;
    crash_points::at("create:init-cloned");
    drop(cgroup_dir);
    drop(ctx);
    cleanup.pid = Some(init.pid);
    state.pid = init.pid;
    state.pid_start_time = state::process_start_time(init.pid).unwrap_or(0);
    state.own_ns = own_namespace(init.pid);
    // Before the init is moved into its cgroup (v1) or let go: from here `delete -f` kills it.
    dir.save(&state)?;
    crash_points::at("create:pid-saved");

    if plan.user_namespace() {
        userns::write_maps_as_caller(init.pid, &plan.uid_maps, &plan.gid_maps)?;
        crash_points::at("create:maps-written");
    }
    // The devices belong in the container before its hooks run. Its network namespace exists
    // now unless the init unshares it later (after joining a user namespace): then after `ready`.
    let net_now = plan.namespaces.clone_flags() & libc::CLONE_NEWNET != 0
        || !plan.namespaces.creates(Kind::Net);
    if net_now {
        move_net_devices(plan, init.pid)?;
    }
    // libcgroups creates the directories when the first task is added, so resources come after
    // (an init cloned into its cgroup is there already).
    if let Some(cg) = &cgroup {
        if !init.in_cgroup {
            cg.add(init.pid)?;
        }
        crash_points::at("create:cgroup-joined");
        // Always, resources or not: the device rules must start from deny-all.
        cg.apply(&cgroups::resources_at_create(plan.resources.as_ref()))?;
        crash_points::at("create:cgroup-applied");
    }
    if let Some(pl) = &state.intel_rdt {
        crate::intel_rdt::join(pl, init.pid)?;
    }
    if let Some(adj) = plan.process.oom_score_adj {
        std::fs::write(format!("/proc/{}/oom_score_adj", init.pid), adj.to_string())
            .map_err(|err| Error::OomScoreAdj { pid: init.pid, err })?;
        crash_points::at("create:oom-score-set");
    }
    let creating = state.hook_json(Status::Creating);
    hooks::run("prestart", &plan.hooks.prestart, &creating)?;
    hooks::run("createRuntime", &plan.hooks.create_runtime, &creating)?;
    crash_points::at("create:runtime-hooks-run");
    let seccomp_listener = init.go_and_wait_ready()?;
    crash_points::at("create:init-ready");
    if !net_now {
        move_net_devices(plan, init.pid)?;
    }
    // From here, outside the container, so listenerPath resolves in the host's view.
    seccomp::send_to_agent(plan.seccomp.as_ref(), seccomp_listener, init.pid, &creating)?;
    // The init sent the master before `ready`; it waits in our end of the pair.
    let master = match &console_keep {
        Some(sock) => Some(console::receive_master(sock.as_fd())?.0),
        None => None,
    };
    if let Some(p) = &o.pid_file {
        write_pid_file(p, init.pid)?;
        crash_points::at("create:pid-file-written");
    }
    cleanup.disarm();
    crash_points::at("create:done");
    Ok(Created {
        pid: init.pid,
        master,
    })
}

/// Moves `linux.netDevices` into the init's network namespace: the one it was cloned with or
/// unshared, or the one the config joins by path.
fn move_net_devices(plan: &plan::Plan, init_pid: i32) -> Result<(), Error> {
    if plan.net_devices.is_empty() {
        return Ok(());
    }
    let path = match plan.namespaces.join.iter().find(|(k, _)| *k == Kind::Net) {
        Some((_, p)) => p.clone(),
        None => PathBuf::from(format!("/proc/{init_pid}/ns/net")),
    };
    let ns = syscalls::open(&path, libc::O_RDONLY, 0)
        .map_err(|err| Error::NetNamespace { path, err })?;
    crate::net_devices::move_into(&plan.net_devices, ns.as_fd())?;
    Ok(())
}

/// The cgroup of a rootless container, or None with a warning when the caller may not make or
/// join it (runc skips cgroups the same way); an error instead when the config sets limits
/// that would then be silently missing.
fn rootless_cgroup(mut cg: Cgroup, plan: &plan::Plan) -> Result<Option<Cgroup>, Error> {
    cg.set_rootless();
    if cg.systemd_owned() {
        return Ok(Some(cg));
    }
    let Some(dir) = cg.not_writable() else {
        return Ok(Some(cg));
    };
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let limits = cgroups::limits_set(plan.resources.as_ref());
    if !limits.is_empty() {
        return Err(CgroupError::RootlessLimits {
            limits: limits.join(", "),
            path: cg.path.clone(),
            uid,
            dir,
        }
        .into());
    }
    // Debug level, as runc's rootless cgroupfs manager does: engines (conmon) pass the
    // runtime's stderr to the user, and a config without limits loses nothing here.
    logging::debug(&format!(
        "rootless: no cgroup for this container: {} is not writable by uid {uid}; it runs in the caller's cgroup, without limits of its own",
        dir.display()
    ));
    Ok(None)
}

fn all_namespaces(plan: &plan::Plan) -> Vec<(String, i32)> {
    [
        Kind::User,
        Kind::Mount,
        Kind::Uts,
        Kind::Ipc,
        Kind::Net,
        Kind::Pid,
        Kind::Cgroup,
        Kind::Time,
    ]
    .iter()
    .filter(|k| plan.namespaces.has(**k))
    .map(|k| (k.proc_name().to_string(), k.flag()))
    .collect()
}

pub fn write_pid_file(path: &Path, pid: i32) -> Result<(), Error> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    state::write_atomic(&abs, pid.to_string().as_bytes()).map_err(|err| Error::PidFile {
        path: abs.clone(),
        err,
    })
}

/// ("pid", st_dev, st_ino) of the init's pid namespace when it is not the runtime's own: what
/// tells the container's processes from others in its cgroup. A process cannot leave its pid
/// namespace (an unshare only puts its children one level down), unlike a mount namespace, which
/// any process of the container may leave with an unprivileged unshare(CLONE_NEWUSER|CLONE_NEWNS).
/// None when the init shares the runtime's pid namespace.
fn own_namespace(pid: i32) -> Option<(String, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let theirs = std::fs::metadata(format!("/proc/{pid}/ns/pid")).ok()?;
    let ours = std::fs::metadata("/proc/self/ns/pid").ok()?;
    ((theirs.dev(), theirs.ino()) != (ours.dev(), ours.ino()))
        .then(|| ("pid".to_string(), theirs.dev(), theirs.ino()))
}

/// pidfds of the container's own processes: the init (by pid and start time) and the processes
/// of its cgroup that are the container's. With a pid namespace of its own (`State::own_ns`)
/// those are the ones in it or in a namespace below it; anything else in the cgroup (a host
/// process someone moved in) is not the container's to signal. Without one, every process in
/// the cgroup is: create refused a cgroup that held processes, so all that is in it came from the
/// container (or was put there by the host's root, as runc would kill it too). Each pidfd is
/// opened before its process is checked, so the process checked is the one signalled, never a
/// reused pid.
fn own_processes(st: &State) -> Vec<std::os::fd::OwnedFd> {
    let mut out = Vec::new();
    if st.pid > 0 {
        if let Ok(fd) = open_init(st) {
            out.push(fd);
        }
    }
    let Some(path) = &st.cgroup_path else {
        // No cgroup (rootless, none delegated): the processes of its own pid namespace, found
        // only while the init lives; its pidfd, first in `out`, keeps the namespace (and its
        // inode number) from being freed until the signals are sent.
        if out.is_empty() {
            return out;
        }
        for pid in pids_in_own_namespace(st) {
            if pid == st.pid {
                continue;
            }
            if let Ok(fd) = syscalls::pidfd_open(pid) {
                // Checked after the pidfd is open, so a pid reused since the scan is refused.
                if st
                    .own_ns
                    .as_ref()
                    .is_some_and(|(_, d, i)| in_pid_namespace(pid, (*d, *i)))
                {
                    out.push(fd);
                }
            }
        }
        return out;
    };
    let pid_ns = match &st.own_ns {
        Some((kind, dev, ino)) if kind == "pid" => Some((*dev, *ino)),
        _ => None,
    };
    for pid in cgroups::procs(path) {
        if pid == st.pid {
            continue;
        }
        let Ok(fd) = syscalls::pidfd_open(pid) else {
            continue;
        };
        if pid_ns.is_none_or(|ns| in_pid_namespace(pid, ns)) {
            out.push(fd);
        }
    }
    out
}

/// Host pids of a container without a cgroup, from /proc: with a pid namespace it made, every
/// process in it or below it; otherwise (a namespace joined from another container, whose
/// processes are not this one's, or the host's) only the init, if it runs.
///
/// Only while the init lives: the recorded (st_dev, st_ino) names the namespace only as long as
/// it exists, and the kernel gives a freed namespace's inode number to the next namespace anyone
/// makes (a stopped container's number matched other processes of the user, which `delete` and
/// `kill --all` then killed). The init's pidfd holds its struct pid, which holds the namespace,
/// so the number cannot change hands during the scan; the callers keep a pidfd of the init open
/// for as long as they act on the pids. Without a live init there is nothing to find: when the
/// init of a pid namespace dies the kernel kills every process in it and below it, and no new
/// one can enter.
pub fn pids_in_own_namespace(st: &State) -> Vec<i32> {
    let Ok(_pinned) = open_init(st) else {
        return Vec::new();
    };
    let own = st.own_ns.as_ref().map(|(k, d, i)| (k.as_str(), *d, *i));
    let (Some(("pid", dev, ino)), true) = (own, st.pid_ns_made) else {
        return vec![st.pid];
    };
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| in_pid_namespace(*pid, (dev, ino)))
        .collect()
}

/// Whether process `pid` is in the pid namespace `ns` (st_dev, st_ino) or in one below it,
/// walking up with NS_GET_PARENT (the kernel refuses to go above the caller's own namespace).
fn in_pid_namespace(pid: i32, ns: (u64, u64)) -> bool {
    let Ok(mut fd) = syscalls::open(Path::new(&format!("/proc/{pid}/ns/pid")), libc::O_RDONLY, 0)
    else {
        return false;
    };
    // Pid namespaces nest at most 32 deep.
    for _ in 0..=32 {
        match syscalls::fstat(fd.as_fd()) {
            Ok(st) if (st.st_dev, st.st_ino) == ns => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
        match syscalls::ns_get_parent(fd.as_fd()) {
            Ok(parent) => fd = parent,
            Err(_) => return false,
        }
    }
    false
}

/// Undoes a failed create: kills and reaps the init, removes the cgroup and the state directory.
struct Cleanup {
    dir: Option<ContainerDir>,
    /// (cgroup path, container id, the directories this create made; None: systemd's).
    cgroup: Option<(PathBuf, String, Option<Vec<PathBuf>>)>,
    pid: Option<i32>,
    intel_rdt: Option<crate::intel_rdt::Placement>,
}

impl Cleanup {
    fn disarm(&mut self) {
        self.dir = None;
        self.cgroup = None;
        self.pid = None;
        self.intel_rdt = None;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            // SAFETY: the pid is our own child, not yet reaped, so it cannot have been reused.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        if let Some((path, id, made)) = self.cgroup.take() {
            let removed = match made {
                Some(dirs) => cgroups::remove_made(&path, &dirs),
                None => Cgroup::open(&path, &id, Driver::Cgroupfs).and_then(|cg| cg.remove()),
            };
            if let Err(e) = removed {
                logging::warn(&e.to_string());
            }
        }
        if let Some(pl) = self.intel_rdt.take() {
            if let Err(e) = crate::intel_rdt::remove(&pl) {
                logging::warn(&e.to_string());
            }
        }
        if let Some(dir) = self.dir.take() {
            if let Err(e) = dir.remove() {
                logging::warn(&e.to_string());
            }
        }
    }
}

/// The status of a container, derived from its init process and the fifo.
pub fn status_of(dir: &ContainerDir, st: &State) -> Status {
    if state::process_start_time(st.pid) != Some(st.pid_start_time) {
        return Status::Stopped;
    }
    if !st.started && dir.fifo_path().exists() {
        return Status::Created;
    }
    if st.cgroup_path.as_deref().is_some_and(cgroups::is_frozen) {
        return Status::Paused;
    }
    Status::Running
}

/// `start`: lets a created container's init exec the workload, then runs poststart hooks.
pub fn start(root: &Path, id: &str) -> Result<(), Error> {
    let r = start_container(root, id);
    audit_log::record(
        Action::Start,
        root,
        id,
        r.as_ref().map(|_| ()).map_err(|e| e.to_string()),
    );
    r
}

fn start_container(root: &Path, id: &str) -> Result<(), Error> {
    let dir = ContainerDir::open(root, id)?;
    let mut st = dir.load()?;
    let status = status_of(&dir, &st);
    if status != Status::Created {
        return Err(Error::NotCreated {
            id: id.to_string(),
            status: status.as_str(),
        });
    }
    let fifo_path = dir.fifo_path();
    let fifo_err = |err| Error::StartFifo {
        id: id.to_string(),
        err,
    };
    // O_NONBLOCK: if the init died there is no reader and we get ENXIO instead of hanging.
    let fifo = open_exec_fifo(&fifo_path, libc::O_WRONLY, id)?;
    crash_points::at("start:fifo-opened");
    // poststart hooks must run after the workload is executed. The init's copy of the fifo is
    // close-on-exec and is the last writer once ours is closed, so a reader sees POLLHUP at its
    // exec. The kernel only reports that hangup to a reader opened before the last writer
    // came, hence the reader first and a fresh writer for the byte. The audit event waits the
    // same way: it must read back the workload's confinement, not the init's before exec.
    let (fifo, exec_watch) = if st.poststart.is_empty() && !audit_log::enabled() {
        (fifo, None)
    } else {
        let watch = open_exec_fifo(&fifo_path, libc::O_RDONLY, id)?;
        drop(fifo);
        let fifo = open_exec_fifo(&fifo_path, libc::O_WRONLY, id)?;
        (fifo, Some(watch))
    };
    syscalls::write_all_fd(fifo.as_fd(), b"0").map_err(fifo_err)?;
    crash_points::at("start:fifo-written");
    drop(fifo);
    let _ = std::fs::remove_file(&fifo_path);
    crash_points::at("start:fifo-removed");
    st.started = true;
    dir.save(&st)?;
    crash_points::at("start:state-saved");
    // What is left waits on the workload (up to 30 s) and runs hooks: not under the lock, or a
    // container that never gets to its exec would hold kill and delete up that long.
    drop(dir);
    if let Some(watch) = exec_watch {
        // A bound, not a measurement: should some process inherit the init's fifo descriptor
        // the hangup never comes, and poststart then runs late rather than never.
        if !poll_for(watch.as_fd(), 0, Duration::from_secs(30)) {
            logging::warn(&format!(
                "container {id}: no sign of the workload's exec after 30 s"
            ));
        }
    }
    // runtime-spec 1.3 (as runc always did): a failing poststart hook is an error that stops
    // the container; the hooks after it do not run, and `delete` goes on from there.
    let running = st.hook_json(Status::Running);
    if let Err(e) = hooks::run("poststart", &st.poststart, &running) {
        for fd in own_processes(&st) {
            let _ = syscalls::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
        }
        return Err(e.into());
    }
    crash_points::at("start:poststart-hooks-run");
    Ok(())
}

/// Opens exec.fifo (non-blocking) for `start`, refusing whatever took its place: a symlink is
/// not followed (the byte would go into the file it names), and a regular file or anything else
/// that is not a fifo is refused (it would take the byte and report a start while the init
/// still waits on the real fifo, unlinked, for ever).
fn open_exec_fifo(path: &Path, access: i32, id: &str) -> Result<std::os::fd::OwnedFd, Error> {
    let replaced = |what| Error::FifoReplaced {
        id: id.to_string(),
        path: path.to_path_buf(),
        what,
    };
    let fd = match syscalls::open(path, access | libc::O_NONBLOCK | libc::O_NOFOLLOW, 0) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(replaced("a symlink")),
        Err(err) => {
            return Err(Error::StartFifo {
                id: id.to_string(),
                err,
            })
        }
    };
    let st = syscalls::fstat(fd.as_fd()).map_err(|err| Error::StartFifo {
        id: id.to_string(),
        err,
    })?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO => Ok(fd),
        libc::S_IFREG => Err(replaced("a regular file")),
        _ => Err(replaced("neither a fifo nor a regular file")),
    }
}

/// `state`: the OCI state JSON. Read without the lock, so it answers while another command
/// works on the container.
pub fn state(root: &Path, id: &str) -> Result<serde_json::Value, Error> {
    let dir = ContainerDir::peek(root, id)?;
    let st = match dir.load() {
        Ok(st) => st,
        // The directory without state.json: a create killed before its first save, or one
        // still making it. Shown (creating while its lock is held, stopped otherwise) so that
        // engines see it until `delete -f` removes it, as runc shows a stopped container.
        Err(StateError::NotFound { .. }) if dir.path.is_dir() => {
            let status = if dir.busy() {
                Status::Creating
            } else {
                Status::Stopped
            };
            return Ok(serde_json::json!({
                "ociVersion": crate::OCI_VERSION,
                "id": id,
                "pid": 0,
                "status": status.as_str(),
                "bundle": "",
                "rootfs": "",
                "created": "",
                "owner": "",
                "annotations": {},
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let status = status_of(&dir, &st);
    Ok(st.oci_json(status))
}

/// `list`: the state of every container under the root.
pub fn list(root: &Path) -> Result<Vec<serde_json::Value>, Error> {
    let mut out = Vec::new();
    for id in state::list_ids(root)? {
        match state(root, &id) {
            Ok(mut v) => {
                // As runc: `list` names the owner of the state directory (`state` leaves it empty).
                v["owner"] = serde_json::Value::from(state::owner_name(&root.join(&id)));
                out.push(v)
            }
            // Deleted (or not yet saved by its create) since the directory was listed.
            Err(Error::State(StateError::NotFound { .. })) => {}
            Err(e) => logging::warn(&format!("skipping {id}: {e}")),
        }
    }
    Ok(out)
}

fn open_init(st: &State) -> Result<std::os::fd::OwnedFd, Error> {
    let fd = syscalls::pidfd_open(st.pid).map_err(|_| Error::NotRunning { id: st.id.clone() })?;
    // The pidfd pins the process; re-check it is still our init and not a reused pid.
    if state::process_start_time(st.pid) != Some(st.pid_start_time) {
        return Err(Error::NotRunning { id: st.id.clone() });
    }
    Ok(fd)
}

/// `kill`: sends a signal to the init, or with `all` to every process of the container in its
/// cgroup (see `own_processes`: not to others that share the cgroup).
pub fn kill(root: &Path, id: &str, sig: i32, all: bool, driver: Driver) -> Result<(), Error> {
    let r = kill_container(root, id, sig, all, driver);
    if audit_log::enabled() {
        let mut details = serde_json::Map::new();
        details.insert("signal".into(), sig.into());
        details.insert("all".into(), all.into());
        let res = r.as_ref().map(|_| ()).map_err(|e| e.to_string());
        audit_log::record_with(
            Action::Kill,
            id,
            audit_log::snapshot(root, id),
            res,
            details,
        );
    }
    r
}

fn kill_container(root: &Path, id: &str, sig: i32, all: bool, driver: Driver) -> Result<(), Error> {
    let dir = ContainerDir::open(root, id)?;
    let st = dir.load()?;
    let status = status_of(&dir, &st);
    let findable = (st.cgroup_path.is_some() && driver != Driver::Disabled)
        || (st.cgroup_path.is_none() && st.pid_ns_made);
    if all && findable {
        for fd in own_processes(&st) {
            let _ = syscalls::pidfd_send_signal(fd.as_fd(), sig);
        }
        crash_points::at("kill:all-signalled");
        return Ok(());
    }
    if status == Status::Stopped {
        return Err(Error::NotRunning { id: id.to_string() });
    }
    let fd = open_init(&st)?;
    syscalls::pidfd_send_signal(fd.as_fd(), sig).map_err(|err| Error::Signal {
        sig,
        pid: st.pid,
        err,
    })?;
    crash_points::at("kill:init-signalled");
    Ok(())
}

/// Waits until the process behind `pidfd` has exited (it need not be our child).
fn wait_exit(pidfd: std::os::fd::BorrowedFd<'_>, timeout: Duration) -> bool {
    poll_for(pidfd, libc::POLLIN, timeout)
}

/// Waits until `fd` reports one of `events` (or a hangup or error, which poll always reports).
fn poll_for(fd: std::os::fd::BorrowedFd<'_>, events: libc::c_short, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) };
        if r > 0 {
            return true;
        }
        if r == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return false;
        }
    }
}

/// `delete`: removes a stopped (or, with --force, any) container: its processes, cgroup and
/// state. A created container is deleted without --force, as runc does.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), Error> {
    delete_reporting(root, id, force, false)
}

/// `delete`, with its audit events: the container's exit (unless `exit_reported`: a foreground
/// `run` reports it with the status) and the delete itself. Their snapshot is taken before the
/// state goes; nothing is read back after, when the init's pid may already be someone else's.
fn delete_reporting(root: &Path, id: &str, force: bool, exit_reported: bool) -> Result<(), Error> {
    if !audit_log::enabled() {
        return delete_container(root, id, force);
    }
    let before = audit_log::snapshot(root, id);
    let r = delete_container(root, id, force);
    let gone = audit_log::Snapshot {
        alive: false,
        ..before.clone()
    };
    if r.is_ok() && !exit_reported && before.pid.is_some() {
        let mut details = serde_json::Map::new();
        // The init is not our child once create has returned, so its wait status is the
        // parent's (an engine's shim, or pid 1): not ours to read.
        details.insert("exit_status".into(), serde_json::Value::Null);
        details.insert("killed_by_delete".into(), before.alive.into());
        details.insert("reported_by".into(), "delete".into());
        audit_log::record_with(Action::Exit, id, gone.clone(), Ok(()), details);
    }
    let mut details = serde_json::Map::new();
    details.insert("force".into(), force.into());
    // delete --force of an unknown id succeeds (engines send it twice): say it was a no-op.
    details.insert("existed".into(), before.bundle.is_some().into());
    let res = r.as_ref().map(|_| ()).map_err(|e| e.to_string());
    audit_log::record_with(Action::Delete, id, gone, res, details);
    r
}

fn delete_container(root: &Path, id: &str, force: bool) -> Result<(), Error> {
    let dir = match ContainerDir::open(root, id) {
        Ok(d) => d,
        Err(StateError::NotFound { .. }) if force => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let st = match dir.load() {
        Ok(st) => st,
        // A create killed before its first state write left only the directory (the state is
        // written before anything is made on the host): nothing else to clean.
        Err(e) if force => {
            logging::warn(&format!("removing {id} with unreadable state: {e}"));
            dir.remove()?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let status = status_of(&dir, &st);
    match status {
        Status::Stopped | Status::Created => {}
        Status::Running | Status::Paused if force => {}
        other => {
            return Err(Error::NotStopped {
                id: id.to_string(),
                status: other.as_str(),
            })
        }
    }
    if status == Status::Paused {
        // A frozen process cannot die of SIGKILL until thawed.
        if let Some(p) = &st.cgroup_path {
            let _ = Cgroup::open(p, id, Driver::Cgroupfs).and_then(|cg| cg.freeze(false));
        }
        crash_points::at("delete:thawed");
    }
    // Only the container's own processes die (the cgroup may hold others), also those a
    // stopped container left behind (no pid namespace) and the init of a create killed
    // half-way (its state has the pid from right after the clone).
    let own = own_processes(&st);
    for fd in &own {
        let _ = syscalls::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for fd in &own {
        if !wait_exit(
            fd.as_fd(),
            deadline.saturating_duration_since(Instant::now()),
        ) {
            return Err(Error::KillTimeout {
                id: id.to_string(),
                pid: st.pid,
            });
        }
    }
    crash_points::at("delete:processes-killed");
    match (&st.cgroup_path, &st.cgroup_made) {
        // Only what the create made: a cgroup that existed before stays.
        (Some(path), Some(made)) => {
            if let Err(e) = cgroups::remove_made(path, made) {
                // Still busy with none of the container's processes left: someone else's
                // process was moved in, which is not ours to kill. Leave the directory.
                if !own_processes(&st).is_empty() {
                    return Err(e.into());
                }
                logging::warn(&format!("{e}; leaving it to whoever moved processes in"));
            }
        }
        // A state from before `cgroup_made` was recorded, or systemd's cgroup (v2).
        (Some(path), None) => {
            if !(status == Status::Stopped && cgroups::remove_empty(path)) {
                Cgroup::open(path, id, Driver::Cgroupfs)?.remove()?;
            }
        }
        (None, _) => {}
    }
    crash_points::at("delete:cgroup-removed");
    if let Some(pl) = &st.intel_rdt {
        crate::intel_rdt::remove(pl)?;
    }
    let stopped = st.hook_json(Status::Stopped);
    for h in &st.poststop {
        if let Err(e) = hooks::run("poststop", std::slice::from_ref(h), &stopped) {
            logging::warn(&e.to_string());
        }
    }
    crash_points::at("delete:poststop-hooks-run");
    dir.remove()?;
    Ok(())
}

/// What `run` does besides create + start (runc's `run` flags).
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// `--detach`: return once the workload runs.
    pub detach: bool,
    /// `--keep`: leave the stopped container (state, cgroup) in place for `delete`, instead of
    /// deleting it when the workload exits; also after a failed start, as runc does.
    pub keep: bool,
    /// Not `--no-subreaper`: a foreground `run` makes itself the child subreaper, so a process
    /// the workload orphans is re-parented to rampart (and reaped by it) rather than to the
    /// host's init. Only visible for processes outside a pid namespace of the container's own:
    /// inside one, the container's init is their reaper.
    pub subreaper: bool,
}

/// `run`: create + start, then (unless detached) wait for the workload, forwarding signals, and
/// delete it (unless `keep`). Returns the workload's exit code (128+N when killed by signal N).
pub fn run(o: &CreateOptions, r: RunOptions) -> Result<i32, Error> {
    let detach = r.detach;
    if !detach && r.subreaper {
        // Before the init exists, so nothing it orphans can go past us. A detached run exits
        // right after start and would hand its orphans on anyway.
        syscalls::prctl(libc::PR_SET_CHILD_SUBREAPER, 1).map_err(Error::Subreaper)?;
    }
    // Block the signals we forward before the init exists, so none is lost; the init unblocks
    // them before exec.
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: sigfillset initialises the set we own; sigprocmask reads it.
    unsafe {
        libc::sigfillset(set.as_mut_ptr());
        if !detach {
            libc::sigprocmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut());
        }
    }
    let created = create_with(o, !detach)?;
    crash_points::at("run:created");
    if let Err(e) = start(&o.root, &o.id) {
        if !r.keep {
            let _ = delete(&o.root, &o.id, true);
        }
        return Err(e);
    }
    crash_points::at("run:started");
    if detach {
        return Ok(0);
    }
    let finish = |code: i32| -> Result<i32, Error> {
        // run saw the status, so its delete need not report the exit again. With --keep the
        // later `delete` writes its own exit line (status unknown to it, as for a detached run).
        record_exit(o, code);
        if !r.keep {
            delete_reporting(&o.root, &o.id, true, true)?;
        }
        Ok(code)
    };
    if let Some(master) = created.master {
        // SAFETY: initialised by sigfillset above.
        let set = unsafe { set.assume_init_ref() };
        let code = crate::exec::wait_foreground(created.pid, set, Some(master))
            .map_err(|e| Error::Wait(io::Error::other(e.to_string())))?;
        return finish(code);
    }
    let code = loop {
        let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: `set` was initialised above; info is ours to fill.
        let sig = unsafe { libc::sigwaitinfo(set.as_ptr(), info.as_mut_ptr()) };
        if sig < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::Wait(e));
        }
        if sig == libc::SIGCHLD {
            if let Some(code) = reap_children(created.pid) {
                break code;
            }
            continue;
        }
        // SAFETY: forwarding a signal to our own, not yet reaped, child.
        unsafe { libc::kill(created.pid, sig) };
    };
    crash_points::at("run:workload-exited");
    finish(code)
}

/// Reaps every child that has exited (SIGCHLDs coalesce): the init, and as the subreaper the
/// orphans re-parented to us. The init's exit code once it is among them.
fn reap_children(init: i32) -> Option<i32> {
    let mut code = None;
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own children without blocking.
        let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if r <= 0 {
            return code;
        }
        if r == init {
            if libc::WIFEXITED(status) {
                code = Some(libc::WEXITSTATUS(status));
            } else if libc::WIFSIGNALED(status) {
                code = Some(128 + libc::WTERMSIG(status));
            }
        }
    }
}

/// The exit event of a foreground `run`, the one place rampart sees the workload's status (the
/// init is its child). `code` is run's own exit status: the workload's, or 128+N for signal N.
fn record_exit(o: &CreateOptions, code: i32) {
    if !audit_log::enabled() {
        return;
    }
    let snap = audit_log::Snapshot {
        alive: false,
        ..audit_log::snapshot(&o.root, &o.id)
    };
    let mut details = serde_json::Map::new();
    details.insert("exit_status".into(), code.into());
    if code > 128 {
        details.insert("signal".into(), (code - 128).into());
    }
    details.insert("reported_by".into(), "run".into());
    audit_log::record_with(Action::Exit, &o.id, snap, Ok(()), details);
}
