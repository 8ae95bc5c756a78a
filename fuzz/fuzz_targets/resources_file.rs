//! `rampart update --resources FILE` → LinuxResources, then what update and create derive from
//! it before touching a cgroup. Input: the file's content. A refusal is fine; a panic is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::cgroups::{self, commands};

fuzz_target!(|data: &[u8]| {
    rampart_fuzz::quiet_logging();
    let file = rampart_fuzz::scratch().join("resources.json");
    std::fs::write(&file, data).expect("writing the resources file");
    let flags = commands::UpdateFlags {
        resources: Some(file),
        ..Default::default()
    };
    let Ok(r) = commands::update_resources(&flags) else {
        return;
    };
    let _ = cgroups::limits_set(Some(&r));
    let _ = cgroups::resources_at_create(Some(&r));
});
