//! Request faults for testing a client's reliability: ECS's throttling
//! (token buckets, [`crate::emulator::server::throttling`]) and injected
//! `ThrottlingException`, `ServerException` and latency per operation at a
//! rate (seeded). Faults that act on the simulation (a task's container
//! dying, a host lost) are [`crate::emulator::sim::chaos`].

use crate::emulator::server::throttling::Buckets;
use crate::emulator::state::ids::random_unit;
use crate::emulator::state::locks::lock;
use crate::emulator::wire::error::{EcsError, ErrorKind};

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// `ThrottlingException: Rate exceeded` (HTTP 400).
    Throttle,
    /// `ServerException` (HTTP 500), which SDKs retry.
    ServerError,
    /// The answer comes `latencyMillis` later.
    Latency,
}

/// A fault rule (`POST /_emulator/faults`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    #[serde(default)]
    pub id: String,
    /// The ECS operation (e.g. `DescribeServices`); absent or `*` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub kind: FaultKind,
    /// The share of matching requests hit, 0–1 (default 1); drawn from the
    /// emulator's generator, so a `--seed` makes the pattern repeatable.
    #[serde(default = "always")]
    pub rate: f64,
    /// Hit only this many requests, then the rule retires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_millis: Option<u64>,
}

fn always() -> f64 {
    1.0
}

impl FaultRule {
    fn applies_to(&self, operation: &str) -> bool {
        self.operation.as_deref().is_none_or(|o| o == "*" || o == operation) && self.count != Some(0)
    }
}

/// The faults in force: rules and, when enabled, ECS's token buckets.
#[derive(Debug, Default)]
pub struct Faults {
    rules: std::sync::Mutex<Vec<FaultRule>>,
    buckets: std::sync::Mutex<Option<Buckets>>,
}

pub const SERVER_ERROR_MESSAGE: &str = "We encountered an internal error. Please try again.";

impl Faults {
    pub fn add(&self, rule: FaultRule) {
        lock(&self.rules).push(rule);
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        lock(&self.rules).clone()
    }

    /// Removes one rule (or all); returns how many went.
    pub fn remove(&self, id: Option<&str>) -> usize {
        let mut rules = lock(&self.rules);
        let before = rules.len();
        match id {
            Some(id) => rules.retain(|r| r.id != id),
            None => rules.clear(),
        }
        before - rules.len()
    }

    pub fn set_throttling(&self, enabled: bool) {
        let mut buckets = lock(&self.buckets);
        match (enabled, buckets.is_some()) {
            (true, false) => *buckets = Some(Buckets::default()),
            (false, _) => *buckets = None,
            _ => {}
        }
    }

    pub fn throttling(&self) -> bool {
        lock(&self.buckets).is_some()
    }

    /// The error an operation gets instead of being served, if any. Call it
    /// with the emulator's generator in scope (`with_rng`).
    pub fn check(&self, operation: &str, now_millis: i64) -> Option<EcsError> {
        if let Some(buckets) = lock(&self.buckets).as_mut()
            && !buckets.take(operation, now_millis)
        {
            return Some(EcsError::new(ErrorKind::ThrottlingException, "Rate exceeded"));
        }
        let mut rules = lock(&self.rules);
        for rule in rules.iter_mut().filter(|r| r.kind != FaultKind::Latency && r.applies_to(operation)) {
            if random_unit() >= rule.rate {
                continue;
            }
            if let Some(n) = &mut rule.count {
                *n -= 1;
            }
            return Some(match rule.kind {
                FaultKind::Throttle => EcsError::new(ErrorKind::ThrottlingException, "Rate exceeded"),
                _ => EcsError::server(SERVER_ERROR_MESSAGE),
            });
        }
        None
    }

    /// Extra latency for an operation, if a latency rule hits it.
    pub fn latency(&self, operation: &str) -> Option<std::time::Duration> {
        let mut rules = lock(&self.rules);
        let rule = rules
            .iter_mut()
            .find(|r| r.kind == FaultKind::Latency && r.applies_to(operation) && random_unit() < r.rate)?;
        if let Some(n) = &mut rule.count {
            *n -= 1;
        }
        Some(std::time::Duration::from_millis(rule.latency_millis.unwrap_or(0)))
    }
}
