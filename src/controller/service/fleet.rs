//! The steady-state resync of the whole fleet, batched: every resync
//! interval, the services of each cluster are described 10 per
//! DescribeServices call, and each object is reconciled against that
//! observation instead of describing itself. Services whose rollout is in
//! progress are left out: they poll briskly on their own.
//!
//! A settled service has no timer of its own (its reconcile ends in
//! [`Next::Fleet`](crate::controller::outcome::Next::Fleet)): besides the
//! objects whose observation differs, each round wakes one slice of the fleet
//! (see [`in_safety_slice`]), so every object still gets a full reconcile at
//! least every [`SAFETY_SLICES`] rounds (it checks what `needs_reconcile` does
//! not: scaling policies, the Cloud Map service), from the round's own
//! observation, without a DescribeServices of its own. A per-object requeue
//! did the same before, at the cost of an entry in the runtime's scheduler for
//! every object (about 540 bytes each).
//!
//! [`Observations`] hands a batch result to the one reconcile it is for.
//! An observation taken before the reconcile's own last write to ECS is
//! stale and ignored, so a batch in flight during an update cannot make
//! the operator "revert" its own change.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::mpsc;

use crate::api::EcsService;
use crate::ecs::service::{DESCRIBE_BATCH, EcsServiceApi, ServiceDescription};

/// A settled object's full reconcile comes at least every this many rounds.
pub const SAFETY_SLICES: u64 = 20;

/// Whether `object` is in round `round`'s slice of the fleet: each object in one
/// round of every [`SAFETY_SLICES`], by a hash of its namespace and name (fixed
/// keys, so the same across rounds), so the fleet's safety reconciles are spread
/// evenly over the rounds.
pub fn in_safety_slice(object: &EcsService, round: u64) -> bool {
    let mut hasher = DefaultHasher::new();
    object.metadata.namespace.hash(&mut hasher);
    object.metadata.name.hash(&mut hasher);
    hasher.finish() % SAFETY_SLICES == round % SAFETY_SLICES
}

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

    /// Forgets the writes older than `max_age`, the age beyond which
    /// [`Self::take_fresh`] refuses an observation anyway: any observation it
    /// still takes was fetched after them, so they can reject none. Without this
    /// every service ever written kept an entry (about 170 bytes at 10,000).
    pub fn forget_writes_before(&self, max_age: Duration) {
        let mut written = Self::lock(&self.written);
        written.retain(|_, at| at.elapsed() < max_age);
        written.shrink_to_fit();
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
        if object.metadata.deletion_timestamp.is_some() || !super::plan::verdict::resynced_by_fleet(status) {
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

/// Round `number` of the fleet's resync: describe in batches, and hand each
/// observation that `needs_reconcile`, or whose object is in the round's safety
/// slice, to its object's reconcile.
pub async fn resync_once<E: EcsServiceApi>(
    ecs: &E,
    number: u64,
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
                    // The next round retries; the slice's objects describe themselves.
                    tracing::warn!(cluster = %cluster, error = %err, "batched resync: DescribeServices failed");
                    let slice = batch.iter().flat_map(|name| by_name.get(name).into_iter().flatten());
                    for object in slice.filter(|object| in_safety_slice(object, number)) {
                        round.triggered += 1;
                        if trigger.send(ObjectRef::from(object.as_ref())).await.is_err() {
                            return round;
                        }
                    }
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
                    if !in_safety_slice(object, number) && !needs_reconcile(object, description.as_ref()) {
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
    for number in 0_u64.. {
        tokio::time::sleep(every).await;
        if trigger.is_closed() {
            return;
        }
        let started = Instant::now();
        observations.forget_writes_before(every);
        let round = resync_once(ecs, number, &store, observations, &trigger, needs_reconcile).await;
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
    use crate::api::conditions::{ConditionStatus, PROGRESSING, new_condition};
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

    #[test]
    fn a_write_is_forgotten_only_once_no_fresh_observation_can_predate_it() {
        let observations = Observations::default();
        let key = ("prod".to_owned(), "web".to_owned());
        let before = Instant::now();
        observations.wrote(&key);
        observations.forget_writes_before(Duration::from_secs(60));
        observations.put(key.clone(), before, None);
        assert_eq!(observations.take_fresh(&key, Duration::from_secs(60)), None, "a recent write still rejects");
        std::thread::sleep(Duration::from_millis(20));
        observations.forget_writes_before(Duration::from_millis(10));
        assert!(Observations::lock(&observations.written).is_empty(), "an old write is gone");
        observations.put(key.clone(), before, None);
        assert_eq!(
            observations.take_fresh(&key, Duration::from_secs(60)),
            Some(None),
            "then only the observation's own age counts"
        );
    }

    #[test]
    fn every_object_is_in_one_safety_slice_of_each_cycle() {
        let objects: Vec<_> = (0..200).map(|i| object(&format!("svc-{i}"), "prod", true, false)).collect();
        let mut per_round = [0_usize; SAFETY_SLICES as usize];
        for obj in &objects {
            let rounds: Vec<u64> = (0..SAFETY_SLICES).filter(|r| in_safety_slice(obj, *r)).collect();
            assert_eq!(rounds.len(), 1, "{}: {rounds:?}", obj.name_any());
            assert!(in_safety_slice(obj, rounds[0] + SAFETY_SLICES), "the same slot every cycle");
            per_round[rounds[0] as usize] += 1;
        }
        assert!(per_round.iter().all(|n| (1..=25).contains(n)), "spread over the rounds: {per_round:?}");
    }

    fn store_of(objects: &[Arc<EcsService>]) -> Store<EcsService> {
        let (store, mut writer) = kube::runtime::reflector::store::<EcsService>();
        for obj in objects {
            writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(obj.as_ref().clone()));
        }
        store
    }

    async fn woken(rx: &mut mpsc::Receiver<ObjectRef<EcsService>>) -> Vec<String> {
        let mut names = Vec::new();
        while let Ok(object) = rx.try_recv() {
            names.push(object.name);
        }
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_round_wakes_the_objects_that_differ_and_its_safety_slice_from_its_own_observation() {
        use crate::ecs::service_fake::FakeServices;
        let ecs = FakeServices::default();
        let objects: Vec<_> = (0..40).map(|i| object(&format!("svc-{i:02}"), "prod", true, false)).collect();
        for obj in &objects {
            ecs.create_foreign("prod", &obj.name_any(), "web:1", Default::default());
        }
        let store = store_of(&objects);
        let observations = Observations::default();
        let (tx, mut rx) = mpsc::channel(100);
        let round = 7;
        let slice: Vec<String> = objects.iter().filter(|o| in_safety_slice(o, round)).map(|o| o.name_any()).collect();
        assert!(!slice.is_empty() && slice.len() < objects.len());
        let differs = |o: &EcsService, _: Option<&ServiceDescription>| o.name_any() == "svc-00";

        let done = resync_once(&ecs, round, &store, &observations, &tx, &differs).await;
        let mut expected = slice.clone();
        expected.push("svc-00".to_owned());
        expected.sort();
        expected.dedup();
        assert_eq!(woken(&mut rx).await, expected);
        assert_eq!(done, Round { calls: 4, triggered: expected.len() });
        for name in &expected {
            let observed = observations.take_fresh(&("prod".to_owned(), name.clone()), Duration::from_secs(60));
            assert!(matches!(observed, Some(Some(_))), "{name} reconciles from the round's observation");
        }
        assert_eq!(ecs.count("DescribeServices"), 4, "10 per call, nothing more");
    }

    #[tokio::test]
    async fn when_a_batch_cannot_be_described_its_safety_slice_still_wakes() {
        use crate::ecs::EcsError;
        use crate::ecs::service_fake::FakeServices;
        let ecs = FakeServices::default();
        let objects: Vec<_> = (0..10).map(|i| object(&format!("svc-{i:02}"), "prod", true, false)).collect();
        let store = store_of(&objects);
        let observations = Observations::default();
        let (tx, mut rx) = mpsc::channel(100);
        let round = (0..SAFETY_SLICES).find(|r| objects.iter().any(|o| in_safety_slice(o, *r))).expect("a round");
        let mut slice: Vec<String> =
            objects.iter().filter(|o| in_safety_slice(o, round)).map(|o| o.name_any()).collect();
        slice.sort();
        ecs.fail_next(
            "DescribeServices",
            EcsError::from_code("DescribeServices", "ThrottlingException", "slow down".to_owned(), Some(400)),
        );
        let never = |_: &EcsService, _: Option<&ServiceDescription>| true;
        resync_once(&ecs, round, &store, &observations, &tx, &never).await;
        assert_eq!(woken(&mut rx).await, slice, "only the slice: the others wait for the next round");
        for name in &slice {
            assert_eq!(observations.take_fresh(&("prod".to_owned(), name.clone()), Duration::from_secs(60)), None);
        }
    }
}
