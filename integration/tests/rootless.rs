//! Rootless rampart: an unprivileged host user (nobody, uid 65534) runs containers through the
//! real binary, from the config its own `rampart spec --rootless` writes. Each test checks what
//! the container sees (inside) and what the host sees (its /proc, the state root, the disk).
//!
//! The multi-range cases need /etc/subuid and /etc/subgid ranges for the user. No test edits
//! the host's files: the runtime is started from a private mount namespace (unshare -m) in
//! which a temporary subuid/subgid file is bound over each, and newuidmap (setuid root, from
//! Debian's uidmap package) reads those.

use rampart_integration::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The Uid: line of /proc/<pid>/status on the host: (real, effective).
fn host_uids(pid: i64) -> (u32, u32) {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let v: Vec<u32> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    (v[0], v[1])
}

fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_default()
}

fn pid_of(u: &UserSession, id: &str) -> i64 {
    u.state(id)["pid"].as_i64().unwrap()
}

/// `rampart run` as the user, in the foreground.
fn run(u: &UserSession, b: &Bundle, id: &str) -> Out {
    u.rampart(&["run", "--bundle", b.path().to_str().unwrap(), id])
}

#[test]
fn spec_rootless_and_run_give_uid_0_inside_and_the_users_uid_outside() {
    let u = UserSession::new();
    let b = u.bundle(&["sh", "-c", "id -u; id -g; cat /proc/self/uid_map"]);
    // The config is runc's rootless shape: the caller's own ids mapped to 0, no cgroup mount,
    // no limits, /sys bound from the host.
    let c = &b.config;
    assert_eq!(
        c["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": ROOTLESS_UID, "size": 1}])
    );
    assert!(c["linux"]["resources"].is_null(), "{c:#}");
    assert!(c["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["type"] != "cgroup" && m["type"] != "sysfs"));
    assert_eq!(c["process"]["noNewPrivileges"], true);
    assert_eq!(c["root"]["readonly"], true);

    let id = unique("rl-run");
    let o = run(&u, &b, &id);
    o.ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "0", "{o:#?}");
    assert_eq!(lines[1], "0", "{o:#?}");
    let map: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(map, ["0", "65534", "1"], "{o:#?}");
    // No cgroup is delegated to nobody on this host. As with runc, that is said only with
    // --debug: conmon hands the runtime's stderr to the user, and the config set no limits.
    assert!(!o.stderr.contains("rootless: no cgroup"), "{o:#?}");
    assert!(!u.root().join(&id).exists());
    let id = unique("rl-run-debug");
    let o = u.rampart(&[
        "--debug",
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    o.ok();
    assert!(o.stderr.contains("rootless: no cgroup"), "{o:#?}");

    // Outside, the running init is the user.
    let mut b = b;
    b.edit(|c| c["process"]["args"] = json!(["sleep", "60"]));
    let id = unique("rl-host");
    u.rampart(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let pid = pid_of(&u, &id);
    assert_eq!(host_uids(pid), (ROOTLESS_UID, ROOTLESS_UID));
    // The state is the user's, under $XDG_RUNTIME_DIR, and nothing went to /run/rampart.
    let st = u.root().join(&id).join("state.json");
    assert!(st.exists(), "no state at {}", st.display());
    assert_eq!(fs::metadata(&st).unwrap().uid(), ROOTLESS_UID);
    assert!(!Path::new("/run/rampart").join(&id).exists());
    u.rampart(&["delete", "--force", &id]).ok();
    assert!(wait_pid_gone(pid as i32, 10));
    assert!(!u.root().join(&id).exists());
}

#[test]
fn every_lifecycle_command_works_as_the_user() {
    let u = UserSession::new();
    let b = u.bundle(&["sleep", "300"]);
    let id = unique("rl-life");
    u.rampart(&["create", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    assert_eq!(u.state(&id)["status"], "created");
    u.rampart(&["start", &id]).ok();
    assert_eq!(u.state(&id)["status"], "running");
    let init = pid_of(&u, &id);

    let list = u.rampart(&["list", "--format", "json"]);
    list.ok();
    let all: Value = serde_json::from_str(&list.stdout).unwrap();
    let me = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not listed: {}", list.stdout));
    assert_eq!(me["status"], "running");
    assert_eq!(me["owner"], "nobody");

    let o = u.rampart(&["exec", &id, "sh", "-c", "id -u; echo from-exec"]);
    o.ok();
    assert_eq!(o.stdout, "0\nfrom-exec\n", "{o:#?}");
    u.rampart(&["exec", "-d", &id, "sleep", "301"]).ok();
    let ps = u.rampart(&["ps", "--format", "json", &id]);
    ps.ok();
    let pids: Vec<i64> = serde_json::from_str(&ps.stdout).unwrap();
    assert_eq!(pids.len(), 2, "{ps:#?}");
    assert!(pids.contains(&init), "{ps:#?}");
    let other = *pids.iter().find(|p| **p != init).unwrap();
    assert_eq!(host_uids(other), (ROOTLESS_UID, ROOTLESS_UID));
    assert!(fs::read_to_string(format!("/proc/{other}/cmdline"))
        .unwrap()
        .contains("301"));
    let table = u.rampart(&["ps", &id]);
    table.ok();
    assert!(table.stdout.contains("sleep 301"), "{table:#?}");

    // kill --all reaches the exec'd process too, found without a cgroup.
    u.rampart(&["kill", "--all", &id, "KILL"]).ok();
    assert!(wait_pid_gone(other as i32, 10));
    assert!(wait_pid_gone(init as i32, 10));
    assert_eq!(u.state(&id)["status"], "stopped");
    u.rampart(&["delete", &id]).ok();
    assert!(!u.root().join(&id).exists());
    assert!(u.rampart(&["list", "-q"]).stdout.trim().is_empty());
    assert!(processes_containing("sleep 30")
        .iter()
        .all(|p| { *p as i64 != init && *p as i64 != other }));
}

#[test]
fn exec_with_a_tty_as_the_user() {
    let u = UserSession::new();
    let b = u.bundle(&["sleep", "300"]);
    let id = unique("rl-tty");
    u.rampart(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    // script(1) gives the runtime a terminal of its own, as a user's shell would.
    let line = format!(
        "{} exec -t {id} sh -c 'tty; id -u'",
        rampart_bin().display()
    );
    let o = run_with_timeout(
        u.command(Path::new("/usr/bin/script"), &["-qec", &line, "/dev/null"]),
        Duration::from_secs(60),
    );
    o.ok();
    assert!(o.stdout.contains("/dev/pts/"), "{o:#?}");
    assert!(o.stdout.lines().any(|l| l.trim() == "0"), "{o:#?}");
    u.rampart(&["delete", "--force", &id]).ok();
}

#[test]
fn seccomp_nnp_caps_read_only_root_and_landlock_hold_rootless() {
    let u = UserSession::new();
    let mut b = u.bundle(&[
        "sh",
        "-c",
        "cat /proc/self/status; touch /probe 2>&1; echo touch=$?",
    ]);
    let id = unique("rl-conf");
    let o = run(&u, &b, &id);
    o.ok();
    assert_eq!(status_field(&o.stdout, "Seccomp:"), "2", "{o:#?}");
    assert_eq!(status_field(&o.stdout, "NoNewPrivs:"), "1");
    // CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE and nothing else, in every set.
    for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(status_field(&o.stdout, set), "0000000020000420", "{set}");
    }
    assert!(o.stdout.contains("Read-only file system"), "{o:#?}");
    assert!(!b.rootfs().join("probe").exists());

    // Landlock with the root writable: the policy still refuses writes to the rootfs, and the
    // file does not appear on the host although the user owns the directory.
    chown_to_user(&b.rootfs());
    b.edit(|c| {
        c["root"]["readonly"] = json!(false);
        c["annotations"] = json!({"run.rampart.landlock": "default"});
        c["process"]["args"] = json!([
            "sh",
            "-c",
            "touch /probe 2>&1; echo touch=$?; touch /dev/shm/ok && echo shm-ok"
        ]);
    });
    let id = unique("rl-landlock");
    let o = run(&u, &b, &id);
    o.ok();
    assert!(o.stdout.contains("Permission denied"), "{o:#?}");
    assert!(o.stdout.contains("touch=1"), "{o:#?}");
    assert!(o.stdout.contains("shm-ok"), "{o:#?}");
    assert!(!b.rootfs().join("probe").exists());
}

/// Runs `rampart args...` as the user from a private mount namespace in which `subuid` and
/// `subgid` are bound over /etc/subuid and /etc/subgid (see the module comment).
fn with_subids(u: &UserSession, subuid: &str, subgid: &str, args: &[&str]) -> Out {
    let files = u.dir.path().join("subids");
    fs::create_dir_all(&files).unwrap();
    fs::write(files.join("subuid"), subuid).unwrap();
    fs::write(files.join("subgid"), subgid).unwrap();
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "mount -n --bind {f}/subuid /etc/subuid && mount -n --bind {f}/subgid /etc/subgid && \
         exec setpriv --reuid {uid} --regid {uid} --clear-groups \
         env XDG_RUNTIME_DIR={xdg} HOME={home} {bin} {args}",
        f = files.display(),
        uid = ROOTLESS_UID,
        xdg = u.xdg.display(),
        home = u.dir.path().display(),
        bin = rampart_bin().display(),
        args = quoted.join(" "),
    );
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
    c.stdin(std::process::Stdio::null());
    run_with_timeout(c, Duration::from_secs(60))
}

fn two_ranges(host: u32) -> Value {
    json!([
        {"containerID": 0, "hostID": ROOTLESS_UID, "size": 1},
        {"containerID": 1, "hostID": host, "size": 65536}
    ])
}

#[test]
fn a_multi_range_mapping_goes_through_newuidmap_and_newgidmap() {
    let u = UserSession::new();
    let mut b = u.bundle(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /owned; \
         touch /v/made && chown 7:9 /v/made && echo chowned; cat /proc/self/setgroups",
    ]);
    let v = b.bind_dir("/v", false);
    chown_to_user(&v);
    fs::write(b.rootfs().join("owned"), "").unwrap();
    std::os::unix::fs::chown(b.rootfs().join("owned"), Some(300_005), Some(300_006)).unwrap();
    b.edit(|c| {
        c["linux"]["uidMappings"] = two_ranges(300_000);
        c["linux"]["gidMappings"] = two_ranges(300_000);
        c["process"]["user"]["additionalGids"] = json!([5]);
        // chown needs CAP_CHOWN (in the container's user namespace), not in the default set.
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_CHOWN"));
        }
    });
    let id = unique("rl-multi");
    let ranges = format!("{ROOTLESS_UID}:300000:65536\n");
    let o = with_subids(
        &u,
        &ranges,
        &ranges,
        &["run", "--bundle", b.path().to_str().unwrap(), &id],
    );
    o.ok();
    let maps: Vec<Vec<&str>> = o
        .stdout
        .lines()
        .take(4)
        .map(|l| l.split_whitespace().collect())
        .collect();
    for i in [0, 2] {
        assert_eq!(maps[i], ["0", "65534", "1"], "{o:#?}");
        assert_eq!(maps[i + 1], ["1", "300000", "65536"], "{o:#?}");
    }
    // Host 300005 is 6 inside (300000 is 1); a file chowned to 7:9 inside is 300006:300008 on
    // the host's disk.
    assert!(o.stdout.contains("6:7\n"), "{o:#?}");
    assert!(o.stdout.contains("chowned"), "{o:#?}");
    let m = fs::metadata(v.join("made")).unwrap();
    assert_eq!((m.uid(), m.gid()), (300_006, 300_008));
    // newgidmap keeps setgroups allowed when the user has ranges, so additionalGids work.
    assert!(o.stdout.trim_end().ends_with("allow"), "{o:#?}");
    assert!(!u.root().join(&id).exists());
}

#[test]
fn a_mapping_the_user_may_not_have_is_refused_clearly() {
    let u = UserSession::new();
    let mut b = u.bundle(&["true"]);
    b.edit(|c| c["linux"]["uidMappings"] = two_ranges(400_000));
    let id = unique("rl-denied");
    // Ranges for someone else only.
    let o = with_subids(
        &u,
        "12345:400000:65536\n",
        "12345:400000:65536\n",
        &["run", "--bundle", b.path().to_str().unwrap(), &id],
    );
    o.fails();
    assert!(o.stderr.contains("newuidmap"), "{o:#?}");
    assert!(o.stderr.contains("not allowed"), "{o:#?}");
    assert!(o.stderr.contains("/etc/subuid"), "{o:#?}");
    assert!(!u.root().join(&id).exists(), "state left behind");
    assert!(processes_containing(&id).is_empty());

    // A single id that is not the user's goes to newuidmap as well, and is refused the same way.
    b.edit(|c| {
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
    });
    let o = with_subids(
        &u,
        "",
        "",
        &["run", "--bundle", b.path().to_str().unwrap(), &id],
    );
    o.fails();
    assert!(o.stderr.contains("newuidmap"), "{o:#?}");
    assert!(!o.stderr.contains("panicked"), "{o:#?}");
    assert!(!u.root().join(&id).exists(), "state left behind");
}

#[test]
fn additional_groups_with_setgroups_denied_are_refused_clearly() {
    let u = UserSession::new();
    let mut b = u.bundle(&["cat", "/proc/self/setgroups"]);
    let id = unique("rl-sg");
    let o = run(&u, &b, &id);
    o.ok();
    assert_eq!(o.stdout.trim(), "deny");
    b.edit(|c| c["process"]["user"]["additionalGids"] = json!([5]));
    let o = run(&u, &b, &id);
    o.fails();
    assert!(o.stderr.contains("additionalGids [5]"), "{o:#?}");
    assert!(o.stderr.contains("setgroups is denied"), "{o:#?}");
    assert!(!u.root().join(&id).exists());
}

#[test]
fn limits_without_a_delegated_cgroup_are_refused_not_dropped() {
    let u = UserSession::new();
    let mut b = u.bundle(&["true"]);
    b.edit(|c| {
        c["linux"]["resources"] = json!({"pids": {"limit": 10}, "memory": {"limit": 67108864}})
    });
    let id = unique("rl-limits");
    let o = run(&u, &b, &id);
    o.fails();
    assert!(o.stderr.contains("rootless"), "{o:#?}");
    assert!(o.stderr.contains("memory, pids"), "{o:#?}");
    assert!(o.stderr.contains("delegate"), "{o:#?}");
    assert!(!u.root().join(&id).exists());
    assert!(cgroups_containing(&id).is_empty());
}

/// Offsets of the time namespace as seen inside: (boottime seconds shown by /proc/uptime,
/// the timens_offsets lines).
fn time_offsets_config(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    c["linux"]["timeOffsets"] = json!({
        "boottime": {"secs": 864000, "nanosecs": 0},
        "monotonic": {"secs": 3600, "nanosecs": 7}
    });
    c["process"]["args"] = json!(["sh", "-c", "cat /proc/uptime /proc/self/timens_offsets"]);
}

fn check_offsets(o: &Out) {
    let host_uptime: f64 = fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let inside: f64 = o.stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        inside >= 864000.0 && inside - 864000.0 <= host_uptime + 1.0,
        "uptime inside {inside}, host {host_uptime}: {o:#?}"
    );
    let lines: Vec<Vec<&str>> = o
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(lines.contains(&vec!["monotonic", "3600", "7"]), "{o:#?}");
    assert!(lines.contains(&vec!["boottime", "864000", "0"]), "{o:#?}");
}

#[test]
fn time_namespace_offsets_inside_a_user_namespace_as_the_user() {
    let u = UserSession::new();
    let mut b = u.bundle(&["true"]);
    b.edit(time_offsets_config);
    let o = run(&u, &b, &unique("rl-time"));
    o.ok();
    check_offsets(&o);
}

#[test]
fn time_namespace_offsets_inside_a_user_namespace_as_root() {
    let r = Root::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        time_offsets_config(c);
    });
    let id = unique("time-userns");
    let o = r.run(&b, &id);
    o.ok();
    check_offsets(&o);
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn a_rootless_state_root_without_xdg_runtime_dir_is_an_error_not_a_panic() {
    let u = UserSession::new();
    let b = u.bundle(&["true"]);
    // Unset, and relative (which would put the state wherever the command happens to run).
    for xdg in [None, Some("relative/xdg")] {
        let mut c = u.cmd(&["run", "--bundle", b.path().to_str().unwrap(), "x"]);
        match xdg {
            None => c.env_remove("XDG_RUNTIME_DIR"),
            Some(x) => c.env("XDG_RUNTIME_DIR", x),
        };
        let o = run_with_timeout(c, Duration::from_secs(60));
        o.fails();
        assert!(o.stderr.contains("/run/rampart"), "{o:#?}");
        assert!(o.stderr.contains("XDG_RUNTIME_DIR"), "{o:#?}");
        assert!(!o.stderr.contains("panicked"), "{o:#?}");
        assert!(!u.dir.path().join("relative").exists());
    }
}

#[test]
fn a_second_container_joins_the_firsts_user_and_pid_namespaces() {
    // A rootless pod: the second container shares the first's user and pid namespaces. The
    // runtime cannot join a pid namespace itself without CAP_SYS_ADMIN on the host, so this
    // goes through the joiner (process::spawn_through_joiner).
    let u = UserSession::new();
    let a = u.bundle(&["sleep", "300"]);
    let ida = unique("rl-poda");
    u.rampart(&["run", "-d", "--bundle", a.path().to_str().unwrap(), &ida])
        .ok();
    let apid = pid_of(&u, &ida);
    let mut b = u.bundle(&["sleep", "301"]);
    b.edit(|c| {
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            let t = ns["type"].as_str().unwrap().to_string();
            if t == "pid" || t == "user" {
                ns["path"] = json!(format!("/proc/{apid}/ns/{t}"));
            }
        }
        let linux = c["linux"].as_object_mut().unwrap();
        linux.remove("uidMappings");
        linux.remove("gidMappings");
    });
    let idb = unique("rl-podb");
    u.rampart(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &idb])
        .ok();
    let bpid = pid_of(&u, &idb);
    for t in ["pid", "user"] {
        assert_eq!(
            fs::read_link(format!("/proc/{apid}/ns/{t}")).unwrap(),
            fs::read_link(format!("/proc/{bpid}/ns/{t}")).unwrap(),
            "{t} namespace not shared"
        );
    }
    assert_eq!(host_uids(bpid), (ROOTLESS_UID, ROOTLESS_UID));
    // From the second container, the first's init is pid 1 of the shared namespace.
    let o = u.rampart(&["exec", &idb, "cat", "/proc/1/cmdline"]);
    o.ok();
    assert_eq!(o.stdout, "sleep\0300\0", "{o:#?}");
    // The second container's processes are its own: ps and kill --all leave the first alone.
    let ps = u.rampart(&["ps", "--format", "json", &idb]);
    ps.ok();
    let pids: Vec<i64> = serde_json::from_str(&ps.stdout).unwrap();
    assert_eq!(pids, [bpid], "{ps:#?}");
    u.rampart(&["kill", "--all", &idb, "KILL"]).ok();
    assert!(wait_pid_gone(bpid as i32, 10));
    assert!(
        pid_alive(apid as i32),
        "kill --all of the second container reached the first"
    );
    u.rampart(&["delete", "--force", &idb]).ok();
    u.rampart(&["delete", "--force", &ida]).ok();
    assert!(wait_pid_gone(apid as i32, 10));
    assert!(u.ids().is_empty());
}

#[test]
fn rootless_false_makes_a_cgroup_that_cannot_be_made_an_error() {
    // --rootless=false: the cgroup is required, as for root; auto (the default) skipped it in
    // every test above.
    let u = UserSession::new();
    let b = u.bundle(&["true"]);
    let id = unique("rl-false");
    let o = u.rampart(&[
        "--rootless=false",
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]);
    o.fails();
    assert!(o.stderr.contains("cgroup"), "{o:#?}");
    assert!(o.stderr.contains("Permission denied"), "{o:#?}");
    assert!(!o.stderr.contains("rootless: no cgroup"), "{o:#?}");
    assert!(!u.root().join(&id).exists());
    let o = u.rampart(&["--rootless=maybe", "list"]);
    o.fails();
    assert!(o.stderr.contains("maybe"), "{o:#?}");
}

#[test]
fn an_unmapped_user_is_named_in_the_error() {
    let u = UserSession::new();
    let b = u.bundle(&["sleep", "300"]);
    let id = unique("rl-unmapped");
    u.rampart(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    // Only uid 0 is mapped (the user's own id).
    let o = u.rampart(&["exec", "-u", "1000", &id, "id"]);
    o.fails();
    assert!(o.stderr.contains("uid 1000 is not mapped"), "{o:#?}");
    assert!(o.stderr.contains("uidMappings"), "{o:#?}");
    let o = u.rampart(&["exec", "-u", "0:1000", &id, "id"]);
    o.fails();
    assert!(o.stderr.contains("gid 1000 is not mapped"), "{o:#?}");
    u.rampart(&["delete", "--force", &id]).ok();
}

/// Rootless podman's shape (found through vendor-tests' podman-rootless engine): the runtime runs
/// as uid 0 of a user namespace podman made, with XDG_RUNTIME_DIR and USER set to the user's, no
/// --root, and a config that asks for no user namespace (the container shares podman's). State
/// goes to $XDG_RUNTIME_DIR/rampart (runc: $XDG_RUNTIME_DIR/runc), not to root's /run/rampart,
/// and /dev's nodes are bound from the host, since mknod fails there.
#[test]
fn root_of_a_user_namespace_with_no_user_namespace_in_the_config_as_rootless_podman_runs_it() {
    let u = UserSession::new();
    let mut b = u.bundle(&["sleep", "60"]);
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "user");
        c["linux"].as_object_mut().unwrap().remove("uidMappings");
        c["linux"].as_object_mut().unwrap().remove("gidMappings");
    });
    let id = unique("rl-inuserns");
    let rampart = rampart_bin();
    // `rampart args...` as root of a user namespace: a new one (as podman's first command makes
    // it) or, with `target`, the container's (as podman joins its pause process's).
    let as_ns_root = |target: Option<i64>, args: &[&str]| {
        let mut a: Vec<String> = match target {
            None => vec!["unshare".into(), "--user".into(), "--map-root-user".into()],
            Some(pid) => vec![
                "nsenter".into(),
                "--user".into(),
                "--preserve-credentials".into(),
                format!("--target={pid}"),
            ],
        };
        a.push(rampart.to_str().unwrap().into());
        a.extend(args.iter().map(|s| s.to_string()));
        let mut c = u.command(Path::new(&a[0]), &a[1..]);
        c.env("USER", "nobody");
        run_with_timeout(c, Duration::from_secs(60))
    };
    as_ns_root(
        None,
        &["run", "-d", "--bundle", b.path().to_str().unwrap(), &id],
    )
    .ok();
    let st = u.root().join(&id).join("state.json");
    assert!(st.exists(), "no state at {}", st.display());
    assert!(!Path::new("/run/rampart").join(&id).exists());
    let pid = pid_of(&u, &id);
    assert_eq!(host_uids(pid), (ROOTLESS_UID, ROOTLESS_UID));
    let o = as_ns_root(
        Some(pid),
        &[
            "exec",
            &id,
            "sh",
            "-c",
            "id -u; test -c /dev/null && echo hi > /dev/null && echo null-ok",
        ],
    );
    o.ok();
    assert_eq!(
        o.stdout.lines().collect::<Vec<_>>(),
        ["0", "null-ok"],
        "{o:#?}"
    );
    as_ns_root(Some(pid), &["delete", "--force", &id]).ok();
    assert!(wait_pid_gone(pid as i32, 10));
    assert!(!u.root().join(&id).exists());
}
