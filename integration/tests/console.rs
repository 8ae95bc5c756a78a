//! Terminals through the real binary: a console-socket receiver gets the pty master with
//! SCM_RIGHTS (the message data is the pty name), `tty` inside names a devpts terminal, and bytes
//! flow both ways through the master; a foreground exec without a socket gets a proxied pty.
use rampart_integration::*;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::Duration;

/// Accepts one connection on `l` and receives one message with one descriptor.
fn receive_master(l: &UnixListener) -> (std::fs::File, String) {
    let (conn, _) = l.accept().expect("accept on the console socket");
    let mut data = [0u8; 512];
    let mut cbuf = [0u8; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: a zeroed msghdr pointing at our buffers, which outlive the call.
    let (n, fd) = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = cbuf.len();
        let n = libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null(), "no control message");
        assert_eq!((*c).cmsg_level, libc::SOL_SOCKET);
        assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const i32);
        (n as usize, OwnedFd::from_raw_fd(fd))
    };
    (
        std::fs::File::from(fd),
        String::from_utf8_lossy(&data[..n]).into_owned(),
    )
}

/// Reads the master until the terminal's other side is closed by everyone (EIO).
fn read_all(mut m: std::fs::File) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match m.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn exec_tty_sends_the_master_over_the_console_socket() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("console-exec");
    let st = r
        .cmd(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    r.rampart(&["start", &id]).ok();

    let sock = b.path().join("console.sock");
    let l = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_master(&l));
    let o = r.rampart(&[
        OsStr::new("exec"),
        OsStr::new("-d"),
        OsStr::new("-t"),
        OsStr::new("--console-socket"),
        sock.as_os_str(),
        OsStr::new(&id),
        OsStr::new("sh"),
        OsStr::new("-c"),
        OsStr::new("tty; read line; echo got-$line"),
    ]);
    o.ok();
    let (mut master, name) = receiver.join().unwrap();
    assert!(name.starts_with("/dev/pts/"), "message data {name:?}");
    master.write_all(b"ping\n").unwrap();
    let out = read_all(master);
    assert!(out.contains(&name), "tty did not print {name}: {out:?}");
    assert!(out.contains("got-ping"), "input did not flow: {out:?}");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn create_with_terminal_binds_the_pty_onto_dev_console() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "tty; stat -c 'console %t' /dev/console; echo to-console > /dev/console; read x; echo got-$x",
    ]);
    b.edit(|c| c["process"]["terminal"] = true.into());
    let id = unique("console-create");
    // Without a console socket, create refuses (runc's rule).
    let o = r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.fails();
    assert!(o.stderr.contains("console"), "{o:?}");

    let sock = b.path().join("console.sock");
    let l = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_master(&l));
    let o = r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--console-socket"),
        sock.as_os_str(),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.ok();
    let (mut master, name) = receiver.join().unwrap();
    assert!(name.starts_with("/dev/pts/"), "{name:?}");
    r.rampart(&["start", &id]).ok();
    master.write_all(b"pong\n").unwrap();
    let out = read_all(master);
    assert!(
        out.contains(&name) || out.contains("/dev/console"),
        "{out:?}"
    );
    // major 136 (0x88): /dev/console is the devpts peer.
    assert!(out.contains("console 88"), "{out:?}");
    assert!(out.contains("to-console"), "{out:?}");
    assert!(out.contains("got-pong"), "{out:?}");
    assert!(r.wait_status(&id, "stopped", 10));
    r.rampart(&["delete", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn foreground_exec_tty_without_socket_proxies_the_pty() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("console-fg");
    let st = r
        .cmd(&[
            OsStr::new("create"),
            OsStr::new("--bundle"),
            b.path().as_os_str(),
            OsStr::new(&id),
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    r.rampart(&["start", &id]).ok();
    let o = run_with_timeout(
        r.cmd(&["exec", "-t", &id, "sh", "-c", "tty; exit 3"]),
        Duration::from_secs(60),
    );
    assert_eq!(o.code, 3, "{o:?}");
    assert!(o.stdout.starts_with("/dev/pts/"), "{o:?}");
    // A detached exec with a terminal needs a console socket.
    let o = r.rampart(&["exec", "-d", "-t", &id, "true"]);
    o.fails();
    assert!(o.stderr.contains("console-socket"), "{o:?}");
}

#[test]
fn foreground_run_with_terminal_and_no_socket_proxies_the_pty() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "tty; stat -c 'console %t' /dev/console; exit 4"]);
    b.edit(|c| c["process"]["terminal"] = true.into());
    let id = unique("console-run");
    let o = r.run(&b, &id);
    assert_eq!(o.code, 4, "{o:?}");
    assert!(
        o.stdout.starts_with("/dev/pts/") || o.stdout.starts_with("/dev/console"),
        "{o:?}"
    );
    assert!(o.stdout.contains("console 88"), "{o:?}");
    assert_nothing_left(&r, &b, &id);
    // Detached, the socket is still required.
    let id2 = unique("console-run-d");
    let o = r.rampart(&[
        OsStr::new("run"),
        OsStr::new("-d"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id2),
    ]);
    o.fails();
    assert!(o.stderr.contains("console"), "{o:?}");
    assert_nothing_left(&r, &b, &id2);
}

/// process.consoleSize reaches the pty before the workload starts: `stty size` inside reports
/// it, and the master the receiver got has the same window size.
#[test]
fn console_size_is_applied_to_the_pty() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "stty size; read x"]);
    let _ = std::os::unix::fs::symlink("busybox", b.rootfs().join("bin/stty"));
    b.edit(|c| {
        c["process"]["terminal"] = serde_json::json!(true);
        c["process"]["consoleSize"] = serde_json::json!({"height": 33, "width": 101});
    });
    let id = unique("console-size");
    let sock = b.path().join("console.sock");
    let l = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_master(&l));
    r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--console-socket"),
        sock.as_os_str(),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ])
    .ok();
    let (mut master, _name) = receiver.join().unwrap();
    let mut ws = std::mem::MaybeUninit::<libc::winsize>::zeroed();
    // SAFETY: TIOCGWINSZ fills the struct we own.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGWINSZ, ws.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: initialised above (zeroed, then filled by the kernel).
    let ws = unsafe { ws.assume_init() };
    assert_eq!((ws.ws_row, ws.ws_col), (33, 101));
    r.rampart(&["start", &id]).ok();
    master.write_all(b"done\n").unwrap();
    let out = read_all(master);
    assert!(out.contains("33 101"), "{out:?}");
    assert!(r.wait_status(&id, "stopped", 10));
    r.rampart(&["delete", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}
