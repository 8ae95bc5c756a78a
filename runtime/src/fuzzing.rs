//! Entry points for the fuzz targets in `fuzz/` (built only with the `fuzzing` feature): the
//! parsers of host files that are private to their modules, called exactly as the runtime calls
//! them, on text the fuzzer gives instead of the file.

use crate::cgroups::{self, HierarchyMount};

/// What the runtime derives from a /proc/self/mountinfo text: the cgroup hierarchies a
/// container's cgroup mount reproduces, and the mount point of each v1 controller.
pub fn mountinfo(text: &str) -> (Vec<HierarchyMount>, Vec<(&'static str, String)>) {
    let table = crate::mountinfo::parse(text);
    let hierarchies = cgroups::hierarchies_in(&table);
    let v1 = cgroups::V1_CONTROLLERS
        .iter()
        .filter_map(|c| Some((*c, cgroups::v1_mount_point_in(&table, c)?.to_string())))
        .collect();
    (hierarchies, v1)
}

/// What the runtime derives from a /proc/self/cgroup text: the v1 controllers the process is
/// in, and its cgroup path in each of `hierarchies` (as the cgroup mount of a container without
/// a cgroup namespace binds it).
pub fn proc_cgroup(
    text: &str,
    hierarchies: &[HierarchyMount],
) -> (Vec<String>, Vec<Option<String>>) {
    let controllers = cgroups::parse_v1_controllers(text);
    let paths = hierarchies
        .iter()
        .map(|h| crate::rootfs::own_cgroup_path(text, h))
        .collect();
    (controllers, paths)
}
