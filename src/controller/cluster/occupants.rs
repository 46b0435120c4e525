//! What wakes an EcsCluster between resyncs: its occupants. ECS counts a
//! cluster's active services, running and pending tasks; those numbers move
//! when a service scales or rolls out and when a one-off task starts or
//! stops, and the EcsService and EcsTask reconcilers already record each such
//! move in their objects' status. So the cluster controller watches those
//! objects and, when the part of a status that tracks ECS's counts changes,
//! reconciles the cluster they name, which asks DescribeClusters once.
//!
//! This is a watch, not a poll: a fleet at rest costs nothing, and the
//! counts themselves still come from ECS, never summed from Kubernetes
//! objects (a service created with the AWS CLI counts too).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::api::Api;
use kube::runtime::controller::ReconcileRequest;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};

use crate::api::{EcsCluster, EcsService, EcsTask};

/// The part of an EcsService that follows its ECS counts: the cluster it
/// is in, its state and counts (also per deployment, as a rollout moves tasks
/// between them at a constant total), and its finalizers and deletion (a
/// service leaving ECS lowers the active count). Our conditions' timestamps
/// and the event watermark are left out: they move without the counts.
pub fn service_signal(service: &EcsService) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    service.spec.cluster.hash(&mut hasher);
    service.metadata.finalizers.hash(&mut hasher);
    service.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    if let Some(status) = &service.status {
        status.status.hash(&mut hasher);
        (status.desired_count, status.running_count, status.pending_count).hash(&mut hasher);
        for deployment in &status.deployments {
            (&deployment.id, &deployment.status, deployment.running_count, deployment.pending_count).hash(&mut hasher);
        }
    }
    Some(hasher.finish())
}

/// The part of an EcsTask that follows its tasks' lives in ECS: the cluster
/// and each task's `lastStatus`.
pub fn task_signal(task: &EcsTask) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    task.spec.cluster.hash(&mut hasher);
    task.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    if let Some(status) = &task.status {
        for attempt in &status.attempts {
            for record in &attempt.tasks {
                (&record.task_arn, &record.last_status).hash(&mut hasher);
            }
        }
    }
    Some(hasher.finish())
}

/// The ECS cluster name in a reference that may be a name or an ARN
/// (`arn:aws:ecs:region:account:cluster/NAME`).
pub fn cluster_name_of(reference: &str) -> &str {
    match reference.strip_prefix("arn:") {
        Some(_) => reference.rsplit_once('/').map_or(reference, |(_, name)| name),
        None => reference,
    }
}

/// The EcsClusters of `namespace` whose ECS cluster is `reference`: usually
/// one, none when the cluster is not managed here (then nothing to update).
pub fn clusters_named(
    reference: &str,
    namespace: Option<&str>,
    clusters: &[std::sync::Arc<EcsCluster>],
) -> Vec<ObjectRef<EcsCluster>> {
    let name = cluster_name_of(reference);
    clusters
        .iter()
        .filter(|c| c.meta().namespace.as_deref() == namespace)
        .filter(|c| {
            c.cluster_name() == name
                || c.status.as_ref().and_then(|s| s.cluster_arn.as_deref()).is_some_and(|arn| arn == reference)
        })
        .map(|c| ObjectRef::from(c.as_ref()))
        .collect()
}

/// Reconcile requests for the clusters in `clusters` whose occupants'
/// counts moved: the EcsServices whose [`service_signal`] moved, as the
/// EcsService controller's own watch delivers them (`services`: a second
/// watch of every EcsService would cost the API server a watcher and this
/// process a decode per write; that watch filters them, see
/// `service::fingerprints`), and a watch on EcsTask (in `api`'s scope),
/// filtered by [`task_signal`].
pub fn triggers(
    services: impl Stream<Item = EcsService> + Send + 'static,
    tasks: Api<EcsTask>,
    clusters: Store<EcsCluster>,
) -> impl Stream<Item = Result<ReconcileRequest<EcsCluster>, watcher::Error>> + Send + 'static {
    let by_service = clusters.clone();
    let services = services.map(move |service| {
        Ok::<_, watcher::Error>(clusters_named(
            &service.spec.cluster,
            service.meta().namespace.as_deref(),
            &by_service.state(),
        ))
    });
    let by_task = clusters;
    let tasks = watcher(tasks, watcher::Config::default())
        .default_backoff()
        .touched_objects()
        .predicate_filter(task_signal, Default::default())
        .map(move |event| {
            event.map(|task| clusters_named(&task.spec.cluster, task.meta().namespace.as_deref(), &by_task.state()))
        });
    futures::stream::select(services, tasks).flat_map(|event| {
        let requests: Vec<Result<ReconcileRequest<EcsCluster>, watcher::Error>> = match event {
            Ok(refs) => refs.into_iter().map(|r| Ok(ReconcileRequest::from(r))).collect(),
            Err(err) => vec![Err(err)],
        };
        futures::stream::iter(requests)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn service(cluster: &str, running: i32) -> EcsService {
        let mut obj: EcsService = serde_json::from_value(serde_json::json!({
            "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsService",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"cluster": cluster, "taskDefinition": "web", "desiredCount": 3},
            "status": {"runningCount": running, "desiredCount": 3, "pendingCount": 0, "status": "ACTIVE"},
        }))
        .expect("a valid EcsService");
        obj.metadata.generation = Some(1);
        obj
    }

    fn cluster(name: &str, namespace: &str, cluster_name: Option<&str>) -> Arc<EcsCluster> {
        let mut spec = serde_json::json!({});
        if let Some(n) = cluster_name {
            spec["clusterName"] = n.into();
        }
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsCluster",
                "metadata": {"name": name, "namespace": namespace}, "spec": spec,
            }))
            .expect("a valid EcsCluster"),
        )
    }

    #[test]
    fn only_count_changes_move_a_services_signal() {
        let before = service("demo", 1);
        let mut same = before.clone();
        if let Some(status) = same.status.as_mut() {
            status.last_event_id = Some("e-9".to_owned());
            status.observed_generation = Some(7);
        }
        assert_eq!(service_signal(&before), service_signal(&same), "bookkeeping does not wake the cluster");
        assert_ne!(service_signal(&before), service_signal(&service("demo", 3)), "a running count does");
        assert_ne!(service_signal(&before), service_signal(&service("other", 1)), "moving cluster does");
    }

    #[test]
    fn a_service_wakes_the_clusters_that_manage_its_ecs_cluster_in_its_namespace() {
        let clusters = vec![
            cluster("demo", "apps", None),
            cluster("renamed", "apps", Some("demo")),
            cluster("demo", "elsewhere", None),
            cluster("other", "apps", None),
        ];
        let woken = |reference: &str| -> Vec<String> {
            clusters_named(reference, Some("apps"), &clusters).into_iter().map(|r| r.name).collect()
        };
        assert_eq!(woken("demo"), ["demo", "renamed"]);
        assert_eq!(woken("arn:aws:ecs:us-east-1:123456789012:cluster/demo"), ["demo", "renamed"]);
        assert!(woken("unmanaged").is_empty());
    }
}
