//! The workload's identity: supplementary groups, gid, uid and umask (`process.user`).
//! Called in the init after the bounding set is dropped and with PR_SET_KEEPCAPS on, so the
//! capability sets survive the switch away from uid 0.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("setgroups({groups:?}): {err}")]
    Setgroups { groups: Vec<u32>, err: io::Error },
    #[error("process.user.additionalGids {groups:?} cannot be set: setgroups is denied in this user namespace (an unprivileged caller mapped only its own gid); map the groups through newgidmap and /etc/subgid")]
    SetgroupsDenied { groups: Vec<u32> },
    #[error("process.user {what} {id} is not mapped in the container's user namespace: add it to linux.{field}")]
    Unmapped {
        what: &'static str,
        id: u32,
        field: &'static str,
    },
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

/// Set by [`learn_setgroups_policy`]: setgroups(2) is denied in our user namespace.
static SETGROUPS_DENIED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Reads /proc/self/setgroups ("deny" after an unprivileged runtime wrote the gid_map itself).
/// Called by the init and by exec's joiner once they are in the container's user namespace and
/// before they enter its mount namespace, so the /proc read is still the host's and not one the
/// container could have mounted over.
pub fn learn_setgroups_policy() {
    let denied = std::fs::read_to_string("/proc/self/setgroups")
        .map(|t| t.trim() == "deny")
        .unwrap_or(false);
    SETGROUPS_DENIED.store(denied, std::sync::atomic::Ordering::Relaxed);
}

/// Switches to the user. Where setgroups is denied (see [`learn_setgroups_policy`]) the groups
/// stay as they were: the caller's own, which the namespace cannot drop (that is why the kernel
/// denies setgroups there); asking for additional groups then is an error.
pub fn switch(u: &User) -> Result<(), IdentityError> {
    if SETGROUPS_DENIED.load(std::sync::atomic::Ordering::Relaxed) {
        if !u.additional_gids.is_empty() {
            return Err(IdentityError::SetgroupsDenied {
                groups: u.additional_gids.clone(),
            });
        }
    } else {
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
        let err = io::Error::last_os_error();
        // EINVAL: the id has no mapping in our user namespace.
        if err.raw_os_error() == Some(libc::EINVAL) {
            return Err(IdentityError::Unmapped {
                what: "gid",
                id: u.gid,
                field: "gidMappings",
            });
        }
        return Err(IdentityError::Setgid { gid: u.gid, err });
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(u.uid, u.uid, u.uid) } != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EINVAL) {
            return Err(IdentityError::Unmapped {
                what: "uid",
                id: u.uid,
                field: "uidMappings",
            });
        }
        return Err(IdentityError::Setuid { uid: u.uid, err });
    }
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(u.umask as libc::mode_t) };
    Ok(())
}
