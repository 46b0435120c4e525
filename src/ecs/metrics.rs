//! Counters for calls to ECS, by operation and outcome.
//!
//! They live with the ECS seam (not the controller) because every call goes
//! through the seam: a reconciler cannot forget to count one.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of one ECS call.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EcsCallLabels {
    /// ECS's operation name, e.g. `RegisterTaskDefinition`.
    pub operation: &'static str,
    /// `success` or an [`EcsErrorKind`](super::error::EcsErrorKind) label.
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

/// ECS call metrics; cheap to clone (the families are shared).
#[derive(Debug, Clone)]
pub struct EcsCallMetrics {
    calls: Family<EcsCallLabels, Counter>,
    duration: Family<OperationLabel, Histogram>,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.002, 2.0, 14))
}

impl Default for EcsCallMetrics {
    fn default() -> Self {
        Self { calls: Family::default(), duration: Family::new_with_constructor(duration_histogram) }
    }
}

impl EcsCallMetrics {
    /// Registers the metrics (`ecs_calls_total`, `ecs_call_duration_seconds`)
    /// under `registry`'s prefix.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("ecs_calls", "Calls to the ECS API by operation and outcome", self.calls.clone());
        registry.register(
            "ecs_call_duration_seconds",
            "Duration of calls to the ECS API, SDK retries included",
            self.duration.clone(),
        );
    }

    /// Records one finished call.
    pub fn record(&self, operation: &'static str, outcome: &'static str, elapsed: Duration) {
        self.calls.get_or_create(&EcsCallLabels { operation, outcome }).inc();
        self.duration.get_or_create(&OperationLabel { operation }).observe(elapsed.as_secs_f64());
    }

    /// How many calls of `operation` ended with `outcome` (for tests and diagnostics).
    pub fn count(&self, operation: &'static str, outcome: &'static str) -> u64 {
        self.calls.get(&EcsCallLabels { operation, outcome }).map(|c| c.get()).unwrap_or(0)
    }
}
