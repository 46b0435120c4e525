//! Requests served per operation, for `/_emulator/stats`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::emulator::api::counter_names;

/// Requests served per operation (successes and ECS errors alike).
#[derive(Debug)]
pub struct Stats {
    counts: Vec<AtomicU64>,
    /// Each operation's counter name (see `api::Service::counter_name`).
    names: Vec<String>,
}

impl Default for Stats {
    fn default() -> Self {
        let names = counter_names();
        Self { counts: names.iter().map(|_| AtomicU64::new(0)).collect(), names }
    }
}

impl Stats {
    /// The counter name of operation `index`.
    pub fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("", String::as_str)
    }

    pub fn count(&self, index: usize) {
        self.counts[index].fetch_add(1, Ordering::Relaxed);
    }

    /// `{operation: count}` for every operation called at least once.
    pub fn snapshot(&self) -> serde_json::Map<String, Value> {
        self.names
            .iter()
            .zip(&self.counts)
            .filter_map(|(name, n)| {
                let n = n.load(Ordering::Relaxed);
                (n > 0).then(|| (name.clone(), Value::from(n)))
            })
            .collect()
    }

    pub fn clear(&self) {
        for n in &self.counts {
            n.store(0, Ordering::Relaxed);
        }
    }
}
