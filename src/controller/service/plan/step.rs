//! A step after the ECS service's own sync (its auto scaling, its Cloud Map instance
//! count) that failed: Synced says which and why; a rejected input waits for a new
//! spec, anything else is retried with back-off. Ready keeps what the service's rollout
//! said: the tasks run whatever the autoscaler's state.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::verdict::{ServiceOutcome, set};
use crate::api::conditions::SYNCED;
use crate::controller::context::Notice;
use crate::controller::outcome::Next;
use crate::controller::status::{Judgement, condition_reason, failure_reason};
use crate::ecs::{EcsError, EcsErrorKind};

/// Records `err` of the step `what` (e.g. "autoScaling") in `out`, unless the reconcile
/// already failed for another reason (that one is retried first).
pub fn failed(out: &mut ServiceOutcome, what: &str, err: EcsError, generation: Option<i64>, now: &Time) {
    if matches!(out.outcome.next, Next::Retry(_)) {
        return;
    }
    let why = failure_reason(&err);
    let message = format!("{what}: {err}");
    let status = &mut out.outcome.status;
    let previous = condition_reason(&status.conditions, SYNCED).map(|(r, m)| (r.to_owned(), m.to_owned()));
    if previous != Some((why.to_owned(), message.clone())) {
        out.outcome.notices.push(Notice::warning(why, err.operation(), message.clone()));
    }
    set(&mut status.conditions, SYNCED, Judgement::no(why, message), generation, now);
    out.outcome.next = if err.kind() == EcsErrorKind::Rejected { Next::AwaitChange } else { Next::Retry(err.into()) };
}
