//! LinuxSeccomp → BPF. Pure: no syscalls, so the result can be cached.
//!
//! Layout of every program:
//!
//! ```text
//!   ld arch
//!   arch == AUDIT_ARCH_X86_64 ? → x86_64/x32 section
//!   arch == AUDIT_ARCH_I386   ? → i386 section         (only if SCMP_ARCH_X86 is listed)
//!   ret BAD_ARCH_ACTION
//! section:
//!   ld nr
//!   binary search over sorted syscall-number intervals (jge only) → one leaf per interval:
//!     ret <action>                       constant: the result does not depend on arguments
//!     32-bit compares, ret <action>...   conditional: libseccomp's decision tree (`db.rs`)
//! ```
//!
//! The intervals cover the whole 32-bit number space, so a leaf needs no further check. Runs of
//! neighbouring numbers with the same constant result merge into one interval (gaps in the table
//! take the default action), which keeps the tree shallow: ~9 compares instead of a ~360-long
//! chain. Because sections read only `arch` and `nr` before a constant leaf, the kernel's
//! seccomp action cache (Linux 5.11+) can prove those syscalls always allowed and skip the filter.

use std::collections::BTreeMap;

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

use super::arch::{self, Abi, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use super::bpf::{Emitter, Jmp, Label, Program, MAX_INSNS, OFF_ARCH, OFF_NR};
use super::db::{Cond, Id, NodeOp, Syscall};
use super::error::SeccompError;
use super::Compiled;

/// The action for syscalls from an ABI the config does not list (and for x32 numbers when
/// SCMP_ARCH_X32 is not listed). libseccomp's default bad-arch action is KILL_THREAD; we kill the
/// whole process instead, so a multi-threaded program is not left half-alive. It cannot be the
/// default action: with an allow-by-default profile, a foreign ABI would bypass every deny rule.
pub const BAD_ARCH_ACTION: u32 = libc::SECCOMP_RET_KILL_PROCESS;

/// Largest errnoRet for SCMP_ACT_ERRNO. The kernel clamps larger values to MAX_ERRNO (4095), and
/// libseccomp 2.5.4 refuses 4095 and above (EINVAL), so runc rejects such a profile; so do we.
const MAX_ERRNO: u32 = 4094;

/// Largest errnoRet for SCMP_ACT_TRACE: the 16-bit SECCOMP_RET_DATA the tracer receives.
const MAX_TRACE_DATA: u32 = 0xffff;

/// Syscalls that must not use SCMP_ACT_NOTIFY: the listener fd is handed to the agent with
/// sendmsg(2) and the runtime reports progress with write(2) after the filter is loaded, so a
/// notification on them would wait for an agent that has not got its fd yet (runc refuses the
/// same for write).
const NOTIFY_FORBIDDEN: &[&str] = &["sendmsg", "write"];

/// Operator of one argument check; unsigned 64-bit comparisons as in libseccomp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & value) == value_two`
    MaskedEq,
}

/// One `syscalls[]` entry with arguments: `action` applies when all `conds` hold.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    action: u32,
    conds: Vec<Cond>,
}

/// What one interval of syscall numbers compiles to.
#[derive(Clone, Debug)]
enum Leaf {
    Const(u32),
    /// libseccomp's decision tree for the syscall; `fallback` when no node decides.
    Tree {
        sys: Box<Syscall>,
        fallback: u32,
    },
}

/// Compiles the OCI seccomp config into a program plus the seccomp(2) flags it needs.
///
/// Semantics: exactly those of libseccomp 2.5 as runc drives it, because every published
/// profile is written against it (the differential test in `differential.rs` checks this
/// against libseccomp itself):
/// - a syscall without any rule gets `defaultAction`;
/// - an entry without `args` decides its syscall: argument-scoped entries for the same syscall,
///   before or after it, are dropped, and of two entries without `args` the first decides (a
///   later one with another action is ignored with a warning). So "getpgid → EACCES" plus
///   "getpgid(0) → allow" denies every getpgid. A specific rule does NOT win over a general one;
///   to carve an exception out of an allow, allow the rest with argument-scoped entries;
/// - argument-scoped entries for one syscall merge into libseccomp's decision tree (`db.rs`):
///   the order in which overlapping entries are tried is libseccomp's (by argument, operator
///   and value), not the config's;
/// - on i386 and x32 arguments are compared on their low 32 bits, with the value truncated;
/// - an entry whose action equals `defaultAction` is skipped: libseccomp refuses such a rule
///   (EACCES) and runc skips it;
/// - an entry that conflicts with an earlier one in libseccomp's tree (same conditions, other
///   action) is refused, as libseccomp refuses it (EEXIST) and runc then fails;
/// - if one entry checks the same argument twice, each of its conditions becomes its own rule
///   (alternatives), as runc does for compatibility with existing profiles; a warning says so;
/// - unknown syscall names are skipped with a warning; a name is unknown only if no covered ABI
///   has it (i386-only names such as `_llseek` are fine in a profile listing SCMP_ARCH_X86).
pub fn compile(cfg: &LinuxSeccomp) -> Result<Compiled, SeccompError> {
    let mut warnings = Vec::new();
    let abis = arch::abis(cfg.architectures().as_ref(), &mut warnings)?;

    if cfg.default_action() == LinuxSeccompAction::ScmpActNotify {
        return Err(SeccompError::Config(
            "defaultAction SCMP_ACT_NOTIFY is not allowed (every syscall of the container, \
             including the ones that hand over the listener, would wait for the agent)"
                .into(),
        ));
    }
    let default = action_value(
        cfg.default_action(),
        cfg.default_errno_ret(),
        "defaultAction",
    )?;

    let mut plans: BTreeMap<(Abi, u32), Syscall> = BTreeMap::new();
    // libseccomp keeps the rules for a syscall an ABI lacks (e.g. `_llseek` on x86_64) in a
    // placeholder entry that emits no code but still refuses conflicting rules (EEXIST); we
    // check them the same way.
    let mut absent: BTreeMap<(Abi, &str), Syscall> = BTreeMap::new();
    let mut uses_notify = false;
    for (n, entry) in cfg.syscalls().iter().flatten().enumerate() {
        let what = format!("syscalls[{n}]");
        let action = action_value(entry.action(), entry.errno_ret(), &what)?;
        if action == default {
            // libseccomp refuses a rule with the default action (EACCES) and runc skips the
            // entry. It must not count as a rule: without args it would override the
            // argument-scoped rules of its syscall.
            continue;
        }
        let is_notify = entry.action() == LinuxSeccompAction::ScmpActNotify;
        let rules = rules_of(
            entry.args().as_deref().unwrap_or(&[]),
            action,
            &what,
            &mut warnings,
        )?;

        for name in entry.names() {
            if is_notify && NOTIFY_FORBIDDEN.contains(&name.as_str()) {
                return Err(SeccompError::Config(format!(
                    "{what}: SCMP_ACT_NOTIFY on {name} would deadlock the listener hand-off"
                )));
            }
            let mut known = false;
            let mut ignored = None;
            let conflict = |_| {
                SeccompError::Config(format!(
                    "{what}: {name}: conflicts with an earlier rule on the same arguments with \
                     another action (libseccomp refuses it too)"
                ))
            };
            let single;
            let alternatives: &[Rule] = match &rules {
                Some(rs) => rs,
                None => {
                    single = [Rule {
                        action,
                        conds: Vec::new(),
                    }];
                    &single
                }
            };
            let anywhere = [Abi::X86_64, Abi::X32, Abi::I386]
                .into_iter()
                .any(|a| a.number(name).is_some() || arch::multiplexed(a, name).is_some());
            for &abi in &abis {
                let direct = abi.number(name);
                let muxed = arch::multiplexed(abi, name);
                known |= direct.is_some() || muxed.is_some();
                if direct.is_none() && muxed.is_none() && anywhere {
                    let sys = absent.entry((abi, name.as_str())).or_default();
                    for r in alternatives {
                        sys.add(&r.conds, r.action, abi.args_32bit())
                            .map_err(conflict)?;
                    }
                    continue;
                }
                for r in alternatives {
                    // As libseccomp: the multiplexed form first, then the direct syscall.
                    if let Some((nr, call)) = muxed {
                        let sys = plans.entry((abi, nr)).or_default();
                        let mut conds: Vec<Cond> =
                            r.conds.iter().filter(|c| c.index != 0).copied().collect();
                        conds.push(Cond {
                            index: 0,
                            op: Op::Eq,
                            value: call,
                            value_two: 0,
                        });
                        sys.add(&conds, r.action, abi.args_32bit())
                            .map_err(conflict)?;
                    }
                    let Some(nr) = direct else { continue };
                    let sys = plans.entry((abi, nr)).or_default();
                    // The first entry without args wins, as in libseccomp (which keeps an
                    // existing unconditional rule and drops later ones): podman's default
                    // profile allows setns unconditionally and later denies it without
                    // CAP_SYS_ADMIN, and runc runs it.
                    if let (Some(prev), None) = (sys.unconditional, &rules) {
                        if prev != action {
                            ignored = Some(prev);
                        }
                    }
                    sys.add(&r.conds, r.action, abi.args_32bit())
                        .map_err(conflict)?;
                }
            }
            // Once per name, not per ABI.
            if let Some(prev) = ignored {
                warnings.push(format!(
                    "seccomp: {what}: {name} already has a rule without args ({prev:#x}); \
                     its action {action:#x} is ignored"
                ));
            }
            if known {
                uses_notify |= is_notify;
            } else {
                warnings.push(format!("seccomp: unknown syscall {name:?} skipped"));
            }
        }
    }

    if uses_notify && cfg.listener_path().is_none() {
        return Err(SeccompError::Config(
            "SCMP_ACT_NOTIFY is used but listenerPath is not set".into(),
        ));
    }

    let program = emit(&abis, &plans, default)?;
    let flags = filter_flags(
        cfg.flags().as_deref().unwrap_or(&[]),
        uses_notify,
        &mut warnings,
    );
    Ok(Compiled {
        program,
        flags,
        uses_notify,
        warnings,
    })
}

/// The SECCOMP_RET_* value of an action; `errno_ret` only for ERRNO and TRACE (the runtime spec
/// says a runtime MUST fail when it is given for another action).
fn action_value(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    what: &str,
) -> Result<u32, SeccompError> {
    use LinuxSeccompAction as A;
    let data_ok = matches!(action, A::ScmpActErrno | A::ScmpActTrace);
    if errno_ret.is_some() && !data_ok {
        return Err(SeccompError::Config(format!(
            "{what}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {action}"
        )));
    }
    // Default EPERM for both, as runc does.
    let data = errno_ret.unwrap_or(libc::EPERM as u32);
    let max = if action == A::ScmpActTrace {
        MAX_TRACE_DATA
    } else {
        MAX_ERRNO
    };
    if data_ok && data > max {
        return Err(SeccompError::Config(format!(
            "{what}: errnoRet {data} is larger than {max}"
        )));
    }
    Ok(match action {
        A::ScmpActAllow => libc::SECCOMP_RET_ALLOW,
        A::ScmpActErrno => libc::SECCOMP_RET_ERRNO | data,
        // SCMP_ACT_KILL is the historical name of KILL_THREAD.
        A::ScmpActKill | A::ScmpActKillThread => libc::SECCOMP_RET_KILL_THREAD,
        A::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        A::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        A::ScmpActTrace => libc::SECCOMP_RET_TRACE | data,
        A::ScmpActLog => libc::SECCOMP_RET_LOG,
        A::ScmpActNotify => libc::SECCOMP_RET_USER_NOTIF,
    })
}

/// The rules of one entry: `None` for an entry without args.
fn rules_of(
    args: &[oci_spec::runtime::LinuxSeccompArg],
    action: u32,
    what: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<Rule>>, SeccompError> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut conds = Vec::with_capacity(args.len());
    for a in args {
        if a.index() > 5 {
            return Err(SeccompError::Config(format!(
                "{what}: argument index {} out of range 0..=5",
                a.index()
            )));
        }
        let op = match a.op() {
            LinuxSeccompOperator::ScmpCmpNe => Op::Ne,
            LinuxSeccompOperator::ScmpCmpLt => Op::Lt,
            LinuxSeccompOperator::ScmpCmpLe => Op::Le,
            LinuxSeccompOperator::ScmpCmpEq => Op::Eq,
            LinuxSeccompOperator::ScmpCmpGe => Op::Ge,
            LinuxSeccompOperator::ScmpCmpGt => Op::Gt,
            LinuxSeccompOperator::ScmpCmpMaskedEq => Op::MaskedEq,
        };
        conds.push(Cond {
            index: a.index() as u32,
            op,
            value: a.value(),
            // Only MASKED_EQ reads it; its absence means a datum of 0, as in runc.
            value_two: a.value_two().unwrap_or(0),
        });
    }
    let mut seen = [false; 6];
    let repeated = conds
        .iter()
        .any(|c| std::mem::replace(&mut seen[c.index as usize], true));
    if repeated {
        warnings.push(format!(
            "seccomp: {what} checks one argument more than once; its conditions are treated as \
             alternatives (runc compatibility)"
        ));
        return Ok(Some(
            conds
                .into_iter()
                .map(|c| Rule {
                    action,
                    conds: vec![c],
                })
                .collect(),
        ));
    }
    Ok(Some(vec![Rule { action, conds }]))
}

/// seccomp(2) flags from the config, plus NEW_LISTENER when NOTIFY is used.
fn filter_flags(
    flags: &[LinuxSeccompFilterFlag],
    uses_notify: bool,
    warnings: &mut Vec<String>,
) -> u32 {
    let mut out = 0u32;
    for f in flags {
        out |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                if uses_notify {
                    libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                } else {
                    // The kernel rejects it without NEW_LISTENER; it means nothing then.
                    warnings.push(
                        "seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no \
                         SCMP_ACT_NOTIFY rule"
                            .into(),
                    );
                    0
                }
            }
        } as u32;
    }
    if uses_notify {
        out |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
        // TSYNC and NEW_LISTENER both want the return value; TSYNC_ESRCH makes the kernel report a
        // thread that failed to sync as ESRCH, so the fd can be returned (else EINVAL).
        if out & libc::SECCOMP_FILTER_FLAG_TSYNC as u32 != 0 {
            out |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH as u32;
        }
    }
    out
}

/// What one syscall number compiles to.
fn leaf(sys: &Syscall, default: u32) -> Leaf {
    if let Some(a) = sys.unconditional {
        return Leaf::Const(a);
    }
    // A tree whose every action is the default decides nothing (e.g. "clone allowed if no
    // CLONE_NEW*" in an allow-by-default profile); as a constant, the kernel's action cache can
    // serve the syscall.
    if sys.root.is_none() || sys.actions_all(sys.root, default) {
        return Leaf::Const(default);
    }
    Leaf::Tree {
        sys: Box::new(sys.clone()),
        fallback: default,
    }
}

/// Intervals `[start, next start)` covering `[lo, hi)`, for the numbers of `abi`.
fn intervals(
    out: &mut Vec<(u64, Leaf)>,
    lo: u64,
    hi: u64,
    abi: Option<Abi>,
    plans: &BTreeMap<(Abi, u32), Syscall>,
    gap: u32,
) {
    let push = |out: &mut Vec<(u64, Leaf)>, start: u64, l: Leaf| {
        // Merge with the previous interval when both are the same constant.
        if let (Some((_, Leaf::Const(prev))), Leaf::Const(c)) = (out.last(), &l) {
            if prev == c {
                return;
            }
        }
        out.push((start, l));
    };
    let mut next = lo;
    if let Some(abi) = abi {
        let range = (abi, lo as u32)..=(abi, (hi - 1) as u32);
        for (&(_, nr), sys) in plans.range(range) {
            let nr = u64::from(nr);
            if nr > next {
                push(out, next, Leaf::Const(gap));
            }
            push(out, nr, leaf(sys, gap));
            next = nr + 1;
        }
    }
    if next < hi {
        push(out, next, Leaf::Const(gap));
    }
}

fn emit(
    abis: &[Abi],
    plans: &BTreeMap<(Abi, u32), Syscall>,
    default: u32,
) -> Result<Program, SeccompError> {
    let mut e = Emitter::default();
    let has = |a| abis.contains(&a);

    // i386 section (emitted first because the program is built back to front).
    let i386 = if has(Abi::I386) {
        let mut iv = Vec::new();
        intervals(&mut iv, 0, 1 << 32, Some(Abi::I386), plans, default);
        Some(section(&mut e, &iv))
    } else {
        None
    };

    // AUDIT_ARCH_X86_64 section: x86_64 numbers, then x32 numbers (X32 bit set), then -1.
    let mut iv = Vec::new();
    intervals(
        &mut iv,
        0,
        u64::from(X32_SYSCALL_BIT),
        Some(Abi::X86_64),
        plans,
        default,
    );
    if has(Abi::X32) {
        intervals(
            &mut iv,
            u64::from(X32_SYSCALL_BIT),
            0xffff_ffff,
            Some(Abi::X32),
            plans,
            default,
        );
    } else {
        // Not listed: x32 syscalls must not slip past the x86_64 rules.
        intervals(
            &mut iv,
            u64::from(X32_SYSCALL_BIT),
            0xffff_ffff,
            None,
            plans,
            BAD_ARCH_ACTION,
        );
    }
    // nr -1 is what a tracer sets to skip a syscall; the kernel answers ENOSYS. Like libseccomp,
    // give it the default action rather than the bad-arch one.
    intervals(&mut iv, 0xffff_ffff, 1 << 32, None, plans, default);
    let x86_64 = section(&mut e, &iv);

    let bad = e.ret(BAD_ARCH_ACTION);
    let not_x86_64 = match i386 {
        Some(l) => e.jump(Jmp::Eq, AUDIT_ARCH_I386, l, bad),
        None => bad,
    };
    e.jump(Jmp::Eq, AUDIT_ARCH_X86_64, x86_64, not_x86_64);
    e.load(OFF_ARCH);

    if e.len() > MAX_INSNS {
        return Err(SeccompError::ProgramTooLong(e.len()));
    }
    Ok(e.finish())
}

/// `ld nr` followed by the search tree over `iv`.
fn section(e: &mut Emitter, iv: &[(u64, Leaf)]) -> Label {
    tree(e, iv);
    e.load(OFF_NR)
}

fn tree(e: &mut Emitter, iv: &[(u64, Leaf)]) -> Label {
    match iv {
        [] => e.ret(BAD_ARCH_ACTION), // unreachable: intervals always cover the range
        [(_, l)] => emit_leaf(e, l),
        _ => {
            let mid = iv.len() / 2;
            let right = tree(e, &iv[mid..]);
            let left = tree(e, &iv[..mid]);
            // Starts are < 2^32 except the (never split) end; the cast is exact.
            e.jump(Jmp::Ge, iv[mid].0 as u32, right, left)
        }
    }
}

fn emit_leaf(e: &mut Emitter, l: &Leaf) -> Label {
    match l {
        Leaf::Const(a) => e.ret(*a),
        Leaf::Tree { sys, fallback } => {
            let fail = e.ret(*fallback);
            match sys.root {
                Some(root) => emit_level(e, sys, root, fail),
                None => fail,
            }
        }
    }
}

/// Emits the level of the tree that `first` is on; when no node decides, control goes to `fail`.
fn emit_level(e: &mut Emitter, sys: &Syscall, first: Id, fail: Label) -> Label {
    let mut next = fail;
    for n in sys.level(Some(first)).into_iter().rev() {
        next = emit_node(e, sys, n, next);
    }
    next
}

/// One 32-bit comparison; a branch without action or sub-level, or a sub-level where nothing
/// decided, continues with `next`, the following node of the level (as libseccomp's BPF does).
fn emit_node(e: &mut Emitter, sys: &Syscall, n: Id, next: Label) -> Label {
    let node = &sys.nodes[n];
    let branch = |e: &mut Emitter, act: Option<u32>, sub: Option<Id>| match (act, sub) {
        (Some(a), _) => e.ret(a),
        (None, Some(l)) => emit_level(e, sys, l, next),
        (None, None) => next,
    };
    let t = branch(e, node.act_t, node.nxt_t);
    let f = branch(e, node.act_f, node.nxt_f);
    match node.op {
        NodeOp::Eq => e.jump(Jmp::Eq, node.datum, t, f),
        NodeOp::Gt => e.jump(Jmp::Gt, node.datum, t, f),
        NodeOp::Ge => e.jump(Jmp::Ge, node.datum, t, f),
        NodeOp::MaskedEq => {
            e.jump(Jmp::Eq, node.datum, t, f);
            e.and(node.mask)
        }
    };
    e.load_arg(node.arg, node.hi)
}
