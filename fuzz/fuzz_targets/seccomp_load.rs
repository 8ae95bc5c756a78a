//! linux.seccomp → BPF → kernel. Input: the JSON of a config's `linux.seccomp` section.
//! Property: every program `compile` returns is accepted by seccomp(2) (loaded in a forked child
//! with no_new_privs, as the init loads it); a refusal by `compile` is fine, a program the
//! kernel rejects (EINVAL: a bad jump, a bad instruction, a bad flag) is a crash.
#![no_main]

use std::collections::HashSet;
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxSeccomp;
use rampart::seccomp::{Compiled, SeccompPlan};

/// Programs already seen to load (the byte form includes the flags): the same bytes get the
/// same answer from the kernel, so they are not forked for again. Bounded, so a long run does
/// not grow without limit.
static LOADED: Mutex<Option<HashSet<Vec<u8>>>> = Mutex::new(None);
const LOADED_MAX: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    rampart_fuzz::quiet_logging();
    let Ok(cfg) = serde_json::from_slice::<LinuxSeccomp>(data) else {
        return;
    };
    // What plan::build calls.
    let Ok(plan) = SeccompPlan::compile(&cfg) else {
        return;
    };
    let c = &plan.compiled;
    assert!(!c.program.is_empty());
    assert!(c.program.len() <= rampart::seccomp::MAX_INSNS);
    assert_eq!(
        c.uses_notify,
        c.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32 != 0
    );
    // The documented byte form (for caching a compiled filter) round-trips.
    let bytes = c.to_bytes();
    let back = Compiled::from_bytes(&bytes).expect("cached form decodes");
    assert_eq!(back.program, c.program);
    assert_eq!(back.flags, c.flags);

    let mut seen = LOADED.lock().unwrap();
    let seen = seen.get_or_insert_with(HashSet::new);
    if seen.contains(&bytes) {
        return;
    }
    if let Err(e) = rampart_fuzz::load_in_child(c) {
        panic!(
            "the kernel refused a compiled program: {e:?}\nflags {:#x}\n{:?}",
            c.flags, c.program
        );
    }
    if seen.len() >= LOADED_MAX {
        seen.clear();
    }
    seen.insert(bytes);
});
