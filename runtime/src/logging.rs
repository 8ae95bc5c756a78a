//! runc-compatible logging: `--log FILE` and `--log-format text|json`. containerd shows its user
//! the last {"level":"error","msg":...} line of the JSON log, so every error goes there.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

struct Logger {
    file: Option<File>,
    format: Format,
    debug: bool,
}

static LOGGER: OnceLock<Mutex<Logger>> = OnceLock::new();

/// Sets up the global logger. Without a file, messages go to stderr.
pub fn init(path: Option<&Path>, format: Format, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
        None => None,
    };
    let _ = LOGGER.set(Mutex::new(Logger {
        file,
        format,
        debug,
    }));
    Ok(())
}

pub fn is_debug() -> bool {
    LOGGER
        .get()
        .and_then(|l| l.lock().ok().map(|l| l.debug))
        .unwrap_or(false)
}

/// True when errors already reach stderr through the logger (no log file given).
pub fn logs_to_stderr() -> bool {
    LOGGER
        .get()
        .and_then(|l| l.lock().ok().map(|l| l.file.is_none()))
        .unwrap_or(true)
}

/// A message as the user sees it: Rust's io::Error prints an OS error as its description
/// followed by " (os error N)"; runc (and this project) say the errno in words only, so the
/// suffix is cut wherever it occurs (nested errors carry one each). This is done here, where
/// every message leaves the process, because it also covers the errors of dependencies
/// (libcgroups, oci-spec, serde_json) whose Display we do not control.
pub fn errno_in_words(msg: &str) -> String {
    const MARK: &str = " (os error ";
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(MARK) {
        let after = &rest[i + MARK.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(')') {
            out.push_str(&rest[..i]);
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..i + MARK.len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

pub fn log(level: &str, msg: &str) {
    let msg = &errno_in_words(msg);
    let Some(lock) = LOGGER.get() else {
        if level != "debug" {
            let _ = writeln!(std::io::stderr(), "{level}: {msg}");
        }
        return;
    };
    let Ok(mut l) = lock.lock() else { return };
    if level == "debug" && !l.debug {
        return;
    }
    let line = match l.format {
        Format::Json => format!(
            "{}\n",
            serde_json::json!({"level": level, "msg": msg, "time": rfc3339_now()})
        ),
        Format::Text => format!("time=\"{}\" level={} msg={:?}\n", rfc3339_now(), level, msg),
    };
    match l.file.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

pub fn error(msg: &str) {
    log("error", msg)
}
pub fn warn(msg: &str) {
    log("warning", msg)
}
pub fn debug(msg: &str) {
    log("debug", msg)
}

/// Current UTC time as RFC 3339 with nanoseconds, without pulling in a date crate.
pub fn rfc3339_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), after H. Hinnant's public-domain algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        y,
        m,
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        nanos
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn os_error_suffixes_become_words_only() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        let msg = format!(
            "reading /x: {e}: while creating: {}",
            std::io::Error::from_raw_os_error(libc::EACCES)
        );
        // What Rust's Display gives, and what must not reach the user.
        assert!(msg.contains("directory (os error 2)"), "{msg}");
        assert_eq!(
            super::errno_in_words(&msg),
            "reading /x: No such file or directory: while creating: Permission denied"
        );
        // Only the exact suffix goes: other parentheses stay.
        for keep in [
            "a (os error )",
            "a (os error 2",
            "(pid 3) x",
            "a (os error x)",
        ] {
            assert_eq!(super::errno_in_words(keep), keep);
        }
    }

    #[test]
    fn formats_dates() {
        assert_eq!(super::rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            super::rfc3339(1_798_329_600, 5),
            "2026-12-27T00:00:00.000000005Z"
        );
        assert_eq!(
            super::rfc3339(951_782_400, 0),
            "2000-02-29T00:00:00.000000000Z"
        );
    }
}
