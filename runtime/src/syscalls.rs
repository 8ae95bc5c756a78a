//! Thin wrappers around the syscalls that neither `nix` nor `libc` wrap safely:
//! the fd-based mount API (open_tree, move_mount, mount_setattr, fsopen/fsconfig/fsmount),
//! openat2, pivot_root, close_range, pidfd, capset, keyctl and a fork-like clone.
//!
//! Every unsafe block lives here, each with a SAFETY note. Callers get `io::Result`s and map them
//! to their own error variants, which name the step that failed.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// Turns a path into a C string; a NUL byte inside a path is an input error.
pub fn cstr(p: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    let fd = check(ret)?;
    // SAFETY: the kernel just returned this descriptor to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

// ---- openat2 -------------------------------------------------------------------------------

pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(2): resolves `path` relative to `dirfd` under the `resolve` restrictions.
pub fn openat2(
    dirfd: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    loop {
        // SAFETY: `c` and `how` outlive the call; the size passed matches the struct.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match owned(r) {
            // openat2 returns EAGAIN when a concurrent rename raced the lookup: retry.
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => continue,
            other => return other,
        }
    }
}

/// openat(2) with O_CLOEXEC always added.
pub fn openat(dirfd: BorrowedFd<'_>, path: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: `c` is a valid C string for the duration of the call.
    let r = unsafe {
        libc::openat(
            dirfd.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    };
    owned(r as libc::c_long)
}

/// open(2) of an absolute or cwd-relative path, O_CLOEXEC always added.
pub fn open(path: &Path, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: `c` is a valid C string for the duration of the call.
    let r = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) };
    owned(r as libc::c_long)
}

/// Whether this process, by its effective ids and capabilities, may write `path`
/// (faccessat2 with AT_EACCESS; false on any error).
pub fn may_write(path: &Path) -> bool {
    let Ok(c) = cstr(path) else {
        return false;
    };
    // SAFETY: `c` is a valid C string for the duration of the call.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
}

/// set_mempolicy(mode, nodemask, maxnode) for this thread; `mask` holds 64 nodes a word.
pub fn set_mempolicy(mode: i32, mask: &[u64]) -> io::Result<()> {
    // The kernel reads maxnode - 1 bits; pass every bit the mask holds.
    let maxnode = (mask.len() * 64 + 1) as libc::c_ulong;
    // SAFETY: `mask` is a valid buffer of mask.len() words, which covers maxnode - 1 bits.
    let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, mask.as_ptr(), maxnode) };
    check(r).map(|_| ())
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0 = this thread's process, value).
pub fn ioprio_set_self(value: i32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    check(r).map(|_| ())
}

/// sched_setattr(0 = this thread, attr, 0).
pub fn sched_setattr_self(attr: &crate::scheduling::SchedAttr) -> io::Result<()> {
    // SAFETY: `attr` is a #[repr(C)] struct sched_attr whose `size` field says how much of it
    // the kernel reads; it outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            0,
            attr as *const crate::scheduling::SchedAttr,
            0,
        )
    };
    check(r).map(|_| ())
}

/// sched_setaffinity(0 = this thread) to exactly `cpus` (each below CPU_SETSIZE, checked by
/// the caller's plan).
pub fn sched_setaffinity_self(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes within it for numbers below
    // CPU_SETSIZE; sched_setaffinity reads the set we own.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            if c < libc::CPU_SETSIZE as usize {
                libc::CPU_SET(c, &mut set);
            }
        }
        check(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
                as libc::c_long,
        )
        .map(|_| ())
    }
}

pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: fstat fills the buffer we own; it is zero-initialised so it is valid either way.
    let r = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    check(r as libc::c_long)?;
    // SAFETY: fstat succeeded and initialised the struct.
    Ok(unsafe { st.assume_init() })
}

pub fn fstatfs_magic(fd: BorrowedFd<'_>) -> io::Result<i64> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: fstatfs fills the buffer we own.
    let r = unsafe { libc::fstatfs(fd.as_raw_fd(), st.as_mut_ptr()) };
    check(r as libc::c_long)?;
    // SAFETY: fstatfs succeeded and initialised the struct.
    Ok(unsafe { st.assume_init() }.f_type)
}

pub fn mkdirat(dirfd: BorrowedFd<'_>, name: &Path, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid C string, plain syscall.
    let r = unsafe { libc::mkdirat(dirfd.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) };
    check(r as libc::c_long).map(|_| ())
}

pub fn mknodat(dirfd: BorrowedFd<'_>, name: &Path, mode: u32, dev: u64) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid C string, plain syscall.
    let r = unsafe {
        libc::mknodat(
            dirfd.as_raw_fd(),
            c.as_ptr(),
            mode as libc::mode_t,
            dev as libc::dev_t,
        )
    };
    check(r as libc::c_long).map(|_| ())
}

pub fn symlinkat(target: &Path, dirfd: BorrowedFd<'_>, name: &Path) -> io::Result<()> {
    let t = cstr(target)?;
    let c = cstr(name)?;
    // SAFETY: valid C strings, plain syscall.
    let r = unsafe { libc::symlinkat(t.as_ptr(), dirfd.as_raw_fd(), c.as_ptr()) };
    check(r as libc::c_long).map(|_| ())
}

/// fchownat(fd, "", AT_EMPTY_PATH): changes the owner of the file an fd refers to (O_PATH too).
pub fn fchown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: empty C string literal, plain syscall.
    let r = unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    check(r as libc::c_long).map(|_| ())
}

// ---- the fd-based mount API -------------------------------------------------------------

pub const OPEN_TREE_CLONE: u32 = 1;
pub const AT_RECURSIVE: u32 = 0x8000;
pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x04;
pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
pub const MOUNT_ATTR_RDONLY: u64 = 0x01;
pub const MOUNT_ATTR_NOSUID: u64 = 0x02;
pub const MOUNT_ATTR_NODEV: u64 = 0x04;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x08;
pub const MOUNT_ATTR_ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x00;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

const FSCONFIG_SET_FLAG: u32 = 0;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;

#[repr(C)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// open_tree(2): with OPEN_TREE_CLONE, a detached copy of the mount at `path` (relative to dirfd;
/// empty path = dirfd itself).
pub fn open_tree(dirfd: BorrowedFd<'_>, path: &Path, flags: u32) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    let mut f = flags | libc::O_CLOEXEC as u32;
    if path.as_os_str().is_empty() {
        f |= libc::AT_EMPTY_PATH as u32;
    }
    // SAFETY: valid C string; the kernel returns a new fd.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, dirfd.as_raw_fd(), c.as_ptr(), f) };
    owned(r)
}

/// move_mount(2) of the detached tree `from` onto the object `to` refers to (both by fd, so no
/// path is resolved again between checking the target and mounting on it).
pub fn move_mount_fd(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: empty C strings with *_EMPTY_PATH flags: the kernel uses the fds only.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check(r).map(|_| ())
}

/// mount_setattr(2) on the mount `fd` refers to (AT_EMPTY_PATH), optionally recursively.
pub fn mount_setattr(fd: BorrowedFd<'_>, recursive: bool, attr: &MountAttr) -> io::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: `attr` is a valid struct for the size we pass.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(r).map(|_| ())
}

pub fn fsopen(fstype: &str) -> io::Result<OwnedFd> {
    let c = CString::new(fstype)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "fs type contains NUL"))?;
    // SAFETY: valid C string; FSOPEN_CLOEXEC = 1.
    let r = unsafe { libc::syscall(libc::SYS_fsopen, c.as_ptr(), 1u32) };
    owned(r)
}

/// fsconfig(2): a key with a string value, or a bare flag when `value` is None.
pub fn fsconfig_set(fs: BorrowedFd<'_>, key: &str, value: Option<&str>) -> io::Result<()> {
    let k = CString::new(key)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "option contains NUL"))?;
    let v = value
        .map(CString::new)
        .transpose()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "option contains NUL"))?;
    let (cmd, vptr) = match &v {
        Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
        None => (FSCONFIG_SET_FLAG, std::ptr::null()),
    };
    // SAFETY: key/value C strings outlive the call.
    let r = unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, k.as_ptr(), vptr, 0) };
    check(r).map(|_| ())
}

/// Creates the superblock and returns a detached mount of it with the given MOUNT_ATTR_* flags.
pub fn fs_create_mount(fs: BorrowedFd<'_>, attrs: u64) -> io::Result<OwnedFd> {
    // SAFETY: plain syscalls on an fd we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    };
    check(r)?;
    // SAFETY: FSMOUNT_CLOEXEC = 1.
    let r = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), 1u32, attrs as u32) };
    owned(r)
}

/// Plain mount(2), used only on paths the runtime made itself or on "." after fchdir.
pub fn mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let s = src.map(cstr).transpose()?;
    let t = cstr(target)?;
    let f = fstype
        .map(CString::new)
        .transpose()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in fs type"))?;
    let d = data
        .map(CString::new)
        .transpose()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in mount data"))?;
    // SAFETY: every pointer is either null or a C string that outlives the call.
    let r = unsafe {
        libc::mount(
            s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            t.as_ptr(),
            f.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            d.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr() as *const libc::c_void),
        )
    };
    check(r as libc::c_long).map(|_| ())
}

pub fn umount_detach(target: &Path) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: valid C string.
    let r = unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
    check(r as libc::c_long).map(|_| ())
}

pub fn pivot_root_dot() -> io::Result<()> {
    // SAFETY: both arguments are the static string "."; the caller has fchdir'ed into the new root.
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) };
    check(r).map(|_| ())
}

// ---- processes ------------------------------------------------------------------------------

/// A fork-like clone(2): no new stack, the child continues from this call with a copy of the
/// address space. Returns 0 in the child and the child's pid in the parent.
///
/// Only sound in a single-threaded process (rampart is), because the child gets one thread.
pub fn clone_fork(flags: u64) -> io::Result<libc::pid_t> {
    // SAFETY: with a null stack the kernel duplicates the caller's stack like fork(2); the child
    // returns into this function. We pass no TID pointers, so there is nothing for them to clobber.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD as u64) as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    check(r).map(|p| p as libc::pid_t)
}

/// A child parked in a new user namespace of its own, for its /proc/PID/uid_map, gid_map and
/// ns/user: it does nothing but wait for SIGKILL (and gets it if the caller dies first). The
/// caller must kill and reap it by its pid.
pub fn park_in_new_user_namespace() -> io::Result<libc::pid_t> {
    let pid = clone_fork(libc::CLONE_NEWUSER as u64)?;
    if pid == 0 {
        // SAFETY: only async-signal-safe syscalls in the child of a possibly multi-threaded
        // parent; it never returns.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            loop {
                libc::pause();
            }
        }
    }
    Ok(pid)
}

/// SIGKILL and reap one of our own children, by its pid.
pub fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: plain syscalls on a child the caller started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        while libc::waitpid(pid, std::ptr::null_mut(), 0) < 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
}

/// The kernel's `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2, 88 bytes, Linux 5.7).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Like `clone_fork` (fork-like, SIGCHLD on exit, the child returns 0 here), but with clone3 and
/// CLONE_INTO_CGROUP: the child starts in the cgroup `cgroup` is a directory fd of, so it never
/// has to be migrated (a migration takes cgroup_threadgroup_rwsem for writing, which can wait a
/// whole RCU grace period). Kernels without clone3 or CLONE_INTO_CGROUP answer ENOSYS, E2BIG or
/// EINVAL; callers fall back to `clone_fork` and moving the pid.
pub fn clone_into_cgroup(flags: u64, cgroup: BorrowedFd<'_>) -> io::Result<libc::pid_t> {
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let args = CloneArgs {
        flags: flags | CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup.as_raw_fd() as u64,
    };
    // SAFETY: `args` is a valid clone_args of the size passed, alive for the call (the kernel
    // copies it in before the fork). With stack 0 and stack_size 0 the kernel duplicates the
    // caller's stack like fork(2) and the child returns into this function, as with clone_fork;
    // no pidfd/TID pointers or set_tid array are passed, so nothing is written to our memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    check(r).map(|p| p as libc::pid_t)
}

/// ioctl(NS_GET_PARENT): the parent of the pid (or user) namespace `ns` refers to; EPERM above
/// the caller's own namespace.
pub fn ns_get_parent(ns: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    const NS_GET_PARENT: libc::c_ulong = 0xb7 << 8 | 0x2;
    // SAFETY: NS_GET_PARENT takes no argument and returns a new fd.
    let r = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_PARENT) };
    owned(r as libc::c_long)
}

pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall returning a new fd.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    owned(r)
}

pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: no siginfo is passed (null), plain syscall.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    check(r).map(|_| ())
}

// ---- the runtime's own binary (see sealed_binary.rs) ------------------------------------------

/// memfd_create(2) with MFD_CLOEXEC and MFD_ALLOW_SEALING, asking for an executable memfd
/// (MFD_EXEC, Linux 6.3, needed where vm.memfd_noexec is set); a kernel that does not know the flag
/// answers EINVAL and gets the call again without it (its memfds are always executable).
pub fn memfd_create_exec(name: &CStr) -> io::Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: valid C string; the kernel returns a new fd.
    let r = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), base | MFD_EXEC) };
    match owned(r) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // SAFETY: as above.
            let r = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), base) };
            owned(r)
        }
        r => r,
    }
}

/// sendfile(2) of `len` bytes from the start of `from` to `to`, in as many calls as it takes.
pub fn sendfile_all(to: BorrowedFd<'_>, from: BorrowedFd<'_>, len: u64) -> io::Result<()> {
    let mut off: libc::off_t = 0;
    while (off as u64) < len {
        let left = (len - off as u64).min(1 << 30) as usize;
        // SAFETY: both fds are open; `off` is a valid pointer the kernel advances.
        let n = unsafe { libc::sendfile(to.as_raw_fd(), from.as_raw_fd(), &mut off, left) };
        match n {
            n if n > 0 => {}
            0 => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// fcntl(F_ADD_SEALS).
pub fn add_seals(fd: BorrowedFd<'_>, seals: i32) -> io::Result<()> {
    // SAFETY: F_ADD_SEALS takes an integer argument.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    check(r as libc::c_long).map(|_| ())
}

/// fcntl(F_GET_SEALS): the seals of a memfd; EINVAL for a file that cannot be sealed.
pub fn get_seals(fd: BorrowedFd<'_>) -> io::Result<i32> {
    // SAFETY: F_GET_SEALS takes no argument.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    check(r as libc::c_long).map(|s| s as i32)
}

/// fstatvfs(3): whether the mount `fd` lives on is read-only.
pub fn on_read_only_mount(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: zeroed statvfs is a valid out-buffer.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer for the call.
    let r = unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) };
    check(r as libc::c_long)?;
    Ok(st.f_flag & libc::ST_RDONLY != 0)
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file `fd` refers to (an O_PATH fd from
/// open_tree works too). Only returns on failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of C strings that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            a.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

/// Marks every descriptor from `first` up close-on-exec (close_range with CLOSE_RANGE_CLOEXEC),
/// so nothing the runtime holds leaks into the workload.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    // SAFETY: close_range only changes flags of our own descriptors.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    match check(r) {
        Ok(_) => Ok(()),
        // A seccomp profile older than close_range (Linux 5.9) denies it with EPERM, or a
        // kernel without it says ENOSYS: mark them one by one instead, as runc does.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EPERM | libc::ENOSYS | libc::EINVAL)
            ) =>
        {
            cloexec_each_from(first)
        }
        Err(e) => Err(e),
    }
}

/// `cloexec_from` with fcntl only: every descriptor /proc/self/fd lists, and every number up to
/// the open-file limit as well, so a descriptor hidden from that listing (a /proc the container
/// mounted over) is marked all the same. fcntl of a number that is not open fails with EBADF,
/// which is ignored.
fn cloexec_each_from(first: u32) -> io::Result<()> {
    let mark = |fd: i32| {
        // SAFETY: F_SETFD on a number in our own table; at worst EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    };
    if let Ok(rd) = std::fs::read_dir("/proc/self/fd") {
        let listed: Vec<i32> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        for fd in listed.into_iter().filter(|fd| *fd >= first as i32) {
            mark(fd);
        }
    }
    // Descriptors at or above the hard limit cannot exist (dup and open refuse them); the soft
    // one can have been lowered after they were opened.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let end = lim.rlim_max.min(1 << 20) as i32;
    for fd in first as i32..end {
        mark(fd);
    }
    Ok(())
}

/// The soft RLIMIT_NOFILE: no descriptor at or above it can be open in this process.
pub fn open_file_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct, which we own.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    check(r as libc::c_long).map(|_| lim.rlim_cur)
}

pub fn prctl(option: i32, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the options we use take integer arguments only.
    let r = unsafe { libc::prctl(option, arg, 0 as libc::c_ulong, 0 as libc::c_ulong, 0) };
    check(r as libc::c_long).map(|_| ())
}

/// capset(2) of the three per-thread sets at once (version 3, 64 capability bits).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let hdr = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let lo = |v: u64| v as u32;
    let hi = |v: u64| (v >> 32) as u32;
    let data = [
        Data {
            effective: lo(effective),
            permitted: lo(permitted),
            inheritable: lo(inheritable),
        },
        Data {
            effective: hi(effective),
            permitted: hi(permitted),
            inheritable: hi(inheritable),
        },
    ];
    // SAFETY: header and two data words, as _LINUX_CAPABILITY_VERSION_3 requires.
    let r = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const Header, data.as_ptr()) };
    check(r).map(|_| ())
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): gives the container its own session keyring so it
/// cannot read the keys of the runtime's session.
pub fn join_session_keyring(name: &CStr) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: valid C string, plain syscall.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    check(r).map(|_| ())
}

pub fn setns(fd: BorrowedFd<'_>, nstype: i32) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor we hold.
    let r = unsafe { libc::setns(fd.as_raw_fd(), nstype) };
    check(r as libc::c_long).map(|_| ())
}

pub fn unshare(flags: i32) -> io::Result<()> {
    // SAFETY: plain syscall.
    let r = unsafe { libc::unshare(flags) };
    check(r as libc::c_long).map(|_| ())
}

/// A connected pair of close-on-exec SOCK_SEQPACKET sockets: the runtime's channel to a child
/// it clones (init or exec'd process); one message per send, with descriptors when needed.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair returns.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sends one message carrying `fd` (SCM_RIGHTS); MSG_NOSIGNAL, so a vanished peer is an error,
/// not SIGPIPE.
pub fn send_with_fd(sock: BorrowedFd<'_>, data: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let fds = [fd.as_raw_fd()];
    let iov = [io::IoSlice::new(data)];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receives one message into `buf`, with the first descriptor it carries (close-on-exec in our
/// table; any extra one is closed). A truncated control message is an error.
pub fn recv_with_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut cmsg_buf = nix::cmsg_space!([RawFd; 1]);
    loop {
        let mut iov = [io::IoSliceMut::new(buf)];
        let msg = match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_buf),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut fd = None;
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                for raw in fds {
                    // SAFETY: SCM_RIGHTS just installed `raw` in our table; nothing else owns it.
                    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                    fd.get_or_insert(owned);
                }
            }
        }
        if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
            return Err(io::Error::other("control message truncated"));
        }
        return Ok((msg.bytes, fd));
    }
}

/// Reports a failure to the runtime over the child's channel: `E` and the message (bounded).
pub fn send_error(sock: BorrowedFd<'_>, msg: &str) {
    let mut m = vec![b'E'];
    m.extend_from_slice(msg.as_bytes());
    m.truncate(8000);
    let _ = write_all_fd(sock, &m);
}

pub fn write_all_fd(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice.
        let r = unsafe {
            libc::write(
                fd.as_raw_fd(),
                buf.as_ptr() as *const libc::c_void,
                buf.len(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[r as usize..];
    }
    Ok(())
}

pub fn read_fd(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is a valid writable slice of the given length.
        let r = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(r as usize);
    }
}

/// renameat2(RENAME_NOREPLACE): moves `from` to `to` only if nothing is at `to` (EEXIST
/// otherwise), in one step; rename(2) would replace an empty directory there.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    // SAFETY: both are valid C strings for the duration of the call; integer flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    check(r).map(|_| ())
}

/// Drops the flock this open file holds on `fd`.
pub fn flock_unlock(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor we hold.
    let r = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_UN) };
    check(r as libc::c_long).map(|_| ())
}

/// Takes the exclusive flock of `fd` if it is free. Ok(false): another open file holds it.
pub fn try_flock_exclusive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: flock on a descriptor the caller owns; LOCK_NB never sleeps.
    if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => Ok(false),
        _ => Err(e),
    }
}

fn sigset_of(signals: &[i32]) -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: sigemptyset initialises the set we own; sigaddset only sets bits in it (an
    // invalid number is refused with EINVAL and leaves it unchanged).
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for &s in signals {
            libc::sigaddset(set.as_mut_ptr(), s);
        }
        set.assume_init()
    }
}

/// The calling thread's signal mask as it was before [`block_signals`]; restored on drop.
pub struct SignalMask {
    old: libc::sigset_t,
}

impl Drop for SignalMask {
    fn drop(&mut self) {
        // SAFETY: `old` was filled in by pthread_sigmask in block_signals.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}

/// Adds `signals` to the calling thread's mask, so they wait to be taken by [`take_signal`]
/// instead of running their default action.
pub fn block_signals(signals: &[i32]) -> io::Result<SignalMask> {
    let set = sigset_of(signals);
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: `set` is initialised; pthread_sigmask fills `old`.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, old.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(SignalMask {
        // SAFETY: filled in by the successful pthread_sigmask above.
        old: unsafe { old.assume_init() },
    })
}

/// Takes one pending signal of `signals` (which must be blocked), waiting at most `timeout`;
/// None when none came. Other pending signals stay pending.
pub fn take_signal(signals: &[i32], timeout: std::time::Duration) -> Option<i32> {
    let set = sigset_of(signals);
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: `set` and `ts` are initialised; info is ours to fill.
    let r = unsafe { libc::sigtimedwait(&set, info.as_mut_ptr(), &ts) };
    (r > 0).then_some(r)
}

/// Waits up to `timeout` for `fd` to be readable (or at its end, or in error): Ok(true) then.
pub fn poll_readable(fd: BorrowedFd<'_>, timeout: std::time::Duration) -> io::Result<bool> {
    poll_one(fd, libc::POLLIN, timeout)
}

/// Waits up to `timeout` for `fd` to take a write (or be in error, e.g. its reader gone).
pub fn poll_writable(fd: BorrowedFd<'_>, timeout: std::time::Duration) -> io::Result<bool> {
    poll_one(fd, libc::POLLOUT, timeout)
}

/// poll(2) of one descriptor; an interrupted wait counts as nothing ready.
fn poll_one(fd: BorrowedFd<'_>, events: i16, timeout: std::time::Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(e);
    }
    Ok(r > 0)
}

/// Sets O_NONBLOCK on the open file `fd` refers to.
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on our own descriptor.
    let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    check(fl as libc::c_long)?;
    // SAFETY: as above.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK) };
    check(r as libc::c_long).map(|_| ())
}

/// The name of a signal for messages: "SIGTERM", or the number when it has no common name.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGQUIT => "SIGQUIT".into(),
        n => format!("signal {n}"),
    }
}

/// Resets every catchable signal to its default action and empties the signal mask. Ignored
/// signals survive execve, and Rust ignores SIGPIPE at start-up: the workload must not inherit that.
pub fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: setting SIG_DFL is always sound; invalid numbers just return EINVAL.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: sigemptyset initialises the set we own; sigprocmask reads it.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, set.as_ptr(), std::ptr::null_mut());
    }
}

/// Exits the process now, without running destructors or atexit handlers (a forked child must
/// not flush the parent's buffers twice).
/// close(2) of a descriptor a forked child inherited and must not keep, although the value that
/// owns it (in the parent's copy of the memory) is never dropped in the child.
pub fn close_inherited(fd: RawFd) {
    // SAFETY: closes our own fd-table entry; nothing in this process uses it afterwards (the
    // owner lives in a stack frame the child never returns to).
    unsafe { libc::close(fd) };
}

/// Dies of SIGKILL now, like a runtime killed from outside: no unwinding, no destructors, no
/// atexit handlers.
#[cfg(feature = "crash-points")]
pub fn sigkill_self() -> ! {
    // SAFETY: raise and _exit are plain syscalls; SIGKILL cannot be caught, blocked or ignored,
    // so raise does not return; _exit is only there for the type.
    unsafe {
        libc::raise(libc::SIGKILL);
        libc::_exit(137)
    }
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// The unified hierarchy of this host (pure v2, or the `unified` mount of a hybrid one).
    fn v2_root() -> Option<&'static str> {
        ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
            .into_iter()
            .find(|r| Path::new(r).join("cgroup.controllers").exists())
    }

    #[test]
    fn clone_into_cgroup_starts_the_child_in_that_cgroup() {
        let Some(root) = v2_root() else {
            eprintln!("no cgroup v2 hierarchy on this host; skipped");
            return;
        };
        let name = format!("rampart-clone3-test-{}", std::process::id());
        let dir = Path::new(root).join(&name);
        if let Err(e) = std::fs::create_dir(&dir) {
            eprintln!("cannot make {}: {e}; skipped (not root?)", dir.display());
            return;
        }
        let fd = open(&dir, libc::O_RDONLY | libc::O_DIRECTORY, 0).expect("open cgroup dir");
        let pid = clone_into_cgroup(0, fd.as_fd());
        if let Ok(0) = pid {
            // SAFETY: the child of a fork in a threaded process only exits.
            unsafe { libc::_exit(0) };
        }
        let pid = match pid {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                panic!("clone3(CLONE_INTO_CGROUP): {e}");
            }
        };
        // Read before reaping: a zombie still shows its cgroup.
        let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let mut status = 0;
        // SAFETY: `pid` is our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let _ = std::fs::remove_dir(&dir);
        let v2_line = cg.lines().find_map(|l| l.strip_prefix("0::"));
        assert_eq!(v2_line, Some(format!("/{name}").as_str()), "{cg}");
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}

// ---- rtnetlink -----------------------------------------------------------------------------

/// A NETLINK_ROUTE socket in the calling thread's network namespace (a socket stays in the
/// namespace it was made in, whatever the thread does later).
pub fn netlink_route_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the descriptor is owned by the caller.
    let r = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    owned(r as libc::c_long)
}

/// Sends one datagram; on an unconnected netlink socket it goes to the kernel.
pub fn send(sock: BorrowedFd<'_>, data: &[u8]) -> io::Result<()> {
    // SAFETY: pointer and length describe `data`.
    let r = unsafe {
        libc::send(
            sock.as_raw_fd(),
            data.as_ptr() as *const libc::c_void,
            data.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    check(r as libc::c_long).map(|_| ())
}

/// Receives one datagram into `buf`; returns its length.
pub fn recv(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: pointer and length describe `buf`, which we own mutably.
        let r = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        match check(r as libc::c_long) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(|n| n as usize),
        }
    }
}

// ---- audit events and host probes -----------------------------------------------------------

/// One write(2), however much of `buf` it takes: audit lines must go out in a single write so
/// that O_APPEND keeps them whole (a second write could land after another process's line).
pub fn write_once(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is a valid readable slice of the given length.
    let r = unsafe {
        libc::write(
            fd.as_raw_fd(),
            buf.as_ptr() as *const libc::c_void,
            buf.len(),
        )
    };
    check(r as libc::c_long).map(|n| n as usize)
}

/// The Landlock ABI version of the running kernel: landlock_create_ruleset(NULL, 0,
/// LANDLOCK_CREATE_RULESET_VERSION). ENOSYS (not built) or EOPNOTSUPP (not enabled at boot)
/// when there is none.
pub fn landlock_abi() -> io::Result<i64> {
    // SAFETY: with the VERSION flag the kernel reads no attribute and returns a number, no fd.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    check(r)
}

/// Whether clone3(2) exists: called with a NULL argument of size 0, a kernel that has it refuses
/// the size (EINVAL) before doing anything; one without it answers ENOSYS. Nothing is cloned.
pub fn clone3_exists() -> io::Result<bool> {
    // SAFETY: size 0 is below CLONE_ARGS_SIZE_VER0, so the kernel reads nothing and clones
    // nothing.
    let r = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<libc::c_void>(), 0usize) };
    match check(r) {
        Ok(_) => Err(io::Error::other("clone3 with no arguments succeeded")),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether seccomp(SECCOMP_SET_MODE_FILTER) takes `flags`: with a NULL program, known flags get
/// as far as copying the program (EFAULT), unknown ones are refused first (EINVAL). No filter is
/// ever installed.
pub fn seccomp_filter_flags_supported(flags: u32) -> io::Result<bool> {
    const SECCOMP_SET_MODE_FILTER: u32 = 1;
    // SAFETY: a NULL program pointer: the kernel fails to copy it and installs nothing.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            std::ptr::null::<libc::c_void>(),
        )
    };
    match check(r) {
        Ok(_) => Err(io::Error::other("seccomp with a NULL program succeeded")),
        Err(e) if e.raw_os_error() == Some(libc::EFAULT) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(false),
        Err(e) => Err(e),
    }
}
