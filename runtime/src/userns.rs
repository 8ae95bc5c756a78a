//! User-namespace id mappings: the runtime (in the parent user namespace) writes the init's
//! uid_map and gid_map after clone and before letting it go on. `scratch_namespace` makes a
//! user namespace with given mappings for an idmapped mount (see `mounts::prepare_idmapped`).

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("a user namespace needs uidMappings and gidMappings")]
    MissingMappings,
    #[error("uidMappings/gidMappings given without a new user namespace")]
    MappingsWithoutNamespace,
    #[error("writing {path}: {err}")]
    Write { path: PathBuf, err: io::Error },
    #[error("{field} entry containerID {container} hostID {host} size {size}: the range runs past the 32-bit ids")]
    RangeOverflow {
        field: &'static str,
        container: u32,
        host: u32,
        size: u32,
    },
    #[error("{field}: the {side} ranges {}-{} and {}-{} overlap; the kernel takes each id once", .a.0, .a.1, .b.0, .b.1)]
    Overlap {
        field: &'static str,
        side: &'static str,
        a: (u64, u64),
        b: (u64, u64),
    },
    #[error("{field} entry containerID {container} hostID {host} has size 0: it maps no id")]
    EmptyRange {
        field: &'static str,
        container: u32,
        host: u32,
    },
    #[error("{field}: {count} entries; the kernel takes at most {MAX_ENTRIES}")]
    TooMany { field: &'static str, count: usize },
    #[error("starting a helper process in a new user namespace (clone CLONE_NEWUSER): {0}")]
    Helper(io::Error),
    #[error("opening the helper's user namespace {path}: {err}")]
    OpenNamespace { path: PathBuf, err: io::Error },
    #[error("{field} maps more than the caller's own {what} {own}: an unprivileged caller needs {tool} (Debian's uidmap package) and ranges for it in {ranges}, and {tool} is not installed")]
    NoHelper {
        field: &'static str,
        what: &'static str,
        own: u32,
        tool: &'static str,
        ranges: &'static str,
    },
    #[error("running {tool}: {err}")]
    HelperStart { tool: &'static str, err: io::Error },
    #[error(
        "{command} failed ({status}): {stderr}; the mapping needs ranges for this user in {ranges}"
    )]
    HelperFailed {
        command: String,
        status: String,
        stderr: String,
        ranges: &'static str,
    },
}

/// Lines a uid_map or gid_map may hold (Linux 4.15 and later).
pub const MAX_ENTRIES: usize = 340;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// `field` (uidMappings or gidMappings) as the kernel will take it: a range must end within
/// 32-bit ids, as the kernel requires (it would refuse the write only after clone).
pub fn plan(
    field: &'static str,
    list: &[oci_spec::runtime::LinuxIdMapping],
) -> Result<Vec<IdMap>, UsernsError> {
    list.iter()
        .map(|m| {
            let map = IdMap {
                container: m.container_id(),
                host: m.host_id(),
                size: m.size(),
            };
            if map.size == 0 {
                // The kernel refuses such a line when the map is written, after clone.
                return Err(UsernsError::EmptyRange {
                    field,
                    container: map.container,
                    host: map.host,
                });
            }
            let fits = |start: u32| start.checked_add(map.size).is_some();
            if !fits(map.container) || !fits(map.host) {
                return Err(UsernsError::RangeOverflow {
                    field,
                    container: map.container,
                    host: map.host,
                    size: map.size,
                });
            }
            Ok(map)
        })
        .collect()
}

/// The checks the kernel makes when the map is written, made at plan time instead: no id may
/// appear in two ranges on either side, and at most [`MAX_ENTRIES`] lines.
pub fn check_disjoint(field: &'static str, maps: &[IdMap]) -> Result<(), UsernsError> {
    if maps.len() > MAX_ENTRIES {
        return Err(UsernsError::TooMany {
            field,
            count: maps.len(),
        });
    }
    let show = |start: u32, size: u32| (u64::from(start), u64::from(start) + u64::from(size));
    for (i, a) in maps.iter().enumerate() {
        for b in &maps[i + 1..] {
            let overlaps = |x: u32, y: u32| {
                let (x, y) = (u64::from(x), u64::from(y));
                x < y + u64::from(b.size) && y < x + u64::from(a.size)
            };
            for (side, x, y) in [
                ("containerID", a.container, b.container),
                ("hostID", a.host, b.host),
            ] {
                if a.size > 0 && b.size > 0 && overlaps(x, y) {
                    return Err(UsernsError::Overlap {
                        field,
                        side,
                        a: show(x, a.size),
                        b: show(y, b.size),
                    });
                }
            }
        }
    }
    Ok(())
}

/// A user namespace with the given mappings, as an fd of its nsfs file: the user namespace an
/// idmapped mount translates ids through. A helper child is cloned into a new user namespace,
/// its maps are written from here, its ns/user is opened, and it is killed and reaped before
/// this returns (the open fd keeps the namespace alive on its own).
pub fn scratch_namespace(uids: &[IdMap], gids: &[IdMap]) -> Result<OwnedFd, UsernsError> {
    let pid = crate::syscalls::park_in_new_user_namespace().map_err(UsernsError::Helper)?;
    let made = write_maps(pid, uids, gids).and_then(|()| {
        let path = PathBuf::from(format!("/proc/{pid}/ns/user"));
        crate::syscalls::open(&path, libc::O_RDONLY | libc::O_CLOEXEC, 0)
            .map_err(|err| UsernsError::OpenNamespace { path, err })
    });
    crate::syscalls::kill_and_reap(pid);
    made
}

fn render(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

/// Writes /proc/<pid>/uid_map and gid_map (one write each, as the kernel requires).
pub fn write_maps(pid: i32, uids: &[IdMap], gids: &[IdMap]) -> Result<(), UsernsError> {
    for (file, maps) in [("uid_map", uids), ("gid_map", gids)] {
        write_proc(pid, file, &render(maps))?;
    }
    Ok(())
}

fn write_proc(pid: i32, file: &str, text: &str) -> Result<(), UsernsError> {
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    std::fs::write(&path, text).map_err(|err| UsernsError::Write { path, err })
}

/// True when the runtime runs without root's effective uid. Such a caller holds no CAP_SETUID
/// over the host's ids: the kernel lets it write a child's maps only when they map its own
/// single uid and gid (and setgroups is denied first); anything more goes through the setuid
/// helpers newuidmap/newgidmap, which check /etc/subuid and /etc/subgid.
pub fn caller_is_unprivileged() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() != 0 }
}

/// True inside a user namespace other than the initial one: uid_map is not the identity map of
/// all 2^32-1 ids.
pub fn in_user_namespace() -> bool {
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(text) => {
            let fields: Vec<&str> = text.split_whitespace().collect();
            fields != ["0", "0", "4294967295"]
        }
        Err(_) => false,
    }
}

/// How one of the maps gets written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    /// By the runtime itself: it is privileged, or the map is its own single id.
    Direct,
    /// Through newuidmap/newgidmap.
    Helper,
}

fn writer_for(maps: &[IdMap], own: u32, unprivileged: bool) -> Writer {
    let own_only = matches!(maps, [m] if m.size == 1 && m.host == own);
    if !unprivileged || own_only {
        Writer::Direct
    } else {
        Writer::Helper
    }
}

/// The mapping helper `tool` (newuidmap or newgidmap) in PATH or the usual places.
fn find_helper(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// What [`write_maps_as_caller`] will need, checked before any process is made: an unprivileged
/// caller whose maps go beyond its own ids must have the helpers installed.
pub fn check_writable(uids: &[IdMap], gids: &[IdMap]) -> Result<(), UsernsError> {
    let unprivileged = caller_is_unprivileged();
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    for (field, what, maps, own, tool, ranges) in [
        ("uidMappings", "uid", uids, uid, "newuidmap", "/etc/subuid"),
        ("gidMappings", "gid", gids, gid, "newgidmap", "/etc/subgid"),
    ] {
        if writer_for(maps, own, unprivileged) == Writer::Helper && find_helper(tool).is_none() {
            return Err(UsernsError::NoHelper {
                field,
                what,
                own,
                tool,
                ranges,
            });
        }
    }
    Ok(())
}

/// Writes the init's maps with what the caller has: directly when privileged; otherwise its own
/// single uid/gid directly (after "deny" in setgroups, which the kernel demands for an
/// unprivileged gid_map, so nobody inside can drop a group the host used to deny access), and
/// any other mapping through newuidmap/newgidmap.
pub fn write_maps_as_caller(pid: i32, uids: &[IdMap], gids: &[IdMap]) -> Result<(), UsernsError> {
    let unprivileged = caller_is_unprivileged();
    if !unprivileged {
        return write_maps(pid, uids, gids);
    }
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    match writer_for(uids, uid, true) {
        Writer::Direct => write_proc(pid, "uid_map", &render(uids))?,
        Writer::Helper => run_helper("newuidmap", pid, uids, "/etc/subuid")?,
    }
    match writer_for(gids, gid, true) {
        Writer::Direct => {
            write_proc(pid, "setgroups", "deny")?;
            write_proc(pid, "gid_map", &render(gids))?;
        }
        Writer::Helper => run_helper("newgidmap", pid, gids, "/etc/subgid")?,
    }
    Ok(())
}

fn run_helper(
    tool: &'static str,
    pid: i32,
    maps: &[IdMap],
    ranges: &'static str,
) -> Result<(), UsernsError> {
    let exe = find_helper(tool).ok_or(UsernsError::HelperStart {
        tool,
        err: io::ErrorKind::NotFound.into(),
    })?;
    let mut args = vec![pid.to_string()];
    for m in maps {
        args.extend([m.container, m.host, m.size].map(|n| n.to_string()));
    }
    let out = std::process::Command::new(&exe)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|err| UsernsError::HelperStart { tool, err })?;
    if out.status.success() {
        return Ok(());
    }
    Err(UsernsError::HelperFailed {
        command: format!("{} {}", exe.display(), args.join(" ")),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ranges,
    })
}

/// Maps a container uid to the host uid, for chown'ing things the runtime creates.
pub fn to_host(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter()
        .find(|m| id >= m.container && id - m.container < m.size)
        .and_then(|m| m.host.checked_add(id - m.container))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(container: u32, host: u32, size: u32) -> Vec<oci_spec::runtime::LinuxIdMapping> {
        serde_json::from_value(serde_json::json!([
            {"containerID": container, "hostID": host, "size": size}
        ]))
        .unwrap()
    }

    #[test]
    fn ranges_must_end_within_32_bit_ids() {
        assert!(plan("uidMappings", &maps(0, 100000, 65536)).is_ok());
        assert!(plan("uidMappings", &maps(0, u32::MAX - 1, 1)).is_ok());
        assert!(plan("uidMappings", &maps(0, u32::MAX, 1)).is_err());
        assert!(plan("gidMappings", &maps(u32::MAX - 1, 0, 2)).is_err());
        assert!(matches!(
            plan("uidMappings", &maps(0, 1000, 0)),
            Err(UsernsError::EmptyRange { .. })
        ));
        let m = [IdMap {
            container: 0,
            host: u32::MAX,
            size: u32::MAX,
        }];
        // A map that did not come through plan still cannot wrap.
        assert_eq!(to_host(&m, 5), None);
    }

    fn m(container: u32, host: u32, size: u32) -> IdMap {
        IdMap {
            container,
            host,
            size,
        }
    }

    #[test]
    fn only_the_callers_own_single_id_is_written_without_a_helper() {
        assert_eq!(writer_for(&[m(0, 1000, 1)], 1000, true), Writer::Direct);
        assert_eq!(writer_for(&[m(5, 1000, 1)], 1000, true), Writer::Direct);
        assert_eq!(writer_for(&[m(0, 1001, 1)], 1000, true), Writer::Helper);
        assert_eq!(writer_for(&[m(0, 1000, 2)], 1000, true), Writer::Helper);
        assert_eq!(
            writer_for(&[m(0, 1000, 1), m(1, 100000, 65536)], 1000, true),
            Writer::Helper
        );
        // A privileged caller writes any map itself.
        assert_eq!(writer_for(&[m(0, 100000, 65536)], 0, false), Writer::Direct);
    }

    #[test]
    fn overlapping_ranges_are_refused_on_either_side() {
        assert!(check_disjoint("uidMappings", &[m(0, 1000, 10), m(10, 2000, 5)]).is_ok());
        let err = check_disjoint("uidMappings", &[m(0, 1000, 10), m(9, 2000, 5)]).unwrap_err();
        assert!(
            err.to_string().contains("containerID ranges 0-10 and 9-14"),
            "{err}"
        );
        let err = check_disjoint("gidMappings", &[m(0, 1000, 10), m(20, 1005, 1)]).unwrap_err();
        assert!(err.to_string().contains("hostID"), "{err}");
        // The last id of the 32-bit range does not wrap into the first.
        assert!(check_disjoint("uidMappings", &[m(u32::MAX - 1, 0, 1), m(0, 5, 1)]).is_ok());
        let many: Vec<IdMap> = (0..=MAX_ENTRIES as u32).map(|i| m(i, i, 1)).collect();
        assert!(matches!(
            check_disjoint("uidMappings", &many),
            Err(UsernsError::TooMany { .. })
        ));
    }
}
