//! Service utilisation: the per-service average CPU and memory utilisation
//! (and ALB requests per target) that target tracking reads, and the
//! per-task numbers CloudWatch's `AWS/ECS` metrics are sampled from
//! ([`crate::emulator::sim::metrics`]). This is the seam between where the
//! numbers come from and what acts on them: a load a test set (`POST
//! /_emulator/metrics`, [`crate::emulator::state::loads`]) wins; otherwise
//! what the Docker runtime's containers really use, as the agent measured
//! it ([`crate::emulator::state::usage`]; simulated tasks have none).

use crate::emulator::state::Store;
use crate::emulator::state::loads::{Loads, Metric};
use crate::emulator::state::records::Timestamp;
use crate::emulator::state::usage::Usage;

/// Where a service's utilisation comes from.
pub trait Utilisation {
    /// The service's average of `metric` over the minute ending at `at`,
    /// or `None` when there is no datapoint (CloudWatch's missing data).
    fn service_average(&self, cluster: &str, service: &str, metric: Metric, at: Timestamp) -> Option<f64>;

    /// One RUNNING task's `metric` at `at`. By default every task carries
    /// the service's average.
    fn task_value(&self, cluster: &str, service: &str, _task_id: &str, metric: Metric, at: Timestamp) -> Option<f64> {
        self.service_average(cluster, service, metric, at)
    }
}

/// A test's load where one is set, else the containers' measured use.
/// A load is the service's average as given: every task carries it, and
/// it does not spread over more tasks when the service scales out (a test
/// says what the load becomes, with a new value or a curve).
#[derive(Debug, Clone, Copy)]
pub struct Measured<'a> {
    pub loads: &'a Loads,
    pub usage: &'a Usage,
}

impl Utilisation for Measured<'_> {
    fn service_average(&self, cluster: &str, service: &str, metric: Metric, at: Timestamp) -> Option<f64> {
        match self.loads.get(cluster, service, metric) {
            Some(load) => load.at(at),
            None => self.usage.service_average(cluster, service, metric),
        }
    }

    fn task_value(&self, cluster: &str, service: &str, task_id: &str, metric: Metric, at: Timestamp) -> Option<f64> {
        match self.loads.get(cluster, service, metric) {
            Some(load) => load.at(at),
            None => self.usage.task(cluster, task_id)?.of(metric),
        }
    }
}

/// The utilisation source for this store's tasks.
pub fn source(store: &Store) -> impl Utilisation + '_ {
    Measured { loads: &store.loads, usage: &store.usage }
}
