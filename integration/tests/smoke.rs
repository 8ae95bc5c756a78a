//! The shortest path through the binary: `run` of a busybox bundle prints and exits 0.
use rampart_integration::*;

#[test]
fn run_prints_and_exits_zero() {
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "echo hello-from-inside"]);
    let id = unique("smoke");
    let o = r.run(&b, &id);
    o.ok();
    assert_eq!(o.stdout.trim(), "hello-from-inside");
    assert_nothing_left(&r, &b, &id);
}
