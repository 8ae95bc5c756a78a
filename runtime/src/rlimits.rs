//! `process.rlimits`: POSIX resource limits, set in the init before capabilities are dropped.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum RlimitError {
    #[error("rlimit {name}: unknown resource")]
    Unknown { name: String },
    #[error("rlimit {name}: soft limit {soft} is above the hard limit {hard}")]
    SoftAboveHard { name: String, soft: u64, hard: u64 },
    #[error("setrlimit({name}, soft {soft}, hard {hard}): {err}")]
    Set {
        name: String,
        soft: u64,
        hard: u64,
        err: io::Error,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub name: String,
    pub resource: i32,
    pub soft: u64,
    pub hard: u64,
}

fn resource(name: &str) -> Option<i32> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU as i32,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE as i32,
        "RLIMIT_DATA" => libc::RLIMIT_DATA as i32,
        "RLIMIT_STACK" => libc::RLIMIT_STACK as i32,
        "RLIMIT_CORE" => libc::RLIMIT_CORE as i32,
        "RLIMIT_RSS" => libc::RLIMIT_RSS as i32,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC as i32,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE as i32,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK as i32,
        "RLIMIT_AS" => libc::RLIMIT_AS as i32,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS as i32,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING as i32,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE as i32,
        "RLIMIT_NICE" => libc::RLIMIT_NICE as i32,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO as i32,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME as i32,
        _ => return None,
    })
}

pub fn plan(list: &[oci_spec::runtime::PosixRlimit]) -> Result<Vec<Rlimit>, RlimitError> {
    list.iter()
        .map(|r| {
            let name = r.typ().to_string();
            let resource =
                resource(&name).ok_or_else(|| RlimitError::Unknown { name: name.clone() })?;
            if r.soft() > r.hard() {
                return Err(RlimitError::SoftAboveHard {
                    name,
                    soft: r.soft(),
                    hard: r.hard(),
                });
            }
            Ok(Rlimit {
                name,
                resource,
                soft: r.soft(),
                hard: r.hard(),
            })
        })
        .collect()
}

pub fn apply(list: &[Rlimit]) -> Result<(), RlimitError> {
    for r in list {
        let lim = libc::rlimit {
            rlim_cur: r.soft,
            rlim_max: r.hard,
        };
        // SAFETY: `lim` is a valid struct; prlimit on ourselves (pid 0).
        let ret = unsafe { libc::prlimit(0, r.resource as u32, &lim, std::ptr::null_mut()) };
        if ret != 0 {
            return Err(RlimitError::Set {
                name: r.name.clone(),
                soft: r.soft,
                hard: r.hard,
                err: io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_map_and_soft_above_hard_is_refused() {
        let l: Vec<oci_spec::runtime::PosixRlimit> =
            serde_json::from_str(r#"[{"type":"RLIMIT_NOFILE","soft":10,"hard":20}]"#).unwrap();
        let p = super::plan(&l).unwrap();
        assert_eq!(p[0].resource, libc::RLIMIT_NOFILE as i32);
        let bad: Vec<oci_spec::runtime::PosixRlimit> =
            serde_json::from_str(r#"[{"type":"RLIMIT_NOFILE","soft":30,"hard":20}]"#).unwrap();
        assert!(super::plan(&bad).is_err());
    }
}
