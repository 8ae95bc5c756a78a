//! What the fuzz targets share: a quiet logger, a scratch directory, and loading a compiled
//! seccomp filter in a child process.
//!
//! Scratch files go under `$TMPDIR` (std::env::temp_dir): `make fuzz` points it at a directory
//! it makes and removes, because libFuzzer ends the process with exit(), so nothing here runs a
//! destructor.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rampart::seccomp::{self, Compiled, SeccompError};
use rampart::syscalls;

/// Once per process: the runtime's warnings and debug lines go to /dev/null (formatted all the
/// same, debug included, so that code runs too) instead of flooding the fuzzer's output.
pub fn quiet_logging() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let _ = rampart::logging::init(
            Some(Path::new("/dev/null")),
            rampart::logging::Format::Json,
            true,
        );
    });
}

/// A directory of this process's own under `$TMPDIR`, made on first use.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("rampart-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("making the scratch directory");
        d
    })
}

/// A bundle directory with an empty `rootfs/`, as `plan::build` expects (it canonicalizes the
/// rootfs and checks it is a directory).
pub fn bundle() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let b = scratch().join("bundle");
        std::fs::create_dir_all(b.join("rootfs")).expect("making the bundle");
        b
    })
}

/// How a load in the child went, when it did not load.
#[derive(Debug)]
pub enum LoadFailure {
    /// seccomp(2) failed with this errno.
    Errno(i32),
    /// install refused it for another reason (exit code of the child).
    Refused(i32),
    /// The child ended some other way (wait status).
    Died(nix::sys::wait::WaitStatus),
}

/// Exit codes of the child before the filter is loaded (once it is loaded, it makes no syscall).
const EXIT_NNP: i32 = 2;
const EXIT_OTHER: i32 = 3;
const EXIT_ERRNO_BASE: i32 = 10;

/// Number of seccomp filters on this process (Seccomp_filters in /proc/PID/status).
fn filters_of(pid: &str) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp_filters:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Loads `c` as the container's init does (no_new_privs, then `seccomp::install`) in a forked
/// child, since a filter cannot be removed again. The child cannot report success itself: once
/// the filter is loaded every syscall it makes (even exit_group) may be killed, denied, or, with
/// a NOTIFY rule, wait for an agent that does not exist. So it spins without syscalls, and this
/// side reads the kernel's own count of its filters in /proc/PID/status, then SIGKILLs it (a
/// filter cannot block SIGKILL). A child that exited did so before loading: that is a failure.
pub fn load_in_child(c: &Compiled) -> Result<(), LoadFailure> {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::Pid;

    let before = filters_of("self").unwrap_or(0);
    let pid = syscalls::clone_fork(0).expect("fork for the seccomp load");
    if pid == 0 {
        // In the child: only syscalls and _exit, no allocation (the parent has other threads).
        if syscalls::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).is_err() {
            syscalls::exit_now(EXIT_NNP);
        }
        match seccomp::install(c) {
            Ok(listener) => {
                // Keeps the listener fd open: closing it is a syscall too.
                let _keep = listener;
                loop {
                    std::hint::spin_loop();
                }
            }
            Err(SeccompError::SetModeFilter { source, .. }) => {
                let errno = source.raw_os_error().unwrap_or(0).clamp(0, 200);
                syscalls::exit_now(EXIT_ERRNO_BASE + errno)
            }
            Err(_) => syscalls::exit_now(EXIT_OTHER),
        }
    }
    let pid_s = pid.to_string();
    loop {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(WaitStatus::Exited(_, code)) if code >= EXIT_ERRNO_BASE => {
                return Err(LoadFailure::Errno(code - EXIT_ERRNO_BASE))
            }
            Ok(WaitStatus::Exited(_, code)) => return Err(LoadFailure::Refused(code)),
            Ok(other) => return Err(LoadFailure::Died(other)),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => panic!("waitpid({pid}): {e}"),
        }
        if filters_of(&pid_s).is_some_and(|n| n > before) {
            syscalls::kill_and_reap(pid);
            return Ok(());
        }
        std::thread::yield_now();
    }
}
