//! state.json → `rampart state` and `rampart list`. Input: a state.json, written into a
//! container directory of a private state root, then read by the real commands (read-only: they
//! look at /proc/PID/stat of the pid it names and at its cgroup's freezer, and change nothing).
//! Any error is fine; a panic is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::container;

fuzz_target!(|data: &[u8]| {
    rampart_fuzz::quiet_logging();
    let root = rampart_fuzz::scratch().join("state");
    let dir = root.join("fuzz");
    std::fs::create_dir_all(&dir).expect("state directory");
    std::fs::write(dir.join("state.json"), data).expect("writing state.json");
    if let Ok(v) = container::state(&root, "fuzz") {
        let status = v["status"].as_str().unwrap_or_default();
        assert!(
            ["creating", "created", "running", "paused", "stopped"].contains(&status),
            "{v}"
        );
    }
    let _ = container::list(&root);
});
