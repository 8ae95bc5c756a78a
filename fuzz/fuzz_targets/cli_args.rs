//! The command-line values rampart parses itself: the signal of `kill`, a container id, the
//! sizes of `update` (--memory...), the `exec --cgroup` argument and the `events --interval`.
//! Input: one argument (clap hands rampart UTF-8 strings). Each parser is checked for what its
//! callers rely on when it says yes.
#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use rampart::cgroups::{self, commands, SubCgroup};
use rampart::{events, signals, state};

fuzz_target!(|data: &[u8]| {
    let Ok(arg) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sig) = signals::parse(arg) {
        assert!((1..=libc::SIGRTMAX()).contains(&sig), "{arg:?} -> {sig}");
    }
    if state::validate_id(arg).is_ok() {
        // The id is one path component of the state root and part of the default cgroup name.
        let mut c = Path::new(arg).components();
        assert!(
            matches!(c.next(), Some(Component::Normal(n)) if n == arg),
            "{arg:?}"
        );
        assert!(c.next().is_none(), "{arg:?}");
        let cg = cgroups::path_for(None, arg).expect("a valid id makes a cgroup path");
        assert!(cg.parent() == Some(Path::new("/")), "{cg:?}");
    }
    if let Ok(n) = commands::parse_bytes("memory", arg) {
        assert!(n == -1 || n >= 0, "{arg:?} -> {n}");
    }
    if let Ok(sub) = SubCgroup::parse(arg) {
        assert!(!sub.path.as_os_str().is_empty());
        assert!(
            sub.path
                .components()
                .all(|c| matches!(c, Component::Normal(_))),
            "{arg:?}"
        );
        assert!(sub.controllers.iter().all(|c| !c.is_empty()));
    }
    let _ = events::parse_interval(arg);
});
