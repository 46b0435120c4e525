//! The fleet metrics of EcsServices: how many are Ready, Progressing and
//! Degraded right now, and how many rollouts started, completed and failed.
//!
//! The gauges are kept per object in memory (its last conditions), so a
//! change of one object moves the totals without a scan of the fleet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

const CONDITIONS: [&str; 3] = ["Ready", "Progressing", "Degraded"];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConditionLabel {
    condition: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    /// `started`, `completed` or `failed`.
    result: &'static str,
}

/// Rollouts that started, completed and failed between two observations of
/// a service's deployments (for the fleet metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolloutCounts {
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
}

/// Cheap to clone; clones share the series.
#[derive(Clone, Default)]
pub struct ServiceMetrics {
    by_condition: Family<ConditionLabel, Gauge>,
    rollouts: Family<ResultLabel, Counter>,
    resyncs: Counter,
    resync_calls: Counter,
    flags: Arc<Mutex<HashMap<String, [bool; 3]>>>,
}

impl ServiceMetrics {
    /// Registers `services{condition}` and `rollouts_total{result}`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "services",
            "EcsService objects whose condition (Ready, Progressing, Degraded) is True",
            self.by_condition.clone(),
        );
        registry.register(
            "rollouts",
            "ECS deployments of EcsServices seen to start, complete or fail",
            self.rollouts.clone(),
        );
        registry.register(
            "service_resyncs",
            "Batched steady-state resyncs of the EcsService fleet",
            self.resyncs.clone(),
        );
        registry.register(
            "service_resync_describe_calls",
            "DescribeServices calls made by the batched resyncs (10 services per call)",
            self.resync_calls.clone(),
        );
        for condition in CONDITIONS {
            let _ = self.by_condition.get_or_create(&ConditionLabel { condition });
        }
        for result in ["started", "completed", "failed"] {
            let _ = self.rollouts.get_or_create(&ResultLabel { result });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, [bool; 3]>> {
        self.flags.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn shift(&self, before: [bool; 3], after: [bool; 3]) {
        for (i, condition) in CONDITIONS.into_iter().enumerate() {
            let delta = i64::from(after[i]) - i64::from(before[i]);
            if delta != 0 {
                self.by_condition.get_or_create(&ConditionLabel { condition }).inc_by(delta);
            }
        }
    }

    /// Records an object's current (Ready, Progressing, Degraded).
    pub fn observe(&self, key: &str, flags: [bool; 3]) {
        let before = self.lock().insert(key.to_owned(), flags).unwrap_or_default();
        self.shift(before, flags);
    }

    /// Drops a deleted object from the gauges.
    pub fn forget(&self, key: &str) {
        if let Some(before) = self.lock().remove(key) {
            self.shift(before, [false; 3]);
        }
    }

    /// Forgets every object (a new leadership term recounts them).
    pub fn clear(&self) {
        let keys: Vec<String> = self.lock().keys().cloned().collect();
        for key in keys {
            self.forget(&key);
        }
    }

    pub fn rollouts(&self, counts: RolloutCounts) {
        for (result, n) in [("started", counts.started), ("completed", counts.completed), ("failed", counts.failed)] {
            if n > 0 {
                self.rollouts.get_or_create(&ResultLabel { result }).inc_by(n);
            }
        }
    }

    /// Records one batched resync of the fleet and its DescribeServices calls.
    pub fn resynced(&self, calls: usize) {
        self.resyncs.inc();
        self.resync_calls.inc_by(u64::try_from(calls).unwrap_or(u64::MAX));
    }

    /// Batched resyncs so far.
    pub fn resync_count(&self) -> u64 {
        self.resyncs.get()
    }

    /// Objects with `condition` True (for tests and diagnostics).
    pub fn count(&self, condition: &'static str) -> i64 {
        self.by_condition.get_or_create(&ConditionLabel { condition }).get()
    }

    /// Rollouts seen with `result`.
    pub fn rollout_count(&self, result: &'static str) -> u64 {
        self.rollouts.get_or_create(&ResultLabel { result }).get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_follow_each_object_once() {
        let metrics = ServiceMetrics::default();
        let mut registry = Registry::with_prefix("ecs_bridge");
        metrics.register(&mut registry);
        metrics.observe("ns/a", [false, true, false]);
        metrics.observe("ns/b", [false, true, false]);
        metrics.observe("ns/a", [true, false, false]);
        assert_eq!((metrics.count("Ready"), metrics.count("Progressing")), (1, 1));
        metrics.forget("ns/b");
        metrics.forget("ns/b");
        assert_eq!(metrics.count("Progressing"), 0);
        metrics.rollouts(RolloutCounts { started: 2, completed: 1, failed: 0 });
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("ecs_bridge_services{condition=\"Ready\"} 1"), "{text}");
        assert!(text.contains("ecs_bridge_rollouts_total{result=\"started\"} 2"), "{text}");
        assert!(text.contains("ecs_bridge_rollouts_total{result=\"failed\"} 0"), "{text}");
        metrics.clear();
        assert_eq!(metrics.count("Ready"), 0);
    }
}
