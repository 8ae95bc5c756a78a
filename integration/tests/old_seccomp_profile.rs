//! The init and exec survive any seccomp profile the config carries, including one written
//! before the syscalls of 2019 and later existed (older Docker, Kubernetes and test-suite
//! profiles: default-deny with EPERM, an allow list without close_range, openat2, clone3,
//! faccessat2, pidfd_*, ...). Whatever the runtime does after the filter is loaded must work
//! with it: the workload, exec, hooks that run inside the container, a terminal.

use rampart_integration::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Syscalls added to Linux in 2019 or later (5.1 onwards), which such a profile cannot name.
const NEWER: &[&str] = &[
    "pidfd_send_signal",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "pidfd_open",
    "clone3",
    "close_range",
    "openat2",
    "pidfd_getfd",
    "faccessat2",
    "process_madvise",
    "epoll_pwait2",
    "mount_setattr",
    "quotactl_fd",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
    "memfd_secret",
    "process_mrelease",
    "futex_waitv",
    "set_mempolicy_home_node",
    "cachestat",
    "fchmodat2",
    "map_shadow_stack",
    "futex_wake",
    "futex_wait",
    "futex_requeue",
    "statmount",
    "listmount",
    "lsm_get_self_attr",
    "lsm_set_self_attr",
    "lsm_list_modules",
    "mseal",
    "setxattrat",
    "getxattrat",
    "listxattrat",
    "removexattrat",
    "open_tree_attr",
];

/// The config's own (default) profile with every newer syscall taken out of its allow rules:
/// those now get the profile's default action, EPERM.
fn old_profile(c: &mut Value) {
    let sc = &mut c["linux"]["seccomp"];
    assert_eq!(sc["defaultAction"], "SCMP_ACT_ERRNO");
    sc.as_object_mut().unwrap().remove("defaultErrnoRet");
    for rule in sc["syscalls"].as_array_mut().unwrap() {
        rule["names"]
            .as_array_mut()
            .unwrap()
            .retain(|n| !NEWER.contains(&n.as_str().unwrap()));
    }
    sc["syscalls"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["names"].as_array().unwrap().is_empty());
}

fn bundle(args: &[&str]) -> Bundle {
    let mut b = Bundle::new(args);
    b.edit(old_profile);
    b
}

#[test]
fn the_profile_really_denies_the_newer_syscalls() {
    // Without this the tests below could pass against a profile that still allows them.
    let mut b = bundle(&["sh", "-c", "true"]);
    let helper = b.rootfs().join("probe");
    let src = b.path().join("probe.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <unistd.h>
#include <errno.h>
#include <sys/syscall.h>
int main(void) {
    long r = syscall(436 /* close_range */, 100, 200, 0);
    printf("close_range=%ld errno=%d\n", r, r < 0 ? errno : 0);
    r = syscall(434 /* pidfd_open */, getpid(), 0);
    printf("pidfd_open=%ld errno=%d\n", r, r < 0 ? errno : 0);
    return 0;
}
"#,
    )
    .unwrap();
    build_static_c(&src, &helper, &[]);
    b.edit(|c| c["process"]["args"] = json!(["/probe"]));
    let r = Root::new();
    let out = run_ok(&r, &b, &unique("oldsc-probe"));
    assert!(out.contains("close_range=-1 errno=1"), "{out}");
    assert!(out.contains("pidfd_open=-1 errno=1"), "{out}");
}

#[test]
fn run_and_exec_work_under_an_old_profile() {
    let r = Root::new();
    let b = bundle(&["sh", "-c", "echo workload-ran"]);
    assert_eq!(run_ok(&r, &b, &unique("oldsc-run")), "workload-ran\n");

    // Without no_new_privs the filter is loaded earlier, before the capability drop and the
    // identity switch, so more of the init runs under it.
    let mut b = bundle(&["sh", "-c", "echo early-filter-ran"]);
    b.edit(|c| c["process"]["noNewPrivileges"] = json!(false));
    assert_eq!(run_ok(&r, &b, &unique("oldsc-nnp")), "early-filter-ran\n");

    let b = bundle(&["sleep", "300"]);
    let id = unique("oldsc-exec");
    r.rampart(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let o = r.rampart(&["exec", &id, "sh", "-c", "echo exec-ran"]);
    o.ok();
    assert_eq!(o.stdout, "exec-ran\n");
    // Descriptors of the runtime do not leak into the exec'd process (the close-on-exec
    // marking is what the profile denied first).
    let o = r.rampart(&["exec", &id, "ls", "/proc/self/fd"]);
    o.ok();
    let fds: Vec<&str> = o.stdout.split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2", "3"], "{o:#?}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn hooks_inside_the_container_work_under_an_old_profile() {
    let r = Root::new();
    let mut b = bundle(&["cat", "/tmp/hook-out"]);
    b.script("/bin/hook-in", "echo \"$1 ran\" >> /tmp/hook-out");
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
        c["hooks"] = json!({
            "startContainer": [
                {"path": "/bin/hook-in", "args": ["hook-in", "startContainer"]},
                {"path": "/bin/hook-in", "args": ["hook-in", "with-timeout"], "timeout": 10}
            ]
        });
    });
    let id = unique("oldsc-hooks");
    let out = run_ok(&r, &b, &id);
    assert_eq!(out, "startContainer ran\nwith-timeout ran\n");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn a_hook_timeout_still_fires_under_an_old_profile() {
    // pidfd_open is denied: the timeout is kept by polling the hook instead.
    let r = Root::new();
    let mut b = bundle(&["true"]);
    b.edit(|c| {
        c["hooks"] = json!({
            "startContainer": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]
        });
    });
    let id = unique("oldsc-hook-timeout");
    let started = std::time::Instant::now();
    let o = r.run(&b, &id);
    o.fails();
    assert!(started.elapsed() < Duration::from_secs(20), "{o:#?}");
    let all = format!("{}{}", o.stdout, o.stderr);
    assert!(all.contains("startContainer"), "{o:#?}");
    assert!(
        all.contains("timed out") || all.contains("timeout"),
        "{o:#?}"
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn a_terminal_works_under_an_old_profile() {
    let r = Root::new();
    let mut b = bundle(&["sh", "-c", "tty; echo tty-ok"]);
    b.edit(|c| c["process"]["terminal"] = json!(true));
    let id = unique("oldsc-tty");
    let line = format!(
        "{} --root {} run --bundle {} {id}",
        rampart_bin().display(),
        r.path().display(),
        b.path().display()
    );
    let mut c = std::process::Command::new("/usr/bin/script");
    c.args(["-qec", &line, "/dev/null"]);
    c.stdin(std::process::Stdio::null());
    let o = run_with_timeout(c, Duration::from_secs(60));
    o.ok();
    assert!(o.stdout.contains("/dev/pts/0"), "{o:#?}");
    assert!(o.stdout.contains("tty-ok"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}
