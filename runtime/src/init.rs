//! The container's init: what the cloned child does, step by step, until it becomes the workload
//! with execve. It only reads the validated `Plan`; every failure before `ready` goes back to the
//! runtime as a message (which reports it and cleans up), every failure after it goes to stderr.
//!
//! Order (each step needs the previous ones):
//!  1. wait for the runtime's `go` (maps written, cgroup joined);
//!  2. become root of a new user namespace; join namespaces by path; unshare cgroup (now rooted
//!     at the container's cgroup) and time namespaces;
//!  3. hostname, session keyring;
//!  4. rootfs: mounts and /dev → createContainer hooks → pivot_root → sysctl, masked and
//!     read-only paths, read-only root;
//!  5. rlimits, cwd (checked to be inside the root), executable lookup;
//!  6. bounding set, uid/gid with kept capabilities, capability sets, no_new_privs;
//!  7. tell the runtime `ready`, block on exec.fifo until `start`;
//!  8. startContainer hooks, close every stray fd on exec, execve.

use crate::capabilities;
use crate::cgroups::HierarchyMount;
use crate::hooks;
use crate::identity;
use crate::namespaces::{self, Kind};
use crate::plan::Plan;
use crate::process::InitSide;
use crate::rlimits;
use crate::rootfs;
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
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("becoming root in the new user namespace: {0}")]
    UsernsRoot(std::io::Error),
    #[error(transparent)]
    Namespace(#[from] namespaces::NamespaceError),
    #[error("writing time namespace offsets: {0}")]
    TimeOffsets(std::io::Error),
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
    #[error("exec: {name:?}: stat {name}: {err}")]
    Stat { name: String, err: std::io::Error },
    #[error(transparent)]
    Capability(#[from] capabilities::CapError),
    #[error(transparent)]
    Identity(#[from] identity::IdentityError),
    #[error("prctl({what}): {err}")]
    Prctl { what: &'static str, err: std::io::Error },
    #[error("waiting for start on exec.fifo: {0}")]
    Fifo(std::io::Error),
    #[error("marking descriptors close-on-exec: {0}")]
    Cloexec(std::io::Error),
    #[error("exec {path:?}: {err}")]
    Exec { path: String, err: std::io::Error },
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
    let exe = match setup(plan, ctx, host_pid) {
        Ok(exe) => exe,
        Err(e) => {
            side.fail(&e.to_string());
            syscalls::exit_now(1);
        }
    };
    side.ready();
    drop(side);
    if let Err(e) = wait_start_and_exec(plan, ctx, host_pid, &exe) {
        let _ = syscalls::write_all_fd(
            std::io::stderr().as_fd(),
            format!("rampart: container init: {e}\n").as_bytes(),
        );
        syscalls::exit_now(127);
    }
    syscalls::exit_now(127)
}

fn setup(plan: &Plan, ctx: &InitContext, host_pid: i32) -> Result<CString, InitError> {
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
        syscalls::setns(fd.as_fd(), k.flag()).map_err(|err| namespaces::NamespaceError::Setns {
            kind: k.name(),
            path: path.clone(),
            err,
        })?;
    }
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
            std::fs::write("/proc/self/timens_offsets", text).map_err(InitError::TimeOffsets)?;
        }
    }

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

    let root = rootfs::prepare(plan, &ctx.cgroup_hierarchies)?;
    if !plan.hooks.create_container.is_empty() {
        let state = hook_state(plan, ctx, host_pid, "created");
        hooks::run("createContainer", &plan.hooks.create_container, &state)?;
    }
    rootfs::enter(plan, root, ctx.no_pivot)?;
    rootfs::finish(plan)?;

    rlimits::apply(&plan.process.rlimits)?;
    enter_cwd(&plan.process.cwd)?;
    let exe = find_executable(plan)?;

    capabilities::drop_bounding(plan.process.caps.bounding)?;
    let prctl = |what, opt, arg| {
        syscalls::prctl(opt, arg).map_err(|err| InitError::Prctl { what, err })
    };
    prctl("PR_SET_KEEPCAPS", libc::PR_SET_KEEPCAPS, 1)?;
    identity::switch(&plan.process.user, true)?;
    prctl("PR_SET_KEEPCAPS", libc::PR_SET_KEEPCAPS, 0)?;
    capabilities::apply(&plan.process.caps)?;
    if plan.process.no_new_privileges {
        prctl("PR_SET_NO_NEW_PRIVS", libc::PR_SET_NO_NEW_PRIVS, 1)?;
    }
    Ok(exe)
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
        std::fs::metadata(&arg0).map_err(|err| InitError::Stat {
            name: arg0.clone(),
            err,
        })?;
        return Ok(plan.process.args[0].clone());
    }
    for dir in plan.process.path_env.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(&arg0);
        let Ok(c) = CString::new(cand.as_os_str().as_bytes()) else {
            continue;
        };
        let is_file = std::fs::metadata(&cand).map(|m| m.is_file()).unwrap_or(false);
        // SAFETY: valid C string.
        if is_file && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
            return Ok(c);
        }
    }
    Err(InitError::NotFound { name: arg0 })
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
        return Err(InitError::Fifo(std::io::Error::from_raw_os_error(libc::EPIPE)));
    }
    if !plan.hooks.start_container.is_empty() {
        let state = hook_state(plan, ctx, host_pid, "created");
        hooks::run("startContainer", &plan.hooks.start_container, &state)?;
    }
    exec(exe, &plan.process.args, &plan.process.env, ctx.preserve_fds)
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
    for fd in 3..3 + preserve_fds as i32 {
        // SAFETY: clearing FD_CLOEXEC on descriptors the caller asked us to pass on.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    syscalls::cloexec_from(3 + preserve_fds).map_err(InitError::Cloexec)?;
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

