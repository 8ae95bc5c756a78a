//! Hostile configs that reached the host before an outside review (issue 13's attacker pass).
//! Each test makes the attack through the real binary and checks the host: the file, the
//! sysctl, the domain name unchanged; and the hook confined like the workload.

use rampart_integration::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// A user namespace mapping container root to host 100000 (the shape engines send rootless).
fn user_namespace(b: &mut Bundle) {
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    });
}

/// `linux.devices` with a path that leaves /dev ("/dev/../<host file>"): in a user namespace the
/// node is bound from the host's path, so this bound a host file writable into the container.
#[test]
fn a_device_path_leaving_dev_cannot_bind_a_host_file() {
    let r = Root::new();
    let host = TempDir::new("devdotdot");
    fs::set_permissions(host.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let victim = host.path().join("victim");
    fs::write(&victim, "host original content\n").unwrap();
    std::os::unix::fs::chown(&victim, Some(100000), Some(100000)).unwrap();
    let dev_path = format!("/dev/..{}", victim.display());
    let script = format!("cat {dev_path}; echo written-from-container > {dev_path} && echo WROTE");
    let mut b = Bundle::new(&["sh", "-c", &script]);
    // An image's /tmp is world-writable: the node's parent directories are made there.
    fs::set_permissions(b.rootfs().join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    user_namespace(&mut b);
    b.edit(|c| {
        c["linux"]["devices"] = json!([{"path": dev_path, "type": "c", "major": 1, "minor": 3,
                                        "fileMode": 438}]);
    });
    let id = unique("devdotdot");
    let o = r.run(&b, &id);
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "host original content\n",
        "the host file was written from the container: {o:#?}"
    );
    assert_ne!(o.code, 0, "the config was accepted: {o:#?}");
    assert!(o.stderr.contains("under /dev"), "unclear error: {o:#?}");
    assert_nothing_left(&r, &b, &id);
}

/// In a user namespace a device is bound from the host's node at the same path: it must be the
/// device the config names. /dev/full (1:7) claimed as 1:3 is refused, not bound.
#[test]
fn a_host_node_that_is_not_the_named_device_is_not_bound() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "ls -l /dev/full"]);
    user_namespace(&mut b);
    b.edit(|c| {
        c["linux"]["devices"] = json!([{"path": "/dev/full", "type": "c", "major": 1,
                                        "minor": 3, "fileMode": 438}]);
    });
    let id = unique("devmismatch");
    let o = r.run(&b, &id);
    assert_ne!(o.code, 0, "the mismatched node was bound: {o:#?}");
    assert!(
        o.stderr.contains("is not the character device 1:3"),
        "unclear error: {o:#?}"
    );
    assert_nothing_left(&r, &b, &id);
}

fn read_sysctl(key: &str) -> String {
    let p = Path::new("/proc/sys").join(key.replace('.', "/"));
    fs::read_to_string(p).unwrap().trim().to_string()
}

fn write_sysctl(key: &str, v: &str) {
    let p = Path::new("/proc/sys").join(key.replace('.', "/"));
    fs::write(p, v).unwrap();
}

/// Puts the host value back if a missing defense changed it.
struct Restore(&'static str, String);
impl Drop for Restore {
    fn drop(&mut self) {
        if read_sysctl(self.0) != self.1 {
            write_sysctl(self.0, &self.1);
        }
    }
}

/// Namespaces joined by a path that names the host's own namespace (here: this test process's,
/// which is the host's) are no namespace of the container's own: sysctls of that kind must be
/// refused, not written into the host (net, ipc, and kernel.domainname for uts).
#[test]
fn sysctls_are_not_written_into_a_joined_host_namespace() {
    let me = std::process::id();
    let cases: [(&str, &str, &'static str); 3] = [
        ("network", "net", "net.ipv4.tcp_keepalive_probes"),
        ("ipc", "ipc", "kernel.msgmni"),
        ("uts", "uts", "kernel.domainname"),
    ];
    for (ns_type, proc_name, key) in cases {
        let before = read_sysctl(key);
        let _restore = Restore(key, before.clone());
        let new = match key {
            "kernel.domainname" => "rampart-pwned".to_string(),
            _ => (before.parse::<i64>().unwrap() - 1).to_string(),
        };
        let r = Root::new();
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| {
            for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                if ns["type"] == ns_type {
                    ns["path"] = Value::from(format!("/proc/{me}/ns/{proc_name}"));
                }
            }
            c["linux"]["sysctl"] = json!({ key: new });
            // A hostname needs a UTS namespace of the container's own: out of the way here.
            c["hostname"] = Value::Null;
        });
        let id = unique("sysctlhost");
        let o = r.run(&b, &id);
        assert_eq!(
            read_sysctl(key),
            before,
            "host {key} changed through a joined host {ns_type} namespace: {o:#?}"
        );
        assert_ne!(o.code, 0, "{key} in the host's {ns_type} namespace: {o:#?}");
        assert!(o.stderr.contains(key), "unclear error: {o:#?}");
        assert_nothing_left(&r, &b, &id);
    }
}

/// A domainname without a UTS namespace of the container's own renamed the host, even when the
/// create then failed.
#[test]
fn domainname_without_a_uts_namespace_is_refused() {
    let before = read_sysctl("kernel.domainname");
    let _restore = Restore("kernel.domainname", before.clone());
    let r = Root::new();
    for args in [vec!["true"], vec!["/no/such/binary"]] {
        let mut b = Bundle::new(&args);
        b.drop_namespace("uts");
        b.edit(|c| {
            c["hostname"] = Value::Null;
            c["domainname"] = Value::from("rampart-pwned");
        });
        let id = unique("domainname");
        let o = r.run(&b, &id);
        assert_eq!(
            read_sysctl("kernel.domainname"),
            before,
            "the host's domain name changed: {o:#?}"
        );
        assert_ne!(o.code, 0, "{o:#?}");
        assert!(o.stderr.contains("domainname"), "unclear error: {o:#?}");
        assert_nothing_left(&r, &b, &id);
    }
}

/// startContainer hooks are programs of the image run in the container: they must be under the
/// same seccomp filter as the workload (they ran with none under the default config).
#[test]
fn start_container_hooks_run_under_the_seccomp_filter() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "grep ^Seccomp: /proc/self/status > /w/workload"]);
    let w = b.bind_dir("/w", false);
    b.script(
        "/hook.sh",
        "grep ^Seccomp: /proc/self/status > /w/hook; (unshare -U true && echo unshared >> /w/hook) 2>/dev/null; true",
    );
    b.edit(|c| {
        c["hooks"] = json!({"startContainer": [{"path": "/hook.sh"}]});
    });
    let id = unique("hookseccomp");
    let o = r.run(&b, &id);
    o.ok();
    let hook = fs::read_to_string(w.join("hook")).unwrap_or_default();
    let workload = fs::read_to_string(w.join("workload")).unwrap_or_default();
    assert!(workload.contains("Seccomp:\t2"), "workload: {workload:?}");
    assert!(
        hook.contains("Seccomp:\t2"),
        "the startContainer hook ran without the filter: {hook:?}"
    );
    assert!(
        !hook.contains("unshared"),
        "the hook could unshare a user namespace: {hook:?}"
    );
    assert_nothing_left(&r, &b, &id);
}

/// A namespace path naming a FIFO made `create` block forever in open(2). It must fail at once
/// with an error that names the path.
#[test]
fn a_namespace_path_that_is_not_a_namespace_fails_at_once() {
    let r = Root::new();
    let tmp = TempDir::new("nsfifo");
    let fifo = tmp.path().join("fifo");
    nix_mkfifo(&fifo);
    let plain = tmp.path().join("plain");
    fs::write(&plain, "").unwrap();
    for path in [&fifo, &plain] {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| {
            for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
                if ns["type"] == "network" {
                    ns["path"] = Value::from(path.to_str().unwrap());
                }
            }
        });
        let id = unique("nsfifo");
        let t = Instant::now();
        let o = r.run(&b, &id);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "create blocked on {}",
            path.display()
        );
        assert_ne!(o.code, 0, "{o:#?}");
        assert!(
            o.stderr.contains("not a namespace file"),
            "unclear error: {o:#?}"
        );
        assert_nothing_left(&r, &b, &id);
    }
}

fn nix_mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}
