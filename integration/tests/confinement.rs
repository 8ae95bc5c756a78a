//! What the workload sees inside the container, checked from inside (and from the host where
//! that is the only view): pid 1, hostname, read-only root, masked and read-only kernel paths,
//! capabilities, no_new_privs, rlimits, env/cwd/user, mounts, namespaces, sysctl, oom score, user
//! namespace maps.
use rampart_integration::*;
use serde_json::json;
use std::ffi::OsStr;
use std::fs;

fn sh(script: &str) -> Bundle {
    Bundle::new(&["sh", "-c", script])
}

/// Runs the bundle and returns its stdout, asserting success and a clean host afterwards.
#[track_caller]
fn run_clean(b: &Bundle) -> String {
    let r = Root::new();
    let id = unique("conf");
    let o = r.run(b, &id);
    o.ok();
    assert_nothing_left(&r, b, &id);
    o.stdout
}

fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} not in {status}"))
        .trim()
        .to_string()
}

#[test]
fn workload_is_pid_1() {
    assert_eq!(run_clean(&sh("echo $$")).trim(), "1");
}

#[test]
fn hostname_and_domainname() {
    let mut b = sh("hostname; cat /proc/sys/kernel/domainname");
    b.edit(|c| {
        c["hostname"] = json!("box-one");
        c["domainname"] = json!("dom.example");
    });
    assert_eq!(run_clean(&b), "box-one\ndom.example\n");
}

#[test]
fn readonly_root_gives_erofs() {
    let out = run_clean(&sh(
        "touch /newfile 2>&1; echo rc=$?; mkdir /etc/x 2>&1; echo rc=$?",
    ));
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!out.contains("rc=0"), "{out}");
    // And with root.readonly false the same write works (so the failure above is the flag's).
    let mut b = sh("touch /newfile && echo written");
    b.edit(|c| c["root"]["readonly"] = json!(false));
    assert_eq!(run_clean(&b).trim(), "written");
    assert!(b.rootfs().join("newfile").exists());
}

#[test]
fn masked_paths_are_unreadable() {
    // The default spec masks these: files read as empty (/dev/null), directories are empty.
    let out = run_clean(&sh(
        "for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do \
           [ -e $f ] || continue; echo \"$f $(head -c 64 $f | wc -c)\"; done; \
         echo \"firmware $(ls -A /sys/firmware | wc -l)\"; \
         echo \"acpi $(ls -A /proc/acpi 2>/dev/null | wc -l)\"",
    ));
    if std::path::Path::new("/proc/kcore").exists() {
        assert!(out.contains("/proc/kcore 0\n"), "{out}");
    }
    assert!(out.contains("/proc/keys 0\n"), "{out}");
    assert!(out.contains("/proc/timer_list 0\n"), "{out}");
    assert!(out.contains("firmware 0\n"), "{out}");
    assert!(out.contains("acpi 0\n"), "{out}");
    // The host does have content there, so an empty read is the mask's doing.
    assert!(fs::read_dir("/sys/firmware").unwrap().count() > 0);
    // Writes to a masked file go nowhere either.
}

#[test]
fn readonly_paths_are_unwritable() {
    // Even with CAP_SYS_ADMIN (which would allow writing uts sysctls), /proc/sys is read-only.
    let mut b = sh(
        "{ echo changed > /proc/sys/kernel/hostname; } 2>&1; echo rc=$?; \
         { echo h > /proc/sysrq-trigger; } 2>&1; echo rc=$?; hostname",
    );
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = json!(["CAP_SYS_ADMIN"]);
        }
    });
    let out = run_clean(&b);
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!out.contains("rc=0"), "{out}");
    assert!(out.ends_with("rampart\n"), "hostname changed: {out}");
}

fn cap_mask(names: &[&str]) -> u64 {
    let num = |n: &str| match n {
        "CAP_CHOWN" => 0,
        "CAP_DAC_OVERRIDE" => 1,
        "CAP_KILL" => 5,
        "CAP_SETGID" => 6,
        "CAP_SETUID" => 7,
        "CAP_NET_BIND_SERVICE" => 10,
        "CAP_NET_RAW" => 13,
        "CAP_SYS_ADMIN" => 21,
        "CAP_AUDIT_WRITE" => 29,
        other => panic!("{other}"),
    };
    names.iter().map(|n| 1u64 << num(n)).fold(0, |a, b| a | b)
}

fn caps_inside(b: &Bundle) -> [u64; 5] {
    let out = run_clean(b);
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
        .map(|k| u64::from_str_radix(&status_field(&out, k), 16).unwrap())
}

#[test]
fn capabilities_equal_the_config() {
    // The default spec's set, as root.
    let b = sh("cat /proc/self/status");
    let d = cap_mask(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    assert_eq!(caps_inside(&b), [0, d, d, d, 0]);

    // A custom set as root (exec as uid 0 gives permitted = effective = bounding, so the config
    // is written that way).
    let mut b = sh("cat /proc/self/status");
    let set = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_SETUID"];
    b.edit(|c| {
        for s in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][s] = json!(set);
        }
    });
    let m = cap_mask(&set);
    assert_eq!(caps_inside(&b), [0, m, m, m, 0]);

    // All five sets distinct, as a non-root user: what survives exec is the ambient set.
    let mut b = sh("cat /proc/self/status");
    let bnd = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"];
    let inh = ["CAP_KILL", "CAP_NET_RAW", "CAP_CHOWN"];
    let amb = ["CAP_KILL", "CAP_NET_RAW"];
    b.edit(|c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({
            "bounding": bnd, "inheritable": inh, "permitted": amb, "effective": amb, "ambient": amb,
        });
    });
    let (mb, mi, ma) = (cap_mask(&bnd), cap_mask(&inh), cap_mask(&amb));
    assert_eq!(caps_inside(&b), [mi, ma, ma, mb, ma]);
}

#[test]
fn no_new_privs_follows_the_config() {
    let b = sh("cat /proc/self/status");
    assert_eq!(status_field(&run_clean(&b), "NoNewPrivs"), "1");
    let mut b = sh("cat /proc/self/status");
    b.edit(|c| c["process"]["noNewPrivileges"] = json!(false));
    assert_eq!(status_field(&run_clean(&b), "NoNewPrivs"), "0");
}

#[test]
fn rlimits_are_applied() {
    let mut b = sh("ulimit -Sn; ulimit -Hn; ulimit -Ss");
    b.edit(|c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 333, "hard": 444},
            {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608},
        ])
    });
    assert_eq!(run_clean(&b), "333\n444\n4096\n");
}

#[test]
fn env_cwd_user_groups_umask() {
    let mut b = sh(
        "echo \"$FOO|$EMPTY|$PATH\"; pwd; id -u; id -g; id -G; umask; touch /w/f; stat -c %a /w/f",
    );
    let w = b.bind_dir("/w", false);
    // The workload is not root: let it write into the volume.
    fs::set_permissions(&w, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    b.edit(|c| {
        c["process"]["env"] = json!(["PATH=/bin:/sbin", "FOO=bar baz", "EMPTY="]);
        c["process"]["cwd"] = json!("/tmp");
        c["process"]["user"] =
            json!({"uid": 1234, "gid": 1235, "additionalGids": [2001, 2002], "umask": 0o027});
    });
    assert_eq!(
        run_clean(&b),
        "bar baz||/bin:/sbin\n/tmp\n1234\n1235\n1235 2001 2002\n0027\n640\n"
    );
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(w.join("f")).unwrap();
    assert_eq!((md.uid(), md.gid()), (1234, 1235));
}

#[test]
fn bind_mounts_ro_and_rw() {
    let mut b = sh(
        "cat /ro/in; { echo x > /ro/new; } 2>&1; echo rc=$?; echo from-inside > /rw/out; echo done",
    );
    let ro = b.bind_dir("/ro", true);
    let rw = b.bind_dir("/rw", false);
    fs::write(ro.join("in"), "host-data\n").unwrap();
    let out = run_clean(&b);
    assert!(out.starts_with("host-data\n"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!out.contains("rc=0"), "{out}");
    assert!(out.ends_with("done\n"), "{out}");
    assert!(!ro.join("new").exists());
    assert_eq!(fs::read_to_string(rw.join("out")).unwrap(), "from-inside\n");
}

#[test]
fn tmpfs_mount_with_options() {
    let mut b = sh(
        "stat -c %a /scratch; grep ' /scratch ' /proc/self/mountinfo; \
                    echo data > /scratch/f && cat /scratch/f",
    );
    fs::create_dir_all(b.rootfs().join("scratch")).unwrap();
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "noexec", "mode=1770", "size=1m"],
        }))
    });
    let out = run_clean(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1770", "{out}");
    let mi = lines[1];
    for o in ["nosuid", "nodev", "noexec", "tmpfs", "size=1024k"] {
        assert!(mi.contains(o), "{o} missing from {mi}");
    }
    assert_eq!(lines[2], "data");
}

#[test]
fn namespaces_differ_from_the_host() {
    let kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup"];
    let script: String = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}; "))
        .collect();
    let out = run_clean(&sh(&script));
    let inside: Vec<&str> = out.lines().collect();
    assert_eq!(inside.len(), kinds.len(), "{out}");
    for (k, link) in kinds.iter().zip(inside) {
        let host = fs::read_link(format!("/proc/self/ns/{k}")).unwrap();
        assert!(link.starts_with(&format!("{k}:[")), "{link}");
        assert_ne!(link, host.to_str().unwrap(), "{k} namespace is the host's");
    }
    // A namespace left out of the config is the host's.
    let mut b = sh("readlink /proc/self/ns/ipc");
    b.drop_namespace("ipc");
    let host = fs::read_link("/proc/self/ns/ipc").unwrap();
    assert_eq!(run_clean(&b).trim(), host.to_str().unwrap());
}

#[test]
fn joins_an_existing_namespace_by_path() {
    let r = Root::new();
    let holder = Bundle::new(&["sleep", "1000"]);
    let hid = unique("holder");
    r.rampart(&[
        OsStr::new("run"),
        OsStr::new("-d"),
        OsStr::new("--bundle"),
        holder.path().as_os_str(),
        OsStr::new(&hid),
    ])
    .ok();
    let hpid = r.state(&hid)["pid"].as_i64().unwrap();
    let want_net = fs::read_link(format!("/proc/{hpid}/ns/net")).unwrap();
    let want_uts = fs::read_link(format!("/proc/{hpid}/ns/uts")).unwrap();

    let mut b = sh("readlink /proc/self/ns/net; readlink /proc/self/ns/uts; hostname");
    b.edit(|c| {
        c.as_object_mut().unwrap().remove("hostname");
        for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = json!(format!("/proc/{hpid}/ns/net"));
            }
            if n["type"] == "uts" {
                n["path"] = json!(format!("/proc/{hpid}/ns/uts"));
            }
        }
    });
    let id = unique("joiner");
    let o = r.run(&b, &id);
    o.ok();
    assert_eq!(
        o.stdout,
        format!("{}\n{}\nrampart\n", want_net.display(), want_uts.display()),
        "joined namespaces (hostname from the holder's uts)"
    );
    assert_nothing_left(&r, &b, &id);
    r.rampart(&["delete", "-f", &hid]).ok();
    assert_nothing_left(&r, &holder, &hid);
}

#[test]
fn no_pivot_runs_in_the_rootfs() {
    let r = Root::new();
    let b = sh(
        "echo $$; ls /bin/busybox; cat /etc/passwd | head -1; touch /x 2>&1 | grep -c Read-only",
    );
    let id = unique("nopivot");
    let o = r.rampart(&[
        OsStr::new("run"),
        OsStr::new("--no-pivot"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.ok();
    assert_eq!(
        o.stdout,
        "1\n/bin/busybox\nroot:x:0:0:root:/root:/bin/sh\n1\n"
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn oom_score_adj_is_set() {
    let mut b = sh("cat /proc/self/oom_score_adj");
    b.edit(|c| c["process"]["oomScoreAdj"] = json!(123));
    assert_eq!(run_clean(&b).trim(), "123");
}

#[test]
fn sysctl_applies_inside_the_net_namespace() {
    let host = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let want = if host.trim() == "1" { "0" } else { "1" };
    let mut b = sh("cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/net/ipv4/ip_default_ttl");
    b.edit(|c| {
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": want, "net.ipv4.ip_default_ttl": "77"})
    });
    assert_eq!(run_clean(&b), format!("{want}\n77\n"));
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host,
        "host changed"
    );
}

#[test]
fn user_namespace_with_mappings() {
    let mut b = sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; readlink /proc/self/ns/user");
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    });
    let out = run_clean(&b);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[1], ["0", "200000", "65536"], "{out}");
    assert_eq!(lines[2], ["0"], "{out}");
    let host = fs::read_link("/proc/self/ns/user").unwrap();
    assert_ne!(lines[3][0], host.to_str().unwrap());
}

/// A config that joins another container's user namespace and makes its own pid namespace (a
/// pod whose containers share one user namespace): the new pid namespace must belong to the
/// joined user namespace, or /proc cannot be mounted, and the init must be that namespace's
/// root, or every file it makes fails with EOVERFLOW.
#[test]
fn joining_a_user_namespace_with_a_new_pid_namespace() {
    let r = Root::new();
    let mut holder = sh("sleep 300");
    let maps = |c: &mut serde_json::Value| {
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    };
    holder.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        maps(c);
    });
    let holder_id = unique("userns-holder");
    r.rampart(&[
        "run",
        "-d",
        "--bundle",
        holder.path().to_str().unwrap(),
        &holder_id,
    ])
    .ok();
    let pid = r.state(&holder_id)["pid"].as_i64().unwrap();
    let mut b = sh("id -u; echo $$; readlink /proc/self/ns/user; readlink /proc/self/ns/pid");
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
    });
    let out = run_ok(&r, &b, &unique("userns-joiner"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["0", "1"], "{out}");
    let holder_ns = |k: &str| fs::read_link(format!("/proc/{pid}/ns/{k}")).unwrap();
    assert_eq!(lines[2], holder_ns("user").to_str().unwrap(), "{out}");
    assert_ne!(lines[3], holder_ns("pid").to_str().unwrap(), "{out}");
    r.rampart(&["delete", "--force", &holder_id]).ok();
    assert_nothing_left(&r, &holder, &holder_id);
}
