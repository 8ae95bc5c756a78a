//! The container's init: what the cloned child does, step by step, until it becomes the workload
//! with execve. It only reads the validated `Plan`; every failure before `ready` goes back to the
//! runtime as a message (which reports it and cleans up), every failure after it goes to stderr.
//!
//! Order (each step needs the previous ones):
//!  1. wait for the runtime's `go` (maps written, cgroup joined);
//!  2. become root of a new user namespace; join namespaces by path; unshare cgroup (now rooted
//!     at the container's cgroup) and time namespaces;
//!  3. hostname, session keyring;
//!  4. rootfs: mounts (idmapped binds come ready-made from the runtime, see
//!     `mounts::prepare_idmapped`) and /dev → createContainer hooks → pivot_root → sysctl,
//!     masked and read-only paths, read-only root;
//!  5. rlimits, cwd (checked to be inside the root), executable lookup; AppArmor's procfs
//!     handle and the Landlock ruleset prepared (still privileged, no seccomp filter yet);
//!  6. bounding set, uid/gid with kept capabilities, capability sets, no_new_privs; the seccomp
//!     filter before the capability drop when no_new_privs is off (it needs CAP_SYS_ADMIN), or
//!     right after no_new_privs when it has NOTIFY rules;
//!  7. tell the runtime `ready` (passing the seccomp listener fd), block on exec.fifo until
//!     `start`;
//!  8. the AppArmor on-exec profile, Landlock enforced, the seccomp filter if not loaded yet;
//!     then startContainer hooks (confined like the workload), close every stray fd on exec,
//!     execve.

use crate::apparmor;
use crate::capabilities;
use crate::cgroups::HierarchyMount;
use crate::console;
use crate::hooks;
use crate::identity;
use crate::landlock;
use crate::namespaces::{self, Kind};
use crate::plan::Plan;
use crate::process::InitSide;
use crate::rlimits;
use crate::rootfs;
use crate::seccomp;
use crate::syscalls;
use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What the init needs besides the plan.
pub struct InitContext {
    pub id: String,
    /// exec.fifo opened read-write by the runtime; the init blocks reading it until `start`.
    pub fifo: OwnedFd,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub joins: Vec<(Kind, PathBuf, OwnedFd)>,
    pub cgroup_hierarchies: Vec<HierarchyMount>,
    /// The state directory lock inherited from the runtime; closed first thing in the init.
    pub lock_fd: std::os::fd::RawFd,
    /// With process.terminal: the connected console socket that receives the pty master.
    pub console: Option<OwnedFd>,
    /// Per entry of `plan.mounts`: the idmapped bind made by the runtime on the host side.
    pub idmapped: Vec<Option<OwnedFd>>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("becoming root in the new user namespace: {0}")]
    UsernsRoot(std::io::Error),
    #[error(transparent)]
    Namespace(#[from] namespaces::NamespaceError),
    #[error("writing time namespace offsets: {0}")]
    TimeOffsets(std::io::Error),
    #[error("personality({value:#x}): {err}")]
    Personality {
        value: libc::c_ulong,
        err: std::io::Error,
    },
    #[error(transparent)]
    Scheduling(#[from] crate::scheduling::SchedulingError),
    #[error(transparent)]
    MemoryPolicy(#[from] crate::memory_policy::MemoryPolicyError),
    #[error("sethostname: {0}")]
    Hostname(std::io::Error),
    #[error("setdomainname: {0}")]
    Domainname(std::io::Error),
    #[error("joining a new session keyring: {0}")]
    Keyring(std::io::Error),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Hook(#[from] hooks::HookError),
    #[error(transparent)]
    Rlimit(#[from] rlimits::RlimitError),
    #[error("chdir to {path}: {err}")]
    Cwd { path: PathBuf, err: std::io::Error },
    #[error("cwd {path} resolves outside the container's root")]
    CwdOutsideRoot { path: PathBuf },
    #[error("exec: {name:?}: executable file not found in $PATH")]
    NotFound { name: String },
    // Go's wording ("no such file or directory", lower case, no "(os error N)"): Docker maps
    // create errors to exit codes 127/126 by matching runc's text.
    #[error("exec: {name:?}: stat {name}: {}", go_errno(err))]
    Stat { name: String, err: std::io::Error },
    #[error("exec: {name:?}: permission denied")]
    NotExecutable { name: String },
    #[error(transparent)]
    Capability(#[from] capabilities::CapError),
    #[error(transparent)]
    Identity(#[from] identity::IdentityError),
    #[error("prctl({what}): {err}")]
    Prctl {
        what: &'static str,
        err: std::io::Error,
    },
    #[error("waiting for start on exec.fifo: {0}")]
    Fifo(std::io::Error),
    #[error("marking descriptors close-on-exec: {0}")]
    Cloexec(std::io::Error),
    #[error("exec {path:?}: {err}")]
    Exec { path: String, err: std::io::Error },
    #[error(transparent)]
    Seccomp(#[from] seccomp::SeccompError),
    #[error("seccomp: the filter's NOTIFY listener has no way to reach the agent here")]
    SeccompListenerDropped,
    #[error(transparent)]
    AppArmor(#[from] apparmor::AppArmorError),
    #[error(transparent)]
    Landlock(#[from] landlock::LandlockError),
    #[error(transparent)]
    Console(#[from] console::ConsoleError),
}

/// Entry point of the cloned child. Never returns.
pub fn run(plan: &Plan, ctx: &InitContext, sock: OwnedFd) -> ! {
    // SAFETY: the lock descriptor is a copy in our own (forked) fd table that nothing here uses.
    unsafe { libc::close(ctx.lock_fd) };
    let side = InitSide { sock };
    let Some(host_pid) = side.wait_go() else {
        // The runtime went away before letting us go on: nothing to report to.
        syscalls::exit_now(1);
    };
    // execCPUAffinity.initial: before the cgroup (the runtime adds us on v1 before `go`).
    if let Err(e) = crate::scheduling::apply_affinity(&plan.process.scheduling, true) {
        side.fail(&e.to_string());
        syscalls::exit_now(1);
    }
    // Cloned dumpable by an unprivileged runtime only so that it could write our maps (see
    // `process::spawn_init`); they are written now.
    if let Err(e) = syscalls::prctl(libc::PR_SET_DUMPABLE, 0) {
        side.fail(&format!("prctl(PR_SET_DUMPABLE, 0): {e}"));
        syscalls::exit_now(1);
    }
    let (exe, seccomp_listener) = match setup(plan, ctx, host_pid, side.sock.as_fd()) {
        Ok(done) => done,
        Err(e) => {
            side.fail(&e.to_string());
            syscalls::exit_now(1);
        }
    };
    // The seccomp listener (NOTIFY rules) goes to the runtime with `ready`: it sends it on to the
    // agent from the host, where listenerPath means what the user meant. Our copy is closed then.
    side.ready(seccomp_listener.as_ref().map(|fd| fd.as_fd()));
    drop(seccomp_listener);
    drop(side);
    if let Err(e) = wait_start_and_exec(plan, ctx, host_pid, &exe) {
        let _ = syscalls::write_all_fd(
            std::io::stderr().as_fd(),
            crate::logging::errno_in_words(&format!("rampart: container init: {e}\n")).as_bytes(),
        );
        syscalls::exit_now(127);
    }
    syscalls::exit_now(127)
}

fn setup(
    plan: &Plan,
    ctx: &InitContext,
    host_pid: i32,
    sock: std::os::fd::BorrowedFd<'_>,
) -> Result<(CString, Option<OwnedFd>), InitError> {
    if plan.namespaces.creates(Kind::User) {
        // SAFETY: plain syscalls; our uid/gid 0 is mapped by the runtime before `go`.
        unsafe {
            if libc::setresgid(0, 0, 0) != 0 || libc::setresuid(0, 0, 0) != 0 {
                return Err(InitError::UsernsRoot(std::io::Error::last_os_error()));
            }
        }
    }
    // A joined user namespace must come first; the other joins and unshares follow it.
    let (user_joins, other_joins): (Vec<_>, Vec<_>) =
        ctx.joins.iter().partition(|(k, _, _)| *k == Kind::User);
    for (k, path, fd) in user_joins {
        if namespaces::is_current(fd.as_fd(), *k) {
            // Entered already by the joiner that cloned us (see `process::spawn_through_joiner`).
            continue;
        }
        syscalls::setns(fd.as_fd(), k.flag()).map_err(|err| namespaces::NamespaceError::Setns {
            kind: k.name(),
            path: path.clone(),
            err,
        })?;
    }
    if plan.namespaces.has(Kind::User) && !plan.namespaces.creates(Kind::User) {
        // Joining leaves our ids as they were, the host's root, which the joined namespace
        // does not map: files we made would fail with EOVERFLOW. Become its root where it maps
        // one; where it does not, the identity step sets process.user later.
        // SAFETY: plain syscalls.
        unsafe {
            if libc::setresgid(0, 0, 0) == 0 {
                libc::setresuid(0, 0, 0);
            }
        }
    }
    // Still on the host's /proc: the mount namespace is a copy of the host's until the rootfs.
    identity::learn_setgroups_policy();
    namespaces::unshare(plan.namespaces.unshare_flags())?;
    for (k, path, fd) in other_joins {
        if *k == Kind::Pid {
            continue;
        }
        syscalls::setns(fd.as_fd(), k.flag()).map_err(|err| namespaces::NamespaceError::Setns {
            kind: k.name(),
            path: path.clone(),
            err,
        })?;
    }
    if plan.namespaces.creates(Kind::Time) {
        namespaces::unshare(libc::CLONE_NEWTIME)?;
        if !plan.time_offsets.is_empty() {
            let text: String = plan
                .time_offsets
                .iter()
                .map(|(clock, s, ns)| format!("{clock} {s} {ns}\n"))
                .collect();
            write_time_offsets(&text, plan.namespaces.creates(Kind::User))?;
        }
    }
    crate::crash_points::at_init("init:namespaces-made", sock);

    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).map_err(|e| InitError::Hostname(e.into()))?;
    }
    if let Some(d) = &plan.domainname {
        // SAFETY: pointer and length describe the string's bytes.
        if unsafe { libc::setdomainname(d.as_ptr() as *const libc::c_char, d.len()) } != 0 {
            return Err(InitError::Domainname(std::io::Error::last_os_error()));
        }
    }
    if !ctx.no_new_keyring {
        let name = CString::new(format!("_ses.{}", ctx.id)).unwrap_or_default();
        match syscalls::join_session_keyring(&name) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {}
            Err(e) => return Err(InitError::Keyring(e)),
        }
    }

    let root = rootfs::prepare(plan, &ctx.cgroup_hierarchies, &ctx.idmapped)?;
    if !plan.hooks.create_container.is_empty() {
        // The create operation is still going on: "creating", as runc reports it too.
        let state = hook_state(plan, ctx, host_pid, "creating");
        hooks::run("createContainer", &plan.hooks.create_container, &state)?;
    }
    rootfs::enter(plan, root, ctx.no_pivot)?;
    if let Some(sock) = &ctx.console {
        console::setup(sock.as_fd(), true, plan.process.console_size)?;
    }
    rootfs::finish(plan)?;
    crate::crash_points::at_init("init:rootfs-ready", sock);

    let confined = confine_keeping_listener(plan)?;
    crate::crash_points::at_init("init:confined", sock);
    Ok(confined)
}

/// The confinement of `plan.process` once the process sits in the container's root: rlimits,
/// cwd, executable lookup, bounding set, identity, capability sets, no_new_privs. Shared by the
/// init and by `exec` (which passes a plan whose `process` is the exec'd one). Returns the
/// executable to hand to [`exec_workload`]. A seccomp filter with NOTIFY rules is refused here
/// (its listener would be lost): use [`confine_keeping_listener`] and send the fd on.
pub fn confine(plan: &Plan) -> Result<CString, InitError> {
    match confine_keeping_listener(plan)? {
        (exe, None) => Ok(exe),
        (_, Some(_)) => Err(InitError::SeccompListenerDropped),
    }
}

/// [`confine`], returning the seccomp listener fd as well when the filter has NOTIFY rules and
/// was loaded here (it is loaded here unless no_new_privs is set and it has no NOTIFY rule; then
/// [`exec_workload`] loads it right before execve).
pub fn confine_keeping_listener(plan: &Plan) -> Result<(CString, Option<OwnedFd>), InitError> {
    if let Some(persona) = plan.personality {
        // Before any seccomp filter (profiles allow personality only for a few values) and
        // kept across execve by the kernel.
        // SAFETY: personality takes an integer and changes only this process's execution domain.
        if unsafe { libc::personality(persona) } == -1 {
            return Err(InitError::Personality {
                value: persona,
                err: std::io::Error::last_os_error(),
            });
        }
    }
    rlimits::apply(&plan.process.rlimits)?;
    // With the runtime's privileges still held (an RT class or policy needs them) and before
    // any seccomp filter.
    crate::scheduling::apply_priorities(&plan.process.scheduling)?;
    crate::memory_policy::apply(plan.memory_policy.as_ref())?;
    enter_cwd(&plan.process.cwd)?;
    let exe = find_executable(plan)?;
    // The LSMs are prepared while the process is still privileged and before any seccomp
    // filter (a fresh procfs handle for AppArmor, the Landlock rule paths opened inside the
    // root) and enforced in `exec_workload`, right before execve.
    apparmor::prepare(plan.process.apparmor_profile.as_deref())?;
    landlock::prepare_pending(plan.landlock.as_ref())?;

    let nnp = plan.process.no_new_privileges;
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before giving that up.
    let mut listener = seccomp::install_for(
        plan.seccomp.as_ref(),
        nnp,
        seccomp::Stage::BeforeCapabilityDrop,
    )?;
    capabilities::drop_bounding(plan.process.caps.bounding)?;
    let prctl =
        |what, opt, arg| syscalls::prctl(opt, arg).map_err(|err| InitError::Prctl { what, err });
    prctl("PR_SET_KEEPCAPS", libc::PR_SET_KEEPCAPS, 1)?;
    identity::switch(&plan.process.user)?;
    prctl("PR_SET_KEEPCAPS", libc::PR_SET_KEEPCAPS, 0)?;
    capabilities::apply(&plan.process.caps)?;
    if nnp {
        prctl("PR_SET_NO_NEW_PRIVS", libc::PR_SET_NO_NEW_PRIVS, 1)?;
        let l = seccomp::install_for(plan.seccomp.as_ref(), nnp, seccomp::Stage::AfterNoNewPrivs)?;
        listener = listener.or(l);
    }
    Ok((exe, listener))
}

/// Writes /proc/self/timens_offsets (allowed until a process enters the new time namespace:
/// only our children will). In a user namespace of our own, our /proc files belong to the host's
/// root while we are not dumpable, which root inside cannot write; we are alone in that user
/// namespace, so the flag is raised just for the write.
fn write_time_offsets(text: &str, own_userns: bool) -> Result<(), InitError> {
    let prctl = |v| syscalls::prctl(libc::PR_SET_DUMPABLE, v).map_err(InitError::TimeOffsets);
    if own_userns {
        prctl(1)?;
    }
    let written = std::fs::write("/proc/self/timens_offsets", text).map_err(InitError::TimeOffsets);
    if own_userns {
        prctl(0)?;
    }
    written
}

/// The state document hooks get on stdin.
fn hook_state(plan: &Plan, ctx: &InitContext, pid: i32, status: &str) -> Vec<u8> {
    let ann: &HashMap<String, String> = &plan.annotations;
    serde_json::to_vec(&serde_json::json!({
        "ociVersion": plan.oci_version,
        "id": ctx.id,
        "status": status,
        "pid": pid,
        "bundle": plan.bundle,
        "annotations": ann,
    }))
    .unwrap_or_default()
}

/// chdir after pivot_root, then check the result is inside the root: a cwd that resolved
/// through a leaked descriptor would show as "(unreachable)" (CVE-2024-21626).
fn enter_cwd(cwd: &Path) -> Result<(), InitError> {
    std::env::set_current_dir(cwd).map_err(|err| InitError::Cwd {
        path: cwd.to_path_buf(),
        err,
    })?;
    match std::env::current_dir() {
        Ok(p) if p.is_absolute() && !p.as_os_str().as_bytes().starts_with(b"(") => Ok(()),
        _ => Err(InitError::CwdOutsideRoot {
            path: cwd.to_path_buf(),
        }),
    }
}

/// PATH lookup of args[0] inside the container, as execvp would do, but at create time so a
/// missing binary is a create error.
fn find_executable(plan: &Plan) -> Result<CString, InitError> {
    let arg0 = plan.process.args[0].to_string_lossy().into_owned();
    if arg0.contains('/') {
        let meta = std::fs::metadata(&arg0).map_err(|err| InitError::Stat {
            name: arg0.clone(),
            err,
        })?;
        // Refused at create, as runc does (Go's LookPath), rather than by execve after start:
        // engines report create errors to the user (podman/Docker exit 126).
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
        if meta.is_dir() || mode & 0o111 == 0 {
            return Err(InitError::NotExecutable { name: arg0 });
        }
        return Ok(plan.process.args[0].clone());
    }
    for dir in plan.process.path_env.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(&arg0);
        let Ok(c) = CString::new(cand.as_os_str().as_bytes()) else {
            continue;
        };
        let is_file = std::fs::metadata(&cand)
            .map(|m| m.is_file())
            .unwrap_or(false);
        // SAFETY: valid C string.
        if is_file && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
            return Ok(c);
        }
    }
    Err(InitError::NotFound { name: arg0 })
}

/// An OS error as Go's syscall.Errno prints it: the C library's text with a lower-case first
/// letter and no "(os error N)".
fn go_errno(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn wait_start_and_exec(
    plan: &Plan,
    ctx: &InitContext,
    host_pid: i32,
    exe: &CString,
) -> Result<(), InitError> {
    let mut b = [0u8; 1];
    let n = syscalls::read_fd(ctx.fifo.as_fd(), &mut b).map_err(InitError::Fifo)?;
    if n == 0 {
        return Err(InitError::Fifo(std::io::Error::from_raw_os_error(
            libc::EPIPE,
        )));
    }
    // startContainer hooks are programs of the image, run in the container: they get the
    // workload's whole confinement, the LSMs and the seccomp filter included (runc loads its
    // filter before them too), not a window without it.
    lock_down(plan)?;
    if !plan.hooks.start_container.is_empty() {
        let state = hook_state(plan, ctx, host_pid, "created");
        hooks::run_with_default_env(
            "startContainer",
            &plan.hooks.start_container,
            &state,
            &plan.process.env,
        )?;
    }
    exec_locked_down(plan, exe, ctx.preserve_fds)
}

/// The last steps before execve, shared by the init and by `exec`: whatever must happen right
/// before exec for both kinds of process belongs here or in the two steps it calls.
pub fn exec_workload(plan: &Plan, exe: &CString, preserve_fds: u32) -> Result<(), InitError> {
    lock_down(plan)?;
    exec_locked_down(plan, exe, preserve_fds)
}

/// The confinement that is enforced last, after every step that needs the filesystem: the
/// AppArmor transition (it takes effect at the next execve), Landlock (which also sets
/// no_new_privs), and the seccomp filter when no_new_privs lets it wait this long.
fn lock_down(plan: &Plan) -> Result<(), InitError> {
    apparmor::apply_prepared(plan.process.apparmor_profile.as_deref())?;
    landlock::enforce_pending(plan.landlock.as_ref())?;
    // With no_new_privs and no NOTIFY rule the filter is loaded as late as possible, so the
    // profile need not allow what the runtime does before this point.
    let nnp = plan.process.no_new_privileges;
    if seccomp::install_for(plan.seccomp.as_ref(), nnp, seccomp::Stage::BeforeExec)?.is_some() {
        // Stage::BeforeExec is never chosen for a filter with NOTIFY rules.
        return Err(InitError::SeccompListenerDropped);
    }
    Ok(())
}

/// Passes on the socket-activation fds (LISTEN_FDS, with LISTEN_PID set to our pid as the
/// container sees it) followed by the `--preserve-fds` ones, then execs. Only after
/// [`lock_down`].
fn exec_locked_down(plan: &Plan, exe: &CString, preserve_fds: u32) -> Result<(), InitError> {
    // execCPUAffinity.final: in the container's cgroup, right before execve.
    crate::scheduling::apply_affinity(&plan.process.scheduling, false)?;
    let listen = plan.process.listen_fds;
    let mut env = plan.process.env.clone();
    if listen > 0 {
        env.retain(|e| {
            let b = e.as_bytes();
            !b.starts_with(b"LISTEN_FDS=") && !b.starts_with(b"LISTEN_PID=")
        });
        // SAFETY: getpid cannot fail.
        let pid = unsafe { libc::getpid() };
        for var in [format!("LISTEN_FDS={listen}"), format!("LISTEN_PID={pid}")] {
            env.push(CString::new(var).unwrap_or_default());
        }
    }
    exec(
        exe,
        &plan.process.args,
        &env,
        listen.saturating_add(preserve_fds),
    )
}

/// Final step shared with exec'd processes: reset signals, leave only stdio and the preserved
/// descriptors open across execve, and exec.
pub fn exec(
    exe: &CString,
    args: &[CString],
    env: &[CString],
    preserve_fds: u32,
) -> Result<(), InitError> {
    syscalls::reset_signals();
    // The runtime refused a count near the open file limit at its start (exec::reserve_fds);
    // saturating keeps a wrapped sum from marking stdio close-on-exec all the same.
    let end = preserve_fds.saturating_add(3);
    let holes = crate::exec::preserved_holes();
    for fd in 3..end.min(i32::MAX as u32) {
        if holes.contains(&(fd as i32)) {
            // A number the caller did not give, held by a close-on-exec placeholder.
            continue;
        }
        // SAFETY: clearing FD_CLOEXEC on descriptors the caller asked us to pass on.
        unsafe { libc::fcntl(fd as i32, libc::F_SETFD, 0) };
    }
    syscalls::cloexec_from(end).map_err(InitError::Cloexec)?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of pointers to C strings that outlive
    // the call; execve only returns on failure.
    unsafe { libc::execve(exe.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Err(InitError::Exec {
        path: exe.to_string_lossy().into_owned(),
        err: std::io::Error::last_os_error(),
    })
}
