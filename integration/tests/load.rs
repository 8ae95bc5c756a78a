//! Load: 100 container lifecycles at once, each with its own id (create, start, exec, kill,
//! delete), through the real binary, while `list` runs over and over in the same state root.
//! Every command of every lifecycle must succeed, and every `list` during the churn must answer
//! (exit 0, no warning, well-formed output whose containers have a known status). Afterwards
//! nothing of the 100 is left on the host: no state directory, no mount mentioning the bundle
//! or the state root, no cgroup directory named after one of the ids, no process rooted in the
//! bundle's rootfs, and every cgroup hierarchy mounted before is still mounted.
//!
//! The machine is shared with other test runs, so the host's tables as a whole may change
//! meanwhile for reasons of their own: what is compared is what belongs to this test (by its
//! ids, bundle and state root). No timing is asserted.
use rampart_integration::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

const PARALLEL: usize = 100;

/// Processes whose root directory is `rootfs` or below it: a container's.
fn processes_rooted_in(rootfs: &Path) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|p| p.starts_with(rootfs))
        })
        .collect()
}

/// Mount points of the cgroup hierarchies in the host's mount table.
fn cgroup_hierarchies() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split_whitespace().next()?;
            (fstype == "cgroup" || fstype == "cgroup2")
                .then(|| pre.split_whitespace().nth(4).map(str::to_string))?
        })
        .collect();
    v.sort();
    v
}

/// Runs one command of a lifecycle and asserts it succeeded cleanly.
#[track_caller]
fn step(r: &Root, id: &str, args: &[&OsStr]) -> Out {
    let o = r.rampart(args);
    assert!(
        o.code == 0 && !o.stderr.contains("level="),
        "{id}: {args:?}: {o:#?}"
    );
    o
}

/// create, start, exec (its output checked), kill -9 of the init, then delete once `state`
/// says stopped.
fn lifecycle(r: &Root, b: &Bundle, id: &str) {
    let bundle = b.path().as_os_str();
    let s = OsStr::new;
    step(r, id, &[s("create"), s("--bundle"), bundle, s(id)]);
    step(r, id, &[s("start"), s(id)]);
    let o = step(r, id, &[s("exec"), s(id), s("echo"), s(id)]);
    assert_eq!(o.stdout, format!("{id}\n"), "{id}: exec output");
    step(r, id, &[s("kill"), s(id), s("KILL")]);
    // A wait for the kernel to finish the killed init, bounded so a container that never
    // stops fails the test instead of hanging it; not a measurement.
    assert!(
        r.wait_status(id, "stopped", 30),
        "{id} never stopped after kill -9"
    );
    step(r, id, &[s("delete"), s(id)]);
}

/// One `list`, in table or JSON form: must answer cleanly with containers of known status.
/// Returns how many containers it listed.
fn list_once(r: &Root, json: bool) -> usize {
    let o = if json {
        r.rampart(&["list", "--format", "json"])
    } else {
        r.rampart(&["list"])
    };
    assert!(
        o.code == 0 && o.stderr.is_empty(),
        "list during the churn: {o:#?}"
    );
    let statuses = ["creating", "created", "running", "paused", "stopped"];
    if json {
        let v: Value = serde_json::from_str(o.stdout.trim())
            .unwrap_or_else(|e| panic!("list json {e}: {}", o.stdout));
        // An empty root lists as null, as runc prints it.
        let all = v.as_array().cloned().unwrap_or_default();
        for c in &all {
            assert!(c["id"].as_str().is_some_and(|i| !i.is_empty()), "{c}");
            assert!(
                statuses.contains(&c["status"].as_str().unwrap_or("")),
                "{c}"
            );
        }
        all.len()
    } else {
        let mut lines = o.stdout.lines();
        let header = lines.next().unwrap_or("");
        assert!(header.starts_with("ID"), "list header: {}", o.stdout);
        let rows: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
        for l in &rows {
            let status = l.split_whitespace().nth(2).unwrap_or("");
            assert!(statuses.contains(&status), "list row {l:?}");
        }
        rows.len()
    }
}

#[test]
fn a_hundred_parallel_lifecycles_with_list_during_the_churn() {
    let r = Arc::new(Root::new());
    let b = Arc::new(Bundle::new(&["sleep", "1000"]));
    let prefix = unique("load");
    let hierarchies = cgroup_hierarchies();

    let churning = Arc::new(AtomicBool::new(true));
    let lists = Arc::new(AtomicUsize::new(0));
    let most_listed = Arc::new(AtomicUsize::new(0));
    let lister = {
        let (r, churning, lists, most) = (
            r.clone(),
            churning.clone(),
            lists.clone(),
            most_listed.clone(),
        );
        std::thread::spawn(move || {
            let mut n = 0;
            while churning.load(Ordering::SeqCst) {
                let listed = list_once(&r, n % 2 == 0);
                most.fetch_max(listed, Ordering::SeqCst);
                n += 1;
                lists.store(n, Ordering::SeqCst);
            }
        })
    };

    let barrier = Arc::new(Barrier::new(PARALLEL));
    let workers: Vec<_> = (0..PARALLEL)
        .map(|i| {
            let (r, b, barrier) = (r.clone(), b.clone(), barrier.clone());
            let id = format!("{prefix}-{i}");
            std::thread::spawn(move || {
                barrier.wait();
                lifecycle(&r, &b, &id);
            })
        })
        .collect();
    let failed: Vec<String> = workers
        .into_iter()
        .enumerate()
        .filter_map(|(i, w)| {
            w.join().err().map(|e| {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                format!("lifecycle {i}: {msg}")
            })
        })
        .collect();
    churning.store(false, Ordering::SeqCst);
    let lister_result = lister.join();

    assert!(
        failed.is_empty(),
        "{} of {PARALLEL} lifecycles failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(
        lister_result.is_ok(),
        "a list during the churn failed (above)"
    );
    let lists = lists.load(Ordering::SeqCst);
    let most = most_listed.load(Ordering::SeqCst);
    // The lists did run during the churn and saw it (shown with --nocapture).
    assert!(
        lists > 0 && most > 0,
        "no list saw a container: {lists} lists"
    );
    eprintln!(
        "{PARALLEL} lifecycles ok; {lists} lists during the churn, up to {most} containers in one"
    );

    // Nothing of the 100 is left.
    let left: Vec<_> = std::fs::read_dir(r.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "the state root still holds {left:?}");
    for needle in [b.path().to_string_lossy(), r.path().to_string_lossy()] {
        let m = host_mounts_containing(&needle);
        assert!(m.is_empty(), "mounts left behind: {m:#?}");
    }
    let cg = cgroups_containing(&prefix);
    assert!(cg.is_empty(), "cgroups left behind: {cg:#?}");
    let procs = processes_rooted_in(&b.rootfs().canonicalize().unwrap());
    assert!(
        procs.is_empty(),
        "container processes left behind: {procs:?}"
    );
    let procs = processes_containing(&prefix);
    assert!(
        procs.is_empty(),
        "processes naming the ids left behind: {procs:?}"
    );
    assert_eq!(
        cgroup_hierarchies(),
        hierarchies,
        "the host's cgroup hierarchies changed"
    );
}
