//! Service utilisation: the per-service average CPU and memory utilisation
//! (and ALB requests per target) that target tracking reads, as CloudWatch's
//! `AWS/ECS` metrics would report them. This is the seam between where the
//! numbers come from and what acts on them: today every task is
//! simulated, and the numbers are the load a test set
//! (`POST /_emulator/metrics`, [`crate::emulator::state::loads`]); for
//! Docker-runtime tasks another [`Utilisation`] will average the
//! containers' stats, and [`source`] will pick it.

use crate::emulator::state::Store;
use crate::emulator::state::loads::{Loads, Metric};
use crate::emulator::state::records::Timestamp;

/// Where a service's utilisation comes from.
pub trait Utilisation {
    /// The service's average of `metric` over the minute ending at `at`,
    /// or `None` when there is no datapoint (CloudWatch's missing data).
    fn service_average(&self, cluster: &str, service: &str, metric: Metric, at: Timestamp) -> Option<f64>;
}

/// Simulated tasks: the value (or the point of the curve) a test set.
/// It is the service's average as given; it does not spread over more
/// tasks when the service scales out (a test says what the load becomes,
/// with a new value or a curve).
#[derive(Debug, Clone, Copy)]
pub struct SimulatedLoad<'a>(pub &'a Loads);

impl Utilisation for SimulatedLoad<'_> {
    fn service_average(&self, cluster: &str, service: &str, metric: Metric, at: Timestamp) -> Option<f64> {
        self.0.get(cluster, service, metric)?.at(at)
    }
}

/// The utilisation source for this store's tasks.
pub fn source(store: &Store) -> impl Utilisation + '_ {
    SimulatedLoad(&store.loads)
}
