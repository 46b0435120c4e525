//! What the Docker runtime's containers really use: per RUNNING task, its
//! CPU and memory utilisation (percent of what the task reserves), as the
//! agent last measured them from the Engine's stats
//! ([`crate::emulator::agent`]). Read through the utilisation seam
//! ([`crate::emulator::sim::utilisation`]), beside the loads tests set.
//! In memory only: a measurement, not AWS state.

use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::emulator::state::loads::Metric;
use crate::emulator::state::locks::{read, write};

/// One task's last measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskUsage {
    /// The task's service, for a service task.
    pub service: Option<String>,
    /// Percent of the task's CPU units.
    pub cpu: f64,
    /// Percent of the task's memory.
    pub memory: f64,
}

impl TaskUsage {
    pub fn of(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Cpu => Some(self.cpu),
            Metric::Memory => Some(self.memory),
            Metric::RequestCountPerTarget => None,
        }
    }
}

/// Every measured task, by `(cluster, task id)`.
#[derive(Debug, Default)]
pub struct Usage(RwLock<BTreeMap<(String, String), TaskUsage>>);

impl Usage {
    /// The measurements of one pass over the tasks, replacing the last.
    pub fn replace(&self, all: BTreeMap<(String, String), TaskUsage>) {
        *write(&self.0) = all;
    }

    pub fn task(&self, cluster: &str, task_id: &str) -> Option<TaskUsage> {
        read(&self.0).get(&(cluster.to_owned(), task_id.to_owned())).cloned()
    }

    /// The mean of the service's measured tasks.
    pub fn service_average(&self, cluster: &str, service: &str, metric: Metric) -> Option<f64> {
        let all = read(&self.0);
        let values: Vec<f64> = all
            .iter()
            .filter(|((c, _), u)| c == cluster && u.service.as_deref() == Some(service))
            .filter_map(|(_, u)| u.of(metric))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    pub fn clear(&self) {
        write(&self.0).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_averages_its_measured_tasks() {
        let usage = Usage::default();
        let task = |service: &str, cpu: f64| TaskUsage { service: Some(service.into()), cpu, memory: 10.0 };
        usage.replace(BTreeMap::from([
            (("c".into(), "t1".into()), task("web", 20.0)),
            (("c".into(), "t2".into()), task("web", 60.0)),
            (("c".into(), "t3".into()), task("api", 90.0)),
        ]));
        assert_eq!(usage.service_average("c", "web", Metric::Cpu), Some(40.0));
        assert_eq!(usage.service_average("c", "web", Metric::RequestCountPerTarget), None);
        assert_eq!(usage.service_average("d", "web", Metric::Cpu), None);
        assert_eq!(usage.task("c", "t3").map(|u| u.cpu), Some(90.0));
    }
}
