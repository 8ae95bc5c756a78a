//! Bad input: each broken config (or id) gives a clear error on stderr (or as a JSON line in the
//! --log file), a non-zero exit, and leaves no state, mount, cgroup or process behind.
use rampart_integration::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::fs;

/// `run` of the bundle under `id` must fail with every `needles` in stderr and leave nothing.
#[track_caller]
fn fails_with(b: &Bundle, id: &str, needles: &[&str]) -> Out {
    let r = Root::new();
    let o = r.run(b, id);
    o.fails();
    for n in needles {
        assert!(o.stderr.contains(n), "stderr lacks {n:?}: {o:#?}");
    }
    assert!(!o.stderr.contains("panicked"), "{o:#?}");
    assert!(
        r.ids().is_empty(),
        "a container is listed after a failed run"
    );
    assert_nothing_left(&r, b, id);
    assert!(
        processes_containing(id).is_empty(),
        "a process of {id} is left"
    );
    // The same through `create`.
    let o2 = r.rampart(&[
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(id),
    ]);
    o2.fails();
    assert_nothing_left(&r, b, id);
    assert!(
        processes_containing(id).is_empty(),
        "a process of {id} is left"
    );
    o
}

fn bundle_with(f: impl FnOnce(&mut Value)) -> Bundle {
    let mut b = Bundle::new(&["true"]);
    b.edit(f);
    b
}

#[test]
fn malformed_json_names_line_and_column() {
    let b = Bundle::new(&["true"]);
    fs::write(
        b.path().join("config.json"),
        "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\"args\": [\"true\",]}\n}\n",
    )
    .unwrap();
    fails_with(&b, &unique("json"), &["config.json", "line 3", "column"]);
}

#[test]
fn wrong_field_type_names_line_and_column() {
    let b = Bundle::new(&["true"]);
    fs::write(
        b.path().join("config.json"),
        "{\"ociVersion\": \"1.0.2\",\n\"root\": 7}",
    )
    .unwrap();
    fails_with(&b, &unique("jsontype"), &["line 2", "column"]);
}

#[test]
fn missing_config_json() {
    let b = Bundle::new(&["true"]);
    fs::remove_file(b.path().join("config.json")).unwrap();
    fails_with(&b, &unique("noconfig"), &["config.json"]);
}

#[test]
fn missing_rootfs() {
    let b = bundle_with(|c| c["root"]["path"] = json!("no-such-rootfs"));
    fails_with(&b, &unique("norootfs"), &["no-such-rootfs"]);
}

#[test]
fn unknown_capability_is_left_out_with_a_warning() {
    // runc's behaviour: a name it does not know is warned about and skipped, so a config that
    // lists a newer kernel's capabilities still runs.
    let b = bundle_with(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = json!(["CAP_KILL", "CAP_NOPE"]);
        }
        c["process"]["args"] = json!(["grep", "CapBnd", "/proc/self/status"]);
    });
    let r = Root::new();
    let o = r.run(&b, &unique("badcap"));
    o.ok();
    assert!(o.stderr.contains("CAP_NOPE"), "{o:#?}");
    assert!(o.stderr.contains("left out"), "{o:#?}");
    // CAP_KILL (bit 5) and nothing else.
    assert!(o.stdout.contains("0000000000000020"), "{o:#?}");
}

#[test]
fn unknown_namespace_type() {
    let b = bundle_with(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "nopens"}))
    });
    fails_with(&b, &unique("badns"), &["nopens"]);
}

#[test]
fn relative_mount_destination() {
    let b = bundle_with(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "relative/dir", "type": "tmpfs", "source": "tmpfs"}))
    });
    fails_with(&b, &unique("relmnt"), &["relative/dir", "absolute"]);
}

#[test]
fn relative_cwd() {
    let b = bundle_with(|c| c["process"]["cwd"] = json!("tmp"));
    fails_with(&b, &unique("relcwd"), &["cwd", "absolute"]);
}

#[test]
fn empty_args() {
    let b = bundle_with(|c| c["process"]["args"] = json!([]));
    fails_with(&b, &unique("noargs"), &["args"]);
}

#[test]
fn missing_executable() {
    let b = bundle_with(|c| c["process"]["args"] = json!(["no-such-binary", "x"]));
    fails_with(
        &b,
        &unique("noexe"),
        &["no-such-binary", "executable file not found in $PATH"],
    );
    let b = bundle_with(|c| c["process"]["args"] = json!(["/bin/no-such-binary"]));
    fails_with(&b, &unique("noexe-abs"), &["/bin/no-such-binary"]);
}

#[test]
fn bad_ids_are_refused() {
    let b = Bundle::new(&["true"]);
    let r = Root::new();
    for id in ["../escape", "a/b", ".hidden", "with space", ""] {
        let o = r.run(&b, id);
        o.fails();
        assert!(o.stderr.contains("invalid"), "id {id:?}: {o:#?}");
        assert!(
            !r.path().join("escape").exists()
                && !r.path().parent().unwrap().join("escape").exists()
        );
    }
    assert!(r.ids().is_empty());
    let o = r.rampart(&["state", "../x"]);
    o.fails();
    assert!(o.stderr.contains("invalid"), "{o:#?}");
}

#[test]
fn errors_go_to_the_json_log() {
    let r = Root::new();
    let b = bundle_with(|c| c["root"]["path"] = json!("no-such-rootfs"));
    let log = b.path().join("rampart.log");
    let id = unique("jsonlog");
    let o = r.rampart(&[
        OsStr::new("--log"),
        log.as_os_str(),
        OsStr::new("--log-format"),
        OsStr::new("json"),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.fails();
    let text = fs::read_to_string(&log).unwrap();
    let last = text
        .lines()
        .last()
        .unwrap_or_else(|| panic!("empty log; {o:#?}"));
    let v: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON: {last}: {e}"));
    assert_eq!(v["level"], "error", "{last}");
    assert!(
        v["msg"].as_str().unwrap().contains("no-such-rootfs"),
        "{last}"
    );
    let time = v["time"].as_str().unwrap();
    // RFC 3339: 2026-11-27T03:25:24.431496546Z
    assert!(
        time.len() >= 20 && &time[4..5] == "-" && &time[10..11] == "T",
        "{time}"
    );
    assert_nothing_left(&r, &b, &id);

    // A failure found inside the init (missing executable) reaches the log the same way.
    let b = bundle_with(|c| c["process"]["args"] = json!(["no-such-binary"]));
    let log = b.path().join("rampart.log");
    let id = unique("jsonlog");
    let o = r.rampart(&[
        OsStr::new("--log"),
        log.as_os_str(),
        OsStr::new("--log-format=json"),
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    o.fails();
    let text = fs::read_to_string(&log).unwrap();
    let v: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(v["level"], "error");
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("executable file not found"),
        "{text}"
    );
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn an_oci_version_that_is_not_a_version_is_refused() {
    let b = bundle_with(|c| c["ociVersion"] = json!("invalid"));
    fails_with(
        &b,
        &unique("badver"),
        &["ociVersion", "invalid", "is not a version"],
    );
    let b = bundle_with(|c| c["ociVersion"] = json!("1.0.2-dev"));
    let r = Root::new();
    r.run(&b, &unique("devver")).ok();
}

#[test]
fn intel_rdt_without_resctrl_is_an_error_before_anything_is_made() {
    // This host has no resctrl mount (no RDT in its CPU): the runtime-spec says the runtime
    // MUST then fail, whatever the section asks for.
    if std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(" - resctrl ")
    {
        panic!("this host has resctrl mounted: this test assumes it has not");
    }
    for rdt in [
        json!({"closID": "rampart-test"}),
        json!({"l3CacheSchema": "L3:0=f"}),
        json!({"schemata": ["MB:0=50"], "enableMonitoring": true}),
    ] {
        let b = bundle_with(|c| c["linux"]["intelRdt"] = rdt.clone());
        let id = unique("rdt");
        fails_with(
            &b,
            &id,
            &["linux.intelRdt", "no resctrl filesystem mounted"],
        );
    }
    // A malformed section is refused for what it is, resctrl or not.
    let b = bundle_with(|c| c["linux"]["intelRdt"] = json!({"l3CacheSchema": "L3"}));
    fails_with(
        &b,
        &unique("rdt-bad"),
        &["schemata line", "L3", "is not RESOURCE:DOMAIN=VALUE"],
    );
}

#[test]
fn linux_personality_applies_to_the_init_and_to_exec() {
    let r = Root::new();
    let b = bundle_with(|c| {
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
        c["process"]["args"] = json!([
            "sh",
            "-c",
            "cat /proc/self/personality; uname -m; sleep 300"
        ]);
    });
    let id = unique("persona");
    r.rampart(&["run", "-d", "--bundle", b.path().to_str().unwrap(), &id])
        .ok();
    // PER_LINUX32 is 0x0008; uname then reports a 32-bit machine.
    let o = r.rampart(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/self/personality; uname -m",
    ]);
    o.ok();
    assert_eq!(o.stdout, "00000008\ni686\n", "{o:#?}");
    let init = r.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(
        fs::read_to_string(format!("/proc/{init}/personality")).unwrap(),
        "00000008\n"
    );
    r.rampart(&["delete", "--force", &id]).ok();
    // LINUX is the default domain; flags are not defined by the spec and are refused.
    let b = bundle_with(|c| {
        c["linux"]["personality"] = json!({"domain": "LINUX"});
        c["process"]["args"] = json!(["cat", "/proc/self/personality"]);
    });
    assert_eq!(run_ok(&r, &b, &unique("persona0")), "00000000\n");
    let b = bundle_with(|c| {
        c["linux"]["personality"] = json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]})
    });
    fails_with(&b, &unique("personaflags"), &["personality.flags"]);
}
