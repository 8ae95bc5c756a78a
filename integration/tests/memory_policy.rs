//! linux.memoryPolicy: set_mempolicy(2) for the init and for exec'd processes, read back inside
//! with get_mempolicy(2) (a small static C probe; busybox has no tool for it).

use rampart_integration::*;
use serde_json::json;
use std::path::Path;

fn bundle_with_probe(args: &[&str]) -> Bundle {
    let mut b = Bundle::new(args);
    // The default profile (like Docker's) allows get_mempolicy only with CAP_SYS_NICE; the
    // probe reads the policy, which the runtime set before any filter either way.
    b.edit(|c| {
        c["linux"].as_object_mut().unwrap().remove("seccomp");
    });
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probes/mempolicy.c");
    build_static_c(&src, &b.rootfs().join("mempolicy"), &["-O2"]);
    b
}

#[test]
fn the_policy_reaches_the_init_and_exec() {
    let r = Root::new();
    let mut b = bundle_with_probe(&["/mempolicy"]);
    assert_eq!(run_ok(&r, &b, &unique("mpol-none")), "mode=0 nodes=0\n");
    // MPOL_BIND (2) | MPOL_F_STATIC_NODES (1 << 15) = 32770, to node 0.
    b.edit(|c| {
        c["linux"]["memoryPolicy"] =
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]})
    });
    assert_eq!(run_ok(&r, &b, &unique("mpol-bind")), "mode=32770 nodes=1\n");
    b.edit(|c| c["process"]["args"] = json!(["sleep", "300"]));
    let id = unique("mpol-exec");
    r.rampart(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let o = r.rampart(&["exec", &id, "/mempolicy"]);
    o.ok();
    assert_eq!(o.stdout, "mode=32770 nodes=1\n", "{o:#?}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn a_policy_the_host_cannot_take_is_an_error() {
    let r = Root::new();
    for (policy, want) in [
        (json!({"mode": "MPOL_BIND"}), "needs nodes"),
        (
            json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
            "takes no nodes",
        ),
        // This machine has node 0 only: the kernel refuses node 5.
        (
            json!({"mode": "MPOL_BIND", "nodes": "5"}),
            "set_mempolicy(MPOL_BIND",
        ),
    ] {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c["linux"]["memoryPolicy"] = policy.clone());
        let id = unique("mpol-bad");
        let o = r.run(&b, &id);
        o.fails();
        assert!(o.stderr.contains(want), "{policy}: {o:#?}");
        assert_nothing_left(&r, &b, &id);
    }
}

#[test]
fn features_lists_the_memory_policy_modes_and_flags() {
    let r = Root::new();
    let o = r.rampart(&["features"]);
    o.ok();
    let f: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let mp = &f["linux"]["memoryPolicy"];
    assert!(
        mp["modes"]
            .as_array()
            .unwrap()
            .contains(&json!("MPOL_BIND")),
        "{mp}"
    );
    assert!(
        mp["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("MPOL_F_STATIC_NODES")),
        "{mp}"
    );
    assert_eq!(f["linux"]["netDevices"]["enabled"], true);
    assert_eq!(f["linux"]["intelRdt"]["enabled"], true);
}
