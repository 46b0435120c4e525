//! Measures what the Docker runtime's tasks use, as the ECS agent does for
//! CloudWatch: every [`EVERY`], each RUNNING task's containers' Engine
//! stats become the task's CPU and memory utilisation, in percent of what
//! the task reserves, written to the store's usage table
//! ([`crate::emulator::state::usage`]) that the utilisation seam reads
//! (so target tracking and CloudWatch's `AWS/ECS` metrics see real
//! containers).
//!
//! CPU: the containers' CPU time over the Engine's sampling interval, in
//! CPU units (1,024 a core), over the task's CPU units. Memory: the
//! containers' memory less the page cache (`inactive_file`, as `docker
//! stats` counts it), over the task's memory. A task without a size of its
//! own reserves what its containers do; one with no reservation at all
//! counts a core and its containers' memory limit.

use std::time::Duration;

use serde_json::Value;

/// How often the tasks are measured: several samples a minute, so each
/// CloudWatch minute sees a fresh one.
pub const EVERY: Duration = Duration::from_secs(10);
/// CPU units in one core.
const UNITS_PER_CORE: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

fn number(value: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_f64()
}

/// Cores one container used over its stats' interval.
fn cores(stats: &Value) -> Option<f64> {
    let used = number(stats, &["cpu_stats", "cpu_usage", "total_usage"])?
        - number(stats, &["precpu_stats", "cpu_usage", "total_usage"]).unwrap_or(0.0);
    let system = number(stats, &["cpu_stats", "system_cpu_usage"])?
        - number(stats, &["precpu_stats", "system_cpu_usage"]).unwrap_or(0.0);
    let online = number(stats, &["cpu_stats", "online_cpus"]).filter(|n| *n > 0.0).unwrap_or(1.0);
    (system > 0.0 && used >= 0.0).then(|| used / system * online)
}

/// Bytes one container uses, less its page cache, and its limit.
fn memory(stats: &Value) -> Option<(f64, Option<f64>)> {
    let usage = number(stats, &["memory_stats", "usage"])?;
    let cache = number(stats, &["memory_stats", "stats", "inactive_file"])
        .or_else(|| number(stats, &["memory_stats", "stats", "total_inactive_file"]))
        .unwrap_or(0.0);
    Some(((usage - cache).max(0.0), number(stats, &["memory_stats", "limit"])))
}

/// A task's `(cpu %, memory %)` from its containers' stats and what it
/// reserves (`cpu_units`, `memory_mib`; 0 when it reserves nothing).
pub fn utilisation(stats: &[Value], cpu_units: f64, memory_mib: f64) -> Option<(f64, f64)> {
    let cpu_used: f64 = stats.iter().filter_map(cores).sum::<f64>() * UNITS_PER_CORE;
    let memories: Vec<(f64, Option<f64>)> = stats.iter().filter_map(memory).collect();
    if memories.is_empty() {
        return None;
    }
    let memory_used: f64 = memories.iter().map(|(used, _)| used).sum();
    let memory_limit =
        if memory_mib > 0.0 { memory_mib * MIB } else { memories.iter().filter_map(|(_, limit)| *limit).sum::<f64>() };
    let cpu_units = if cpu_units > 0.0 { cpu_units } else { UNITS_PER_CORE };
    let memory = if memory_limit > 0.0 { memory_used / memory_limit * 100.0 } else { 0.0 };
    Some((cpu_used / cpu_units * 100.0, memory))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stats(cpu_ns: f64, system_ns: f64, memory: f64) -> Value {
        json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 1e9 + cpu_ns}, "system_cpu_usage": 1e12 + system_ns, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 1e9}, "system_cpu_usage": 1e12},
            "memory_stats": {"usage": memory + 1e6, "limit": 4e9, "stats": {"inactive_file": 1e6}},
        })
    }

    #[test]
    fn a_task_is_measured_against_what_it_reserves() {
        // Half a core (a quarter of two cores' time) of a 512-unit task: 100 %.
        let one = stats(0.25e9, 1e9, 256.0 * MIB);
        let (cpu, memory) = utilisation(&[one], 512.0, 1024.0).unwrap();
        assert!((cpu - 100.0).abs() < 1e-9, "{cpu}");
        assert!((memory - 25.0).abs() < 1e-9, "{memory}");
        // Two containers add up; no reservation counts a core and the limits.
        let (cpu, memory) = utilisation(&[stats(0.05e9, 1e9, 2e9), stats(0.05e9, 1e9, 0.0)], 0.0, 0.0).unwrap();
        assert!((cpu - 20.0).abs() < 1e-9, "{cpu}");
        assert!((memory - 25.0).abs() < 1e-9, "{memory}");
    }

    #[test]
    fn stats_without_numbers_measure_nothing() {
        assert_eq!(utilisation(&[Value::Null], 256.0, 512.0), None);
        assert_eq!(utilisation(&[], 256.0, 512.0), None);
    }
}
