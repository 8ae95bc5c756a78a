//! Handing the SCMP_ACT_NOTIFY listener to the seccomp agent at `listenerPath`.
//!
//! Order: [`super::install`] returns the listener fd; then, still before exec (or from the
//! runtime after receiving the fd), call [`send_listener`]. The agent gets one message: the
//! container process state JSON of the runtime spec with the fd attached as SCM_RIGHTS.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};
use oci_spec::runtime::{ContainerProcessState, State, SECCOMP_FD_NAME};

use super::error::SeccompError;

/// The JSON sent to the agent (runtime-spec `ContainerProcessState`): `fds` is `["seccompFd"]`,
/// `pid` is the container process as the runtime sees it, `metadata` is `listenerMetadata`.
pub fn process_state_json(
    pid: i32,
    metadata: Option<&str>,
    state: &State,
) -> Result<Vec<u8>, SeccompError> {
    let mut s = ContainerProcessState::default();
    s.set_version(state.version().clone());
    s.set_fds(vec![SECCOMP_FD_NAME.to_string()]);
    s.set_pid(pid);
    s.set_metadata(metadata.map(str::to_string));
    s.set_state(state.clone());
    Ok(serde_json::to_vec(&s)?)
}

/// Connects to the agent's unix socket at `listener_path` and sends the process state JSON with
/// `listener` attached (SCM_RIGHTS), as runc and crun do.
///
/// The fd travels with the first byte; if the kernel takes only part of the JSON, the rest follows
/// in plain writes on the same stream.
pub fn send_listener(
    listener_path: &Path,
    listener: BorrowedFd<'_>,
    pid: i32,
    metadata: Option<&str>,
    state: &State,
) -> Result<(), SeccompError> {
    let json = process_state_json(pid, metadata, state)?;
    let send_err = |source| SeccompError::ListenerSend {
        path: listener_path.to_path_buf(),
        source,
    };

    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(SeccompError::ListenerSocket)?;
    let addr = UnixAddr::new(listener_path).map_err(|source| SeccompError::ListenerConnect {
        path: listener_path.to_path_buf(),
        source,
    })?;
    connect(sock.as_raw_fd(), &addr).map_err(|source| SeccompError::ListenerConnect {
        path: listener_path.to_path_buf(),
        source,
    })?;

    let fds = [listener.as_raw_fd()];
    let mut sent = 0;
    while sent < json.len() {
        let iov = [IoSlice::new(&json[sent..])];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let cmsgs: &[ControlMessage] = if sent == 0 { &cmsg } else { &[] };
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(0) => return Err(send_err(nix::Error::EPIPE)),
            Ok(n) => sent += n,
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(send_err(e)),
        }
    }
    Ok(())
}
