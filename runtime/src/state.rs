//! The state directory: `<root>/<id>/` holds `state.json` (written atomically), the `exec.fifo`
//! the created init waits on, and is itself the lock that serializes operations on one id.
//!
//! Commands that change a container take the lock ([`ContainerDir::open`]); the read-only ones
//! ([`ContainerDir::peek`]) never wait for it. A lock is held only while the holder works, never
//! while it waits on something the container controls; a waiter gives up after a bound or on
//! the caller's SIGINT/SIGTERM.
//!
//! Status is never trusted from the file alone: it is derived from the init process (alive, and
//! the same process by its start time), the fifo (present until `start`), and the freezer.

use crate::hooks::Hook;
use crate::syscalls;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("container id {id:?} is invalid: use letters, digits, '_', '-', '.' (not first), at most 1024 bytes")]
    BadId { id: String },
    #[error("container with id {id} already exists")]
    Exists { id: String },
    #[error("container {id} does not exist")]
    NotFound { id: String },
    #[error("state root {path}: {err}")]
    Root { path: PathBuf, err: io::Error },
    #[error("state of {id}: {path}: {err}")]
    Io {
        id: String,
        path: PathBuf,
        err: io::Error,
    },
    #[error("state of {id}: {path} is corrupt: {err}")]
    Corrupt {
        id: String,
        path: PathBuf,
        err: String,
    },
    #[error("locking container {id}: {err}")]
    Lock { id: String, err: io::Error },
    #[error("container {id} is busy: another command has held its lock for {secs} s")]
    Busy { id: String, secs: u64 },
    #[error("gave up waiting for the lock of container {id}: interrupted by {signal}")]
    Interrupted { id: String, signal: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// What the runtime remembers about a container between commands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    /// Start time of the init (field 22 of /proc/<pid>/stat), to tell it from a reused pid.
    pub pid_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub created: String,
    pub owner: String,
    /// Absolute cgroup path, or None when cgroups are disabled.
    pub cgroup_path: Option<PathBuf>,
    #[serde(default)]
    pub poststart: Vec<Hook>,
    #[serde(default)]
    pub poststop: Vec<Hook>,
    /// Namespace files of the init, for exec to join: (proc name, clone flag).
    #[serde(default)]
    pub namespaces: Vec<(String, i32)>,
    #[serde(default)]
    pub started: bool,
    /// The cgroup directories this create made, or was about to make when the state was first
    /// written (parents before children): the only ones `delete` removes. None in a state from
    /// before this was recorded (and with systemd on v2): `delete` then removes the cgroup path.
    #[serde(default)]
    pub cgroup_made: Option<Vec<PathBuf>>,
    /// ("pid", st_dev, st_ino) of the init's own pid namespace: `kill --all` and `delete` signal
    /// a process of the cgroup only when it is in it or below it. None: the container has none
    /// of its own, and every process of its cgroup is its.
    #[serde(default)]
    pub own_ns: Option<(String, u64, u64)>,
    /// The init was cloned into a pid namespace of its own (not one joined from another
    /// container): without a cgroup, every process in that namespace is the container's.
    #[serde(default)]
    pub pid_ns_made: bool,
    /// The resctrl group of linux.intelRdt, with the directories this create made.
    #[serde(default)]
    pub intel_rdt: Option<crate::intel_rdt::Placement>,
}

impl State {
    /// The OCI state document (`runc state` prints this shape).
    pub fn oci_json(&self, status: Status) -> serde_json::Value {
        let pid = if status == Status::Stopped {
            0
        } else {
            self.pid
        };
        serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "pid": pid,
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
            "annotations": self.annotations,
        })
    }

    /// The state passed to hooks on stdin (runtime spec: ociVersion, id, status, pid, bundle,
    /// annotations).
    pub fn hook_json(&self, status: Status) -> Vec<u8> {
        let v = serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "pid": self.pid,
            "status": status.as_str(),
            "bundle": self.bundle,
            "annotations": self.annotations,
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

/// A container id must be usable as a single path component and in a cgroup name.
pub fn validate_id(id: &str) -> Result<(), StateError> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(StateError::BadId { id: id.to_string() })
    }
}

/// A state directory, locked (by [`ContainerDir::create`] or [`ContainerDir::open`]) or only
/// looked at ([`ContainerDir::peek`]). The lock is released when this is dropped.
pub struct ContainerDir {
    pub id: String,
    pub path: PathBuf,
    /// The open directory; flocked unless `locked` is false.
    handle: File,
    locked: bool,
}

/// How long a command waits for another one working on the same container before it reports
/// the container busy. Holders never wait on the container itself without bound (exec lets go
/// before its process runs, start before it watches the workload's exec), so this is only
/// reached behind a slow create or delete (hooks, a kill that takes long).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How often a waiting command tries the lock again.
const LOCK_RETRY: Duration = Duration::from_millis(20);

fn ensure_root(root: &Path) -> Result<(), StateError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|err| StateError::Root {
            path: root.to_path_buf(),
            err,
        })
}

fn open_dir(id: &str, path: &Path) -> Result<File, StateError> {
    File::open(path).map_err(|err| {
        if err.kind() == io::ErrorKind::NotFound {
            StateError::NotFound { id: id.to_string() }
        } else {
            StateError::Io {
                id: id.to_string(),
                path: path.to_path_buf(),
                err,
            }
        }
    })
}

/// A new directory (0700) in `root` under a private name (".create-<pid>-<n>"), opened and
/// locked: nobody else knows of it, so the lock is taken at once.
fn make_locked_private_dir(root: &Path) -> Result<(PathBuf, File), (PathBuf, io::Error)> {
    let pid = std::process::id();
    let mut attempt = 0u32;
    let tmp = loop {
        let tmp = root.join(format!(".create-{pid}-{attempt}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&tmp) {
            Ok(()) => break tmp,
            // Left by a create of an earlier process with this pid that was killed here.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
            Err(e) => return Err((tmp, e)),
        }
    };
    let locked = File::open(&tmp).and_then(|f| {
        if syscalls::try_flock_exclusive(f.as_fd())? {
            Ok(f)
        } else {
            Err(io::Error::from(io::ErrorKind::WouldBlock))
        }
    });
    locked.map(|f| (tmp.clone(), f)).map_err(|e| {
        let _ = std::fs::remove_dir(&tmp);
        (tmp, e)
    })
}

/// Removes the private directories of creates that were killed before their rename (nothing
/// else can: they are under no id, so `delete -f` never sees them). One counts as abandoned
/// when nobody holds its lock and it is a minute old: a live create holds the lock from a
/// moment after its mkdir until the rename, and the age covers that moment. Only an empty one
/// goes (remove_dir), which is all a create leaves there before the rename.
fn sweep_private_dirs(root: &Path, ours: &Path) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p == ours || !e.file_name().to_string_lossy().starts_with(".create-") {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|a| a > Duration::from_secs(60)));
        if !old {
            continue;
        }
        if let Ok(f) = File::open(&p) {
            if syscalls::try_flock_exclusive(f.as_fd()).unwrap_or(false) {
                let _ = std::fs::remove_dir(&p);
            }
        }
    }
}

/// Locks the directory at `path`. The wait is bounded by [`LOCK_WAIT`], and the caller's SIGINT
/// or SIGTERM ends it with an error (blocked meanwhile, so they are taken here rather than
/// killing the process with no word).
fn lock(id: &str, path: &Path) -> Result<File, StateError> {
    let lock_err = |err| StateError::Lock {
        id: id.to_string(),
        err,
    };
    let _mask = syscalls::block_signals(&[libc::SIGINT, libc::SIGTERM]).map_err(lock_err)?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        let f = open_dir(id, path)?;
        while !syscalls::try_flock_exclusive(f.as_fd()).map_err(lock_err)? {
            if Instant::now() >= deadline {
                return Err(StateError::Busy {
                    id: id.to_string(),
                    secs: LOCK_WAIT.as_secs(),
                });
            }
            if let Some(sig) = syscalls::take_signal(&[libc::SIGINT, libc::SIGTERM], LOCK_RETRY) {
                return Err(StateError::Interrupted {
                    id: id.to_string(),
                    signal: syscalls::signal_name(sig),
                });
            }
        }
        // While we waited the directory may have been deleted, and a new container of the same
        // id made: our lock then guards a directory nobody else uses. It counts only if the
        // directory at the path is still the one we locked; if it was replaced, lock that one.
        let ours = syscalls::fstat(f.as_fd()).map_err(|err| StateError::Io {
            id: id.to_string(),
            path: path.to_path_buf(),
            err,
        })?;
        match std::fs::symlink_metadata(path) {
            Ok(now) if now.dev() == ours.st_dev && now.ino() == ours.st_ino => return Ok(f),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StateError::NotFound { id: id.to_string() })
            }
            Err(err) => {
                return Err(StateError::Io {
                    id: id.to_string(),
                    path: path.to_path_buf(),
                    err,
                })
            }
        }
    }
}

impl ContainerDir {
    /// Makes the directory for a new container, already locked when it appears under the id's
    /// name; a second create of the same id fails here.
    ///
    /// The directory is made under a private name, locked there, and only then moved to
    /// `<root>/<id>` with RENAME_NOREPLACE. Made in place, it would be there unlocked and empty
    /// for a moment: another command on the id (one that waited on the lock of a deleted
    /// container of that id, then looked again) could lock it first and find no state.json:
    /// `delete --force` removed it from under this create, others failed with a raw ENOENT.
    /// The private name starts with '.', which no id may, so nothing looks it up.
    pub fn create(root: &Path, id: &str) -> Result<Self, StateError> {
        validate_id(id)?;
        ensure_root(root)?;
        let path = root.join(id);
        let io_err = |path: &Path, err| StateError::Io {
            id: id.to_string(),
            path: path.to_path_buf(),
            err,
        };
        if path.exists() {
            return Err(StateError::Exists { id: id.to_string() });
        }
        let (tmp, handle) = make_locked_private_dir(root).map_err(|(p, err)| io_err(&p, err))?;
        sweep_private_dirs(root, &tmp);
        if let Err(err) = syscalls::rename_noreplace(&tmp, &path) {
            let _ = std::fs::remove_dir(&tmp);
            return Err(if err.kind() == io::ErrorKind::AlreadyExists {
                StateError::Exists { id: id.to_string() }
            } else {
                io_err(&path, err)
            });
        }
        Ok(ContainerDir {
            id: id.to_string(),
            path,
            handle,
            locked: true,
        })
    }

    /// The directory of an existing container, locked: for the commands that change it.
    pub fn open(root: &Path, id: &str) -> Result<Self, StateError> {
        validate_id(id)?;
        let path = root.join(id);
        let handle = lock(id, &path)?;
        Ok(ContainerDir {
            id: id.to_string(),
            path,
            handle,
            locked: true,
        })
    }

    /// The directory of an existing container, not locked: for the read-only commands (state,
    /// list, ps, events), which must answer even while a writer holds the lock. They see a
    /// consistent state because state.json is only ever replaced whole (see [`write_atomic`]);
    /// a state.json that is not there (a create not that far, a delete under way) reads as
    /// "does not exist".
    pub fn peek(root: &Path, id: &str) -> Result<Self, StateError> {
        validate_id(id)?;
        let path = root.join(id);
        let handle = open_dir(id, &path)?;
        Ok(ContainerDir {
            id: id.to_string(),
            path,
            handle,
            locked: false,
        })
    }

    /// Whether another command holds this directory's lock now (a peeked directory's own
    /// handle is unlocked, so trying it tells; the trial lock is dropped at once).
    pub fn busy(&self) -> bool {
        if self.locked {
            return false;
        }
        match syscalls::try_flock_exclusive(self.handle.as_fd()) {
            Ok(true) => {
                // Got it for the trial: let go at once so no holder-to-be waits on a reader.
                let _ = syscalls::flock_unlock(self.handle.as_fd());
                false
            }
            Ok(false) => true,
            Err(_) => false,
        }
    }

    /// The descriptor holding the lock. A forked init inherits it and must close it, or the
    /// lock (which belongs to the open file, not the process) outlives our release of it.
    pub fn lock_fd(&self) -> std::os::fd::RawFd {
        self.handle.as_raw_fd()
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join("exec.fifo")
    }

    fn state_path(&self) -> PathBuf {
        self.path.join("state.json")
    }

    pub fn load(&self) -> Result<State, StateError> {
        let p = self.state_path();
        let bytes = std::fs::read(&p).map_err(|err| {
            if !self.locked && err.kind() == io::ErrorKind::NotFound {
                StateError::NotFound {
                    id: self.id.clone(),
                }
            } else {
                StateError::Io {
                    id: self.id.clone(),
                    path: p.clone(),
                    err,
                }
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            id: self.id.clone(),
            path: p,
            err: e.to_string(),
        })
    }

    /// Writes state.json through a temporary file and rename, so a reader never sees half a file.
    pub fn save(&self, s: &State) -> Result<(), StateError> {
        let p = self.state_path();
        let bytes = serde_json::to_vec(s).map_err(|e| StateError::Corrupt {
            id: self.id.clone(),
            path: p.clone(),
            err: e.to_string(),
        })?;
        write_atomic(&p, &bytes).map_err(|err| StateError::Io {
            id: self.id.clone(),
            path: p,
            err,
        })
    }

    /// Removes the whole directory (the lock goes with it).
    pub fn remove(self) -> Result<(), StateError> {
        std::fs::remove_dir_all(&self.path).map_err(|err| StateError::Io {
            id: self.id.clone(),
            path: self.path.clone(),
            err,
        })
    }
}

/// Writes a file by temp-file-and-rename in the same directory, so a reader sees the old
/// content or the new, never half of it. The temp file is made with O_EXCL|O_NOFOLLOW: the
/// directory may be writable by others (a pid file's often is), and a symlink or file planted at
/// the temp name must not redirect the write; such a name is passed over for another.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    let mut attempt = 0u32;
    let (tmp, fd) = loop {
        let tmp = if attempt == 0 {
            dir.join(format!(".{name}.{pid}"))
        } else {
            // A name someone who planted the first one cannot guess as easily.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            dir.join(format!(".{name}.{pid}.{nanos:x}{attempt}"))
        };
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        match syscalls::open(&tmp, flags, 0o666) {
            Ok(fd) => break (tmp, fd),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let mut f = File::from(fd);
    let written = f.write_all(bytes);
    drop(f);
    written
        .and_then(|_| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// Ids of all containers under the root, sorted.
pub fn list_ids(root: &Path) -> Result<Vec<String>, StateError> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(StateError::Root {
                path: root.to_path_buf(),
                err,
            })
        }
    };
    let mut ids: Vec<String> = rd
        .filter_map(|e| e.ok())
        // A directory without state.json yet is a create killed (or still working) before its
        // first save: listed, so that it shows until `delete -f` removes it. The private names
        // of creates in progress start with '.', which no id does.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| validate_id(name).is_ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// The user owning `path`, by name from the host's /etc/passwd, else "#<uid>" (as runc prints).
/// Read by hand rather than through NSS, which a static binary must not rely on.
pub fn owner_name(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata(path).map(|m| m.uid()) else {
        return String::new();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

/// Start time of a process (clock ticks since boot), or None if it is gone or a zombie.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); start time is field 22.
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn owner_of_the_root_directory_is_root() {
        assert_eq!(owner_name(Path::new("/")), "root");
        assert_eq!(owner_name(Path::new("/no/such/path")), "");
    }

    #[test]
    fn write_atomic_passes_over_a_planted_temp_name() {
        let dir = std::env::temp_dir().join(format!("rampart-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("precious");
        std::fs::write(&target, "precious").unwrap();
        let path = dir.join("x.pid");
        std::os::unix::fs::symlink(&target, dir.join(format!(".x.pid.{}", std::process::id())))
            .unwrap();
        let r = write_atomic(&path, b"42");
        let (t, p) = (
            std::fs::read_to_string(&target),
            std::fs::read_to_string(&path),
        );
        let link = std::fs::symlink_metadata(&path).map(|m| m.file_type().is_symlink());
        let _ = std::fs::remove_dir_all(&dir);
        r.unwrap();
        assert_eq!(t.unwrap(), "precious");
        assert_eq!(p.unwrap(), "42");
        assert!(!link.unwrap());
    }

    #[test]
    fn own_start_time_is_readable() {
        assert!(process_start_time(std::process::id() as i32).is_some());
    }
}
