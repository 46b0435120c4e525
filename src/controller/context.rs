//! What every reconcile gets: the Kubernetes client, the ECS seam, a clock,
//! metrics, per-object back-off and the caches other kinds are read from; and
//! the [`Notice`]s it decides, published here as Kubernetes Events.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::Store;

use super::backoff::{Backoffs, RetryPolicy};
use super::error::ReconcileError;
use super::metrics::Metrics;
use crate::api::EcsService;
use crate::ecs::parse_task_definition_ref;

/// Wall-clock time for status timestamps; a trait so tests can pin it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    /// `now` as a Kubernetes `Time` (second precision, as the API server stores it).
    fn now_time(&self) -> Time {
        let now = self.now();
        Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
    }
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Something a person should see in `kubectl describe`, decided by a
/// reconciler and published by the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub warning: bool,
    /// Short PascalCase reason, e.g. `Registered`.
    pub reason: &'static str,
    /// The ECS operation (or step) it is about, e.g. `RegisterTaskDefinition`.
    pub action: &'static str,
    pub message: String,
}

impl Notice {
    pub fn normal(reason: &'static str, action: &'static str, message: impl Into<String>) -> Self {
        Self { warning: false, reason, action, message: message.into() }
    }

    pub fn warning(reason: &'static str, action: &'static str, message: impl Into<String>) -> Self {
        Self { warning: true, reason, action, message: message.into() }
    }
}

/// Per-kind bookkeeping for back-off and the queue-depth gauge.
pub struct KindState {
    pub kind: &'static str,
    pub backoffs: Backoffs,
    in_flight: AtomicUsize,
}

impl KindState {
    pub fn new(kind: &'static str, retry: RetryPolicy) -> Self {
        Self { kind, backoffs: Backoffs::new(retry), in_flight: AtomicUsize::new(0) }
    }

    pub fn started(&self, metrics: &Metrics) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.publish_depth(metrics);
    }

    pub fn finished(&self, metrics: &Metrics) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.publish_depth(metrics);
    }

    pub fn publish_depth(&self, metrics: &Metrics) {
        let depth = self.in_flight.load(Ordering::Relaxed) + self.backoffs.waiting();
        metrics.set_queue_depth(self.kind, depth);
    }

    /// Counts and times one reconcile of the object `key`, and clears its
    /// back-off on success (every kind's controller wraps its reconcile in it).
    pub async fn observe(
        &self,
        metrics: &Metrics,
        key: &str,
        reconcile: impl std::future::Future<Output = Result<Action, ReconcileError>>,
    ) -> Result<Action, ReconcileError> {
        self.started(metrics);
        let started = Instant::now();
        let result = reconcile.await;
        let error = result.as_ref().err().map(ReconcileError::metric_label);
        metrics.reconciled(self.kind, started.elapsed(), error);
        if result.is_ok() {
            self.backoffs.succeeded(key);
        }
        self.finished(metrics);
        result
    }

    /// The error policy: the object's next back-off, counted and logged.
    pub fn retry_after(&self, metrics: &Metrics, key: &str, err: &ReconcileError) -> Action {
        let delay = self.backoffs.failed(key);
        metrics.retry_scheduled(self.kind, delay);
        self.publish_depth(metrics);
        tracing::warn!(kind = self.kind, object = %key, error = %err, retry_in = ?delay, "reconcile failed");
        Action::requeue(delay)
    }
}

/// Everything a reconcile needs; generic over the ECS seam so that tests can
/// substitute it.
pub struct Context<E> {
    pub client: kube::Client,
    pub ecs: E,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub reporter: Reporter,
    /// How often a healthy object is looked at again (drift, ECS counts).
    pub resync: Duration,
    pub task_definitions: KindState,
    pub clusters: KindState,
    pub capacity_providers: KindState,
    /// EcsServices, to know which task definition revisions are in use.
    pub services: Store<EcsService>,
}

/// How long a reconcile waits for the EcsService cache after start-up.
const SERVICES_CACHE_WAIT: Duration = Duration::from_secs(30);

impl<E> Context<E> {
    /// Publishes a notice as a Kubernetes Event on `reference`.
    ///
    /// A fresh [`Recorder`] per event on purpose: the shared recorder folds
    /// events with the same reason into one series and keeps the *first*
    /// note, so "Registered revision 2" would show as "revision 1, x2".
    /// Reconcilers emit notices only on changes, so there is nothing to fold.
    pub async fn publish(&self, notice: &Notice, reference: &k8s_openapi::api::core::v1::ObjectReference) {
        if notice.warning {
            tracing::warn!(reason = notice.reason, action = notice.action, "{}", notice.message);
        } else {
            tracing::info!(reason = notice.reason, action = notice.action, "{}", notice.message);
        }
        let recorder = Recorder::new(self.client.clone(), self.reporter.clone());
        let event = Event {
            type_: if notice.warning { EventType::Warning } else { EventType::Normal },
            reason: notice.reason.to_owned(),
            note: Some(truncate(&notice.message, NOTE_MAX)),
            action: notice.action.to_owned(),
            secondary: None,
        };
        if let Err(err) = recorder.publish(&event, reference).await {
            // An event is a courtesy; failing the reconcile over it would
            // repeat the ECS work that it reports.
            tracing::warn!(error = %err, reason = notice.reason, "could not publish an event");
        }
    }

    /// Publishes `notices` together: a reconcile with several waits one round
    /// trip to the API server for them, not one each.
    pub async fn publish_all(&self, notices: &[Notice], reference: &k8s_openapi::api::core::v1::ObjectReference) {
        futures::future::join_all(notices.iter().map(|notice| self.publish(notice, reference))).await;
    }

    /// The task definition revisions (as `family:revision`) that some
    /// EcsService's status says it runs or is deploying.
    pub async fn revisions_in_use(&self) -> Result<HashSet<String>, ReconcileError> {
        if !super::cache::ready(&self.services, SERVICES_CACHE_WAIT).await {
            return Err(ReconcileError::ServicesCacheNotReady);
        }
        let mut in_use = HashSet::new();
        for service in self.services.state() {
            let Some(status) = &service.status else { continue };
            let arns = status
                .task_definition_arn
                .iter()
                .chain(status.deployments.iter().filter_map(|d| d.task_definition.as_ref()));
            for arn in arns {
                in_use.insert(revision_key(arn));
            }
        }
        Ok(in_use)
    }
}

/// `family:revision` for an ARN or a short reference, the form in-use sets hold.
pub fn revision_key(reference: &str) -> String {
    match parse_task_definition_ref(reference) {
        Some((family, revision)) => format!("{family}:{revision}"),
        None => reference.to_owned(),
    }
}

/// The longest note the API server accepts on an Event, in bytes.
pub const NOTE_MAX: usize = 1024;

/// `text` cut to at most `max` bytes, ending in `...` when cut. The cut falls on a
/// character boundary: a byte offset inside a multi-byte character would panic.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_keys_ignore_the_arn_prefix() {
        assert_eq!(revision_key("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"), "web:3");
        assert_eq!(revision_key("web:3"), "web:3");
    }

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        let text = "é".repeat(600);
        let cut = truncate(&text, 1024);
        assert!(cut.len() <= 1024);
        assert!(cut.ends_with("..."));
    }
}
