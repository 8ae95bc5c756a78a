//! Loading a compiled filter with seccomp(2).
//!
//! Call [`install`] as the last confinement step before exec: every syscall after it runs through
//! the filter. It does not set no_new_privs: the caller does that first when the config asks for
//! it; without it the caller must still hold CAP_SYS_ADMIN here (the kernel returns EACCES
//! otherwise).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::error::SeccompError;
use super::Compiled;

/// SECCOMP_SET_MODE_FILTER (linux/seccomp.h); libc does not export it.
const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;

/// Loads the filter into the calling thread (all threads with TSYNC). Returns the notification
/// listener fd when the filter has SCMP_ACT_NOTIFY rules; hand it to the agent with
/// [`super::send_listener`].
///
/// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19) is dropped when the kernel does not know
/// it: it only changes how a notified task reacts to signals, so the filter is still exact.
/// Every other flag is passed as the config asked, and an unknown one fails the call.
pub fn install(c: &Compiled) -> Result<Option<OwnedFd>, SeccompError> {
    let mut flags = c.flags;
    let wkr = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;
    if flags & wkr != 0 && !flag_supported(wkr) {
        flags &= !wkr;
    }
    let ret = set_mode_filter(flags, c.program.instructions())
        .map_err(|source| SeccompError::SetModeFilter { flags, source })?;

    let listener = flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32 != 0;
    let tsync = flags & libc::SECCOMP_FILTER_FLAG_TSYNC as u32 != 0;
    if listener {
        // SAFETY: with NEW_LISTENER a successful seccomp(2) returns a new fd that we now own.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }));
    }
    if tsync && ret != 0 {
        // Without TSYNC_ESRCH the kernel returns the id of the thread that could not sync; the
        // filter was not loaded.
        return Err(SeccompError::TsyncThread(ret));
    }
    Ok(None)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog).
fn set_mode_filter(flags: u32, prog: &[libc::sock_filter]) -> io::Result<libc::c_long> {
    let fprog = libc::sock_fprog {
        // Compile refuses programs over 4096 instructions; a longer one would be cut here and the
        // kernel would reject the truncated jump targets, so it cannot load a wrong filter.
        len: prog.len().min(u16::MAX as usize) as u16,
        // The kernel only reads through this pointer.
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: fprog points at `prog`, which outlives the call; the kernel copies the program and
    // keeps no pointer into our memory. No other memory is touched.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Whether the kernel knows a filter flag: it checks flags before reading the program, so a NULL
/// program yields EFAULT for known flags and EINVAL for unknown ones (libseccomp probes the same
/// way). Nothing is loaded either way.
fn flag_supported(flag: u32) -> bool {
    // SAFETY: a NULL program pointer is never dereferenced by us; the kernel fails with EFAULT
    // (or EINVAL) before installing anything.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flag as libc::c_ulong,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}
