//! `features` and the unsupported `checkpoint`/`restore` through the real binary.
use rampart_integration::*;
use serde_json::Value;

#[test]
fn features_prints_the_runtime_spec_document() {
    let r = Root::new();
    let o = r.rampart(&["features"]);
    o.ok();
    let v: Value = serde_json::from_str(&o.stdout).expect("features is JSON");
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert_eq!(v["ociVersionMax"], "1.3.0");
    let strings = |p: &Value| -> Vec<String> {
        p.as_array()
            .unwrap_or_else(|| panic!("not an array: {p}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let hooks = strings(&v["hooks"]);
    for h in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(hooks.contains(&h.to_string()), "{h}");
    }
    let mo = strings(&v["mountOptions"]);
    for m in ["ro", "nosuid", "nodev", "noexec", "rbind", "rprivate"] {
        assert!(mo.contains(&m.to_string()), "{m}");
    }
    let linux = &v["linux"];
    let ns = strings(&linux["namespaces"]);
    for n in [
        "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time",
    ] {
        assert!(ns.contains(&n.to_string()), "{n}");
    }
    let caps = strings(&linux["capabilities"]);
    assert!(
        caps.contains(&"CAP_SYS_ADMIN".to_string()) && caps.len() >= 41,
        "{caps:?}"
    );
    for k in ["v1", "v2", "systemd", "systemdUser", "rdma"] {
        assert!(linux["cgroup"][k].is_boolean(), "cgroup.{k}");
    }
    let sc = &linux["seccomp"];
    assert_eq!(sc["enabled"], true);
    assert!(strings(&sc["actions"]).contains(&"SCMP_ACT_NOTIFY".to_string()));
    assert!(strings(&sc["operators"]).contains(&"SCMP_CMP_MASKED_EQ".to_string()));
    assert!(strings(&sc["archs"]).contains(&"SCMP_ARCH_X86_64".to_string()));
    assert!(!strings(&sc["knownFlags"]).is_empty());
    assert!(sc["supportedFlags"].is_array());
    assert!(linux["apparmor"]["enabled"].is_boolean());
    assert_eq!(linux["selinux"]["enabled"], false);
    assert!(linux["intelRdt"]["enabled"].is_boolean());
    assert!(v["annotations"].is_object());
}

#[test]
fn checkpoint_and_restore_fail_clearly_and_say_so_in_help() {
    let r = Root::new();
    // podman takes a zero exit of `checkpoint --help` to mean "checkpoint supported": the help
    // is printed but the exit status says no.
    let h = r.rampart(&["checkpoint", "--help"]);
    h.fails();
    assert!(h.stdout.contains("NOT SUPPORTED"), "{h:?}");
    for flag in ["--image-path", "--work-path", "--leave-running"] {
        assert!(h.stdout.contains(flag), "{flag}");
    }
    // The flags containerd and podman pass are accepted; the command still fails.
    let o = r.rampart(&[
        "checkpoint",
        "--image-path",
        "/tmp/x",
        "--work-path",
        "/tmp/y",
        "--leave-running",
        "some-id",
    ]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("not supported"), "{o:?}");
    let h = r.rampart(&["restore", "--help"]);
    h.fails();
    assert!(h.stdout.contains("NOT SUPPORTED"), "{h:?}");
    let o = r.rampart(&[
        "restore",
        "--image-path",
        "/tmp/x",
        "--bundle",
        "/tmp",
        "-d",
        "some-id",
    ]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("not supported"), "{o:?}");
}
