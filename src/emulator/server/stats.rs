//! Requests served per operation, for `/_emulator/stats`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::emulator::api::all_operations;

/// Requests served per operation (successes and ECS errors alike).
#[derive(Debug)]
pub struct Stats {
    counts: Vec<AtomicU64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self { counts: all_operations().map(|_| AtomicU64::new(0)).collect() }
    }
}

impl Stats {
    pub fn count(&self, index: usize) {
        self.counts[index].fetch_add(1, Ordering::Relaxed);
    }

    /// `{operation: count}` for every operation called at least once.
    pub fn snapshot(&self) -> serde_json::Map<String, Value> {
        all_operations()
            .zip(&self.counts)
            .filter_map(|((name, _), n)| {
                let n = n.load(Ordering::Relaxed);
                (n > 0).then(|| ((*name).to_owned(), Value::from(n)))
            })
            .collect()
    }

    pub fn clear(&self) {
        for n in &self.counts {
            n.store(0, Ordering::Relaxed);
        }
    }
}
