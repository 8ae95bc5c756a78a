//! `events`: the container's cgroup statistics and OOM notifications, in runc's JSON shapes
//! (`{"type":"stats","id":...,"data":{...}}` and `{"type":"oom","id":...}`), one object a line.
//!
//! `--stats` prints one stats object. Otherwise stats are printed every interval and an "oom"
//! event whenever the kernel's OOM killer kills in the cgroup, until the container stops. The
//! state is read without the lock (`ContainerDir::peek`), so `events` neither waits behind a
//! busy container nor holds up `kill`/`delete`.

use crate::cgroups::{Cgroup, CgroupError, Driver};
use crate::container::status_of;
use crate::state::{self, ContainerDir, StateError, Status};
use libcgroups::stats::{BlkioDeviceStat, MemoryData, Stats};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("container {id} has no cgroup (created with --cgroup-manager disabled)")]
    NoCgroup { id: String },
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("--interval {value:?}: {why}")]
    BadInterval { value: String, why: &'static str },
    #[error("writing events to stdout: {0}")]
    Write(std::io::Error),
}

const MAX_INTERVAL: Duration = Duration::from_nanos(i64::MAX as u64);
const TOO_LONG: &str = "longer than the largest duration (about 292 years)";

/// A Go-style duration as runc's `--interval` takes it: "5s", "500ms", "1m", "1m30s", "2h".
pub fn parse_interval(s: &str) -> Result<Duration, EventsError> {
    let bad = |why| EventsError::BadInterval {
        value: s.to_string(),
        why,
    };
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad("empty"));
    }
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| bad("a unit (ns, us, ms, s, m, h) is missing"))?;
        let n: f64 = rest[..n_end].parse().map_err(|_| bad("not a number"))?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad("unknown unit")),
        };
        rest = &rest[u_end..];
        let part = Duration::try_from_secs_f64(n * unit).map_err(|_| bad(TOO_LONG))?;
        total = total.checked_add(part).ok_or_else(|| bad(TOO_LONG))?;
    }
    if total.is_zero() {
        return Err(bad("must be positive"));
    }
    // Go's time.ParseDuration (runc) refuses what does not fit in int64 nanoseconds; past that
    // an Instant cannot be advanced by the interval either.
    if total > MAX_INTERVAL {
        return Err(bad(TOO_LONG));
    }
    Ok(total)
}

fn memory_entry(m: &MemoryData) -> Value {
    json!({"limit": m.limit, "usage": m.usage, "max": m.max_usage, "failcnt": m.fail_count})
}

fn blkio_entries(v: &[BlkioDeviceStat]) -> Value {
    v.iter()
        .map(|e| {
            let mut o = json!({"major": e.major, "minor": e.minor, "value": e.value});
            if let Some(op) = &e.op_type {
                o["op"] = json!(op);
            }
            o
        })
        .collect()
}

/// libcgroups' statistics in the shape of runc's `types.Stats`.
pub fn stats_json(s: &Stats) -> Value {
    let u = &s.cpu.usage;
    let t = &s.cpu.throttling;
    let hugetlb: Map<String, Value> = s
        .hugetlb
        .iter()
        .map(|(size, h)| {
            (
                size.clone(),
                json!({"usage": h.usage, "max": h.max_usage, "failcnt": h.fail_count}),
            )
        })
        .collect();
    let b = &s.blkio;
    json!({
        "cpu": {
            "usage": {
                "total": u.usage_total,
                "percpu": u.per_core_usage_total,
                "percpu_kernel": u.per_core_usage_kernel,
                "percpu_user": u.per_core_usage_user,
                "kernel": u.usage_kernel,
                "user": u.usage_user,
            },
            "throttling": {
                "periods": t.periods,
                "throttledPeriods": t.throttled_periods,
                "throttledTime": t.throttled_time,
            },
        },
        "memory": {
            "cache": s.memory.cache,
            "usage": memory_entry(&s.memory.memory),
            "swap": memory_entry(&s.memory.memswap),
            "kernel": memory_entry(&s.memory.kernel),
            "kernelTCP": memory_entry(&s.memory.kernel_tcp),
            "raw": s.memory.stats,
        },
        "pids": {"current": s.pids.current, "limit": s.pids.limit},
        "blkio": {
            "ioServiceBytesRecursive": blkio_entries(&b.service_bytes),
            "ioServicedRecursive": blkio_entries(&b.serviced),
            "ioQueueRecursive": blkio_entries(&b.queued),
            "ioServiceTimeRecursive": blkio_entries(&b.service_time),
            "ioWaitTimeRecursive": blkio_entries(&b.wait_time),
            "ioMergedRecursive": blkio_entries(&b.merged),
            "ioTimeRecursive": blkio_entries(&b.time),
            "sectorsRecursive": blkio_entries(&b.sectors),
        },
        "hugetlb": hugetlb,
    })
}

fn emit(out: &mut impl Write, v: &Value) -> Result<(), EventsError> {
    writeln!(out, "{v}")
        .and_then(|_| out.flush())
        .map_err(EventsError::Write)
}

/// `events [--stats] [--interval D] ID`, writing to `out`.
pub fn events(
    root: &Path,
    id: &str,
    stats_once: bool,
    interval: Duration,
    out: &mut impl Write,
) -> Result<(), EventsError> {
    let st = {
        let dir = ContainerDir::peek(root, id)?;
        let st = dir.load()?;
        if status_of(&dir, &st) == Status::Stopped {
            return Err(EventsError::NotRunning { id: id.to_string() });
        }
        st
    };
    let path = st
        .cgroup_path
        .clone()
        .ok_or_else(|| EventsError::NoCgroup { id: id.to_string() })?;
    let cg = Cgroup::open(&path, id, Driver::Cgroupfs)?;
    let stats_event = |cg: &Cgroup| -> Result<Value, EventsError> {
        Ok(json!({"type": "stats", "id": id, "data": stats_json(&cg.stats()?)}))
    };
    if stats_once {
        return emit(out, &stats_event(&cg)?);
    }
    let alive = || state::process_start_time(st.pid) == Some(st.pid_start_time);
    // OOM kills are polled at a short tick (cheap: one small file) so an event follows the kill
    // closely even with a long stats interval.
    // parse_interval's bound, also for other callers of this library: it keeps
    // `Instant::now() + interval` below within what the clock can hold.
    let interval = interval.min(MAX_INTERVAL);
    let tick = interval.min(Duration::from_millis(100));
    let mut ooms = cg.oom_kills().unwrap_or(0);
    let mut next_stats = Instant::now();
    loop {
        if let Some(n) = cg.oom_kills() {
            for _ in ooms..n {
                emit(out, &json!({"type": "oom", "id": id}))?;
            }
            ooms = ooms.max(n);
        }
        if !alive() {
            return Ok(());
        }
        if Instant::now() >= next_stats {
            // The cgroup may vanish between the liveness check and the read: that is the end.
            match stats_event(&cg) {
                Ok(v) => emit(out, &v)?,
                Err(_) if !alive() => return Ok(()),
                Err(e) => return Err(e),
            }
            next_stats = Instant::now() + interval;
        }
        std::thread::sleep(tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_interval("5").is_err());
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("3x").is_err());
        let digits = format!("1{}s", "0".repeat(400));
        for huge in [
            "99999999999999999999h",
            "2562048h",
            &digits,
            "9223372036854775808ns",
            "2562047h2562047h",
        ] {
            assert!(parse_interval(huge).is_err(), "{huge}");
        }
        assert_eq!(
            parse_interval("2562047h").unwrap(),
            Duration::from_secs(2562047 * 3600)
        );
        for odd in ["nan", "NaNs", "infs", "-5s", ".s", "1..2s", "µs"] {
            assert!(parse_interval(odd).is_err(), "{odd}");
        }
    }

    #[test]
    fn stats_shape() {
        let v = stats_json(&Stats::default());
        for k in ["cpu", "memory", "pids", "blkio", "hugetlb"] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert!(v["cpu"]["usage"]["total"].is_u64());
        assert!(v["memory"]["usage"]["limit"].is_u64());
    }
}
