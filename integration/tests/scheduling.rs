//! process.ioPriority, process.scheduler and process.execCPUAffinity, for the init and for exec,
//! observed from inside: busybox's `ionice -p`, the policy and nice fields of /proc/self/stat,
//! and Cpus_allowed_list in /proc/self/status.

use rampart_integration::*;
use serde_json::{json, Value};

/// Fields 19 (nice) and 41 (policy) of /proc/self/stat, as the shell prints them.
const SHOW: &str = "ionice -p $$; set -- $(sed 's/.*) //' /proc/self/stat); \
                    shift 16; echo nice=$1; shift 22; echo policy=$1; \
                    grep Cpus_allowed_list /proc/self/status";

fn cpus() -> usize {
    std::fs::read_to_string("/sys/fs/cgroup/cpuset/cpuset.cpus")
        .or_else(|_| std::fs::read_to_string("/sys/devices/system/cpu/online"))
        .unwrap_or_default()
        .trim()
        .split(',')
        .map(|r| match r.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

fn process_with(p: &mut Value) {
    p["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    p["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
    p["execCPUAffinity"] = json!({"initial": "0", "final": "0"});
}

#[test]
fn the_init_gets_its_io_priority_scheduler_and_cpu_affinity() {
    assert!(cpus() >= 2, "this test needs 2 CPUs to show an affinity");
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", SHOW]);
    b.edit(|c| process_with(&mut c["process"]));
    let out = run_ok(&r, &b, &unique("sched"));
    assert!(out.contains("best-effort: prio 6"), "{out}");
    assert!(out.contains("nice=7\n"), "{out}");
    // SCHED_BATCH is 3.
    assert!(out.contains("policy=3\n"), "{out}");
    assert!(out.contains("Cpus_allowed_list:\t0\n"), "{out}");

    // The idle classes too, with no affinity given (all CPUs stay).
    b.edit(|c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
        c["process"]["scheduler"] = json!({"policy": "SCHED_IDLE"});
        c["process"]
            .as_object_mut()
            .unwrap()
            .remove("execCPUAffinity");
    });
    let out = run_ok(&r, &b, &unique("sched-idle"));
    assert!(out.contains("idle"), "{out}");
    assert!(out.contains("policy=5\n"), "{out}");
    assert!(!out.contains("Cpus_allowed_list:\t0\n"), "{out}");
}

#[test]
fn exec_takes_them_from_its_process_json() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "300"]);
    let id = unique("sched-exec");
    r.rampart(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    let mut p = json!({"args": ["sh", "-c", SHOW], "cwd": "/", "user": {"uid": 0, "gid": 0},
                       "env": ["PATH=/bin"]});
    process_with(&mut p);
    p["execCPUAffinity"] = json!({"final": "1"});
    let file = b.path().join("process.json");
    std::fs::write(&file, p.to_string()).unwrap();
    let o = r.rampart(&["exec", "--process", file.to_str().unwrap(), &id]);
    o.ok();
    assert!(o.stdout.contains("best-effort: prio 6"), "{o:#?}");
    assert!(o.stdout.contains("nice=7\n"), "{o:#?}");
    assert!(o.stdout.contains("Cpus_allowed_list:\t1\n"), "{o:#?}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn bad_values_are_refused_at_create() {
    let r = Root::new();
    for (edit, want) in [
        (
            json!({"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 8}}),
            "outside 0..7",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_OTHER", "nice": 40}}),
            "outside -20..19",
        ),
        (json!({"execCPUAffinity": {"final": "3-1"}}), "backwards"),
        (json!({"execCPUAffinity": {"final": "0-5000"}}), "1024"),
    ] {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| {
            for (k, v) in edit.as_object().unwrap() {
                c["process"][k] = v.clone();
            }
        });
        let id = unique("sched-bad");
        let o = r.run(&b, &id);
        o.fails();
        // The parser may refuse some shapes first (oci-spec checks the CPU list syntax).
        assert!(
            o.stderr.contains(want) || o.stderr.contains("execCPUAffinity"),
            "{want}: {o:#?}"
        );
        assert_nothing_left(&r, &b, &id);
    }
}
