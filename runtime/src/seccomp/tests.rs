//! Tests of the seccomp module.
//!
//! - Program tests run compiled programs in a small classic-BPF interpreter (`Vm`) and compare
//!   with the config's meaning, including argument operators on 64-bit values.
//! - Behaviour tests load filters into the kernel: in a forked child (which then does only raw
//!   syscalls, async-signal-safe, and `_exit`s), or for NOTIFY in a thread of its own, so a
//!   filter never reaches the test harness. The syscalls made are harmless with or without the
//!   filter: getpid/getppid with ignored arguments, or calls with invalid arguments whose kernel
//!   error differs from the filter's.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use oci_spec::runtime::LinuxSeccomp;

use super::arch::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use super::*;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

fn cfg(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).expect("test config parses")
}

fn compiled(json: &str) -> Compiled {
    compile(&cfg(json)).expect("test config compiles")
}

// ---- a classic BPF interpreter, enough for seccomp programs ----------------------------------

struct Run {
    ret: u32,
    read_args: bool,
    steps: usize,
}

fn vm(p: &Program, arch: u32, nr: u32, args: [u64; 6]) -> Run {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let insns = p.instructions();
    let (mut a, mut pc, mut steps, mut read_args) = (0u32, 0usize, 0usize, false);
    loop {
        let i = insns[pc];
        steps += 1;
        let code = u32::from(i.code);
        let next = pc + 1;
        pc = match code {
            c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => {
                let k = i.k as usize;
                assert!(k.is_multiple_of(4) && k < 64, "bad load offset {k}");
                read_args |= k >= 16;
                a = u32::from_le_bytes([data[k], data[k + 1], data[k + 2], data[k + 3]]);
                next
            }
            c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => {
                a &= i.k;
                next
            }
            c if c == libc::BPF_JMP | libc::BPF_JA => next + i.k as usize,
            c if c & 0x07 == libc::BPF_JMP => {
                let t = match c & 0xf0 {
                    x if x == libc::BPF_JEQ => a == i.k,
                    x if x == libc::BPF_JGT => a > i.k,
                    x if x == libc::BPF_JGE => a >= i.k,
                    _ => panic!("unexpected jump {c:#x}"),
                };
                next + usize::from(if t { i.jt } else { i.jf })
            }
            c if c == libc::BPF_RET | libc::BPF_K => {
                return Run {
                    ret: i.k,
                    read_args,
                    steps,
                }
            }
            _ => panic!("unexpected opcode {code:#x}"),
        };
        assert!(pc < insns.len(), "jump out of program");
    }
}

fn x64(p: &Program, nr: u32, args: [u64; 6]) -> u32 {
    vm(p, AUDIT_ARCH_X86_64, nr, args).ret
}

fn nr64(name: &str) -> u32 {
    super::arch::Abi::X86_64
        .number(name)
        .expect("x86_64 syscall")
}

fn nr32(name: &str) -> u32 {
    super::arch::Abi::I386.number(name).expect("i386 syscall")
}

// ---- compile: structure and config errors -----------------------------------------------------

#[test]
fn tables_are_sorted_and_known_numbers_match() {
    for t in [
        super::tables::X86_64,
        super::tables::I386,
        super::tables::X32_OWN,
    ] {
        assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "table not sorted");
    }
    assert!(
        super::tables::X32_ABSENT.windows(2).all(|w| w[0] < w[1]),
        "table not sorted"
    );
    assert_eq!(nr64("getpid"), libc::SYS_getpid as u32);
    assert_eq!(nr64("clone3"), libc::SYS_clone3 as u32);
    assert_eq!(nr64("mseal"), 462);
    assert_eq!(nr32("getpid"), 20);
    assert_eq!(nr32("socketcall"), 102);
    assert_eq!(
        super::arch::Abi::X32.number("rt_sigaction"),
        Some(512 | X32_SYSCALL_BIT)
    );
}

#[test]
fn every_action_maps_to_its_kernel_value() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/x","syscalls":[
        {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":77},
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO"},
        {"names":["getuid"],"action":"SCMP_ACT_KILL"},
        {"names":["geteuid"],"action":"SCMP_ACT_KILL_THREAD"},
        {"names":["getgid"],"action":"SCMP_ACT_KILL_PROCESS"},
        {"names":["getegid"],"action":"SCMP_ACT_TRAP"},
        {"names":["gettid"],"action":"SCMP_ACT_TRACE","errnoRet":9},
        {"names":["getpgrp"],"action":"SCMP_ACT_LOG"},
        {"names":["getsid"],"action":"SCMP_ACT_NOTIFY"},
        {"names":["sync"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let p = &c.program;
    let z = [0; 6];
    assert_eq!(x64(p, nr64("getpid"), z), errno(77));
    assert_eq!(x64(p, nr64("getppid"), z), errno(libc::EPERM));
    assert_eq!(x64(p, nr64("getuid"), z), libc::SECCOMP_RET_KILL_THREAD);
    assert_eq!(x64(p, nr64("geteuid"), z), libc::SECCOMP_RET_KILL_THREAD);
    assert_eq!(x64(p, nr64("getgid"), z), KILL_PROCESS);
    assert_eq!(x64(p, nr64("getegid"), z), libc::SECCOMP_RET_TRAP);
    assert_eq!(x64(p, nr64("gettid"), z), libc::SECCOMP_RET_TRACE | 9);
    assert_eq!(x64(p, nr64("getpgrp"), z), libc::SECCOMP_RET_LOG);
    assert_eq!(x64(p, nr64("getsid"), z), libc::SECCOMP_RET_USER_NOTIF);
    assert_eq!(x64(p, nr64("sync"), z), ALLOW);
    assert_eq!(x64(p, nr64("read"), z), ALLOW);
    assert!(c.uses_notify);
    assert_eq!(
        c.flags,
        libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32,
        "NOTIFY asks for a listener"
    );
}

#[test]
fn default_errno_ret_and_bad_arch() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
        "syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let p = &c.program;
    assert_eq!(x64(p, nr64("getpid"), [0; 6]), ALLOW);
    assert_eq!(x64(p, nr64("getppid"), [0; 6]), errno(38));
    assert_eq!(x64(p, 100_000, [0; 6]), errno(38), "gap beyond the table");
    assert_eq!(
        x64(p, u32::MAX, [0; 6]),
        errno(38),
        "nr -1 gets the default"
    );
    // x32 and i386 not listed: bad arch, even for an allowed syscall.
    assert_eq!(
        x64(p, nr64("getpid") | X32_SYSCALL_BIT, [0; 6]),
        KILL_PROCESS
    );
    assert_eq!(x64(p, 0x7fff_ffff, [0; 6]), KILL_PROCESS);
    assert_eq!(vm(p, AUDIT_ARCH_I386, 20, [0; 6]).ret, KILL_PROCESS);
    assert_eq!(vm(p, 0xc000_00b7, 172, [0; 6]).ret, KILL_PROCESS, "aarch64");
}

#[test]
fn x32_and_i386_use_their_own_numbers_when_listed() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
        "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
        "syscalls":[{"names":["getppid","rt_sigaction"],"action":"SCMP_ACT_ERRNO","errnoRet":5}]}"#,
    );
    let p = &c.program;
    let z = [0; 6];
    assert_eq!(x64(p, nr64("getppid"), z), errno(5));
    assert_eq!(x64(p, nr64("getppid") | X32_SYSCALL_BIT, z), errno(5));
    assert_eq!(
        x64(p, 512 | X32_SYSCALL_BIT, z),
        errno(5),
        "x32 rt_sigaction"
    );
    assert_eq!(
        x64(p, 13 | X32_SYSCALL_BIT, z),
        ALLOW,
        "not rt_sigaction on x32"
    );
    assert_eq!(vm(p, AUDIT_ARCH_I386, 64, z).ret, errno(5), "i386 getppid");
    assert_eq!(vm(p, AUDIT_ARCH_I386, nr64("getppid"), z).ret, ALLOW);
    assert_eq!(vm(p, 0x4000_0028, 64, z).ret, KILL_PROCESS, "arm");
}

#[test]
fn config_errors_are_reported() {
    let bad = [
        r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/x"}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1}"#,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":4096}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getpid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/x","syscalls":[
            {"names":["sendmsg"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getpid"],"action":"SCMP_ACT_KILL","errnoRet":1}]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],
            "action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
    ];
    for b in bad {
        let err = compile(&cfg(b)).expect_err(b);
        assert!(matches!(err, SeccompError::Config(_)), "{b}: {err}");
    }
    // Unknown actions, operators and architectures are rejected when the JSON is parsed.
    for b in [
        r#"{"defaultAction":"SCMP_ACT_BOGUS"}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],
            "action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_XX"}]}]}"#,
    ] {
        assert!(serde_json::from_str::<LinuxSeccomp>(b).is_err(), "{b}");
    }
}

#[test]
fn unknown_names_and_foreign_arches_warn() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_ARM"],
        "flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls":[{"names":["no_such_call","getpid","_llseek"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    assert_eq!(c.warnings.len(), 4, "{:?}", c.warnings);
    assert!(c.warnings.iter().any(|w| w.contains("\"no_such_call\"")));
    assert!(
        c.warnings.iter().any(|w| w.contains("\"_llseek\"")),
        "i386-only name, X86 not listed"
    );
    assert!(c.warnings.iter().any(|w| w.contains("SCMP_ARCH_ARM")));
    assert!(c.warnings.iter().any(|w| w.contains("WAIT_KILLABLE_RECV")));
    assert_eq!(x64(&c.program, nr64("getpid"), [0; 6]), errno(libc::EPERM));
    assert_eq!(c.flags, 0);
}

#[test]
fn flags_map_to_kernel_bits() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/x","flags":["SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls":[{"names":["getpid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    let want = libc::SECCOMP_FILTER_FLAG_TSYNC
        | libc::SECCOMP_FILTER_FLAG_LOG
        | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
        | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    assert_eq!(c.flags, want as u32);
}

#[test]
fn bytes_round_trip() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let back = Compiled::from_bytes(&c.to_bytes()).expect("round trip");
    assert_eq!(back, c);
    assert_eq!(
        Program::from_bytes(&c.program.to_bytes()).expect("program"),
        c.program
    );
    assert!(Compiled::from_bytes(b"RSCMP").is_err());
    assert!(Program::from_bytes(&[0; 7]).is_err());
    assert!(Program::from_bytes(&[]).is_err());
}

// ---- argument checks ---------------------------------------------------------------------------

/// The meaning of one OCI argument check on the full 64-bit value.
fn holds(op: &str, arg: u64, v: u64, v2: u64) -> bool {
    match op {
        "SCMP_CMP_NE" => arg != v,
        "SCMP_CMP_LT" => arg < v,
        "SCMP_CMP_LE" => arg <= v,
        "SCMP_CMP_EQ" => arg == v,
        "SCMP_CMP_GE" => arg >= v,
        "SCMP_CMP_GT" => arg > v,
        "SCMP_CMP_MASKED_EQ" => arg & v == v2,
        _ => unreachable!(),
    }
}

const OPS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

/// Values around the 32-bit boundaries, where a wrong high/low split shows.
fn edge_values() -> Vec<u64> {
    let mut v = vec![
        0,
        1,
        5,
        0x7fff_ffff,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0005,
        0x1_ffff_ffff,
        0xffff_ffff_0000_0005,
        0x8000_0000_0000_0000,
        u64::MAX,
    ];
    let more: Vec<u64> = v
        .iter()
        .flat_map(|x| [x.wrapping_add(1), x.wrapping_sub(1)])
        .collect();
    v.extend(more);
    v.sort();
    v.dedup();
    v
}

#[test]
fn every_operator_matches_its_64_bit_meaning() {
    let vals = edge_values();
    for op in OPS {
        for &v in &vals {
            let v2 = v & 0x0000_ffff_0000_00ff; // a datum inside and outside the mask
            let c = compiled(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],
                "syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":7,
                "args":[{{"index":2,"value":{v},"valueTwo":{v2},"op":"{op}"}}]}}]}}"#
            ));
            for &arg in &vals {
                let got = x64(&c.program, nr64("getppid"), [9, 9, arg, 9, 9, 9]);
                let want = if holds(op, arg, v, v2) {
                    errno(7)
                } else {
                    ALLOW
                };
                assert_eq!(got, want, "{op} arg {arg:#x} value {v:#x} datum {v2:#x}");
                // i386: 32-bit arguments, compared on the low halves like libseccomp.
                let arg32 = u64::from(arg as u32);
                let got = vm(&c.program, AUDIT_ARCH_I386, 64, [9, 9, arg32, 9, 9, 9]).ret;
                let want = if holds(op, arg32, u64::from(v as u32), u64::from(v2 as u32)) {
                    errno(7)
                } else {
                    ALLOW
                };
                assert_eq!(got, want, "i386 {op} arg {arg32:#x} value {v:#x}");
            }
        }
    }
}

#[test]
fn first_entry_without_args_wins() {
    // podman's default profile: setns allowed unconditionally, then denied again for containers
    // without CAP_SYS_ADMIN. libseccomp (so runc) keeps the first rule; so do we, with a warning.
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":5},
            {"names":["getpid"],"action":"SCMP_ACT_LOG"},
            {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":5}]}"#,
    );
    assert_eq!(x64(&c.program, nr64("getpid"), [0; 6]), errno(5));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("getpid"), "{:?}", c.warnings);
}

#[test]
fn rules_combine_as_libseccomp_does() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
        "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],"syscalls":[
        {"names":["getppid"],"action":"SCMP_ACT_ALLOW","args":[
            {"index":0,"value":3,"op":"SCMP_CMP_EQ"}]},
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
        {"names":["getpgid"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
        {"names":["getpgid"],"action":"SCMP_ACT_ALLOW","args":[
            {"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
        {"names":["gettid"],"action":"SCMP_ACT_ERRNO","errnoRet":11,"args":[
            {"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
        {"names":["gettid"],"action":"SCMP_ACT_ERRNO","errnoRet":10,"args":[
            {"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]},
        {"names":["getuid"],"action":"SCMP_ACT_ERRNO","errnoRet":12,"args":[
            {"index":0,"value":10,"op":"SCMP_CMP_GE"},{"index":0,"value":20,"op":"SCMP_CMP_LE"}]},
        {"names":["getgid"],"action":"SCMP_ACT_ERRNO","errnoRet":20,"args":[
            {"index":0,"value":0,"op":"SCMP_CMP_GE"}]},
        {"names":["getgid"],"action":"SCMP_ACT_ERRNO","errnoRet":21,"args":[
            {"index":0,"value":5,"op":"SCMP_CMP_EQ"}]},
        {"names":["getegid"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
        {"names":["getegid"],"action":"SCMP_ACT_ALLOW","args":[
            {"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
        {"names":["getpid"],"action":"SCMP_ACT_ALLOW","args":[
            {"index":0,"value":5,"op":"SCMP_CMP_EQ"}]}
        ]}"#,
    );
    let p = &c.program;
    let x = |name: &str, a: [u64; 6]| x64(p, nr64(name), a);
    // An entry without args decides its syscall, whether it comes before or after the
    // argument-scoped ones: the issue's getpgid case is denied with EACCES even for getpgid(0).
    assert_eq!(x("getppid", [3, 0, 0, 0, 0, 0]), errno(13));
    assert_eq!(x("getpgid", [0; 6]), errno(13));
    assert_eq!(x("getpgid", [1, 0, 0, 0, 0, 0]), errno(13));
    // A shorter rule first: the longer one on the same path is dropped.
    assert_eq!(x("gettid", [1, 2, 0, 0, 0, 0]), errno(11));
    assert_eq!(x("gettid", [2, 2, 0, 0, 0, 0]), errno(1));
    // Same argument twice: alternatives (runc), so 5 (>= 10 fails, <= 20 holds) matches.
    assert_eq!(x("getuid", [5, 0, 0, 0, 0, 0]), errno(12));
    assert_eq!(x("getuid", [25, 0, 0, 0, 0, 0]), errno(12));
    assert!(c.warnings.iter().any(|w| w.contains("alternatives")));
    // Overlapping rules are tried in libseccomp's order (EQ before GE), not the config's.
    assert_eq!(x("getgid", [5, 0, 0, 0, 0, 0]), errno(21));
    assert_eq!(x("getgid", [6, 0, 0, 0, 0, 0]), errno(20));
    // An entry with the default action is skipped (libseccomp refuses it, runc skips it), so it
    // does not override the argument-scoped allow.
    assert_eq!(x("getegid", [0; 6]), ALLOW);
    assert_eq!(x("getegid", [1, 0, 0, 0, 0, 0]), errno(1));
    // x86_64 compares 64 bits; x32 only the low 32, as libseccomp does.
    assert_eq!(x("getpid", [0x1_0000_0005, 0, 0, 0, 0, 0]), errno(1));
    let x32_getpid = super::arch::Abi::X32.number("getpid").expect("x32 getpid");
    assert_eq!(x64(p, x32_getpid, [0x1_0000_0005, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(x64(p, x32_getpid, [6, 0, 0, 0, 0, 0]), errno(1));
}

#[test]
fn rules_libseccomp_refuses_are_refused() {
    // A shorter rule after a longer one on the same path, with another action: libseccomp
    // refuses it (EEXIST) and runc fails; so do we, naming the entry.
    let e = compile(&cfg(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["gettid"],"action":"SCMP_ACT_ERRNO","errnoRet":10,"args":[
            {"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]},
        {"names":["gettid"],"action":"SCMP_ACT_ERRNO","errnoRet":11,"args":[
            {"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#))
    .expect_err("conflict");
    let msg = e.to_string();
    assert!(
        msg.contains("syscalls[1]") && msg.contains("gettid"),
        "{msg}"
    );
    // The same conditions with two actions.
    let e = compile(&cfg(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["gettid"],"action":"SCMP_ACT_ERRNO","args":[
            {"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
        {"names":["gettid"],"action":"SCMP_ACT_TRAP","args":[
            {"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#))
    .expect_err("conflict");
    assert!(e.to_string().contains("conflicts"), "{e}");
    // errnoRet 4095: libseccomp refuses it.
    let e = compile(&cfg(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["gettid"],"action":"SCMP_ACT_ERRNO","errnoRet":4095}]}"#))
    .expect_err("errno 4095");
    assert!(e.to_string().contains("4095"), "{e}");
}

#[test]
fn long_programs_use_trampolines_and_stay_correct() {
    // 60 rules of 6 conditions on one syscall put ~2000 instructions between the tree's jumps
    // and the leaves behind them.
    let rules: Vec<String> = (0..60u64)
        .map(|i| {
            let args: Vec<String> = (0..6)
                .map(|a| format!(r#"{{"index":{a},"value":{},"op":"SCMP_CMP_EQ"}}"#, i + a))
                .collect();
            format!(
                r#"{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{}]}}"#,
                i + 1,
                args.join(",")
            )
        })
        .collect();
    let c = compiled(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"],
        "syscalls":[{},{{"names":["getpid","write"],"action":"SCMP_ACT_LOG"}}]}}"#,
        rules.join(",")
    ));
    assert!(c.program.len() > 1000);
    let has_ja = c
        .program
        .instructions()
        .iter()
        .any(|i| u32::from(i.code) == libc::BPF_JMP | libc::BPF_JA);
    assert!(has_ja, "expected trampolines");
    let g = nr64("getppid");
    for i in 0..60u64 {
        let a = [i, i + 1, i + 2, i + 3, i + 4, i + 5];
        assert_eq!(x64(&c.program, g, a), errno(i as i32 + 1));
        assert_eq!(
            vm(&c.program, AUDIT_ARCH_I386, 64, a).ret,
            errno(i as i32 + 1)
        );
        let mut b = a;
        b[5] += 1;
        assert_eq!(x64(&c.program, g, b), ALLOW);
    }
    assert_eq!(
        x64(&c.program, nr64("getpid"), [0; 6]),
        libc::SECCOMP_RET_LOG
    );
    assert_eq!(
        x64(&c.program, nr64("write") | X32_SYSCALL_BIT, [0; 6]),
        libc::SECCOMP_RET_LOG
    );
    assert_eq!(
        vm(&c.program, AUDIT_ARCH_I386, 4, [0; 6]).ret,
        libc::SECCOMP_RET_LOG
    );
}

#[test]
fn too_long_programs_are_refused() {
    let rules: Vec<String> = (0..600u64)
        .map(|i| {
            format!(
                r#"{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","args":[
                {{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}},{{"index":1,"value":{i},"op":"SCMP_CMP_EQ"}}]}}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
        rules.join(",")
    );
    assert!(matches!(
        compile(&cfg(&json)),
        Err(SeccompError::ProgramTooLong(_))
    ));
}

// ---- the default profile -----------------------------------------------------------------------

#[test]
fn default_profile_compiles_without_warnings() {
    let p = default_profile().expect("embedded profile parses");
    let c = compile(&p).expect("default profile compiles");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(!c.uses_notify);
    assert_eq!(c.flags, 0);
    assert!(c.program.len() < 2000, "{} instructions", c.program.len());
}

#[test]
fn default_profile_decisions() {
    let c = compile(&default_profile().expect("parses")).expect("compiles");
    let p = &c.program;
    let z = [0; 6];
    for name in [
        "read",
        "write",
        "getpid",
        "futex",
        "mmap",
        "execve",
        "openat",
        "exit_group",
    ] {
        let r = vm(p, AUDIT_ARCH_X86_64, nr64(name), z);
        assert_eq!(r.ret, ALLOW, "{name}");
        // Constant results read only arch and nr: the kernel's action cache can serve them.
        assert!(!r.read_args, "{name} reads arguments");
        assert!(r.steps <= 16, "{name} took {} steps", r.steps);
    }
    for name in [
        "unshare",
        "mount",
        "umount2",
        "keyctl",
        "add_key",
        "ptrace",
        "bpf",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "setns",
        "pivot_root",
        "open_by_handle_at",
        "io_uring_setup",
        "perf_event_open",
        "userfaultfd",
        "swapon",
        "reboot",
        "fsopen",
        "move_mount",
        "open_tree",
        "process_vm_readv",
        "kcmp",
        "settimeofday",
        "syslog",
    ] {
        assert_eq!(x64(p, nr64(name), z), errno(libc::EPERM), "{name}");
    }
    assert_eq!(x64(p, nr64("clone3"), z), errno(libc::ENOSYS));
    let clone = nr64("clone");
    let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
    assert_eq!(x64(p, clone, [thread, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(x64(p, clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]), ALLOW);
    for ns in [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWPID,
    ] {
        let flags = (ns | libc::SIGCHLD) as u64;
        assert_eq!(x64(p, clone, [flags, 0, 0, 0, 0, 0]), errno(libc::EPERM));
        // Garbage in the high half does not hide the flag (the kernel ignores that half).
        let flags = flags | 0xdead_0000_0000_0000;
        assert_eq!(x64(p, clone, [flags, 0, 0, 0, 0, 0]), errno(libc::EPERM));
        assert_eq!(
            vm(p, AUDIT_ARCH_I386, 120, [flags, 0, 0, 0, 0, 0]).ret,
            errno(libc::EPERM)
        );
    }
    let pers = nr64("personality");
    for ok in [0u64, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(
            x64(p, pers, [ok, 0, 0, 0, 0, 0]),
            ALLOW,
            "personality {ok:#x}"
        );
    }
    assert_eq!(
        x64(p, pers, [0x0040_0000, 0, 0, 0, 0, 0]),
        errno(libc::EPERM),
        "READ_IMPLIES_EXEC"
    );
    let sock = nr64("socket");
    assert_eq!(x64(p, sock, [libc::AF_INET as u64, 1, 0, 0, 0, 0]), ALLOW);
    assert_eq!(x64(p, sock, [40, 1, 0, 0, 0, 0]), errno(libc::EAFNOSUPPORT));
    assert_eq!(
        x64(p, sock, [0x1_0000_0028, 1, 0, 0, 0, 0]),
        errno(libc::EAFNOSUPPORT)
    );
    let ioctl = nr64("ioctl");
    assert_eq!(
        x64(p, ioctl, [0, 0x5412, 0, 0, 0, 0]),
        errno(libc::EPERM),
        "TIOCSTI"
    );
    assert_eq!(x64(p, ioctl, [0, 0x5401, 0, 0, 0, 0]), ALLOW, "TCGETS");
    // x32 and i386 are listed, so they are filtered by their own numbers.
    assert_eq!(
        x64(p, nr64("unshare") | X32_SYSCALL_BIT, z),
        errno(libc::EPERM)
    );
    assert_eq!(x64(p, nr64("getpid") | X32_SYSCALL_BIT, z), ALLOW);
    assert_eq!(
        vm(p, AUDIT_ARCH_I386, nr32("unshare"), z).ret,
        errno(libc::EPERM)
    );
    assert_eq!(vm(p, AUDIT_ARCH_I386, nr32("getpid"), z).ret, ALLOW);
    assert_eq!(vm(p, 0xc000_00b7, 172, z).ret, KILL_PROCESS);
}

// ---- behaviour in the kernel: forked children ---------------------------------------------------

/// How a child ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Exit(i32),
    Signal(i32),
}

/// Forks; the child sets no_new_privs, installs `c`, runs `f` and exits with its result. Only
/// async-signal-safe work happens in the child: `f` must do raw syscalls only (no allocation, no
/// locks), since the test harness is multi-threaded.
fn in_child(c: &Compiled, f: impl Fn() -> i32) -> End {
    // SAFETY: the child only makes raw syscalls (prctl, setrlimit, seccomp, the ones in `f`) and
    // leaves with _exit, so it never touches locks or allocator state copied from other threads.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = child_body(c, &f);
        // SAFETY: _exit is async-signal-safe and does not return.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    if libc::WIFEXITED(status) {
        End::Exit(libc::WEXITSTATUS(status))
    } else {
        End::Signal(libc::WTERMSIG(status))
    }
}

fn child_body(c: &Compiled, f: &dyn Fn() -> i32) -> i32 {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on our own process with valid arguments. No core files from the
    // SIGSYS tests.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return 120;
        }
    }
    match install(c) {
        Ok(_) => f(),
        Err(_) => 121,
    }
}

/// A raw syscall with six arguments: Ok(return value) or Err(errno).
fn sys(nr: i64, a: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: only called with syscalls that take no pointers or get invalid ones on purpose
    // (the kernel checks user pointers); see the module note.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r == -1 {
        // SAFETY: errno location of the current thread.
        Err(unsafe { *libc::__errno_location() })
    } else {
        Ok(r)
    }
}

fn err_of(nr: i64, a: [u64; 6]) -> i32 {
    match sys(nr, a) {
        Ok(_) => 0,
        Err(e) => e,
    }
}

/// Allows everything but the given rules.
fn allow_but(rules: &str) -> Compiled {
    compiled(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{rules}]}}"#
    ))
}

#[test]
fn kernel_errno_default_and_custom() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":13,"syscalls":[
        {"names":["exit","exit_group","getpid"],"action":"SCMP_ACT_ALLOW"},
        {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":77},
        {"names":["getuid"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let end = in_child(&c, || {
        if sys(libc::SYS_getpid, [0; 6]).is_err() {
            return 1;
        }
        if err_of(libc::SYS_getppid, [0; 6]) != 77 {
            return 2;
        }
        if err_of(libc::SYS_getuid, [0; 6]) != libc::EPERM {
            return 3;
        }
        if err_of(libc::SYS_gettid, [0; 6]) != libc::EACCES {
            return 4; // default action with defaultErrnoRet
        }
        0
    });
    assert_eq!(end, End::Exit(0));
}

#[test]
fn kernel_kill_actions_end_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
    ] {
        let c = allow_but(&format!(r#"{{"names":["getppid"],"action":"{action}"}}"#));
        let end = in_child(&c, || {
            let _ = sys(libc::SYS_getppid, [0; 6]);
            0
        });
        // A shell reports this as exit status 128 + 31 = 159.
        assert_eq!(end, End::Signal(libc::SIGSYS), "{action}");
    }
}

#[test]
fn kernel_log_trace_and_allow() {
    let c = allow_but(
        r#"{"names":["getppid"],"action":"SCMP_ACT_LOG"},
        {"names":["gettid"],"action":"SCMP_ACT_TRACE","errnoRet":3}"#,
    );
    let end = in_child(&c, || {
        match sys(libc::SYS_getppid, [0; 6]) {
            Ok(p) if p > 0 => {}
            _ => return 1,
        }
        // TRACE without a tracer: the kernel answers ENOSYS.
        if err_of(libc::SYS_gettid, [0; 6]) != libc::ENOSYS {
            return 2;
        }
        if sys(libc::SYS_getpid, [0; 6]).is_err() {
            return 3;
        }
        0
    });
    assert_eq!(end, End::Exit(0));
}

#[test]
fn kernel_every_operator_with_high_bits() {
    let v: u64 = 0x1_0000_0005;
    let args: [u64; 7] = [
        v - 1,
        v,
        v + 1,
        5,
        0xffff_ffff_0000_0005,
        0x2_0000_0004,
        0x0_ffff_ffff,
    ];
    for op in OPS {
        let v2 = 0x1_0000_0004u64; // MASKED_EQ datum: arg & v == 0x1_0000_0004
        let c = allow_but(&format!(
            r#"{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":99,
            "args":[{{"index":3,"value":{v},"valueTwo":{v2},"op":"{op}"}}]}}"#
        ));
        let want: i32 = args
            .iter()
            .enumerate()
            .map(|(i, &a)| i32::from(holds(op, a, v, v2)) << i)
            .sum();
        let end = in_child(&c, || {
            let mut mask = 0;
            for (i, &a) in args.iter().enumerate() {
                match err_of(libc::SYS_getppid, [0, 0, 0, a, 0, 0]) {
                    99 => mask |= 1 << i,
                    0 => {}
                    _ => return 200,
                }
            }
            mask
        });
        assert_eq!(end, End::Exit(want), "{op}");
    }
}

/// Makes an i386 syscall through `int 0x80` from this 64-bit process: the path by which a
/// filter that checks only x86_64 numbers would be bypassed.
fn int80(nr: u32) -> i64 {
    let ret: u64;
    // SAFETY: `int 0x80` enters the kernel's ia32 entry with eax = nr and the other argument
    // registers as they are; the syscalls used here (getpid, getppid, unshare with junk flags)
    // have no pointer arguments or fail on them. r8-r11 are clobbered by that entry.
    unsafe {
        std::arch::asm!(
            "int 0x80",
            inlateout("rax") u64::from(nr) => ret,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            options(nostack)
        );
    }
    ret as i64
}

/// Whether this kernel runs i386 syscalls (CONFIG_IA32_EMULATION and not ia32_emulation=0).
fn ia32_available() -> bool {
    let c = compiled(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"]}"#);
    in_child(&c, || {
        // SAFETY: getpid has no arguments.
        let me = unsafe { libc::getpid() };
        i32::from(int80(20) != i64::from(me))
    }) == End::Exit(0)
}

#[test]
fn kernel_x32_and_i386_cannot_slip_past() {
    // Only x86_64 listed: x32 numbers and i386 entries hit the bad-arch action.
    let c = allow_but(r#"{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}"#);
    let x32_getppid = libc::SYS_getppid | i64::from(X32_SYSCALL_BIT);
    let end = in_child(&c, || {
        let _ = sys(x32_getppid, [0; 6]);
        0
    });
    assert_eq!(end, End::Signal(libc::SIGSYS));

    // X32 listed: its numbers get the rules.
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X32"],
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":66}]}"#,
    );
    assert_eq!(in_child(&c, || err_of(x32_getppid, [0; 6])), End::Exit(66));

    if !ia32_available() {
        eprintln!("ia32 emulation unavailable; i386 part skipped");
        return;
    }
    let end = in_child(&c, || {
        let _ = int80(20);
        0
    });
    assert_eq!(end, End::Signal(libc::SIGSYS), "i386 not listed");
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":66}]}"#,
    );
    let end = in_child(&c, || {
        if int80(20) <= 0 {
            return 1;
        }
        i32::from(int80(64) != -66) * 2
    });
    assert_eq!(end, End::Exit(0), "i386 getppid gets the rule");
}

#[test]
fn kernel_flags_are_accepted() {
    let c = compiled(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":44}]}"#,
    );
    assert_eq!(
        in_child(&c, || err_of(libc::SYS_getppid, [0; 6])),
        End::Exit(44)
    );
}

#[test]
fn kernel_default_profile() {
    let c = compile(&default_profile().expect("parses")).expect("compiles");
    let ia32 = ia32_available();
    let end = in_child(&c, || {
        if sys(libc::SYS_getpid, [0; 6]).is_err() {
            return 1;
        }
        if err_of(
            libc::SYS_unshare,
            [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0],
        ) != libc::EPERM
        {
            return 2;
        }
        // clone3(NULL, 0) would be EINVAL/EFAULT from the kernel; the profile says ENOSYS first.
        if err_of(libc::SYS_clone3, [0; 6]) != libc::ENOSYS {
            return 3;
        }
        // mount(NULL, NULL, NULL): EFAULT from the kernel, EPERM from the filter.
        if err_of(libc::SYS_mount, [0; 6]) != libc::EPERM {
            return 4;
        }
        // CLONE_NEWUSER | CLONE_THREAD is EINVAL in the kernel; EPERM means the filter decided.
        let flags = (libc::CLONE_NEWUSER | libc::CLONE_THREAD) as u64;
        if err_of(libc::SYS_clone, [flags, 0, 0, 0, 0, 0]) != libc::EPERM {
            return 5;
        }
        // ioctl(-1, TIOCSTI): EBADF from the kernel, EPERM from the filter.
        if err_of(libc::SYS_ioctl, [u64::MAX, 0x5412, 0, 0, 0, 0]) != libc::EPERM {
            return 6;
        }
        // ptrace(PTRACE_PEEKDATA, pid 0): ESRCH from the kernel.
        if err_of(
            libc::SYS_ptrace,
            [libc::PTRACE_PEEKDATA as u64, 0, 0, 0, 0, 0],
        ) != libc::EPERM
        {
            return 7;
        }
        // keyctl(-1): EINVAL/EOPNOTSUPP from the kernel.
        if err_of(libc::SYS_keyctl, [u64::MAX, 0, 0, 0, 0, 0]) != libc::EPERM {
            return 8;
        }
        // x32 unshare: blocked by the x32 rules (ENOSYS would mean it reached the kernel).
        let x32_unshare = libc::SYS_unshare | i64::from(X32_SYSCALL_BIT);
        if err_of(x32_unshare, [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]) != libc::EPERM {
            return 9;
        }
        // i386 getpid (20) works, i386 unshare (310) is denied.
        if ia32 && (int80(20) <= 0 || int80(310) != -i64::from(libc::EPERM)) {
            return 10;
        }
        0
    });
    assert_eq!(end, End::Exit(0));
}

// ---- NOTIFY: filter in a thread, agent in another ---------------------------------------------

/// SECCOMP_IOCTL_NOTIF_RECV then SEND with `val`.
fn answer_one(listener: RawFd, val: i64) -> libc::seccomp_notif {
    // SAFETY: all-zero is a valid seccomp_notif (plain integers); the kernel requires it zeroed.
    let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: listener is a seccomp listener fd and req is a writable seccomp_notif.
    let r = unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) };
    assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
    let resp = libc::seccomp_notif_resp {
        id: req.id,
        val,
        error: 0,
        flags: 0,
    };
    // SAFETY: resp is a valid seccomp_notif_resp for the request just received.
    let r = unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
    assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
    req
}

#[test]
fn kernel_notify_round_trip_through_the_agent_socket() {
    use std::os::unix::net::UnixListener;

    let dir = std::env::temp_dir().join(format!("rampart-seccomp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let sock_path = dir.join("agent.sock");
    let _ = std::fs::remove_file(&sock_path);
    let agent_sock = UnixListener::bind(&sock_path).expect("bind");

    const MAGIC: u64 = 0xdead_beef_0000_0001;
    let c = compiled(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"{}","listenerMetadata":"meta",
        "flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_NOTIFY",
        "args":[{{"index":0,"value":{MAGIC},"op":"SCMP_CMP_EQ"}}]}}]}}"#,
        sock_path.display()
    ));
    assert!(c.uses_notify);

    // The filtered thread: its filter dies with it. no_new_privs is per thread as well.
    let (fd_tx, fd_rx) = std::sync::mpsc::channel::<OwnedFd>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        // SAFETY: prctl on the calling thread with constant arguments.
        assert_eq!(
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) },
            0
        );
        let fd = install(&c).expect("install").expect("listener fd");
        fd_tx.send(fd).expect("send fd");
        go_rx.recv().expect("go");
        let notified = sys(libc::SYS_getppid, [MAGIC, 0, 0, 0, 0, 0]);
        let plain = sys(libc::SYS_getppid, [1, 0, 0, 0, 0, 0]);
        (notified, plain)
    });
    let listener = fd_rx.recv().expect("listener fd");

    // The runtime hands the fd to the agent.
    let state: oci_spec::runtime::State = serde_json::from_str(
        r#"{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":4242,"bundle":"/b"}"#,
    )
    .expect("state");
    use std::os::fd::AsFd;
    send_listener(&sock_path, listener.as_fd(), 4242, Some("meta"), &state).expect("send_listener");
    drop(listener);

    // The agent: receive JSON + fd, answer the notification.
    let (conn, _) = agent_sock.accept().expect("accept");
    let mut buf = vec![0u8; 4096];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = nix::sys::socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::empty(),
    )
    .expect("recvmsg");
    let n = msg.bytes;
    let mut got_fd = None;
    for m in msg.cmsgs().expect("cmsgs") {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = m {
            got_fd = fds.first().copied();
        }
    }
    // SAFETY: the fd just arrived with SCM_RIGHTS and belongs to us now.
    let agent_fd = unsafe { OwnedFd::from_raw_fd(got_fd.expect("fd with the message")) };
    let json: serde_json::Value = serde_json::from_slice(&buf[..n]).expect("state json");
    assert_eq!(json["ociVersion"], "1.2.0");
    assert_eq!(json["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(json["pid"], 4242);
    assert_eq!(json["metadata"], "meta");
    assert_eq!(json["state"]["id"], "c1");
    assert_eq!(json["state"]["status"], "creating");

    go_tx.send(()).expect("go");
    let req = answer_one(agent_fd.as_raw_fd(), 31337);
    assert_eq!(req.data.nr, libc::SYS_getppid as i32);
    assert_eq!(req.data.args[0], MAGIC);
    let (notified, plain) = worker.join().expect("worker");
    assert_eq!(notified, Ok(31337));
    assert!(matches!(plain, Ok(p) if p > 0 && p != 31337));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the plan: where the filter is loaded, and the runtime's side of NOTIFY --------------------

#[test]
fn the_plan_picks_one_stage() {
    let plain = SeccompPlan::compile(&cfg(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#)).unwrap();
    let notify = SeccompPlan::compile(&cfg(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock",
        "listenerMetadata":"m","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    assert_eq!(
        notify.listener_path.as_deref(),
        Some(std::path::Path::new("/run/agent.sock"))
    );
    assert_eq!(notify.listener_metadata.as_deref(), Some("m"));
    // Without no_new_privs: before the capability drop, NOTIFY or not.
    assert_eq!(plain.stage(false), Stage::BeforeCapabilityDrop);
    assert_eq!(notify.stage(false), Stage::BeforeCapabilityDrop);
    // With it: as late as possible, unless the listener must travel back over the init socket.
    assert_eq!(plain.stage(true), Stage::BeforeExec);
    assert_eq!(notify.stage(true), Stage::AfterNoNewPrivs);
}

#[test]
fn install_for_does_nothing_at_other_stages() {
    // These would load a filter into the test process if they did not return early.
    let p = SeccompPlan::compile(&cfg(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO"}]}"#,
    ))
    .unwrap();
    for (nnp, stage) in [
        (true, Stage::BeforeCapabilityDrop),
        (true, Stage::AfterNoNewPrivs),
        (false, Stage::AfterNoNewPrivs),
        (false, Stage::BeforeExec),
    ] {
        assert!(install_for(Some(&p), nnp, stage).unwrap().is_none());
    }
    assert!(install_for(None, true, Stage::BeforeExec)
        .unwrap()
        .is_none());
    assert!(
        sys(libc::SYS_getppid, [0; 6]).is_ok(),
        "a filter was loaded"
    );
}

#[test]
fn send_to_agent_needs_the_fd_only_with_notify() {
    let state = br#"{"ociVersion":"1.2.0","id":"c","status":"creating","pid":1,"bundle":"/b"}"#;
    let plain = SeccompPlan::compile(&cfg(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#)).unwrap();
    assert!(send_to_agent(None, None, 1, state).is_ok());
    assert!(send_to_agent(Some(&plain), None, 1, state).is_ok());
    let notify = SeccompPlan::compile(&cfg(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/nonexistent/agent.sock",
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    ))
    .unwrap();
    assert!(matches!(
        send_to_agent(Some(&notify), None, 1, state),
        Err(SeccompError::ListenerMissing)
    ));
    // With an fd (any will do here): the connect to listenerPath fails and names the path.
    let fd = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
    match send_to_agent(Some(&notify), Some(fd), 1, state) {
        Err(e @ SeccompError::ListenerConnect { .. }) => {
            assert!(e.to_string().contains("/nonexistent/agent.sock"))
        }
        other => panic!("{other:?}"),
    }
}
