//! ECS's CloudWatch metrics: once a minute, each RUNNING service task's
//! CPU and memory utilisation (from the same seam target tracking reads,
//! [`crate::emulator::sim::utilisation`]) is sampled into the metric store
//! ([`crate::emulator::state::metrics`]) as `AWS/ECS` `CPUUtilization` and
//! `MemoryUtilization`, one statistic set per service (dimensions
//! ClusterName, ServiceName) and per cluster (ClusterName) over its
//! service tasks: SampleCount is the number of tasks, Sum their total,
//! Minimum and Maximum the lowest and highest task, Average the service's
//! utilisation.
//!
//! The minute is stamped with its start, and sampled at the first tick in
//! it; on a manual clock [`next_due`] makes `advance` stop at every minute
//! boundary while a service task runs, so the datapoints are the same on
//! every run.

use std::collections::BTreeMap;

use crate::emulator::sim::utilisation::{Utilisation, source};
use crate::emulator::state::Store;
use crate::emulator::state::loads::Metric;
use crate::emulator::state::lock;
use crate::emulator::state::metrics::{MINUTE_MILLIS, MetricKey, StatSet};
use crate::emulator::state::records::Timestamp;

/// ECS's namespace in CloudWatch.
pub const NAMESPACE: &str = "AWS/ECS";
/// The metrics sampled, by CloudWatch's name.
pub const METRICS: &[(&str, Metric)] = &[("CPUUtilization", Metric::Cpu), ("MemoryUtilization", Metric::Memory)];
/// Their unit.
pub const UNIT: &str = "Percent";

/// Samples the current minute, once.
pub fn sample(store: &Store) {
    let now = store.now().0;
    if !store.metrics.claim_minute(now) {
        return;
    }
    let minute = now.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
    let utilisation = source(store);
    for (cluster, cell) in store.all_clusters() {
        // (service or none for the cluster, metric name) → statistics
        let mut sets: BTreeMap<(Option<String>, &str), StatSet> = BTreeMap::new();
        {
            let state = lock(&cell);
            if !state.is_active() {
                continue;
            }
            // RUNNING tasks are live: the table's index of them skips the
            // hour of STOPPED tasks it keeps, and its summaries say which
            // run without a read of each record.
            for (id, service, summary) in state.tasks.live_service_summaries() {
                if !summary.is_running() {
                    continue;
                }
                for (name, metric) in METRICS {
                    let Some(value) = utilisation.task_value(&cluster, service, id, *metric, Timestamp(minute)) else {
                        continue;
                    };
                    for owner in [Some(service.to_owned()), None] {
                        let set = StatSet::of(value);
                        sets.entry((owner, *name)).and_modify(|s| s.merge(&set)).or_insert(set);
                    }
                }
            }
        }
        for ((service, name), set) in sets {
            let mut dimensions = vec![("ClusterName".to_owned(), cluster.clone())];
            if let Some(service) = service {
                dimensions.push(("ServiceName".to_owned(), service));
            }
            store.metrics.record(MetricKey::new(NAMESPACE, name, dimensions), UNIT, minute, set, now);
        }
    }
}

/// The next minute to sample while any service has a RUNNING task.
pub fn next_due(store: &Store) -> Option<Timestamp> {
    let running = store.all_clusters().into_iter().any(|(_, cell)| {
        let state = lock(&cell);
        state.is_active() && state.services.values().any(|s| s.service.running_count > 0)
    });
    running.then(|| Timestamp(store.metrics.next_minute(store.now().0)))
}
