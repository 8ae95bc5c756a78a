//! The workload's identity: supplementary groups, gid, uid and umask (`process.user`).
//! Called in the init after the bounding set is dropped and with PR_SET_KEEPCAPS on, so the
//! capability sets survive the switch away from uid 0.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("setgroups({groups:?}): {err}")]
    Setgroups { groups: Vec<u32>, err: io::Error },
    #[error("setresgid({gid}): {err}")]
    Setgid { gid: u32, err: io::Error },
    #[error("setresuid({uid}): {err}")]
    Setuid { uid: u32, err: io::Error },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: u32,
}

impl User {
    pub fn from_oci(u: &oci_spec::runtime::User) -> Self {
        User {
            uid: u.uid(),
            gid: u.gid(),
            additional_gids: u.additional_gids().clone().unwrap_or_default(),
            umask: u.umask().unwrap_or(0o022),
        }
    }
}

/// Switches to the user. `allow_setgroups` is false when setgroups is denied in the user
/// namespace (rootless), where the groups simply stay as they are.
pub fn switch(u: &User, allow_setgroups: bool) -> Result<(), IdentityError> {
    if allow_setgroups {
        let gids: Vec<libc::gid_t> = u.additional_gids.clone();
        // SAFETY: the pointer and length describe the vector we own.
        let r = unsafe { libc::setgroups(gids.len(), gids.as_ptr()) };
        if r != 0 {
            return Err(IdentityError::Setgroups {
                groups: gids,
                err: io::Error::last_os_error(),
            });
        }
    }
    // SAFETY: plain syscalls with integer arguments.
    if unsafe { libc::setresgid(u.gid, u.gid, u.gid) } != 0 {
        return Err(IdentityError::Setgid {
            gid: u.gid,
            err: io::Error::last_os_error(),
        });
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(u.uid, u.uid, u.uid) } != 0 {
        return Err(IdentityError::Setuid {
            uid: u.uid,
            err: io::Error::last_os_error(),
        });
    }
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(u.umask as libc::mode_t) };
    Ok(())
}
