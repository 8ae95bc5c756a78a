//! Idmapped bind mounts (mount `uidMappings`/`gidMappings`, the `idmap`/`ridmap` options),
//! through the real binary. Each test checks the owners twice: as the container sees them
//! (stat inside) and as they land on the host's disk (stat on the host afterwards).
//!
//! The mount's mappings are taken as runc 1.2 takes them: written as they are into the uid_map
//! of a user namespace the mount is idmapped through, so an id `containerID + k` on disk shows
//! through the mount as `hostID + k` (in the kernel's view, which a container with a user
//! namespace of its own then maps through its own mappings).
//!
//! Sources: a directory under the test's temp dir (the root filesystem: ext4 here) and one
//! under /dev/shm (tmpfs here; checked with statfs, the test fails if it is not), so no test
//! mounts anything on the host.

use rampart_integration::{host_mounts_containing, Bundle, Root, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const EXT4_MAGIC: i64 = 0xEF53;
const TMPFS_MAGIC: i64 = 0x0102_1994;

fn fs_magic(p: &Path) -> i64 {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: valid C string, buffer we own.
    assert_eq!(unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) }, 0);
    // SAFETY: statfs succeeded.
    unsafe { st.assume_init() }.f_type
}

/// A directory under /dev/shm (tmpfs), removed on drop.
struct ShmDir(PathBuf);

impl ShmDir {
    fn new(name: &str) -> ShmDir {
        let p =
            Path::new("/dev/shm").join(rampart_integration::unique(&format!("rampart-it-{name}")));
        fs::create_dir(&p).unwrap();
        ShmDir(p)
    }
}

impl Drop for ShmDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn chown(p: &Path, id: u32) {
    std::os::unix::fs::chown(p, Some(id), Some(id)).unwrap();
}

fn owner(p: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(p).unwrap();
    (m.uid(), m.gid())
}

fn maps(container: u32, host: u32, size: u32) -> Value {
    json!([{"containerID": container, "hostID": host, "size": size}])
}

/// The mount points, made beforehand: the test rootfs is owned by the host's root, which a
/// container root of its own user namespace cannot write to.
fn mount_points(b: &Bundle, dirs: &[&str]) {
    for d in dirs {
        fs::create_dir_all(b.rootfs().join(d)).unwrap();
    }
}

fn user_namespace(c: &mut Value, host: u32) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = maps(0, host, 65536);
    c["linux"]["gidMappings"] = maps(0, host, 65536);
}

fn add_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

/// A host directory owned by 100000 with a file owned by 100007 in it, for `src`.
fn volume(src: &Path) {
    fs::set_permissions(src, fs::Permissions::from_mode(0o755)).unwrap();
    chown(src, 100000);
    let f = src.join("old");
    fs::write(&f, "from the host\n").unwrap();
    chown(&f, 100007);
}

/// The container sees the directory owned by 0 and the file by 7; what it creates there is
/// owned by 100000 on the host.
fn check_volume(src: &Path, out: &str) {
    assert!(out.contains("/vol 0 0\n"), "{out}");
    assert!(out.contains("/vol/old 7 7\n"), "{out}");
    assert!(out.contains("/vol/new 0 0\n"), "{out}");
    assert_eq!(owner(&src.join("new")), (100000, 100000));
    assert_eq!(
        fs::read_to_string(src.join("new")).unwrap(),
        "from inside\n"
    );
    assert!(host_mounts_containing(&src.to_string_lossy()).is_empty());
}

const STAT_VOLUME: &str =
    "stat -c '%n %u %g' /vol /vol/old && echo 'from inside' > /vol/new && stat -c '%n %u %g' /vol/new";

/// ext4, in a user namespace whose mapping (0 → 200000) differs from the mount's: the mount maps
/// disk ids 100000.. onto 200000.., which the container's own mapping shows as 0..
#[test]
fn idmapped_bind_on_ext4_in_a_user_namespace() {
    let r = Root::new();
    let src = TempDir::new("idmap-ext4");
    assert_eq!(
        fs_magic(src.path()),
        EXT4_MAGIC,
        "the test needs ext4 under the temp dir"
    );
    volume(src.path());
    let mut b = Bundle::new(&["sh", "-c", STAT_VOLUME]);
    mount_points(&b, &["vol"]);
    b.edit(|c| {
        user_namespace(c, 200000);
        add_mount(
            c,
            json!({"destination": "/vol", "type": "bind", "source": src.path(),
                   "options": ["rbind", "idmap"],
                   "uidMappings": maps(100000, 200000, 65536),
                   "gidMappings": maps(100000, 200000, 65536)}),
        );
    });
    let out = r.run(&b, &rampart_integration::unique("idmap-ext4"));
    out.ok();
    check_volume(src.path(), &out.stdout);
}

/// tmpfs, without a user namespace: the mount alone maps disk 100000.. onto 0..
#[test]
fn idmapped_bind_on_tmpfs_without_a_user_namespace() {
    let r = Root::new();
    let src = ShmDir::new("idmap-tmpfs");
    assert_eq!(
        fs_magic(&src.0),
        TMPFS_MAGIC,
        "the test needs /dev/shm on tmpfs"
    );
    volume(&src.0);
    let mut b = Bundle::new(&["sh", "-c", STAT_VOLUME]);
    b.edit(|c| {
        add_mount(
            c,
            json!({"destination": "/vol", "type": "bind", "source": &src.0,
                   "options": ["bind"],
                   "uidMappings": maps(100000, 0, 65536),
                   "gidMappings": maps(100000, 0, 65536)}),
        );
    });
    let out = r.run(&b, &rampart_integration::unique("idmap-tmpfs"));
    out.ok();
    check_volume(&src.0, &out.stdout);
}

/// What containerd 2 passes for a Kubernetes pod with `hostUsers: false`: a user namespace with
/// a 65536-id range, and the volume and the (tmpfs) secret directory, both owned by root on the
/// host as the kubelet makes them, idmapped with the container's own mappings, the secret
/// read-only. Inside, root owns both and can read the 0400 secret (without the idmapping it
/// would be the overflow id's, unreadable); what it writes to the volume is root's on the host.
#[test]
fn kubernetes_user_namespace_pod() {
    let r = Root::new();
    let vol = TempDir::new("idmap-k8s-vol");
    let secret = ShmDir::new("idmap-k8s-secret");
    assert_eq!(
        fs_magic(&secret.0),
        TMPFS_MAGIC,
        "the test needs /dev/shm on tmpfs"
    );
    for d in [vol.path(), &secret.0] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        chown(d, 0);
    }
    let token = secret.0.join("token");
    fs::write(&token, "s3cret\n").unwrap();
    fs::set_permissions(&token, fs::Permissions::from_mode(0o400)).unwrap();
    let script =
        "id -u; stat -c '%n %u %g' /data /var/run/secrets/token; cat /var/run/secrets/token; \
                  echo 'from the pod' > /data/out && stat -c '%n %u %g' /data/out; \
                  echo x > /var/run/secrets/new 2>/dev/null && echo SECRET-WRITABLE; true";
    let mut b = Bundle::new(&["sh", "-c", script]);
    mount_points(&b, &["data", "var/run/secrets"]);
    let host = 1_000_000_000u32;
    b.edit(|c| {
        user_namespace(c, host);
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        for t in ["pid", "ipc", "uts", "mount", "network", "cgroup"] {
            if !ns.iter().any(|n| n["type"] == t) {
                ns.push(json!({"type": t}));
            }
        }
        let ids = maps(0, host, 65536);
        add_mount(
            c,
            json!({"destination": "/data", "type": "bind", "source": vol.path(),
                   "options": ["rbind", "rprivate", "rw"],
                   "uidMappings": ids, "gidMappings": ids}),
        );
        add_mount(
            c,
            json!({"destination": "/var/run/secrets", "type": "bind", "source": &secret.0,
                   "options": ["rbind", "rprivate", "ro"],
                   "uidMappings": ids, "gidMappings": ids}),
        );
    });
    let out = r.run(&b, &rampart_integration::unique("idmap-k8s"));
    out.ok();
    let o = &out.stdout;
    assert!(o.starts_with("0\n"), "{o}");
    assert!(o.contains("/data 0 0\n"), "{o}");
    assert!(o.contains("/var/run/secrets/token 0 0\n"), "{o}");
    assert!(o.contains("s3cret\n"), "{o}");
    assert!(o.contains("/data/out 0 0\n"), "{o}");
    assert!(!o.contains("SECRET-WRITABLE"), "{o}");
    assert_eq!(owner(&vol.path().join("out")), (0, 0));
    assert!(!secret.0.join("new").exists());
    assert_eq!(fs::read_to_string(&token).unwrap(), "s3cret\n");
    for d in [vol.path(), secret.0.as_path()] {
        assert!(host_mounts_containing(&d.to_string_lossy()).is_empty());
    }
}

/// `idmap` without mappings of its own takes the container's (runtime-spec 1.2, runc 1.2).
#[test]
fn idmap_without_mappings_takes_the_container_mappings() {
    let r = Root::new();
    let src = TempDir::new("idmap-inherit");
    fs::set_permissions(src.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(src.path().join("f"), "").unwrap();
    chown(&src.path().join("f"), 3);
    let mut b = Bundle::new(&["sh", "-c", "stat -c '%n %u %g' /vol/f; touch /vol/g"]);
    mount_points(&b, &["vol"]);
    b.edit(|c| {
        user_namespace(c, 300000);
        add_mount(
            c,
            json!({"destination": "/vol", "type": "bind", "source": src.path(),
                   "options": ["bind", "idmap"]}),
        );
    });
    let out = r.run(&b, &rampart_integration::unique("idmap-inherit"));
    out.ok();
    assert!(out.stdout.contains("/vol/f 3 3\n"), "{}", out.stdout);
    assert_eq!(owner(&src.path().join("g")), (0, 0));
}

/// `ridmap` on an rbind idmaps the mounts below the source too; `idmap` only the top one. The
/// submount below the source is made in a private mount namespace (`unshare -m`) that rampart
/// runs in and that ends with it, so nothing is mounted on the host.
#[test]
fn ridmap_reaches_submounts_and_idmap_does_not() {
    let r = Root::new();
    let src = TempDir::new("idmap-ridmap");
    fs::set_permissions(src.path(), fs::Permissions::from_mode(0o755)).unwrap();
    chown(src.path(), 100000);
    fs::create_dir(src.path().join("sub")).unwrap();
    let script = "stat -c '%n %u %g' /a /a/sub /b /b/sub";
    let mut b = Bundle::new(&["sh", "-c", script]);
    b.edit(|c| {
        for (dest, opt) in [("/a", "idmap"), ("/b", "ridmap")] {
            add_mount(
                c,
                json!({"destination": dest, "type": "bind", "source": src.path(),
                       "options": ["rbind", opt],
                       "uidMappings": maps(100000, 0, 65536),
                       "gidMappings": maps(100000, 0, 65536)}),
            );
        }
    });
    let sub = src.path().join("sub");
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -n -t tmpfs -o mode=755,uid=100000,gid=100000 idmap-sub "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(&sub)
        .arg(rampart_integration::rampart_bin())
        .arg("--root")
        .arg(r.path())
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(rampart_integration::unique("idmap-ridmap"))
        .stdin(std::process::Stdio::null());
    let out = rampart_integration::run_with_timeout(cmd, std::time::Duration::from_secs(60));
    out.ok();
    let o = &out.stdout;
    assert!(o.contains("/a 0 0\n"), "{o}");
    assert!(o.contains("/a/sub 100000 100000\n"), "{o}");
    assert!(o.contains("/b 0 0\n"), "{o}");
    assert!(o.contains("/b/sub 0 0\n"), "{o}");
    assert!(host_mounts_containing("idmap-sub").is_empty());
    assert!(host_mounts_containing(&src.path().to_string_lossy()).is_empty());
}

/// The attack: the volume's host mount is shared (as on a systemd host), and a createContainer
/// hook mounts inside the idmapped volume, as device hooks mount driver files into the rootfs.
/// The idmapped bind is cloned on the host side, where a plain clone joins the host mount's
/// peer group: until the root is pivoted and made a slave, the hook's mount would propagate to
/// the host and stay there. The host side here is a private mount namespace (`unshare -m`) in
/// which the source is made a shared mount and rampart runs; its mount table is checked there,
/// so the real host is not touched.
#[test]
fn a_mount_inside_an_idmapped_volume_does_not_reach_the_host() {
    let r = Root::new();
    let src = TempDir::new("idmap-propagation");
    fs::set_permissions(src.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir(src.path().join("sub")).unwrap();
    let mut b = Bundle::new(&["true"]);
    mount_points(&b, &["vol"]);
    let hook = b.path().join("mount-hook.sh");
    let target = b.rootfs().join("vol/sub");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\nmount -n -t tmpfs idmap-attack '{}' && echo MOUNTED >&2\n",
            target.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    b.edit(|c| {
        user_namespace(c, 200000);
        c["hooks"] = json!({"createContainer": [{"path": hook}]});
        add_mount(
            c,
            json!({"destination": "/vol", "type": "bind", "source": src.path(),
                   "options": ["rbind", "idmap"],
                   "uidMappings": maps(0, 200000, 65536),
                   "gidMappings": maps(0, 200000, 65536)}),
        );
    });
    // In the private namespace: make the source a shared mount, run the container, then look
    // for the hook's mount from there.
    let script = r#"src="$1"; shift
mount -n --bind "$src" "$src" && mount -n --make-shared "$src" || exit 99
"$@"; rc=$?
grep -q idmap-attack /proc/self/mountinfo && echo REACHED-THE-HOST
exit $rc"#;
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(src.path())
        .arg(rampart_integration::rampart_bin())
        .arg("--root")
        .arg(r.path())
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(rampart_integration::unique("idmap-prop"))
        .stdin(std::process::Stdio::null());
    let out = rampart_integration::run_with_timeout(cmd, std::time::Duration::from_secs(60));
    assert!(
        out.stderr.contains("MOUNTED"),
        "the attack did not run: {out:#?}"
    );
    assert!(!out.stdout.contains("REACHED-THE-HOST"), "{out:#?}");
    out.ok();
    assert!(host_mounts_containing("idmap-attack").is_empty());
}

fn refused(b: &Bundle, what: &str) {
    let r = Root::new();
    let out = r.run(b, &rampart_integration::unique("idmap-bad"));
    out.fails();
    assert!(out.stderr.contains(what), "want {what:?} in {out:#?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(r.ids().is_empty(), "a refused create left state behind");
}

#[test]
fn idmap_on_a_tmpfs_mount_is_refused() {
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        add_mount(
            c,
            json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
                   "uidMappings": maps(0, 100000, 10), "gidMappings": maps(0, 100000, 10)}),
        );
    });
    refused(&b, "apply to bind mounts only, not to a tmpfs mount");
}

#[test]
fn overlapping_mount_mappings_are_refused() {
    let src = TempDir::new("idmap-overlap");
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        add_mount(
            c,
            json!({"destination": "/vol", "type": "bind", "source": src.path(),
                   "options": ["bind"],
                   "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 100},
                                   {"containerID": 50, "hostID": 300000, "size": 100}],
                   "gidMappings": maps(0, 100000, 10)}),
        );
    });
    refused(
        &b,
        "uidMappings: the containerID ranges 0-100 and 50-150 overlap",
    );
}

#[test]
fn uid_mappings_without_gid_mappings_are_refused() {
    let src = TempDir::new("idmap-onesided");
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        add_mount(
            c,
            json!({"destination": "/vol", "type": "bind", "source": src.path(),
                   "options": ["bind"], "uidMappings": maps(0, 100000, 10)}),
        );
    });
    refused(&b, "needs both uidMappings and gidMappings");
}

#[test]
fn idmap_without_mappings_and_without_a_user_namespace_is_refused() {
    let src = TempDir::new("idmap-nouserns");
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        add_mount(
            c,
            json!({"destination": "/vol", "type": "bind", "source": src.path(),
                   "options": ["bind", "idmap"]}),
        );
    });
    refused(&b, "the config has no user namespace of its own");
}

/// sysfs cannot be idmapped: the create fails naming the filesystem, nothing is left mounted.
#[test]
fn a_filesystem_that_cannot_be_idmapped_gets_a_clear_error() {
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        add_mount(
            c,
            json!({"destination": "/k", "type": "bind", "source": "/sys/kernel",
                   "options": ["rbind", "ridmap"],
                   "uidMappings": maps(0, 100000, 65536), "gidMappings": maps(0, 100000, 65536)}),
        );
    });
    refused(
        &b,
        "bind source /sys/kernel is on a filesystem that cannot be idmapped (sysfs",
    );
}

#[test]
fn features_reports_idmap_enabled() {
    let r = Root::new();
    let out = r.rampart(&["features"]);
    out.ok();
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        doc["linux"]["mountExtensions"]["idmap"]["enabled"],
        json!(true)
    );
    let opts = doc["mountOptions"].as_array().unwrap();
    assert!(opts.contains(&json!("idmap")) && opts.contains(&json!("ridmap")));
}

/// The container's own mappings get the same check, before anything is cloned (the kernel
/// would refuse the uid_map write only after the init exists).
#[test]
fn overlapping_container_mappings_are_refused() {
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        user_namespace(c, 100000);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 10},
                                          {"containerID": 10, "hostID": 100005, "size": 10}]);
    });
    refused(
        &b,
        "gidMappings: the hostID ranges 100000-100010 and 100005-100015 overlap",
    );
}

/// A created container with an idmapped volume: exec'd processes see the same owners, and
/// delete leaves no mount behind.
#[test]
fn exec_in_a_container_with_an_idmapped_volume() {
    let r = Root::new();
    let src = TempDir::new("idmap-exec");
    volume(src.path());
    let mut b = Bundle::new(&["sleep", "60"]);
    mount_points(&b, &["vol"]);
    b.edit(|c| {
        user_namespace(c, 200000);
        add_mount(
            c,
            json!({"destination": "/vol", "type": "bind", "source": src.path(),
                   "options": ["bind"],
                   "uidMappings": maps(100000, 200000, 65536),
                   "gidMappings": maps(100000, 200000, 65536)}),
        );
    });
    let id = rampart_integration::unique("idmap-exec");
    let st = r
        .cmd(&[
            std::ffi::OsStr::new("create"),
            std::ffi::OsStr::new("--bundle"),
            b.path().as_os_str(),
            std::ffi::OsStr::new(&id),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "create {id} failed");
    r.rampart(&["start", &id]).ok();
    let out = r.rampart(&["exec", &id, "sh", "-c", STAT_VOLUME]);
    out.ok();
    check_volume(src.path(), &out.stdout);
    r.rampart(&["delete", "--force", &id]).ok();
    assert!(host_mounts_containing(&src.path().to_string_lossy()).is_empty());
}
