//! /proc/self/mountinfo → the cgroup hierarchies a container's cgroup mount reproduces and the
//! v1 controllers' mount points; also every other reader of mountinfo texts (the audit
//! read-back's mount confinement, `rampart check`'s cgroup layout, the resctrl mount). Input: a mountinfo text (any bytes; the runtime reads the file
//! as UTF-8 and treats a failed read as an empty table). A panic is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (hierarchies, v1) = rampart::fuzzing::mountinfo(text);
    for h in &hierarchies {
        assert!(h.fstype == "cgroup" || h.fstype == "cgroup2");
        assert!(!h.name.starts_with('/'));
        assert!(h.options.iter().all(|(k, _)| !k.is_empty()));
    }
    // Each mount point is a field of the text, unescaped.
    for (_, mount_point) in &v1 {
        assert!(text
            .split([' ', '\n'])
            .any(|t| rampart::mountinfo::unescape(t) == *mount_point));
    }
    let _ = rampart::readback::mount_confinement(text);
    let _ = rampart::host_check::layout(text);
    let _ = rampart::intel_rdt::resctrl_root_in(text);
});
