//! ECS service events as Kubernetes Events on the EcsService, each exactly once.
//!
//! The Event's name is derived from the ECS event's ID, so publishing the
//! same ECS event twice (a crash between publishing and recording the
//! watermark in status, a stale cache) is refused by the API server as
//! AlreadyExists instead of showing twice. The watermark in status only
//! saves the attempts.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use kube::runtime::events::Reporter;
use sha2::{Digest, Sha256};

use crate::controller::context::{NOTE_MAX, truncate};
use crate::ecs::service::ServiceEventRecord;

/// The Event name for one ECS event of the object `object`.
pub fn event_name(object: &str, ecs_event_id: &str) -> String {
    let digest = hex::encode(Sha256::digest(ecs_event_id.as_bytes()));
    let mut prefix = object.to_owned();
    // 253 is the limit; leave room for ".ecs." and 20 hex digits.
    prefix.truncate(225);
    format!("{prefix}.ecs.{}", &digest[..20])
}

/// A Kubernetes Event's reason for an ECS event message, and whether it is a warning.
pub fn event_reason(message: &str) -> (&'static str, bool) {
    const RULES: &[(&str, &str, bool)] = &[
        ("deployment failed", "DeploymentFailed", true),
        ("rolling back to deployment", "RollingBack", true),
        ("deployment completed", "DeploymentCompleted", false),
        ("has reached a steady state", "SteadyState", false),
        ("unable to consistently start tasks", "TasksFailing", true),
        ("was unable to place a task", "PlacementFailed", true),
        ("was unable to stop or start tasks", "DeploymentBlocked", true),
        ("failed container health checks", "Unhealthy", true),
        ("is unhealthy in", "Unhealthy", true),
        ("are being throttled", "Throttled", true),
        ("has started", "TasksStarted", false),
        ("has stopped", "TasksStopped", false),
        ("stopped", "TasksStopped", false),
        ("registered", "TargetsRegistered", false),
        ("draining", "Draining", false),
    ];
    RULES
        .iter()
        .find(|(needle, _, _)| message.contains(needle))
        .map(|(_, reason, warning)| (*reason, *warning))
        .unwrap_or(("EcsServiceEvent", false))
}

/// The Event for one ECS event.
pub fn event_for(reporter: &Reporter, reference: &ObjectReference, record: &ServiceEventRecord) -> Event {
    let (reason, warning) = event_reason(&record.message);
    Event {
        metadata: ObjectMeta {
            name: Some(event_name(reference.name.as_deref().unwrap_or_default(), &record.id)),
            namespace: reference.namespace.clone(),
            ..ObjectMeta::default()
        },
        event_time: Some(MicroTime(record.created_at)),
        action: Some("EcsServiceEvent".to_owned()),
        reason: Some(reason.to_owned()),
        note: Some(truncate(&record.message, NOTE_MAX)),
        regarding: Some(reference.clone()),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(reporter.instance.clone().unwrap_or_else(|| reporter.controller.clone())),
        type_: Some(if warning { "Warning" } else { "Normal" }.to_owned()),
        ..Event::default()
    }
}

/// Publishes `records` (oldest first), all at once, and returns how many of
/// the oldest are now published, counting those already there. The count
/// stops at the first failure so that the watermark never passes an event
/// that is not published; a later one that did go through is refused as
/// AlreadyExists when it is sent again. Sent together, a reconcile that
/// mirrors several events waits one round trip to the API server, not one each.
pub async fn mirror(
    client: &kube::Client,
    reporter: &Reporter,
    reference: &ObjectReference,
    records: &[ServiceEventRecord],
) -> usize {
    let namespace = reference.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
    let sent = records.iter().map(|record| {
        let api = &api;
        async move {
            match api.create(&PostParams::default(), &event_for(reporter, reference, record)).await {
                Ok(_) => true,
                Err(kube::Error::Api(status)) if status.code == 409 => true,
                Err(err) => {
                    tracing::warn!(error = %err, ecs_event = %record.id, "could not publish an ECS service event");
                    false
                }
            }
        }
    });
    published_prefix(&futures::future::join_all(sent).await)
}

/// How many results, from the first, are successes.
fn published_prefix(results: &[bool]) -> usize {
    results.iter().take_while(|published| **published).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    #[test]
    fn names_are_stable_per_ecs_event_and_valid() {
        let a = event_name("web", "6d3b1c4e-0000-4000-8000-000000000001");
        assert_eq!(a, event_name("web", "6d3b1c4e-0000-4000-8000-000000000001"));
        assert_ne!(a, event_name("web", "6d3b1c4e-0000-4000-8000-000000000002"));
        assert!(a.starts_with("web.ecs."));
        assert!(event_name(&"n".repeat(253), "x").len() <= 253);
    }

    #[test]
    fn failures_become_warnings_at_ecs_time() {
        let reporter = Reporter { controller: "ecs-bridge".into(), instance: Some("replica-a".into()) };
        let reference =
            ObjectReference { name: Some("web".into()), namespace: Some("prod".into()), ..ObjectReference::default() };
        let record = ServiceEventRecord {
            id: "e1".into(),
            created_at: Timestamp::from_second(1_800_000_000).unwrap(),
            message: "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start.".into(),
        };
        let event = event_for(&reporter, &reference, &record);
        assert_eq!(event.type_.as_deref(), Some("Warning"));
        assert_eq!(event.reason.as_deref(), Some("DeploymentFailed"));
        assert_eq!(event.event_time.unwrap().0.as_second(), 1_800_000_000);
        assert_eq!(event.metadata.namespace.as_deref(), Some("prod"));
        assert!(truncate(&"é".repeat(600), NOTE_MAX).len() <= 1024);
    }

    #[test]
    fn the_watermark_stops_at_the_first_event_not_published() {
        assert_eq!(published_prefix(&[true, true, false, true]), 2);
        assert_eq!(published_prefix(&[false, true]), 0);
        assert_eq!(published_prefix(&[true, true]), 2);
        assert_eq!(published_prefix(&[]), 0);
    }

    #[test]
    fn event_reasons_mark_failures_as_warnings() {
        assert_eq!(
            event_reason("(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start."),
            ("DeploymentFailed", true)
        );
        assert_eq!(event_reason("(service web) has reached a steady state."), ("SteadyState", false));
        assert_eq!(event_reason("(service web) has started 2 tasks: (task a) (task b)."), ("TasksStarted", false));
        assert_eq!(event_reason("(service web) rolling back to deployment ecs-svc/1."), ("RollingBack", true));
        assert_eq!(event_reason("(service web) something new."), ("EcsServiceEvent", false));
    }
}
