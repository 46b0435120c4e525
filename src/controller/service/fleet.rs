//! The steady-state resync of the whole fleet, batched: every resync
//! interval, the services of each cluster are described 10 per
//! DescribeServices call, and each object is reconciled against that
//! observation instead of describing itself. Services whose rollout is in
//! progress are left out: they poll briskly on their own.
//!
//! [`Observations`] hands a batch result to the one reconcile it is for.
//! An observation taken before the reconcile's own last write to ECS is
//! stale and ignored, so a batch in flight during an update cannot make
//! the operator "revert" its own change.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::mpsc;

use crate::api::EcsService;
use crate::api::conditions::{PROGRESSING, is_true};
use crate::ecs::service::{DESCRIBE_BATCH, EcsServiceApi, ServiceDescription};

/// Where a service lives in ECS: (cluster as the spec names it, service name).
pub type ServiceKey = (String, String);

pub fn key_of(service: &EcsService) -> ServiceKey {
    (service.spec.cluster.clone(), service.service_name())
}

struct Observed {
    fetched_at: Instant,
    /// `None`: ECS reported the service MISSING.
    description: Option<ServiceDescription>,
}

/// Batch observations waiting for their reconcile.
#[derive(Default)]
pub struct Observations {
    observed: Mutex<HashMap<ServiceKey, Observed>>,
    written: Mutex<HashMap<ServiceKey, Instant>>,
}

impl Observations {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores what a batch saw; `fetched_at` is when the call was sent.
    pub fn put(&self, key: ServiceKey, fetched_at: Instant, description: Option<ServiceDescription>) {
        Self::lock(&self.observed).insert(key, Observed { fetched_at, description });
    }

    /// Takes the observation for `key` if it is younger than `max_age` and
    /// newer than the last write. `Some(None)` means "MISSING in ECS".
    pub fn take_fresh(&self, key: &ServiceKey, max_age: Duration) -> Option<Option<ServiceDescription>> {
        let observed = Self::lock(&self.observed).remove(key)?;
        let written = Self::lock(&self.written).get(key).copied();
        let fresh = observed.fetched_at.elapsed() <= max_age && written.is_none_or(|w| observed.fetched_at > w);
        fresh.then_some(observed.description)
    }

    /// Records that a reconcile just changed the service in ECS.
    pub fn wrote(&self, key: &ServiceKey) {
        Self::lock(&self.observed).remove(key);
        Self::lock(&self.written).insert(key.clone(), Instant::now());
    }

    /// Forgets a deleted object's service.
    pub fn forget(&self, key: &ServiceKey) {
        Self::lock(&self.observed).remove(key);
        Self::lock(&self.written).remove(key);
    }
}

/// The objects a batched resync covers, by cluster: those whose service
/// exists, that are not being deleted and not rolling out.
pub fn due_for_resync(objects: &[Arc<EcsService>]) -> BTreeMap<String, Vec<(String, Arc<EcsService>)>> {
    let mut by_cluster: BTreeMap<String, Vec<(String, Arc<EcsService>)>> = BTreeMap::new();
    for object in objects {
        let Some(status) = &object.status else { continue };
        if status.service_arn.is_none()
            || object.metadata.deletion_timestamp.is_some()
            || is_true(&status.conditions, PROGRESSING)
        {
            continue;
        }
        by_cluster.entry(object.spec.cluster.clone()).or_default().push((object.service_name(), object.clone()));
    }
    for entries in by_cluster.values_mut() {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
    }
    by_cluster
}

/// Keeps only the events the object has not published yet: a reconcile needs
/// no others, and a fleet's worth of 100-event logs would be a lot to hold.
pub fn keep_new_events(description: &mut ServiceDescription, object: &EcsService) {
    let status = object.status.clone().unwrap_or_default();
    let fresh = super::plan::new_events(
        &description.events,
        status.last_event_id.as_deref(),
        status.last_event_time.as_ref().map(|t| t.0),
    )
    .len();
    description.events.truncate(fresh);
}

/// What one resync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// DescribeServices calls.
    pub calls: usize,
    /// Objects handed to a reconcile (the others matched ECS already).
    pub triggered: usize,
}

/// One resync of the fleet: describe in batches, and hand each observation
/// that `needs_reconcile` to its object's reconcile.
pub async fn resync_once<E: EcsServiceApi>(
    ecs: &E,
    store: &Store<EcsService>,
    observations: &Observations,
    trigger: &mpsc::Sender<ObjectRef<EcsService>>,
    needs_reconcile: &(dyn Fn(&EcsService, Option<&ServiceDescription>) -> bool + Send + Sync),
) -> Round {
    let mut round = Round::default();
    for (cluster, entries) in due_for_resync(&store.state()) {
        // Two objects naming one service (one of them AlreadyExists) share a describe.
        let mut by_name: BTreeMap<String, Vec<Arc<EcsService>>> = BTreeMap::new();
        for (name, object) in entries {
            by_name.entry(name).or_default().push(object);
        }
        let names: Vec<String> = by_name.keys().cloned().collect();
        for batch in names.chunks(DESCRIBE_BATCH) {
            let fetched_at = Instant::now();
            round.calls += 1;
            let described = match ecs.describe_services(&cluster, batch, true).await {
                Ok(described) => described,
                Err(err) => {
                    // The objects keep their own safety requeue; the next round retries.
                    tracing::warn!(cluster = %cluster, error = %err, "batched resync: DescribeServices failed");
                    continue;
                }
            };
            let mut found: HashMap<String, ServiceDescription> =
                described.services.into_iter().map(|s| (s.name.clone(), s)).collect();
            for name in batch {
                let description = found.remove(name);
                if description.is_none() && !described.missing.contains(name) {
                    continue;
                }
                for object in by_name.get(name).into_iter().flatten() {
                    if !needs_reconcile(object, description.as_ref()) {
                        continue;
                    }
                    let mut observed = description.clone();
                    if let Some(observed) = &mut observed {
                        keep_new_events(observed, object);
                    }
                    observations.put((cluster.clone(), name.clone()), fetched_at, observed);
                    round.triggered += 1;
                    if trigger.send(ObjectRef::from(object.as_ref())).await.is_err() {
                        return round;
                    }
                }
            }
        }
    }
    round
}

/// Resyncs the fleet every `every` until the trigger's receiver is gone.
pub async fn run<E: EcsServiceApi>(
    ecs: &E,
    store: Store<EcsService>,
    observations: &Observations,
    trigger: mpsc::Sender<ObjectRef<EcsService>>,
    every: Duration,
    metrics: &super::metrics::ServiceMetrics,
    needs_reconcile: &(dyn Fn(&EcsService, Option<&ServiceDescription>) -> bool + Send + Sync),
) {
    // No wait for the cache here: a second waiter on it could steal the
    // runner's wake-up (see `controller::cache`); before it lists, the
    // store is empty and a round costs nothing.
    loop {
        tokio::time::sleep(every).await;
        if trigger.is_closed() {
            return;
        }
        let started = Instant::now();
        let round = resync_once(ecs, &store, observations, &trigger, needs_reconcile).await;
        metrics.resynced(round.calls);
        tracing::debug!(calls = round.calls, triggered = round.triggered, elapsed = ?started.elapsed(), "batched resync of the fleet");
    }
}

/// The object key used in logs and metrics.
pub fn object_key(service: &EcsService) -> String {
    format!("{}/{}", service.namespace().unwrap_or_default(), service.name_any())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EcsServiceStatus;
    use crate::api::conditions::{ConditionStatus, new_condition};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn object(name: &str, cluster: &str, arn: bool, progressing: bool) -> Arc<EcsService> {
        let mut svc = EcsService::new(
            name,
            serde_json::from_value(serde_json::json!({"taskDefinition": "web", "cluster": cluster})).unwrap(),
        );
        svc.metadata.namespace = Some("ns".into());
        let mut status = EcsServiceStatus {
            service_arn: arn.then(|| format!("arn:aws:ecs:us-east-1:1:service/{cluster}/{name}")),
            ..Default::default()
        };
        status.conditions.push(new_condition(
            PROGRESSING,
            ConditionStatus::from(progressing),
            "r",
            "",
            None,
            Time(Timestamp::UNIX_EPOCH),
        ));
        svc.status = Some(status);
        Arc::new(svc)
    }

    #[test]
    fn resync_covers_settled_existing_services_by_cluster() {
        let objects = vec![
            object("a", "prod", true, false),
            object("b", "prod", true, true),
            object("c", "prod", false, false),
            object("d", "dev", true, false),
        ];
        let due = due_for_resync(&objects);
        let names = |cluster: &str| due[cluster].iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names("prod"), vec!["a"]);
        assert_eq!(names("dev"), vec!["d"]);
    }

    #[test]
    fn an_observation_older_than_a_write_is_not_used() {
        let observations = Observations::default();
        let key = ("prod".to_owned(), "web".to_owned());
        let before = Instant::now();
        observations.put(key.clone(), before, None);
        assert_eq!(observations.take_fresh(&key, Duration::from_secs(60)), Some(None));
        assert_eq!(observations.take_fresh(&key, Duration::from_secs(60)), None, "taken once");

        observations.put(key.clone(), before, Some(ServiceDescription::default()));
        observations.wrote(&key);
        assert_eq!(observations.take_fresh(&key, Duration::from_secs(60)), None, "dropped by the write");
        observations.put(key.clone(), before, Some(ServiceDescription::default()));
        assert_eq!(observations.take_fresh(&key, Duration::from_secs(60)), None, "fetched before the write");
        observations.put(key.clone(), Instant::now(), Some(ServiceDescription::default()));
        assert!(observations.take_fresh(&key, Duration::from_secs(60)).is_some());
        let long_ago = Instant::now().checked_sub(Duration::from_secs(120)).expect("the clock is past 2 minutes");
        observations.put(key.clone(), long_ago, None);
        assert_eq!(observations.take_fresh(&key, Duration::from_secs(60)), None, "too old");
    }
}
