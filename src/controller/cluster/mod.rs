//! The EcsCluster reconciler: Kubernetes in and out around the ECS engine in
//! [`sync`] and the pure diff in [`plan`]; [`occupants`] wakes it when the
//! cluster's services and tasks move, so its counts follow ECS within seconds.

pub mod occupants;
pub mod plan;
pub mod sync;

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::Event as Finalizer;

use crate::api::EcsCluster;
use crate::ecs::EcsApi;

use super::context::Context;
use super::error::ReconcileError;
use super::outcome::conclude;

/// The finalizer that holds an object until its cluster is deleted (or retained).
pub const FINALIZER: &str = "ecs-bridge.dev/cluster";

/// The kind label in metrics and logs.
pub const KIND: &str = "EcsCluster";

/// Reconciles one EcsCluster.
pub async fn reconcile<E: EcsApi>(obj: Arc<EcsCluster>, ctx: Arc<Context<E>>) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().ok_or(ReconcileError::MissingField("namespace"))?;
    let api: Api<EcsCluster> = Api::namespaced(ctx.client.clone(), &namespace);
    super::finalize::with_finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(obj) => {
                let outcome = sync::apply(&ctx.ecs, ctx.clock.as_ref(), sync::Subject::of(&obj)?).await;
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
