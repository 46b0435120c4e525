//! The Cloud Map service of `spec.serviceDiscovery`, through the [`DiscoveryApi`] seam
//! only: found (by name in its namespace) or created before the ECS service needs its
//! ARN, its instances counted after, deleted after the ECS service on deletion. The
//! rules are in [`plan::discovery`].

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::plan::discovery as rules;
use super::plan::{ServiceOutcome, reason, step};
use crate::api::DeletionPolicy;
use crate::api::discovery::{ServiceDiscovery, ServiceDiscoveryStatus};
use crate::api::service::EcsServiceSpec;
use crate::controller::context::Notice;
use crate::controller::status::Judgement;
use crate::ecs::discovery::DiscoveryApi;
use crate::ecs::{EcsError, EcsErrorKind};

/// The failpoint right after a successful Cloud Map CreateService, before the status
/// records it: the window the lookup by name exists for.
pub const AFTER_CREATE: &str = "after-create-cloud-map-service";

/// The registry the ECS service is wired to, or why there is none yet.
#[derive(Debug)]
pub enum Registry {
    /// The spec has no `serviceDiscovery`.
    Unused,
    Ready {
        status: ServiceDiscoveryStatus,
        arn: String,
        notices: Vec<Notice>,
    },
    /// A same-named service that is not this object's: wait for a change.
    Blocked(Judgement),
    Failed(EcsError),
}

async fn namespace_id<D: DiscoveryApi>(api: &D, discovery: &ServiceDiscovery) -> Result<String, EcsError> {
    if let Some(id) = &discovery.namespace_id {
        return Ok(id.clone());
    }
    let name = discovery.namespace_name.as_deref().unwrap_or_default();
    api.namespace_id_by_name(name).await?.ok_or_else(|| EcsError::NotFound {
        operation: "servicediscovery:ListNamespaces",
        code: "NamespaceNotFound".to_owned(),
        message: format!("Cloud Map has no namespace named {name}"),
    })
}

/// Finds or creates the Cloud Map service; the status's record is trusted once written.
pub async fn ensure<D: DiscoveryApi>(
    api: &D,
    spec: &EcsServiceSpec,
    service_name: &str,
    uid: &str,
    adopt: bool,
    previous: Option<&ServiceDiscoveryStatus>,
) -> Registry {
    let Some(discovery) = &spec.service_discovery else {
        return Registry::Unused;
    };
    if let Some(known) = previous
        && known.service_id.is_some()
        && let Some(arn) = &known.service_arn
    {
        return Registry::Ready { status: known.clone(), arn: arn.clone(), notices: Vec::new() };
    }
    let namespace_id = match namespace_id(api, discovery).await {
        Ok(id) => id,
        Err(err) => return Registry::Failed(err),
    };
    let name = rules::service_name(discovery, service_name);
    let (service, notices) = match api.find_service(&namespace_id, &name).await {
        Err(err) => return Registry::Failed(err),
        Ok(Some(found)) if rules::usable(&found, uid, adopt) => (found, Vec::new()),
        Ok(Some(found)) => {
            return Registry::Blocked(Judgement::no(
                reason::ALREADY_EXISTS,
                format!(
                    "Cloud Map service {name} ({}) in namespace {namespace_id} was not created by this object; \
                     annotate the object with {}: \"true\" to use it",
                    found.id,
                    super::plan::ADOPT_ANNOTATION
                ),
            ));
        }
        Ok(None) => {
            match api.create_service(&rules::create_input(discovery, name.clone(), namespace_id.clone(), uid)).await {
                Ok(created) => {
                    crate::controller::failpoint::hit(AFTER_CREATE);
                    let notice = Notice::normal(
                        "CloudMapServiceCreated",
                        "servicediscovery:CreateService",
                        format!("Created Cloud Map service {name} ({}) in namespace {namespace_id}", created.id),
                    );
                    (created, vec![notice])
                }
                Err(err) => return Registry::Failed(err),
            }
        }
    };
    let status = ServiceDiscoveryStatus {
        namespace_id: Some(namespace_id),
        service_id: Some(service.id),
        service_arn: Some(service.arn.clone()),
        instance_count: previous.and_then(|p| p.instance_count),
    };
    Registry::Ready { status, arn: service.arn, notices }
}

/// Counts the registered instances into `status`. A service deleted outside the
/// operator is forgotten (found or created again at the next reconcile).
pub async fn count<D: DiscoveryApi>(api: &D, status: &mut ServiceDiscoveryStatus) -> Result<(), EcsError> {
    let Some(id) = status.service_id.clone() else {
        return Ok(());
    };
    match api.count_instances(&id).await {
        Ok(n) => {
            status.instance_count = Some(n);
            Ok(())
        }
        Err(err) => {
            if err.kind() == EcsErrorKind::NotFound {
                *status = ServiceDiscoveryStatus { namespace_id: status.namespace_id.clone(), ..Default::default() };
            }
            Err(err)
        }
    }
}

/// Counts the instances into `status` and puts it in `out`'s status; a failure to count
/// is the reconcile's failure (retried).
pub async fn record<D: DiscoveryApi>(
    api: &D,
    out: &mut ServiceOutcome,
    mut status: ServiceDiscoveryStatus,
    generation: Option<i64>,
    now: &Time,
) {
    if let Err(err) = count(api, &mut status).await {
        step::failed(out, "serviceDiscovery", err, generation, now);
    }
    out.outcome.status.service_discovery = Some(Box::new(status));
}

/// On deletion (policy `Delete`), after the ECS service: deletes the Cloud Map service.
/// Cloud Map refuses while instances are registered (a conflict, retried): ECS
/// deregisters them as the tasks stop.
pub async fn release<D: DiscoveryApi>(
    api: &D,
    spec: &EcsServiceSpec,
    service_name: &str,
    uid: &str,
    previous: Option<&ServiceDiscoveryStatus>,
) -> Result<Option<Notice>, EcsError> {
    if spec.deletion_policy == DeletionPolicy::Retain {
        return Ok(None);
    }
    let id = match previous.and_then(|p| p.service_id.clone()) {
        Some(id) => id,
        // Created, then a crash before the status recorded it: find it by name.
        None => match &spec.service_discovery {
            None => return Ok(None),
            Some(discovery) => {
                let namespace_id = match namespace_id(api, discovery).await {
                    Ok(id) => id,
                    Err(err) if err.kind() == EcsErrorKind::NotFound => return Ok(None),
                    Err(err) => return Err(err),
                };
                match api.find_service(&namespace_id, &rules::service_name(discovery, service_name)).await? {
                    Some(found) if rules::usable(&found, uid, false) => found.id,
                    _ => return Ok(None),
                }
            }
        },
    };
    api.delete_service(&id).await?;
    Ok(Some(Notice::normal(
        "CloudMapServiceDeleted",
        "servicediscovery:DeleteService",
        format!("Deleted Cloud Map service {id}"),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::discovery::CloudMapService;
    use crate::ecs::scaling_fake::FakeAutoScaling;

    fn spec() -> EcsServiceSpec {
        serde_json::from_value(serde_json::json!({
            "taskDefinition": "web",
            "serviceDiscovery": {"namespaceName": "internal.local", "dnsRecords": [{"type": "A"}]}
        }))
        .expect("valid spec")
    }

    fn ready(registry: Registry) -> (ServiceDiscoveryStatus, String, Vec<Notice>) {
        match registry {
            Registry::Ready { status, arn, notices } => (status, arn, notices),
            other => panic!("not ready: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_missing_service_is_created_once_and_then_trusted_from_the_status() {
        let api = FakeAutoScaling::default();
        api.add_namespace("internal.local", "ns-1");
        let (status, arn, notices) = ready(ensure(&api, &spec(), "web", "uid-1", false, None).await);
        assert_eq!(notices.iter().map(|n| n.reason).collect::<Vec<_>>(), vec!["CloudMapServiceCreated"]);
        assert_eq!(status.service_arn.as_deref(), Some(arn.as_str()));
        assert_eq!(status.namespace_id.as_deref(), Some("ns-1"));
        let calls = api.calls().len();
        let (again, _, notices) = ready(ensure(&api, &spec(), "web", "uid-1", false, Some(&status)).await);
        assert_eq!(again, status);
        assert!(notices.is_empty());
        assert_eq!(api.calls().len(), calls, "no Cloud Map call once recorded");
    }

    #[tokio::test]
    async fn after_a_crash_the_service_created_is_found_not_created_again() {
        let api = FakeAutoScaling::default();
        api.add_namespace("internal.local", "ns-1");
        let made = CloudMapService {
            id: "srv-9".into(),
            arn: "arn:srv-9".into(),
            name: "web".into(),
            namespace_id: "ns-1".into(),
            creator_request_id: Some(rules::creator_request_id("uid-1")),
        };
        api.add_service(made, 0);
        let (status, arn, notices) = ready(ensure(&api, &spec(), "web", "uid-1", false, None).await);
        assert_eq!((arn.as_str(), status.service_id.as_deref()), ("arn:srv-9", Some("srv-9")));
        assert!(notices.is_empty());
        assert!(!api.calls().contains(&"servicediscovery:CreateService"));
        assert_eq!(api.cloud_map_services().len(), 1);

        // Another object's service of that name is used only when adopted.
        assert!(matches!(ensure(&api, &spec(), "web", "uid-2", false, None).await, Registry::Blocked(_)));
        assert!(matches!(ensure(&api, &spec(), "web", "uid-2", true, None).await, Registry::Ready { .. }));
    }

    #[tokio::test]
    async fn a_missing_namespace_fails_and_deletion_waits_for_the_instances() {
        let api = FakeAutoScaling::default();
        match ensure(&api, &spec(), "web", "uid-1", false, None).await {
            Registry::Failed(err) => assert_eq!(err.kind(), EcsErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
        api.add_namespace("internal.local", "ns-1");
        let mine = CloudMapService {
            id: "srv-1".into(),
            arn: "arn:srv-1".into(),
            name: "web".into(),
            namespace_id: "ns-1".into(),
            creator_request_id: Some(rules::creator_request_id("uid-1")),
        };
        api.add_service(mine.clone(), 2);
        let mut status = ServiceDiscoveryStatus { service_id: Some("srv-1".into()), ..Default::default() };
        count(&api, &mut status).await.expect("counted");
        assert_eq!(status.instance_count, Some(2));
        let busy = release(&api, &spec(), "web", "uid-1", Some(&status)).await.expect_err("instances still there");
        assert_eq!(busy.kind(), EcsErrorKind::Conflict);
        api.add_service(mine, 0);
        // Not yet recorded in the status (a crash right after the create): found by name.
        let gone = release(&api, &spec(), "web", "uid-1", None).await.expect("deleted");
        assert_eq!(gone.map(|n| n.reason), Some("CloudMapServiceDeleted"));
        assert!(api.cloud_map_services().is_empty());
    }
}
