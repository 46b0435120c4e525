//! The EcsTaskDefinition reconciler: Kubernetes in and out (finalizer,
//! status, events) around the ECS engine in [`sync`] and the pure rules in
//! [`plan`].

pub mod plan;
pub mod sync;

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::Event as Finalizer;

use crate::api::EcsTaskDefinition;
use crate::ecs::EcsApi;

use super::context::Context;
use super::error::ReconcileError;
use super::outcome::conclude;

/// The finalizer that holds an object until its revisions are cleaned up.
pub const FINALIZER: &str = "ecs-bridge.dev/task-definition";

/// The kind label in metrics and logs.
pub const KIND: &str = "EcsTaskDefinition";

/// Reconciles one EcsTaskDefinition.
pub async fn reconcile<E: EcsApi>(obj: Arc<EcsTaskDefinition>, ctx: Arc<Context<E>>) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().ok_or(ReconcileError::MissingField("namespace"))?;
    let api: Api<EcsTaskDefinition> = Api::namespaced(ctx.client.clone(), &namespace);
    super::finalize::with_finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(obj) => {
                let in_use = ctx.revisions_in_use().await?;
                let outcome = sync::apply(&ctx.ecs, ctx.clock.as_ref(), sync::Subject::of(&obj)?, &in_use).await;
                conclude(&api, obj.as_ref(), obj.status.as_ref(), outcome, &ctx).await
            }
            Finalizer::Cleanup(obj) => {
                let outcome = sync::delete(&ctx.ecs, ctx.clock.as_ref(), sync::Subject::of(&obj)?).await;
                conclude(&api, obj.as_ref(), obj.status.as_ref(), outcome, &ctx).await
            }
        }
    })
    .await
    .map_err(|err| ReconcileError::Finalizer(Box::new(err)))
}

#[cfg(test)]
mod tests;
