//! cgroups through the real binary on the host's v1 (hybrid) layout: limits hold, are visible in
//! the cgroup files inside and outside, can be updated, cannot be raised from inside; pause,
//! ps, events; and no cgroup survives any test, failed creates included. The v2 side of the same
//! behaviour is tested in the VM (vm/tests/).

use rampart_integration::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The host's v1 directory of cgroup `rel` (no leading '/') for `controller`.
fn v1(controller: &str, rel: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(controller).join(rel)
}

fn read(p: &Path) -> String {
    fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

fn is_v1_host() -> bool {
    Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists()
}

/// Skips (passes with a note) where the host has no v1 memory hierarchy; the VM covers v2.
macro_rules! require_v1 {
    () => {
        if !is_v1_host() {
            eprintln!("skipped: not a cgroup v1/hybrid host");
            return;
        }
    };
}

fn set_resources(b: &mut Bundle, key: &str, v: Value) {
    b.edit(|c| c["linux"]["resources"][key] = v);
}

fn add_caps(b: &mut Bundle, caps: &[&str]) {
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            let a = c["process"]["capabilities"][set].as_array_mut().unwrap();
            for cap in caps {
                a.push(json!(cap));
            }
        }
    });
}

/// `run -d`, asserting success.
fn run_detached(r: &Root, b: &Bundle, id: &str) {
    r.rampart(&[
        OsStr::new("run"),
        OsStr::new("-d"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ])
    .ok();
}

fn delete(r: &Root, id: &str) {
    r.rampart(&["delete", "--force", id]).ok();
}

#[test]
fn oom_kill_past_memory_limit_exits_137_and_is_counted() {
    require_v1!();
    let r = Root::new();
    // dd's 64 MiB buffer is filled from /dev/zero: more than the 16 MiB the cgroup allows, and
    // swap is capped at the same value, so the only way out is the OOM killer.
    let mut b = Bundle::new(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    set_resources(
        &mut b,
        "memory",
        json!({"limit": 16 << 20, "swap": 16 << 20}),
    );

    let id = unique("cg-oom-run");
    let o = r.run(&b, &id);
    assert_eq!(o.code, 137, "expected SIGKILL by the OOM killer: {o:#?}");
    assert_nothing_left(&r, &b, &id);

    // Again through create/start, to read the kernel's own count before delete, with `events`
    // streaming: it must report the kill as an "oom" event and end when the container stops.
    let id = unique("cg-oom-events");
    r.create(&b, &id);
    let mut ev = r
        .cmd(&["events", "--interval", "1s", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The stream's first line (stats, printed at once) says it is watching: only then start.
    let mut stdout = BufReader::new(ev.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("\"type\":\"stats\""), "{first}");
    r.rampart(&["start", &id]).ok();
    assert!(r.wait_status(&id, "stopped", 30), "container did not stop");
    let oom_control = read(&v1("memory", &format!("rampart-{id}")).join("memory.oom_control"));
    assert!(
        oom_control
            .lines()
            .any(|l| l.starts_with("oom_kill ") && l != "oom_kill 0"),
        "no OOM kill counted: {oom_control}"
    );
    let pid = ev.id() as i32;
    let guard = std::thread::spawn(move || {
        // The stream must end by itself; kill it (our own child, by pid) only if it hangs.
        if !wait_pid_gone(pid, 30) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut text = String::new();
    stdout.read_to_string(&mut text).unwrap();
    let status = ev.wait().unwrap();
    guard.join().unwrap();
    assert!(status.success(), "events failed: {status:?} {text}");
    let oom: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "oom")
        .collect();
    assert_eq!(oom.len(), 1, "one oom event expected in: {text}");
    assert_eq!(oom[0]["id"], json!(id));
    delete(&r, &id);
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn fork_loop_stops_at_pids_max() {
    require_v1!();
    let r = Root::new();
    // An inner shell starts 30 background sleeps against a limit of 8 and dies (status 2) at
    // the first fork the kernel refuses. Then: the outer shell, 6 sleeps = 7 tasks, one refused
    // fork counted in pids.events. `read` is a builtin: no fork needed to report.
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "sh -c 'for i in $(seq 1 30); do sleep 60 & done' 2>/dev/null; echo rc=$?; \
         read c </sys/fs/cgroup/pids/pids.current; read m </sys/fs/cgroup/pids/pids.max; \
         read e </sys/fs/cgroup/pids/pids.events; echo current=$c max=$m events=$e",
    ]);
    set_resources(&mut b, "pids", json!({"limit": 8}));
    let id = unique("cg-pids");
    let out = run_ok(&r, &b, &id);
    assert_eq!(out.trim(), "rc=2\ncurrent=7 max=8 events=max 1");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn cpu_quota_and_cpuset_are_in_the_cgroup_files() {
    require_v1!();
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us \
         /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus; \
         grep Cpus_allowed_list /proc/self/status",
    ]);
    set_resources(
        &mut b,
        "cpu",
        json!({"quota": 25000, "period": 50000, "shares": 512, "cpus": "0"}),
    );
    let id = unique("cg-cpu");
    let out = run_ok(&r, &b, &id);
    let lines: Vec<&str> = out.lines().map(|l| l.trim()).collect();
    assert_eq!(lines[..4], ["25000", "50000", "512", "0"], "{out}");
    assert!(lines[4].ends_with("\t0"), "not pinned to cpu 0: {out}");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn denied_device_cannot_be_opened() {
    require_v1!();
    let r = Root::new();
    // With CAP_MKNOD the container can make any node on its /dev tmpfs, but the device cgroup
    // decides what it may open: /dev/null (allowed by default) opens, 1:11 (kmsg) does not. The
    // open is write-only and writes nothing (`true` is a regular builtin: a failed redirection
    // does not end the shell as it would for `:`), so nothing reaches the host's log.
    let script = "mknod /dev/t-null c 1 3 && mknod /dev/t-kmsg c 1 11 || exit 9; \
                  if true >/dev/t-null; then echo null=ok; else echo null=denied; fi; \
                  if true >/dev/t-kmsg; then echo kmsg=ok; else echo kmsg=denied; fi";
    let mut b = Bundle::new(&["sh", "-c", script]);
    add_caps(&mut b, &["CAP_MKNOD"]);
    let id = unique("cg-dev");
    let o = r.run(&b, &id);
    o.ok();
    assert_eq!(o.stdout.trim(), "null=ok\nkmsg=denied", "{o:#?}");
    assert!(o.stderr.contains("Operation not permitted"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);

    // The same node opens once the config allows it: the denial above came from the cgroup.
    b.edit(|c| {
        c["linux"]["resources"]["devices"]
            .as_array_mut()
            .unwrap()
            .push(json!({"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}))
    });
    let id = unique("cg-dev-allowed");
    let out = run_ok(&r, &b, &id);
    assert_eq!(out.trim(), "null=ok\nkmsg=ok");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn update_changes_limits_of_a_running_container() {
    require_v1!();
    let r = Root::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    set_resources(&mut b, "memory", json!({"limit": 64 << 20}));
    let id = unique("cg-update");
    run_detached(&r, &b, &id);
    let cg = format!("rampart-{id}");
    assert_eq!(
        read(&v1("memory", &cg).join("memory.limit_in_bytes")),
        (64 << 20).to_string()
    );

    r.rampart(&[
        "update",
        "--memory",
        "96m",
        "--memory-swap",
        "96m",
        "--pids-limit",
        "33",
        "--cpu-quota",
        "30000",
        "--cpu-period",
        "100000",
        "--cpu-shares",
        "256",
        "--cpuset-cpus",
        "0",
        &id,
    ])
    .ok();
    assert_eq!(
        read(&v1("memory", &cg).join("memory.limit_in_bytes")),
        (96 << 20).to_string()
    );
    assert_eq!(
        read(&v1("memory", &cg).join("memory.memsw.limit_in_bytes")),
        (96 << 20).to_string()
    );
    assert_eq!(read(&v1("pids", &cg).join("pids.max")), "33");
    assert_eq!(read(&v1("cpu", &cg).join("cpu.cfs_quota_us")), "30000");
    assert_eq!(read(&v1("cpu", &cg).join("cpu.shares")), "256");
    assert_eq!(read(&v1("cpuset", &cg).join("cpuset.cpus")), "0");

    // containerd's form: LinuxResources JSON on stdin.
    let mut c = r.cmd(&["update", "--resources", "-", &id]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"memory": {"limit": 134217728, "swap": 134217728}, "pids": {"limit": 44}}"#)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        read(&v1("memory", &cg).join("memory.limit_in_bytes")),
        "134217728"
    );
    assert_eq!(read(&v1("pids", &cg).join("pids.max")), "44");

    // podman's form: a file.
    let f = b.path().join("res.json");
    fs::write(&f, r#"{"pids": {"limit": 55}}"#).unwrap();
    r.rampart(&[
        OsStr::new("update"),
        OsStr::new("--resources"),
        f.as_os_str(),
        OsStr::new(&id),
    ])
    .ok();
    assert_eq!(read(&v1("pids", &cg).join("pids.max")), "55");

    // Bad input fails clearly and changes nothing.
    let o = r.rampart(&["update", "--memory", "lots", &id]);
    o.fails();
    assert!(o.stderr.contains("--memory"), "{o:#?}");
    assert_eq!(read(&v1("pids", &cg).join("pids.max")), "55");

    delete(&r, &id);
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn pause_freezes_and_resume_thaws() {
    require_v1!();
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "sleep 1000 & exec sleep 1000"]);
    let id = unique("cg-pause");
    run_detached(&r, &b, &id);
    let freezer = v1("freezer", &format!("rampart-{id}")).join("freezer.state");
    assert_eq!(read(&freezer), "THAWED");

    r.rampart(&["pause", &id]).ok();
    assert_eq!(r.status(&id), "paused");
    assert_eq!(read(&freezer), "FROZEN");
    // Paused twice is an error, as is resuming a running one.
    r.rampart(&["pause", &id]).fails();

    r.rampart(&["resume", &id]).ok();
    assert_eq!(r.status(&id), "running");
    assert_eq!(read(&freezer), "THAWED");
    r.rampart(&["resume", &id]).fails();

    // A paused container can still be force-deleted: it is thawed and killed.
    r.rampart(&["pause", &id]).ok();
    delete(&r, &id);
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn limits_cannot_be_raised_from_inside() {
    require_v1!();
    let r = Root::new();
    // Root in the container tries to lift its memory and pids limits and to remount the
    // hierarchy read-write; then it reports what the files say.
    let script =
        "echo 1073741824 >/sys/fs/cgroup/memory/memory.limit_in_bytes && echo wrote-memory; \
                  echo max >/sys/fs/cgroup/pids/pids.max && echo wrote-pids; \
                  mkdir /sys/fs/cgroup/pids/sub && echo made-subcgroup; \
                  mount -o remount,rw /sys/fs/cgroup/memory && echo remounted; \
                  cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; \
                  grep ' /sys/fs/cgroup/memory ' /proc/self/mountinfo";
    let mut b = Bundle::new(&["sh", "-c", script]);
    set_resources(&mut b, "memory", json!({"limit": 32 << 20}));
    set_resources(&mut b, "pids", json!({"limit": 20}));
    let id = unique("cg-ro");
    let o = r.run(&b, &id);
    o.ok();
    for bad in ["wrote-memory", "wrote-pids", "made-subcgroup", "remounted"] {
        assert!(!o.stdout.contains(bad), "{bad}: {o:#?}");
    }
    assert!(o.stderr.contains("Read-only file system"), "{o:#?}");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], (32 << 20).to_string());
    assert_eq!(lines[1], "20");
    assert!(
        lines[2].contains(" ro,") || lines[2].contains(" ro "),
        "not read-only: {}",
        lines[2]
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn ps_lists_host_pids_of_the_container() {
    require_v1!();
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "sleep 1000 & exec sleep 999"]);
    let id = unique("cg-ps");
    run_detached(&r, &b, &id);
    let init = r.state(&id)["pid"].as_i64().unwrap() as i32;
    let o = r.rampart(&["ps", "--format", "json", &id]);
    o.ok();
    let pids: Vec<i32> = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&init), "{pids:?} lacks init {init}");
    for p in &pids {
        let cmd = fs::read_to_string(format!("/proc/{p}/cmdline")).unwrap();
        assert!(cmd.starts_with("sleep\0"), "pid {p} is {cmd:?}");
    }
    // Table form: the host's ps, its header, and exactly the container's lines.
    let o = r.rampart(&["ps", &id]);
    o.ok();
    let mut lines = o.stdout.lines();
    assert!(lines.next().unwrap().contains("PID"), "{o:#?}");
    assert_eq!(lines.count(), 2, "{o:#?}");
    let o = r.rampart(&["ps", &id, "--", "-o", "pid,comm"]);
    o.ok();
    assert_eq!(
        o.stdout
            .lines()
            .skip(1)
            .filter(|l| l.contains("sleep"))
            .count(),
        2,
        "{o:#?}"
    );
    delete(&r, &id);
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn events_stats_prints_one_json_object() {
    require_v1!();
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "sleep 1000 & exec sleep 999"]);
    set_resources(&mut b, "memory", json!({"limit": 48 << 20}));
    set_resources(&mut b, "pids", json!({"limit": 77}));
    let id = unique("cg-events");
    run_detached(&r, &b, &id);
    let o = r.rampart(&["events", "--stats", &id]);
    o.ok();
    assert_eq!(o.stdout.trim().lines().count(), 1, "{o:#?}");
    let v: Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], json!(id));
    let d = &v["data"];
    assert_eq!(d["memory"]["usage"]["limit"], json!(48u64 << 20), "{d}");
    assert!(d["memory"]["usage"]["usage"].as_u64().unwrap() > 0, "{d}");
    assert_eq!(d["pids"]["current"], json!(2), "{d}");
    assert_eq!(d["pids"]["limit"], json!(77), "{d}");
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap() > 0, "{d}");
    assert!(d["blkio"].is_object() && d["hugetlb"].is_object(), "{d}");
    delete(&r, &id);
    // A stopped container has no stats.
    r.rampart(&["events", "--stats", &id]).fails();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn delete_kills_what_is_left_in_the_cgroup() {
    require_v1!();
    let r = Root::new();
    // Without a pid namespace, killing the init leaves its child running in the cgroup.
    let mut b = Bundle::new(&["sh", "-c", "sleep 1000 & exec sleep 999"]);
    b.drop_namespace("pid");
    let id = unique("cg-leftover");
    run_detached(&r, &b, &id);
    let init = r.state(&id)["pid"].as_i64().unwrap() as i32;
    let o = r.rampart(&["ps", "--format", "json", &id]);
    let pids: Vec<i32> = serde_json::from_str(o.ok().stdout.trim()).unwrap();
    let child = *pids
        .iter()
        .find(|p| **p != init)
        .expect("the background sleep");
    r.rampart(&["kill", &id, "KILL"]).ok();
    assert!(r.wait_status(&id, "stopped", 10));
    assert!(pid_alive(child), "the child should outlive the init");
    r.rampart(&["delete", &id]).ok();
    assert!(wait_pid_gone(child, 10), "delete left pid {child} running");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn failed_creates_leave_no_cgroup() {
    require_v1!();
    let r = Root::new();
    let cases: Vec<(&str, Value)> = vec![
        // No such CPU: the cpuset write fails after the cgroup exists.
        ("cpu", json!({"cpus": "999"})),
        // unified keys need cgroup v2.
        ("unified", json!({"memory.high": "1000000"})),
        // A memory limit below what the kernel accepts next to a larger swap limit.
        ("memory", json!({"limit": 64 << 20, "swap": 16 << 20})),
    ];
    for (key, v) in cases {
        let mut b = Bundle::new(&["true"]);
        set_resources(&mut b, key, v.clone());
        let id = unique("cg-fail");
        let o = r.rampart(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ]);
        o.fails();
        assert!(!o.stderr.trim().is_empty(), "{key}: no error message");
        assert_nothing_left(&r, &b, &id);
        assert!(r.ids().is_empty(), "{key}: {:?}", r.ids());
    }
}

#[test]
fn cgroups_path_forms_and_drivers() {
    require_v1!();
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "grep :memory: /proc/self/cgroup"]);

    // Absolute: exactly there in every hierarchy; the test owns (and removes) the parent.
    let parent = unique("rampart-it-parent");
    let id = unique("cg-abs");
    let mut b2 = Bundle::new(&["sleep", "1000"]);
    b2.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{parent}/{id}")));
    run_detached(&r, &b2, &id);
    assert!(v1("memory", &format!("{parent}/{id}")).is_dir());
    assert!(v1("pids", &format!("{parent}/{id}")).is_dir());
    delete(&r, &id);
    assert!(!v1("memory", &format!("{parent}/{id}")).exists());
    for c in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd",
    ] {
        let _ = fs::remove_dir(v1(c, &parent));
    }
    assert_nothing_left(&r, &b2, &parent);

    // Relative: under the root of each hierarchy.
    let id = unique("cg-rel");
    let mut b3 = Bundle::new(&["sleep", "1000"]);
    let rel = format!("rel-{id}");
    b3.edit(|c| c["linux"]["cgroupsPath"] = json!(rel));
    run_detached(&r, &b3, &id);
    assert!(v1("memory", &rel).is_dir());
    delete(&r, &id);
    assert!(!v1("memory", &rel).exists());

    // --systemd-cgroup where systemd is not running: a clear error, nothing made.
    if !Path::new("/run/systemd/system").exists() {
        let id = unique("cg-systemd");
        let o = r.rampart(&[
            OsStr::new("--systemd-cgroup"),
            OsStr::new("run"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ]);
        o.fails();
        assert!(o.stderr.contains("systemd"), "{o:#?}");
        assert_nothing_left(&r, &b, &id);
    }

    // --cgroup-manager disabled: the container stays in the runtime's cgroup, none is made.
    let id = unique("cg-disabled");
    let o = r.rampart(&[
        OsStr::new("--cgroup-manager"),
        OsStr::new("disabled"),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.ok();
    assert!(!o.stdout.contains(&id), "{o:#?}");
    assert_nothing_left(&r, &b, &id);

    // The default: /rampart-<id>, seen as the root of the container's cgroup namespace.
    let id = unique("cg-default");
    let o = r.run(&b, &id);
    o.ok();
    assert_eq!(o.stdout.trim().rsplit(':').next(), Some("/"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn kernel_memory_fields_are_ignored_with_a_warning() {
    require_v1!();
    let r = Root::new();
    let mut b = Bundle::new(&["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
    set_resources(
        &mut b,
        "memory",
        json!({"limit": 40 << 20, "kernel": 8 << 20, "kernelTCP": 4 << 20}),
    );
    let id = unique("cg-kmem");
    let o = r.run(&b, &id);
    o.ok();
    assert_eq!(o.stdout.trim(), (40u64 << 20).to_string());
    assert!(
        o.stderr.contains("kernel") && o.stderr.contains("ignored"),
        "{o:#?}"
    );
    assert_nothing_left(&r, &b, &id);
}

/// The host's view of a process's cgroup in the v1 hierarchy whose controllers include `c`.
fn v1_cgroup_of(pid: i64, c: &str) -> String {
    let text = read(Path::new(&format!("/proc/{pid}/cgroup")));
    text.lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            ctrls.split(',').any(|x| x == c).then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("no {c} line in {text}"))
}

#[test]
fn exec_cgroup_puts_the_process_in_a_sub_cgroup() {
    require_v1!();
    let r = Root::new();
    let b = Bundle::new(&["sleep", "300"]);
    let id = unique("exec-subcg");
    run_detached(&r, &b, &id);
    let cg = r.state(&id)["pid"].as_i64().unwrap();
    let base = v1_cgroup_of(cg, "memory");
    let rel = base.trim_start_matches('/').to_string();
    // Sub-cgroups made as an engine would: "all" in memory and pids, "mem-only" in memory.
    let made: Vec<PathBuf> = vec![
        v1("memory", &format!("{rel}/all")),
        v1("pids", &format!("{rel}/all")),
        v1("memory", &format!("{rel}/mem-only")),
    ];
    for d in &made {
        fs::create_dir(d).unwrap();
    }
    let exec_d = |args: &[&str]| {
        let pidfile = b.path().join(unique("pid"));
        let mut a = vec!["exec", "-d", "--pid-file", pidfile.to_str().unwrap()];
        a.extend_from_slice(args);
        a.extend([id.as_str(), "sleep", "301"]);
        let o = r.rampart(&a);
        (o, pidfile)
    };

    // The catch-all form: every hierarchy the container has, so with "all" missing in the
    // other hierarchies it fails before any process is made.
    let (o, _) = exec_d(&["--cgroup", "all"]);
    o.fails();
    assert!(o.stderr.contains("does not exist"), "{o:#?}");
    // Per controller.
    let (o, pidfile) = exec_d(&["--cgroup", "memory:mem-only", "--cgroup", "pids:all"]);
    o.ok();
    let pid: i64 = read(&pidfile).parse().unwrap();
    assert_eq!(v1_cgroup_of(pid, "memory"), format!("{base}/mem-only"));
    assert_eq!(v1_cgroup_of(pid, "pids"), format!("{base}/all"));
    assert_eq!(
        v1_cgroup_of(pid, "devices"),
        base,
        "others stay in the container's"
    );
    // Bad forms.
    for (arg, want) in [
        ("../escape", "below the container"),
        ("nosuch:x", "no nosuch"),
    ] {
        let (o, _) = exec_d(&["--cgroup", arg]);
        o.fails();
        assert!(o.stderr.contains(want), "{arg}: {o:#?}");
    }
    // The exec'd process is the container's: delete kills it, and removes the sub-cgroups
    // below the container's with its own (runc does too).
    delete(&r, &id);
    assert!(wait_pid_gone(pid as i32, 10));
    let left: Vec<&PathBuf> = made.iter().filter(|d| d.exists()).collect();
    for d in made.iter().rev() {
        let _ = fs::remove_dir(d);
    }
    // What a delete that failed here would leave of the container's own, removed by the test.
    for leaf in cgroups_containing(&id) {
        let _ = fs::remove_dir(leaf);
    }
    assert!(left.is_empty(), "sub-cgroups left by delete: {left:?}");
    assert_nothing_left(&r, &b, &id);
}

/// memory.checkBeforeUpdate: an update whose limit is below what the container uses now is
/// refused with the usage named, and the limit stays as it was.
#[test]
fn check_before_update_refuses_a_limit_below_usage() {
    require_v1!();
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; touch /dev/shm/done; sleep 1000",
    ]);
    set_resources(&mut b, "memory", json!({"limit": 256 << 20}));
    let id = unique("cg-check");
    run_detached(&r, &b, &id);
    let cg = format!("rampart-{id}");
    let pid = r.state(&id)["pid"].as_i64().unwrap();
    assert!(wait_for_path(
        Path::new(&format!("/proc/{pid}/root/dev/shm/done")),
        20
    ));
    let f = b.path().join("res.json");
    fs::write(
        &f,
        r#"{"memory": {"limit": 8388608, "swap": 8388608, "checkBeforeUpdate": true}}"#,
    )
    .unwrap();
    let o = r.rampart(&[
        OsStr::new("update"),
        OsStr::new("--resources"),
        f.as_os_str(),
        OsStr::new(&id),
    ]);
    o.fails();
    assert!(
        o.stderr.contains("memory.limit 8388608 is below the")
            && o.stderr.contains("checkBeforeUpdate is set"),
        "{o:#?}"
    );
    assert_eq!(
        read(&v1("memory", &cg).join("memory.limit_in_bytes")),
        (256 << 20).to_string()
    );
    // Above the usage it goes through.
    fs::write(
        &f,
        r#"{"memory": {"limit": 134217728, "checkBeforeUpdate": true}}"#,
    )
    .unwrap();
    r.rampart(&[
        OsStr::new("update"),
        OsStr::new("--resources"),
        f.as_os_str(),
        OsStr::new(&id),
    ])
    .ok();
    assert_eq!(
        read(&v1("memory", &cg).join("memory.limit_in_bytes")),
        "134217728"
    );
    delete(&r, &id);
    assert_nothing_left(&r, &b, &id);
}
