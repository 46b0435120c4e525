//! Per-object retry delays: exponential, capped, with jitter.
//!
//! Each object backs off on its own, so one object that ECS keeps throttling
//! never slows the others down; jitter spreads the retries of many objects
//! that failed together (one throttling burst) so they do not return together.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The shape of the back-off curve.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Delay after the first failure (before jitter).
    pub base: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::from_millis(500), max: Duration::from_secs(300) }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (0-based), given a uniform
    /// random number in `[0, 1)`: half the exponential step is fixed, the
    /// other half random ("equal jitter"), so delays still grow reliably.
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Duration {
        let step = self.base.checked_mul(2u32.saturating_pow(attempt.min(30))).unwrap_or(self.max).min(self.max);
        let half = step / 2;
        half + half.mul_f64(unit_random.clamp(0.0, 1.0))
    }
}

/// Consecutive failures per object key.
pub struct Backoffs {
    policy: RetryPolicy,
    attempts: Mutex<HashMap<String, u32>>,
    rng: Mutex<StdRng>,
}

impl Backoffs {
    pub fn new(policy: RetryPolicy) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        Self { policy, attempts: Mutex::new(HashMap::new()), rng: Mutex::new(StdRng::seed_from_u64(seed)) }
    }

    /// Records a failure of `key` and returns how long to wait before retrying.
    pub fn failed(&self, key: &str) -> Duration {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
            let entry = attempts.entry(key.to_owned()).or_insert(0);
            let attempt = *entry;
            *entry = entry.saturating_add(1);
            attempt
        };
        let unit = self.rng.lock().unwrap_or_else(|p| p.into_inner()).random_range(0.0..1.0);
        self.policy.delay(attempt, unit)
    }

    /// Forgets `key`'s failures after a success (or once it is gone).
    pub fn succeeded(&self, key: &str) {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// How many objects are currently backing off.
    pub fn waiting(&self) -> usize {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn delays_double_until_the_cap() {
        let policy = RetryPolicy { base: Duration::from_secs(1), max: Duration::from_secs(10) };
        assert_eq!(policy.delay(0, 1.0), Duration::from_secs(1));
        assert_eq!(policy.delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(policy.delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(policy.delay(4, 1.0), Duration::from_secs(10));
        assert_eq!(policy.delay(200, 1.0), Duration::from_secs(10));
        assert_eq!(policy.delay(3, 0.0), Duration::from_secs(4));
    }

    #[test]
    fn objects_back_off_independently() {
        let backoffs = Backoffs::new(RetryPolicy { base: Duration::from_secs(1), max: Duration::from_secs(60) });
        for _ in 0..4 {
            backoffs.failed("ns/a");
        }
        let b_first = backoffs.failed("ns/b");
        assert!(b_first <= Duration::from_secs(1), "b starts from the base: {b_first:?}");
        assert!(backoffs.failed("ns/a") >= Duration::from_secs(8));
        assert_eq!(backoffs.waiting(), 2);
        backoffs.succeeded("ns/a");
        assert_eq!(backoffs.waiting(), 1);
        assert!(backoffs.failed("ns/a") <= Duration::from_secs(1));
    }

    proptest! {
        #[test]
        fn jitter_stays_within_half_to_full_step(attempt in 0u32..40, unit in 0.0f64..1.0) {
            let policy = RetryPolicy::default();
            let full = policy.delay(attempt, 1.0);
            let got = policy.delay(attempt, unit);
            prop_assert!(got <= full && got >= full / 2);
            prop_assert!(got <= policy.max);
        }
    }
}
