//! The runtime-spec 1.1 recursive mount options (rro, rnosuid, rnoatime, rnosymfollow, ...):
//! applied with mount_setattr(AT_RECURSIVE) to every mount of the tree, seen from inside the
//! container in /proc/self/mountinfo (per-mount flags) and by what the kernel then refuses.
//! The tree with submounts is the host's /sys (sysfs with cgroup, debugfs, ... below it) bound
//! in with rbind; nothing is mounted on the host.

use rampart_integration::*;
use serde_json::{json, Value};

/// (mount point, per-mount options) of every mount inside the container at or below `under`.
fn mounts_below(mountinfo: &str, under: &str) -> Vec<(String, Vec<String>)> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (point, opts) = (f.get(4)?, f.get(5)?);
            (*point == under || point.starts_with(&format!("{under}/"))).then(|| {
                (
                    point.to_string(),
                    opts.split(',').map(String::from).collect(),
                )
            })
        })
        .collect()
}

fn add_mount(b: &mut Bundle, m: Value) {
    b.edit(|c| c["mounts"].as_array_mut().unwrap().push(m));
}

#[test]
fn recursive_options_reach_every_submount_of_an_rbind() {
    let r = Root::new();
    let mut b = Bundle::new(&["cat", "/proc/self/mountinfo"]);
    std::fs::create_dir_all(b.rootfs().join("hs")).unwrap();
    add_mount(
        &mut b,
        json!({"destination": "/hs", "type": "bind", "source": "/sys",
               "options": ["rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime", "rnosymfollow"]}),
    );
    let out = run_ok(&r, &b, &unique("rattr"));
    let tree = mounts_below(&out, "/hs");
    assert!(
        tree.len() >= 2,
        "the host's /sys has no submounts here: {out}"
    );
    for (point, opts) in &tree {
        for want in ["ro", "nosuid", "nodev", "noexec", "noatime", "nosymfollow"] {
            assert!(
                opts.iter().any(|o| o == want),
                "{point}: {opts:?} lacks {want}"
            );
        }
    }
}

#[test]
fn plain_ro_on_an_rbind_makes_every_mount_of_the_tree_read_only() {
    // rampart applies the plain options of an rbind to the whole tree, so no submount of a
    // read-only volume is left writable (runc 1.1 leaves the submounts as they were).
    let r = Root::new();
    let mut b = Bundle::new(&["cat", "/proc/self/mountinfo"]);
    std::fs::create_dir_all(b.rootfs().join("hs")).unwrap();
    add_mount(
        &mut b,
        json!({"destination": "/hs", "type": "bind", "source": "/sys", "options": ["rbind", "ro"]}),
    );
    let out = run_ok(&r, &b, &unique("rbind-ro"));
    let tree = mounts_below(&out, "/hs");
    assert!(tree.len() >= 2, "{out}");
    for (point, opts) in &tree {
        assert_eq!(opts[0], "ro", "{point}: {opts:?}");
    }
}

#[test]
fn rrw_and_the_atime_modes_undo_and_replace() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /proc/self/mountinfo; touch /t/file && echo wrote",
    ]);
    for (dest, opts) in [
        ("/t", json!(["ro", "rrw"])),
        ("/n", json!(["rnoatime", "rstrictatime"])),
        ("/a", json!(["rnoatime", "ratime"])),
    ] {
        std::fs::create_dir_all(b.rootfs().join(&dest[1..])).unwrap();
        add_mount(
            &mut b,
            json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts}),
        );
    }
    let out = run_ok(&r, &b, &unique("rattr-undo"));
    assert!(
        out.contains("wrote"),
        "rrw after ro left /t read-only: {out}"
    );
    let opts = |p: &str| mounts_below(&out, p).remove(0).1;
    assert_eq!(opts("/t")[0], "rw");
    // strictatime shows as neither relatime nor noatime; ratime goes back to relatime.
    let n = opts("/n");
    assert!(
        !n.iter().any(|o| o == "noatime" || o == "relatime"),
        "{n:?}"
    );
    assert!(
        opts("/a").iter().any(|o| o == "relatime"),
        "{:?}",
        opts("/a")
    );
}

#[test]
fn rnosymfollow_refuses_symlinks_with_eloop() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "cat /v/link 2>&1; echo rc=$?"]);
    let v = b.bind_dir("/v", true);
    std::fs::write(v.join("file"), "content\n").unwrap();
    std::os::unix::fs::symlink("file", v.join("link")).unwrap();
    let out = run_ok(&r, &b, &unique("symfollow"));
    assert_eq!(
        out, "content\nrc=0\n",
        "without the option the link is followed"
    );
    b.edit(|c| {
        let m = c["mounts"].as_array_mut().unwrap().last_mut().unwrap();
        m["options"]
            .as_array_mut()
            .unwrap()
            .push(json!("rnosymfollow"));
    });
    let out = run_ok(&r, &b, &unique("nosymfollow"));
    assert!(out.contains("Too many levels of symbolic links"), "{out}");
    assert!(out.contains("rc=1"), "{out}");
}

#[test]
fn features_lists_the_recursive_options() {
    let r = Root::new();
    let o = r.rampart(&["features"]);
    o.ok();
    let f: Value = serde_json::from_str(&o.stdout).unwrap();
    let opts: Vec<&str> = f["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for want in [
        "rro",
        "rrw",
        "rnosuid",
        "rsuid",
        "rnodev",
        "rdev",
        "rnoexec",
        "rexec",
        "rnoatime",
        "ratime",
        "rrelatime",
        "rnorelatime",
        "rstrictatime",
        "rnostrictatime",
        "rnodiratime",
        "rdiratime",
        "rnosymfollow",
        "rsymfollow",
    ] {
        assert!(opts.contains(&want), "features lacks {want}");
    }
}
