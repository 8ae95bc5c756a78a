//! The syscall ABIs a filter can cover and how the kernel tells them apart.
//!
//! On an x86_64 kernel a task can enter through three ABIs. seccomp_data.arch separates two:
//! AUDIT_ARCH_X86_64 (shared by x86_64 and x32) and AUDIT_ARCH_I386. x32 is told apart from x86_64
//! only by `__X32_SYSCALL_BIT` in the syscall number, which is why every x86_64 filter must look at
//! that bit: otherwise `syscall(nr | 0x40000000)` would match none of the x86_64 deny rules.

use oci_spec::runtime::Arch;

use super::error::SeccompError;
use super::tables;

/// AUDIT_ARCH_X86_64 = EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE (linux/audit.h).
pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// AUDIT_ARCH_I386 = EM_386 | __AUDIT_ARCH_LE.
pub(crate) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// Set in the syscall number of every x32 syscall (arch/x86/include/uapi/asm/unistd.h).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI with its own numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Abi {
    X86_64,
    X32,
    I386,
}

impl Abi {
    /// The syscall number `name` has in this ABI (x32 numbers include `X32_SYSCALL_BIT`).
    pub(crate) fn number(self, name: &str) -> Option<u32> {
        let find = |table: &[(&str, u32)]| {
            table
                .binary_search_by(|(n, _)| (*n).cmp(name))
                .ok()
                .map(|i| table[i].1)
        };
        let nr = match self {
            Abi::X86_64 => find(tables::X86_64)?,
            Abi::I386 => find(tables::I386)?,
            Abi::X32 => match find(tables::X32_OWN) {
                Some(nr) => nr,
                None if tables::X32_ABSENT.binary_search(&name).is_ok() => return None,
                None => find(tables::X86_64)?,
            },
        };
        Some(if self == Abi::X32 {
            nr | X32_SYSCALL_BIT
        } else {
            nr
        })
    }

    /// Whether rules compare only the low 32 bits of arguments, as libseccomp does for its 32-bit
    /// ABIs: i386 (the kernel zero-extends an i386 task's registers into seccomp_data.args) and
    /// x32. An x32 task passes 64-bit registers, so an x32 argument can have high bits set that
    /// the rule does not see; libseccomp compares only the low halves all the same, and every
    /// profile is written against it.
    pub(crate) fn args_32bit(self) -> bool {
        matches!(self, Abi::I386 | Abi::X32)
    }
}

/// i386 reaches the socket and SysV IPC calls also through the multiplexers socketcall(2) (102)
/// and ipc(2) (117), whose first argument names the call. libseccomp adds every rule for one of
/// these calls on i386 a second time on the multiplexer, with the first condition replaced by
/// "argument 0 == call number" (the others stay and then test the multiplexer's own arguments),
/// so we do too: `Some((multiplexer nr, call number))`.
pub(crate) fn multiplexed(abi: Abi, name: &str) -> Option<(u32, u64)> {
    if abi != Abi::I386 {
        return None;
    }
    const SOCKETCALL: &[&str] = &[
        "socket",
        "bind",
        "connect",
        "listen",
        "accept",
        "getsockname",
        "getpeername",
        "socketpair",
        "send",
        "recv",
        "sendto",
        "recvfrom",
        "shutdown",
        "setsockopt",
        "getsockopt",
        "sendmsg",
        "recvmsg",
        "accept4",
        "recvmmsg",
        "sendmmsg",
    ];
    const IPC: &[(&str, u64)] = &[
        ("semop", 1),
        ("semget", 2),
        ("semctl", 3),
        ("semtimedop", 4),
        ("msgsnd", 11),
        ("msgrcv", 12),
        ("msgget", 13),
        ("msgctl", 14),
        ("shmat", 21),
        ("shmdt", 22),
        ("shmget", 23),
        ("shmctl", 24),
    ];
    if let Some(i) = SOCKETCALL.iter().position(|n| *n == name) {
        return Some((102, i as u64 + 1));
    }
    IPC.iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, call)| (117, call))
}

/// The ABIs a filter covers: the native one always (as libseccomp's seccomp_init does), plus the
/// ones `architectures` lists. Listed architectures that an x86_64 kernel can never report (arm,
/// mips, ...) are skipped with a warning; syscalls from them could not reach this filter anyway,
/// and if they somehow did, the bad-arch action kills the process.
pub(crate) fn abis(
    listed: Option<&Vec<Arch>>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Abi>, SeccompError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(SeccompError::UnsupportedNativeArch(std::env::consts::ARCH));
    }
    let mut out = vec![Abi::X86_64];
    for a in listed.into_iter().flatten() {
        let abi = match a {
            Arch::ScmpArchNative | Arch::ScmpArchX86_64 => Abi::X86_64,
            Arch::ScmpArchX86 => Abi::I386,
            Arch::ScmpArchX32 => Abi::X32,
            other => {
                warnings.push(format!(
                    "seccomp: architecture {other} cannot occur on an x86_64 host; skipped"
                ));
                continue;
            }
        };
        if !out.contains(&abi) {
            out.push(abi);
        }
    }
    out.sort();
    Ok(out)
}
