//! Start-up checks: fail fast, with an error that says what to fix, instead
//! of a controller that watches nothing or retries ECS forever.

use kube::api::{Api, ListParams};

use crate::api::{EcsCapacityProvider, EcsCluster, EcsService, EcsTask, EcsTaskDefinition};
use crate::ecs::{EcsApi, EcsError};

/// Why the controller cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(
        "cannot list {kind} objects: is the CRD installed? Install the CRDs with `ecs-bridge crds | kubectl apply --server-side -f -` ({source})"
    )]
    CrdMissing {
        kind: &'static str,
        #[source]
        source: kube::Error,
    },
    #[error(
        "the ECS endpoint does not answer ListClusters; check --ecs-endpoint / AWS_ENDPOINT_URL_ECS, the region and the credentials ({source})"
    )]
    EcsUnreachable {
        #[source]
        source: EcsError,
    },
}

async fn can_list<K>(client: &kube::Client, namespace: Option<&str>, kind: &'static str) -> Result<(), StartupError>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    api.list_metadata(&ListParams::default().limit(1))
        .await
        .map(|_| ())
        .map_err(|source| StartupError::CrdMissing { kind, source })
}

/// Checks that the five CRDs answer in the watched scope.
pub async fn check_crds(client: &kube::Client, namespace: Option<&str>) -> Result<(), StartupError> {
    can_list::<EcsTaskDefinition>(client, namespace, "EcsTaskDefinition").await?;
    can_list::<EcsCluster>(client, namespace, "EcsCluster").await?;
    can_list::<EcsService>(client, namespace, "EcsService").await?;
    can_list::<EcsTask>(client, namespace, "EcsTask").await?;
    can_list::<EcsCapacityProvider>(client, namespace, "EcsCapacityProvider").await?;
    Ok(())
}

/// Checks that ECS answers (one ListClusters call).
pub async fn check_ecs<E: EcsApi>(ecs: &E) -> Result<(), StartupError> {
    ecs.ping().await.map_err(|source| StartupError::EcsUnreachable { source })
}
