//! The findings of `audit` as text (for people), JSON (rampart's own shape, documented in
//! docs/audit-rules.md) and SARIF 2.1.0 (for code-scanning services and CI).

use super::{policy::Level, rules, Finding, Report, Severity};
use serde_json::{json, Value};

fn level_name(l: Option<Level>) -> Value {
    l.map_or(Value::Null, |l| json!(l.name()))
}

fn count(r: &Report, s: Severity) -> usize {
    r.findings.iter().filter(|f| f.severity == s).count()
}

fn violations(r: &Report, policy: Level) -> usize {
    r.findings.iter().filter(|f| f.violates(policy)).count()
}

/// Human-readable: one block per finding, then a summary line.
pub fn text(r: &Report, policy: Level) -> String {
    let mut out = format!("audit of {}\n", r.config.display());
    for f in &r.findings {
        let rule = rules::rule(f.id);
        let refused = match f.level {
            Some(_) if f.violates(policy) => format!("  [violates {}]", policy.name()),
            Some(l) => format!("  [refused by {}]", l.name()),
            None => String::new(),
        };
        out += &format!(
            "{} {:<8} {}: {}{refused}\n",
            f.id,
            f.severity.name(),
            f.path,
            f.message
        );
        if let Some(rule) = rule {
            out += &format!("    why: {}\n    fix: {}\n", rule.why, rule.fix);
        }
    }
    out += &format!(
        "{} finding{}: {} critical, {} high, {} medium, {} low",
        r.findings.len(),
        if r.findings.len() == 1 { "" } else { "s" },
        count(r, Severity::Critical),
        count(r, Severity::High),
        count(r, Severity::Medium),
        count(r, Severity::Low)
    );
    if policy != Level::Privileged {
        out += &format!(
            "; policy {}: {} violations",
            policy.name(),
            violations(r, policy)
        );
    }
    out + "\n"
}

/// rampart's JSON report (shape in docs/audit-rules.md).
pub fn json(r: &Report, policy: Level) -> Value {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let rule = rules::rule(f.id);
            json!({
                "id": f.id,
                "name": rule.map(|r| r.name),
                "severity": f.severity.name(),
                "path": f.path,
                "message": f.message,
                "why": rule.map(|r| r.why),
                "fix": rule.map(|r| r.fix),
                "sources": rule.map(|r| r.sources),
                "level": level_name(f.level),
                "violation": f.violates(policy),
            })
        })
        .collect();
    json!({
        "tool": "rampart",
        "version": env!("CARGO_PKG_VERSION"),
        // Lossy: a path that is not UTF-8 must not empty the whole report.
        "bundle": r.bundle.to_string_lossy(),
        "config": r.config.to_string_lossy(),
        "policy": policy.name(),
        "findings": findings,
        "summary": {
            "critical": count(r, Severity::Critical),
            "high": count(r, Severity::High),
            "medium": count(r, Severity::Medium),
            "low": count(r, Severity::Low),
            "violations": violations(r, policy),
        }
    })
}

/// SARIF's result level for a severity.
fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The `security-severity` property code-scanning services sort by (CVSS-like 0.0-10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

/// A file path as a `file://` URI: every byte outside RFC 3986's unreserved set and `/` is
/// percent-encoded, so the URI is valid whatever the path holds.
fn file_uri(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut s = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s += &format!("%{b:02X}");
        }
    }
    s
}

fn sarif_result(f: &Finding, policy: Level, uri: &str) -> Value {
    let index = rules::RULES.iter().position(|r| r.id == f.id);
    json!({
        "ruleId": f.id,
        "ruleIndex": index,
        "level": sarif_level(f.severity),
        "message": {"text": format!("{}: {}", f.path, f.message)},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": uri}},
            "logicalLocations": [{"fullyQualifiedName": f.path, "kind": "property"}]
        }],
        "properties": {
            "severity": f.severity.name(),
            "security-severity": security_severity(f.severity),
            "jsonPointer": f.path,
            "level": level_name(f.level),
            "violation": f.violates(policy),
        }
    })
}

/// A SARIF 2.1.0 log with one run: every rule of the catalogue, and one result per finding.
pub fn sarif(r: &Report, policy: Level) -> Value {
    let uri = file_uri(&r.config);
    let rules: Vec<Value> = rules::RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.why},
                "help": {"text": format!("{} (sources: {})", rule.fix, rule.sources)},
                "defaultConfiguration": {"level": sarif_level(rule.severity)},
                "properties": {
                    "tags": ["security", "container"],
                    "security-severity": security_severity(rule.severity),
                    "severity": rule.severity.name(),
                    "level": level_name(rule.level),
                    "sources": rule.sources,
                }
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| sarif_result(f, policy, &uri))
        .collect();
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rampart",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "artifacts": [{"location": {"uri": uri}}],
            "results": results,
            "properties": {"policy": policy.name()},
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn report() -> Report {
        let mut c = crate::default_spec::generate(false, 0, 0).unwrap();
        c["root"]["readonly"] = json!(false);
        Report {
            bundle: PathBuf::from("/b x"),
            config: PathBuf::from("/b x/config.json"),
            findings: super::super::checks::check(&c, std::path::Path::new("/b x"), None),
        }
    }

    #[test]
    fn json_and_sarif_carry_every_finding() {
        let r = report();
        let j = json(&r, Level::Restricted);
        let n = r.findings.len();
        assert_eq!(j["findings"].as_array().unwrap().len(), n);
        let ro = j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "RA140")
            .unwrap();
        assert_eq!(ro["violation"], true);
        assert_eq!(ro["path"], "/root/readonly");
        assert_eq!(j["summary"]["violations"], 1);
        let s = sarif(&r, Level::Restricted);
        let results = s["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), n);
        for res in results {
            let i = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(
                s["runs"][0]["tool"]["driver"]["rules"][i]["id"],
                res["ruleId"]
            );
        }
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///b%20x/config.json"
        );
        assert!(text(&r, Level::Restricted).contains("RA140 medium   /root/readonly"));
    }
}
