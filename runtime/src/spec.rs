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
    let bytes = std::fs::read(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    let spec = parse(&path, &bytes)?;
    Ok((spec, bytes))
}

pub fn parse(path: &Path, bytes: &[u8]) -> Result<Spec, SpecError> {
    serde_json::from_slice(bytes).map_err(|e| SpecError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        msg: strip_position(&e.to_string()),
    })
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
    fn unknown_capability_is_an_error() {
        let cfg = br#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"cwd":"/","capabilities":{"bounding":["CAP_NOPE"]}}}"#;
        let err = parse(Path::new("c.json"), cfg).unwrap_err().to_string();
        assert!(err.contains("NOPE"), "{err}");
    }
}
