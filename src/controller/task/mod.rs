//! The EcsTask reconciler: Kubernetes in and out (finalizer, status, Events,
//! the watches that trigger it, the time-to-live deletion) around the ECS engine
//! in [`sync`] and the pure rules in [`plan`], [`verdict`] and [`observe`].
//!
//! What triggers a reconcile: the object's creation, finalizers and deletion (its
//! spec never changes: CEL refuses edits); a change of the EcsTaskDefinition it
//! references, while it waits for that one's revision; and its own requeues, every
//! few seconds while its tasks run, at the end of a back-off, at its deadline and
//! at the end of its time to live. A finished EcsTask is not looked at again.

pub mod observe;
pub mod plan;
pub mod sync;
pub mod verdict;

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::controller::{
    Action, Config as ControllerConfigKube, ReconcileRequest, applier, trigger_self, trigger_with,
};
use kube::runtime::finalizer::Event as Finalizer;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::utils::CancelableJoinHandle;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::api::conditions::{READY, find_condition};
use crate::api::{EcsTask, EcsTaskDefinition};
use crate::ecs::EcsTaskApi;

use super::backoff::RetryPolicy;
use super::context::{Context, KindState};
use super::error::ReconcileError;
use super::outcome::conclude;
use super::status::reason::INVALID_SPEC;
use plan::Policy;
use sync::{Resolution, Subject};

/// The finalizer that holds an object until its tasks are stopped (or retained).
pub const FINALIZER: &str = "ecs-bridge.dev/task";

/// The kind label in metrics and logs.
pub const KIND: &str = "EcsTask";

/// How long a reconcile waits for the EcsTaskDefinition cache after start-up.
const TASK_DEFINITIONS_CACHE_WAIT: Duration = Duration::from_secs(30);

/// What a task reconcile needs beyond the shared [`Context`].
pub struct TaskContext<E> {
    pub base: Arc<Context<E>>,
    pub kind: KindState,
    pub task_definitions: Store<EcsTaskDefinition>,
    pub policy: Policy,
}

/// The spec's task definition: its own string, or the referenced
/// EcsTaskDefinition's current revision once that object is ready for its spec.
pub fn resolve_task_definition(task: &EcsTask, task_definitions: &Store<EcsTaskDefinition>) -> Resolution {
    if let Some(td) = &task.spec.task_definition {
        return Resolution::Resolved(td.clone());
    }
    let Some(reference) = &task.spec.task_definition_ref else {
        return Resolution::Waiting("The spec names no task definition".to_owned());
    };
    let namespace = task.namespace().unwrap_or_default();
    let Some(td) = task_definitions.get(&ObjectRef::new(&reference.name).within(&namespace)) else {
        return Resolution::Waiting(format!("EcsTaskDefinition {} does not exist", reference.name));
    };
    let status = td.status.clone().unwrap_or_default();
    let ready = find_condition(&status.conditions, READY);
    if let Some(ready) = ready.filter(|c| c.status != "True" && c.reason == INVALID_SPEC) {
        return Resolution::Waiting(format!("EcsTaskDefinition {} is not ready: {}", reference.name, ready.message));
    }
    let current = status.observed_generation.is_some()
        && status.observed_generation == td.metadata.generation
        && ready.is_some_and(|c| c.status == "True");
    match status.task_definition_arn {
        Some(arn) if current => Resolution::Resolved(arn),
        _ => Resolution::Waiting(format!(
            "EcsTaskDefinition {} has no registered revision for its spec yet",
            reference.name
        )),
    }
}

fn subject_of(obj: &EcsTask) -> Result<Subject<'_>, ReconcileError> {
    Ok(Subject {
        namespace: obj.metadata.namespace.as_deref().ok_or(ReconcileError::MissingField("namespace"))?,
        name: obj.metadata.name.as_deref().ok_or(ReconcileError::MissingField("name"))?,
        uid: obj.metadata.uid.as_deref().ok_or(ReconcileError::MissingField("uid"))?,
        generation: obj.metadata.generation,
        spec: &obj.spec,
        status: obj.status.clone().unwrap_or_default(),
    })
}

/// Reconciles one EcsTask.
pub async fn reconcile<E: EcsTaskApi>(obj: Arc<EcsTask>, ctx: Arc<TaskContext<E>>) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().ok_or(ReconcileError::MissingField("namespace"))?;
    let api: Api<EcsTask> = Api::namespaced(ctx.base.client.clone(), &namespace);
    super::finalize::with_finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(obj) => apply(obj, &ctx, &api).await,
            Finalizer::Cleanup(obj) => {
                let now = ctx.base.clock.now_time().0;
                let outcome = sync::delete(&ctx.base.ecs, now, subject_of(&obj)?).await;
                conclude(&api, obj.as_ref(), obj.status.as_ref(), outcome, &ctx.base).await
            }
        }
    })
    .await
    .map_err(|err| ReconcileError::Finalizer(Box::new(err)))
}

async fn apply<E: EcsTaskApi>(
    obj: Arc<EcsTask>,
    ctx: &TaskContext<E>,
    api: &Api<EcsTask>,
) -> Result<Action, ReconcileError> {
    let pinned = obj.status.as_ref().is_some_and(|s| s.task_definition_arn.is_some());
    if obj.spec.task_definition_ref.is_some() && !pinned {
        // Before the cache has listed, every reference would look missing.
        super::cache::ready(&ctx.task_definitions, TASK_DEFINITIONS_CACHE_WAIT).await;
    }
    let resolution = resolve_task_definition(&obj, &ctx.task_definitions);
    let now = ctx.base.clock.now_time().0;
    let out = sync::apply(&ctx.base.ecs, now, subject_of(&obj)?, resolution, &ctx.policy).await;
    let delete = out.delete;
    let action = conclude(api, obj.as_ref(), obj.status.as_ref(), out.outcome, &ctx.base).await?;
    if delete {
        expire(api, &obj).await?;
    }
    Ok(action)
}

/// Deletes a finished EcsTask whose time to live ran out; the precondition makes
/// sure it is this object, not a new one of the same name.
async fn expire(api: &Api<EcsTask>, obj: &EcsTask) -> Result<(), ReconcileError> {
    let name = obj.name_any();
    let params = DeleteParams {
        preconditions: Some(Preconditions { uid: obj.metadata.uid.clone(), resource_version: None }),
        ..DeleteParams::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => {
            tracing::info!(object = %name, "ttlSecondsAfterFinished ran out: deleted");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
        Err(err) => Err(err.into()),
    }
}

fn object_key(obj: &EcsTask) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Counts, times and spans one reconcile, and clears its back-off on success.
async fn reconcile_observed<E: EcsTaskApi>(
    obj: Arc<EcsTask>,
    ctx: Arc<TaskContext<E>>,
) -> Result<Action, ReconcileError> {
    let key = object_key(&obj);
    let span = tracing::info_span!("reconcile", kind = KIND, object = %key, generation = obj.metadata.generation);
    ctx.kind.observe(&ctx.base.metrics, &key, reconcile(obj, ctx.clone())).instrument(span).await
}

fn error_policy<E>(obj: Arc<EcsTask>, err: &ReconcileError, ctx: Arc<TaskContext<E>>) -> Action {
    ctx.kind.retry_after(&ctx.base.metrics, &object_key(&obj), err)
}

/// What in an EcsTask triggers a reconcile: generation, finalizers and deletion;
/// never our own status writes (the reconciler requeues itself while it waits).
fn task_trigger(task: &EcsTask) -> Option<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    task.metadata.generation.hash(&mut hasher);
    task.metadata.finalizers.hash(&mut hasher);
    task.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// What in an EcsTaskDefinition matters to a task waiting for it.
fn task_definition_trigger(td: &EcsTaskDefinition) -> Option<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    td.metadata.generation.hash(&mut hasher);
    if let Some(status) = &td.status {
        status.task_definition_arn.hash(&mut hasher);
        status.observed_generation.hash(&mut hasher);
        find_condition(&status.conditions, READY).map(|c| (&c.status, &c.reason)).hash(&mut hasher);
    }
    Some(hasher.finish())
}

/// The EcsTasks of `td`'s namespace that reference it and have not fixed their
/// revision yet (the others no longer care).
fn waiting_on(td: &EcsTaskDefinition, tasks: &Store<EcsTask>) -> Vec<ObjectRef<EcsTask>> {
    let namespace = td.namespace();
    let name = td.name_any();
    tasks
        .state()
        .iter()
        .filter(|t| t.namespace() == namespace)
        .filter(|t| t.spec.task_definition_ref.as_ref().is_some_and(|r| r.name == name))
        .filter(|t| t.status.as_ref().is_none_or(|s| s.task_definition_arn.is_none()))
        .map(|t| ObjectRef::from(t.as_ref()))
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

/// Runs the EcsTask controller for one leadership term: the EcsTask and
/// EcsTaskDefinition watches and the reconcilers, until `graceful` fires and
/// in-flight reconciles end.
pub async fn run<E: EcsTaskApi>(
    base: Arc<Context<E>>,
    namespace: Option<String>,
    concurrency: u16,
    retry: RetryPolicy,
    policy: Policy,
    graceful: oneshot::Receiver<()>,
) {
    let client = base.client.clone();
    let (tasks, tasks_writer) = reflector::store::<EcsTask>();
    let (task_definitions, td_writer) = reflector::store::<EcsTaskDefinition>();
    let ctx = Arc::new(TaskContext { base, kind: KindState::new(KIND, retry), task_definitions, policy });

    let own = watcher(scoped::<EcsTask>(&client, namespace.as_deref()), watcher::Config::default())
        .default_backoff()
        .modify(|o| o.managed_fields_mut().clear())
        .reflect(tasks_writer)
        .applied_objects()
        .predicate_filter(task_trigger, Default::default());
    let own = trigger_self(own, ());

    let waiting = tasks.clone();
    let references = watcher(scoped::<EcsTaskDefinition>(&client, namespace.as_deref()), watcher::Config::default())
        .default_backoff()
        .modify(|o| o.managed_fields_mut().clear())
        .reflect(td_writer)
        .applied_objects()
        .predicate_filter(task_definition_trigger, Default::default());
    let references = trigger_with(references, move |td: EcsTaskDefinition| {
        waiting_on(&td, &waiting).into_iter().map(ReconcileRequest::from).collect::<Vec<_>>()
    });

    let queue = futures::stream::select(own, references).take_until(async move {
        let _ = graceful.await;
    });
    applier(
        move |obj, ctx| {
            CancelableJoinHandle::spawn(
                reconcile_observed(obj, ctx).in_current_span(),
                &tokio::runtime::Handle::current(),
            )
        },
        error_policy,
        ctx,
        tasks,
        queue,
        ControllerConfigKube::default().concurrency(concurrency),
    )
    .for_each(|result| async move {
        match result {
            Ok((object, _)) => tracing::debug!(kind = KIND, object = %object, "reconciled"),
            Err(err) => tracing::debug!(kind = KIND, error = ?err, "controller event"),
        }
    })
    .await;
}

#[cfg(test)]
mod tests;
