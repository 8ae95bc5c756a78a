//! `linux.memoryPolicy`: the NUMA memory policy of the container's processes, set with
//! set_mempolicy(2) in the init and in exec'd processes before any seccomp filter. The kernel
//! keeps it across fork and execve.

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

#[derive(Debug, thiserror::Error)]
pub enum MemoryPolicyError {
    #[error("linux.memoryPolicy.nodes {nodes:?}: {why}")]
    BadNodes { nodes: String, why: String },
    #[error("linux.memoryPolicy: mode {mode} needs nodes")]
    NeedsNodes { mode: &'static str },
    #[error("linux.memoryPolicy: mode {mode} takes no nodes")]
    NoNodes { mode: &'static str },
    #[error("set_mempolicy({mode}, nodes {nodes:?}): {err}")]
    Set {
        mode: &'static str,
        nodes: String,
        err: std::io::Error,
    },
}

/// Nodes a mask holds here: the kernel's MAX_NUMNODES is at most 1024.
const MAX_NODES: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPolicyPlan {
    pub mode_name: &'static str,
    /// The mode with its MPOL_F_* flags, as set_mempolicy takes it.
    pub mode: i32,
    pub nodes_text: String,
    /// The node mask, 64 nodes a word.
    pub mask: Vec<u64>,
}

pub fn plan(p: Option<&LinuxMemoryPolicy>) -> Result<Option<MemoryPolicyPlan>, MemoryPolicyError> {
    let Some(p) = p else {
        return Ok(None);
    };
    let (name, mode, needs_nodes) = match p.mode() {
        MemoryPolicyModeType::MpolDefault => ("MPOL_DEFAULT", 0, Some(false)),
        MemoryPolicyModeType::MpolPreferred => ("MPOL_PREFERRED", 1, None),
        MemoryPolicyModeType::MpolBind => ("MPOL_BIND", 2, Some(true)),
        MemoryPolicyModeType::MpolInterleave => ("MPOL_INTERLEAVE", 3, Some(true)),
        MemoryPolicyModeType::MpolLocal => ("MPOL_LOCAL", 4, Some(false)),
        MemoryPolicyModeType::MpolPreferredMany => ("MPOL_PREFERRED_MANY", 5, Some(true)),
        MemoryPolicyModeType::MpolWeightedInterleave => ("MPOL_WEIGHTED_INTERLEAVE", 6, Some(true)),
    };
    let text = p.nodes().clone().unwrap_or_default();
    let nodes = node_list(&text)?;
    match needs_nodes {
        Some(true) if nodes.is_empty() => return Err(MemoryPolicyError::NeedsNodes { mode: name }),
        Some(false) if !nodes.is_empty() => return Err(MemoryPolicyError::NoNodes { mode: name }),
        _ => {}
    }
    let flags = p
        .flags()
        .iter()
        .flatten()
        .map(|f| match f {
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        })
        .fold(0, |a, f| a | f);
    let mut mask = vec![0u64; MAX_NODES / 64];
    for n in &nodes {
        mask[n / 64] |= 1 << (n % 64);
    }
    Ok(Some(MemoryPolicyPlan {
        mode_name: name,
        mode: mode | flags,
        nodes_text: text,
        mask,
    }))
}

fn node_list(text: &str) -> Result<Vec<usize>, MemoryPolicyError> {
    let bad = |why: String| MemoryPolicyError::BadNodes {
        nodes: text.to_string(),
        why,
    };
    let mut out = Vec::new();
    if text.trim().is_empty() {
        return Ok(out);
    }
    for part in text.split(',') {
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("{s:?} is not a node number")))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi || hi >= MAX_NODES {
            return Err(bad(format!(
                "{part:?} is not a range of nodes below {MAX_NODES}"
            )));
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

pub fn apply(p: Option<&MemoryPolicyPlan>) -> Result<(), MemoryPolicyError> {
    let Some(p) = p else {
        return Ok(());
    };
    crate::syscalls::set_mempolicy(p.mode, &p.mask).map_err(|err| MemoryPolicyError::Set {
        mode: p.mode_name,
        nodes: p.nodes_text.clone(),
        err,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn nodes_parse_and_modes_check_them() {
        assert_eq!(super::node_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(super::node_list("2-1").is_err());
        assert!(super::node_list("4096").is_err());
        let bind: oci_spec::runtime::LinuxMemoryPolicy =
            serde_json::from_str(r#"{"mode":"MPOL_BIND"}"#).unwrap();
        assert!(super::plan(Some(&bind)).is_err());
        let local: oci_spec::runtime::LinuxMemoryPolicy =
            serde_json::from_str(r#"{"mode":"MPOL_LOCAL","nodes":"0"}"#).unwrap();
        assert!(super::plan(Some(&local)).is_err());
        let p: oci_spec::runtime::LinuxMemoryPolicy = serde_json::from_str(
            r#"{"mode":"MPOL_INTERLEAVE","nodes":"0,65","flags":["MPOL_F_STATIC_NODES"]}"#,
        )
        .unwrap();
        let p = super::plan(Some(&p)).unwrap().unwrap();
        assert_eq!(p.mode, 3 | (1 << 15));
        assert_eq!(p.mask[0], 1);
        assert_eq!(p.mask[1], 2);
    }
}
