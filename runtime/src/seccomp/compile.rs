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
//!     argument checks, ret <action>...   conditional: only for syscalls with `args` rules
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
use super::error::SeccompError;
use super::Compiled;

/// The action for syscalls from an ABI the config does not list (and for x32 numbers when
/// SCMP_ARCH_X32 is not listed). libseccomp's default bad-arch action is KILL_THREAD; we kill the
/// whole process instead, so a multi-threaded program is not left half-alive. It cannot be the
/// default action: with an allow-by-default profile, a foreign ABI would bypass every deny rule.
pub const BAD_ARCH_ACTION: u32 = libc::SECCOMP_RET_KILL_PROCESS;

/// Largest errno the kernel passes through (MAX_ERRNO); larger values are clamped by the kernel,
/// which would silently change the meaning of the config.
const MAX_ERRNO: u32 = 4095;

/// Syscalls that must not use SCMP_ACT_NOTIFY: the listener fd is handed to the agent with
/// sendmsg(2) and the runtime reports progress with write(2) after the filter is loaded, so a
/// notification on them would wait for an agent that has not got its fd yet (runc refuses the
/// same for write).
const NOTIFY_FORBIDDEN: &[&str] = &["sendmsg", "write"];

/// Operator of one argument check; unsigned 64-bit comparisons as in libseccomp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & value) == value_two`
    MaskedEq,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cond {
    index: u32,
    op: Op,
    value: u64,
    value_two: u64,
}

/// One `syscalls[]` entry with arguments: `action` applies when all `conds` hold.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    action: u32,
    conds: Vec<Cond>,
}

/// Everything the config says about one syscall number in one ABI.
#[derive(Default)]
struct Plan {
    /// Rules with arguments, in config order; the first that matches decides.
    conditional: Vec<Rule>,
    /// The action of an entry without arguments, if any.
    unconditional: Option<u32>,
}

/// What one interval of syscall numbers compiles to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Leaf {
    Const(u32),
    Rules { rules: Vec<Rule>, fallback: u32 },
}

/// Compiles the OCI seccomp config into a program plus the seccomp(2) flags it needs.
///
/// Semantics (those of libseccomp as used by runc, where they are defined):
/// - a syscall without any matching entry gets `defaultAction`;
/// - entries with `args` are tried first, in config order, and the first whose conditions all
///   hold decides; then an entry without `args` for the syscall; then `defaultAction`. So a
///   specific rule ("socket(AF_VSOCK) → EAFNOSUPPORT") wins over a general one ("socket → allow"),
///   as libseccomp gives precedence to the more specific rule;
/// - of two entries without `args` for one syscall, the first decides (libseccomp keeps the
///   existing rule); a later one with another action is ignored with a warning;
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

    let mut plans: BTreeMap<(Abi, u32), Plan> = BTreeMap::new();
    let mut uses_notify = false;
    for (n, entry) in cfg.syscalls().iter().flatten().enumerate() {
        let what = format!("syscalls[{n}]");
        let action = action_value(entry.action(), entry.errno_ret(), &what)?;
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
            for &abi in &abis {
                let Some(nr) = abi.number(name) else { continue };
                known = true;
                let plan = plans.entry((abi, nr)).or_default();
                match &rules {
                    // The first entry without args wins, as in libseccomp (which keeps an
                    // existing unconditional rule and drops later ones): podman's default
                    // profile allows setns unconditionally and later denies it without
                    // CAP_SYS_ADMIN, and runc runs it.
                    None => match plan.unconditional {
                        Some(prev) if prev != action => ignored = Some(prev),
                        Some(_) => {}
                        None => plan.unconditional = Some(action),
                    },
                    Some(rs) => plan.conditional.extend(rs.iter().cloned()),
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
    if data_ok && data > MAX_ERRNO {
        return Err(SeccompError::Config(format!(
            "{what}: errnoRet {data} is larger than {MAX_ERRNO}"
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

/// What one syscall number compiles to, after dropping rules that cannot change the result.
fn leaf(plan: &Plan, default: u32) -> Leaf {
    let fallback = plan.unconditional.unwrap_or(default);
    let mut rules = plan.conditional.clone();
    // First match wins, so trailing rules that yield the fallback anyway are dead. Dropping them
    // turns e.g. "clone allowed if no CLONE_NEW*" plus "clone allowed" into a constant allow,
    // which the kernel's action cache can serve.
    while rules.last().is_some_and(|r| r.action == fallback) {
        rules.pop();
    }
    if rules.is_empty() {
        Leaf::Const(fallback)
    } else {
        Leaf::Rules { rules, fallback }
    }
}

/// Intervals `[start, next start)` covering `[lo, hi)`, for the numbers of `abi`.
fn intervals(
    out: &mut Vec<(u64, Leaf)>,
    lo: u64,
    hi: u64,
    abi: Option<Abi>,
    plans: &BTreeMap<(Abi, u32), Plan>,
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
        for (&(_, nr), plan) in plans.range(range) {
            let nr = u64::from(nr);
            if nr > next {
                push(out, next, Leaf::Const(gap));
            }
            push(out, nr, leaf(plan, gap));
            next = nr + 1;
        }
    }
    if next < hi {
        push(out, next, Leaf::Const(gap));
    }
}

fn emit(
    abis: &[Abi],
    plans: &BTreeMap<(Abi, u32), Plan>,
    default: u32,
) -> Result<Program, SeccompError> {
    let mut e = Emitter::default();
    let has = |a| abis.contains(&a);

    // i386 section (emitted first because the program is built back to front).
    let i386 = if has(Abi::I386) {
        let mut iv = Vec::new();
        intervals(&mut iv, 0, 1 << 32, Some(Abi::I386), plans, default);
        Some(section(&mut e, &iv, Abi::I386))
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
    let x86_64 = section(&mut e, &iv, Abi::X86_64);

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
fn section(e: &mut Emitter, iv: &[(u64, Leaf)], abi: Abi) -> Label {
    tree(e, iv, abi);
    e.load(OFF_NR)
}

fn tree(e: &mut Emitter, iv: &[(u64, Leaf)], abi: Abi) -> Label {
    match iv {
        [] => e.ret(BAD_ARCH_ACTION), // unreachable: intervals always cover the range
        [(_, l)] => emit_leaf(e, l, abi),
        _ => {
            let mid = iv.len() / 2;
            let right = tree(e, &iv[mid..], abi);
            let left = tree(e, &iv[..mid], abi);
            // Starts are < 2^32 except the (never split) end; the cast is exact.
            e.jump(Jmp::Ge, iv[mid].0 as u32, right, left)
        }
    }
}

fn emit_leaf(e: &mut Emitter, l: &Leaf, abi: Abi) -> Label {
    match l {
        Leaf::Const(a) => e.ret(*a),
        Leaf::Rules { rules, fallback } => {
            let mut next = e.ret(*fallback);
            for r in rules.iter().rev() {
                let mut pass = e.ret(r.action);
                for c in r.conds.iter().rev() {
                    pass = emit_cond(e, c, pass, next, abi.args_32bit());
                }
                next = pass;
            }
            next
        }
    }
}

/// Emits one argument check; returns its entry. Classic BPF has a 32-bit accumulator, so a 64-bit
/// comparison is done on the high halves first and on the low halves only when those are equal.
fn emit_cond(e: &mut Emitter, c: &Cond, pass: Label, fail: Label, args_32bit: bool) -> Label {
    let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
    let (dhi, dlo) = ((c.value_two >> 32) as u32, c.value_two as u32);

    if !args_32bit && c.op == Op::MaskedEq && vhi == 0 && dhi != 0 {
        // (arg_hi & 0) can never equal a non-zero high datum.
        return fail;
    }

    // Low half first (it ends up last in the program).
    match c.op {
        Op::Eq => e.jump(Jmp::Eq, vlo, pass, fail),
        Op::Ne => e.jump(Jmp::Eq, vlo, fail, pass),
        Op::Gt => e.jump(Jmp::Gt, vlo, pass, fail),
        Op::Ge => e.jump(Jmp::Ge, vlo, pass, fail),
        Op::Lt => e.jump(Jmp::Ge, vlo, fail, pass),
        Op::Le => e.jump(Jmp::Gt, vlo, fail, pass),
        Op::MaskedEq => {
            e.jump(Jmp::Eq, dlo, pass, fail);
            e.and(vlo)
        }
    };
    let lo = e.load_arg(c.index, false);
    if args_32bit {
        // The kernel zero-extends a 32-bit task's arguments; like libseccomp for 32-bit ABIs,
        // compare the low halves only (the rule's value is truncated).
        return lo;
    }
    match c.op {
        Op::Eq => {
            e.jump(Jmp::Eq, vhi, lo, fail);
        }
        Op::Ne => {
            e.jump(Jmp::Eq, vhi, lo, pass);
        }
        Op::Gt | Op::Ge => {
            let eq = e.jump(Jmp::Eq, vhi, lo, fail);
            e.jump(Jmp::Gt, vhi, pass, eq);
        }
        Op::Lt | Op::Le => {
            let eq = e.jump(Jmp::Eq, vhi, lo, pass);
            e.jump(Jmp::Gt, vhi, fail, eq);
        }
        Op::MaskedEq => {
            if vhi == 0 {
                // (arg_hi & 0) == 0 == dhi (checked above): nothing to test.
                return lo;
            }
            e.jump(Jmp::Eq, dhi, lo, fail);
            e.and(vhi);
        }
    }
    e.load_arg(c.index, true)
}
