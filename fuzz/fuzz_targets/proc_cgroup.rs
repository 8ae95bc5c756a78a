//! /proc/self/cgroup → the v1 controllers the runtime is in and its path in each hierarchy (what
//! a container without a cgroup namespace gets bound at its cgroup mount). Input: a
//! /proc/self/cgroup text. The hierarchies are this host's (from its mountinfo) plus the usual
//! v1 and v2 shapes. A panic is a crash.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart::cgroups::HierarchyMount;

fn hierarchies() -> &'static [HierarchyMount] {
    static H: OnceLock<Vec<HierarchyMount>> = OnceLock::new();
    H.get_or_init(|| {
        let mut h = rampart::cgroups::container_mounts();
        let v1 = |name: &str, opts: &[(&str, Option<&str>)]| HierarchyMount {
            name: name.into(),
            fstype: "cgroup".into(),
            options: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        };
        h.push(v1("cpu,cpuacct", &[("cpu", None), ("cpuacct", None)]));
        h.push(v1("memory", &[("memory", None)]));
        h.push(v1("systemd", &[("name", Some("systemd"))]));
        h.push(HierarchyMount {
            name: String::new(),
            fstype: "cgroup2".into(),
            options: Vec::new(),
        });
        h
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (controllers, paths) = rampart::fuzzing::proc_cgroup(text, hierarchies());
    assert!(controllers
        .iter()
        .all(|c| !c.is_empty() && !c.contains(',')));
    for p in paths.iter().flatten() {
        assert!(text.contains(p.as_str()));
    }
});
