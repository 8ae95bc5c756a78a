//! `--audit-log`: one JSON line per lifecycle action and per exit, through the real binary. The
//! confinement an event reports as observed is compared with what the container's own process
//! reads from /proc/self/status inside; cgroup values with what pause and update did.
use rampart_integration::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `rampart --root R --audit-log LOG args...`
fn audited<S: AsRef<OsStr>>(r: &Root, log: &Path, args: &[S]) -> Out {
    let mut all: Vec<&OsStr> = vec![OsStr::new("--audit-log"), log.as_os_str()];
    all.extend(args.iter().map(|a| a.as_ref()));
    r.rampart(&all)
}

/// Every line of the log, each parsed (a line that is not JSON fails the test).
fn events(log: &Path) -> Vec<Value> {
    let text = fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn sha256_of(p: &Path) -> String {
    let o = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The fields every event carries, whatever its action.
#[track_caller]
fn assert_common(ev: &Value, id: &str) {
    assert_eq!(ev["schema"], "rampart.audit/1", "{ev}");
    assert_eq!(ev["id"], id, "{ev}");
    let t = ev["time"].as_str().unwrap_or_default();
    // RFC 3339 in UTC: 2026-12-02T14:39:43.085881820Z
    assert!(
        t.len() >= 20 && t.as_bytes()[10] == b'T' && t.ends_with('Z'),
        "time {t:?}"
    );
    assert_eq!(ev["caller_uid"], 0, "{ev}");
    assert!(ev["result"] == "ok" || ev["result"] == "error", "{ev}");
    for k in ["bundle", "config_sha256", "pid", "observed", "planned"] {
        assert!(ev.get(k).is_some(), "no {k} in {ev}");
    }
}

/// A /proc/PID/status text as key -> value.
fn status_fields(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The confinement an event observed equals what the process itself read from
/// /proc/self/status inside the container.
#[track_caller]
fn assert_matches_inside(observed: &Value, inside: &str) {
    let f = status_fields(inside);
    for (key, name) in [
        ("CapInh", "inheritable"),
        ("CapPrm", "permitted"),
        ("CapEff", "effective"),
        ("CapBnd", "bounding"),
        ("CapAmb", "ambient"),
    ] {
        assert_eq!(
            observed["capabilities"][name].as_str(),
            f.get(key).map(|s| s.as_str()),
            "{key}: {observed}"
        );
    }
    assert_eq!(
        observed["no_new_privs"],
        Value::Bool(f["NoNewPrivs"] == "1"),
        "{observed}"
    );
    assert_eq!(
        observed["seccomp"]["mode"].to_string(),
        f["Seccomp"],
        "{observed}"
    );
    assert_eq!(
        observed["seccomp"]["filters"].to_string(),
        f["Seccomp_filters"],
        "{observed}"
    );
}

/// The workload's own /proc/self/status, read by the shell itself (a builtin read loop, so
/// /proc/self is the process the event is about, not a cat child).
const READ_STATUS: &str = "while IFS= read -r l; do echo \"$l\"; done < /proc/self/status";

#[test]
fn full_lifecycle_one_line_per_action_with_observed_confinement() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        &format!("{READ_STATUS} > /out/status; touch /out/ready; sleep 600"),
    ]);
    let out = b.bind_dir("/out", false);
    let log = b.path().join("audit.jsonl");
    let id = unique("audit");
    let bundle = b.path().canonicalize().unwrap();
    let digest = sha256_of(&bundle.join("config.json"));

    audited(
        &r,
        &log,
        &["create", "--bundle", bundle.to_str().unwrap(), &id],
    )
    .ok();
    audited(&r, &log, &["start", &id]).ok();
    assert!(wait_for_path(&out.join("ready"), 30), "workload never ran");
    let exec = audited(&r, &log, &["exec", &id, "sh", "-c", READ_STATUS]);
    exec.ok();
    audited(&r, &log, &["pause", &id]).ok();
    audited(&r, &log, &["resume", &id]).ok();
    audited(&r, &log, &["update", "--pids-limit", "77", &id]).ok();
    audited(&r, &log, &["kill", &id, "KILL"]).ok();
    assert!(r.wait_status(&id, "stopped", 20), "not stopped after KILL");
    audited(&r, &log, &["delete", &id]).ok();

    let evs = events(&log);
    let actions: Vec<&str> = evs.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["create", "start", "exec", "pause", "resume", "update", "kill", "exit", "delete"],
        "{evs:#?}"
    );
    let init_pid = evs[0]["pid"].as_i64().unwrap();
    for ev in &evs {
        assert_common(ev, &id);
        assert_eq!(ev["result"], "ok", "{ev}");
        assert_eq!(ev["bundle"], bundle.to_str().unwrap(), "{ev}");
        assert_eq!(ev["config_sha256"], digest.as_str(), "{ev}");
    }
    // Only the plan knows the seccomp default action and program: the same at every step.
    let planned = &evs[1]["planned"];
    assert_eq!(
        planned["seccomp"]["default_action"], b.config["linux"]["seccomp"]["defaultAction"],
        "{planned}"
    );
    let bpf = planned["seccomp"]["bpf_sha256"].as_str().unwrap();
    assert_eq!(bpf.len(), 64, "{planned}");
    assert_eq!(evs[0]["planned"], *planned);
    assert_eq!(evs[2]["planned"]["seccomp"]["bpf_sha256"], bpf);

    // start: the workload (the init after its exec), as it sees itself.
    let start = &evs[1];
    assert_eq!(start["pid"], init_pid);
    let inside = fs::read_to_string(out.join("status")).unwrap();
    assert_matches_inside(&start["observed"], &inside);
    assert_eq!(start["observed"]["no_new_privs"], true, "{start}");
    assert_eq!(start["observed"]["seccomp"]["mode"], 2, "{start}");
    for ns in ["pid", "mnt", "net", "ipc", "uts", "cgroup"] {
        assert_eq!(
            start["observed"]["namespaces"][ns]["private"], true,
            "{ns}: {start}"
        );
    }
    assert_eq!(
        start["observed"]["mounts"]["readonly_root"], true,
        "{start}"
    );
    let masked: Vec<&str> = start["observed"]["mounts"]["masked_paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for p in b.config["linux"]["maskedPaths"].as_array().unwrap() {
        let p = p.as_str().unwrap();
        // Masking a path the kernel does not have is skipped (this kernel has no /proc/kcore).
        if Path::new(p).exists() {
            assert!(masked.contains(&p), "{p} not observed masked: {masked:?}");
        }
    }
    assert_eq!(
        start["observed"]["uid_map"],
        serde_json::json!([[0, 0, 4294967295u64]])
    );

    // exec: the exec'd process, not the init, and what it read itself.
    let ex = &evs[2];
    assert_ne!(ex["pid"], init_pid, "{ex}");
    assert_eq!(ex["init_pid"], init_pid, "{ex}");
    assert_matches_inside(&ex["observed"], &exec.stdout);

    // pause/resume/update: the cgroup files as they were right after.
    let cg = |ev: &Value, k: &str| ev["observed"]["cgroup"]["v1"][k].clone();
    assert_eq!(cg(&evs[3], "freezer_state"), "FROZEN", "{}", evs[3]);
    assert_eq!(cg(&evs[4], "freezer_state"), "THAWED", "{}", evs[4]);
    assert_eq!(cg(&evs[5], "pids_max"), "77", "{}", evs[5]);
    assert_eq!(evs[6]["signal"], 9);

    // exit: reported by delete, whose status rampart cannot see (not its child).
    assert_eq!(evs[7]["reported_by"], "delete");
    assert_eq!(evs[7]["killed_by_delete"], false);
    assert!(evs[7]["exit_status"].is_null());
    assert!(evs[8]["observed"].is_null(), "nothing read after delete");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn foreground_run_reports_the_exit_status() {
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "exit 7"]);
    let log = b.path().join("audit.jsonl");
    let id = unique("audit-run");
    let o = audited(
        &r,
        &log,
        &["run", "--bundle", b.path().to_str().unwrap(), &id],
    );
    assert_eq!(o.code, 7, "{o:?}");
    let evs = events(&log);
    let actions: Vec<&str> = evs.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "start", "exit", "delete"], "{evs:#?}");
    assert_eq!(evs[2]["exit_status"], 7);
    assert_eq!(evs[2]["reported_by"], "run");
    for ev in &evs {
        assert_common(ev, &id);
    }
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn failing_actions_log_an_error_line() {
    let r = Root::new();
    let mut b = Bundle::new(&["true"]);
    let log = b.path().join("audit.jsonl");
    let id = unique("audit-fail");
    audited(&r, &log, &["start", &id]).fails();
    // A config the plan refuses: create fails before any process exists.
    b.edit(|c| c["root"]["path"] = serde_json::json!("no-such-rootfs"));
    audited(
        &r,
        &log,
        &["create", "--bundle", b.path().to_str().unwrap(), &id],
    )
    .fails();
    audited(&r, &log, &["kill", &id, "9"]).fails();
    let evs = events(&log);
    let actions: Vec<&str> = evs.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["start", "create", "kill"], "{evs:#?}");
    for ev in &evs {
        assert_common(ev, &id);
        assert_eq!(ev["result"], "error", "{ev}");
        assert!(ev["observed"].is_null(), "{ev}");
    }
    assert!(
        evs[0]["error"].as_str().unwrap().contains("does not exist"),
        "{}",
        evs[0]
    );
    assert!(
        evs[1]["error"].as_str().unwrap().contains("no-such-rootfs"),
        "{}",
        evs[1]
    );
    assert_eq!(
        evs[1]["config_sha256"],
        sha256_of(&b.path().join("config.json")).as_str()
    );
    assert!(!r.path().join(&id).exists());
}

#[test]
fn an_unwritable_audit_log_does_not_fail_the_action() {
    let r = Root::new();
    let b = Bundle::new(&["true"]);
    let id = unique("audit-open");
    let log = b.path().join("no-such-dir/audit.jsonl");
    let o = audited(
        &r,
        &log,
        &["run", "--bundle", b.path().to_str().unwrap(), &id],
    );
    o.ok();
    assert!(
        o.stderr
            .contains("audit events of this command are not recorded"),
        "{o:?}"
    );
    assert!(!log.exists());
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn fifty_parallel_lifecycles_share_one_log() {
    const N: usize = 50;
    let r = std::sync::Arc::new(Root::new());
    let b = std::sync::Arc::new(Bundle::new(&["true"]));
    let log = b.path().join("audit.jsonl");
    let ids: Vec<String> = (0..N).map(|_| unique("audit-par")).collect();
    let threads: Vec<_> = ids
        .iter()
        .cloned()
        .map(|id| {
            let (r, b, log) = (r.clone(), b.clone(), log.clone());
            std::thread::spawn(move || {
                let o = audited(
                    &r,
                    &log,
                    &["run", "--bundle", b.path().to_str().unwrap(), &id],
                );
                (id, o)
            })
        })
        .collect();
    for t in threads {
        let (id, o) = t.join().unwrap();
        assert_eq!(o.code, 0, "{id}: {o:?}");
    }
    let evs = events(&log);
    assert_eq!(evs.len(), N * 4, "lines in the log");
    for id in &ids {
        let mine: Vec<&str> = evs
            .iter()
            .filter(|e| e["id"] == id.as_str())
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(mine, ["create", "start", "exit", "delete"], "{id}");
    }
    for ev in &evs {
        assert_eq!(ev["result"], "ok", "{ev}");
        if ev["action"] == "exit" {
            assert_eq!(ev["exit_status"], 0, "{ev}");
        }
    }
    for id in &ids {
        assert_nothing_left(&r, &b, id);
    }
}

#[test]
fn syslog_datagrams_to_a_given_socket() {
    let r = Root::new();
    let b = Bundle::new(&["true"]);
    let sock_path = b.path().join("log.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let id = unique("audit-syslog");
    let target = format!("syslog:{}", sock_path.display());
    let o = r.rampart(&[
        "--audit-log",
        &target,
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    o.ok();
    let mut actions = Vec::new();
    let mut buf = vec![0u8; 65536];
    for _ in 0..4 {
        let n = sock.recv(&mut buf).expect("a syslog datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        // RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG; authpriv.info = 86.
        assert!(msg.starts_with("<86>1 "), "{msg}");
        let (head, body) = msg.split_once(" audit - ").expect("msgid audit, no SD");
        assert!(head.contains(" rampart "), "{head}");
        let ev: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_common(&ev, &id);
        actions.push(ev["action"].as_str().unwrap().to_string());
    }
    assert_eq!(actions, ["create", "start", "exit", "delete"]);
    drop(sock);
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn user_namespace_maps_and_namespaces_match_inside() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        &format!(
            "cat /proc/self/uid_map > /out/uid_map; cat /proc/self/gid_map > /out/gid_map; \
             readlink /proc/self/ns/user > /out/userns; readlink /proc/self/ns/pid > /out/pidns; \
             {READ_STATUS} > /out/status; touch /out/ready; sleep 600"
        ),
    ]);
    let out = b.bind_dir("/out", false);
    // Root of the container is host uid 100000 / gid 200000: let it write the probe's files.
    std::os::unix::fs::chown(&out, Some(100000), Some(200000)).unwrap();
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user"}));
        c["linux"]["uidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] =
            serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    let log = b.path().join("audit.jsonl");
    let id = unique("audit-userns");
    audited(
        &r,
        &log,
        &["run", "-d", "--bundle", b.path().to_str().unwrap(), &id],
    )
    .ok();
    assert!(wait_for_path(&out.join("ready"), 30), "workload never ran");
    audited(&r, &log, &["delete", "--force", &id]).ok();

    let evs = events(&log);
    let actions: Vec<&str> = evs.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "start", "exit", "delete"], "{evs:#?}");
    assert_eq!(evs[2]["killed_by_delete"], true);
    let obs = &evs[1]["observed"];
    let rows = |f: &str| -> Value {
        let text = fs::read_to_string(out.join(f)).unwrap();
        let rows: Vec<Vec<u64>> = text
            .lines()
            .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
            .collect();
        serde_json::json!(rows)
    };
    assert_eq!(obs["uid_map"], rows("uid_map"), "{obs}");
    assert_eq!(obs["gid_map"], rows("gid_map"), "{obs}");
    assert_eq!(obs["uid_map"], serde_json::json!([[0, 100000, 65536]]));
    let inside = |f: &str| fs::read_to_string(out.join(f)).unwrap().trim().to_string();
    assert_eq!(obs["namespaces"]["user"]["id"], inside("userns").as_str());
    assert_eq!(obs["namespaces"]["pid"]["id"], inside("pidns").as_str());
    assert_eq!(obs["namespaces"]["user"]["private"], true);
    assert_matches_inside(obs, &fs::read_to_string(out.join("status")).unwrap());
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn rootless_caller_is_recorded_with_its_uid() {
    let u = UserSession::new();
    let b = u.bundle(&["sh", "-c", "exit 3"]);
    let log = u.dir.path().join("audit.jsonl");
    let id = unique("audit-rootless");
    let o = u.rampart(&[
        "--audit-log",
        log.to_str().unwrap(),
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    assert_eq!(o.code, 3, "{o:?}");
    let evs = events(&log);
    let actions: Vec<&str> = evs.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "start", "exit", "delete"], "{evs:#?}");
    for ev in &evs {
        assert_eq!(ev["caller_uid"], ROOTLESS_UID, "{ev}");
        assert_eq!(ev["result"], "ok", "{ev}");
    }
    assert_eq!(evs[2]["exit_status"], 3);
    // The log is the caller's own file, made 0600.
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(&log).unwrap();
    assert_eq!((md.uid(), md.mode() & 0o777), (ROOTLESS_UID, 0o600));
    assert!(u.ids().is_empty());
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {p:?}"
    );
}

/// Attack: an audit log path that is not a plain file of the caller's. Before, the log was
/// opened blocking and following symlinks: a FIFO without a reader hung every command, and a
/// symlink made root append to the file it names. Now each is refused (fail-open: the command
/// runs and warns), and the symlink's target is left as it was.
#[test]
fn an_unsafe_audit_log_is_refused_and_not_written_through() {
    let r = Root::new();
    let dir = TempDir::new("al-unsafe");
    let victim = dir.path().join("victim");
    fs::write(&victim, "host file\n").unwrap();
    let link = dir.path().join("log-link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let fifo = dir.path().join("log-fifo");
    mkfifo(&fifo);
    let shared = dir.path().join("log-shared");
    fs::write(&shared, "").unwrap();
    fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    for (log, why) in [
        (&link, "symbolic link"),
        (&fifo, "No such device or address"),
        (&shared, "writable by group or others"),
    ] {
        let o = run_with_timeout(
            r.cmd(&[
                OsStr::new("--audit-log"),
                log.as_os_str(),
                OsStr::new("list"),
            ]),
            Duration::from_secs(20),
        );
        assert_eq!(o.code, 0, "{log:?}: list failed or hung: {o:#?}");
        assert!(
            o.stderr.contains(why) && o.stderr.contains("not recorded"),
            "{log:?}: no warning naming {why:?}: {o:#?}"
        );
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "host file\n");
    assert_eq!(fs::read_to_string(&shared).unwrap(), "");
    // A FIFO with a reader opens, and is still refused (lines over PIPE_BUF would interleave).
    let reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let o = run_with_timeout(
        r.cmd(&[
            OsStr::new("--audit-log"),
            fifo.as_os_str(),
            OsStr::new("list"),
        ]),
        Duration::from_secs(20),
    );
    drop(reader);
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(o.stderr.contains("not a regular file"), "{o:#?}");
}

/// Attack: a FIFO as config.json with the audit log on. create refuses it without reading
/// (spec's check), but the refusal's event re-read the bundle's config.json for its digest with
/// a plain blocking read: create hung. Now the event reads it as create does.
#[test]
fn a_fifo_config_with_the_audit_log_is_an_error_not_a_hang() {
    let r = Root::new();
    let dir = TempDir::new("al-fifo");
    fs::create_dir_all(dir.path().join("rootfs")).unwrap();
    mkfifo(&dir.path().join("config.json"));
    let log = dir.path().join("audit.jsonl");
    let o = run_with_timeout(
        r.cmd(&[
            OsStr::new("--audit-log"),
            log.as_os_str(),
            OsStr::new("create"),
            OsStr::new("--bundle"),
            dir.path().as_os_str(),
            OsStr::new("al-fifo"),
        ]),
        Duration::from_secs(20),
    );
    assert_eq!(o.code, 1, "create hung or did not fail cleanly: {o:#?}");
    assert!(o.stderr.contains("not a regular file"), "{o:#?}");
    let ev = events(&log);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0]["action"], "create");
    assert_eq!(ev[0]["result"], "error", "{ev:#?}");
    assert!(ev[0]["config_sha256"].is_null(), "{ev:#?}");
    assert!(r.ids().is_empty());
}
