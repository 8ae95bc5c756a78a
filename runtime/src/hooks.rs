//! OCI hooks: each hook is a host program run with the container's state JSON on its stdin,
//! optionally with a timeout after which it is killed. Where each kind runs (runtime or
//! container namespace) is the caller's business; this module only runs a list in order.

use crate::syscalls;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{stage} hook {path}: path must be absolute")]
    Relative { stage: &'static str, path: PathBuf },
    #[error("{stage} hook {path}: timeout must be greater than zero")]
    BadTimeout { stage: &'static str, path: PathBuf },
    #[error("{stage} hook {path}: start: {err}")]
    Spawn {
        stage: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error("{stage} hook {path}: {what}")]
    Failed {
        stage: &'static str,
        path: PathBuf,
        what: String,
    },
    #[error("{stage} hook {path}: killed after the {secs} s timeout")]
    Timeout {
        stage: &'static str,
        path: PathBuf,
        secs: i64,
    },
}

/// A hook as stored in the plan and in the state file (poststop runs at delete time).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub path: PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub timeout: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HooksPlan {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

fn plan_list(
    stage: &'static str,
    list: &Option<Vec<oci_spec::runtime::Hook>>,
) -> Result<Vec<Hook>, HookError> {
    list.iter()
        .flatten()
        .map(|h| {
            if !h.path().is_absolute() {
                return Err(HookError::Relative {
                    stage,
                    path: h.path().clone(),
                });
            }
            if h.timeout().is_some_and(|t| t <= 0) {
                return Err(HookError::BadTimeout {
                    stage,
                    path: h.path().clone(),
                });
            }
            Ok(Hook {
                path: h.path().clone(),
                args: h.args().clone().unwrap_or_default(),
                env: h.env().clone().unwrap_or_default(),
                timeout: h.timeout(),
            })
        })
        .collect()
}

pub fn plan(h: Option<&oci_spec::runtime::Hooks>) -> Result<HooksPlan, HookError> {
    let Some(h) = h else {
        return Ok(HooksPlan::default());
    };
    Ok(HooksPlan {
        prestart: plan_list("prestart", h.prestart())?,
        create_runtime: plan_list("createRuntime", h.create_runtime())?,
        create_container: plan_list("createContainer", h.create_container())?,
        start_container: plan_list("startContainer", h.start_container())?,
        poststart: plan_list("poststart", h.poststart())?,
        poststop: plan_list("poststop", h.poststop())?,
    })
}

/// The instant `secs` seconds from now, or None when that lies beyond what `Instant` can hold.
/// A timeout that is not positive (only a damaged state file holds one: the plan refuses it)
/// expires at once.
fn deadline_after(secs: i64) -> Option<Instant> {
    Instant::now().checked_add(Duration::from_secs(secs.max(0).unsigned_abs()))
}

/// Waits for `child` until `deadline`: its exit status, or None when the deadline came first.
/// Through a pidfd where the kernel and the seccomp filter allow pidfd_open (Linux 5.3);
/// otherwise (a startContainer hook under an older profile) by polling every 5 ms.
fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
) -> io::Result<Option<std::process::ExitStatus>> {
    let pidfd = match syscalls::pidfd_open(child.id() as i32) {
        Ok(fd) => Some(fd),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS)) => None,
        Err(e) => return Err(e),
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(pidfd) = &pidfd else {
            if let Some(status) = child.try_wait()? {
                return Ok(Some(status));
            }
            if left.is_zero() {
                return Ok(None);
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(5)));
            continue;
        };
        let mut pfd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&pidfd.as_fd()),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(i32::MAX as u128) as i32) };
        if r > 0 {
            return child.wait().map(Some);
        }
        if r < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return Ok(None);
    }
}

/// Runs the hooks in order; the first failure stops the list and is returned.
pub fn run(stage: &'static str, hooks: &[Hook], state_json: &[u8]) -> Result<(), HookError> {
    run_with_default_env(stage, hooks, state_json, &[])
}

/// [`run`], where a hook that sets no `env` gets `default_env` (startContainer hooks: the
/// container process's environment, as runc gives them).
pub fn run_with_default_env(
    stage: &'static str,
    hooks: &[Hook],
    state_json: &[u8],
    default_env: &[std::ffi::CString],
) -> Result<(), HookError> {
    for h in hooks {
        run_one(stage, h, state_json, default_env)?;
    }
    Ok(())
}

fn run_one(
    stage: &'static str,
    h: &Hook,
    state_json: &[u8],
    default_env: &[std::ffi::CString],
) -> Result<(), HookError> {
    let mut cmd = Command::new(&h.path);
    // args[0] is the hook's argv[0], as in execv.
    if let Some((first, rest)) = h.args.split_first() {
        use std::os::unix::process::CommandExt;
        cmd.arg0(first);
        cmd.args(rest);
    }
    cmd.env_clear();
    if h.env.is_empty() {
        for kv in default_env {
            let kv = String::from_utf8_lossy(kv.as_bytes());
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    for kv in &h.env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    // A startContainer hook is spawned under the container's seccomp filter. std spawns through
    // posix_spawn, and glibc's posix_spawn uses clone3, which a profile older than it denies with
    // EPERM (glibc falls back to clone only on ENOSYS). With a pre_exec closure std forks
    // instead, through the plain clone every profile allows.
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure does nothing, so it is async-signal-safe.
        unsafe { cmd.pre_exec(|| Ok(())) };
    }
    let spawn_err = |err| HookError::Spawn {
        stage,
        path: h.path.clone(),
        err,
    };
    // A timeout further away than the clock can count (i64::MAX seconds is valid) is no
    // practical limit: the hook is waited for as if none were set. The clock starts before the
    // state is written: a hook that never reads its stdin must not outlast its timeout.
    let timeout = h
        .timeout
        .and_then(|secs| Some((secs, deadline_after(secs)?)));
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(stdin) = child.stdin.take() {
        if !feed(stdin, state_json, timeout.map(|(_, d)| d)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::Timeout {
                stage,
                path: h.path.clone(),
                secs: timeout.map(|(s, _)| s).unwrap_or_default(),
            });
        }
    }
    let status = match timeout {
        None => child.wait().map_err(spawn_err)?,
        Some((secs, deadline)) => match wait_until(&mut child, deadline).map_err(spawn_err)? {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::Timeout {
                    stage,
                    path: h.path.clone(),
                    secs,
                });
            }
        },
    };
    if status.success() {
        return Ok(());
    }
    let what = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".to_string(),
    };
    Err(HookError::Failed {
        stage,
        path: h.path.clone(),
        what,
    })
}

/// Writes the state to the hook's stdin, giving up at `deadline` (false then). A hook that
/// exits or closes its stdin without reading is fine (EPIPE ends the write, true).
fn feed(stdin: std::process::ChildStdin, mut data: &[u8], deadline: Option<Instant>) -> bool {
    let fd = std::os::fd::OwnedFd::from(stdin);
    if deadline.is_some() && syscalls::set_nonblocking(fd.as_fd()).is_err() {
        return true;
    }
    let mut f = std::fs::File::from(fd);
    while !data.is_empty() {
        match f.write(data) {
            Ok(0) => return true,
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let Some(deadline) = deadline else {
                    return true;
                };
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                let _ = syscalls::poll_writable(f.as_fd(), left);
            }
            Err(_) => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_beyond_the_clock_mean_no_limit() {
        assert!(deadline_after(i64::MAX).is_none());
        assert!(deadline_after(5).is_some());
        assert!(deadline_after(i64::MIN).is_some_and(|d| d <= Instant::now()));
        let h = Hook {
            path: PathBuf::from("/bin/true"),
            timeout: Some(i64::MAX),
            ..Hook::default()
        };
        run_one("poststop", &h, b"{}", &[]).expect("a hook with the largest timeout runs");
    }
}
