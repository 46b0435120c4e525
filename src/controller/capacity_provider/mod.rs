//! The EcsCapacityProvider reconciler: Kubernetes in and out around the ECS
//! engine in [`sync`] and the pure diff in [`plan`].
//!
//! A provider that a cluster still lists cannot be deleted; ECS says so and
//! the object waits with its back-off. What ends the wait is an EcsCluster
//! dropping the provider, so [`triggers`] wakes the providers being deleted
//! in a namespace whenever one of its EcsClusters has applied a new spec:
//! the deletion completes within seconds of that, and a provider waiting on
//! a cluster nobody touches costs one call per back-off step, never a loop.

pub mod plan;
pub mod sync;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures::{Stream, StreamExt};
use kube::api::Api;
use kube::runtime::controller::{Action, ReconcileRequest};
use kube::runtime::finalizer::Event as Finalizer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};

use crate::api::{EcsCapacityProvider, EcsCluster};
use crate::ecs::{EcsApi, EcsCapacityProviderApi};

use super::context::Context;
use super::error::ReconcileError;
use super::outcome::conclude;

/// The finalizer that holds an object until its provider is deleted (or retained).
pub const FINALIZER: &str = "ecs-bridge.dev/capacity-provider";

/// The kind label in metrics and logs.
pub const KIND: &str = "EcsCapacityProvider";

/// Reconciles one EcsCapacityProvider.
pub async fn reconcile<E: EcsApi + EcsCapacityProviderApi>(
    obj: Arc<EcsCapacityProvider>,
    ctx: Arc<Context<E>>,
) -> Result<Action, ReconcileError> {
    let namespace = obj.namespace().ok_or(ReconcileError::MissingField("namespace"))?;
    let api: Api<EcsCapacityProvider> = Api::namespaced(ctx.client.clone(), &namespace);
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

/// The part of an EcsCluster that says its capacity providers may have
/// changed in ECS: the generation its status has caught up with (written
/// after PutClusterCapacityProviders), and its deletion.
pub fn cluster_signal(cluster: &EcsCluster) -> Option<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    cluster.status.as_ref().and_then(|s| s.observed_generation).hash(&mut hasher);
    cluster.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// The providers of `namespace` that are being deleted.
pub fn deleting_in(
    namespace: Option<&str>,
    providers: &[Arc<EcsCapacityProvider>],
) -> Vec<ObjectRef<EcsCapacityProvider>> {
    providers
        .iter()
        .filter(|p| p.meta().namespace.as_deref() == namespace && p.meta().deletion_timestamp.is_some())
        .map(|p| ObjectRef::from(p.as_ref()))
        .collect()
}

/// Reconcile requests for the providers being deleted in a namespace whose
/// EcsClusters moved (see the module's header).
pub fn triggers(
    clusters: Api<EcsCluster>,
    providers: Store<EcsCapacityProvider>,
) -> impl Stream<Item = Result<ReconcileRequest<EcsCapacityProvider>, watcher::Error>> + Send + 'static {
    watcher(clusters, watcher::Config::default())
        .default_backoff()
        .touched_objects()
        .predicate_filter(cluster_signal, Default::default())
        .flat_map(move |event| {
            let requests: Vec<Result<ReconcileRequest<EcsCapacityProvider>, watcher::Error>> = match event {
                Ok(cluster) => deleting_in(cluster.meta().namespace.as_deref(), &providers.state())
                    .into_iter()
                    .map(|r| Ok(ReconcileRequest::from(r)))
                    .collect(),
                Err(err) => vec![Err(err)],
            };
            futures::stream::iter(requests)
        })
}

#[cfg(test)]
mod trigger_tests {
    use super::*;

    fn provider(name: &str, namespace: &str, deleting: bool) -> Arc<EcsCapacityProvider> {
        let mut obj: EcsCapacityProvider = serde_json::from_value(serde_json::json!({
            "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsCapacityProvider",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"autoScalingGroupArn": "asg"},
        }))
        .expect("a valid EcsCapacityProvider");
        if deleting {
            obj.metadata.deletion_timestamp =
                Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        }
        Arc::new(obj)
    }

    #[test]
    fn a_cluster_wakes_only_the_providers_being_deleted_in_its_namespace() {
        let providers = vec![provider("a", "data", true), provider("b", "data", false), provider("c", "other", true)];
        let woken: Vec<String> = deleting_in(Some("data"), &providers).into_iter().map(|r| r.name).collect();
        assert_eq!(woken, ["a"]);
    }
}

#[cfg(test)]
mod tests;
