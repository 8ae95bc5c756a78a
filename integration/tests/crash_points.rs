//! A SIGKILL of the runtime at every step of create, start, run, exec, kill, update, pause,
//! resume and delete, followed by `list`, `state` and `delete -f`, leaves nothing behind.
//!
//! The steps are the crash points of `rampart::crash_points::ALL`, compiled only into the test
//! build of the binary (`$RAMPART_CRASH_BIN`, made by `make integration` with the
//! `crash-points` feature in target/crash-points). For each point the test runs the command that
//! reaches it with `RAMPART_CRASH_AT=<point>` and checks that
//! - the command died of SIGKILL, and the marker file says this very point was reached (a point
//!   skipped because the command took another way would otherwise pass unnoticed);
//! - `list` and `state` succeed and show the half-made container;
//! - `delete -f` succeeds, and then nothing of the container is left: no state directory and
//!   nothing else under the root (fifo, sockets, temp files), no cgroup directory in any
//!   hierarchy under /sys/fs/cgroup (its own or the parent the create made), no process whose
//!   command line, cgroup, root or cwd is the container's, and no mount naming the bundle or
//!   the state root in the mount table of any process (so in no mount namespace that a process
//!   still holds).
//!
//! Every point in `ALL` must be covered by a scenario here and reached, or the test fails: a new
//! point cannot be forgotten. `create:` and `init:` points run twice, with and without a user
//! namespace (`create:maps-written` exists only with one).

/// The runtime's `crash_points::ALL`, from the same file (the test does not link the runtime).
const ALL: &[&str] = include!("../../runtime/src/crash_point_names.rs");
use rampart_integration::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The test build of the binary, with crash points.
fn crash_bin() -> PathBuf {
    let p = std::env::var_os("RAMPART_CRASH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/crash-points/release/rampart")
        });
    assert!(
        p.exists(),
        "no crash-point build at {}: run `make integration`, or `cargo build --release -p rampart-cli --features crash-points --target-dir target/crash-points`",
        p.display()
    );
    p
}

/// What runs before the crashing command, and the command.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scenario {
    /// `create --pid-file` of a new container.
    Create,
    /// `start` of a created container.
    Start,
    /// `run` in the foreground (workload `sleep`, or `true` when it must exit).
    Run {
        exits: bool,
    },
    /// `exec` in a running container: detached `sleep`, or a foreground `true` that exits.
    Exec {
        foreground: bool,
    },
    /// `kill` (`--all` or not) KILL of a running container.
    Kill {
        all: bool,
    },
    Update,
    Pause,
    /// `resume` of a paused container.
    Resume,
    /// `delete -f` of a running (or paused) container.
    Delete {
        paused: bool,
    },
}

fn scenario(point: &str) -> Option<Scenario> {
    use Scenario::*;
    Some(match point {
        p if p.starts_with("create:") || p.starts_with("init:") => Create,
        p if p.starts_with("start:") => Start,
        "run:workload-exited" => Run { exits: true },
        p if p.starts_with("run:") => Run { exits: false },
        "exec:process-exited" => Exec { foreground: true },
        p if p.starts_with("exec:") => Exec { foreground: false },
        "kill:init-signalled" => Kill { all: false },
        "kill:all-signalled" => Kill { all: true },
        "update:applied" => Update,
        "pause:frozen" => Pause,
        "resume:thawed" => Resume,
        "delete:thawed" => Delete { paused: true },
        p if p.starts_with("delete:") => Delete { paused: false },
        _ => return None,
    })
}

/// One crash: its bundle, root, id and the files it uses.
struct Case {
    point: &'static str,
    userns: bool,
    root: Root,
    bundle: Bundle,
    id: String,
    work: TempDir,
}

impl Case {
    fn new(point: &'static str, userns: bool) -> Case {
        let id = unique("crash");
        let workload: &[&str] = match scenario(point) {
            Some(Scenario::Run { exits: true }) => &["true"],
            _ => &["sleep", "1000"],
        };
        let mut bundle = Bundle::new(workload);
        // Every optional step of create, start and delete on the way: hooks of each kind the
        // runtime runs itself, an oom score, a pid file (given below), a cgroup two levels deep
        // whose parent the create makes too.
        let cgroups_path = format!("/{id}-parent/{id}");
        bundle.edit(|c| {
            c["process"]["oomScoreAdj"] = json!(100);
            c["linux"]["cgroupsPath"] = json!(cgroups_path);
            let hook = json!([{"path": "/bin/true"}]);
            c["hooks"] = json!({
                "prestart": hook, "createRuntime": hook, "poststart": hook, "poststop": hook
            });
            if userns {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "user"}));
                c["linux"]["uidMappings"] =
                    json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
                c["linux"]["gidMappings"] =
                    json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            }
        });
        Case {
            point,
            userns,
            root: Root::new(),
            bundle,
            id,
            work: TempDir::new("crash-work"),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(crash_bin());
        c.arg("--root").arg(self.root.path()).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// The crash-point binary without a crash point armed.
    fn rampart(&self, args: &[&str]) -> Out {
        run_with_timeout(self.cmd(args), Duration::from_secs(60))
    }

    fn bundle_arg(&self) -> String {
        self.bundle.path().display().to_string()
    }

    fn pid_file(&self) -> String {
        self.work.path().join("pid").display().to_string()
    }

    /// Brings the container to where the crashing command starts from (with no point armed).
    fn prepare(&self, s: Scenario) -> Result<(), String> {
        let b = self.bundle_arg();
        let id = self.id.as_str();
        let need = |o: Out, what: &str| -> Result<(), String> {
            if o.code == 0 {
                Ok(())
            } else {
                Err(format!("{what} before the crash failed: {o:?}"))
            }
        };
        match s {
            Scenario::Create | Scenario::Run { .. } => return Ok(()),
            _ => need(self.rampart(&["create", "--bundle", &b, id]), "create")?,
        }
        if s == Scenario::Start {
            return Ok(());
        }
        need(self.rampart(&["start", id]), "start")?;
        if matches!(s, Scenario::Resume | Scenario::Delete { paused: true }) {
            need(self.rampart(&["pause", id]), "pause")?;
        }
        Ok(())
    }

    /// The command that reaches the point.
    fn crashing_args(&self, s: Scenario) -> Vec<String> {
        let (b, id, pid) = (self.bundle_arg(), self.id.clone(), self.pid_file());
        let v: Vec<&str> = match s {
            Scenario::Create => vec!["create", "--bundle", &b, "--pid-file", &pid, &id],
            Scenario::Start => vec!["start", &id],
            Scenario::Run { .. } => vec!["run", "--bundle", &b, "--pid-file", &pid, &id],
            Scenario::Exec { foreground: true } => vec!["exec", &id, "true"],
            Scenario::Exec { foreground: false } => {
                vec!["exec", "-d", "--pid-file", &pid, &id, "sleep", "1000"]
            }
            Scenario::Kill { all: false } => vec!["kill", &id, "KILL"],
            Scenario::Kill { all: true } => vec!["kill", "--all", &id, "KILL"],
            Scenario::Update => vec!["update", "--pids-limit", "50", &id],
            Scenario::Pause => vec!["pause", &id],
            Scenario::Resume => vec!["resume", &id],
            Scenario::Delete { .. } => vec!["delete", "--force", &id],
        };
        v.into_iter().map(String::from).collect()
    }

    /// Runs the whole case; Err says what went wrong (the caller collects every failure).
    fn run(&self) -> Result<(), String> {
        let s = scenario(self.point).ok_or("no scenario")?;
        self.prepare(s)?;
        self.crash(s)?;
        self.half_made_is_listed()?;
        let o = self.rampart(&["delete", "--force", &self.id]);
        if o.code != 0 {
            return Err(format!("delete -f after the crash failed: {o:?}"));
        }
        let left = self.leftovers();
        if !left.is_empty() {
            return Err(format!("left after delete -f: {left:#?}"));
        }
        Ok(())
    }

    /// Runs the crashing command with the point armed: it must die of SIGKILL there.
    fn crash(&self, s: Scenario) -> Result<(), String> {
        let mark = self.work.path().join("mark");
        let args = self.crashing_args(s);
        let mut c = self.cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
        c.env("RAMPART_CRASH_AT", self.point)
            .env("RAMPART_CRASH_MARK", &mark);
        // Files, not pipes: the container inherits them and would hold a pipe open.
        let out = self.work.path().join("crash.out");
        let f = fs::File::create(&out).map_err(|e| e.to_string())?;
        c.stdout(f.try_clone().map_err(|e| e.to_string())?)
            .stderr(f);
        let mut child = c.spawn().map_err(|e| format!("spawn {args:?}: {e}"))?;
        // A guard against a hang, not a measurement: every command here takes well under 1 s.
        let end = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
                break st;
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{args:?} hung with the point armed"));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let output = fs::read_to_string(&out).unwrap_or_default();
        if status.signal() != Some(libc::SIGKILL) {
            return Err(format!(
                "{args:?} did not die of SIGKILL at the point: {status:?}, output {output:?}"
            ));
        }
        let reached = fs::read_to_string(&mark).unwrap_or_default();
        if reached != format!("{}\n", self.point) {
            return Err(format!(
                "marker {reached:?}: the point was not the one reached (output {output:?})"
            ));
        }
        Ok(())
    }

    /// `list` and `state` succeed on the half-made container and show it.
    fn half_made_is_listed(&self) -> Result<(), String> {
        let l = self.rampart(&["list", "--format", "json"]);
        if l.code != 0 {
            return Err(format!("list failed after the crash: {l:?}"));
        }
        let all: Value = serde_json::from_str(&l.stdout)
            .map_err(|e| format!("list json {e}: {:?}", l.stdout))?;
        let listed = all
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["id"] == self.id.as_str())
            .cloned();
        let Some(listed) = listed else {
            return Err(format!("list does not show the container: {l:?}"));
        };
        let st = self.rampart(&["state", &self.id]);
        if st.code != 0 {
            return Err(format!("state failed after the crash: {st:?}"));
        }
        let v: Value = serde_json::from_str(&st.stdout)
            .map_err(|e| format!("state json {e}: {:?}", st.stdout))?;
        let known = ["creating", "created", "running", "paused", "stopped"];
        for (what, doc) in [("state", &v), ("list", &listed)] {
            if doc["id"] != self.id.as_str()
                || !known.contains(&doc["status"].as_str().unwrap_or(""))
            {
                return Err(format!("{what} shows {doc}"));
            }
        }
        Ok(())
    }

    /// Everything of the container still on the host.
    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        let root_entries: Vec<String> = fs::read_dir(self.root.path())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path().display().to_string())
                    .collect()
            })
            .unwrap_or_default();
        left.extend(
            root_entries
                .into_iter()
                .map(|p| format!("under the root: {p}")),
        );
        left.extend(
            cgroups_containing(&self.id)
                .into_iter()
                .map(|p| format!("cgroup {}", p.display())),
        );
        let needles = [self.bundle_arg(), self.root.path().display().to_string()];
        left.extend(mounts_in_any_namespace(&needles));
        left.extend(container_processes(&self.id, self.bundle.path()));
        left
    }
}

/// Lines of every process's mountinfo (one read per mount namespace) that name a needle.
fn mounts_in_any_namespace(needles: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for pid in all_pids() {
        let Ok(ns) = fs::read_link(format!("/proc/{pid}/ns/mnt")) else {
            continue;
        };
        if seen.contains(&ns) {
            continue;
        }
        seen.push(ns.clone());
        let text = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
        for l in text.lines() {
            if needles.iter().any(|n| l.contains(n.as_str())) {
                out.push(format!("mount in {} (pid {pid}): {l}", ns.display()));
            }
        }
    }
    out
}

fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Processes whose command line or cgroup names the id, or whose root or cwd is in the bundle.
fn container_processes(id: &str, bundle: &Path) -> Vec<String> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for pid in all_pids().into_iter().filter(|p| *p != me) {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let in_bundle = ["root", "cwd"].iter().any(|l| {
            fs::read_link(format!("/proc/{pid}/{l}")).is_ok_and(|p| p.starts_with(bundle))
        });
        if cmdline.contains(id) || cgroup.contains(id) || in_bundle {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            out.push(format!("process {pid}: {cmdline:?} stat {stat:?}"));
        }
    }
    out
}

/// Runs every point whose name starts with one of `prefixes`, with and without a user
/// namespace where `userns` says so; fails listing every point that failed.
fn sweep(prefixes: &[&str], userns: &[bool]) {
    let points: Vec<&'static str> = ALL
        .iter()
        .copied()
        .filter(|p| prefixes.iter().any(|x| p.starts_with(x)))
        .collect();
    assert!(
        !points.is_empty(),
        "no crash point starts with {prefixes:?}"
    );
    let mut failures = Vec::new();
    let mut runs = 0;
    for &point in &points {
        for &u in userns {
            if point == "create:maps-written" && !u {
                continue; // maps are written only for a user namespace
            }
            let case = Case::new(point, u);
            runs += 1;
            if let Err(e) = case.run() {
                failures.push(format!("{point} (userns {}): {e}", case.userns));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} crashes failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    eprintln!("{runs} crashes at {} points, nothing left", points.len());
}

#[test]
fn every_crash_point_has_a_scenario() {
    let missing: Vec<_> = ALL.iter().filter(|p| scenario(p).is_none()).collect();
    assert!(missing.is_empty(), "points with no scenario: {missing:?}");
    // Each point belongs to one of the sweeps below.
    let swept = [
        "create:", "init:", "start:", "run:", "exec:", "kill:", "update:", "pause:", "resume:",
        "delete:",
    ];
    let unswept: Vec<_> = ALL
        .iter()
        .filter(|p| !swept.iter().any(|s| p.starts_with(s)))
        .collect();
    assert!(unswept.is_empty(), "points no sweep runs: {unswept:?}");
}

#[test]
fn a_crash_anywhere_in_create_leaves_nothing_after_delete_force() {
    sweep(&["create:", "init:"], &[false, true]);
}

#[test]
fn a_crash_anywhere_in_start_or_run_leaves_nothing_after_delete_force() {
    sweep(&["start:", "run:"], &[false]);
}

#[test]
fn a_crash_anywhere_in_exec_leaves_nothing_after_delete_force() {
    sweep(&["exec:"], &[false]);
}

#[test]
fn a_crash_in_kill_update_pause_resume_or_delete_leaves_nothing_after_delete_force() {
    sweep(
        &["kill:", "update:", "pause:", "resume:", "delete:"],
        &[false],
    );
}
