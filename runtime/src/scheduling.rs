//! How the kernel schedules the container's processes: `process.ioPriority` (ioprio_set),
//! `process.scheduler` (sched_setattr) and `process.execCPUAffinity` (sched_setaffinity). Each
//! is validated into a plan at create (and for exec's process), then applied in the process
//! itself: the I/O priority and the scheduler while it still holds the runtime's privileges (an
//! RT class or policy needs them), before any seccomp filter; the initial affinity as soon as the
//! process exists, the final one right before execve.

use oci_spec::runtime::{
    ExecCPUAffinity, IOPriorityClass, LinuxIOPriority, LinuxSchedulerFlag, LinuxSchedulerPolicy,
    Scheduler,
};

#[derive(Debug, thiserror::Error)]
pub enum SchedulingError {
    #[error("process.ioPriority.priority {value} is outside 0..7")]
    IoPriorityRange { value: i64 },
    #[error("process.scheduler.policy SCHED_ISO does not exist in Linux")]
    NoIso,
    #[error("process.scheduler.nice {value} is outside -20..19")]
    NiceRange { value: i32 },
    #[error("process.execCPUAffinity.{which} {list:?}: {why}")]
    BadCpuList {
        which: &'static str,
        list: String,
        why: String,
    },
    #[error("ioprio_set(class {class}, priority {priority}): {err}")]
    IoprioSet {
        class: &'static str,
        priority: i64,
        err: std::io::Error,
    },
    #[error("sched_setattr(policy {policy}): {err}")]
    SchedSetattr {
        policy: &'static str,
        err: std::io::Error,
    },
    #[error("sched_setaffinity({which} CPUs {list:?}): {err}")]
    Affinity {
        which: &'static str,
        list: String,
        err: std::io::Error,
    },
}

/// The validated scheduling of one process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulingPlan {
    /// (class name, ioprio value for ioprio_set).
    pub io_priority: Option<(&'static str, i64, i32)>,
    pub scheduler: Option<SchedAttr>,
    /// (the list as given, the CPUs).
    pub affinity_initial: Option<(String, Vec<usize>)>,
    pub affinity_final: Option<(String, Vec<usize>)>,
}

/// sched_setattr's struct sched_attr, version 0 (48 bytes), as the kernel lays it out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

impl SchedAttr {
    pub fn policy_name(&self) -> &'static str {
        match self.policy {
            0 => "SCHED_OTHER",
            1 => "SCHED_FIFO",
            2 => "SCHED_RR",
            3 => "SCHED_BATCH",
            5 => "SCHED_IDLE",
            6 => "SCHED_DEADLINE",
            _ => "?",
        }
    }
}

pub fn plan(
    io: Option<&LinuxIOPriority>,
    sched: Option<&Scheduler>,
    affinity: Option<&ExecCPUAffinity>,
) -> Result<SchedulingPlan, SchedulingError> {
    let mut p = SchedulingPlan::default();
    if let Some(io) = io {
        let (name, class) = match io.class() {
            IOPriorityClass::IoprioClassRt => ("IOPRIO_CLASS_RT", 1),
            IOPriorityClass::IoprioClassBe => ("IOPRIO_CLASS_BE", 2),
            IOPriorityClass::IoprioClassIdle => ("IOPRIO_CLASS_IDLE", 3),
        };
        let prio = io.priority();
        if !(0..=7).contains(&prio) {
            return Err(SchedulingError::IoPriorityRange { value: prio });
        }
        // IOPRIO_PRIO_VALUE(class, data): the class in the top 3 of 16 bits.
        p.io_priority = Some((name, prio, (class << 13) | prio as i32));
    }
    if let Some(s) = sched {
        let policy = match s.policy() {
            LinuxSchedulerPolicy::SchedOther => 0,
            LinuxSchedulerPolicy::SchedFifo => 1,
            LinuxSchedulerPolicy::SchedRr => 2,
            LinuxSchedulerPolicy::SchedBatch => 3,
            LinuxSchedulerPolicy::SchedIso => return Err(SchedulingError::NoIso),
            LinuxSchedulerPolicy::SchedIdle => 5,
            LinuxSchedulerPolicy::SchedDeadline => 6,
        };
        let nice = s.nice().unwrap_or(0);
        if !(-20..=19).contains(&nice) {
            return Err(SchedulingError::NiceRange { value: nice });
        }
        let flags = s
            .flags()
            .iter()
            .flatten()
            .map(|f| match f {
                LinuxSchedulerFlag::SchedResetOnFork => 0x01,
                LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
                LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
                LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
                LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
                LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
                LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
            })
            .fold(0u64, |a, f| a | f);
        p.scheduler = Some(SchedAttr {
            size: std::mem::size_of::<SchedAttr>() as u32,
            policy,
            flags,
            nice,
            // A negative priority cannot be asked of the kernel; it takes 0..99.
            priority: s.priority().unwrap_or(0).max(0) as u32,
            runtime: s.runtime().unwrap_or(0),
            deadline: s.deadline().unwrap_or(0),
            period: s.period().unwrap_or(0),
        });
    }
    if let Some(a) = affinity {
        for (which, list, slot) in [
            ("initial", a.initial(), &mut p.affinity_initial),
            ("final", a.cpu_affinity_final(), &mut p.affinity_final),
        ] {
            if let Some(list) = list.as_ref().filter(|l| !l.trim().is_empty()) {
                *slot = Some((list.clone(), cpu_list(which, list)?));
            }
        }
    }
    Ok(p)
}

/// "0-3,7" as CPU numbers, each below the kernel's CPU_SETSIZE of a cpu_set_t (1024).
fn cpu_list(which: &'static str, list: &str) -> Result<Vec<usize>, SchedulingError> {
    let bad = |why: String| SchedulingError::BadCpuList {
        which,
        list: list.to_string(),
        why,
    };
    let num = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| bad(format!("{s:?} is not a CPU number")))
    };
    let mut out = Vec::new();
    for part in list.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(bad(format!("range {part:?} runs backwards")));
        }
        if hi >= 1024 {
            return Err(bad(format!("CPU {hi} is beyond the 1024 a CPU set holds")));
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

/// The I/O priority and the scheduler: in the process, before its privileges go.
pub fn apply_priorities(p: &SchedulingPlan) -> Result<(), SchedulingError> {
    if let Some((class, priority, value)) = p.io_priority {
        crate::syscalls::ioprio_set_self(value).map_err(|err| SchedulingError::IoprioSet {
            class,
            priority,
            err,
        })?;
    }
    if let Some(attr) = &p.scheduler {
        crate::syscalls::sched_setattr_self(attr).map_err(|err| SchedulingError::SchedSetattr {
            policy: attr.policy_name(),
            err,
        })?;
    }
    Ok(())
}

/// Sets the initial (`initial == true`) or the final CPU affinity, if the plan has one.
pub fn apply_affinity(p: &SchedulingPlan, initial: bool) -> Result<(), SchedulingError> {
    let (which, slot) = if initial {
        ("initial", &p.affinity_initial)
    } else {
        ("final", &p.affinity_final)
    };
    let Some((list, cpus)) = slot else {
        return Ok(());
    };
    crate::syscalls::sched_setaffinity_self(cpus).map_err(|err| SchedulingError::Affinity {
        which,
        list: list.clone(),
        err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_and_bad_ones_are_refused() {
        assert_eq!(cpu_list("final", "0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(cpu_list("final", "1").unwrap(), vec![1]);
        assert!(cpu_list("final", "3-1").is_err());
        assert!(cpu_list("final", "x").is_err());
        assert!(cpu_list("final", "0-5000").is_err());
    }

    #[test]
    fn the_ioprio_value_packs_class_and_data() {
        let io: LinuxIOPriority =
            serde_json::from_str(r#"{"class":"IOPRIO_CLASS_BE","priority":5}"#).unwrap();
        let p = plan(Some(&io), None, None).unwrap();
        assert_eq!(p.io_priority, Some(("IOPRIO_CLASS_BE", 5, (2 << 13) | 5)));
        let io: LinuxIOPriority =
            serde_json::from_str(r#"{"class":"IOPRIO_CLASS_BE","priority":9}"#).unwrap();
        assert!(plan(Some(&io), None, None).is_err());
        assert_eq!(std::mem::size_of::<SchedAttr>(), 48);
    }
}
