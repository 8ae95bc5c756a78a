//! /proc/PID/mountinfo: one parser for every reader (the cgroup hierarchies, resctrl, the audit
//! read-back, `rampart check`).
//!
//! A line (proc(5)) is `ID PARENT MAJ:MIN ROOT MOUNT_POINT MOUNT_OPTS [OPTIONAL...] - FSTYPE
//! SOURCE SUPER_OPTS`. The optional fields vary in number, so the line is split at " - " first.
//! The kernel writes space, tab, newline and backslash in paths as `\ooo`; roots and mount points
//! are given unescaped.

/// The fields of one mount that the runtime uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The root of the mount inside its filesystem (`/null` for a bind of /dev/null).
    pub root: String,
    pub mount_point: String,
    /// Per-mount options (`ro`, `nosuid`...); empty if the line has none.
    pub mount_opts: String,
    pub fstype: String,
    pub source: String,
    /// Per-superblock options (a v1 cgroup's controllers); empty if the line has none.
    pub super_opts: String,
}

impl Mount {
    /// The mount is read-only (per mount).
    pub fn read_only(&self) -> bool {
        self.mount_opts.split(',').any(|o| o == "ro")
    }
}

/// The mounts of a mountinfo text, in order (a later line was mounted later). Lines without a
/// mount point or a filesystem type are skipped.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let root = l.nth(3)?;
    let mount_point = l.next()?;
    let mount_opts = l.next().unwrap_or("");
    let mut r = right.split(' ');
    let fstype = r.next().filter(|t| !t.is_empty())?;
    Some(Mount {
        root: unescape(root),
        mount_point: unescape(mount_point),
        mount_opts: mount_opts.to_string(),
        fstype: fstype.to_string(),
        source: r.next().unwrap_or("").to_string(),
        super_opts: r.next().unwrap_or("").to_string(),
    })
}

/// Undoes the kernel's `\ooo` escapes; anything else (a lone backslash, a value above 255) is
/// kept as written.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) if b[i] == b'\\' => {
                let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                match u8::try_from(v) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 4;
                    }
                    Err(_) => {
                        out.push(b[i]);
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_and_without_optional_fields() {
        let m = parse(
            "36 35 98:0 /mnt1 /mnt\\040x rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n\
             22 1 0:21 / /proc rw - proc proc\n\
             no separator here\n\
             1 2 3 /\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].root, "/mnt1");
        assert_eq!(m[0].mount_point, "/mnt x");
        assert_eq!(m[0].mount_opts, "rw,noatime");
        assert_eq!(m[0].fstype, "ext3");
        assert_eq!(m[0].source, "/dev/root");
        assert_eq!(m[0].super_opts, "rw,errors=continue");
        assert!(!m[0].read_only());
        assert_eq!(m[1].super_opts, "");
    }

    #[test]
    fn unescape_keeps_what_is_no_escape() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/a\134"), r"/a\");
        assert_eq!(unescape(r"/a\\"), r"/a\\");
        assert_eq!(unescape(r"/a\04"), r"/a\04");
        // \777 is above a byte: kept, no overflow.
        assert_eq!(unescape(r"/a\777"), r"/a\777");
    }
}
