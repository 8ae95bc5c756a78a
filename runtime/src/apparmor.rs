//! AppArmor: `process.apparmorProfile` (and `exec --apparmor`), applied as an on-exec transition
//! so the profile confines the workload from its first instruction and nothing of the runtime.
//!
//! Order of calls: `plan` at create time (asking for a profile where AppArmor is not enabled is
//! an error then, as in runc); `ProcHandle::open` in the init while it still has its privileges
//! (after the rootfs is finished); `apply` right before execve, after the hooks (a hook forked
//! after the write would inherit the transition).
//!
//! The write goes through rampart's own procfs handle, never through the container's /proc
//! path (CVE-2025-52881: a racing or shared mount could redirect an LSM attribute write to
//! another file, which would silently leave the workload unconfined). The handle is a fresh
//! procfs instance (fsopen/fsmount), or where the kernel refuses a new proc mount (a user
//! namespace with masked /proc paths) a non-recursive clone of the container's /proc mount taken
//! before any container process exists; either way it is checked to be the root of a procfs.
//! The attribute is then opened with openat2 beneath that handle with RESOLVE_NO_XDEV,
//! RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS, and its filesystem magic checked again.

use crate::syscalls;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const ENABLED_PARAM: &str = "/sys/module/apparmor/parameters/enabled";
const PROFILES: &str = "/sys/kernel/security/apparmor/profiles";
const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// The inode number of the root directory of every procfs instance.
const PROC_ROOT_INO: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum AppArmorError {
    #[error(
        "process.apparmorProfile {profile:?} is set but AppArmor is not enabled on this host \
         ({ENABLED_PARAM} is not Y)"
    )]
    NotEnabled { profile: String },
    #[error("process.apparmorProfile {profile:?}: no such profile is loaded (see {PROFILES})")]
    NotLoaded { profile: String },
    #[error("process.apparmorProfile {profile:?}: a profile name cannot contain NUL or newline")]
    BadName { profile: String },
    #[error(
        "apparmor: opening a private procfs: fsopen/fsmount: {fresh}; open_tree(/proc): {clone}"
    )]
    OpenProc { fresh: io::Error, clone: io::Error },
    #[error("apparmor: the procfs handle is not the root of a procfs ({what})")]
    NotProcfs { what: String },
    #[error("apparmor: opening {path} beneath rampart's procfs handle: {err}")]
    OpenAttr { path: PathBuf, err: io::Error },
    #[error("apparmor: {path} is not on procfs (magic {magic:#x})")]
    AttrNotProcfs { path: PathBuf, magic: i64 },
    #[error("apparmor: writing \"exec {profile}\" to {path}: {err}")]
    Write {
        profile: String,
        path: PathBuf,
        err: io::Error,
    },
}

/// Whether the kernel has AppArmor enabled (what runc checks, too).
pub fn enabled() -> bool {
    std::fs::read_to_string(ENABLED_PARAM)
        .map(|s| s.starts_with('Y'))
        .unwrap_or(false)
}

/// Validates the requested profile at create time. An empty name asks for nothing.
pub fn plan(profile: Option<&str>) -> Result<Option<String>, AppArmorError> {
    let Some(p) = profile.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if p.contains('\0') || p.contains('\n') {
        return Err(AppArmorError::BadName {
            profile: p.to_string(),
        });
    }
    if !enabled() {
        return Err(AppArmorError::NotEnabled {
            profile: p.to_string(),
        });
    }
    if let Some(false) = is_loaded(p) {
        return Err(AppArmorError::NotLoaded {
            profile: p.to_string(),
        });
    }
    Ok(Some(p.to_string()))
}

/// Whether `profile` is among the loaded profiles, so a typo fails `create` rather than the
/// container's start. None when that cannot be told: the list is unreadable, or the name is a
/// stack ("a//&b") or lives in another policy namespace (":ns:name"), which the list omits.
/// "unconfined" is always there.
fn is_loaded(profile: &str) -> Option<bool> {
    if profile == "unconfined" {
        return Some(true);
    }
    if profile.starts_with(':') || profile.contains("//&") {
        return None;
    }
    let list = std::fs::read_to_string(PROFILES).ok()?;
    // Lines are "<name> (<mode>)"; names may contain spaces, the mode never does.
    Some(
        list.lines()
            .any(|l| l.rsplit_once(" (").map(|(name, _)| name) == Some(profile)),
    )
}

/// A procfs root the runtime made (or cloned) and verified itself.
pub struct ProcHandle(OwnedFd);

impl ProcHandle {
    /// Needs CAP_SYS_ADMIN over the mount namespace: call it before capabilities are dropped.
    pub fn open() -> Result<ProcHandle, AppArmorError> {
        let fd = match fresh_procfs() {
            Ok(fd) => fd,
            Err(fresh) => {
                crate::logging::debug(&format!(
                    "apparmor: no fresh procfs ({fresh}): cloning the container's /proc mount"
                ));
                clone_container_proc().map_err(|clone| AppArmorError::OpenProc { fresh, clone })?
            }
        };
        Self::verify(fd)
    }

    /// Accepts `fd` only if it is the root directory of a procfs.
    fn verify(fd: OwnedFd) -> Result<ProcHandle, AppArmorError> {
        let magic = syscalls::fstatfs_magic(fd.as_fd()).map_err(|e| AppArmorError::NotProcfs {
            what: format!("fstatfs: {e}"),
        })?;
        if magic != PROC_SUPER_MAGIC {
            return Err(AppArmorError::NotProcfs {
                what: format!("magic {magic:#x}"),
            });
        }
        let st = syscalls::fstat(fd.as_fd()).map_err(|e| AppArmorError::NotProcfs {
            what: format!("fstat: {e}"),
        })?;
        if st.st_ino != PROC_ROOT_INO {
            return Err(AppArmorError::NotProcfs {
                what: format!("inode {}", st.st_ino),
            });
        }
        Ok(ProcHandle(fd))
    }
}

fn fresh_procfs() -> io::Result<OwnedFd> {
    let fs = syscalls::fsopen("proc")?;
    syscalls::fs_create_mount(
        fs.as_fd(),
        syscalls::MOUNT_ATTR_NOSUID | syscalls::MOUNT_ATTR_NODEV | syscalls::MOUNT_ATTR_NOEXEC,
    )
}

/// A detached, non-recursive copy of the container's /proc mount (without the masked-path
/// mounts on top of it). For the init no container process exists yet to tamper with /proc; for
/// exec, whatever is mounted there must still pass `verify` (the root of a procfs), and the
/// kernel only lets a task write its own attr files, so another procfs instance (say a nested
/// pid namespace's, where our ids name other tasks) cannot turn the write onto someone else.
fn clone_container_proc() -> io::Result<OwnedFd> {
    let root = syscalls::open(Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)?;
    syscalls::open_tree(
        root.as_fd(),
        Path::new("proc"),
        syscalls::OPEN_TREE_CLONE | libc::AT_SYMLINK_NOFOLLOW as u32,
    )
}

/// Asks the kernel to switch to `profile` at the next execve of the calling thread.
pub fn apply(proc: &ProcHandle, profile: &str) -> Result<(), AppArmorError> {
    let (fd, path) = open_exec_attr(proc)?;
    syscalls::write_all_fd(fd.as_fd(), format!("exec {profile}").as_bytes()).map_err(|err| {
        AppArmorError::Write {
            profile: profile.to_string(),
            path,
            err,
        }
    })
}

/// Opens the calling thread's on-exec attribute for writing, beneath the handle only.
fn open_exec_attr(proc: &ProcHandle) -> Result<(OwnedFd, PathBuf), AppArmorError> {
    // "thread-self" is a symlink, which RESOLVE_NO_SYMLINKS refuses: spell out what it points
    // to. The ids are in the pid namespace the handle belongs to (ours).
    let pid = std::process::id();
    let tid = nix::unistd::gettid().as_raw();
    let base = PathBuf::from(format!("{pid}/task/{tid}/attr"));
    let resolve = syscalls::RESOLVE_BENEATH
        | syscalls::RESOLVE_NO_XDEV
        | syscalls::RESOLVE_NO_SYMLINKS
        | syscalls::RESOLVE_NO_MAGICLINKS;
    let open = |rel: &Path| syscalls::openat2(proc.0.as_fd(), rel, libc::O_WRONLY, 0, resolve);
    // The LSM-specific file first (kernels with stacking); the shared one on older kernels.
    let mut path = base.join("apparmor/exec");
    let fd = match open(&path) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            path = base.join("exec");
            open(&path).map_err(|err| AppArmorError::OpenAttr {
                path: path.clone(),
                err,
            })?
        }
        Err(err) => return Err(AppArmorError::OpenAttr { path, err }),
    };
    let magic = syscalls::fstatfs_magic(fd.as_fd()).map_err(|err| AppArmorError::OpenAttr {
        path: path.clone(),
        err,
    })?;
    if magic != PROC_SUPER_MAGIC {
        return Err(AppArmorError::AttrNotProcfs { path, magic });
    }
    Ok((fd, path))
}

/// The handle `prepare` opened, waiting for `apply_prepared`. A process-wide slot because the
/// two calls sit in different steps of the init (and of exec's child), which are
/// single-threaded and exec right after; nothing else reads it.
static PENDING: Mutex<Option<ProcHandle>> = Mutex::new(None);

/// Opens and keeps the procfs handle while the process is still privileged (nothing to do
/// without a profile).
pub fn prepare(profile: Option<&str>) -> Result<(), AppArmorError> {
    if profile.is_none() {
        return Ok(());
    }
    let handle = ProcHandle::open()?;
    if let Ok(mut slot) = PENDING.lock() {
        *slot = Some(handle);
    }
    Ok(())
}

/// Writes the on-exec transition through the handle `prepare` kept (or one opened now).
pub fn apply_prepared(profile: Option<&str>) -> Result<(), AppArmorError> {
    let Some(profile) = profile else {
        return Ok(());
    };
    let pending = PENDING.lock().ok().and_then(|mut slot| slot.take());
    let handle = match pending {
        Some(h) => h,
        None => ProcHandle::open()?,
    };
    apply(&handle, profile)
}

/// What `features` reports.
pub fn features() -> serde_json::Value {
    serde_json::json!({ "enabled": enabled() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_profile_asks_for_nothing() {
        assert!(plan(None).unwrap().is_none());
        assert!(plan(Some("")).unwrap().is_none());
    }

    /// Both kinds of handle (run as root, like the init): each is a verified procfs root, and the
    /// thread's attribute opens beneath it under the resolve restrictions. The handles are
    /// detached mounts, gone when the descriptors close.
    #[test]
    fn handles_reach_the_exec_attribute() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "needs root, like the init (HOST.md)"
        );
        let fresh = ProcHandle::open().expect("fresh procfs handle");
        let (_, path) = open_exec_attr(&fresh).expect("attr through the fresh handle");
        assert!(path.to_string_lossy().contains("/task/"), "{path:?}");
        let cloned = ProcHandle::verify(clone_container_proc().expect("clone of /proc"))
            .expect("the clone is a procfs root");
        open_exec_attr(&cloned).expect("attr through the cloned handle");
    }

    #[test]
    fn only_a_procfs_root_makes_a_handle() {
        let root = syscalls::open(Path::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0).unwrap();
        assert!(matches!(
            ProcHandle::verify(root),
            Err(AppArmorError::NotProcfs { .. })
        ));
        // A directory inside procfs is not its root either.
        let sub = syscalls::open(Path::new("/proc/self"), libc::O_PATH | libc::O_DIRECTORY, 0);
        assert!(matches!(
            ProcHandle::verify(sub.unwrap()),
            Err(AppArmorError::NotProcfs { .. })
        ));
    }

    #[test]
    fn newline_in_profile_is_refused() {
        assert!(matches!(
            plan(Some("a\nb")),
            Err(AppArmorError::BadName { .. })
        ));
    }
}
