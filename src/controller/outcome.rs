//! What one reconcile decided, before any of it is written to Kubernetes:
//! the new status, the events to publish, and when to look again; and
//! [`failed_apply`], how a failed apply of a standing ECS resource reads.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Context, Notice};
use super::error::ReconcileError;
use super::status::{Judgement, apply_status, condition_reason, failure_reason, set_ready_and_synced};
use crate::api::conditions::{READY, SYNCED};
use crate::ecs::{EcsError, EcsErrorKind};

/// When the object should be reconciled again.
#[derive(Debug)]
pub enum Next {
    /// Healthy: look again at the next resync.
    Resync,
    /// Soon (something in ECS is still settling), independent of back-off.
    After(std::time::Duration),
    /// Settled, and looked at by its kind's batched resync, which wakes it when
    /// ECS differs and, as a safety net, every so many rounds anyway (EcsService:
    /// `service::fleet`): no timer of its own, which for 10,000 settled objects
    /// held 5 MiB in the runtime's scheduler.
    Fleet,
    /// Nothing to do until the object changes (ECS rejected the spec, or
    /// the object is gone).
    AwaitChange,
    /// Failed: retry with this object's back-off.
    Retry(ReconcileError),
}

/// A reconcile's result, with the status to write even when it failed (so
/// the user sees *why* in the conditions).
#[derive(Debug)]
pub struct Outcome<S> {
    pub status: S,
    pub notices: Vec<Notice>,
    pub next: Next,
}

impl<S> Outcome<S> {
    pub fn new(status: S, notices: Vec<Notice>, next: Next) -> Self {
        Self { status, notices, next }
    }
}

/// Publishes an outcome's events, writes its status (server-side apply,
/// skipped when unchanged), and turns its verdict into the controller's [`Action`].
pub async fn conclude<K, S, E>(
    api: &Api<K>,
    obj: &K,
    current: Option<&S>,
    outcome: Outcome<S>,
    ctx: &Context<E>,
) -> Result<Action, ReconcileError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    let Outcome { status, notices, next } = outcome;
    // Events first, then the status: whoever sees the status (a user's
    // `kubectl wait`, a test) also finds the Events that explain it. A crash
    // between the two can repeat a notice at the next reconcile; the other
    // order could lose it.
    let reference = obj.object_ref(&());
    ctx.publish_all(&notices, &reference).await;
    let write = apply_status(api, &obj.name_any(), current, &status).await;
    match (next, write) {
        (Next::Retry(err), _) => Err(err),
        (_, Err(err)) => Err(err.into()),
        (Next::Resync, Ok(_)) => Ok(Action::requeue(ctx.resync)),
        (Next::After(delay), Ok(_)) => Ok(Action::requeue(delay)),
        (Next::AwaitChange | Next::Fleet, Ok(_)) => Ok(Action::await_change()),
    }
}

/// What a failed apply of a standing ECS resource (a cluster, a capacity
/// provider) decided: its events, when to look again, and whether the
/// status now describes this generation (ECS rejected it).
#[derive(Debug)]
pub struct FailedApply {
    pub notices: Vec<Notice>,
    pub next: Next,
    pub observed: bool,
}

/// Sets the conditions after `err` and decides what follows. A resource that
/// was Ready stays Ready (`still_ready`) through a transient failure to look
/// at it; only Synced says that the last reconcile failed. A rejection waits
/// for a new spec, with a Warning; anything else retries with back-off, with
/// a Warning when the reason is new.
pub fn failed_apply(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    now: &Time,
    err: EcsError,
    still_ready: Judgement,
    what: &str,
) -> FailedApply {
    let why = failure_reason(&err);
    let message = err.to_string();
    let previous = condition_reason(conditions, SYNCED).map(|(r, _)| r.to_owned());
    let was_ready = conditions.iter().any(|c| c.type_ == READY && c.status == "True");
    let ready = if was_ready && err.is_transient() { still_ready } else { Judgement::no(why, message.clone()) };
    set_ready_and_synced(conditions, ready, Judgement::no(why, message.clone()), generation, now);
    if err.kind() == EcsErrorKind::Rejected {
        let notice = Notice::warning(why, err.operation(), format!("ECS rejected the {what}: {}", err.ecs_message()));
        return FailedApply { notices: vec![notice], next: Next::AwaitChange, observed: true };
    }
    let notices = if previous.as_deref() != Some(why) {
        vec![Notice::warning(why, err.operation(), message)]
    } else {
        Vec::new()
    };
    FailedApply { notices, next: Next::Retry(err.into()), observed: false }
}
