//! The container's terminal (`process.terminal: true`).
//!
//! The runtime connects to the caller's `--console-socket` before the process exists (the path is
//! on the host and unreachable once the process is in the container's root) and hands the
//! connected socket down. Inside the container, after the root is entered, [`setup`]:
//!  1. opens `/dev/pts/ptmx` of the container's own devpts and checks it is one;
//!  2. gets the peer with TIOCGPTPEER instead of opening `/dev/pts/N` by name, and checks it is on
//!     devpts with major 136, so a symlink planted at /dev/pts/N cannot redirect it
//!     (CVE-2025-52565);
//!  3. for the init only: bind-mounts that peer onto /dev/console from the fd (never by path);
//!  4. sends the master over the socket with SCM_RIGHTS, the pty name as message data (as runc);
//!  5. makes the peer the controlling terminal and stdin/stdout/stderr of a new session.
//!
//! [`receive_master`] is the other end of step 4, for a foreground `run`/`exec` without a console
//! socket: the runtime keeps the master and proxies it to its own stdio ([`proxy`]).

use crate::syscalls;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// DEVPTS_SUPER_MAGIC from linux/magic.h.
const DEVPTS_MAGIC: i64 = 0x1cd1;
/// UNIX98_PTY_SLAVE_MAJOR: every devpts peer has this major.
const PTS_MAJOR: u32 = 136;
/// The ptmx node inside a devpts instance is 5:2.
const PTMX_MAJOR: u32 = 5;
const PTMX_MINOR: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("connecting to the console socket {path}: {err}")]
    Connect { path: PathBuf, err: io::Error },
    #[error("opening /dev/pts/ptmx in the container: {0}")]
    OpenPtmx(io::Error),
    #[error("/dev/pts/ptmx in the container is not the ptmx of a devpts (magic {magic:#x}, rdev {major}:{minor})")]
    NotPtmx { magic: i64, major: u32, minor: u32 },
    #[error("unlocking the pty (TIOCSPTLCK): {0}")]
    Unlock(io::Error),
    #[error("setting the pty's window size from process.consoleSize (TIOCSWINSZ): {0}")]
    WindowSize(io::Error),
    #[error("getting the pty peer (TIOCGPTPEER): {0}")]
    Peer(io::Error),
    #[error("pty peer is not a devpts terminal (magic {magic:#x}, major {major})")]
    NotPts { magic: i64, major: u32 },
    #[error("getting the pty number (TIOCGPTN): {0}")]
    PtyNumber(io::Error),
    #[error("creating /dev/console: {0}")]
    CreateConsole(io::Error),
    #[error("bind-mounting the pty onto /dev/console: {0}")]
    BindConsole(io::Error),
    #[error("sending the pty master over the console socket: {0}")]
    Send(io::Error),
    #[error("receiving the pty master from the container: {0}")]
    Receive(io::Error),
    #[error("setsid: {0}")]
    Setsid(io::Error),
    #[error("making the pty the controlling terminal (TIOCSCTTY): {0}")]
    ControllingTerminal(io::Error),
    #[error("making the pty the process's stdio (dup2): {0}")]
    Stdio(io::Error),
    #[error("socketpair for the console: {0}")]
    Socketpair(io::Error),
}

/// Runtime side: connects to the caller's console socket.
pub fn connect(path: &Path) -> Result<OwnedFd, ConsoleError> {
    let s = std::os::unix::net::UnixStream::connect(path).map_err(|err| ConsoleError::Connect {
        path: path.to_path_buf(),
        err,
    })?;
    Ok(OwnedFd::from(s))
}

/// Runtime side of a foreground terminal without a console socket: a connected pair; the first
/// end goes to the process (as if it were a console socket), the second stays with the runtime.
pub fn socketpair() -> Result<(OwnedFd, OwnedFd), ConsoleError> {
    let (a, b) = std::os::unix::net::UnixStream::pair().map_err(ConsoleError::Socketpair)?;
    Ok((OwnedFd::from(a), OwnedFd::from(b)))
}

fn ioctl_int(fd: BorrowedFd<'_>, req: libc::c_ulong, arg: libc::c_ulong) -> io::Result<i32> {
    // SAFETY: the terminal ioctls used with this wrapper (TIOCGPTPEER, TIOCSCTTY) take an
    // integer argument by value and touch no memory of ours.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn ioctl_ptr(fd: BorrowedFd<'_>, req: libc::c_ulong, arg: &mut libc::c_int) -> io::Result<()> {
    // SAFETY: TIOCSPTLCK and TIOCGPTN read or write one int through the pointer, which points at
    // a live int of ours for the duration of the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req, arg as *mut libc::c_int) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Inside the container (root entered): makes the pty, sends the master over `sock`, and makes
/// the peer this process's controlling terminal and stdio. `bind_console`: also bind the peer
/// onto /dev/console (the init does, exec'd processes do not). `size`: process.consoleSize as
/// (rows, columns), set before the master leaves so the workload starts with it.
pub fn setup(
    sock: BorrowedFd<'_>,
    bind_console: bool,
    size: Option<(u16, u16)>,
) -> Result<(), ConsoleError> {
    let master = syscalls::open(
        Path::new("/dev/pts/ptmx"),
        libc::O_RDWR | libc::O_NOCTTY | libc::O_NOFOLLOW,
        0,
    )
    .map_err(ConsoleError::OpenPtmx)?;
    let magic = syscalls::fstatfs_magic(master.as_fd()).map_err(ConsoleError::OpenPtmx)?;
    let st = syscalls::fstat(master.as_fd()).map_err(ConsoleError::OpenPtmx)?;
    let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
    if magic != DEVPTS_MAGIC || (major, minor) != (PTMX_MAJOR, PTMX_MINOR) {
        return Err(ConsoleError::NotPtmx {
            magic,
            major,
            minor,
        });
    }
    let mut unlock: libc::c_int = 0;
    ioctl_ptr(master.as_fd(), libc::TIOCSPTLCK, &mut unlock).map_err(ConsoleError::Unlock)?;
    let flags = (libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) as libc::c_ulong;
    let peer = ioctl_int(master.as_fd(), libc::TIOCGPTPEER, flags).map_err(ConsoleError::Peer)?;
    // SAFETY: TIOCGPTPEER returned a new descriptor that nobody else owns.
    let peer = unsafe { OwnedFd::from_raw_fd(peer) };
    let magic = syscalls::fstatfs_magic(peer.as_fd()).map_err(ConsoleError::Peer)?;
    let st = syscalls::fstat(peer.as_fd()).map_err(ConsoleError::Peer)?;
    let major = libc::major(st.st_rdev);
    if magic != DEVPTS_MAGIC || major != PTS_MAJOR || st.st_mode & libc::S_IFMT != libc::S_IFCHR {
        return Err(ConsoleError::NotPts { magic, major });
    }
    let mut n: libc::c_int = 0;
    ioctl_ptr(master.as_fd(), libc::TIOCGPTN, &mut n).map_err(ConsoleError::PtyNumber)?;
    let name = format!("/dev/pts/{n}");

    if let Some((rows, cols)) = size {
        set_window_size(master.as_fd(), rows, cols).map_err(ConsoleError::WindowSize)?;
    }
    if bind_console {
        bind_onto_console(peer.as_fd())?;
    }
    send_master(sock, master.as_fd(), &name)?;
    drop(master);
    make_controlling(peer)
}

/// /dev/console: an empty regular file (made here, never following a symlink) with the peer
/// bind-mounted onto it from the peer's descriptor.
fn bind_onto_console(peer: BorrowedFd<'_>) -> Result<(), ConsoleError> {
    let path = Path::new("/dev/console");
    let target = match syscalls::open(
        path,
        libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW,
        0o666,
    ) {
        Ok(fd) => fd,
        // An existing /dev/console (a device node from linux.devices, say) is covered by the
        // mount; a symlink is refused by O_NOFOLLOW below.
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            syscalls::open(path, libc::O_PATH | libc::O_NOFOLLOW, 0)
                .map_err(ConsoleError::CreateConsole)?
        }
        Err(e) => return Err(ConsoleError::CreateConsole(e)),
    };
    let st = syscalls::fstat(target.as_fd()).map_err(ConsoleError::CreateConsole)?;
    if st.st_mode & libc::S_IFMT == libc::S_IFLNK || st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        return Err(ConsoleError::CreateConsole(io::Error::from_raw_os_error(
            libc::ELOOP,
        )));
    }
    let tree = syscalls::open_tree(peer, Path::new(""), syscalls::OPEN_TREE_CLONE)
        .map_err(ConsoleError::BindConsole)?;
    syscalls::move_mount_fd(tree.as_fd(), target.as_fd()).map_err(ConsoleError::BindConsole)
}

fn send_master(
    sock: BorrowedFd<'_>,
    master: BorrowedFd<'_>,
    name: &str,
) -> Result<(), ConsoleError> {
    syscalls::send_with_fd(sock, name.as_bytes(), master).map_err(ConsoleError::Send)
}

/// A new session whose controlling terminal is the peer, which becomes fds 0, 1 and 2.
fn make_controlling(peer: OwnedFd) -> Result<(), ConsoleError> {
    // SAFETY: setsid takes no arguments.
    if unsafe { libc::setsid() } < 0 {
        return Err(ConsoleError::Setsid(io::Error::last_os_error()));
    }
    ioctl_int(peer.as_fd(), libc::TIOCSCTTY, 0).map_err(ConsoleError::ControllingTerminal)?;
    for target in 0..3 {
        // SAFETY: dup2 onto the standard descriptors; it closes what they held before.
        if unsafe { libc::dup2(peer.as_raw_fd(), target) } < 0 {
            return Err(ConsoleError::Stdio(io::Error::last_os_error()));
        }
    }
    if peer.as_raw_fd() <= 2 {
        // The peer landed on a standard descriptor: keep it open, it is one of our stdio now.
        std::mem::forget(peer);
    }
    Ok(())
}

/// Runtime side: receives the master (and its name) sent by [`setup`].
pub fn receive_master(sock: BorrowedFd<'_>) -> Result<(OwnedFd, String), ConsoleError> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = [0u8; 4096];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| ConsoleError::Receive(e.into()))?;
    let n = msg.bytes;
    let mut fd = None;
    for c in msg.cmsgs().map_err(|e| ConsoleError::Receive(e.into()))? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for raw in fds {
                // SAFETY: SCM_RIGHTS gave us a new descriptor nobody else owns.
                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                if fd.is_none() {
                    fd = Some(owned);
                }
            }
        }
    }
    let fd = fd.ok_or_else(|| {
        ConsoleError::Receive(io::Error::new(
            io::ErrorKind::InvalidData,
            "no descriptor in the message",
        ))
    })?;
    Ok((fd, String::from_utf8_lossy(&buf[..n]).into_owned()))
}

/// Puts the terminal on `fd` in raw mode and restores it when dropped.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// None when `fd` is not a terminal.
    pub fn enter(fd: BorrowedFd<'_>) -> Option<RawMode> {
        let mut t = std::mem::MaybeUninit::<libc::termios>::zeroed();
        // SAFETY: tcgetattr fills the struct we own; it is zero-initialised either way.
        if unsafe { libc::tcgetattr(fd.as_raw_fd(), t.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: tcgetattr succeeded and initialised the struct.
        let saved = unsafe { t.assume_init() };
        let mut raw = saved;
        // SAFETY: cfmakeraw edits the struct we own; tcsetattr reads it.
        unsafe {
            libc::cfmakeraw(&mut raw);
            libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &raw);
        }
        Some(RawMode {
            fd: fd.as_raw_fd(),
            saved,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in `enter` on the same descriptor.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Copies the caller's window size onto the pty master.
/// TIOCSWINSZ with the given rows and columns.
fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ only reads the winsize struct we pass.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn copy_window_size(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    let mut ws = std::mem::MaybeUninit::<libc::winsize>::zeroed();
    // SAFETY: TIOCGWINSZ fills the struct we own, TIOCSWINSZ reads it; failures (no terminal)
    // leave the pty's default size, which is harmless.
    unsafe {
        if libc::ioctl(from.as_raw_fd(), libc::TIOCGWINSZ, ws.as_mut_ptr()) == 0 {
            libc::ioctl(to.as_raw_fd(), libc::TIOCSWINSZ, ws.as_ptr());
        }
    }
}

/// What one [`proxy`] step saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proxied {
    /// Something was copied.
    Data,
    /// Nothing to copy within the timeout.
    Idle,
    /// The container side hung up: every peer descriptor is closed.
    Hangup,
}

/// One step of the foreground proxy: moves what is readable between the caller's stdin/stdout
/// and the master. `stdin_open` is cleared when the caller's stdin reaches end of file.
pub fn proxy(master: BorrowedFd<'_>, stdin_open: &mut bool, timeout_ms: i32) -> Proxied {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut fds = [
        libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: if *stdin_open {
                stdin.as_fd().as_raw_fd()
            } else {
                -1
            },
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: two valid pollfd entries (a negative fd is ignored by poll).
    let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
    if r <= 0 {
        return Proxied::Idle;
    }
    let mut buf = [0u8; 8192];
    if fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
        match syscalls::read_fd(master, &mut buf) {
            Ok(n) if n > 0 => {
                let _ = syscalls::write_all_fd(stdout.as_fd(), &buf[..n]);
            }
            // EIO: every peer descriptor is closed, the process is gone.
            _ => return Proxied::Hangup,
        }
    }
    if fds[1].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
        match syscalls::read_fd(stdin.as_fd(), &mut buf) {
            Ok(n) if n > 0 => {
                let _ = syscalls::write_all_fd(master, &buf[..n]);
            }
            _ => *stdin_open = false,
        }
    }
    Proxied::Data
}
