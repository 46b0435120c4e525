//! Time as the emulator sees it. Everything that stamps a record asks a
//! [`Clock`]: the real wall clock by default, or a [`ManualClock`] that only
//! moves when a test advances it (through `POST /_emulator/clock/advance`,
//! which also runs the scheduler's work due on the way, see
//! [`crate::emulator::sim::scheduler::advance`]).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in epoch milliseconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_millis(&self) -> i64;

    /// The manual clock behind this one, if time only moves when told to.
    /// The scheduler runs no background ticker on a manual clock.
    fn manual(&self) -> Option<&ManualClock> {
        None
    }
}

/// The real wall clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to, for deterministic tests.
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    pub fn new(start_millis: i64) -> Self {
        Self { millis: AtomicI64::new(start_millis) }
    }

    /// Starts at the current wall-clock time (so timestamps look recent).
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now_millis())
    }

    /// Moves time forward without running any scheduler work (use
    /// [`crate::emulator::sim::scheduler::advance`] to run the work due as well).
    pub fn advance_millis(&self, by: i64) {
        self.millis.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the time; never moves it backwards.
    pub fn set_millis(&self, to: i64) {
        self.millis.fetch_max(to, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.millis.load(Ordering::SeqCst)
    }

    fn manual(&self) -> Option<&ManualClock> {
        Some(self)
    }
}
