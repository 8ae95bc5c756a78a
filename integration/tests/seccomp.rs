//! seccomp through the real binary: the default action and errnoRet values, every action, every
//! operator with 64-bit values, x32 and i386 entries, the no_new_privs=false path and the late
//! load with no_new_privs, the NOTIFY hand-off to an agent that answers a syscall, filter flags,
//! config errors, and what the default profile of `rampart spec` allows and denies.
//!
//! Arbitrary syscalls with chosen 64-bit arguments come from `sc`, a small static C program
//! (source below) that each test builds with gcc into its bundle; busybox cannot make them.

use rampart_integration::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::process::Command;

const SC_SOURCE: &str = r#"/* sc: makes raw syscalls for the seccomp integration tests.
 *   sc NR [A0..A5]          one syscall; prints "ret=R errno=E"
 *   sc -t NR [A0..A5]       the syscall in a second thread; then prints "main alive"
 *   sc -i NR [A0..A5]       the syscall through int 0x80 (i386 ABI)
 * Numbers accept 0x.. hex. SIGSYS is caught and printed as "sigsys nr=N" (exit 0), so TRAP is
 * visible; KILL actions cannot be caught. A child of a successful clone/fork exits at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long nr;
static unsigned long a[6];

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    (void)sig; (void)ctx;
    char buf[64];
    int n = snprintf(buf, sizeof buf, "sigsys nr=%d\n", si->si_syscall);
    write(1, buf, n);
    _exit(0);
}

static void report(long r, int e) {
    printf("ret=%ld errno=%d\n", r, r == -1 ? e : 0);
    fflush(stdout);
}

static void *thread_main(void *arg) {
    (void)arg;
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    report(r, errno);
    return NULL;
}

int main(int argc, char **argv) {
    int mode = 0, i = 1;
    if (argc > 1 && argv[1][0] == '-') { mode = argv[1][1]; i = 2; }
    if (argc <= i) { fprintf(stderr, "usage\n"); return 2; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    nr = strtol(argv[i++], NULL, 0);
    for (int k = 0; k < 6 && i < argc; k++, i++) a[k] = strtoul(argv[i], NULL, 0);
    if (mode == 't') {
        pthread_t t;
        pthread_create(&t, NULL, thread_main, NULL);
        pthread_join(t, NULL);
        printf("main alive\n");
        return 0;
    }
    if (mode == 'i') {
        long r;
        __asm__ volatile("int $0x80" : "=a"(r)
                         : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2])
                         : "memory");
        printf("ret=%ld errno=%d\n", r < 0 && r > -4096 ? -1 : r, r < 0 && r > -4096 ? (int)-r : 0);
        return 0;
    }
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    int e = errno;
    if (r == 0 && (nr == SYS_clone || nr == SYS_fork)) _exit(0);
    report(r, e);
    return 0;
}
"#;

// x86_64 syscall numbers used below.
/// Harmless probe with a known answer: sched_get_priority_max(SCHED_FIFO) = 99.
const PROBE: u64 = 146;
/// lookup_dcookie: not in the default profile; the kernel no longer implements it (ENOSYS), so
/// allowing it is harmless.
const UNLISTED: u64 = 212;
const NR_UNSHARE: u64 = 272;
const NR_KEYCTL: u64 = 250;
const NR_PTRACE: u64 = 101;
const NR_CLONE: u64 = 56;
const NR_MKDIR: u64 = 83;
const X32_BIT: u64 = 0x4000_0000;
// i386 numbers.
const I386_GETPID: u64 = 20;
const I386_UNSHARE: u64 = 310;

const EPERM: i32 = 1;
const ENOSYS: i32 = 38;
const CLONE_NEWUSER: u64 = 0x1000_0000;
const CLONE_NEWUTS: u64 = 0x0400_0000;
const SIGCHLD: u64 = 17;
/// `rampart run` reports a container killed by SIGSYS as 128 + 31.
const SIGSYS_EXIT: i32 = 159;

/// Builds `sc` into the bundle's /bin.
fn build_sc(b: &Bundle) {
    let src = b.path().join("sc.c");
    std::fs::write(&src, SC_SOURCE).unwrap();
    build_static_c(&src, &b.rootfs().join("bin/sc"), &["-O1", "-pthread"]);
}

/// A bundle running `args` with `sc` in /bin and `profile` as linux.seccomp (None: no filter).
fn bundle(args: &[&str], profile: Option<Value>) -> Bundle {
    let mut b = Bundle::new(args);
    build_sc(&b);
    b.edit(|c| match profile {
        Some(p) => c["linux"]["seccomp"] = p,
        None => {
            c["linux"].as_object_mut().unwrap().remove("seccomp");
        }
    });
    b
}

fn sh(script: &str, profile: Option<Value>) -> Bundle {
    bundle(&["sh", "-c", script], profile)
}

/// Allow everything but `rules`.
fn allow_but(rules: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})
}

/// The profile `rampart spec` writes.
fn default_profile() -> Value {
    Bundle::new(&["true"]).config["linux"]["seccomp"].clone()
}

/// `run` in a fresh root; checks nothing is left behind.
fn run(b: &Bundle) -> Out {
    let r = Root::new();
    let id = unique("seccomp");
    let o = r.run(b, &id);
    assert_nothing_left(&r, b, &id);
    o
}

/// The (return value, errno) of every `ret=R errno=E` line `sc` printed.
fn calls(o: &Out) -> Vec<(i64, i32)> {
    o.stdout
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("ret=")?;
            let (r, e) = l.split_once(" errno=")?;
            Some((r.parse().ok()?, e.trim().parse().ok()?))
        })
        .collect()
}

/// The one call of a run that must have exited 0.
#[track_caller]
fn one_call(o: &Out) -> (i64, i32) {
    assert_eq!(o.code, 0, "{o:#?}");
    let c = calls(o);
    assert_eq!(c.len(), 1, "{o:#?}");
    c[0]
}

fn status_field(o: &Out, key: &str) -> String {
    o.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in {o:#?}"))
        .trim()
        .to_string()
}

#[test]
fn rampart_spec_writes_the_default_profile_and_it_is_loaded() {
    let p = default_profile();
    assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
    assert!(p["syscalls"].as_array().unwrap().len() > 5);
    let b = sh(
        "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status",
        Some(p),
    );
    let o = run(&b);
    o.ok();
    assert_eq!(status_field(&o, "Seccomp"), "2");
    assert_eq!(status_field(&o, "Seccomp_filters"), "1");
    assert_eq!(status_field(&o, "NoNewPrivs"), "1");
}

#[test]
fn default_action_and_default_errno_ret() {
    let unlisted = UNLISTED.to_string();
    let args = ["/bin/sc", unlisted.as_str()];
    // The default profile: ERRNO with defaultErrnoRet 1 (EPERM).
    assert_eq!(
        one_call(&run(&bundle(&args, Some(default_profile())))),
        (-1, EPERM)
    );
    // Another defaultErrnoRet.
    let mut p = default_profile();
    p["defaultErrnoRet"] = json!(77);
    assert_eq!(one_call(&run(&bundle(&args, Some(p.clone())))), (-1, 77));
    // ERRNO without defaultErrnoRet means EPERM.
    p.as_object_mut().unwrap().remove("defaultErrnoRet");
    p["defaultAction"] = json!("SCMP_ACT_ERRNO");
    assert_eq!(one_call(&run(&bundle(&args, Some(p.clone())))), (-1, EPERM));
    // Other default actions reach the unlisted syscall; listed ones still run.
    p["defaultAction"] = json!("SCMP_ACT_KILL_PROCESS");
    let o = run(&bundle(&args, Some(p.clone())));
    assert_eq!(o.code, SIGSYS_EXIT, "{o:#?}");
    assert!(calls(&o).is_empty());
    p["defaultAction"] = json!("SCMP_ACT_TRAP");
    let o = run(&bundle(&args, Some(p.clone())));
    o.ok();
    assert_eq!(o.stdout.trim(), format!("sigsys nr={UNLISTED}"));
    // Allowed, the kernel answers for itself: it no longer has lookup_dcookie.
    p["defaultAction"] = json!("SCMP_ACT_ALLOW");
    assert_eq!(one_call(&run(&bundle(&args, Some(p)))), (-1, ENOSYS));
}

#[test]
fn errno_ret_values_per_rule() {
    let p = allow_but(json!([
        {"names": ["sched_get_priority_max"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["sched_get_priority_min"], "action": "SCMP_ACT_ERRNO"},
        // The largest errnoRet libseccomp (so runc) accepts; 4095 is refused.
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4094},
        {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0},
    ]));
    let o = run(&sh(
        &format!("sc {PROBE} 1; sc 147 1; sc {NR_MKDIR} 0; sc 140 0 0; sc 145 0"),
        Some(p),
    ));
    o.ok();
    // getpriority with errnoRet 0 "succeeds" with 0 without running; sched_getscheduler (145)
    // is not listed and runs (SCHED_OTHER = 0).
    assert_eq!(
        calls(&o),
        vec![(-1, 13), (-1, EPERM), (-1, 4094), (0, 0), (0, 0)]
    );
}

/// Runs `sc [mode] PROBE 1` under a profile whose only rule gives the probe `action`.
fn probe_with(action: &str, threaded: bool) -> Out {
    let p = allow_but(json!([{"names": ["sched_get_priority_max"], "action": action}]));
    let probe = PROBE.to_string();
    let mut args = vec!["/bin/sc"];
    if threaded {
        args.push("-t");
    }
    args.extend([probe.as_str(), "1"]);
    run(&bundle(&args, Some(p)))
}

#[test]
fn every_action_does_what_it_says() {
    assert_eq!(one_call(&probe_with("SCMP_ACT_ALLOW", false)), (99, 0));
    assert_eq!(one_call(&probe_with("SCMP_ACT_ERRNO", false)), (-1, EPERM));
    // LOG lets the call through (and logs it).
    assert_eq!(one_call(&probe_with("SCMP_ACT_LOG", false)), (99, 0));
    // TRACE without a tracer: the kernel fails the call with ENOSYS.
    assert_eq!(one_call(&probe_with("SCMP_ACT_TRACE", false)), (-1, ENOSYS));

    // TRAP: a catchable SIGSYS naming the syscall.
    let o = probe_with("SCMP_ACT_TRAP", false);
    o.ok();
    assert_eq!(o.stdout.trim(), format!("sigsys nr={PROBE}"));

    // KILL_PROCESS: the whole process, even when another thread makes the call.
    for threaded in [false, true] {
        let o = probe_with("SCMP_ACT_KILL_PROCESS", threaded);
        assert_eq!(o.code, SIGSYS_EXIT, "{o:#?}");
        assert!(o.stdout.is_empty(), "{o:#?}");
    }
    // KILL_THREAD (and its old name KILL): only the calling thread; main goes on.
    for action in ["SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL"] {
        let o = probe_with(action, true);
        o.ok();
        assert_eq!(o.stdout.trim(), "main alive", "{action}: {o:#?}");
    }
}

/// What an argument check means, in 64 bits.
fn holds(op: &str, arg: u64, v: u64, v2: u64) -> bool {
    match op {
        "SCMP_CMP_NE" => arg != v,
        "SCMP_CMP_LT" => arg < v,
        "SCMP_CMP_LE" => arg <= v,
        "SCMP_CMP_EQ" => arg == v,
        "SCMP_CMP_GE" => arg >= v,
        "SCMP_CMP_GT" => arg > v,
        "SCMP_CMP_MASKED_EQ" => arg & v == v2,
        _ => unreachable!(),
    }
}

#[test]
fn every_operator_with_64_bit_values() {
    // Values that differ only in the high half, only in the low half, and the extremes.
    const V: u64 = 0x0000_0001_0000_0005;
    let args: [u64; 9] = [
        V,
        V - 1,
        V + 1,
        5,
        0x0000_0002_0000_0005,
        0x0000_0002_0000_0004,
        0x0000_0000_ffff_ffff,
        0,
        u64::MAX,
    ];
    let cases = [
        ("SCMP_CMP_NE", 0u32, V, 0u64, &args[..]),
        ("SCMP_CMP_LT", 1, V, 0, &args[..]),
        ("SCMP_CMP_LE", 2, V, 0, &args[..]),
        ("SCMP_CMP_EQ", 3, V, 0, &args[..]),
        ("SCMP_CMP_GE", 4, V, 0, &args[..]),
        ("SCMP_CMP_GT", 5, V, 0, &args[..]),
        (
            "SCMP_CMP_MASKED_EQ",
            2,
            0xff00_0000_0000_00ff,
            0x1200_0000_0000_0034,
            &[
                0x12ab_0000_0000_0034,
                0x12ff_ffff_ffff_ff34,
                0x1200_0000_0000_0035,
                0x0000_0000_0000_0034,
                0x1300_0000_0000_0034,
                0,
                u64::MAX,
            ][..],
        ),
    ];
    for (op, index, value, value_two, values) in cases {
        let p = allow_but(json!([{
            "names": ["sched_get_priority_max"], "action": "SCMP_ACT_ERRNO", "errnoRet": 101,
            "args": [{"index": index, "value": value, "valueTwo": value_two, "op": op}]
        }]));
        let script: String = values
            .iter()
            .map(|a| {
                let mut six = [
                    "1".to_string(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                ];
                six[index as usize] = format!("{a:#x}");
                format!("sc {PROBE} {}\n", six.join(" "))
            })
            .collect();
        let o = run(&sh(&script, Some(p)));
        o.ok();
        let got = calls(&o);
        assert_eq!(got.len(), values.len(), "{op}: {o:#?}");
        for (a, (_, errno)) in values.iter().zip(got) {
            let want = holds(op, *a, value, value_two);
            assert_eq!(
                errno == 101,
                want,
                "{op} index {index}: arg {a:#x} vs {value:#x}/{value_two:#x}"
            );
        }
    }
}

#[test]
fn x32_syscalls_cannot_slip_past_deny_rules() {
    let deny_unshare = |arches: Value| {
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": arches,
               "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}]})
    };
    let x32_unshare = format!("{:#x}", X32_BIT | NR_UNSHARE);
    let newuts = format!("{CLONE_NEWUTS:#x}");

    // Only x86_64 listed: the x86_64 number is denied by the rule, an x32 number is a foreign ABI
    // and kills the process (it would otherwise miss every x86_64 rule).
    let native = NR_UNSHARE.to_string();
    let p = deny_unshare(json!(["SCMP_ARCH_X86_64"]));
    assert_eq!(
        one_call(&run(&bundle(
            &["/bin/sc", &native, &newuts],
            Some(p.clone())
        ))),
        (-1, EPERM)
    );
    let o = run(&bundle(&["/bin/sc", &x32_unshare, &newuts], Some(p)));
    assert_eq!(o.code, SIGSYS_EXIT, "{o:#?}");

    // x32 listed: the rule holds for the x32 number too; other x32 calls pass the filter (and
    // reach a kernel that may lack x32: then ENOSYS).
    let p = deny_unshare(json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]));
    let x32_getpid = format!("{:#x}", X32_BIT | 39);
    let o = run(&sh(
        &format!("sc {x32_unshare} {newuts}; sc {x32_getpid}"),
        Some(p),
    ));
    o.ok();
    let c = calls(&o);
    assert_eq!(c[0], (-1, EPERM), "{o:#?}");
    assert!(c[1].0 > 0 || c[1] == (-1, ENOSYS), "{o:#?}");

    // The default profile lists x32: its deny-by-default applies to x32 numbers.
    let x32_keyctl = format!("{:#x}", X32_BIT | NR_KEYCTL);
    let o = run(&sh(
        &format!("sc {x32_unshare} {newuts}; sc {x32_keyctl} 0"),
        Some(default_profile()),
    ));
    o.ok();
    assert_eq!(calls(&o), vec![(-1, EPERM), (-1, EPERM)]);
}

/// Whether this kernel runs int 0x80 (IA32 emulation) for 64-bit processes.
fn ia32_available() -> bool {
    let b = bundle(&["/bin/sc", "-i", "20"], None);
    let o = Command::new(b.rootfs().join("bin/sc"))
        .args(["-i", "20"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).starts_with("ret=")
        && !String::from_utf8_lossy(&o.stdout).contains("errno=38")
}

#[test]
fn i386_entries_follow_the_config() {
    if !ia32_available() {
        eprintln!("skipped: no IA32 emulation in this kernel");
        return;
    }
    let getpid = I386_GETPID.to_string();
    // Listed (the default profile lists SCMP_ARCH_X86): i386 numbers get i386 rules.
    let o = run(&sh(
        &format!("sc -i {getpid}; sc -i {I386_UNSHARE} {CLONE_NEWUTS:#x}"),
        Some(default_profile()),
    ));
    o.ok();
    let c = calls(&o);
    assert!(c[0].0 > 0, "{o:#?}");
    assert_eq!(c[1], (-1, EPERM), "{o:#?}");
    // Not listed: any i386 syscall kills.
    let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]});
    let o = run(&bundle(&["/bin/sc", "-i", &getpid], Some(p)));
    assert_eq!(o.code, SIGSYS_EXIT, "{o:#?}");
}

#[test]
fn without_no_new_privileges_the_filter_is_loaded_before_the_capability_drop() {
    // An unprivileged user without CAP_SYS_ADMIN and without no_new_privs: the kernel only
    // accepts the filter while the init still has CAP_SYS_ADMIN.
    let mut p = default_profile();
    p["defaultErrnoRet"] = json!(77);
    let mut b = sh(
        &format!("grep -E '^(Seccomp|NoNewPrivs|CapEff|Uid):' /proc/self/status; sc {UNLISTED}"),
        Some(p),
    );
    b.edit(|c| {
        c["process"]["noNewPrivileges"] = json!(false);
        c["process"]["user"] = json!({"uid": 65534, "gid": 65534});
    });
    let o = run(&b);
    o.ok();
    assert_eq!(status_field(&o, "Seccomp"), "2");
    assert_eq!(status_field(&o, "NoNewPrivs"), "0");
    assert_eq!(status_field(&o, "CapEff"), "0000000000000000");
    assert!(status_field(&o, "Uid").starts_with("65534"));
    assert_eq!(calls(&o), vec![(-1, 77)]);
}

#[test]
fn with_no_new_privileges_the_filter_is_loaded_right_before_exec() {
    // read(2) denied: the init still reads exec.fifo to wait for start, so this only works
    // because the filter comes after that; the workload then cannot read.
    let p = allow_but(json!([{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]));
    let o = run(&sh(
        "echo before; head -n 1 /etc/passwd; echo head=$?",
        Some(p),
    ));
    o.ok();
    assert_eq!(
        o.stdout.lines().collect::<Vec<_>>(),
        ["before", "head=1"],
        "{o:#?}"
    );
    assert!(
        o.stderr.contains("I/O error") || o.stderr.contains("Input/output error"),
        "{o:#?}"
    );
}

/// The agent side of NOTIFY: what it received and the notification it answered.
struct Agent {
    state: Value,
    nr: i32,
    pid: u32,
    arg0: u64,
}

/// poll(2) one fd for `events`, up to 60 s (a guard against hanging, not a measurement).
fn wait_fd(fd: RawFd, events: i16) -> bool {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, 60_000) == 1 }
}

/// Accepts the runtime's connection, reads the state JSON and the fd, answers one notification
/// with `val`.
fn serve_one(listener: UnixListener, val: i64) -> Agent {
    assert!(
        wait_fd(listener.as_raw_fd(), libc::POLLIN),
        "runtime never connected"
    );
    let (conn, _) = listener.accept().expect("accept");
    let mut json = Vec::new();
    let mut seccomp_fd = None;
    loop {
        let mut buf = [0u8; 4096];
        let mut cbuf = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: all-zero msghdr is valid; pointers below point at live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        // SAFETY: msg describes writable buffers owned by this frame.
        let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
        if n == 0 {
            break;
        }
        // SAFETY: msg was filled by recvmsg; CMSG_* walk its control buffer.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd);
                    seccomp_fd = Some(OwnedFd::from_raw_fd(fd));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        json.extend_from_slice(&buf[..n as usize]);
    }
    let state: Value = serde_json::from_slice(&json).expect("state json");
    let fd = seccomp_fd.expect("listener fd with the state");

    assert!(
        wait_fd(fd.as_raw_fd(), libc::POLLIN),
        "no notification came"
    );
    // SAFETY: zeroed seccomp_notif is what NOTIF_RECV requires.
    let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: a seccomp listener fd and a writable seccomp_notif.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) };
    assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
    let resp = libc::seccomp_notif_resp {
        id: req.id,
        val,
        error: 0,
        flags: 0,
    };
    // SAFETY: answering the request just received.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
    assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
    Agent {
        state,
        nr: req.data.nr,
        pid: req.pid,
        arg0: req.data.args[0],
    }
}

fn notify_round_trip(no_new_privileges: bool) {
    let dir = TempDir::new("agent");
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).expect("bind agent socket");
    let agent = std::thread::spawn(move || serve_one(listener, 4242));

    let p = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "listenerMetadata": "meta-for-the-agent",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["sched_get_priority_max"], "action": "SCMP_ACT_NOTIFY",
                      "args": [{"index": 1, "value": 0x5eed, "op": "SCMP_CMP_EQ"}]}]
    });
    let mut b = bundle(&["/bin/sc", &PROBE.to_string(), "1", "0x5eed"], Some(p));
    b.edit(|c| c["process"]["noNewPrivileges"] = json!(no_new_privileges));
    let r = Root::new();
    let id = unique("notify");
    let o = r.run(&b, &id);
    // The agent's answer is the syscall's result.
    assert_eq!(one_call(&o), (4242, 0));
    let a = agent.join().expect("agent");
    assert_eq!(a.nr, PROBE as i32);
    assert_eq!(a.arg0, 1);
    assert_eq!(a.state["fds"], json!(["seccompFd"]));
    assert_eq!(a.state["metadata"], "meta-for-the-agent");
    assert_eq!(a.state["state"]["id"], id.as_str());
    assert_eq!(a.state["state"]["status"], "creating");
    assert_eq!(a.state["state"]["bundle"], b.path().to_str().unwrap());
    // The pid the agent was told is the process that made the call.
    assert_eq!(a.state["pid"], json!(a.pid));
    assert_eq!(a.state["state"]["pid"], json!(a.pid));
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn notify_agent_answers_a_syscall_with_no_new_privileges() {
    notify_round_trip(true);
}

#[test]
fn notify_agent_answers_a_syscall_without_no_new_privileges() {
    notify_round_trip(false);
}

#[test]
fn notify_agent_not_listening_fails_create() {
    let dir = TempDir::new("noagent");
    let p = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": dir.path().join("nobody.sock"),
        "syscalls": [{"names": ["sched_get_priority_max"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let b = bundle(&["/bin/sc", "146", "1"], Some(p));
    let r = Root::new();
    let id = unique("noagent");
    let o = r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.fails();
    assert!(o.stderr.contains("nobody.sock"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn filter_flags_are_applied() {
    let p = allow_but(json!([{"names": ["sched_get_priority_max"], "action": "SCMP_ACT_ERRNO"}]));
    for flags in [
        json!(["SECCOMP_FILTER_FLAG_LOG"]),
        json!(["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]),
        json!(["SECCOMP_FILTER_FLAG_TSYNC"]),
        json!([
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_TSYNC"
        ]),
    ] {
        let mut p = p.clone();
        p["flags"] = flags.clone();
        let o = run(&sh(
            &format!("grep '^Seccomp:' /proc/self/status; sc {PROBE} 1"),
            Some(p),
        ));
        o.ok();
        assert_eq!(status_field(&o, "Seccomp"), "2", "{flags}");
        assert_eq!(calls(&o), vec![(-1, EPERM)], "{flags}");
    }
    // SECCOMP_FILTER_FLAG_LOG: actions other than ALLOW reach the kernel log, ERRNO included,
    // which is not logged without the flag. The audit line names the program (comm), so each run
    // execs `sc` under its own name.
    if let Some(before) = kernel_log() {
        let run_as = |comm: &str, flags: Value| {
            let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": flags, "syscalls": [
                {"names": ["sched_get_priority_max"], "action": "SCMP_ACT_ERRNO"}]});
            let probe = PROBE.to_string();
            let exe = format!("/bin/{comm}");
            let b = bundle(&[&exe, &probe, "1"], Some(p));
            std::fs::copy(b.rootfs().join("bin/sc"), b.rootfs().join(&exe[1..])).unwrap();
            assert_eq!(one_call(&run(&b)), (-1, EPERM));
            format!("comm=\"{comm}\"")
        };
        let n = std::process::id();
        let unlogged = run_as(&format!("nolog{n}"), json!([]));
        let wanted = run_as(&format!("log{n}"), json!(["SECCOMP_FILTER_FLAG_LOG"]));
        let mut found = false;
        for _ in 0..100 {
            let now = kernel_log().unwrap_or_default();
            // Lines carry timestamps: the ones not there before come from this test's runs.
            let old: std::collections::HashSet<&str> = before.lines().collect();
            let new: Vec<&str> = now.lines().filter(|l| !old.contains(l)).collect();
            let ours = |comm: &str| {
                new.iter().any(|l| {
                    l.contains(comm)
                        && l.contains(&format!(" syscall={PROBE} "))
                        && l.ends_with("code=0x50000")
                })
            };
            if ours(&wanted) {
                assert!(
                    !ours(&unlogged),
                    "ERRNO logged without SECCOMP_FILTER_FLAG_LOG"
                );
                found = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(
            found,
            "no kernel log line for ERRNO with SECCOMP_FILTER_FLAG_LOG ({wanted})"
        );
    }

    // A flag the runtime spec does not define is a config error.
    let mut p = p.clone();
    p["flags"] = json!(["SECCOMP_FILTER_FLAG_BOGUS"]);
    let b = sh("true", Some(p));
    let r = Root::new();
    let id = unique("badflag");
    let o = r.run(&b, &id);
    o.fails();
    assert!(o.stderr.contains("SECCOMP_FILTER_FLAG_BOGUS"), "{o:#?}");
}

/// The kernel log (dmesg), or None where it cannot be read.
fn kernel_log() -> Option<String> {
    let o = Command::new("dmesg").output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn config_errors_are_clear_and_leave_nothing() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"defaultAction": "SCMP_ACT_BOGUS"}), "SCMP_ACT_BOGUS"),
        (
            allow_but(json!([{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}])),
            "SCMP_CMP_BOGUS",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_BOGUS"]}),
            "SCMP_ARCH_BOGUS",
        ),
        (
            allow_but(json!([{"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 3}])),
            "errnoRet",
        ),
        (
            allow_but(json!([{"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}])),
            "listenerPath",
        ),
        (
            allow_but(json!([{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}])),
            "index",
        ),
    ];
    for (p, needle) in cases {
        let b = sh("true", Some(p.clone()));
        let r = Root::new();
        let id = unique("badcfg");
        let o = r.run(&b, &id);
        o.fails();
        assert!(o.stderr.contains(needle), "{p}: {o:#?}");
        assert_nothing_left(&r, &b, &id);
    }
}

#[test]
fn unknown_syscall_names_are_skipped_and_logged() {
    let p = allow_but(
        json!([{"names": ["no_such_syscall_xyz", "sched_get_priority_max"],
                              "action": "SCMP_ACT_ERRNO", "errnoRet": 9}]),
    );
    let b = bundle(&["/bin/sc", &PROBE.to_string(), "1"], Some(p));
    let r = Root::new();
    let id = unique("unknown");
    let log = b.path().join("rampart.log");
    let o = r.rampart(&[
        OsStr::new("--debug"),
        OsStr::new("--log"),
        log.as_os_str(),
        OsStr::new("--log-format"),
        OsStr::new("json"),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    assert_eq!(one_call(&o), (-1, 9));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let warned = text.lines().any(|l| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| {
            // runc logs these at debug level; a warning would do too.
            (v["level"] == "debug" || v["level"] == "warning")
                && v["msg"]
                    .as_str()
                    .unwrap_or("")
                    .contains("no_such_syscall_xyz")
        })
    });
    assert!(warned, "log: {text}");
    assert_nothing_left(&r, &b, &id);
}

/// Adds capabilities to all sets, so a denial below comes from seccomp and not from missing
/// privileges.
fn grant(b: &mut Bundle, caps: &[&str]) {
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            let v = c["process"]["capabilities"][set].as_array_mut().unwrap();
            for cap in caps {
                v.push(json!(cap));
            }
        }
        c["root"]["readonly"] = json!(false);
    });
}

#[test]
fn default_profile_runs_ordinary_tools() {
    let script = "set -e
        ls / >/dev/null
        ps | grep -q PID
        cat /etc/passwd | grep -q root
        ip link set lo up
        httpd -p 127.0.0.1:8080 -h /www
        wget -q -O - http://127.0.0.1:8080/index.html
        echo done";
    let mut b = sh(script, Some(default_profile()));
    write_file(&b.rootfs().join("www/index.html"), "served-under-seccomp\n");
    grant(&mut b, &["CAP_NET_ADMIN"]);
    let o = run(&b);
    o.ok();
    assert_eq!(
        o.stdout.lines().collect::<Vec<_>>(),
        ["served-under-seccomp", "done"],
        "{o:#?}"
    );
}

/// Escape-relevant operations, each printing one "name=result" line: a user namespace, a mount,
/// the session keyring (KEYCTL_GET_KEYRING_ID of KEY_SPEC_SESSION_KEYRING), PTRACE_ATTACH to a
/// sibling, clone(CLONE_NEWUSER).
fn escapes(profile: Option<Value>) -> Vec<(String, String)> {
    let script = format!(
        "unshare -U true 2>/dev/null; echo unshare=$?
        mount -t tmpfs none /mnt 2>/dev/null; echo mount=$?
        sleep 100 & victim=$!
        echo keyctl=$(sc {NR_KEYCTL} 0 0xfffffffd)
        echo ptrace=$(sc {NR_PTRACE} 16 $victim)
        kill -9 $victim
        echo userns_clone=$(sc {NR_CLONE} {:#x})",
        CLONE_NEWUSER | SIGCHLD
    );
    let mut b = sh(&script, profile);
    std::fs::create_dir_all(b.rootfs().join("mnt")).unwrap();
    grant(&mut b, &["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]);
    let o = run(&b);
    o.ok();
    o.stdout
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

#[test]
fn default_profile_denies_namespace_mount_keyring_and_ptrace() {
    // Without a filter (same capabilities) every operation works: the denials below are seccomp's.
    let open = escapes(None);
    let get = |v: &[(String, String)], k: &str| {
        v.iter()
            .find(|(n, _)| n == k)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no {k} in {v:?}"))
    };
    for k in ["unshare", "mount"] {
        assert_eq!(get(&open, k), "0", "{k} without seccomp: {open:?}");
    }
    for k in ["keyctl", "ptrace", "userns_clone"] {
        assert!(
            get(&open, k).ends_with("errno=0"),
            "{k} without seccomp: {open:?}"
        );
    }

    let denied = escapes(Some(default_profile()));
    for k in ["unshare", "mount"] {
        assert_ne!(
            get(&denied, k),
            "0",
            "{k} under the default profile: {denied:?}"
        );
    }
    for k in ["keyctl", "ptrace", "userns_clone"] {
        assert_eq!(
            get(&denied, k),
            "ret=-1 errno=1",
            "{k} under the default profile: {denied:?}"
        );
    }
}
