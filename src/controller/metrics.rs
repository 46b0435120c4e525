//! The controller's Prometheus metrics, served on `/metrics`.
//!
//! One registry per controller instance (not a global), so that tests running
//! two replicas in one process can tell which one did what.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::ecs::EcsCallMetrics;

/// The resource kind a metric is about (`EcsTaskDefinition`, `EcsCluster`, ...).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub kind: &'static str,
    /// `success` or `error`.
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: &'static str,
    /// The error's [`metric_label`](super::error::ReconcileError::metric_label).
    pub reason: &'static str,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

fn backoff_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.5, 2.0, 12))
}

/// Every metric the controller exports; clones share the same series.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    reconciles: Family<ReconcileLabels, Counter>,
    reconcile_errors: Family<ErrorLabels, Counter>,
    reconcile_duration: Family<KindLabel, Histogram>,
    retry_delay: Family<KindLabel, Histogram>,
    queue_depth: Family<KindLabel, Gauge>,
    leader: Gauge,
    ecs: EcsCallMetrics,
    services: super::service::metrics::ServiceMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ecs_bridge");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        let reconcile_duration = Family::<KindLabel, Histogram>::new_with_constructor(duration_histogram as fn() -> _);
        let retry_delay = Family::<KindLabel, Histogram>::new_with_constructor(backoff_histogram as fn() -> _);
        let queue_depth = Family::<KindLabel, Gauge>::default();
        let leader = Gauge::default();
        let ecs = EcsCallMetrics::default();
        registry.register("reconciles", "Finished reconciles by kind and result", reconciles.clone());
        registry.register("reconcile_errors", "Failed reconciles by kind and error reason", reconcile_errors.clone());
        registry.register("reconcile_duration_seconds", "Time spent in one reconcile", reconcile_duration.clone());
        registry.register(
            "retry_delay_seconds",
            "Back-off delays chosen after a failed reconcile (exponential with jitter, per object)",
            retry_delay.clone(),
        );
        registry.register(
            "queue_depth",
            "Objects waiting for the controller: reconciles in flight plus objects waiting out a retry back-off",
            queue_depth.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease and runs the reconcilers",
            leader.clone(),
        );
        ecs.register(&mut registry);
        let services = super::service::metrics::ServiceMetrics::default();
        services.register(&mut registry);
        Self {
            registry: Arc::new(registry),
            reconciles,
            reconcile_errors,
            reconcile_duration,
            retry_delay,
            queue_depth,
            leader,
            ecs,
            services,
        }
    }

    /// The EcsService fleet metrics (services by condition, rollouts).
    pub fn services(&self) -> &super::service::metrics::ServiceMetrics {
        &self.services
    }

    /// The ECS call counters, to hand to the ECS client.
    pub fn ecs(&self) -> &EcsCallMetrics {
        &self.ecs
    }

    /// The exposition text for `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn reconciled(&self, kind: &'static str, elapsed: Duration, error: Option<&'static str>) {
        let result = if error.is_some() { "error" } else { "success" };
        self.reconciles.get_or_create(&ReconcileLabels { kind, result }).inc();
        self.reconcile_duration.get_or_create(&KindLabel { kind }).observe(elapsed.as_secs_f64());
        if let Some(reason) = error {
            self.reconcile_errors.get_or_create(&ErrorLabels { kind, reason }).inc();
        }
    }

    pub fn retry_scheduled(&self, kind: &'static str, delay: Duration) {
        self.retry_delay.get_or_create(&KindLabel { kind }).observe(delay.as_secs_f64());
    }

    pub fn set_queue_depth(&self, kind: &'static str, depth: usize) {
        self.queue_depth.get_or_create(&KindLabel { kind }).set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Finished reconciles of `kind` with `result` (`success`/`error`).
    pub fn reconcile_count(&self, kind: &'static str, result: &'static str) -> u64 {
        self.reconciles.get(&ReconcileLabels { kind, result }).map(|c| c.get()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_the_series_a_dashboard_needs() {
        let metrics = Metrics::new();
        metrics.reconciled("EcsTaskDefinition", Duration::from_millis(12), None);
        metrics.reconciled("EcsTaskDefinition", Duration::from_millis(40), Some("ecs_throttled"));
        metrics.ecs().record("RegisterTaskDefinition", "success", Duration::from_millis(3));
        metrics.retry_scheduled("EcsTaskDefinition", Duration::from_secs(2));
        metrics.set_queue_depth("EcsTaskDefinition", 3);
        metrics.set_leader(true);
        let text = metrics.encode();
        for needle in [
            "ecs_bridge_reconciles_total{kind=\"EcsTaskDefinition\",result=\"success\"} 1",
            "ecs_bridge_reconcile_errors_total{kind=\"EcsTaskDefinition\",reason=\"ecs_throttled\"} 1",
            "ecs_bridge_ecs_calls_total{operation=\"RegisterTaskDefinition\",outcome=\"success\"} 1",
            "ecs_bridge_queue_depth{kind=\"EcsTaskDefinition\"} 3",
            "ecs_bridge_leader 1",
            "ecs_bridge_retry_delay_seconds_count{kind=\"EcsTaskDefinition\"} 1",
            "ecs_bridge_reconcile_duration_seconds_count{kind=\"EcsTaskDefinition\"} 2",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert_eq!(metrics.reconcile_count("EcsTaskDefinition", "error"), 1);
    }
}
