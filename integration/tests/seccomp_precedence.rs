//! seccomp rule precedence through the real binary: an operator's unconditional deny must not be
//! turned into an allow by an argument-scoped allow for the same syscall (finding 5 of the
//! security issue). libseccomp, which every published profile is written for, denies the call
//! whatever the order of the two entries; so must rampart.
//!
//! The container runs `pg`, a small static C program built here with gcc, that makes the raw
//! getpgid(2) syscalls busybox cannot make and prints what the kernel answered.

use rampart_integration::*;
use serde_json::{json, Value};

const PG_SOURCE: &str = r#"/* pg PID...: raw getpgid(PID) for each argument; prints "ret=R errno=E" per call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        errno = 0;
        long r = syscall(SYS_getpgid, strtoul(argv[i], NULL, 0));
        printf("ret=%ld errno=%d\n", r, r == -1 ? errno : 0);
    }
    return 0;
}
"#;

const EACCES: i32 = 13;

/// A bundle running `pg args...` under `profile`.
fn bundle(args: &[&str], profile: Value) -> Bundle {
    let mut b = Bundle::new(args);
    let src = b.path().join("pg.c");
    std::fs::write(&src, PG_SOURCE).unwrap();
    build_static_c(&src, &b.rootfs().join("bin/pg"), &["-O1"]);
    b.edit(|c| c["linux"]["seccomp"] = profile);
    b
}

/// The (return value, errno) of every call `pg` reports.
fn calls(o: &Out) -> Vec<(i64, i32)> {
    o.stdout
        .lines()
        .filter_map(|l| {
            let (r, e) = l.strip_prefix("ret=")?.split_once(" errno=")?;
            Some((r.parse().ok()?, e.trim().parse().ok()?))
        })
        .collect()
}

/// The profile `rampart spec` writes.
fn default_profile() -> Value {
    Bundle::new(&["true"]).config["linux"]["seccomp"].clone()
}

/// The default profile with `first` before its entries and `last` after them; getpgid taken out
/// of its allow list when `drop_getpgid`.
fn default_with(first: &[Value], last: &[Value], drop_getpgid: bool) -> Value {
    let mut p = default_profile();
    let s = p["syscalls"]
        .as_array_mut()
        .expect("default profile has syscalls");
    if drop_getpgid {
        for e in s.iter_mut() {
            if let Some(n) = e["names"].as_array_mut() {
                n.retain(|n| n != "getpgid");
            }
        }
    }
    let mut all = first.to_vec();
    all.append(s);
    all.extend(last.iter().cloned());
    *s = all;
    p
}

fn run(b: &Bundle) -> Out {
    let r = Root::new();
    let id = unique("scprec");
    let o = r.run(b, &id);
    assert_nothing_left(&r, b, &id);
    o
}

fn deny() -> Value {
    json!({"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": EACCES})
}

fn allow_scoped() -> [Value; 2] {
    [
        json!({"names": ["getpgid"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": 0}]}),
        json!({"names": ["getpgid"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "op": "SCMP_CMP_GE", "value": 1}]}),
    ]
}

/// Runs `pg 0 1` (getpgid of the container's own group and of its init) under `profile`.
fn getpgid_under(profile: Value) -> Vec<(i64, i32)> {
    let b = bundle(&["/bin/pg", "0", "1"], profile);
    let o = run(&b);
    assert_eq!(o.code, 0, "{o:#?}");
    let c = calls(&o);
    assert_eq!(c.len(), 2, "{o:#?}");
    c
}

#[test]
fn unconditional_deny_beats_an_argument_scoped_allow_in_either_order() {
    let [a0, a1] = allow_scoped();
    // The deny before everything (libseccomp: the first rule without args decides), with the
    // scoped allows right after it or at the end.
    for profile in [
        default_with(&[deny(), a0.clone(), a1.clone()], &[], false),
        default_with(&[deny()], &[a0.clone(), a1.clone()], false),
        // getpgid out of the default allow list: then the deny decides wherever it stands.
        default_with(&[], &[a0.clone(), a1.clone(), deny()], true),
        default_with(&[a0.clone(), a1.clone()], &[deny()], true),
    ] {
        assert_eq!(
            getpgid_under(profile),
            vec![(-1, EACCES), (-1, EACCES)],
            "getpgid must fail with EACCES whatever the argument-scoped allows say"
        );
    }
}

#[test]
fn without_the_deny_the_argument_scoped_allow_decides() {
    // The control: the scoped allow alone lets getpgid(0) through and leaves getpgid(1) to the
    // default action (EPERM), so the test above really tells the two semantics apart.
    let [a0, _] = allow_scoped();
    let c = getpgid_under(default_with(&[], &[a0], true));
    assert!(c[0].0 >= 0, "getpgid(0) allowed: {c:?}");
    assert_eq!(c[1], (-1, 1), "getpgid(1): default EPERM: {c:?}");
}

#[test]
fn a_deny_after_the_default_allow_list_is_ignored_as_libseccomp_ignores_it() {
    // The default profile allows getpgid without args; libseccomp (so runc) keeps that first
    // rule and drops a later "getpgid -> EACCES". We do the same (and log a warning): getpgid
    // stays allowed.
    let [a0, _] = allow_scoped();
    let c = getpgid_under(default_with(&[], &[deny(), a0], false));
    assert!(c[0].0 >= 0 && c[1].0 >= 0, "{c:?}");
}
