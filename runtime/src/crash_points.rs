//! Crash points: named places between the steps of the lifecycle commands where a test build
//! kills the runtime, to prove that `delete -f` cleans up after a SIGKILL at any of them.
//!
//! Built only with the `crash-points` feature (`make integration` builds that binary in a target
//! directory of its own). Without it [`at`] is an empty inline function: the calls, their names
//! and [`ALL`] compile to nothing, and none of the names is in the release binary.
//!
//! With the feature, `RAMPART_CRASH_AT=<name>` makes the process that reaches point `<name>`
//! append the name to the file `RAMPART_CRASH_MARK` (so the test knows the point was reached,
//! not skipped) and SIGKILL the runtime: no destructor runs, no lock is let go but by the
//! kernel, as when the OOM killer or an engine's timeout kills it.
//!
//! Two kinds of point:
//! - `<command>:<step>`, in the runtime process: it kills itself.
//! - `init:<step>` ([`at_init`]), in the container's init while the runtime waits for its
//!   `ready`: the init asks the runtime to die (a `K` on the init socket; it cannot signal it,
//!   the runtime is outside its pid namespace), waits until the runtime's end of the socket is
//!   closed, and goes on. So the runtime is dead while the init is at that very step, not
//!   somewhere in a race.
//!
//! Every name is in [`ALL`], and a unit test checks that the source has exactly one call per
//! name and no call that is not listed: the integration test `crash_points` iterates over
//! [`ALL`], so a new point cannot be left untested.

/// Every crash point, in the order the commands reach them.
pub const ALL: &[&str] = include!("crash_point_names.rs");

/// Crash point `name`: nothing in a normal build.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn at(_name: &'static str) {}

/// Crash point `name` in the init (`sock`: its end of the init socket): nothing in a normal
/// build.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn at_init(_name: &'static str, _sock: std::os::fd::BorrowedFd<'_>) {}

/// A message the runtime read from the init: nothing in a normal build.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn from_init(_msg: &[u8]) {}

/// Crash point `name` in the init: when armed, has the runtime die (see the module doc) and
/// returns once it is dead.
#[cfg(feature = "crash-points")]
pub fn at_init(name: &'static str, sock: std::os::fd::BorrowedFd<'_>) {
    if armed::reached(name) {
        let _ = crate::syscalls::write_all_fd(sock, b"K");
        let mut buf = [0u8; 64];
        // End of file: the runtime's end is closed, so the runtime is gone.
        while matches!(crate::syscalls::read_fd(sock, &mut buf), Ok(n) if n > 0) {}
    }
}

/// A message the runtime read from the init: `K` is the init's crash point asking it to die.
#[cfg(feature = "crash-points")]
pub fn from_init(msg: &[u8]) {
    if msg == b"K" {
        crate::syscalls::sigkill_self();
    }
}

/// Crash point `name`: kills this process (or, from the init, the runtime) when
/// `RAMPART_CRASH_AT` names it.
#[cfg(feature = "crash-points")]
pub fn at(name: &'static str) {
    if armed::reached(name) {
        crate::syscalls::sigkill_self();
    }
}

#[cfg(feature = "crash-points")]
mod armed {
    use std::io::Write;
    use std::sync::OnceLock;

    struct Armed {
        target: Option<String>,
        /// The marker file, opened at the runtime's first crash point (always before the clone),
        /// so the init can still write it from inside its own root.
        mark: Option<std::fs::File>,
    }

    static ARMED: OnceLock<Armed> = OnceLock::new();

    /// Whether `name` is the armed point; if so, it is written to the marker.
    pub fn reached(name: &'static str) -> bool {
        // A name missing from the list is a bug of the test build, not a reason to go on.
        if !super::ALL.contains(&name) {
            panic!("crash point {name:?} is not in crash_points::ALL");
        }
        let a = ARMED.get_or_init(|| {
            let target = std::env::var("RAMPART_CRASH_AT").ok();
            let mark = match (&target, std::env::var_os("RAMPART_CRASH_MARK")) {
                (Some(_), Some(path)) => std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .ok(),
                _ => None,
            };
            Armed { target, mark }
        });
        if a.target.as_deref() != Some(name) {
            return false;
        }
        if let Some(mut mark) = a.mark.as_ref() {
            let _ = mark.write_all(format!("{name}\n").as_bytes());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::ALL;
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("crash_points.rs") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }

    /// Every listed point is called exactly once in the source, and every call is listed: the
    /// integration test walks `ALL`, so this is what makes it reach every point there is.
    #[test]
    fn every_point_is_listed_once_and_called_once() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut called = Vec::new();
        for (path, text) in &files {
            for call in ["crash_points::at(\"", "crash_points::at_init(\""] {
                for part in text.split(call).skip(1) {
                    let name = part.split('"').next().unwrap().to_string();
                    called.push((name, path.clone()));
                }
            }
        }
        for name in ALL {
            let n = called.iter().filter(|(c, _)| c == name).count();
            assert_eq!(n, 1, "crash point {name} is called {n} times");
        }
        for (name, path) in &called {
            assert!(ALL.contains(&name.as_str()), "{path}: {name} not in ALL");
        }
        let mut sorted = ALL.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL.len(), "a name is listed twice");
    }
}
