//! The process tree: the runtime clones the container's init directly (no re-exec of the runtime
//! binary, no intermediate process) and talks to it over a SEQPACKET socket pair.
//!
//! Protocol: before the clone the runtime makes the idmapped binds (the init inherits them);
//! after it, it finishes what must happen outside (uid/gid maps, cgroup, oom score,
//! createRuntime hooks), then sends `G<host pid>`; the init sets itself up and answers `R` when it
//! waits for `start`, or `E<message>` when a step failed (and then exits). When the init loaded a
//! seccomp filter with NOTIFY rules, `R` carries the listener fd (SCM_RIGHTS) for the runtime to
//! hand to the agent.

use crate::init::{self, InitContext};
use crate::namespaces::Kind;
use crate::plan::Plan;
use crate::syscalls;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("socketpair: {0}")]
    Socketpair(io::Error),
    #[error("clone of the container init: {0}")]
    Clone(io::Error),
    #[error("prctl(PR_SET_DUMPABLE) around the clone of the init: {0}")]
    Dumpable(io::Error),
    #[error("joining the pid namespace before clone: {0}")]
    PidNamespace(io::Error),
    #[error("{0}")]
    Joiner(String),
    #[error("talking to the container init: {0}")]
    Sync(io::Error),
    #[error("container init exited before it was ready")]
    InitDied,
    #[error("container init: {0}")]
    Init(String),
    #[error("blocking SIGINT and SIGTERM while the init sets up: {0}")]
    SignalMask(io::Error),
    #[error("create interrupted by {signal} while the container init (pid {pid}) set itself up")]
    Interrupted { pid: i32, signal: String },
}

/// The runtime's end of a freshly cloned init.
pub struct InitHandle {
    pub pid: i32,
    /// The init was cloned straight into its cgroup (clone3 CLONE_INTO_CGROUP); it needs no move.
    pub in_cgroup: bool,
    sock: OwnedFd,
}

/// Clones the init with the plan's namespaces. In the child this never returns.
///
/// With `cgroup` (a directory fd of the container's cgroup, cgroup v2 only) the init is cloned
/// into it with clone3; on a kernel without clone3/CLONE_INTO_CGROUP it falls back to a plain
/// clone and `in_cgroup` is false, so the caller moves the pid as before.
pub fn spawn_init(
    plan: &Plan,
    ctx: &InitContext,
    cgroup: Option<BorrowedFd<'_>>,
) -> Result<InitHandle, ProcessError> {
    let (parent, child) = syscalls::seqpacket_pair().map_err(ProcessError::Socketpair)?;
    // setns of a pid namespace changes only where our children go: join it just for the clone
    // and come back, so hooks the runtime runs later stay in the host's pid namespace.
    let pid_join = ctx.joins.iter().find(|(k, _, _)| *k == Kind::Pid);
    let user_join = ctx.joins.iter().find(|(k, _, _)| *k == Kind::User);
    if let (Some((_, _, pid_ns)), Some((_, _, user_ns))) = (pid_join, user_join) {
        if crate::userns::caller_is_unprivileged() {
            return spawn_through_joiner(plan, ctx, parent, child, user_ns, Some(pid_ns));
        }
    }
    // A new pid namespace belongs to the user namespace of the process that makes it, and only
    // from that user namespace can the container mount its /proc: with a joined user namespace
    // the pid namespace is made by a joiner that entered it first.
    if let (Some((_, _, user_ns)), true) = (user_join, plan.namespaces.creates(Kind::Pid)) {
        return spawn_through_joiner(plan, ctx, parent, child, user_ns, None);
    }
    let own_pid_ns = match pid_join {
        Some((_, _, fd)) => {
            let own = syscalls::open(std::path::Path::new("/proc/self/ns/pid"), libc::O_RDONLY, 0)
                .map_err(ProcessError::PidNamespace)?;
            syscalls::setns(fd.as_fd(), libc::CLONE_NEWPID).map_err(ProcessError::PidNamespace)?;
            Some(own)
        }
        None => None,
    };
    let flags = plan.namespaces.clone_flags() as u64;
    // The init's /proc files belong to root while it is not dumpable (the runtime's state since
    // main, against CVE-2019-5736), so an unprivileged runtime could not write its uid_map. Such
    // a runtime clones it dumpable, makes itself non-dumpable again at once, and the init drops
    // the flag as soon as its maps are written (at `go`), before anything of the container
    // exists; runc's nsexec opens the same window.
    let dumpable_init =
        plan.namespaces.creates(Kind::User) && crate::userns::caller_is_unprivileged();
    if dumpable_init {
        syscalls::prctl(libc::PR_SET_DUMPABLE, 1).map_err(ProcessError::Dumpable)?;
    }
    let (pid, in_cgroup) = match cgroup {
        Some(fd) => match syscalls::clone_into_cgroup(flags, fd) {
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOSYS | libc::EINVAL | libc::E2BIG)
                ) =>
            {
                (syscalls::clone_fork(flags), false)
            }
            r => (r, true),
        },
        None => (syscalls::clone_fork(flags), false),
    };
    if let Ok(0) = pid {
        // The cgroup directory is the host's /sys/fs/cgroup/...: close-on-exec is not enough,
        // the init runs container-controlled setup and waits for `start` long before execve.
        if let Some(fd) = cgroup {
            syscalls::close_inherited(fd.as_raw_fd());
        }
        drop(parent);
        init::run(plan, ctx, child);
    }
    if dumpable_init {
        if let Err(e) = syscalls::prctl(libc::PR_SET_DUMPABLE, 0) {
            // Never go on dumpable: the caller kills what was cloned.
            if let Ok(child_pid) = pid {
                syscalls::kill_and_reap(child_pid);
            }
            return Err(ProcessError::Dumpable(e));
        }
    }
    if let Some(own) = own_pid_ns {
        let _ = syscalls::setns(own.as_fd(), libc::CLONE_NEWPID);
    }
    let pid = pid.map_err(ProcessError::Clone)?;
    drop(child);
    Ok(InitHandle {
        pid,
        in_cgroup,
        sock: parent,
    })
}

/// The init of a config that joins a user namespace and either joins a pid namespace as an
/// unprivileged runtime or makes a new one. Joining a pid namespace takes CAP_SYS_ADMIN in the
/// caller's own user namespace as well as in the one owning it, so the runtime cannot do it in
/// place as root does (and a joined user namespace cannot be left again); a new pid namespace
/// must be made from inside the joined user namespace to belong to it. A short-lived joiner is
/// forked instead: it enters the user namespace, then the pid namespace if one is joined, and
/// clones the init (CLONE_NEWPID among its flags when one is made) with CLONE_PARENT so that
/// the init is still the runtime's child; it reports the pid (or why it failed) and exits. The
/// init finds itself in the user namespace already and skips that join.
fn spawn_through_joiner(
    plan: &Plan,
    ctx: &InitContext,
    parent: OwnedFd,
    child: OwnedFd,
    user_ns: &OwnedFd,
    pid_ns: Option<&OwnedFd>,
) -> Result<InitHandle, ProcessError> {
    let (ours, joiners) = syscalls::seqpacket_pair().map_err(ProcessError::Socketpair)?;
    let flags = plan.namespaces.clone_flags() as u64;
    let joiner = syscalls::clone_fork(0).map_err(ProcessError::Clone)?;
    if joiner == 0 {
        drop(ours);
        let fail = |what: &str, e: io::Error| -> ! {
            syscalls::send_error(joiners.as_fd(), &format!("{what}: {e}"));
            syscalls::exit_now(1)
        };
        if let Err(e) = syscalls::setns(user_ns.as_fd(), libc::CLONE_NEWUSER) {
            fail("joining the user namespace before the pid namespace", e);
        }
        if let Some(Err(e)) = pid_ns.map(|ns| syscalls::setns(ns.as_fd(), libc::CLONE_NEWPID)) {
            fail("joining the pid namespace before clone", e);
        }
        match syscalls::clone_fork(flags | libc::CLONE_PARENT as u64) {
            Ok(0) => {
                drop(joiners);
                drop(parent);
                init::run(plan, ctx, child);
            }
            Ok(pid) => {
                let mut m = vec![b'P'];
                m.extend_from_slice(&pid.to_le_bytes());
                let _ = syscalls::write_all_fd(joiners.as_fd(), &m);
                syscalls::exit_now(0);
            }
            Err(e) => fail("clone of the container init", e),
        }
    }
    drop(joiners);
    drop(child);
    let mut buf = vec![0u8; 8192];
    let n = syscalls::read_fd(ours.as_fd(), &mut buf);
    // SAFETY: the joiner is our own child, reaped once.
    unsafe { libc::waitpid(joiner, std::ptr::null_mut(), 0) };
    let n = n.map_err(ProcessError::Sync)?;
    match buf[..n].split_first() {
        Some((b'P', p)) if p.len() == 4 => Ok(InitHandle {
            pid: i32::from_le_bytes([p[0], p[1], p[2], p[3]]),
            in_cgroup: false,
            sock: parent,
        }),
        Some((b'E', m)) => Err(ProcessError::Joiner(
            String::from_utf8_lossy(m).into_owned(),
        )),
        _ => Err(ProcessError::InitDied),
    }
}

impl InitHandle {
    /// Lets the init go on and waits until it is ready (or reports why it is not). Returns the
    /// seccomp listener fd the init sent with `R`, if its filter has NOTIFY rules.
    ///
    /// An init that joins another container's pid namespace can be stopped from there, so the
    /// wait ends on the caller's SIGINT/SIGTERM with an error (the caller then undoes the
    /// create) rather than the signal killing us and leaving a half-made container.
    pub fn go_and_wait_ready(&self) -> Result<Option<OwnedFd>, ProcessError> {
        let ends = [libc::SIGINT, libc::SIGTERM];
        let _mask = syscalls::block_signals(&ends).map_err(ProcessError::SignalMask)?;
        let mut msg = vec![b'G'];
        msg.extend_from_slice(&self.pid.to_le_bytes());
        syscalls::write_all_fd(self.sock.as_fd(), &msg).map_err(ProcessError::Sync)?;
        crate::crash_points::at("create:go-sent");
        while !syscalls::poll_readable(self.sock.as_fd(), std::time::Duration::from_millis(50))
            .map_err(ProcessError::Sync)?
        {
            if let Some(sig) = syscalls::take_signal(&ends, std::time::Duration::ZERO) {
                return Err(ProcessError::Interrupted {
                    pid: self.pid,
                    signal: syscalls::signal_name(sig),
                });
            }
        }
        let mut buf = vec![0u8; 8192];
        let (n, fd) =
            syscalls::recv_with_fd(self.sock.as_fd(), &mut buf).map_err(ProcessError::Sync)?;
        crate::crash_points::from_init(&buf[..n]);
        match buf[..n].split_first() {
            Some((b'R', _)) => Ok(fd),
            Some((b'E', m)) => Err(ProcessError::Init(String::from_utf8_lossy(m).into_owned())),
            _ => Err(ProcessError::InitDied),
        }
    }

    pub fn raw_sock(&self) -> i32 {
        self.sock.as_raw_fd()
    }
}

/// The init's end of the protocol.
pub struct InitSide {
    pub sock: OwnedFd,
}

impl InitSide {
    /// Waits for `G` and returns the init's pid as the host sees it.
    pub fn wait_go(&self) -> Option<i32> {
        let mut buf = [0u8; 16];
        let n = syscalls::read_fd(self.sock.as_fd(), &mut buf).ok()?;
        if n == 5 && buf[0] == b'G' {
            Some(i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]))
        } else {
            None
        }
    }

    /// Reports `ready`, passing `seccomp_listener` along when there is one. A failed send shows
    /// up in the runtime as a missing `R` (init died / no listener), so it is not reported here.
    pub fn ready(&self, seccomp_listener: Option<BorrowedFd<'_>>) {
        let Some(fd) = seccomp_listener else {
            let _ = syscalls::write_all_fd(self.sock.as_fd(), b"R");
            return;
        };
        let _ = syscalls::send_with_fd(self.sock.as_fd(), b"R", fd);
    }

    pub fn fail(&self, msg: &str) {
        syscalls::send_error(self.sock.as_fd(), msg);
    }
}
