//! How long simulated things take: each phase of a task's lifecycle, how long
//! a task must run before it counts as healthy, and how often container
//! health checks run. Real ECS takes tens of seconds per phase; the emulator's
//! defaults are short so `aws ecs wait services-stable` returns within
//! seconds, and tests on a manual clock may use ECS-like durations at no cost.

/// ECS's warning before a Spot interruption stops a task.
pub const SPOT_WARNING_MILLIS: i64 = 120_000;

/// Phase durations in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timings {
    /// PROVISIONING → PENDING (awsvpc tasks only: the ENI is attached).
    pub provision: i64,
    /// PENDING → ACTIVATING (image pull and container start).
    pub pull: i64,
    /// ACTIVATING → RUNNING (load balancer and service discovery registration).
    pub activate: i64,
    /// DEACTIVATING → STOPPING.
    pub deactivate: i64,
    /// STOPPING → DEPROVISIONING or STOPPED (SIGTERM until the containers exit).
    pub stop: i64,
    /// DEPROVISIONING → STOPPED (awsvpc tasks only: the ENI is detached).
    pub deprovision: i64,
    /// A RUNNING task without container health checks counts as healthy for
    /// deployments after this long (ECS: 40 s).
    pub healthy_after: i64,
    /// Container health checks run this often, whatever the definition says;
    /// `None` uses the definition's `interval` (default 30 s), as ECS does.
    pub health_check_interval: Option<i64>,
    /// How often a service whose tasks cannot be placed tries again.
    pub placement_retry: i64,
    /// How long a Fargate Spot task keeps running after its interruption
    /// warning (ECS: two minutes); `POST /_emulator/spot/interrupt` may
    /// give another.
    pub spot_warning: i64,
    /// A load balancer's target turns healthy this long after its task is
    /// RUNNING (its first passing health checks); failing checks turn it
    /// unhealthy this long after they start failing.
    pub target_healthy: i64,
}

impl Timings {
    /// Short phases for the real-time clock (`--task-start-seconds 2`,
    /// `--task-stop-seconds 1`, `--task-healthy-seconds 3`, health checks
    /// every second).
    pub fn short() -> Self {
        Self::from_seconds(2.0, 1.0, 3.0, Some(1.0))
    }

    /// Durations close to what ECS shows (about half a minute to start, 40 s
    /// to count as healthy, health checks at the definition's interval).
    pub fn ecs() -> Self {
        let mut t = Self::from_seconds(30.0, 30.0, 40.0, None);
        t.placement_retry = 30_000;
        // About one ELB health-check interval (30 s by default).
        t.target_healthy = 30_000;
        t
    }

    /// Splits a start time over PROVISIONING (¼), PENDING (½) and
    /// ACTIVATING (¼), and a stop time over DEACTIVATING (¼), STOPPING (½)
    /// and DEPROVISIONING (¼). Tasks without an ENI skip PROVISIONING and
    /// DEPROVISIONING, so they start and stop a quarter faster. Targets turn
    /// healthy as fast as tasks without checks do (`healthy`) unless
    /// `target_healthy` is set apart.
    pub fn from_seconds(start: f64, stop: f64, healthy: f64, health_check_interval: Option<f64>) -> Self {
        let ms = |s: f64| (s.max(0.0) * 1000.0).round() as i64;
        let (start, stop) = (ms(start), ms(stop));
        Self {
            provision: start / 4,
            pull: start / 2,
            activate: start - start / 4 - start / 2,
            deactivate: stop / 4,
            stop: stop / 2,
            deprovision: stop - stop / 4 - stop / 2,
            healthy_after: ms(healthy),
            health_check_interval: health_check_interval.map(ms),
            placement_retry: start.max(1000),
            spot_warning: SPOT_WARNING_MILLIS,
            target_healthy: ms(healthy),
        }
    }

    /// The interval at which a container's health check runs.
    pub fn check_interval(&self, definition_seconds: Option<i32>) -> i64 {
        self.health_check_interval.unwrap_or_else(|| i64::from(definition_seconds.unwrap_or(30).max(1)) * 1000).max(1)
    }
}

impl Default for Timings {
    fn default() -> Self {
        Self::short()
    }
}
