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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

pub fn plan(list: &[oci_spec::runtime::LinuxIdMapping]) -> Vec<IdMap> {
    list.iter()
        .map(|m| IdMap {
            container: m.container_id(),
            host: m.host_id(),
            size: m.size(),
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
        .map(|m| m.host + (id - m.container))
}
