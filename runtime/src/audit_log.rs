//! Audit events (`--audit-log PATH|syslog[:SOCKET]`): one JSON line per lifecycle action and one
//! for the container's exit, saying who did what to which container, with which config, how it
//! ended, and the confinement in force. The schema is in docs/audit-events.md.
//!
//! Order of calls: the CLI calls [`init`] once, before the command. The lifecycle functions
//! (container, exec, cgroups::commands) call [`record`] after their action, successful or not:
//! the event states an outcome, so it is written once the outcome is known, and the process it
//! reads back (`readback::observe`) already runs under its final confinement (`start` waits for
//! the workload's exec before it returns when events are on; `exec` records from the point where
//! its process has exec'd).
//!
//! What only the plan knows (the seccomp default action and a digest of the compiled BPF, the
//! Landlock ABI and rules) is computed at create by [`planned`] and kept in the state directory
//! (`audit-planned.json`) for the later actions.
//!
//! Failure policy: fail-open. A line that cannot be written is reported as a warning on the log
//! (`--log`, which containerd shows its user) and the action's own result stands. The event is
//! written after the action, so failing the command would not undo it, only make the engine
//! believe it did not happen; and a `kill` or `delete` refused because a disk is full would leave
//! running the very containers an operator wants gone. Nothing here writes container state.
//!
//! Appending: the file is opened once with O_APPEND and each event goes out in one write(2), so
//! lines from many rampart processes never interleave (the kernel serialises O_APPEND writes to
//! one file on local filesystems; a short write is reported, never continued, since a second
//! write could land after another process's line).

use crate::logging;
use crate::readback;
use crate::sha256;
use crate::state::{self, ContainerDir};
use serde_json::{json, Map, Value};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Version of the event layout; bumped on any incompatible change.
pub const SCHEMA: &str = "rampart.audit/1";

/// Name of the planned-confinement record in the state directory.
pub const PLANNED_FILE: &str = "audit-planned.json";

/// The syslog socket when `syslog` names none.
pub const DEFAULT_SYSLOG: &str = "/dev/log";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("--audit-log {0:?}: give a file path, `syslog` or `syslog:SOCKET`")]
    BadTarget(String),
    #[error("opening audit log {path}: {err}")]
    Open { path: PathBuf, err: String },
    #[error("making the syslog socket for {path}: {err}")]
    Socket { path: PathBuf, err: String },
    #[error("audit log {path}: {why}")]
    Unsafe { path: PathBuf, why: String },
}

/// Where events go.
enum Sink {
    /// An O_APPEND descriptor of the log file.
    File { path: PathBuf, fd: OwnedFd },
    /// A unix datagram socket (syslog's /dev/log or one given), RFC 5424 messages.
    Syslog {
        path: PathBuf,
        sock: std::os::unix::net::UnixDatagram,
    },
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// The parsed `--audit-log` value.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    File(PathBuf),
    Syslog(PathBuf),
}

pub fn parse_target(s: &str) -> Result<Target, AuditError> {
    if s == "syslog" {
        return Ok(Target::Syslog(PathBuf::from(DEFAULT_SYSLOG)));
    }
    if let Some(sock) = s.strip_prefix("syslog:") {
        if sock.is_empty() {
            return Err(AuditError::BadTarget(s.to_string()));
        }
        return Ok(Target::Syslog(PathBuf::from(sock)));
    }
    if s.is_empty() {
        return Err(AuditError::BadTarget(s.to_string()));
    }
    Ok(Target::File(PathBuf::from(s)))
}

/// Opens the sink once per process. Relative paths are the caller's (resolved now, before any
/// chdir).
///
/// The log is a security record that root appends to, so the file must be one only its writer
/// controls: the last component is not followed if it is a symlink (root would append to
/// whatever it names), the open does not block (a FIFO without a reader would hang every
/// command), and the descriptor must be a regular file owned by the caller that no one else can
/// write (a FIFO with a reader splits lines over PIPE_BUF; a file another user made first could
/// be read or forged by them).
pub fn init(target: &str) -> Result<(), AuditError> {
    let sink = match parse_target(target)? {
        Target::File(path) => {
            let fd = crate::syscalls::open(
                &path,
                libc::O_WRONLY
                    | libc::O_APPEND
                    | libc::O_CREAT
                    | libc::O_CLOEXEC
                    | libc::O_NOCTTY
                    | libc::O_NOFOLLOW
                    | libc::O_NONBLOCK,
                0o600,
            )
            .map_err(|e| AuditError::Open {
                path: path.clone(),
                err: if e.raw_os_error() == Some(libc::ELOOP) {
                    "it is a symbolic link (give the real path)".into()
                } else {
                    readback::words(&e)
                },
            })?;
            check_log_file(&path, &fd)?;
            Sink::File { path, fd }
        }
        Target::Syslog(path) => {
            let sock =
                std::os::unix::net::UnixDatagram::unbound().map_err(|e| AuditError::Socket {
                    path: path.clone(),
                    err: readback::words(&e),
                })?;
            // A stalled or flooded receiver must not hang the command: a full queue is a lost
            // event with a warning, as any other failed write.
            sock.set_nonblocking(true).map_err(|e| AuditError::Socket {
                path: path.clone(),
                err: readback::words(&e),
            })?;
            Sink::Syslog { path, sock }
        }
    };
    let _ = SINK.set(sink);
    Ok(())
}

/// The opened log is a regular file of the caller's, writable by no one else.
fn check_log_file(path: &Path, fd: &OwnedFd) -> Result<(), AuditError> {
    use std::os::unix::fs::MetadataExt;
    let unsafe_log = |why: String| AuditError::Unsafe {
        path: path.to_path_buf(),
        why,
    };
    let meta = std::fs::File::from(
        fd.try_clone()
            .map_err(|e| unsafe_log(readback::words(&e)))?,
    )
    .metadata()
    .map_err(|e| unsafe_log(readback::words(&e)))?;
    if !meta.file_type().is_file() {
        return Err(unsafe_log("not a regular file".into()));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(unsafe_log(format!(
            "owned by uid {}, not by the caller (uid {euid})",
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(unsafe_log(format!(
            "writable by group or others (mode {:o})",
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// Whether events are being recorded (so the lifecycle does the extra work only then).
pub fn enabled() -> bool {
    SINK.get().is_some()
}

/// The lifecycle actions an event can record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Start,
    Exec,
    Kill,
    Update,
    Pause,
    Resume,
    Delete,
    Exit,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Start => "start",
            Action::Exec => "exec",
            Action::Kill => "kill",
            Action::Update => "update",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Delete => "delete",
            Action::Exit => "exit",
        }
    }
}

/// One event before it is written. `observed` and `planned` are the two sources of
/// confinement data, kept apart so a reader knows which values the kernel confirmed.
pub struct Event {
    pub action: Action,
    pub id: String,
    pub bundle: Option<PathBuf>,
    pub config_sha256: Option<String>,
    pub result: Result<(), String>,
    pub pid: Option<i32>,
    pub observed: Option<Value>,
    /// Why there is no `observed` (process gone, not yet started, ...).
    pub observed_note: Option<String>,
    pub planned: Option<Value>,
    /// Action-specific details (the signal of a kill, the exit status, ...).
    pub details: Map<String, Value>,
}

impl Event {
    pub fn new(action: Action, id: &str) -> Self {
        Event {
            action,
            id: id.to_string(),
            bundle: None,
            config_sha256: None,
            result: Ok(()),
            pid: None,
            observed: None,
            observed_note: None,
            planned: None,
            details: Map::new(),
        }
    }

    /// The JSON line's object (see docs/audit-events.md).
    pub fn to_json(&self, time: &str, caller_uid: u32) -> Value {
        let mut m = Map::new();
        m.insert("schema".into(), SCHEMA.into());
        m.insert("time".into(), time.into());
        m.insert("action".into(), self.action.as_str().into());
        m.insert("id".into(), self.id.clone().into());
        m.insert(
            "bundle".into(),
            self.bundle
                .as_ref()
                .map(|b| Value::from(b.to_string_lossy().into_owned()))
                .unwrap_or(Value::Null),
        );
        m.insert("caller_uid".into(), caller_uid.into());
        m.insert(
            "config_sha256".into(),
            self.config_sha256
                .clone()
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        match &self.result {
            Ok(()) => {
                m.insert("result".into(), "ok".into());
            }
            Err(msg) => {
                m.insert("result".into(), "error".into());
                m.insert("error".into(), msg.clone().into());
            }
        }
        m.insert(
            "pid".into(),
            self.pid.map(Value::from).unwrap_or(Value::Null),
        );
        for (k, v) in &self.details {
            m.insert(k.clone(), v.clone());
        }
        m.insert(
            "observed".into(),
            self.observed.clone().unwrap_or(Value::Null),
        );
        if let Some(n) = &self.observed_note {
            m.insert("observed_note".into(), n.clone().into());
        }
        m.insert(
            "planned".into(),
            self.planned.clone().unwrap_or(Value::Null),
        );
        Value::Object(m)
    }
}

/// Writes `ev` to the sink, if there is one. Never fails the caller: see the module doc.
pub fn write(ev: &Event) {
    let Some(sink) = SINK.get() else {
        return;
    };
    let uid = nix::unistd::getuid().as_raw();
    let time = logging::rfc3339_now();
    let body = ev.to_json(&time, uid).to_string();
    let r = match sink {
        Sink::File { path, fd } => {
            let mut line = body.into_bytes();
            line.push(b'\n');
            append_line(fd.as_fd(), &line).map_err(|e| format!("{}: {e}", path.display()))
        }
        Sink::Syslog { path, sock } => {
            let msg = syslog_message(&time, ev.result.is_ok(), &body);
            sock.send_to(msg.as_bytes(), path)
                .map(|_| ())
                .map_err(|e| format!("{}: {}", path.display(), readback::words(&e)))
        }
    };
    if let Err(e) = r {
        logging::warn(&format!(
            "audit event {} of {} not recorded: {e}",
            ev.action.as_str(),
            ev.id
        ));
    }
}

/// One write(2) of a whole line. A short write is an error, not continued (see module doc).
fn append_line(fd: std::os::fd::BorrowedFd<'_>, line: &[u8]) -> Result<(), String> {
    loop {
        match crate::syscalls::write_once(fd, line) {
            Ok(n) if n == line.len() => return Ok(()),
            Ok(n) => {
                // End the fragment, so only this line is lost and the next writer's line is not
                // glued onto it.
                let _ = crate::syscalls::write_once(fd, b"\n");
                return Err(format!(
                    "short write: {n} of {} bytes (disk full?)",
                    line.len()
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(readback::words(&e)),
        }
    }
}

/// An RFC 5424 message: facility authpriv (10), severity info (6) or err (3), app "rampart",
/// msgid "audit", the JSON event as the message.
pub fn syslog_message(time: &str, ok: bool, body: &str) -> String {
    let pri = 10 * 8 + if ok { 6 } else { 3 };
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty() && !h.contains(' '))
        .unwrap_or_else(|| "-".into());
    format!(
        "<{pri}>1 {time} {host} rampart {} audit - {body}",
        std::process::id()
    )
}

/// What only the plan can say about the confinement: computed at create (and for each exec from
/// the exec's own plan).
pub fn planned(spec: &oci_spec::runtime::Spec, plan: &crate::plan::Plan) -> Value {
    let seccomp = match (
        &plan.seccomp,
        spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()),
    ) {
        (Some(p), Some(cfg)) => {
            let bytes = p.compiled.program.to_bytes();
            json!({
                "default_action": serde_json::to_value(cfg.default_action()).unwrap_or(Value::Null),
                "bpf_sha256": sha256::hex(&bytes),
                "bpf_instructions": p.compiled.program.len(),
                "filter_flags": p.compiled.flags,
                "notify": p.compiled.uses_notify,
            })
        }
        _ => Value::Null,
    };
    let abi = crate::syscalls::landlock_abi().ok();
    let landlock = plan.landlock.as_ref().map(|l| {
        json!({
            "abi": abi,
            "source": l.source,
            "path_rules": l.path_rules.len(),
            "port_rules": l.port_rules.len(),
            "enforced": l.describe(),
        })
    });
    json!({
        "seccomp": seccomp,
        "landlock": landlock.unwrap_or_else(|| json!({ "abi": abi, "enforced": Value::Null })),
        "apparmor_profile": plan.process.apparmor_profile.clone(),
        "no_new_privileges": plan.process.no_new_privileges,
        "readonly_root": plan.root_readonly,
    })
}

/// Keeps `planned` beside the container's state for the later actions' events.
pub fn save_planned(state_dir: &Path, planned: &Value) {
    let path = state_dir.join(PLANNED_FILE);
    if let Err(e) = state::write_atomic(&path, planned.to_string().as_bytes()) {
        logging::warn(&format!(
            "audit: saving {}: {}",
            path.display(),
            readback::words(&e)
        ));
    }
}

/// What the state directory says about a container, for an event: filled in before or after
/// the action, whichever still has it (delete's is gone after).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub bundle: Option<PathBuf>,
    pub config_sha256: Option<String>,
    pub planned: Option<Value>,
    pub pid: Option<i32>,
    /// The init is alive and is the container's (pid and start time match).
    pub alive: bool,
    pub started: bool,
}

pub fn snapshot(root: &Path, id: &str) -> Snapshot {
    let Ok(dir) = ContainerDir::peek(root, id) else {
        return Snapshot::default();
    };
    let Ok(st) = dir.load() else {
        return Snapshot::default();
    };
    // Through spec's reader (a regular file, bounded, non-blocking open): the bundle's copy is
    // the caller's and may be a FIFO or /dev/zero by now.
    let config = crate::spec::read_config(&dir.path.join("config.json"))
        .or_else(|_| crate::spec::read_config(&st.bundle.join("config.json")))
        .ok();
    let planned = std::fs::read(dir.path.join(PLANNED_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    Snapshot {
        bundle: Some(st.bundle.clone()),
        config_sha256: config.map(|c| sha256::hex(&c)),
        planned,
        pid: (st.pid > 0).then_some(st.pid),
        alive: st.pid > 0 && state::process_start_time(st.pid) == Some(st.pid_start_time),
        started: st.started,
    }
}

/// Records an action on an existing container: the state is read now (after the action), and
/// the init observed when it is still the container's.
pub fn record(action: Action, root: &Path, id: &str, result: Result<(), String>) {
    record_with(action, id, snapshot(root, id), result, Map::new());
}

/// Records an action from a snapshot taken by the caller (delete takes it before removing the
/// state).
pub fn record_with(
    action: Action,
    id: &str,
    snap: Snapshot,
    result: Result<(), String>,
    details: Map<String, Value>,
) {
    if !enabled() {
        return;
    }
    let mut ev = Event::new(action, id);
    ev.bundle = snap.bundle;
    ev.config_sha256 = snap.config_sha256;
    ev.planned = snap.planned;
    ev.pid = snap.pid;
    ev.result = result;
    ev.details = details;
    match snap.pid {
        Some(pid) if snap.alive => {
            ev.observed = Some(readback::observe(pid));
            if !snap.started {
                ev.observed_note = Some(
                    "the init before start: it waits on exec.fifo with the runtime's setup done \
                     but the workload not yet exec'd; start's event reports the workload"
                        .into(),
                );
            }
        }
        Some(_) => {
            let note = match (action, ev.result.is_ok()) {
                (Action::Delete | Action::Exit, _) => {
                    "not read once the container is gone: its pid may be another process's by now"
                }
                (Action::Exec, false) => "the exec failed: no process of it to read",
                _ => "the container's init is not running",
            };
            ev.observed_note = Some(note.into());
        }
        None => ev.observed_note = Some("no container process".into()),
    }
    write(&ev);
}

/// An action that failed before a container state existed to read (a create refused early):
/// the bundle and config digest come from the bundle.
pub fn record_refused(action: Action, id: &str, bundle: &Path, err: String) {
    if !enabled() {
        return;
    }
    let mut ev = Event::new(action, id);
    ev.bundle = Some(
        bundle
            .canonicalize()
            .unwrap_or_else(|_| bundle.to_path_buf()),
    );
    // A refused config may be a FIFO or a device: read it the way create does, or not at all.
    ev.config_sha256 = crate::spec::read_config(&bundle.join("config.json"))
        .ok()
        .map(|c| sha256::hex(&c));
    ev.result = Err(err);
    ev.observed_note = Some("no container process".into());
    write(&ev);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("syslog").unwrap(),
            Target::Syslog(PathBuf::from("/dev/log"))
        );
        assert_eq!(
            parse_target("syslog:/tmp/s").unwrap(),
            Target::Syslog(PathBuf::from("/tmp/s"))
        );
        assert_eq!(
            parse_target("/var/log/a.jsonl").unwrap(),
            Target::File(PathBuf::from("/var/log/a.jsonl"))
        );
        assert!(parse_target("syslog:").is_err());
        assert!(parse_target("").is_err());
    }

    #[test]
    fn event_json_has_every_field() {
        let mut ev = Event::new(Action::Kill, "c1");
        ev.bundle = Some(PathBuf::from("/b"));
        ev.config_sha256 = Some("ab".into());
        ev.pid = Some(7);
        ev.result = Err("no such process".into());
        ev.details.insert("signal".into(), 9.into());
        let v = ev.to_json("2026-12-02T00:00:00Z", 0);
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["action"], "kill");
        assert_eq!(v["result"], "error");
        assert_eq!(v["error"], "no such process");
        assert_eq!(v["signal"], 9);
        assert_eq!(v["pid"], 7);
        assert!(v["observed"].is_null());
        assert!(v.get("planned").is_some());
        let ok = Event::new(Action::Start, "c1").to_json("t", 5);
        assert_eq!(ok["result"], "ok");
        assert!(ok.get("error").is_none());
        assert_eq!(ok["caller_uid"], 5);
    }

    #[test]
    fn syslog_is_rfc5424() {
        let m = syslog_message("2026-12-02T00:00:00Z", false, "{}");
        assert!(m.starts_with("<83>1 2026-12-02T00:00:00Z "), "{m}");
        assert!(m.contains(" rampart ") && m.ends_with(" audit - {}"), "{m}");
        let ok = syslog_message("t", true, "{}");
        assert!(ok.starts_with("<86>1 t "));
    }
}
