//! process.landlock → LandlockPlan → ruleset. Input: the JSON of a `process.landlock` object
//! (config.json's or exec's process.json). A refusal at plan time is fine. A plan that was
//! accepted must build its ruleset: the plan holds only rights this kernel enforces, so
//! creating the ruleset or adding a port rule must not fail then (a rule path may be missing:
//! those resolve inside the container, here in the host's root).
#![no_main]

use std::collections::HashMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rampart::landlock::{self, LandlockError};

fuzz_target!(|data: &[u8]| {
    rampart_fuzz::quiet_logging();
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let process = serde_json::json!({ "landlock": v });
    let Ok(cfg) = landlock::parse_process(&process, Path::new("config.json")) else {
        return;
    };
    let Ok(Some(plan)) = landlock::plan(cfg.as_ref(), &HashMap::new(), &[]) else {
        return;
    };
    assert!(!plan.handled_fs.is_empty() || !plan.handled_net.is_empty());
    for (p, a) in &plan.path_rules {
        assert!(p.is_absolute());
        assert!(plan.handled_fs.contains(*a));
    }
    for (_, a) in &plan.port_rules {
        assert!(plan.handled_net.contains(*a));
    }
    let _ = plan.describe();
    match landlock::prepare(&plan) {
        Ok(_) => {}
        Err(
            LandlockError::RulePath { .. }
            | LandlockError::StatRulePath { .. }
            | LandlockError::AddPathRule { .. },
        ) => {}
        Err(e) => panic!("an accepted landlock plan did not prepare: {e}\n{plan:?}"),
    }
});
