//! User-namespace id mappings: the runtime (in the parent user namespace) writes the init's
//! uid_map and gid_map after clone and before letting it go on.

use std::io;
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
}

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

fn render(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

/// Writes /proc/<pid>/uid_map and gid_map (one write each, as the kernel requires).
pub fn write_maps(pid: i32, uids: &[IdMap], gids: &[IdMap]) -> Result<(), UsernsError> {
    for (file, maps) in [("uid_map", uids), ("gid_map", gids)] {
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        std::fs::write(&path, render(maps)).map_err(|err| UsernsError::Write { path, err })?;
    }
    Ok(())
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
        let m = [IdMap {
            container: 0,
            host: u32::MAX,
            size: u32::MAX,
        }];
        // A map that did not come through plan still cannot wrap.
        assert_eq!(to_host(&m, 5), None);
    }
}
