//! Classic BPF as seccomp runs it: the `Program` type, its byte form for caching, and a small
//! emitter that builds programs back to front.
//!
//! Why back to front: a conditional jump in classic BPF only jumps forward, by at most 255
//! instructions. Emitting the last instruction first means every jump target already exists when
//! the jump is written, so its distance is known and a long jump can get an unconditional `ja`
//! trampoline (32-bit offset) right there, without a second relocation pass.

use std::fmt;

use super::error::SeccompError;

/// Offsets into `struct seccomp_data` (linux/seccomp.h): nr, arch, instruction_pointer, args[6].
pub(crate) const OFF_NR: u32 = 0;
pub(crate) const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

/// The kernel refuses longer filters (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// A seccomp BPF program, ready for seccomp(2).
#[derive(Clone)]
pub struct Program(pub Vec<libc::sock_filter>);

impl Program {
    /// Instructions in the program.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the program has no instructions (never true for a compiled program).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The instructions.
    pub fn instructions(&self) -> &[libc::sock_filter] {
        &self.0
    }

    /// The kernel's in-memory layout, little-endian: code u16, jt u8, jf u8, k u32 per instruction.
    /// Stable, so it can be cached on disk keyed by a hash of the config.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 8);
        for i in &self.0 {
            out.extend_from_slice(&i.code.to_le_bytes());
            out.push(i.jt);
            out.push(i.jf);
            out.extend_from_slice(&i.k.to_le_bytes());
        }
        out
    }

    /// Inverse of [`Program::to_bytes`]. Checks only the framing; the kernel verifies the program
    /// itself when it is installed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SeccompError> {
        if !bytes.len().is_multiple_of(8) {
            return Err(SeccompError::BadProgramBytes(
                "length is not a multiple of 8",
            ));
        }
        let n = bytes.len() / 8;
        if n == 0 || n > MAX_INSNS {
            return Err(SeccompError::BadProgramBytes(
                "instruction count out of range",
            ));
        }
        let insns = bytes
            .chunks_exact(8)
            .map(|c| libc::sock_filter {
                code: u16::from_le_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Ok(Program(insns))
    }
}

impl PartialEq for Program {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for Program {}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Program({} instructions)", self.0.len())?;
        for (n, i) in self.0.iter().enumerate() {
            writeln!(
                f,
                "{n:4}: code {:#06x} jt {:3} jf {:3} k {:#010x}",
                i.code, i.jt, i.jf, i.k
            )?;
        }
        Ok(())
    }
}

/// Comparison a conditional jump performs between the accumulator and a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jmp {
    Eq,
    Gt,
    Ge,
}

impl Jmp {
    fn code(self) -> u16 {
        let op = match self {
            Jmp::Eq => libc::BPF_JEQ,
            Jmp::Gt => libc::BPF_JGT,
            Jmp::Ge => libc::BPF_JGE,
        };
        (libc::BPF_JMP | op | libc::BPF_K) as u16
    }
}

/// A position in the program being built, counted from its end (the last instruction is 1).
/// Stable while more instructions are prepended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Label(usize);

/// Builds a program from its last instruction to its first.
#[derive(Default)]
pub(crate) struct Emitter {
    rev: Vec<libc::sock_filter>,
}

impl Emitter {
    fn push(&mut self, code: u32, jt: u8, jf: u8, k: u32) -> Label {
        self.rev.push(libc::sock_filter {
            code: code as u16,
            jt,
            jf,
            k,
        });
        Label(self.rev.len())
    }

    /// Forward distance from an instruction about to be prepended to `target`.
    fn dist(&self, target: Label) -> usize {
        // The new instruction gets label len+1; offset = (len+1) - target - 1.
        self.rev.len() - target.0
    }

    /// `ret k`.
    pub(crate) fn ret(&mut self, k: u32) -> Label {
        self.push(libc::BPF_RET | libc::BPF_K, 0, 0, k)
    }

    /// `ld [off]` (32-bit word of seccomp_data).
    pub(crate) fn load(&mut self, off: u32) -> Label {
        self.push(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, off)
    }

    /// `ld` of the low (`high == false`) or high 32-bit half of syscall argument `index`.
    /// seccomp_data.args are u64 in host byte order; x86 is little-endian, so the low half comes
    /// first.
    pub(crate) fn load_arg(&mut self, index: u32, high: bool) -> Label {
        let off = OFF_ARGS + 8 * index + if high { 4 } else { 0 };
        self.load(off)
    }

    /// `and #k`.
    pub(crate) fn and(&mut self, k: u32) -> Label {
        self.push(libc::BPF_ALU | libc::BPF_AND | libc::BPF_K, 0, 0, k)
    }

    /// Unconditional jump to `target` (32-bit offset).
    pub(crate) fn ja(&mut self, target: Label) -> Label {
        let d = self.dist(target) as u32;
        self.push(libc::BPF_JMP | libc::BPF_JA, 0, 0, d)
    }

    /// `if (A <op> k) goto yes else goto no`, inserting `ja` trampolines for targets further than
    /// 255 instructions away. Falls through to nothing: both edges are explicit.
    pub(crate) fn jump(&mut self, op: Jmp, k: u32, yes: Label, no: Label) -> Label {
        let mut no = no;
        let mut yes = yes;
        // 254, not 255: a trampoline for `yes` may still be inserted, moving `no` one further.
        if self.dist(no) > 254 {
            no = self.ja(no);
        }
        if self.dist(yes) > 255 {
            yes = self.ja(yes);
        }
        // Both distances now fit: a trampoline is at most 1 instruction away.
        let jt = self.dist(yes) as u8;
        let jf = self.dist(no) as u8;
        self.push(op.code() as u32, jt, jf, k)
    }

    /// Number of instructions so far.
    pub(crate) fn len(&self) -> usize {
        self.rev.len()
    }

    /// The finished program, first instruction first.
    pub(crate) fn finish(mut self) -> Program {
        self.rev.reverse();
        Program(self.rev)
    }
}
