//! runc's command line, to the flag, through the real binary: `run --keep` and
//! `--no-subreaper`, `update --cpu-share` (and its alias `--cpu-shares`), `--cpu-burst`, the
//! Intel RDT schemas, `exec`'s exit status 255 when rampart fails (and the process's own status
//! otherwise), the flags rampart refuses, errno in words without Rust's "(os error N)", and the
//! man pages and completions `make install` puts in place. The table of every runc flag and
//! rampart's answer is cli/README.md.

use rampart_integration::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn v1_cpu(id: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup/cpu").join(format!("rampart-{id}"))
}

fn is_v1_host() -> bool {
    Path::new("/sys/fs/cgroup/cpu/cgroup.procs").exists()
}

fn read(p: &Path) -> String {
    fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

fn run_args(r: &Root, b: &Bundle, flags: &[&str], id: &str) -> Out {
    let mut args: Vec<&OsStr> = vec![OsStr::new("run")];
    args.extend(flags.iter().map(OsStr::new));
    args.extend([OsStr::new("--bundle"), b.path().as_os_str(), OsStr::new(id)]);
    r.rampart(&args)
}

fn listed(r: &Root, id: &str) -> Option<Value> {
    let o = r.rampart(&["list", "--format", "json"]);
    o.ok();
    let all: Value = serde_json::from_str(&o.stdout).unwrap_or(Value::Null);
    all.as_array()?.iter().find(|v| v["id"] == id).cloned()
}

#[test]
fn run_keep_leaves_the_stopped_container_listed_until_delete() {
    let r = Root::new();
    let b = Bundle::new(&["sh", "-c", "echo from-inside; exit 7"]);
    let id = unique("cli-keep");
    let o = run_args(&r, &b, &["--keep"], &id);
    assert_eq!(o.code, 7, "the workload's status: {o:#?}");
    assert_eq!(o.stdout.trim(), "from-inside");
    // Still there, as a stopped container, with its state and cgroup.
    let v = listed(&r, &id).unwrap_or_else(|| panic!("{id} not listed after run --keep"));
    assert_eq!(v["status"], "stopped", "{v}");
    assert_eq!(r.status(&id), "stopped");
    assert!(r.path().join(&id).is_dir(), "state directory gone");
    if is_v1_host() {
        assert!(v1_cpu(&id).is_dir(), "cgroup gone before delete");
    }
    // A stopped container takes no exec; delete (without --force) removes it all.
    let e = r.rampart(&["exec", &id, "true"]);
    assert_eq!(e.code, 255, "{e:#?}");
    assert!(e.stderr.contains("stopped"), "{e:#?}");
    r.rampart(&["delete", &id]).ok();
    assert!(listed(&r, &id).is_none());
    assert_nothing_left(&r, &b, &id);

    // Without --keep the same run leaves nothing listed.
    let id2 = unique("cli-nokeep");
    assert_eq!(run_args(&r, &b, &[], &id2).code, 7);
    assert!(listed(&r, &id2).is_none(), "{id2} listed after a plain run");
    assert_nothing_left(&r, &b, &id2);
}

/// The orphan is made by a shell that exits at once, in a container sharing the host's pid
/// namespace (inside a pid namespace of its own, the container's init would be the reaper and
/// the flag could not be seen). The script prints the orphan's parent and its own parent,
/// which is the rampart process that cloned it.
#[test]
fn run_is_the_subreaper_of_orphans_unless_no_subreaper() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "o=$(sh -c 'sleep 300 >/dev/null 2>&1 & echo $!'); \
         echo orphan=$(grep PPid /proc/$o/status | cut -f2) rampart=$(grep PPid /proc/$$/status | cut -f2); \
         kill $o",
    ]);
    b.drop_namespace("pid");
    let parents = |flags: &[&str]| -> (String, String) {
        let id = unique("cli-reaper");
        let o = run_args(&r, &b, flags, &id);
        o.ok();
        let line = o.stdout.trim().to_string();
        let get = |k: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap_or_else(|| panic!("no {k} in {line:?}"))
                .to_string()
        };
        assert_nothing_left(&r, &b, &id);
        (get("orphan="), get("rampart="))
    };
    let (orphan, rampart) = parents(&[]);
    assert!(!rampart.is_empty() && rampart != "0", "{rampart}");
    assert_eq!(orphan, rampart, "the orphan went to rampart, the subreaper");
    let (orphan, rampart) = parents(&["--no-subreaper"]);
    assert_ne!(
        orphan, rampart,
        "with --no-subreaper the orphan must go past rampart"
    );
}

#[test]
fn update_cpu_share_is_runcs_spelling_and_cpu_shares_its_alias() {
    if !is_v1_host() {
        eprintln!("skipped: this test reads cgroup v1 files; the VM covers v2");
        return;
    }
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("cli-share");
    run_args(&r, &b, &["-d"], &id).ok();
    let cg = v1_cpu(&id);
    r.rampart(&["update", "--cpu-share", "512", &id]).ok();
    assert_eq!(read(&cg.join("cpu.shares")), "512");
    r.rampart(&["update", "--cpu-shares", "256", &id]).ok();
    assert_eq!(read(&cg.join("cpu.shares")), "256");
    if cg.join("cpu.cfs_burst_us").exists() {
        r.rampart(&[
            "update",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "50000",
            "--cpu-burst",
            "20000",
            &id,
        ])
        .ok();
        assert_eq!(read(&cg.join("cpu.cfs_burst_us")), "20000");
    }
    // Refused values change nothing.
    let o = r.rampart(&["update", "--cpu-idle", "2", &id]);
    o.fails();
    assert!(o.stderr.contains("--cpu-idle"), "{o:#?}");
    assert_eq!(read(&cg.join("cpu.shares")), "256");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

fn resctrl_mount() -> Option<PathBuf> {
    let mi = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mi.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        if right.split_whitespace().next()? != "resctrl" {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// Without resctrl (this host: no Intel RDT in the CPU, no resctrl in the kernel) both flags
/// fail and say so, before any other flag of the same update is applied. With resctrl they
/// write the container's own group (not run here: no such host).
#[test]
fn update_rdt_schemas_need_resctrl_and_say_so() {
    let r = Root::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    let resctrl = resctrl_mount();
    let l3_line = resctrl.as_ref().and_then(|m| {
        fs::read_to_string(m.join("schemata"))
            .ok()?
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("L3:"))
            .map(str::to_string)
    });
    if let Some(line) = &l3_line {
        b.edit(|c| c["linux"]["intelRdt"] = serde_json::json!({"l3CacheSchema": line}));
    }
    let id = unique("cli-rdt");
    run_args(&r, &b, &["-d"], &id).ok();
    match (&resctrl, &l3_line) {
        (None, _) => {
            for (flag, value) in [
                ("--l3-cache-schema", "L3:0=f"),
                ("--mem-bw-schema", "MB:0=50"),
            ] {
                let o = r.rampart(&["update", "--cpu-share", "333", flag, value, &id]);
                o.fails();
                assert!(
                    o.stderr.contains(flag) && o.stderr.contains("no resctrl filesystem"),
                    "{o:#?}"
                );
                if is_v1_host() {
                    assert_ne!(
                        read(&v1_cpu(&id).join("cpu.shares")),
                        "333",
                        "applied anyway"
                    );
                }
            }
        }
        (Some(m), Some(line)) => {
            r.rampart(&["update", "--l3-cache-schema", line, &id]).ok();
            let own = read(&m.join(&id).join("schemata"));
            assert!(own.contains("L3:"), "{own}");
        }
        (Some(m), None) => {
            let o = r.rampart(&["update", "--l3-cache-schema", "L3:0=f", &id]);
            o.fails();
            assert!(o.stderr.contains("not enabled"), "{} {o:#?}", m.display());
        }
    }
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn exec_exits_255_when_rampart_fails_and_with_the_process_status_otherwise() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("cli-exec");
    run_args(&r, &b, &["-d"], &id).ok();
    let exec = |args: &[&str]| {
        let mut v = vec!["exec"];
        v.extend_from_slice(args);
        r.rampart(&v)
    };
    // The process's own status, 255 included, and 128+N for a signal.
    assert_eq!(exec(&[&id, "sh", "-c", "exit 3"]).code, 3);
    assert_eq!(exec(&[&id, "sh", "-c", "exit 0"]).code, 0);
    assert_eq!(exec(&[&id, "sh", "-c", "kill -9 $$"]).code, 137);
    // rampart's own failures: no such container, no such executable, a bad cwd.
    for (args, says) in [
        (vec!["no-such-container", "true"], "does not exist"),
        (
            vec![id.as_str(), "/no/such/binary"],
            "no such file or directory",
        ),
        (
            vec!["--cwd", "/no/such/dir", id.as_str(), "true"],
            "No such file or directory",
        ),
    ] {
        let o = exec(&args);
        assert_eq!(o.code, 255, "{args:?}: {o:#?}");
        assert!(o.stderr.contains(says), "{args:?}: {o:#?}");
    }
    // Other commands keep runc's 1.
    assert_eq!(r.rampart(&["kill", "no-such-container"]).code, 1);
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn refused_flags_fail_clearly_and_make_nothing() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let sock = b.path().join("pidfd.sock");
    let sock = sock.to_str().unwrap();
    let bundle = b.path().to_str().unwrap();
    let id = unique("cli-refused");
    for args in [
        vec!["run", "--pidfd-socket", sock, "--bundle", bundle, &id],
        vec!["create", "--pidfd-socket", sock, "--bundle", bundle, &id],
    ] {
        let o = r.rampart(&args);
        o.fails();
        assert!(
            o.stderr.contains("--pidfd-socket") && o.stderr.contains("not supported by rampart"),
            "{args:?}: {o:#?}"
        );
        assert!(listed(&r, &id).is_none(), "{args:?} made {id}");
    }
    run_args(&r, &b, &["-d"], &id).ok();
    let o = r.rampart(&["exec", "--pidfd-socket", sock, &id, "true"]);
    assert_eq!(o.code, 255, "{o:#?}");
    assert!(o.stderr.contains("not supported by rampart"), "{o:#?}");
    for args in [
        vec!["checkpoint", "--image-path", bundle, "--leave-running", &id],
        vec!["restore", "--image-path", bundle, "--bundle", bundle, &id],
    ] {
        let o = r.rampart(&args);
        o.fails();
        assert!(
            o.stderr
                .contains("checkpoint/restore is not supported by rampart"),
            "{args:?}: {o:#?}"
        );
    }
    // podman's probe: the help is printed, the status says "cannot".
    let o = r.rampart(&["checkpoint", "--help"]);
    assert_eq!(o.code, 1, "{o:#?}");
    assert!(o.stdout.contains("NOT SUPPORTED"), "{o:#?}");
    // The container the refusals were tried on still runs.
    assert_eq!(r.status(&id), "running");
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

/// Every one of these fails on an OS error; the message must carry the errno's meaning, and
/// not Rust's "(os error N)", on stderr and in the JSON log engines read.
#[test]
fn errors_say_the_errno_in_words_without_os_error_n() {
    let r = Root::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("cli-errno");
    run_args(&r, &b, &["-d"], &id).ok();
    let missing = b.path().join("missing");
    let m = missing.to_str().unwrap();
    let nested_log = format!("{m}/dir/log.json");
    let cases: Vec<Vec<&str>> = vec![
        vec!["create", "--bundle", m, "errno-x"],
        vec!["--log", &nested_log, "list"],
        vec!["spec", "--bundle", m],
        vec!["exec", "--process", m, &id],
        vec!["exec", "--cwd", "/no/such/dir", &id, "true"],
        vec!["update", "--resources", m, &id],
    ];
    for args in &cases {
        let o = r.rampart(args);
        o.fails();
        assert!(
            o.stderr.contains("No such file or directory"),
            "{args:?}: {o:#?}"
        );
        assert!(!o.stderr.contains("os error"), "{args:?}: {o:#?}");
    }
    let log = b.path().join("log.json");
    let o = r.rampart(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        m,
        "errno-y",
    ]);
    o.fails();
    let text = fs::read_to_string(&log).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let msg = last["msg"].as_str().unwrap();
    assert_eq!(last["level"], "error");
    assert!(
        msg.contains("No such file or directory") && !msg.contains("os error"),
        "{msg}"
    );
    r.rampart(&["delete", "--force", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}

/// The commands `rampart --help` lists (clap's own `help` aside).
fn commands() -> Vec<String> {
    let o = run_with_timeout(
        {
            let mut c = Command::new(rampart_bin());
            c.arg("--help");
            c
        },
        std::time::Duration::from_secs(30),
    );
    o.ok();
    o.stdout
        .split("Commands:")
        .nth(1)
        .unwrap_or("")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// `make install` with the binary under test (CARGO=true: nothing is rebuilt, the recipe's
/// install steps are what is tested) into a DESTDIR of the test's own.
#[test]
fn make_install_puts_a_man_page_per_command_and_completions_that_load() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dest = TempDir::new("destdir");
    let docs = TempDir::new("docs");
    let o = run_with_timeout(
        {
            let mut c = Command::new("make");
            c.arg("-C")
                .arg(&repo)
                .arg("--no-print-directory")
                .arg("install");
            c.arg(format!("DESTDIR={}", dest.path().display()));
            c.arg("PREFIX=/usr");
            c.arg(format!("BIN={}", rampart_bin().display()));
            c.arg(format!("DOCS={}", docs.path().join("out").display()));
            c.arg("CARGO=true");
            c
        },
        std::time::Duration::from_secs(120),
    );
    o.ok();
    let usr = dest.path().join("usr");
    assert!(usr.join("bin/rampart").is_file());
    let man8 = usr.join("share/man/man8");
    let cmds = commands();
    for must in ["create", "run", "exec", "update", "delete", "checkpoint"] {
        assert!(
            cmds.iter().any(|c| c == must),
            "{must} not in --help: {cmds:?}"
        );
    }
    let mut pages = vec![("rampart".to_string(), man8.join("rampart.8"))];
    for c in &cmds {
        pages.push((format!("rampart-{c}"), man8.join(format!("rampart-{c}.8"))));
    }
    let have_man = Command::new("man").arg("--version").output().is_ok();
    for (name, page) in &pages {
        let text =
            fs::read_to_string(page).unwrap_or_else(|e| panic!("man page {}: {e}", page.display()));
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!(".TH {name} 8 "))),
            "{}: no .TH header for {name}",
            page.display()
        );
        if have_man {
            let out = Command::new("man")
                .arg("-l")
                .arg(page)
                .env("MANWIDTH", "200")
                .output()
                .unwrap();
            let shown = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "man -l {}: {out:?}", page.display());
            assert!(
                shown.contains("NAME") && shown.contains(name.as_str()),
                "{shown}"
            );
        }
    }
    let run_page = fs::read_to_string(man8.join("rampart-run.8")).unwrap();
    assert!(
        run_page.contains("keep") && run_page.contains("no\\-subreaper"),
        "{run_page}"
    );
    let bash = usr.join("share/bash-completion/completions/rampart");
    let script = format!(
        "source {}; complete -p rampart; COMP_WORDS=(rampart upd); COMP_CWORD=1; _rampart rampart upd rampart; echo \"words: ${{COMPREPLY[*]}}\"",
        bash.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(shown.contains("-F _rampart rampart"), "{shown}");
    assert!(shown.contains("words: update"), "{shown}");
    let zsh = fs::read_to_string(usr.join("share/zsh/site-functions/_rampart")).unwrap();
    assert!(zsh.starts_with("#compdef rampart"), "{zsh}");
    let fish =
        fs::read_to_string(usr.join("share/fish/vendor_completions.d/rampart.fish")).unwrap();
    assert!(fish.contains("complete -c rampart"), "{fish}");
}
