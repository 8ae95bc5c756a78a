//! Differential test: rampart's compiler against libseccomp 2.5.4 (Debian 12's python3-seccomp),
//! which every published profile is written for. libseccomp is a test-only oracle
//! (`testdata/oracle.py`, run with /usr/bin/python3); it is never linked into rampart.
//!
//! For each profile both compilers produce a classic-BPF program; a small interpreter runs both
//! over sampled `seccomp_data` (arch, syscall number, six 64-bit arguments) and every sample
//! must get the same SECCOMP_RET_* value. A profile libseccomp refuses must be refused by rampart
//! too. Profiles: rampart's default, Docker's and podman's default profiles as an engine writes
//! them for amd64 (with the engine's default capabilities and with all of them; converted by
//! `testdata/convert.py` from Debian's golang-github-docker-docker-dev 20.10.24 and
//! golang-github-containers-common 0.50.1), and seeded random profiles built to overlap.
//!
//! Samples hit the edges: for every value a rule compares with, the value itself, +/-1, the
//! masked datum with random noise outside the mask, its low and high halves, and fixed edges
//! (0, 2^32-1, 2^32, high bit set, all ones); syscall numbers of every named syscall in each ABI,
//! x32 numbers on the x86_64 arch, nr -1 and other out-of-table numbers, and foreign arches.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Value};

use super::arch::{Abi, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use super::compile;

const ORACLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/seccomp/testdata/oracle.py"
);
/// Debian's python3-seccomp is built for Debian's python; a pyenv `python3` on PATH lacks it.
const PYTHON: &str = "/usr/bin/python3";
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

// ---- classic BPF, as the kernel runs seccomp filters -------------------------------------------

fn run_bpf(insns: &[libc::sock_filter], arch: u32, nr: u32, args: &[u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    // instruction_pointer (8..16) stays 0: no rule can read it.
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let word = |k: u32| {
        let k = k as usize;
        assert!(k.is_multiple_of(4) && k < 64, "bad load offset {k}");
        u32::from_le_bytes([data[k], data[k + 1], data[k + 2], data[k + 3]])
    };
    let (mut a, mut x, mut mem, mut pc) = (0u32, 0u32, [0u32; 16], 0usize);
    loop {
        let i = insns.get(pc).expect("pc inside the program");
        let code = u32::from(i.code);
        pc += 1;
        match code & 0x07 {
            libc::BPF_LD => {
                a = match code & 0xe0 {
                    libc::BPF_ABS => word(i.k),
                    libc::BPF_IMM => i.k,
                    libc::BPF_MEM => mem[i.k as usize],
                    libc::BPF_LEN => 64,
                    m => panic!("ld mode {m:#x}"),
                }
            }
            libc::BPF_LDX => {
                x = match code & 0xe0 {
                    libc::BPF_IMM => i.k,
                    libc::BPF_MEM => mem[i.k as usize],
                    libc::BPF_LEN => 64,
                    m => panic!("ldx mode {m:#x}"),
                }
            }
            libc::BPF_ST => mem[i.k as usize] = a,
            libc::BPF_STX => mem[i.k as usize] = x,
            libc::BPF_ALU => {
                let v = if code & 0x08 == libc::BPF_X { x } else { i.k };
                a = match code & 0xf0 {
                    libc::BPF_ADD => a.wrapping_add(v),
                    libc::BPF_SUB => a.wrapping_sub(v),
                    libc::BPF_MUL => a.wrapping_mul(v),
                    libc::BPF_DIV => a / v,
                    libc::BPF_MOD => a % v,
                    libc::BPF_AND => a & v,
                    libc::BPF_OR => a | v,
                    libc::BPF_XOR => a ^ v,
                    libc::BPF_LSH => a.wrapping_shl(v),
                    libc::BPF_RSH => a.wrapping_shr(v),
                    libc::BPF_NEG => a.wrapping_neg(),
                    o => panic!("alu op {o:#x}"),
                }
            }
            libc::BPF_JMP => {
                let v = if code & 0x08 == libc::BPF_X { x } else { i.k };
                let t = match code & 0xf0 {
                    libc::BPF_JA => {
                        pc += i.k as usize;
                        continue;
                    }
                    libc::BPF_JEQ => a == v,
                    libc::BPF_JGT => a > v,
                    libc::BPF_JGE => a >= v,
                    libc::BPF_JSET => a & v != 0,
                    o => panic!("jmp op {o:#x}"),
                };
                pc += usize::from(if t { i.jt } else { i.jf });
            }
            libc::BPF_RET => {
                return match code & 0x18 {
                    libc::BPF_K => i.k,
                    libc::BPF_A => a,
                    r => panic!("ret source {r:#x}"),
                }
            }
            libc::BPF_MISC => {
                if code & 0xf8 == libc::BPF_TAX {
                    x = a;
                } else {
                    a = x;
                }
            }
            c => panic!("instruction class {c:#x}"),
        }
    }
}

fn parse_bpf(hex: &str) -> Vec<libc::sock_filter> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("oracle hex"))
        .collect();
    assert!(bytes.len().is_multiple_of(8) && !bytes.is_empty());
    bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Whether libseccomp's program compares syscall numbers while the accumulator still holds
/// `arch`: the section for an arch starts with a conditional jump instead of `ld nr`.
/// libseccomp 2.5.4 emits that when a rule with arguments names a syscall the arch does not
/// have (e.g. `_llseek` in an x86_64 + x32 filter): its accumulator tracking believes the number
/// is loaded. Such a filter compares AUDIT_ARCH_X86_64 with syscall numbers, i.e. decides on
/// garbage; no runtime should copy that, so these profiles are reported, not compared.
fn lost_nr_load(insns: &[libc::sock_filter]) -> bool {
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    insns.iter().enumerate().any(|(n, i)| {
        i.code == jeq
            && (i.k == AUDIT_ARCH_X86_64 || i.k == AUDIT_ARCH_I386)
            && insns.get(n + 1 + usize::from(i.jt)).is_some_and(|t| {
                u32::from(t.code) & 0x07 == libc::BPF_JMP
                    && u32::from(t.code) & 0xf0 != libc::BPF_JA
            })
    })
}

/// For every instruction of `insns`, whether the accumulator can reach it holding values from
/// more than one origin (a load offset, possibly and-masked). A program generated from a
/// decision tree compares each node with one argument word, so a conditional jump with two
/// origins is a generator bug: libseccomp 2.5.4 tracks the accumulator wrongly when a failed
/// sub-level continues at the next node of the level above, and elides that node's load, so the
/// node then compares the sub-level's word (e.g. the low half where it means the high half).
/// Samples that pass such a jump are decided by that bug; they are counted, not compared.
fn ambiguous_jumps(insns: &[libc::sock_filter]) -> Vec<bool> {
    let mut origins: Vec<BTreeSet<(u32, u32)>> = vec![BTreeSet::new(); insns.len() + 1];
    origins[0].insert((u32::MAX, 0));
    let mut out = vec![false; insns.len()];
    for pc in 0..insns.len() {
        let i = insns[pc];
        let code = u32::from(i.code);
        let here = std::mem::take(&mut origins[pc]);
        let mut flow = |to: usize, set: &BTreeSet<(u32, u32)>| {
            if let Some(o) = origins.get_mut(to) {
                o.extend(set.iter().copied());
            }
        };
        match code & 0x07 {
            libc::BPF_LD => flow(pc + 1, &BTreeSet::from([(i.k, u32::MAX)])),
            libc::BPF_ALU => {
                let masked = here.iter().map(|&(off, m)| (off, m & i.k)).collect();
                flow(pc + 1, &masked);
            }
            libc::BPF_JMP if code & 0xf0 == libc::BPF_JA => flow(pc + 1 + i.k as usize, &here),
            libc::BPF_JMP => {
                out[pc] = here.len() > 1;
                flow(pc + 1 + usize::from(i.jt), &here);
                flow(pc + 1 + usize::from(i.jf), &here);
            }
            libc::BPF_RET => {}
            _ => flow(pc + 1, &here),
        }
    }
    out
}

/// Runs `insns` like [`run_bpf`]; `None` when the run passes a jump of `ambiguous`.
fn run_tracked(
    insns: &[libc::sock_filter],
    ambiguous: &[bool],
    arch: u32,
    nr: u32,
    args: &[u64; 6],
) -> Option<u32> {
    let mut trace = Vec::new();
    trace_bpf(insns, arch, nr, args, &mut trace);
    if trace.iter().any(|&pc| ambiguous[pc]) {
        return None;
    }
    Some(run_bpf(insns, arch, nr, args))
}

/// The pcs a run of `insns` executes.
fn trace_bpf(
    insns: &[libc::sock_filter],
    arch: u32,
    nr: u32,
    args: &[u64; 6],
    out: &mut Vec<usize>,
) {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        out.push(pc);
        let i = insns[pc];
        let code = u32::from(i.code);
        pc += 1;
        match code & 0x07 {
            libc::BPF_LD => {
                let k = i.k as usize;
                a = u32::from_le_bytes([data[k], data[k + 1], data[k + 2], data[k + 3]]);
            }
            libc::BPF_ALU if code & 0xf0 == libc::BPF_AND => a &= i.k,
            libc::BPF_JMP => {
                let t = match code & 0xf0 {
                    libc::BPF_JA => {
                        pc += i.k as usize;
                        continue;
                    }
                    libc::BPF_JEQ => a == i.k,
                    libc::BPF_JGT => a > i.k,
                    libc::BPF_JGE => a >= i.k,
                    libc::BPF_JSET => a & i.k != 0,
                    o => panic!("jmp op {o:#x}"),
                };
                pc += usize::from(if t { i.jt } else { i.jf });
            }
            libc::BPF_RET => return,
            c => panic!("instruction class {c:#x} in a libseccomp program"),
        }
    }
}

// ---- the oracle ------------------------------------------------------------------------------

/// What libseccomp made of one profile: its program and the syscall names it does not know.
struct Answer {
    bpf: Vec<libc::sock_filter>,
    unknown: Vec<String>,
}

/// libseccomp's program for each profile, or why it refused the profile.
fn oracle(profiles: &[Value]) -> Vec<Result<Answer, String>> {
    let mut child = Command::new(PYTHON)
        .arg(ORACLE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {PYTHON} {ORACLE}: {e}"));
    let input = serde_json::to_vec(profiles).expect("profiles serialize");
    let mut stdin = child.stdin.take().expect("oracle stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("oracle output");
    writer
        .join()
        .expect("writer thread")
        .expect("write oracle stdin");
    assert!(
        out.status.success(),
        "the libseccomp oracle failed (is Debian's python3-seccomp installed? `make deps`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("oracle JSON line"))
        .collect();
    assert_eq!(lines.len(), profiles.len(), "one oracle answer per profile");
    lines
        .into_iter()
        .map(|l| match (l["bpf"].as_str(), l["error"].as_str()) {
            (Some(h), _) => Ok(Answer {
                bpf: parse_bpf(h),
                unknown: l["unknown"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect(),
            }),
            (_, Some(e)) => Err(e.to_string()),
            _ => panic!("oracle line without bpf or error: {l}"),
        })
        .collect()
}

// ---- seeded randomness -----------------------------------------------------------------------

/// splitmix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const EDGES: &[u64] = &[
    0,
    1,
    2,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0xffff_ffff_0000_0000,
    0x8000_0000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    u64::MAX - 1,
    u64::MAX,
];

/// A value a random rule compares with: small numbers collide between rules (overlaps), the
/// rest sit at or next to the 32-bit boundaries.
fn rule_value(r: &mut Rng) -> u64 {
    match r.below(6) {
        0 | 1 => r.below(4) as u64,
        2 => *r.pick(EDGES),
        3 => (r.below(3) as u64) << 32 | r.below(3) as u64,
        4 => r.next() & 0xffff_ffff,
        _ => r.next(),
    }
}

fn random_action(r: &mut Rng, notify: bool) -> Value {
    let names = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_LOG",
        "SCMP_ACT_NOTIFY",
    ];
    let n = if notify { names.len() } else { names.len() - 1 };
    let a = names[r.below(n)];
    let mut v = json!({ "action": a });
    if (a == "SCMP_ACT_ERRNO" || a == "SCMP_ACT_TRACE") && r.chance(70) {
        v["errnoRet"] = json!(*r.pick(&[1u32, 1, 13, 38, 4095]));
    }
    v
}

/// Names present in all three ABIs (so every ABI gets rules), an i386-only one, and socket and
/// IPC calls, which i386 also reaches through socketcall(2) and ipc(2).
const POOL: &[&str] = &[
    "getpgid",
    "getpgid",
    "personality",
    "personality",
    "ioctl",
    "kill",
    "fcntl",
    "clone",
    "socket",
    "mmap",
    "lseek",
    "_llseek",
    "prctl",
    "getpid",
    "shmget",
    "semop",
    "accept",
];

fn random_profile(r: &mut Rng) -> Value {
    let notify = r.chance(10);
    let mut p = random_action(r, false);
    let default = p["action"].clone();
    let mut prof = json!({ "defaultAction": default });
    if let Some(e) = p.get_mut("errnoRet").map(Value::take) {
        prof["defaultErrnoRet"] = e;
    }
    let arches: Vec<&str> = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        .into_iter()
        .filter(|_| r.chance(60))
        .collect();
    if !arches.is_empty() {
        prof["architectures"] = json!(arches);
    }
    if notify {
        prof["listenerPath"] = json!("/run/agent.sock");
    }
    let mut entries = Vec::new();
    for _ in 0..1 + r.below(12) {
        let mut e = random_action(r, notify);
        let names: Vec<&str> = (0..1 + r.below(2)).map(|_| *r.pick(POOL)).collect();
        e["names"] = json!(names);
        let nargs = [0, 1, 1, 1, 2, 2, 3][r.below(7)];
        let args: Vec<Value> = (0..nargs)
            .map(|_| {
                let op = *r.pick(&[
                    "SCMP_CMP_NE",
                    "SCMP_CMP_LT",
                    "SCMP_CMP_LE",
                    "SCMP_CMP_EQ",
                    "SCMP_CMP_EQ",
                    "SCMP_CMP_GE",
                    "SCMP_CMP_GT",
                    "SCMP_CMP_MASKED_EQ",
                ]);
                let mut a = json!({"index": r.below(3), "op": op, "value": rule_value(r)});
                if op == "SCMP_CMP_MASKED_EQ" {
                    let mask = a["value"].as_u64().unwrap_or(0);
                    let datum = if r.chance(70) {
                        rule_value(r) & mask
                    } else {
                        rule_value(r)
                    };
                    a["valueTwo"] = json!(datum);
                }
                a
            })
            .collect();
        if !args.is_empty() {
            e["args"] = json!(args);
        }
        entries.push(e);
    }
    prof["syscalls"] = json!(entries);
    prof
}

// ---- samples ---------------------------------------------------------------------------------

/// Argument values worth trying for `profile`: the edges, plus every value its rules compare
/// with and its neighbours.
fn arg_values(profile: &Value, r: &mut Rng) -> Vec<u64> {
    let mut vals: BTreeSet<u64> = EDGES.iter().copied().collect();
    for e in profile["syscalls"].as_array().into_iter().flatten() {
        for a in e["args"].as_array().into_iter().flatten() {
            let v = a["value"].as_u64().unwrap_or(0);
            let v2 = a["valueTwo"].as_u64().unwrap_or(0);
            for x in [v, v2] {
                vals.extend([
                    x,
                    x.wrapping_add(1),
                    x.wrapping_sub(1),
                    x & 0xffff_ffff,
                    x | 0xffff_ffff_0000_0000,
                    x ^ 0x1_0000_0000,
                    x & 0xffff_ffff_0000_0000,
                ]);
            }
            // Satisfies (arg & v) == v2 when v2 is inside the mask, with noise outside it.
            for _ in 0..4 {
                vals.insert(v2 | (r.next() & !v));
            }
            vals.insert((v2 | (r.next() & !v)) ^ (1 << r.below(64)));
        }
    }
    vals.into_iter().collect()
}

/// (arch, nr) pairs for `profile`: every named syscall in each ABI, plus numbers around and
/// outside the tables.
fn numbers(profile: &Value) -> Vec<(u32, u32)> {
    let mut out = BTreeSet::new();
    for e in profile["syscalls"].as_array().into_iter().flatten() {
        for n in e["names"].as_array().into_iter().flatten() {
            let n = n.as_str().unwrap_or("");
            for (abi, arch) in [
                (Abi::X86_64, AUDIT_ARCH_X86_64),
                (Abi::X32, AUDIT_ARCH_X86_64),
                (Abi::I386, AUDIT_ARCH_I386),
            ] {
                if let Some(nr) = abi.number(n) {
                    out.insert((arch, nr));
                    out.insert((arch, nr + 1));
                }
            }
        }
    }
    for nr in [
        0,
        1,
        102, // i386 socketcall
        117, // i386 ipc
        500,
        1000,
        X32_SYSCALL_BIT - 1,
        X32_SYSCALL_BIT,
        X32_SYSCALL_BIT | 39,
        X32_SYSCALL_BIT | 1000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_fffe,
        0xffff_ffff,
    ] {
        out.insert((AUDIT_ARCH_X86_64, nr));
        out.insert((AUDIT_ARCH_I386, nr));
    }
    out.insert((AUDIT_ARCH_AARCH64, 172));
    out.insert((0, 0));
    out.into_iter().collect()
}

#[derive(Default)]
struct Tally {
    profiles: usize,
    refused_by_both: usize,
    samples: u64,
    /// Samples of syscalls this libseccomp does not know (newer than its table): not compared.
    unknown_to_libseccomp: BTreeSet<String>,
    skipped: u64,
    /// Samples decided by libseccomp's accumulator bug (see [`ambiguous_jumps`]).
    acc_bug_samples: u64,
    /// Profiles where libseccomp's own program is broken (see [`lost_nr_load`]).
    libseccomp_broken: Vec<String>,
    mismatched: u64,
    mismatches: Vec<String>,
}

/// Compares rampart with libseccomp on `profiles` (named `label`), `per_nr` argument vectors for
/// every syscall number.
fn compare(label: &str, profiles: &[Value], per_nr: usize, seed: u64, t: &mut Tally) {
    let mut r = Rng(seed);
    let answers = oracle(profiles);
    for (n, (p, want)) in profiles.iter().zip(answers).enumerate() {
        t.profiles += 1;
        let cfg: LinuxSeccomp = serde_json::from_value(p.clone()).expect("profile parses");
        let ours = compile(&cfg);
        let (theirs, ours) = match (want, ours) {
            (Err(_), Err(_)) => {
                t.refused_by_both += 1;
                continue;
            }
            (Ok(w), Ok(o)) => (w, o),
            (w, o) => {
                t.mismatched += 1;
                t.mismatches.push(format!(
                    "{label}[{n}]: libseccomp {:?}, rampart {:?}\nprofile: {p}",
                    w.err(),
                    o.err()
                ));
                continue;
            }
        };
        if lost_nr_load(&theirs.bpf) {
            t.libseccomp_broken.push(format!("{label}[{n}]"));
            continue;
        }
        let values = arg_values(p, &mut r);
        // libseccomp 2.5.4 leaves syscalls newer than its table to the default action; rampart's
        // table knows them. That is a table version, not a precedence, difference.
        let newer: BTreeSet<(u32, u32)> = theirs
            .unknown
            .iter()
            .flat_map(|n| {
                [
                    (Abi::X86_64, AUDIT_ARCH_X86_64),
                    (Abi::X32, AUDIT_ARCH_X86_64),
                    (Abi::I386, AUDIT_ARCH_I386),
                ]
                .into_iter()
                .filter_map(|(abi, arch)| abi.number(n).map(|nr| (arch, nr)))
            })
            .collect();
        t.unknown_to_libseccomp
            .extend(theirs.unknown.iter().cloned());
        let theirs = theirs.bpf;
        let ambiguous = ambiguous_jumps(&theirs);
        for (arch, nr) in numbers(p) {
            if newer.contains(&(arch, nr)) {
                t.skipped += per_nr as u64;
                continue;
            }
            for k in 0..per_nr {
                let args: [u64; 6] = std::array::from_fn(|i| {
                    // The first vector is all zero; later ones pick edges and rule values.
                    if k == 0 || (i >= 3 && r.chance(70)) {
                        0
                    } else {
                        *r.pick(&values)
                    }
                });
                let Some(a) = run_tracked(&theirs, &ambiguous, arch, nr, &args) else {
                    t.acc_bug_samples += 1;
                    continue;
                };
                t.samples += 1;
                let b = run_bpf(ours.program.instructions(), arch, nr, &args);
                if a != b {
                    t.mismatched += 1;
                }
                if a != b && t.mismatches.len() < 20 {
                    t.mismatches.push(format!(
                        "{label}[{n}]: arch {arch:#x} nr {nr:#x} args {args:#x?}: libseccomp \
                         {a:#x}, rampart {b:#x}\nprofile: {p}"
                    ));
                }
            }
        }
    }
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/src/seccomp/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn decisions_match_libseccomp() {
    let mut t = Tally::default();
    // The case: the default profile, getpgid denied with EACCES, and an argument-scoped
    // allow for getpgid; libseccomp denies every getpgid. The default profile allows getpgid
    // unconditionally itself, and in libseccomp the first rule without args wins, so the deny
    // must come first (prepended), or getpgid must leave the allow list (then in any order).
    let deny = json!({"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13});
    let allow = json!({"names": ["getpgid"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": 0}]});
    let mut prepended = super::default_profile_json().expect("default profile");
    if let Some(s) = prepended["syscalls"].as_array_mut() {
        s.insert(0, allow.clone());
        s.insert(0, deny.clone());
    }
    let mut removed = super::default_profile_json().expect("default profile");
    if let Some(s) = removed["syscalls"].as_array_mut() {
        for e in s.iter_mut() {
            if let Some(n) = e["names"].as_array_mut() {
                n.retain(|n| n != "getpgid");
            }
        }
        s.push(allow);
        s.push(deny);
    }
    let published = vec![
        prepended,
        removed,
        super::default_profile_json().expect("default profile"),
        fixture("docker-default.json"),
        fixture("docker-allcaps.json"),
        fixture("podman-default.json"),
        fixture("podman-allcaps.json"),
    ];
    compare("published", &published, 64, 1, &mut t);

    let mut r = Rng(0x5ecc_0305);
    let random: Vec<Value> = (0..4000).map(|_| random_profile(&mut r)).collect();
    compare("random", &random, 48, 2, &mut t);

    // Straight to the stderr handle, not eprintln!: the test harness captures that, and the
    // counts belong in every `make test` log.
    let summary = format!(
        "seccomp differential: {} profiles ({} refused by both), {} samples, {} mismatches; \
         {} samples not compared for syscalls libseccomp 2.5.4 does not know: {:?}; \
         {} profiles where libseccomp's program never loads the syscall number (first: {:?}); \
         {} samples decided by libseccomp's accumulator bug, not compared",
        t.profiles,
        t.refused_by_both,
        t.samples,
        t.mismatched,
        t.skipped,
        t.unknown_to_libseccomp,
        t.libseccomp_broken.len(),
        &t.libseccomp_broken[..t.libseccomp_broken.len().min(5)],
        t.acc_bug_samples
    );
    let _ = writeln!(std::io::stderr(), "{summary}");
    // The published profiles must all be comparable.
    assert!(
        !t.libseccomp_broken
            .iter()
            .any(|p| p.starts_with("published")),
        "{:?}",
        t.libseccomp_broken
    );
    assert!(
        t.mismatched == 0,
        "rampart decides differently from libseccomp:\n{}",
        t.mismatches.join("\n\n")
    );
}
