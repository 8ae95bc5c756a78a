//! Loading a bundle's config.json. Errors carry the line and column serde saw, so a user can find
//! the bad spot in a hand-written config.

use oci_spec::runtime::Spec;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("bundle {path}: {source}")]
    Bundle {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a regular file: a config must be one (a FIFO or device would block or have side effects)")]
    NotRegular { path: PathBuf },
    #[error("{path}: {size} bytes, more than the {MAX_CONFIG_BYTES} a config may have")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path}: invalid config at line {line}, column {column}: {msg}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        msg: String,
    },
}

/// Makes the bundle path absolute (the state keeps it, and later commands run from other cwds).
pub fn bundle_dir(bundle: &Path) -> Result<PathBuf, SpecError> {
    std::fs::canonicalize(bundle).map_err(|source| SpecError::Bundle {
        path: bundle.to_path_buf(),
        source,
    })
}

/// Reads and parses `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Spec, SpecError> {
    load_with_bytes(bundle).map(|(s, _)| s)
}

/// `load`, also returning the file's bytes: they are saved as they are for exec, because fields
/// oci-spec does not model (process.landlock) would be lost by re-serialising the `Spec`.
pub fn load_with_bytes(bundle: &Path) -> Result<(Spec, Vec<u8>), SpecError> {
    let path = bundle.join("config.json");
    let bytes = read_config(&path)?;
    let spec = parse(&path, &bytes)?;
    Ok((spec, bytes))
}

/// The most a config.json may hold: real ones are a few KiB (a full seccomp profile included), so
/// this only stops a hostile bundle from making the runtime read without bound.
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Reads config.json, which must be a regular file: it is opened non-blocking (a FIFO would
/// otherwise block the open itself) and checked on the descriptor before anything is read.
pub(crate) fn read_config(path: &Path) -> Result<Vec<u8>, SpecError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read_err = |source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_err)?;
    let meta = f.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(SpecError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(SpecError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let mut bytes = Vec::new();
    f.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(SpecError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

pub fn parse(path: &Path, bytes: &[u8]) -> Result<Spec, SpecError> {
    let first = match serde_json::from_slice(bytes) {
        Ok(spec) => return Ok(spec),
        Err(e) => e,
    };
    // A capability name this build does not know (a newer kernel's, or a typo) is dropped with
    // a warning, as runc does: leaving out a capability the kernel may not even have is
    // harmless, while refusing the whole config breaks engines that list every name they know.
    if let Some(spec) = without_unknown_capabilities(bytes) {
        return Ok(spec);
    }
    Err(SpecError::Parse {
        path: path.to_path_buf(),
        line: first.line(),
        column: first.column(),
        msg: strip_position(&first.to_string()),
    })
}

/// The config parsed after removing from process.capabilities every name that is not a known
/// capability (each removal logged). None when nothing was removed or it still does not parse.
fn without_unknown_capabilities(bytes: &[u8]) -> Option<Spec> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let sets = v.pointer_mut("/process/capabilities")?.as_object_mut()?;
    let mut dropped = Vec::new();
    for (set, names) in sets.iter_mut() {
        let Some(list) = names.as_array_mut() else {
            continue;
        };
        list.retain(|n| {
            let known = n
                .as_str()
                .is_some_and(|name| name.parse::<caps::Capability>().is_ok());
            if !known {
                dropped.push(format!("{set}: {n}"));
            }
            known
        });
    }
    if dropped.is_empty() {
        return None;
    }
    let spec = serde_json::from_value(v).ok()?;
    for d in dropped {
        crate::logging::warn(&format!(
            "process.capabilities.{d} is not a capability this runtime knows; it is left out"
        ));
    }
    Some(spec)
}

/// serde_json appends " at line L column C" to its messages; we print the position ourselves.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_line_and_column() {
        let err = parse(Path::new("c.json"), b"{\n  \"ociVersion\": 1.0,\n").unwrap_err();
        match err {
            SpecError::Parse { line, .. } => assert_eq!(line, 2),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn unknown_capability_is_left_out() {
        let cfg = br#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"cwd":"/","capabilities":{"bounding":["CAP_NOPE","CAP_KILL"]}}}"#;
        let spec = parse(Path::new("c.json"), cfg).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        let b: Vec<String> = caps
            .bounding()
            .iter()
            .flatten()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(b, ["KILL"]);
        // Any other error is still the parser's, with its position.
        let bad = br#"{"ociVersion":"1.0.2","process":{"user":{"uid":"x"},"cwd":"/","capabilities":{"bounding":["CAP_NOPE"]}}}"#;
        assert!(parse(Path::new("c.json"), bad).is_err());
    }
}
