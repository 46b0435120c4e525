//! What one reconcile decided, before any of it is written to Kubernetes:
//! the new status, the events to publish, and when to look again.

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::{Context, Notice};
use super::error::ReconcileError;
use super::status::apply_status;

/// When the object should be reconciled again.
#[derive(Debug)]
pub enum Next {
    /// Healthy: look again at the next resync.
    Resync,
    /// Soon (something in ECS is still settling), independent of back-off.
    After(std::time::Duration),
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
    for notice in &notices {
        ctx.publish(notice, &reference).await;
    }
    let write = apply_status(api, &obj.name_any(), current, &status).await;
    match (next, write) {
        (Next::Retry(err), _) => Err(err),
        (_, Err(err)) => Err(err.into()),
        (Next::Resync, Ok(_)) => Ok(Action::requeue(ctx.resync)),
        (Next::After(delay), Ok(_)) => Ok(Action::requeue(delay)),
        (Next::AwaitChange, Ok(_)) => Ok(Action::await_change()),
    }
}
