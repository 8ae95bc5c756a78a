//! The cgroup as a security boundary, through the real binary on the host's v1 (hybrid) layout:
//! the device cgroup is deny-all plus the standard allow list even when the config has no device
//! rules (or no resources at all); `kill --all` and `delete` take down only the container's own
//! processes and remove only the cgroups it made; a `create` killed at any moment leaves nothing
//! after `delete -f`. The v2 side (the eBPF device program, the cgroup fd of clone3) is tested in
//! the VM (vm/tests/45-cgroup-safety.sh).

use rampart_integration::*;
use serde_json::json;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn is_v1_host() -> bool {
    Path::new("/sys/fs/cgroup/devices/devices.list").exists()
}

macro_rules! require_v1 {
    () => {
        if !is_v1_host() {
            eprintln!("skipped: no cgroup v1 devices hierarchy here; the VM covers v2");
            return;
        }
    };
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

fn run_detached(r: &Root, b: &Bundle, id: &str) -> Out {
    r.rampart(&[
        OsStr::new("run"),
        OsStr::new("-d"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ])
}

/// major:minor of a block device of the host that host root can open: the disk holding the
/// host's root filesystem when it can (on the development VMs the sandbox refuses that one even
/// to host root, so an EPERM there would prove nothing), else the first openable block node in
/// the host's /dev (a loop device).
fn host_block_device() -> (u64, u64) {
    use std::os::unix::fs::FileTypeExt;
    let root = fs::metadata("/").unwrap().dev();
    let mut candidates = vec![(libc::major(root) as u64, libc::minor(root) as u64)];
    let mut nodes: Vec<PathBuf> = fs::read_dir("/dev")
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_block_device()))
        .map(|e| e.path())
        .collect();
    nodes.sort();
    let by_number = |(maj, min): (u64, u64)| {
        nodes.iter().find(|n| {
            let r = fs::metadata(n).unwrap().rdev();
            (libc::major(r) as u64, libc::minor(r) as u64) == (maj, min)
        })
    };
    for n in &nodes {
        let r = fs::metadata(n).unwrap().rdev();
        candidates.push((libc::major(r) as u64, libc::minor(r) as u64));
    }
    for c in candidates {
        if let Some(node) = by_number(c) {
            if fs::File::open(node).is_ok() {
                eprintln!("attacking {} ({}:{})", node.display(), c.0, c.1);
                return c;
            }
        }
    }
    panic!("no block device of the host opens for host root; cannot show the attack here");
}

/// The attack: make a node of a host block device and read a byte of it; then open the
/// standard devices, also through a fresh node of /dev/null's number.
fn device_script() -> String {
    let (maj, min) = host_block_device();
    format!(
        "mknod /dev/hostdisk b {maj} {min} || {{ echo mknod-failed; exit 9; }}; \
         if dd if=/dev/hostdisk of=/dev/null bs=1 count=1 2>/dev/err; then echo disk=READ; \
         else echo \"disk=$(cat /dev/err)\"; fi; \
         mknod /dev/null2 c 1 3 || exit 8; \
         for d in null null2 zero full urandom random; do \
           if head -c1 /dev/$d >/dev/null 2>/dev/err; then echo $d=ok; else echo \"$d=$(cat /dev/err)\"; fi; \
         done; \
         true >/dev/null2 && echo null2-write=ok; \
         for d in tty ptmx; do \
           if true 2>/dev/err </dev/$d; then echo $d=ok; else echo \"$d=$(cat /dev/err)\"; fi; \
         done"
    )
}

fn check_device_output(what: &str, o: &Out) {
    let out = &o.stdout;
    let line = |k: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{what}: no {k}= line: {o:#?}"))
            .to_string()
    };
    let disk = line("disk");
    assert!(
        disk.contains("Operation not permitted"),
        "{what}: the host's block device {:?} was not refused by the device cgroup: {disk} ({o:#?})",
        host_block_device()
    );
    for d in [
        "null",
        "null2",
        "zero",
        "full",
        "urandom",
        "random",
        "null2-write",
    ] {
        assert_eq!(line(d), format!("{d}=ok"), "{what}: {o:#?}");
    }
    // No controlling terminal: /dev/tty opens with ENXIO at most, never EPERM.
    for d in ["tty", "ptmx"] {
        let l = line(d);
        assert!(
            !l.contains("Operation not permitted"),
            "{what}: {l} ({o:#?})"
        );
    }
    assert_eq!(line("ptmx"), "ptmx=ok", "{what}: {o:#?}");
}

#[test]
fn block_device_of_the_host_stays_closed_without_device_rules() {
    require_v1!();
    let r = Root::new();
    let script = device_script();
    // No linux.resources at all.
    let mut b = Bundle::new(&["sh", "-c", &script]);
    add_caps(&mut b, &["CAP_MKNOD"]);
    b.edit(|c| {
        c["linux"].as_object_mut().unwrap().remove("resources");
    });
    let id = unique("cgs-nores");
    let o = r.run(&b, &id);
    o.ok();
    check_device_output("no resources", &o);
    assert_nothing_left(&r, &b, &id);

    // Resources, no devices: the rules written by rampart itself (a pids limit)...
    b.edit(|c| c["linux"]["resources"] = json!({"pids": {"limit": 100}}));
    let id = unique("cgs-pids");
    let o = r.run(&b, &id);
    o.ok();
    check_device_output("pids only", &o);
    assert_nothing_left(&r, &b, &id);

    // ... and those libcgroups writes (any other resource).
    b.edit(|c| c["linux"]["resources"] = json!({"memory": {"limit": 256 << 20}}));
    let id = unique("cgs-mem");
    let o = r.run(&b, &id);
    o.ok();
    check_device_output("memory only", &o);
    assert_nothing_left(&r, &b, &id);
}

/// Host root passing `--rootless=true` (an operator's flag, or an engine configured for
/// rootless) with a config that has no user namespace: the container holds CAP_MKNOD in the
/// host's user namespace. main took the flag to mean "skip device rules" and left the device
/// cgroup at the parent's `a *:* rwm`, so the container made a node of the host's disk and read
/// it. The device cgroup must stay deny-all plus the standard list whatever the flag says.
#[test]
fn rootless_flag_from_host_root_keeps_the_device_cgroup() {
    require_v1!();
    let r = Root::new();
    let script = device_script();
    let mut b = Bundle::new(&["sh", "-c", &script]);
    add_caps(&mut b, &["CAP_MKNOD"]);
    for (what, resources) in [
        ("rootless, no resources", None),
        ("rootless, pids only", Some(json!({"pids": {"limit": 100}}))),
    ] {
        b.edit(|c| match &resources {
            None => {
                c["linux"].as_object_mut().unwrap().remove("resources");
            }
            Some(res) => c["linux"]["resources"] = res.clone(),
        });
        let id = unique("cgs-rootless");
        let o = r.rampart(&[
            OsStr::new("--rootless=true"),
            OsStr::new("run"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ]);
        o.ok();
        check_device_output(what, &o);
        assert_nothing_left(&r, &b, &id);
    }
}

#[test]
fn config_device_rules_come_on_top_of_deny_all_and_the_defaults() {
    require_v1!();
    let r = Root::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    // No deny-all of its own: the runtime adds it. Allowing 1:11 must not open anything else.
    b.edit(|c| {
        c["linux"]["resources"] = json!({"devices": [
            {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}
        ]})
    });
    let id = unique("cgs-rules");
    run_detached(&r, &b, &id).ok();
    let list = fs::read_to_string(
        Path::new("/sys/fs/cgroup/devices")
            .join(format!("rampart-{id}"))
            .join("devices.list"),
    )
    .unwrap();
    let mut got: Vec<&str> = list.lines().collect();
    got.sort_unstable();
    // runc 1.1.5's list for the same config, plus /dev/console (5:1), which the threat model's
    // standard list (and libcgroups) keeps.
    let mut want = vec![
        "b *:* m",
        "c *:* m",
        "c 1:11 w",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 10:200 rwm",
        "c 136:* rwm",
        "c 5:0 rwm",
        "c 5:1 rwm",
        "c 5:2 rwm",
    ];
    want.sort_unstable();
    assert_eq!(got, want, "devices.list:\n{list}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

/// The v1 hierarchies a container's cgroup is made in (those this process is in, as the runtime
/// resolves them), by directory under /sys/fs/cgroup.
const HIERARCHIES: [&str; 8] = [
    "cpu", "cpuacct", "cpuset", "devices", "memory", "blkio", "freezer", "pids",
];
/// Where the test's own `sleep` is moved: not memory, where this session's processes sit.
const SLEEP_HIERARCHIES: [&str; 6] = ["cpu", "cpuacct", "devices", "blkio", "freezer", "pids"];

/// A cgroup the test made in every hierarchy, with (optionally) a `sleep` of the test in it.
/// On drop: the sleep is killed by its pid and reaped, every directory the test made removed.
struct Shared {
    rel: String,
    sleep: Option<Child>,
    extra_dirs: Vec<String>,
}

impl Shared {
    fn new() -> Shared {
        let rel = unique("rampart-it-shared");
        for h in HIERARCHIES {
            let d = Path::new("/sys/fs/cgroup").join(h).join(&rel);
            fs::create_dir(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
            if h == "cpuset" {
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    let v = fs::read_to_string(Path::new("/sys/fs/cgroup/cpuset").join(f)).unwrap();
                    fs::write(d.join(f), v.trim()).unwrap();
                }
            }
        }
        Shared {
            rel,
            sleep: None,
            extra_dirs: Vec::new(),
        }
    }

    fn dir(&self, h: &str, sub: &str) -> PathBuf {
        Path::new("/sys/fs/cgroup")
            .join(h)
            .join(&self.rel)
            .join(sub)
    }

    /// Starts the test's sleep (if not yet) and moves it into `sub` of the shared cgroup.
    fn put_sleep_in(&mut self, sub: &str) -> i32 {
        if self.sleep.is_none() {
            let c = Command::new("sleep")
                .arg("1000")
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            self.sleep = Some(c);
        }
        let pid = self.sleep.as_ref().unwrap().id() as i32;
        for h in SLEEP_HIERARCHIES {
            fs::write(self.dir(h, sub).join("cgroup.procs"), pid.to_string())
                .unwrap_or_else(|e| panic!("moving the sleep into {h}/{sub}: {e}"));
        }
        pid
    }

    fn all_exist(&self) -> bool {
        HIERARCHIES.iter().all(|h| self.dir(h, "").is_dir())
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(mut c) = self.sleep.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for h in HIERARCHIES {
            for sub in &self.extra_dirs {
                let _ = fs::remove_dir(self.dir(h, sub));
            }
            // The kernel frees a cgroup a moment after its last process is reaped.
            let d = self.dir(h, "");
            let end = Instant::now() + Duration::from_secs(2);
            while d.exists() && fs::remove_dir(&d).is_err() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn populated_cgroup_is_refused_and_its_process_survives() {
    require_v1!();
    // Declared first, dropped last: the containers (Root) go before their cgroups.
    let mut shared = Shared::new();
    let r = Root::new();
    let sleep = shared.put_sleep_in("");
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{}", shared.rel)));
    let id = unique("cgs-populated");
    let o = run_detached(&r, &b, &id);
    // Whatever create did, go through the whole attack: kill --all, delete -f.
    let _ = r.rampart(&["kill", "--all", &id, "KILL"]);
    let _ = r.rampart(&["delete", "--force", &id]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        pid_alive(sleep),
        "the test's sleep {sleep} in the shared cgroup was killed"
    );
    assert!(shared.all_exist(), "the pre-existing cgroup was removed");
    o.fails();
    assert!(
        o.stderr.contains("already holds 1 process"),
        "not a clear refusal: {o:#?}"
    );
    assert!(!r.path().join(&id).exists(), "state dir left behind");
}

#[test]
fn kill_all_and_delete_spare_a_process_moved_into_the_cgroup() {
    require_v1!();
    // Declared first, dropped last: the containers (Root) go before their cgroups.
    let mut shared = Shared::new();
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{}", shared.rel)));

    // An empty pre-existing cgroup is joined; the test's sleep is moved in once it runs.
    let id = unique("cgs-join");
    run_detached(&r, &b, &id).ok();
    let init = r.state(&id)["pid"].as_i64().unwrap() as i32;
    let sleep = shared.put_sleep_in("");
    r.rampart(&["kill", "--all", &id, "KILL"]).ok();
    assert!(wait_pid_gone(init, 5), "kill --all did not kill the init");
    std::thread::sleep(Duration::from_millis(200));
    assert!(pid_alive(sleep), "kill --all killed the test's sleep");
    r.rampart(&["delete", &id]).ok();
    assert!(pid_alive(sleep), "delete killed the test's sleep");
    assert!(shared.all_exist(), "delete removed the pre-existing cgroup");
    assert!(!r.path().join(&id).exists());

    // delete -f of a running container in a cgroup the container makes below the shared one,
    // which holds the test's sleep: the made one goes, the shared one and the sleep stay.
    let id = unique("cgs-sub");
    let sub = format!("sub-{id}");
    shared.extra_dirs.push(sub.clone());
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{}/{sub}", shared.rel)));
    run_detached(&r, &b, &id).ok();
    let init = r.state(&id)["pid"].as_i64().unwrap() as i32;
    let procs = shared.dir("pids", &sub).join("cgroup.procs");
    let end = Instant::now() + Duration::from_secs(5);
    let mut inside = String::new();
    while Instant::now() < end {
        inside = fs::read_to_string(&procs).unwrap();
        if inside.lines().count() == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(inside.lines().count(), 3, "init + 2 sleeps: {inside}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert!(!pid_alive(init));
    for p in inside.lines() {
        assert!(
            !pid_alive(p.trim().parse().unwrap()),
            "container process {p} survived"
        );
    }
    assert!(pid_alive(sleep), "delete -f killed the test's sleep");
    assert!(
        shared.all_exist(),
        "delete -f removed the pre-existing cgroup"
    );
    for h in HIERARCHIES {
        assert!(
            !shared.dir(h, &sub).exists(),
            "the cgroup the container made is left in {h}"
        );
    }

    // delete -f of a running container whose cgroup the test's sleep was moved into.
    let id = unique("cgs-running");
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/{}", shared.rel)));
    // The sleep must not make the cgroup look populated at create: back where it started
    // (this test runs in the root cgroup of those hierarchies).
    for h in SLEEP_HIERARCHIES {
        let procs = Path::new("/sys/fs/cgroup").join(h).join("cgroup.procs");
        fs::write(&procs, sleep.to_string()).unwrap();
    }
    run_detached(&r, &b, &id).ok();
    let init = r.state(&id)["pid"].as_i64().unwrap() as i32;
    shared.put_sleep_in("");
    r.rampart(&["delete", "--force", &id]).ok();
    assert!(!pid_alive(init));
    assert!(
        pid_alive(sleep),
        "delete -f of a running container killed the test's sleep"
    );
    assert!(
        shared.all_exist(),
        "delete -f removed the pre-existing cgroup"
    );
    assert!(!r.path().join(&id).exists());
}

/// Where a create was when it was killed, from what it left (before `delete -f`).
fn phase(root: &Path, id: &str) -> &'static str {
    let dir = root.join(id);
    if !dir.exists() {
        return "before the state directory";
    }
    let Ok(text) = fs::read_to_string(dir.join("state.json")) else {
        return "state directory, no state yet";
    };
    let st: serde_json::Value = serde_json::from_str(&text).unwrap();
    let pid = st["pid"].as_i64().unwrap_or(0);
    if pid == 0 {
        return "state written, before the clone";
    }
    let procs = fs::read_to_string(
        Path::new("/sys/fs/cgroup/devices")
            .join(format!("rampart-{id}"))
            .join("cgroup.procs"),
    )
    .unwrap_or_default();
    if !procs.lines().any(|l| l.trim() == pid.to_string()) {
        return "cloned, not yet in the devices cgroup (migrating cpu, cpuacct, cpuset)";
    }
    if !Path::new("/sys/fs/cgroup/pids")
        .join(format!("rampart-{id}"))
        .join("cgroup.procs")
        .exists()
    {
        return "migrating (devices .. freezer)";
    }
    "migrated (resources, hooks, init setup, or done)"
}

#[test]
fn create_killed_at_any_moment_leaves_nothing_after_delete_force() {
    require_v1!();
    let r = Root::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    // Some device rules and a limit, as a real config has: more steps to be killed in.
    b.edit(|c| c["linux"]["resources"]["pids"] = json!({"limit": 50}));
    let create_cmd = |id: &str| {
        let mut c = r.cmd(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(id),
        ]);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    };
    // A normal create, timed, to spread the kills over its whole length.
    let mut total = Duration::ZERO;
    for _ in 0..3 {
        let id = unique("cgs-time");
        let t = Instant::now();
        assert!(create_cmd(&id).status().unwrap().success());
        total += t.elapsed();
        r.rampart(&["delete", "--force", &id]).ok();
    }
    let normal = total / 3;
    let runs = 40u32;
    let mut phases: std::collections::BTreeMap<&str, u32> = Default::default();
    for i in 0..runs {
        // 0 .. 1.2 x a normal create, in equal steps.
        let delay = normal * 6 * i / (5 * runs);
        let id = unique("cgs-kill");
        let mut child = create_cmd(&id).spawn().unwrap();
        std::thread::sleep(delay);
        // SAFETY-free: SIGKILL of the create we spawned and have not reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        *phases.entry(phase(r.path(), &id)).or_default() += 1;
        r.rampart(&["delete", "--force", &id]).ok();
        assert!(
            !r.path().join(&id).exists(),
            "run {i} ({delay:?}): state dir left"
        );
        let cg = cgroups_containing(&id);
        assert!(cg.is_empty(), "run {i} ({delay:?}): cgroups left: {cg:?}");
        let m = host_mounts_containing(&id);
        let m2 = host_mounts_containing(&b.path().to_string_lossy());
        assert!(
            m.is_empty() && m2.is_empty(),
            "run {i}: mounts left: {m:?} {m2:?}"
        );
        // An init cloned before the state had its pid exits by itself once the create's end
        // of its socket is gone; give it a moment, nothing kills it for us.
        let end = Instant::now() + Duration::from_secs(1);
        while !processes_containing(&id).is_empty() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        let p = processes_containing(&id);
        assert!(p.is_empty(), "run {i} ({delay:?}): processes left: {p:?}");
    }
    eprintln!("normal create {normal:?}; where {runs} kills landed: {phases:#?}");
}

/// The processes in the container's cgroup (read in the pids hierarchy).
fn cgroup_members(id: &str) -> Vec<i32> {
    cgroups_containing(id)
        .into_iter()
        .filter(|p| p.starts_with("/sys/fs/cgroup/pids"))
        .flat_map(|p| {
            fs::read_to_string(p.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Without a pid namespace (docker --pid=host), a container process that leaves the container's
/// mount namespace with an unprivileged unshare(CLONE_NEWUSER|CLONE_NEWNS) must still die with
/// `kill --all` and `delete -f`: it is in the container's cgroup, which held nothing at create.
/// (Found by the second attacker pass: it outlived delete -f, unsupervised, in leaked cgroups.)
#[test]
fn a_process_that_leaves_the_mount_namespace_still_dies_with_its_container() {
    require_v1!();
    for how in ["kill-all", "delete-force"] {
        let r = Root::new();
        let mut b = Bundle::new(&["sh", "-c", "unshare -U -m sleep 1001 & sleep 1000 & wait"]);
        b.drop_namespace("pid");
        // An engine's profile that allows unshare (podman's does), or none at all.
        b.edit(|c| {
            c["linux"].as_object_mut().unwrap().remove("seccomp");
        });
        let id = unique("leavemnt");
        run_detached(&r, &b, &id).ok();
        let init = r.state(&id)["pid"].as_i64().unwrap();
        let mnt = |pid: i64| fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
        let end = Instant::now() + Duration::from_secs(10);
        let mut members = cgroup_members(&id);
        while !(members.len() >= 3 && members.iter().any(|p| mnt(*p as i64) != mnt(init)))
            && Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(20));
            members = cgroup_members(&id);
        }
        assert!(
            members.iter().any(|p| mnt(*p as i64) != mnt(init)),
            "{how}: no process left the mount namespace: {members:?}"
        );
        if how == "kill-all" {
            r.rampart(&["kill", "--all", &id, "KILL"]).ok();
        }
        r.rampart(&["delete", "--force", &id]).ok();
        let survivors: Vec<i32> = members
            .iter()
            .copied()
            .filter(|p| wait_pid_gone(*p, 5).then_some(()).is_none())
            .collect();
        for p in &survivors {
            // SAFETY-free cleanup of what the test's own container left.
            unsafe { libc::kill(*p, libc::SIGKILL) };
        }
        assert!(
            survivors.is_empty(),
            "{how}: container processes outlived delete -f: {survivors:?}"
        );
        assert_nothing_left(&r, &b, &id);
    }
}
