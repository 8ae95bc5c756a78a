//! Landlock through the real binary: root in the container, on a writable rootfs, is confined to
//! what `process.landlock` (or the default-policy annotation) allows. This host has Landlock ABI
//! 7 (HOST.md): every right of ABI 1-7 is enforceable, `resolve_unix` (ABI 9) is not.
use rampart_integration::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::fs;

/// The Landlock ABI of the running kernel (landlock_create_ruleset(NULL, 0, VERSION)).
fn kernel_abi() -> i64 {
    // SAFETY-free: a query that takes no pointers the kernel writes to.
    unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    }
}

/// A bundle with a writable rootfs, a /data directory in it, and `policy` as process.landlock.
fn bundle(script: &str, policy: Option<Value>) -> Bundle {
    let mut b = Bundle::new(&["sh", "-c", script]);
    fs::create_dir_all(b.rootfs().join("data")).unwrap();
    b.edit(|c| {
        c["root"]["readonly"] = json!(false);
        if let Some(p) = policy {
            c["process"]["landlock"] = p;
        }
    });
    b
}

/// Writes confined to /data: write_file, make_reg and truncate are handled, nothing else.
fn data_only_policy() -> Value {
    json!({
        "ruleset": {"handledAccessFS": ["write_file", "make_reg", "truncate"]},
        "rules": {"pathBeneath": [
            {"allowedAccess": ["write_file", "make_reg", "truncate"], "paths": ["/data"]}
        ]}
    })
}

const WRITE_BOTH: &str =
    "id -u; echo in > /data/f && echo data-ok; echo out > /root/f && echo root-ok; cat /data/f";

#[test]
fn root_writes_where_a_rule_allows_and_gets_eacces_elsewhere() {
    let r = Root::new();
    // Control: without the policy, root writes to /root.
    let b = bundle(WRITE_BOTH, None);
    let id = unique("ll-ctl");
    let o = r.run(&b, &id);
    o.ok();
    assert!(o.stdout.contains("root-ok"), "{o:#?}");
    assert!(b.rootfs().join("root/f").exists());

    let b = bundle(WRITE_BOTH, Some(data_only_policy()));
    let id = unique("ll-rule");
    let o = r.run(&b, &id);
    o.ok();
    assert_eq!(
        o.stdout.lines().next(),
        Some("0"),
        "not root inside: {o:#?}"
    );
    assert!(o.stdout.contains("data-ok"), "{o:#?}");
    assert!(
        !o.stdout.contains("root-ok"),
        "write outside the rule worked: {o:#?}"
    );
    assert!(
        o.stderr.contains("can't create /root/f: Permission denied"),
        "{o:#?}"
    );
    assert_eq!(
        fs::read_to_string(b.rootfs().join("data/f")).unwrap(),
        "in\n"
    );
    assert!(!b.rootfs().join("root/f").exists());
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn unhandled_rights_keep_working() {
    let r = Root::new();
    // make_dir, make_sym, remove_*, read and execute are not handled: they work everywhere,
    // while writing a file outside /data (handled) is still denied.
    let script = "mkdir /root/d && echo mkdir-ok; ln -s /etc/passwd /root/l && echo symlink-ok; \
        rmdir /root/d && echo rmdir-ok; rm /root/l && echo rm-ok; \
        head -c4 /etc/passwd && echo && echo read-ok; \
        echo x > /root/f || echo write-denied; grep NoNewPrivs /proc/self/status";
    let mut b = bundle(script, Some(data_only_policy()));
    // Landlock needs no_new_privs: a policy implies it even when the config says otherwise (and
    // the seccomp filter is then loaded before the capability drop, ahead of Landlock).
    b.edit(|c| c["process"]["noNewPrivileges"] = json!(false));
    let id = unique("ll-unhandled");
    let o = r.run(&b, &id);
    o.ok();
    for want in [
        "mkdir-ok",
        "symlink-ok",
        "rmdir-ok",
        "rm-ok",
        "read-ok",
        "write-denied",
    ] {
        assert!(o.stdout.contains(want), "{want}: {o:#?}");
    }
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn net_port_rules_are_enforced() {
    assert!(
        kernel_abi() >= 4,
        "this test needs Landlock ABI 4+ (host has {})",
        kernel_abi()
    );
    let r = Root::new();
    // Port 8080: bind and connect allowed; 8081: connect only; 9090/9091: nothing.
    let script = "ip link set lo up || exit 3; \
        (while :; do echo pong | nc -l -p 8080; done &); \
        for i in $(seq 100); do r=$(sleep 0.2 | nc 127.0.0.1 8080 2>/dev/null) && [ -n \"$r\" ] && break; sleep 0.1; done; \
        echo \"got=$r\"; \
        timeout 5 nc -l -p 9090 2>&1 | head -n1 | sed 's/^/bind9090: /'; \
        nc 127.0.0.1 8081 </dev/null 2>&1 | sed 's/^/conn8081: /'; \
        nc 127.0.0.1 9091 </dev/null 2>&1 | sed 's/^/conn9091: /'";
    let policy = json!({
        "ruleset": {"handledAccessNet": ["bind_tcp", "connect_tcp"]},
        "rules": {"netPort": [
            {"allowedAccess": ["bind_tcp", "connect_tcp"], "ports": [8080]},
            {"allowedAccess": ["connect_tcp"], "ports": [8081]}
        ]}
    });
    let mut b = bundle(script, Some(policy));
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_NET_ADMIN"));
        }
    });
    let id = unique("ll-net");
    let o = r.run(&b, &id);
    o.ok();
    assert!(
        o.stdout.contains("got=pong"),
        "allowed bind+connect failed: {o:#?}"
    );
    assert!(
        o.stdout.contains("bind9090: nc: bind: Permission denied"),
        "{o:#?}"
    );
    // Allowed connect reaches the (empty) port; a denied one never leaves the process.
    assert!(
        o.stdout
            .contains("conn8081: nc: can't connect to remote host (127.0.0.1): Connection refused"),
        "{o:#?}"
    );
    assert!(
        o.stdout
            .contains("conn9091: nc: can't connect to remote host (127.0.0.1): Permission denied"),
        "{o:#?}"
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn an_unknown_right_is_an_error() {
    let r = Root::new();
    for policy in [
        json!({"ruleset": {"handledAccessFS": ["write_fil"]}}),
        json!({"ruleset": {"handledAccessNet": ["bind_tcp"]},
               "rules": {"netPort": [{"allowedAccess": ["bind_udpp"], "ports": [1]}]}}),
    ] {
        let b = bundle("echo should-not-run", Some(policy));
        let id = unique("ll-unknown");
        let o = r.run(&b, &id);
        o.fails();
        assert!(!o.stdout.contains("should-not-run"));
        assert!(o.stderr.contains("unknown access right"), "{o:#?}");
        assert!(
            o.stderr.contains("write_fil") || o.stderr.contains("bind_udpp"),
            "{o:#?}"
        );
        assert_nothing_left(&r, &b, &id);
    }
}

/// `resolve_unix` is Landlock ABI 9: this kernel (ABI 7) cannot enforce it.
fn policy_with_unsupported_right(disable_best_effort: bool) -> Value {
    let mut p = data_only_policy();
    p["ruleset"]["handledAccessFS"]
        .as_array_mut()
        .unwrap()
        .push(json!("resolve_unix"));
    p["disableBestEffort"] = json!(disable_best_effort);
    p
}

#[test]
fn best_effort_enforces_what_the_kernel_can_and_logs_the_rest() {
    let abi = kernel_abi();
    assert!(
        (4..9).contains(&abi),
        "test assumes Landlock ABI 4-8 (HOST.md says 7), got {abi}"
    );
    let r = Root::new();
    let b = bundle(WRITE_BOTH, Some(policy_with_unsupported_right(false)));
    let log = b.path().join("rampart.log");
    let id = unique("ll-best");
    let o = r.rampart(&[
        OsStr::new("--debug"),
        OsStr::new("--log"),
        log.as_os_str(),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.ok();
    assert!(
        o.stdout.contains("data-ok") && !o.stdout.contains("root-ok"),
        "{o:#?}"
    );
    let log = fs::read_to_string(&log).unwrap();
    assert!(log.contains("cannot enforce resolve_unix"), "{log}");
    assert!(
        log.contains("enforcing handled fs [write_file,make_reg,truncate]"),
        "the debug log must say what was enforced: {log}"
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn disable_best_effort_refuses_what_the_kernel_cannot_enforce() {
    let abi = kernel_abi();
    assert!(
        (4..9).contains(&abi),
        "test assumes Landlock ABI 4-8 (HOST.md says 7), got {abi}"
    );
    let r = Root::new();
    let b = bundle(
        "echo should-not-run",
        Some(policy_with_unsupported_right(true)),
    );
    let id = unique("ll-strict");
    let o = r.run(&b, &id);
    o.fails();
    assert!(!o.stdout.contains("should-not-run"));
    assert!(
        o.stderr.contains("disableBestEffort") && o.stderr.contains("resolve_unix"),
        "{o:#?}"
    );
    assert_nothing_left(&r, &b, &id);

    // Everything in it enforceable: disableBestEffort runs and confines.
    let mut p = data_only_policy();
    p["disableBestEffort"] = json!(true);
    let b = bundle(WRITE_BOTH, Some(p));
    let id = unique("ll-strict-ok");
    let o = r.run(&b, &id);
    o.ok();
    assert!(
        o.stdout.contains("data-ok") && !o.stdout.contains("root-ok"),
        "{o:#?}"
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn default_policy_annotation_confines_writes_to_writable_mounts() {
    let r = Root::new();
    let script = "echo a > /scratch/f && echo tmpfs-ok; echo b > /vol/f && echo vol-ok; \
        echo c > /root/f 2>/dev/null || echo rootfs-denied; \
        echo d > /rovol/f 2>/dev/null || echo rovol-denied; \
        echo e > /dev/null && echo devnull-ok; \
        cat /etc/passwd > /dev/null && echo read-ok; ls / > /dev/null && echo exec-ok";
    let make = |annotate: bool| {
        let mut b = bundle(script, None);
        b.edit(|c| {
            c["mounts"].as_array_mut().unwrap().push(json!({
                "destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "size=1m"]
            }));
            if annotate {
                c["annotations"] = json!({"run.rampart.landlock": "default"});
            }
        });
        let vol = b.bind_dir("/vol", false);
        let rovol = b.bind_dir("/rovol", true);
        (b, vol, rovol)
    };

    // Control: the rootfs is writable without the policy.
    let (b, _, _) = make(false);
    let id = unique("ll-def-ctl");
    let o = r.run(&b, &id);
    o.ok();
    assert!(!o.stdout.contains("rootfs-denied"), "{o:#?}");

    let (b, vol, _) = make(true);
    let id = unique("ll-def");
    let o = r.run(&b, &id);
    o.ok();
    for want in [
        "tmpfs-ok",
        "vol-ok",
        "rootfs-denied",
        "rovol-denied",
        "devnull-ok",
        "read-ok",
        "exec-ok",
    ] {
        assert!(o.stdout.contains(want), "{want}: {o:#?}");
    }
    assert_eq!(fs::read_to_string(vol.join("f")).unwrap(), "b\n");
    assert!(!b.rootfs().join("root/f").exists());
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn bad_policy_configs_are_errors() {
    let r = Root::new();
    let mut b = bundle("echo should-not-run", None);
    b.edit(|c| c["annotations"] = json!({"run.rampart.landlock": "on"}));
    let o = r.run(&b, &unique("ll-ann"));
    o.fails();
    assert!(o.stderr.contains("run.rampart.landlock"), "{o:#?}");

    // A rule allowing a right the ruleset does not handle would be a kernel EINVAL.
    let b = bundle(
        "echo should-not-run",
        Some(json!({
            "ruleset": {"handledAccessFS": ["write_file"]},
            "rules": {"pathBeneath": [{"allowedAccess": ["read_file"], "paths": ["/data"]}]}
        })),
    );
    let o = r.run(&b, &unique("ll-nothandled"));
    o.fails();
    assert!(
        o.stderr.contains("read_file") && o.stderr.contains("handledAccessFS"),
        "{o:#?}"
    );

    // A rule path that does not exist in the container fails create, naming it.
    let b = bundle(
        "echo should-not-run",
        Some(json!({
            "ruleset": {"handledAccessFS": ["write_file"]},
            "rules": {"pathBeneath": [{"allowedAccess": ["write_file"], "paths": ["/nope"]}]}
        })),
    );
    let id = unique("ll-nopath");
    let o = r.run(&b, &id);
    o.fails();
    assert!(o.stderr.contains("/nope"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// `create` with stdio on /dev/null: the container's init keeps what it inherits, so pipes
/// collected by the harness would never reach end-of-file while it runs.
fn create_detached(r: &Root, b: &Bundle, id: &str) {
    let mut c = r.cmd(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ]);
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let st = c.status().expect("spawn rampart create");
    assert!(st.success(), "create {id} failed: {st:?}");
}

#[test]
fn execd_processes_are_confined() {
    let r = Root::new();
    let b = bundle("sleep 1000", Some(data_only_policy()));
    let id = unique("ll-exec");
    create_detached(&r, &b, &id);
    r.rampart(&["start", &id]).ok();
    let o = r.rampart(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo e > /data/e && echo data-ok; echo e > /root/e && echo root-ok; mkdir /root/d && echo mkdir-ok",
    ]);
    o.ok();
    assert!(
        o.stdout.contains("data-ok") && o.stdout.contains("mkdir-ok"),
        "{o:#?}"
    );
    assert!(
        !o.stdout.contains("root-ok"),
        "exec'd process wrote outside the policy: {o:#?}"
    );
    assert!(
        o.stderr.contains("can't create /root/e: Permission denied"),
        "{o:#?}"
    );
    assert!(!b.rootfs().join("root/e").exists());

    // The default policy holds for exec'd processes too.
    let mut b2 = bundle("sleep 1000", None);
    b2.edit(|c| c["annotations"] = json!({"run.rampart.landlock": "default"}));
    let id2 = unique("ll-exec-def");
    create_detached(&r, &b2, &id2);
    r.rampart(&["start", &id2]).ok();
    let o = r.rampart(&[
        "exec",
        &id2,
        "sh",
        "-c",
        "echo e > /root/e && echo root-ok; echo e > /dev/null && echo null-ok",
    ]);
    o.ok();
    assert!(
        o.stdout.contains("null-ok") && !o.stdout.contains("root-ok"),
        "{o:#?}"
    );

    for i in [&id, &id2] {
        r.rampart(&["delete", "--force", i]).ok();
    }
    assert_nothing_left(&r, &b, &id);
    assert_nothing_left(&r, &b2, &id2);
}
