//! `rampart spec` writes a config that runc accepts too: a spot check that the secure default is
//! plain OCI and not rampart's dialect. runc runs with a private --root and cleans up itself.
use rampart_integration::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const RUNC: &str = "/usr/sbin/runc";

#[test]
fn runc_runs_the_default_spec() {
    if !Path::new(RUNC).exists() {
        eprintln!("SKIPPED: {RUNC} is not installed (make run / .ci/run install it)");
        return;
    }
    let b = Bundle::new(&[
        "sh",
        "-c",
        "echo hello-from-runc; hostname; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; \
         touch /x 2>/dev/null || echo ro-root; exit 5",
    ]);
    let state = TempDir::new("runc-root");
    let id = unique("runc");
    let mut c = Command::new(RUNC);
    c.arg("--root")
        .arg(state.path())
        .arg("run")
        .arg("--bundle")
        .arg(b.path())
        .arg(&id);
    c.stdin(std::process::Stdio::null());
    let o = run_with_timeout(c, Duration::from_secs(60));
    assert_eq!(o.code, 5, "runc did not run rampart's spec: {o:#?}");
    assert_eq!(
        o.stdout, "hello-from-runc\nrampart\nCapEff:\t0000000020000420\nNoNewPrivs:\t1\nro-root\n",
        "{o:#?}"
    );
    // runc removed its container: no state, no cgroup.
    let left: Vec<_> = std::fs::read_dir(state.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "runc state left: {left:?}");
    assert!(cgroups_containing(&id).is_empty());
}
