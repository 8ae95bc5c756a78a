//! `exec`: a new process inside a running (or created) container.
//!
//! Process tree, with no re-exec of the runtime binary anywhere (CVE-2019-5736; the runtime is
//! non-dumpable from `main` on, and the flag is inherited by both children):
//!  - the runtime opens the init's namespace files (/proc/<init>/ns/*, pinned by a pidfd and
//!    checked to be nsfs files of the same init) and forks the *joiner*;
//!  - the joiner setns()es into every namespace, user first and mount last, then forks the
//!    *process* with CLONE_PARENT, so the process lands in the container's pid namespace (setns of
//!    a pid namespace only affects children) and is the runtime's child; the joiner reports the
//!    process's host pid and exits;
//!  - the runtime moves the process into the container's cgroup, sets its oom score and says
//!    `G`; only then does the process set itself up (terminal, [`init::confine`]: rlimits, cwd,
//!    capabilities, identity, no_new_privs) and exec ([`init::exec_workload`]). Its end of the
//!    socket is close-on-exec, so end-of-file tells the runtime the exec happened; a failure is
//!    sent as `E<message>`.
//!
//! The state lock is held up to `G` and no longer: the process is in the container's cgroup and
//! pid namespace by then, where the container can stop it (SIGSTOP from inside) or freeze it
//! (`exec --ignore-paused`), and nothing may wait on that under the lock. The wait for the exec
//! itself has no bound (a frozen container holds an exec until `resume`, as in runc), but the
//! caller's SIGINT or SIGTERM ends it: the half-made process is killed and exec fails. After the
//! exec, a foreground exec waits for the process and forwards signals, as runc does; when it
//! forwards SIGINT or SIGTERM to a process the container keeps stopped, it stops waiting and
//! fails (the signal stays pending; the process, the container's now, goes with the container).
//!
//! The confinement comes from the container's config (saved in the state directory at create
//! time) unless the `--process` JSON or the flags say otherwise; inheritable and ambient
//! capabilities stay empty unless asked for (CVE-2022-29162).

use crate::audit_log::{self, Action};
use crate::capabilities;
use crate::cgroups::{Cgroup, CgroupError, Driver};
use crate::console::{self, ConsoleError};
use crate::container;
use crate::crash_points;
use crate::init::{self, InitError};
use crate::namespaces::Kind;
use crate::plan::{self, Plan, PlanError, ProcessPlan};
use crate::spec::{self, SpecError};
use crate::state::{self, ContainerDir, StateError, Status};
use crate::syscalls;
use serde_json::Value;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::namespaces::NSFS_MAGIC;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    IntelRdt(#[from] crate::intel_rdt::IntelRdtError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Console(#[from] ConsoleError),
    #[error("cannot exec in a stopped container {id}")]
    Stopped { id: String },
    #[error("cannot exec in a paused container {id}: resume it first or use --ignore-paused")]
    Paused { id: String },
    #[error("reading the process file {path}: {err}")]
    ProcessFile { path: PathBuf, err: io::Error },
    #[error("{path}: invalid process JSON: {err}")]
    ProcessJson { path: PathBuf, err: String },
    #[error("the container's config has no process section to start from: {err}")]
    BaseProcess { err: String },
    #[error("exec needs a command, or --process FILE")]
    NoCommand,
    #[error("--user {value:?}: expected UID[:GID] (numbers)")]
    BadUser { value: String },
    #[error("--cap {name}: not a capability this runtime knows")]
    BadCap { name: String },
    #[error("exec --cgroup: container {id} has no cgroup to hold sub-cgroups")]
    NoCgroupForSub { id: String },
    #[error("--process-label {label:?}: SELinux is not supported by this runtime")]
    SelinuxLabel { label: String },
    #[error("process.terminal is true: a detached exec needs --console-socket")]
    TerminalDetached,
    #[error("opening namespace {path}: {err}")]
    OpenNamespace { path: PathBuf, err: io::Error },
    #[error("{path} is not a namespace file (filesystem magic {magic:#x})")]
    NotNamespace { path: PathBuf, magic: i64 },
    #[error("container {id}: its init (pid {pid}) is gone")]
    InitGone { id: String, pid: i32 },
    #[error("socketpair for the exec process: {0}")]
    Socketpair(io::Error),
    #[error("moving a descriptor above the preserved ones: {0}")]
    Dup(io::Error),
    #[error("fork of the namespace joiner: {0}")]
    Fork(io::Error),
    #[error("talking to the exec process: {0}")]
    Sync(io::Error),
    #[error("exec failed: unable to start container process: {0}")]
    Child(String),
    #[error("the exec process exited before it could run the command")]
    ChildDied,
    #[error("writing oom_score_adj of pid {pid}: {err}")]
    OomScoreAdj { pid: i32, err: io::Error },
    #[error("writing pid file {path}: {err}")]
    PidFile { path: PathBuf, err: String },
    #[error("waiting for the exec process: {0}")]
    Wait(io::Error),
    #[error("getrlimit(RLIMIT_NOFILE): {0}")]
    FileLimit(io::Error),
    #[error("passing {n} descriptors from 3 on (--preserve-fds plus LISTEN_FDS): the open file limit is {limit}")]
    TooManyFds { n: u32, limit: u64 },
    #[error("blocking SIGINT and SIGTERM for the exec: {0}")]
    SignalMask(io::Error),
    #[error("exec interrupted by {signal} before process {pid} ran the command (still setting up, or stopped or frozen by the container); killed it")]
    Interrupted { pid: i32, signal: String },
    #[error("process {pid} is stopped (by a signal from inside the container): forwarded {signal}, which it gets once continued; not waiting for it")]
    LeftStopped { pid: i32, signal: String },
    #[error("exec: {0}")]
    Policy(#[from] crate::audit::policy::PolicyError),
}

/// `exec`'s flags (runc's names).
#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    pub root: PathBuf,
    pub id: String,
    /// `--process FILE`: an OCI process JSON; the command-line process flags are then ignored.
    pub process: Option<PathBuf>,
    /// The command and its arguments.
    pub args: Vec<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub tty: bool,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub cwd: Option<PathBuf>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
    pub cgroup_driver: Option<Driver>,
    /// The global `--policy` level: the exec'd process is held to it (and to the saved config's
    /// `run.rampart.policy` annotation) as create held the init.
    pub policy: Option<crate::audit::Level>,
    /// `exec --cgroup`: sub-cgroups of the container's cgroup for the process.
    pub sub_cgroups: Vec<String>,
}

/// The socket-activation descriptors passed to the runtime (systemd's sd_listen_fds protocol):
/// LISTEN_FDS counts them only when LISTEN_PID names this very process. Without LISTEN_PID, or
/// with another pid, the variables were meant for some other process (an ancestor whose
/// environment we inherited) and descriptors 3.. are not socket-activation ones: none is passed.
pub fn listen_fds_from_env() -> u32 {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        == Some(std::process::id());
    if !for_us {
        return 0;
    }
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0)
}

/// Makes sure descriptors 3..3+n are all open, so nothing the runtime opens later can land in the
/// range that is passed on to the container. Holes (a caller that asked for more than it gave)
/// are held by close-on-exec placeholders of /dev/null, recorded in [`preserved_holes`]: they
/// keep the numbers taken while the runtime works and are gone at the workload's execve, so the
/// container gets exactly the descriptors the caller gave, as with runc. Call before opening
/// anything else (the log file included). A range reaching the open file limit is refused: no
/// such descriptor can exist, and the arithmetic on descriptor numbers later must not wrap.
pub fn reserve_fds(n: u32) -> Result<(), ExecError> {
    let limit = syscalls::open_file_limit().map_err(ExecError::FileLimit)?;
    if u64::from(n) + 3 > limit.min(i32::MAX as u64) {
        return Err(ExecError::TooManyFds { n, limit });
    }
    let mut holes = Vec::new();
    for fd in 3..3 + n as RawFd {
        // SAFETY: F_GETFD only queries the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0 {
            continue;
        }
        if let Ok(null) = syscalls::open(Path::new("/dev/null"), libc::O_RDWR, 0) {
            // SAFETY: dup3 onto a descriptor number that is not open; `null` is ours.
            if unsafe { libc::dup3(null.as_raw_fd(), fd, libc::O_CLOEXEC) } == fd {
                holes.push(fd);
            }
        }
    }
    let _ = HOLES.set(holes);
    Ok(())
}

/// The numbers in the --preserve-fds range that the caller did not give (see [`reserve_fds`]).
static HOLES: std::sync::OnceLock<Vec<RawFd>> = std::sync::OnceLock::new();

/// Placeholders in the preserved range: the workload's execve must not receive them.
pub fn preserved_holes() -> &'static [RawFd] {
    HOLES.get().map(|v| v.as_slice()).unwrap_or(&[])
}

/// Runs `exec`. Returns the exit code of the process for a foreground exec (128+N when killed
/// by signal N), 0 for a detached one.
pub fn exec(o: &ExecOptions) -> Result<i32, ExecError> {
    let r = exec_process(o);
    // Success was recorded once the process had exec'd (below); what fails after that is the
    // wait, not the exec.
    if let Err(e) = &r {
        if !EXEC_RECORDED.load(std::sync::atomic::Ordering::Relaxed) {
            let snap = audit_log::Snapshot {
                alive: false,
                ..audit_log::snapshot(&o.root, &o.id)
            };
            audit_log::record_with(
                Action::Exec,
                &o.id,
                snap,
                Err(e.to_string()),
                serde_json::Map::new(),
            );
        }
    }
    r
}

/// Set once this process's exec event is written.
static EXEC_RECORDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn exec_process(o: &ExecOptions) -> Result<i32, ExecError> {
    let dir = ContainerDir::open(&o.root, &o.id)?;
    let st = dir.load()?;
    match container::status_of(&dir, &st) {
        Status::Stopped => return Err(ExecError::Stopped { id: o.id.clone() }),
        Status::Paused if !o.ignore_paused => return Err(ExecError::Paused { id: o.id.clone() }),
        _ => {}
    }
    if let Some(label) = o.process_label.as_deref().filter(|l| !l.is_empty()) {
        return Err(ExecError::SelinuxLabel {
            label: label.to_string(),
        });
    }
    // exec --cgroup: checked before any process exists.
    let sub_dirs = if o.sub_cgroups.is_empty() {
        Vec::new()
    } else {
        let subs = o
            .sub_cgroups
            .iter()
            .map(|a| crate::cgroups::SubCgroup::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let driver = o.cgroup_driver.unwrap_or(Driver::Cgroupfs);
        match (&st.cgroup_path, driver != Driver::Disabled) {
            (Some(path), true) => Cgroup::open(path, &o.id, Driver::Cgroupfs)?.sub_dirs(&subs)?,
            _ => return Err(ExecError::NoCgroupForSub { id: o.id.clone() }),
        }
    };

    // The container's config as it was at create time; older state directories have no copy.
    let saved = dir.path.join("config.json");
    let config_path = if saved.exists() {
        saved
    } else {
        st.bundle.join("config.json")
    };
    let bytes = std::fs::read(&config_path).map_err(|source| SpecError::Read {
        path: config_path.clone(),
        source,
    })?;
    let spec = spec::parse(&config_path, &bytes)?;
    let mut plan = plan::build(&spec, &config_path, &bytes, &st.bundle, &o.id, true)?;
    let process = process_json(o, &spec)?;
    check_policy(o, &plan, &bytes, &process)?;
    plan.process = ProcessPlan::from_oci(&process)?;
    plan.process.listen_fds = listen_fds_from_env();
    let keep = plan.process.listen_fds.saturating_add(o.preserve_fds);
    if plan.process.terminal && o.console_socket.is_none() && o.detach {
        return Err(ExecError::TerminalDetached);
    }

    let pidfd = syscalls::pidfd_open(st.pid).map_err(|_| ExecError::InitGone {
        id: o.id.clone(),
        pid: st.pid,
    })?;
    let joins = open_namespaces(st.pid, &st.namespaces, keep)?;
    // The pidfd pins the pid: if the start time still matches, the files opened above are the
    // init's and not those of a process that reused its pid.
    if state::process_start_time(st.pid) != Some(st.pid_start_time) {
        return Err(ExecError::InitGone {
            id: o.id.clone(),
            pid: st.pid,
        });
    }
    drop(pidfd);

    // The terminal: the caller's console socket, or (foreground without one) our own pair whose
    // other end we keep to receive the master and proxy it.
    let (console_for_child, console_keep) = match (&o.console_socket, plan.process.terminal) {
        (Some(p), true) => (Some(above(console::connect(p)?, keep)?), None),
        (None, true) => {
            let (a, b) = console::socketpair()?;
            (Some(above(a, keep)?), Some(b))
        }
        (_, false) => (None, None),
    };

    // Foreground: block the signals we forward before the process exists, so none is lost; the
    // process empties its mask right before exec. Detached: only SIGINT/SIGTERM, which end the
    // wait for the exec (see wait_for_process) instead of leaving a half-made process behind.
    let _detached_mask = if o.detach {
        Some(
            syscalls::block_signals(&[libc::SIGINT, libc::SIGTERM])
                .map_err(ExecError::SignalMask)?,
        )
    } else {
        None
    };
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: sigfillset initialises the set we own; sigprocmask reads it.
    unsafe {
        libc::sigfillset(set.as_mut_ptr());
        if !o.detach {
            libc::sigprocmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut());
        }
    }
    // SAFETY: initialised by sigfillset above.
    let set = unsafe { set.assume_init() };

    let (parent, child) = syscalls::seqpacket_pair().map_err(ExecError::Socketpair)?;
    let child = above(child, keep)?;
    let lock_fd = dir.lock_fd();
    let joiner = syscalls::clone_fork(0).map_err(ExecError::Fork)?;
    if joiner == 0 {
        drop(parent);
        // SAFETY: our fork's copy of the state lock; nothing in this process uses it.
        unsafe { libc::close(lock_fd) };
        run_joiner(&plan, &joins, child, console_for_child, keep);
    }
    drop(child);
    drop(console_for_child);
    drop(joins);
    crash_points::at("exec:joiner-forked");

    let pid = match read_msg(parent.as_fd())? {
        Msg::Pid(p) => p,
        Msg::Error(m) => {
            reap(joiner);
            return Err(ExecError::Child(m));
        }
        Msg::Eof | Msg::Listener(_) => {
            reap(joiner);
            return Err(ExecError::ChildDied);
        }
    };
    reap(joiner);
    crash_points::at("exec:pid-received");
    // From here the process is our child (CLONE_PARENT): kill it if we fail before it runs.
    let guard = KillGuard(Some(pid));
    let driver = o.cgroup_driver.unwrap_or(Driver::Cgroupfs);
    if let (Some(path), true) = (&st.cgroup_path, driver != Driver::Disabled) {
        let cg = Cgroup::open(path, &o.id, Driver::Cgroupfs)?;
        cg.add(pid)?;
        cg.move_to(pid, &sub_dirs)?;
        crash_points::at("exec:cgroup-joined");
    }
    if let Some(pl) = &st.intel_rdt {
        crate::intel_rdt::join(pl, pid)?;
    }
    if let Some(adj) = plan.process.oom_score_adj {
        std::fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string())
            .map_err(|err| ExecError::OomScoreAdj { pid, err })?;
    }
    syscalls::write_all_fd(parent.as_fd(), b"G").map_err(ExecError::Sync)?;
    crash_points::at("exec:go-sent");
    // The process is in the cgroup: a delete that comes now kills it, and what follows waits on
    // the container. See the module doc.
    drop(dir);
    let master = match &console_keep {
        Some(sock) => {
            wait_for_process(sock.as_fd(), pid)?;
            Some(console::receive_master(sock.as_fd())?.0)
        }
        None => None,
    };
    wait_for_process(parent.as_fd(), pid)?;
    let mut msg = read_msg(parent.as_fd())?;
    if let Msg::Listener(fd) = msg {
        // A filter with NOTIFY rules: its listener goes to the agent from here, in the host's
        // view of listenerPath, while the process may already wait on its first notified call.
        let running = st.hook_json(Status::Running);
        crate::seccomp::send_to_agent(plan.seccomp.as_ref(), Some(fd), pid, &running)
            .map_err(|e| ExecError::Child(e.to_string()))?;
        wait_for_process(parent.as_fd(), pid)?;
        msg = read_msg(parent.as_fd())?;
    }
    match msg {
        Msg::Eof => {}
        Msg::Error(m) => return Err(ExecError::Child(m)),
        _ => return Err(ExecError::Sync(io::Error::from(io::ErrorKind::InvalidData))),
    }
    crash_points::at("exec:process-execed");
    if let Some(p) = &o.pid_file {
        container::write_pid_file(p, pid).map_err(|e| ExecError::PidFile {
            path: p.clone(),
            err: e.to_string(),
        })?;
        crash_points::at("exec:pid-file-written");
    }
    if audit_log::enabled() {
        // Our child, exec'd and not reaped: its pid cannot be anyone else's yet.
        let snap = audit_log::Snapshot {
            pid: Some(pid),
            alive: true,
            started: true,
            planned: Some(audit_log::planned(&spec, &plan)),
            ..audit_log::snapshot(&o.root, &o.id)
        };
        let mut details = serde_json::Map::new();
        details.insert("init_pid".into(), st.pid.into());
        details.insert("detach".into(), o.detach.into());
        audit_log::record_with(Action::Exec, &o.id, snap, Ok(()), details);
        EXEC_RECORDED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let mut guard = guard;
    guard.0 = None;
    if o.detach {
        return Ok(0);
    }
    let code = wait_process(pid, &set, master, Stopped::GiveUp)?;
    crash_points::at("exec:process-exited");
    Ok(code)
}

/// Waits until the process has something for us on `sock` (a message, a descriptor or its
/// end), or the caller's SIGINT/SIGTERM (blocked by now) says to give up.
fn wait_for_process(sock: BorrowedFd<'_>, pid: i32) -> Result<(), ExecError> {
    loop {
        if syscalls::poll_readable(sock, std::time::Duration::from_millis(50))
            .map_err(ExecError::Sync)?
        {
            return Ok(());
        }
        if let Some(sig) =
            syscalls::take_signal(&[libc::SIGINT, libc::SIGTERM], std::time::Duration::ZERO)
        {
            return Err(ExecError::Interrupted {
                pid,
                signal: syscalls::signal_name(sig),
            });
        }
    }
}

/// The policy create enforced holds for every process in the container: the saved config with
/// its process replaced by the exec'd one goes through the same check, so `--cap`, `--process`
/// or `--apparmor` cannot give the new process what the policy refused the init.
fn check_policy(
    o: &ExecOptions,
    plan: &plan::Plan,
    config_bytes: &[u8],
    process: &oci_spec::runtime::Process,
) -> Result<(), ExecError> {
    use crate::audit::policy;
    if o.policy.is_none() && !plan.annotations.contains_key(policy::ANNOTATION) {
        return Ok(());
    }
    let bad = |err: String| ExecError::BaseProcess { err };
    let mut raw: Value = serde_json::from_slice(config_bytes).map_err(|e| bad(e.to_string()))?;
    let exec_process = serde_json::to_value(process).map_err(|e| bad(e.to_string()))?;
    let Some(obj) = raw.as_object_mut() else {
        return Err(bad("the saved config is not a JSON object".into()));
    };
    obj.insert("process".into(), exec_process);
    policy::enforce(
        o.policy,
        &plan.annotations,
        &raw,
        &plan.bundle,
        Some(&plan.rootfs),
    )?;
    Ok(())
}

/// The process JSON for the exec: the `--process` file with what it leaves out taken from the
/// container's process, or the container's process changed by the command-line flags.
fn process_json(
    o: &ExecOptions,
    spec: &oci_spec::runtime::Spec,
) -> Result<oci_spec::runtime::Process, ExecError> {
    let base = spec
        .process()
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| ExecError::BaseProcess { err: e.to_string() })?
        .ok_or(ExecError::BaseProcess {
            err: "missing".into(),
        })?;
    let v = match &o.process {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|err| ExecError::ProcessFile {
                path: path.clone(),
                err,
            })?;
            let mut v: Value =
                serde_json::from_slice(&bytes).map_err(|e| ExecError::ProcessJson {
                    path: path.clone(),
                    err: e.to_string(),
                })?;
            let Some(obj) = v.as_object_mut() else {
                return Err(ExecError::ProcessJson {
                    path: path.clone(),
                    err: "not a JSON object".into(),
                });
            };
            // The container's confinement holds unless the process JSON says otherwise.
            for key in [
                "capabilities",
                "rlimits",
                "noNewPrivileges",
                "apparmorProfile",
                "user",
                "cwd",
            ] {
                if !obj.contains_key(key) {
                    if let Some(b) = base.get(key) {
                        obj.insert(key.to_string(), b.clone());
                    }
                }
            }
            v
        }
        None => flags_process(o, base)?,
    };
    serde_json::from_value(v).map_err(|e| ExecError::ProcessJson {
        path: o
            .process
            .clone()
            .unwrap_or_else(|| PathBuf::from("(command line)")),
        err: e.to_string(),
    })
}

/// runc's rules for the command-line form.
fn flags_process(o: &ExecOptions, mut p: Value) -> Result<Value, ExecError> {
    if o.args.is_empty() {
        return Err(ExecError::NoCommand);
    }
    p["args"] = Value::from(o.args.clone());
    p["terminal"] = Value::from(o.tty);
    p.as_object_mut().map(|m| m.remove("consoleSize"));
    if !o.env.is_empty() {
        let mut env: Vec<String> = p["env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for e in &o.env {
            let key = e.split_once('=').map(|(k, _)| k).unwrap_or(e);
            env.retain(|old| old.split_once('=').map(|(k, _)| k) != Some(key));
            env.push(e.clone());
        }
        p["env"] = Value::from(env);
    }
    if let Some(cwd) = &o.cwd {
        p["cwd"] = Value::from(cwd.to_string_lossy().into_owned());
    }
    if let Some(u) = &o.user {
        let bad = || ExecError::BadUser { value: u.clone() };
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (
                a.parse::<u32>().map_err(|_| bad())?,
                Some(b.parse::<u32>().map_err(|_| bad())?),
            ),
            None => (u.parse::<u32>().map_err(|_| bad())?, None),
        };
        p["user"]["uid"] = Value::from(uid);
        // runc: a uid alone runs with gid 0 unless a gid is given.
        p["user"]["gid"] = Value::from(gid.unwrap_or(0));
    }
    if !o.additional_gids.is_empty() {
        p["user"]["additionalGids"] = Value::from(o.additional_gids.clone());
    }
    if !o.caps.is_empty() {
        let caps = p
            .as_object_mut()
            .map(|m| {
                m.entry("capabilities")
                    .or_insert_with(|| Value::Object(Default::default()))
            })
            .ok_or(ExecError::BaseProcess {
                err: "not an object".into(),
            })?;
        // Like runc, ambient only when the config uses inheritable capabilities at all. An empty
        // list does not count: nothing could be raised into ambient then. A capability raised
        // into ambient must be inheritable too, so it is added there as well.
        let has_inheritable = caps
            .get("inheritable")
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty());
        for name in &o.caps {
            capabilities::parse_name(name).map_err(|_| ExecError::BadCap { name: name.clone() })?;
            let up = name.to_uppercase();
            let full = if up.starts_with("CAP_") {
                up
            } else {
                format!("CAP_{up}")
            };
            let mut sets = vec!["bounding", "effective", "permitted"];
            if has_inheritable {
                sets.extend(["inheritable", "ambient"]);
            }
            for set in sets {
                let entry = &mut caps[set];
                if !entry.is_array() {
                    *entry = Value::Array(Vec::new());
                }
                if let Some(a) = entry.as_array_mut() {
                    if !a.iter().any(|c| c.as_str() == Some(&full)) {
                        a.push(Value::from(full.clone()));
                    }
                }
            }
        }
    }
    if o.no_new_privs {
        p["noNewPrivileges"] = Value::from(true);
    }
    if let Some(a) = &o.apparmor {
        p["apparmorProfile"] = Value::from(a.clone());
    }
    Ok(p)
}

/// Opens the init's namespace files in join order (user first, mount last), each checked to be
/// an nsfs file. Namespaces the runtime is already in (a container sharing one with the host)
/// are skipped: joining one's own user namespace is an error, and the others would be no-ops.
fn open_namespaces(
    pid: i32,
    recorded: &[(String, i32)],
    keep: u32,
) -> Result<Vec<(Kind, PathBuf, OwnedFd)>, ExecError> {
    let mut out = Vec::new();
    for k in Kind::JOIN_ORDER {
        if !recorded.iter().any(|(name, _)| name == k.proc_name()) {
            continue;
        }
        let path = PathBuf::from(format!("/proc/{pid}/ns/{}", k.proc_name()));
        let fd =
            syscalls::open(&path, libc::O_RDONLY, 0).map_err(|err| ExecError::OpenNamespace {
                path: path.clone(),
                err,
            })?;
        let magic =
            syscalls::fstatfs_magic(fd.as_fd()).map_err(|err| ExecError::OpenNamespace {
                path: path.clone(),
                err,
            })?;
        if magic != NSFS_MAGIC {
            return Err(ExecError::NotNamespace { path, magic });
        }
        let theirs = syscalls::fstat(fd.as_fd()).map_err(|err| ExecError::OpenNamespace {
            path: path.clone(),
            err,
        })?;
        let own = std::fs::metadata(format!("/proc/self/ns/{}", k.proc_name()));
        if let Ok(own) = own {
            use std::os::unix::fs::MetadataExt;
            if own.ino() == theirs.st_ino && own.dev() == theirs.st_dev {
                continue;
            }
        }
        out.push((k, path, above(fd, keep)?));
    }
    Ok(out)
}

/// Moves a descriptor to a number at or above 3+keep, out of the range passed to the container.
fn above(fd: OwnedFd, keep: u32) -> Result<OwnedFd, ExecError> {
    if fd.as_raw_fd() >= 3 + keep as RawFd {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor that we own; the old one is dropped.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3 + keep as RawFd) };
    if r < 0 {
        return Err(ExecError::Dup(io::Error::last_os_error()));
    }
    // SAFETY: as above, a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

enum Msg {
    Pid(i32),
    Error(String),
    /// The seccomp NOTIFY listener of the process (SCM_RIGHTS).
    Listener(OwnedFd),
    Eof,
}

fn read_msg(fd: BorrowedFd<'_>) -> Result<Msg, ExecError> {
    let mut buf = vec![0u8; 8192];
    let (n, passed) = syscalls::recv_with_fd(fd, &mut buf).map_err(ExecError::Sync)?;
    Ok(match buf[..n].split_first() {
        None => Msg::Eof,
        Some((b'L', _)) => match passed {
            Some(l) => Msg::Listener(l),
            None => return Err(ExecError::Sync(io::Error::from(io::ErrorKind::InvalidData))),
        },
        Some((b'P', rest)) if rest.len() == 4 => {
            Msg::Pid(i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]))
        }
        Some((b'E', m)) => Msg::Error(String::from_utf8_lossy(m).into_owned()),
        Some(_) => return Err(ExecError::Sync(io::Error::from(io::ErrorKind::InvalidData))),
    })
}

fn reap(pid: i32) {
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
}

/// Kills (and reaps) the exec'd process if the runtime fails before it was started.
struct KillGuard(Option<i32>);

impl Drop for KillGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            // SAFETY: our own, not yet reaped, child: the pid cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // A process in a frozen v1 cgroup only dies when thawed: reap it if it goes soon,
            // else leave that to whoever inherits it (it is in the container's cgroup, so
            // `resume` or `delete` ends it).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            // SAFETY: waiting for our own child without blocking.
            while unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) } == 0
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

/// The joiner (first child): enters the namespaces and forks the process. Never returns.
fn run_joiner(
    plan: &Plan,
    joins: &[(Kind, PathBuf, OwnedFd)],
    sock: OwnedFd,
    console: Option<OwnedFd>,
    keep: u32,
) -> ! {
    // The runtime's own user namespace first: a container that shares it (no user namespace in
    // its config, e.g. started by a runtime that is itself root of an `unshare -r` namespace,
    // whose setgroups is "deny") has no user namespace to join below, and without this the
    // process failed at setgroups([]) with EPERM although `run` had worked (the init learns the
    // policy whether or not it joins one).
    crate::identity::learn_setgroups_policy();
    // execCPUAffinity.initial: before the process is made and moved into the cgroup.
    if let Err(e) = crate::scheduling::apply_affinity(&plan.process.scheduling, true) {
        syscalls::send_error(sock.as_fd(), &e.to_string());
        syscalls::exit_now(1);
    }
    for (k, path, fd) in joins {
        if let Err(err) = syscalls::setns(fd.as_fd(), k.flag()) {
            syscalls::send_error(
                sock.as_fd(),
                &format!(
                    "joining {} namespace {}: setns: {err}",
                    k.name(),
                    path.display()
                ),
            );
            syscalls::exit_now(1);
        }
        if *k == Kind::User {
            // Before the mount namespace (joined last): this /proc is still the host's.
            crate::identity::learn_setgroups_policy();
        }
    }
    // CLONE_PARENT: the process becomes the runtime's child, so the runtime can wait for it.
    match syscalls::clone_fork(libc::CLONE_PARENT as u64) {
        Ok(0) => run_process(plan, sock, console, keep),
        Ok(pid) => {
            let mut m = vec![b'P'];
            m.extend_from_slice(&pid.to_le_bytes());
            let _ = syscalls::write_all_fd(sock.as_fd(), &m);
            syscalls::exit_now(0);
        }
        Err(err) => {
            syscalls::send_error(
                sock.as_fd(),
                &format!("fork into the container's pid namespace: {err}"),
            );
            syscalls::exit_now(1);
        }
    }
}

/// The exec'd process before exec: waits for `G` (it is in the cgroup by then), sets itself up
/// and execs. Never returns.
fn run_process(plan: &Plan, sock: OwnedFd, console: Option<OwnedFd>, keep: u32) -> ! {
    let mut b = [0u8; 1];
    match syscalls::read_fd(sock.as_fd(), &mut b) {
        Ok(1) if b[0] == b'G' => {}
        _ => syscalls::exit_now(1),
    }
    let result = (|| -> Result<(), String> {
        if let Some(c) = &console {
            console::setup(c.as_fd(), false, plan.process.console_size)
                .map_err(|e| e.to_string())?;
        }
        let (exe, listener) =
            init::confine_keeping_listener(plan).map_err(|e: InitError| e.to_string())?;
        if let Some(l) = listener {
            syscalls::send_with_fd(sock.as_fd(), b"L", l.as_fd())
                .map_err(|e| format!("passing the seccomp listener: {e}"))?;
        }
        init::exec_workload(plan, &exe, keep - plan.process.listen_fds).map_err(|e| e.to_string())
    })();
    if let Err(m) = result {
        syscalls::send_error(sock.as_fd(), &m);
    }
    syscalls::exit_now(127)
}

/// Waits for the foreground process, forwarding signals (and proxying its terminal when the
/// runtime holds the master). Returns its exit code, 128+N when killed by signal N.
pub fn wait_foreground(
    pid: i32,
    set: &libc::sigset_t,
    master: Option<OwnedFd>,
) -> Result<i32, ExecError> {
    wait_process(pid, set, master, Stopped::Wait)
}

/// What a foreground wait does when it forwards SIGINT or SIGTERM to a process that is stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// Keep waiting (a container's init: `run` must still delete the container after it).
    Wait,
    /// Fail with [`ExecError::LeftStopped`] (an exec'd process the container keeps stopped).
    GiveUp,
}

/// Forwards a caller's signal to our child.
fn forward(pid: i32, sig: i32, stopped: Stopped) -> Result<(), ExecError> {
    // SAFETY: forwarding a signal to our own, not yet reaped, child.
    unsafe { libc::kill(pid, sig) };
    if stopped == Stopped::GiveUp
        && (sig == libc::SIGINT || sig == libc::SIGTERM)
        && process_stopped(pid)
    {
        return Err(ExecError::LeftStopped {
            pid,
            signal: syscalls::signal_name(sig),
        });
    }
    Ok(())
}

/// Whether the process is in the stopped state (`T`) now.
fn process_stopped(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .is_some_and(|s| s == "T")
}

fn wait_process(
    pid: i32,
    set: &libc::sigset_t,
    master: Option<OwnedFd>,
    stopped: Stopped,
) -> Result<i32, ExecError> {
    let Some(master) = master else {
        return wait_signals(pid, set, stopped);
    };
    let stdin = io::stdin();
    let raw = console::RawMode::enter(stdin.as_fd());
    console::copy_window_size(stdin.as_fd(), master.as_fd());
    let mut stdin_open = true;
    let mut hangup = false;
    loop {
        if !hangup {
            hangup =
                console::proxy(master.as_fd(), &mut stdin_open, 100) == console::Proxied::Hangup;
        }
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: `set` is initialised; info is ours to fill; a zero timeout only polls.
        let sig = unsafe { libc::sigtimedwait(set, info.as_mut_ptr(), &zero) };
        if sig == libc::SIGWINCH {
            console::copy_window_size(stdin.as_fd(), master.as_fd());
        } else if sig > 0 && sig != libc::SIGCHLD {
            if let Err(e) = forward(pid, sig, stopped) {
                drop(raw);
                return Err(e);
            }
        }
        if sig == libc::SIGCHLD || hangup {
            if let Some(code) = try_wait(pid) {
                // Copy what the process wrote before it exited; a background process that
                // still holds the terminal does not keep us here.
                let mut no_stdin = false;
                while !hangup
                    && console::proxy(master.as_fd(), &mut no_stdin, 0) == console::Proxied::Data
                {
                }
                drop(raw);
                return Ok(code);
            }
            if hangup {
                // The terminal is gone but the process is not: wait for its exit signal.
                drop(raw);
                return wait_signals(pid, set, stopped);
            }
        }
    }
}

fn try_wait(pid: i32) -> Option<i32> {
    let mut status = 0;
    // As the child subreaper (a foreground `run`), the processes the workload orphans are our
    // children too: reap them along with it, or they stay zombies until we exit.
    let any = subreaper();
    let r = loop {
        // SAFETY: waiting for our own children without blocking.
        let r = unsafe { libc::waitpid(if any { -1 } else { pid }, &mut status, libc::WNOHANG) };
        if !any || r <= 0 || r == pid {
            break r;
        }
    };
    if r != pid {
        return None;
    }
    if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    }
}

/// Whether this process is a child subreaper (PR_GET_CHILD_SUBREAPER).
fn subreaper() -> bool {
    let mut on: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int, which we own.
    let r = unsafe { libc::prctl(libc::PR_GET_CHILD_SUBREAPER, &mut on as *mut libc::c_int) };
    r == 0 && on != 0
}

fn wait_signals(pid: i32, set: &libc::sigset_t, stopped: Stopped) -> Result<i32, ExecError> {
    loop {
        let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: `set` is initialised; info is ours to fill.
        let sig = unsafe { libc::sigwaitinfo(set, info.as_mut_ptr()) };
        if sig < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(ExecError::Wait(e));
        }
        if sig == libc::SIGCHLD {
            if let Some(c) = try_wait(pid) {
                return Ok(c);
            }
            continue;
        }
        forward(pid, sig, stopped)?;
    }
}
