//! The load a test puts on a service's simulated tasks (`POST
//! /_emulator/metrics`): per service, per metric, a value or a curve over
//! time. Read through the simulation's "service utilisation" seam
//! ([`crate::emulator::sim::utilisation`]), which target tracking uses.
//! In memory only, like failure rules and alarm states: a test's input,
//! not AWS state.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::emulator::state::locks::{read, write};
use crate::emulator::state::records::Timestamp;

/// The metrics a load can be given for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    /// Average CPU utilisation of the service's tasks, percent.
    Cpu,
    /// Average memory utilisation of the service's tasks, percent.
    Memory,
    /// Requests per target per minute (ALBRequestCountPerTarget).
    RequestCountPerTarget,
}

/// One metric's load: points `(offset from `since` in millis, value)`,
/// sorted; each holds until the next (a step curve), the last one forever.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Load {
    pub since: Timestamp,
    pub points: Vec<(i64, f64)>,
}

impl Load {
    /// The value at `now`: the last point at or before it; none before the
    /// first point.
    pub fn at(&self, now: Timestamp) -> Option<f64> {
        let offset = now.0 - self.since.0;
        self.points.iter().take_while(|(at, _)| *at <= offset).last().map(|(_, v)| *v)
    }
}

/// Loads by `(cluster, service)` and metric.
#[derive(Debug, Default)]
pub struct Loads(RwLock<BTreeMap<(String, String), BTreeMap<Metric, Load>>>);

impl Loads {
    pub fn set(&self, cluster: &str, service: &str, metric: Metric, load: Load) {
        write(&self.0).entry((cluster.to_owned(), service.to_owned())).or_default().insert(metric, load);
    }

    pub fn get(&self, cluster: &str, service: &str, metric: Metric) -> Option<Load> {
        read(&self.0).get(&(cluster.to_owned(), service.to_owned())).and_then(|m| m.get(&metric)).cloned()
    }

    /// Every service's loads.
    pub fn all(&self) -> BTreeMap<(String, String), BTreeMap<Metric, Load>> {
        read(&self.0).clone()
    }

    pub fn clear(&self) {
        write(&self.0).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_steps_from_point_to_point() {
        let load = Load { since: Timestamp(1_000), points: vec![(0, 10.0), (60_000, 80.0)] };
        assert_eq!(load.at(Timestamp(999)), None);
        assert_eq!(load.at(Timestamp(1_000)), Some(10.0));
        assert_eq!(load.at(Timestamp(60_999)), Some(10.0));
        assert_eq!(load.at(Timestamp(61_000)), Some(80.0));
        assert_eq!(load.at(Timestamp(10_000_000)), Some(80.0));
    }
}
