//! The EcsService reconciler: Kubernetes in and out (finalizer, status,
//! events, the watches that trigger it) around the ECS engine in [`sync`]
//! and the pure rules in [`plan`].
//!
//! What triggers a reconcile: a spec change (generation: edits, `kubectl
//! scale`), a finalizer or the adoption annotation; a new revision of the
//! referenced EcsTaskDefinition (watched, so a rollout starts within
//! seconds); the brisk poll of a rollout in progress; and, in steady state,
//! the fleet's batched resync ([`fleet`]), which describes services 10 per
//! call instead of one call per object.

pub mod autoscale;
pub mod discovery;
pub mod events;
pub mod fingerprints;
pub mod fleet;
pub mod metrics;
pub mod plan;
pub mod progress;
pub mod sync;

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::controller::{
    Action, Config as ControllerConfigKube, ReconcileRequest, applier, trigger_self, trigger_with,
};
use kube::runtime::finalizer::Event as Finalizer;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::utils::CancelableJoinHandle;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::api::conditions::{READY, find_condition};
use crate::api::{EcsService, EcsTaskDefinition};
use crate::ecs::{DiscoveryApi, EcsApi, EcsServiceApi, ScalingApi};

use super::backoff::RetryPolicy;
use super::context::{Context, KindState};
use super::error::ReconcileError;
use super::outcome::{Next, conclude};
use super::status::reason::INVALID_SPEC;
use plan::{Subject, TaskDefinition, Timing};

/// The finalizer that holds an object until its service is deleted.
pub const FINALIZER: &str = "ecs-bridge.dev/service";

/// The kind label in metrics and logs.
pub const KIND: &str = "EcsService";

/// How long a reconcile waits for the EcsTaskDefinition cache after start-up.
const TASK_DEFINITIONS_CACHE_WAIT: Duration = Duration::from_secs(30);

/// The own requeue of a settled object the fleet's resync does not cover (a
/// rollout that stopped without settling), in resync intervals: as often as
/// the fleet's safety slices reach each object it covers (see [`fleet`]).
const STEADY_REQUEUE_RESYNCS: u32 = fleet::SAFETY_SLICES as u32;

/// The service reconciler's timings.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSettings {
    /// How often a service is polled while a rollout, creation or deletion settles.
    pub rollout_poll: Duration,
    /// How often the fleet is resynced with batched DescribeServices.
    pub resync: Duration,
}

/// What a service reconcile needs beyond the shared [`Context`].
pub struct ServiceContext<E> {
    pub base: Arc<Context<E>>,
    pub kind: KindState,
    pub task_definitions: Store<EcsTaskDefinition>,
    pub observations: fleet::Observations,
    /// When each object rolling out last had its status written.
    pub progress: progress::ProgressWrites,
    pub settings: ServiceSettings,
}

impl<E> ServiceContext<E> {
    fn timing(&self) -> Timing {
        Timing {
            rollout_poll: self.settings.rollout_poll,
            steady: self.settings.resync.saturating_mul(STEADY_REQUEUE_RESYNCS),
        }
    }
}

/// Resolves the spec's task definition: its own string, or the referenced
/// EcsTaskDefinition's current revision once that object is ready.
pub fn resolve_task_definition(service: &EcsService, task_definitions: &Store<EcsTaskDefinition>) -> TaskDefinition {
    if let Some(td) = &service.spec.task_definition {
        return TaskDefinition::Resolved(td.clone());
    }
    let Some(reference) = &service.spec.task_definition_ref else {
        return TaskDefinition::NotReady("The spec names no task definition".to_owned());
    };
    let namespace = service.namespace().unwrap_or_default();
    let Some(td) = task_definitions.get(&ObjectRef::new(&reference.name).within(&namespace)) else {
        return TaskDefinition::NotFound(reference.name.clone());
    };
    let status = td.status.clone().unwrap_or_default();
    let ready = find_condition(&status.conditions, READY);
    if let Some(ready) = ready
        && ready.status != "True"
        && ready.reason == INVALID_SPEC
    {
        return TaskDefinition::NotReady(format!(
            "EcsTaskDefinition {} is not ready: {}",
            reference.name, ready.message
        ));
    }
    let current = status.observed_generation.is_some()
        && status.observed_generation == td.metadata.generation
        && ready.is_some_and(|c| c.status == "True");
    match status.task_definition_arn {
        Some(arn) if current => TaskDefinition::Resolved(arn),
        Some(_) => TaskDefinition::NotReady(format!(
            "EcsTaskDefinition {} is registering the revision for its latest spec",
            reference.name
        )),
        None => {
            TaskDefinition::NotReady(format!("EcsTaskDefinition {} has no registered revision yet", reference.name))
        }
    }
}

/// Whether a batched observation differs from what the object's status
/// recorded, or from its spec: only then is a reconcile worth its work. A
/// fleet at rest then costs one DescribeServices per 10 services per resync
/// and nothing else.
pub fn needs_reconcile(
    object: &EcsService,
    observed: Option<&crate::ecs::ServiceDescription>,
    task_definitions: &Store<EcsTaskDefinition>,
) -> bool {
    use crate::api::conditions::is_true;
    let (Some(observed), Some(status)) = (observed, object.status.as_ref()) else {
        return true;
    };
    let ready_now = status
        .conditions
        .iter()
        .any(|c| c.type_ == READY && c.status == "True" && c.observed_generation == object.metadata.generation);
    if !observed.is_active() || !ready_now || is_true(&status.conditions, crate::api::conditions::DEGRADED) {
        return true;
    }
    if object.wants_forced_deployment() || status.pending_redeploy.is_some() {
        return true;
    }
    let recorded = status.status.as_deref() == Some(observed.status.as_str())
        && status.desired_count == Some(observed.desired_count)
        && status.running_count == Some(observed.running_count)
        && status.pending_count == Some(observed.pending_count)
        && status.task_definition_arn == observed.task_definition
        && plan::same_deployments(&status.deployments, &observed.deployments);
    if !recorded {
        return true;
    }
    let new_events = plan::new_events(
        &observed.events,
        status.last_event_id.as_deref(),
        status.last_event_time.as_ref().map(|t| t.0),
    );
    if !new_events.is_empty() {
        return true;
    }
    let TaskDefinition::Resolved(wanted) = resolve_task_definition(object, task_definitions) else {
        return true;
    };
    let sent = plan::discovery::as_sent(&object.spec, status.service_discovery.as_deref());
    if !plan::changes(&sent, &status.applied_fields, Some(&wanted), observed).0.is_empty() {
        return true;
    }
    let (Some(uid), Some(tags)) = (object.metadata.uid.as_deref(), observed.tags.as_ref()) else {
        return true;
    };
    let wanted_tags = plan::service_tags(
        &crate::ecs::mapping::tags_of(&object.spec.tags),
        uid,
        object.metadata.namespace.as_deref().unwrap_or_default(),
        object.metadata.name.as_deref().unwrap_or_default(),
    );
    !plan::missing_tags(&wanted_tags, tags).is_empty()
        || !super::tags::stale(&status.applied_tags, &crate::ecs::mapping::tags_of(&object.spec.tags), tags).is_empty()
}

/// The object's status as this build can write it back: a record of a
/// field only a newer build knows would fail the CRD's enum on every write.
fn readable_status(obj: &EcsService) -> crate::api::EcsServiceStatus {
    let mut status = obj.status.clone().unwrap_or_default();
    status.applied_fields.retain(|f| *f != crate::api::service::SpecField::Unknown);
    status
}

fn subject_of(obj: &EcsService) -> Result<Subject<'_>, ReconcileError> {
    Ok(Subject {
        namespace: obj.metadata.namespace.as_deref().ok_or(ReconcileError::MissingField("namespace"))?,
        name: obj.metadata.name.as_deref().ok_or(ReconcileError::MissingField("name"))?,
        uid: obj.metadata.uid.as_deref().ok_or(ReconcileError::MissingField("uid"))?,
        generation: obj.metadata.generation,
        service_name: obj.service_name(),
        spec: &obj.spec,
        status: readable_status(obj),
        adopt: plan::asks_for_adoption(obj.annotations().get(plan::ADOPT_ANNOTATION).map(String::as_str)),
    })
}

/// Reconciles one EcsService.
pub async fn reconcile<E: EcsApi + EcsServiceApi + ScalingApi + DiscoveryApi>(
    obj: Arc<EcsService>,
    ctx: Arc<ServiceContext<E>>,
) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().ok_or(ReconcileError::MissingField("namespace"))?;
    let api: Api<EcsService> = Api::namespaced(ctx.base.client.clone(), &namespace);
    super::finalize::with_finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(obj) => apply(obj, &ctx, &api).await,
            Finalizer::Cleanup(obj) => cleanup(obj, &ctx, &api).await,
        }
    })
    .await
    .map_err(|err| ReconcileError::Finalizer(Box::new(err)))
}

async fn apply<E: EcsApi + EcsServiceApi + ScalingApi + DiscoveryApi>(
    obj: Arc<EcsService>,
    ctx: &ServiceContext<E>,
    api: &Api<EcsService>,
) -> Result<Action, ReconcileError> {
    if obj.spec.task_definition_ref.is_some() {
        // Before the cache has listed, every reference would look missing.
        super::cache::ready(&ctx.task_definitions, TASK_DEFINITIONS_CACHE_WAIT).await;
    }
    let task_definition = resolve_task_definition(&obj, &ctx.task_definitions);
    let mut subject = subject_of(&obj)?;
    let uid = subject.uid.to_owned();
    let object = fleet::object_key(&obj);
    // A new object's first status may be waiting unwritten (see `progress`):
    // then this reconcile starts from it, as if it were stored.
    let unwritten = match obj.status {
        Some(_) => {
            ctx.progress.stored(&object);
            None
        }
        None => ctx.progress.unwritten(&object, &uid),
    };
    if let Some(status) = &unwritten {
        subject.status = status.clone();
    }
    let key = fleet::key_of(&obj);
    let now = ctx.base.clock.now_time();
    let ecs = &ctx.base.ecs;
    let previous = subject.status.clone();
    // The Cloud Map service comes first: the ECS service is created with its ARN.
    let registry = discovery::ensure(
        ecs,
        subject.spec,
        &subject.service_name,
        subject.uid,
        subject.adopt,
        previous.service_discovery.as_deref(),
    )
    .await;
    let wired;
    let mut discovered = None;
    let mut registry_notices = Vec::new();
    match registry {
        discovery::Registry::Unused => {}
        discovery::Registry::Ready { status, arn, notices } => {
            if let Some(spec) = &obj.spec.service_discovery {
                wired = plan::discovery::with_registry(subject.spec, spec, &arn);
                subject.spec = &wired;
            }
            subject.status.service_discovery = Some(Box::new(status.clone()));
            discovered = Some(status);
            registry_notices = notices;
        }
        discovery::Registry::Blocked(why) => {
            let out = plan::verdict::waiting(subject.status.clone(), subject.generation, why, Next::AwaitChange, &now);
            return conclude(api, obj.as_ref(), obj.status.as_ref(), out.outcome, &ctx.base).await;
        }
        discovery::Registry::Failed(err) => {
            let out = plan::verdict::failed(subject.status.clone(), subject.generation, err, &now);
            return conclude(api, obj.as_ref(), obj.status.as_ref(), out.outcome, &ctx.base).await;
        }
    }
    let spec = subject.spec.clone();
    let (service_name, generation) = (subject.service_name.clone(), subject.generation);
    let cached = ctx.observations.take_fresh(&key, ctx.settings.resync);
    let mut out = sync::apply(ecs, now.clone(), subject, task_definition, cached, ctx.timing()).await;
    if out.wrote {
        ctx.observations.wrote(&key);
    }
    // The Cloud Map service was created before anything the sync did.
    registry_notices.append(&mut out.outcome.notices);
    out.outcome.notices = registry_notices;
    if let Some(status) = discovered {
        discovery::record(ecs, &mut out, status, generation, &now).await;
    }
    autoscale::follow(ecs, &mut out, &spec, &service_name, previous.auto_scaling.as_deref(), generation, &now).await;
    let stored = obj.status.as_ref();
    if stored.is_none()
        && matches!(out.outcome.next, Next::After(_))
        && ctx.progress.hold_first(&object, &uid, &out.outcome.status)
    {
        // A new object whose rollout just began: its first status waits (see
        // `progress`), usually for the Ready one a poll or two later. ECS's
        // events wait with it: they are mirrored right before the status that
        // moves the watermark past them is written, so a restart in between
        // mirrors them once, as ever. Our own notices go out now.
        out.ecs_events.clear();
        finish(obj.as_ref(), &mut out, ctx).await;
        let kept = out.outcome.status.clone();
        return conclude(api, obj.as_ref(), Some(&kept), out.outcome, &ctx.base).await;
    }
    finish(obj.as_ref(), &mut out, ctx).await;
    let known = stored.or(unwritten.as_ref());
    if ctx.progress.hold_back(&object, known, &out.outcome.status) {
        // Only the rollout's counts moved, and they were written moments ago:
        // keep the status as it is (`conclude` writes nothing), look again at
        // the next poll as decided.
        let kept = known.cloned().unwrap_or_default();
        out.outcome.status = kept.clone();
        return conclude(api, obj.as_ref(), Some(&kept), out.outcome, &ctx.base).await;
    }
    if stored != Some(&out.outcome.status) {
        ctx.progress.writing(&object, &out.outcome.status);
    }
    conclude(api, obj.as_ref(), stored, out.outcome, &ctx.base).await
}

/// Mirrors the new ECS events (moving the watermark only past published
/// ones) and updates the fleet metrics, before the status is written. The
/// reconcile's own notices go out with the ECS events, all at once, so the
/// status waits for one round trip of Events, not one per Event.
async fn finish<E>(obj: &EcsService, out: &mut plan::ServiceOutcome, ctx: &ServiceContext<E>) {
    let notices = std::mem::take(&mut out.outcome.notices);
    if !out.ecs_events.is_empty() || !notices.is_empty() {
        let reference = obj.object_ref(&());
        let (published, ()) = futures::future::join(
            events::mirror(&ctx.base.client, &ctx.base.reporter, &reference, &out.ecs_events),
            ctx.base.publish_all(&notices, &reference),
        )
        .await;
        if let Some(last) = published.checked_sub(1).and_then(|i| out.ecs_events.get(i)) {
            out.outcome.status.last_event_id = Some(last.id.clone());
            out.outcome.status.last_event_time = Some(super::status::stored_time(last.created_at));
        }
    }
    let metrics = ctx.base.metrics.services();
    metrics.rollouts(out.rollouts);
    metrics.observe(&fleet::object_key(obj), plan::condition_flags(&out.outcome.status.conditions));
}

async fn cleanup<E: EcsApi + EcsServiceApi + ScalingApi + DiscoveryApi>(
    obj: Arc<EcsService>,
    ctx: &ServiceContext<E>,
    api: &Api<EcsService>,
) -> Result<Action, ReconcileError> {
    let subject = subject_of(&obj)?;
    let key = fleet::key_of(&obj);
    let now = ctx.base.clock.now_time();
    let ecs = &ctx.base.ecs;
    let (spec, name, uid, generation) = (subject.spec, subject.service_name.clone(), subject.uid, subject.generation);
    let previous = subject.status.clone();
    // The scalable target before the ECS service, the Cloud Map service after it (its
    // instances leave with the tasks).
    let mut released = Vec::new();
    match autoscale::release(ecs, spec, &name, previous.auto_scaling.as_deref()).await {
        Ok(notice) => released.extend(notice),
        Err(err) => {
            let out = plan::verdict::deletion_failed(previous, generation, err, &now);
            return conclude(api, obj.as_ref(), obj.status.as_ref(), out.outcome, &ctx.base).await;
        }
    }
    let mut out = sync::delete(ecs, now.clone(), subject).await;
    if matches!(out.outcome.next, Next::AwaitChange) {
        match discovery::release(ecs, spec, &name, uid, previous.service_discovery.as_deref()).await {
            Ok(notice) => out.outcome.notices.extend(notice),
            Err(err) => out = plan::verdict::deletion_failed(out.outcome.status, generation, err, &now),
        }
    }
    released.append(&mut out.outcome.notices);
    out.outcome.notices = released;
    ctx.observations.forget(&key);
    ctx.progress.forget(&fleet::object_key(&obj));
    if matches!(out.outcome.next, Next::AwaitChange) {
        ctx.base.metrics.services().forget(&fleet::object_key(&obj));
    }
    conclude(api, obj.as_ref(), obj.status.as_ref(), out.outcome, &ctx.base).await
}

/// Counts, times and spans one reconcile, and clears its back-off on success.
async fn reconcile_observed<E: EcsApi + EcsServiceApi + ScalingApi + DiscoveryApi>(
    obj: Arc<EcsService>,
    ctx: Arc<ServiceContext<E>>,
) -> Result<Action, ReconcileError> {
    let key = fleet::object_key(&obj);
    let span = tracing::info_span!("reconcile", kind = KIND, object = %key, generation = obj.metadata.generation);
    ctx.kind.observe(&ctx.base.metrics, &key, reconcile(obj, ctx.clone())).instrument(span).await
}

fn error_policy<E>(obj: Arc<EcsService>, err: &ReconcileError, ctx: Arc<ServiceContext<E>>) -> Action {
    ctx.kind.retry_after(&ctx.base.metrics, &fleet::object_key(&obj), err)
}

/// `kubectl apply`'s copy of the whole object: never read, and as big as the
/// spec itself, so it does not belong in a cache of 10,000 objects.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops from a cached EcsService what the controller never reads.
fn strip_for_cache(service: &mut EcsService) {
    service.managed_fields_mut().clear();
    service.annotations_mut().remove(LAST_APPLIED);
}

/// What in an EcsService triggers a reconcile: spec (generation), finalizers,
/// deletion and the adoption annotation; never our own status writes.
fn service_trigger(service: &EcsService) -> Option<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    service.metadata.generation.hash(&mut hasher);
    service.metadata.finalizers.hash(&mut hasher);
    service.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    service.annotations().get(plan::ADOPT_ANNOTATION).hash(&mut hasher);
    Some(hasher.finish())
}

/// What in an EcsTaskDefinition matters to the services that follow it: its
/// current revision and whether it is ready for its generation.
fn task_definition_trigger(td: &EcsTaskDefinition) -> Option<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    td.metadata.generation.hash(&mut hasher);
    if let Some(status) = &td.status {
        status.task_definition_arn.hash(&mut hasher);
        status.observed_generation.hash(&mut hasher);
        if let Some(ready) = find_condition(&status.conditions, READY) {
            ready.status.hash(&mut hasher);
            ready.reason.hash(&mut hasher);
        }
    }
    Some(hasher.finish())
}

/// The EcsServices of `td`'s namespace that reference it.
fn followers(td: &EcsTaskDefinition, services: &Store<EcsService>) -> Vec<ObjectRef<EcsService>> {
    let namespace = td.namespace();
    let name = td.name_any();
    services
        .state()
        .iter()
        .filter(|s| s.namespace() == namespace)
        .filter(|s| s.spec.task_definition_ref.as_ref().is_some_and(|r| r.name == name))
        .map(|s| ObjectRef::from(s.as_ref()))
        .collect()
}

fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Whoever else follows the EcsServices this controller's watch sees (the
/// clusters' triggers): `seen` gets each object whose `signal` moved, filtered
/// with the reconciles' own trigger in one table (see [`fingerprints`]).
pub struct Watchers {
    pub seen: mpsc::UnboundedSender<EcsService>,
    pub signal: fn(&EcsService) -> Option<u64>,
}

/// Runs the EcsService controller for one leadership term: the EcsService
/// watch (feeding `writer`, whose store is `base.services`, and `watchers`),
/// the EcsTaskDefinition watch, the fleet resync and the reconcilers, until
/// `graceful` fires and in-flight reconciles end.
#[allow(clippy::too_many_arguments)]
pub async fn run<E: EcsApi + EcsServiceApi + ScalingApi + DiscoveryApi>(
    base: Arc<Context<E>>,
    writer: reflector::store::Writer<EcsService>,
    settings: ServiceSettings,
    watchers: Watchers,
    namespace: Option<String>,
    concurrency: u16,
    retry: RetryPolicy,
    graceful: oneshot::Receiver<()>,
) {
    let client = base.client.clone();
    let services = base.services.clone();
    base.metrics.services().clear();
    let (task_definitions, td_writer) = reflector::store::<EcsTaskDefinition>();
    let ctx = Arc::new(ServiceContext {
        base,
        kind: KindState::new(KIND, retry),
        task_definitions,
        observations: fleet::Observations::default(),
        progress: progress::ProgressWrites::default(),
        settings,
    });

    let own = watcher(scoped::<EcsService>(&client, namespace.as_deref()), watcher::Config::default())
        .default_backoff()
        .modify(strip_for_cache)
        .reflect(writer)
        .applied_objects()
        .try_filter({
            let mut prints = fingerprints::Fingerprints::new(fingerprints::TTL, std::time::Instant::now());
            move |service| {
                let signal = (watchers.signal)(service);
                let moved =
                    prints.observe(&service.metadata, service_trigger(service), signal, std::time::Instant::now());
                if moved.signal {
                    // The receiver is gone only when its controller stopped.
                    let _ = watchers.seen.send(service.clone());
                }
                futures::future::ready(moved.trigger)
            }
        });
    let own = trigger_self(own, ());

    let followed_services = services.clone();
    let references = watcher(scoped::<EcsTaskDefinition>(&client, namespace.as_deref()), watcher::Config::default())
        .default_backoff()
        .modify(|o| o.managed_fields_mut().clear())
        .reflect(td_writer)
        .applied_objects()
        .predicate_filter(task_definition_trigger, Default::default());
    let references = trigger_with(references, move |td: EcsTaskDefinition| {
        followers(&td, &followed_services).into_iter().map(ReconcileRequest::from).collect::<Vec<_>>()
    });

    let (fleet_tx, fleet_rx) = mpsc::channel::<ObjectRef<EcsService>>(1024);
    let resyncs = futures::stream::unfold(fleet_rx, |mut rx| async move {
        rx.recv().await.map(|object| (Ok::<_, watcher::Error>(ReconcileRequest::from(object)), rx))
    });

    let queue = futures::stream::select(futures::stream::select(own, references), resyncs).take_until(async move {
        let _ = graceful.await;
    });
    let controller = applier(
        move |obj, ctx| {
            CancelableJoinHandle::spawn(
                reconcile_observed(obj, ctx).in_current_span(),
                &tokio::runtime::Handle::current(),
            )
        },
        error_policy,
        ctx.clone(),
        services.clone(),
        queue,
        ControllerConfigKube::default().concurrency(concurrency),
    )
    .for_each(|result| async move {
        match result {
            Ok((object, _)) => tracing::debug!(kind = KIND, object = %object, "reconciled"),
            Err(err) => tracing::debug!(kind = KIND, error = ?err, "controller event"),
        }
    });
    let fleet_ctx = ctx.clone();
    let resync = async move {
        let task_definitions = fleet_ctx.task_definitions.clone();
        let needs = move |object: &EcsService, observed: Option<&crate::ecs::ServiceDescription>| {
            needs_reconcile(object, observed, &task_definitions)
        };
        fleet::run(
            &fleet_ctx.base.ecs,
            fleet_ctx.base.services.clone(),
            &fleet_ctx.observations,
            fleet_tx,
            fleet_ctx.settings.resync,
            fleet_ctx.base.metrics.services(),
            &needs,
        )
        .await;
        futures::future::pending::<()>().await;
    };
    tokio::select! {
        () = controller => {}
        () = resync => {}
    }
}

#[cfg(test)]
mod tests;

/// The Kubernetes glue's own rules; the engine's tests are in `tests.rs`.
#[cfg(test)]
mod glue_tests {
    use super::*;

    fn object(spec: serde_json::Value) -> EcsService {
        EcsService::new("web", serde_json::from_value(spec).expect("valid spec"))
    }

    #[test]
    fn the_cache_keeps_no_managed_fields_and_no_last_applied_copy() {
        let mut obj = object(serde_json::json!({"taskDefinition": "web"}));
        obj.metadata.annotations = Some(
            [
                (LAST_APPLIED.to_owned(), "{\"huge\": true}".to_owned()),
                (plan::ADOPT_ANNOTATION.to_owned(), "true".to_owned()),
            ]
            .into(),
        );
        obj.metadata.managed_fields = Some(vec![Default::default()]);
        strip_for_cache(&mut obj);
        let annotations = obj.metadata.annotations.clone().unwrap_or_default();
        assert!(!annotations.contains_key(LAST_APPLIED));
        assert!(annotations.contains_key(plan::ADOPT_ANNOTATION), "the adoption annotation is read");
        assert!(obj.metadata.managed_fields.unwrap_or_default().is_empty());
    }

    #[test]
    fn a_record_only_a_newer_build_knows_is_dropped_before_it_is_written_back() {
        use crate::api::service::SpecField;
        let mut obj = object(serde_json::json!({"taskDefinition": "web"}));
        obj.status = Some(
            serde_json::from_value(serde_json::json!({"appliedFields": ["loadBalancers", "somethingNewer"]}))
                .expect("an unknown record still reads"),
        );
        assert_eq!(readable_status(&obj).applied_fields, vec![SpecField::LoadBalancers]);
    }
}
