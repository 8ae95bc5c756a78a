//! AppArmor on this host, whose kernel has no AppArmor (HOST.md): asking for a profile must fail
//! clearly at create time and leave nothing behind, as runc does. That a profile really confines
//! is tested in the nested VM (vm/tests/50-apparmor.sh).
use rampart_integration::*;
use serde_json::json;
use std::ffi::OsStr;

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .map(|s| s.starts_with('Y'))
        .unwrap_or(false)
}

#[test]
fn asking_for_a_profile_without_apparmor_fails_clearly() {
    assert!(
        !apparmor_enabled(),
        "this test needs a host without AppArmor (HOST.md)"
    );
    let r = Root::new();
    let mut b = Bundle::new(&["echo", "should-not-run"]);
    b.edit(|c| c["process"]["apparmorProfile"] = json!("rampart-test-profile"));
    for cmd in ["create", "run"] {
        let id = unique("aa");
        let o = r.rampart(&[
            OsStr::new(cmd),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ]);
        o.fails();
        assert!(!o.stdout.contains("should-not-run"), "{o:#?}");
        assert!(
            o.stderr.contains("AppArmor is not enabled"),
            "{cmd}: {o:#?}"
        );
        assert!(o.stderr.contains("rampart-test-profile"), "{cmd}: {o:#?}");
        assert!(r.ids().is_empty(), "{cmd} left a container: {:?}", r.ids());
        assert_nothing_left(&r, &b, &id);
    }

    // An empty profile asks for nothing and runs.
    b.edit(|c| c["process"]["apparmorProfile"] = json!(""));
    let id = unique("aa-empty");
    let o = r.run(&b, &id);
    o.ok();
    assert_eq!(o.stdout.trim(), "should-not-run");
}

#[test]
fn exec_with_a_profile_without_apparmor_fails_clearly() {
    assert!(
        !apparmor_enabled(),
        "this test needs a host without AppArmor (HOST.md)"
    );
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("aa-exec");
    let mut c = r.cmd(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    // The init keeps the stdio it inherits: no pipes the harness would wait on.
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    assert!(c.status().expect("spawn create").success());
    r.rampart(&["start", &id]).ok();
    let o = r.rampart(&[
        "exec",
        "--apparmor",
        "rampart-test-profile",
        &id,
        "echo",
        "should-not-run",
    ]);
    o.fails();
    assert!(!o.stdout.contains("should-not-run"), "{o:#?}");
    assert!(o.stderr.contains("AppArmor is not enabled"), "{o:#?}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}
