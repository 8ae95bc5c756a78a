//! config.json → Spec → Plan: the whole validation `create` runs before any process exists,
//! and the audit's rules on the same config.
//! Input: a config.json. The bundle is a real directory with an empty rootfs/ (plan::build
//! canonicalizes root.path). Any refusal is fine; a panic, or a plan that breaks what the init
//! relies on, is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::{cgroups, plan, spec};

fuzz_target!(|data: &[u8]| {
    rampart_fuzz::quiet_logging();
    let bundle = rampart_fuzz::bundle();
    let config = bundle.join("config.json");
    let Ok(spec) = spec::parse(&config, data) else {
        return;
    };
    // `audit` and the --policy check read every config that parses, as JSON: no panic, and
    // every finding names a rule of the catalogue and a JSON pointer.
    if let Ok(raw) = serde_json::from_slice::<serde_json::Value>(data) {
        let rootfs = bundle.join("rootfs");
        for f in rampart::audit::checks::check(&raw, bundle, Some(&rootfs)) {
            assert!(rampart::audit::rules::rule(f.id).is_some(), "{f:?}");
            assert!(f.path.starts_with('/'), "{f:?}");
        }
    }
    // As create calls it, with a console socket (so process.terminal is accepted and what
    // follows it is validated too).
    let Ok(p) = plan::build(&spec, &config, data, bundle, "fuzz", true) else {
        return;
    };
    assert!(
        p.rootfs.is_absolute() && p.rootfs.is_dir(),
        "{:?}",
        p.rootfs
    );
    assert!(!p.process.args.is_empty());
    assert!(p.process.cwd.is_absolute());
    assert!(p.mounts.iter().all(|m| m.destination.is_absolute()));
    assert!(p
        .masked_paths
        .iter()
        .chain(&p.readonly_paths)
        .all(|m| m.is_absolute()));
    assert!(p
        .cgroup_path
        .components()
        .all(|c| c != std::path::Component::ParentDir));
    assert!(p.process.env.iter().all(|e| e
        .as_bytes()
        .iter()
        .position(|b| *b == b'=')
        .is_some_and(|i| i > 0)));
    assert!(p.process.user.uid != u32::MAX && p.process.user.gid != u32::MAX);
    // What create derives from the plan's resources before it touches a cgroup.
    let _ = cgroups::limits_set(p.resources.as_ref());
    let _ = cgroups::resources_at_create(p.resources.as_ref());
});
