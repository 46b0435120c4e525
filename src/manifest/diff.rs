//! `ecs-bridge diff -f FILE|DIR`: what applying the manifests would change in ECS,
//! field by field. The decisions are the controller's own (`cluster::plan::changes`,
//! `service::plan::decide`, `task_definition::plan::same_content`); this file only
//! reads ECS (Describe calls, nothing else) and turns the decisions into
//! [`ObjectDiff`]s.
//!
//! What `diff` cannot see, it assumes as the rules in the README say: the objects'
//! status is not read (no Kubernetes access), so a service or cluster is taken to
//! have had this manifest's fields and tags applied before (a field or tag removed
//! since is not shown as reset), and a `taskDefinitionRef` is resolved against the
//! EcsTaskDefinitions in the same input, else against the ECS family of that name.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::load::{Loaded, Manifest};
use super::render::{FieldChange, ObjectDiff, json_changes};
use crate::api::service::EcsServiceStatus;
use crate::api::{EcsCluster, EcsService, EcsTaskDefinition};
use crate::controller::cluster::plan as cluster_plan;
use crate::controller::service::plan::{self as service_plan, Decision, Subject};
use crate::controller::task_definition::plan as td_plan;
use crate::ecs::mapping::{cluster_config, tags_of};
use crate::ecs::service::{ServiceDescription, ServiceUpdate};
use crate::ecs::{EcsApi, EcsError, SdkEcs};
use kube::ResourceExt;

/// Why one object could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{object}: {source}")]
    Ecs {
        object: String,
        #[source]
        source: EcsError,
    },
}

/// The namespace an object lands in: its own, else `default` (as kubectl's default context).
fn namespace_of<K: ResourceExt>(obj: &K, default: &str) -> String {
    obj.namespace().unwrap_or_else(|| default.to_owned())
}

/// What the task definitions of the input resolve to: for each (namespace, name), the
/// revision a service would run (an ARN in ECS, or the next revision of the family).
#[derive(Debug, Default)]
pub struct Resolved {
    revisions: BTreeMap<(String, String), String>,
}

/// Compares every manifest with ECS. One `Err` per object that could not be read; the
/// others are still compared.
pub async fn diff_all(ecs: &SdkEcs, loaded: &[Loaded], namespace: &str) -> Vec<Result<ObjectDiff, DiffError>> {
    let mut resolved = Resolved::default();
    let mut results = Vec::new();
    // Task definitions first: the services in the input refer to them.
    for item in loaded {
        if let Manifest::TaskDefinition(td) = &item.manifest {
            results.push(task_definition(ecs, td, namespace, &mut resolved).await);
        }
    }
    for item in loaded {
        match &item.manifest {
            Manifest::Cluster(cluster_obj) => results.push(cluster(ecs, cluster_obj, namespace).await),
            Manifest::Service(service_obj) => results.push(service(ecs, service_obj, namespace, &resolved).await),
            Manifest::TaskDefinition(_) => {}
        }
    }
    results
}

fn ecs_error(object: &str) -> impl FnOnce(EcsError) -> DiffError + '_ {
    move |source| DiffError::Ecs { object: object.to_owned(), source }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

async fn task_definition(
    ecs: &SdkEcs,
    obj: &EcsTaskDefinition,
    default_ns: &str,
    resolved: &mut Resolved,
) -> Result<ObjectDiff, DiffError> {
    let ns = namespace_of(obj, default_ns);
    let object = format!("EcsTaskDefinition {ns}/{}", obj.name_any());
    let family = obj.family();
    let current = ecs.describe_task_definition_content(&family).await.map_err(ecs_error(&object))?;
    let mut diff = ObjectDiff { object, ..ObjectDiff::default() };
    let key = (ns, obj.name_any());
    match current {
        None => {
            diff.target = format!("task definition family {family} (not in ECS)");
            diff.notes.push(format!("would register revision 1 of family {family}"));
            json_changes("", None, Some(&to_json(&td_plan::content(&obj.spec))), &mut diff.fields);
            resolved.revisions.insert(key, format!("{family}:1"));
        }
        Some(found) => {
            let revision = found.revision.revision;
            diff.target = format!("task definition {family}:{revision} (the family's latest ACTIVE revision)");
            if td_plan::same_content(&found.spec, &obj.spec) {
                resolved.revisions.insert(key, found.revision.arn.clone());
            } else {
                diff.notes.push(format!("would register revision {} of family {family}", revision + 1));
                let old = to_json(&td_plan::content(&found.spec));
                let new = to_json(&td_plan::content(&obj.spec));
                json_changes("", Some(&old), Some(&new), &mut diff.fields);
                resolved.revisions.insert(key, format!("{family}:{}", revision + 1));
            }
        }
    }
    Ok(diff)
}

async fn cluster(ecs: &SdkEcs, obj: &EcsCluster, default_ns: &str) -> Result<ObjectDiff, DiffError> {
    let object = format!("EcsCluster {}/{}", namespace_of(obj, default_ns), obj.name_any());
    let name = obj.cluster_name();
    let desired = cluster_config(&obj.spec, &name);
    let observed = ecs.describe_cluster(&name).await.map_err(ecs_error(&object))?;
    // The status is not read: the manifest's tags count as applied before.
    let applied: Vec<String> = desired.tags.keys().cloned().collect();
    let changes = cluster_plan::changes(&desired, &applied, observed.as_ref());
    let mut diff = ObjectDiff { object, target: format!("ECS cluster {name}"), ..ObjectDiff::default() };
    if changes.create {
        diff.notes.push(format!("would create cluster {name}"));
    }
    let observed = observed.unwrap_or_default();
    for (setting, value) in &changes.settings {
        let old = observed.settings.get(setting).map(|v| json!(v));
        diff.fields.push(FieldChange::new(format!("settings[{setting}]"), old, Some(json!(value))));
    }
    if let Some((providers, strategy)) = &changes.capacity {
        if providers.iter().collect::<std::collections::BTreeSet<_>>()
            != observed.capacity_providers.iter().collect::<std::collections::BTreeSet<_>>()
        {
            diff.fields.push(FieldChange::new(
                "capacityProviders",
                Some(json!(observed.capacity_providers)),
                Some(json!(providers)),
            ));
        }
        let as_json = |items: &[crate::ecs::StrategyItem]| {
            json!(
                items
                    .iter()
                    .map(|i| json!({"capacityProvider": i.capacity_provider, "weight": i.weight, "base": i.base}))
                    .collect::<Vec<_>>()
            )
        };
        json_changes(
            "defaultCapacityProviderStrategy",
            Some(&as_json(&observed.default_strategy)),
            Some(&as_json(strategy)),
            &mut diff.fields,
        );
    }
    tag_changes(&observed.tags, &changes.tags, &changes.untag, &mut diff.fields);
    Ok(diff)
}

/// Tags added or changed, and removed, as `tags[KEY]` entries.
fn tag_changes(actual: &crate::ecs::Tags, add: &crate::ecs::Tags, remove: &[String], out: &mut Vec<FieldChange>) {
    for (key, value) in add {
        out.push(FieldChange::new(format!("tags[{key}]"), actual.get(key).map(|v| json!(v)), Some(json!(value))));
    }
    for key in remove {
        out.push(FieldChange::new(format!("tags[{key}]"), actual.get(key).map(|v| json!(v)), None));
    }
}

/// The revision a service's spec runs: the input's EcsTaskDefinition it names, else the
/// ECS family of that name (its latest ACTIVE revision), else the spec's own string.
async fn wanted_task_definition(
    ecs: &SdkEcs,
    obj: &EcsService,
    ns: &str,
    resolved: &Resolved,
    object: &str,
) -> Result<Option<String>, DiffError> {
    match (&obj.spec.task_definition_ref, &obj.spec.task_definition) {
        (Some(reference), _) => {
            if let Some(found) = resolved.revisions.get(&(ns.to_owned(), reference.name.clone())) {
                return Ok(Some(found.clone()));
            }
            let latest = ecs.describe_task_definition(&reference.name).await.map_err(ecs_error(object))?;
            Ok(latest.map(|r| r.arn))
        }
        (None, Some(td)) => Ok(Some(td.clone())),
        (None, None) => Ok(None),
    }
}

async fn service(
    ecs: &SdkEcs,
    obj: &EcsService,
    default_ns: &str,
    resolved: &Resolved,
) -> Result<ObjectDiff, DiffError> {
    let ns = namespace_of(obj, default_ns);
    let name = obj.name_any();
    let object = format!("EcsService {ns}/{name}");
    let service_name = obj.service_name();
    let cluster = obj.spec.cluster.clone();
    let wanted = wanted_task_definition(ecs, obj, &ns, resolved, &object).await?;
    let observed = crate::controller::service::sync::describe_one(ecs, &cluster, &service_name)
        .await
        .map_err(ecs_error(&object))?;
    let mut diff = ObjectDiff {
        object: object.clone(),
        target: format!("ECS service {service_name} in cluster {cluster}"),
        ..ObjectDiff::default()
    };
    let Some(observed) = observed.filter(|s| s.status != crate::ecs::service::INACTIVE) else {
        diff.notes.push(format!("would create service {service_name}"));
        let mut spec = to_json(&obj.spec);
        if let (Some(td), Some(fields)) = (&wanted, spec.as_object_mut()) {
            fields.remove("taskDefinitionRef");
            fields.insert("taskDefinition".to_owned(), json!(service_plan::short_task_definition(td)));
        }
        json_changes("", None, Some(&spec), &mut diff.fields);
        return Ok(diff);
    };
    // The object's UID is in the ownership tag when the operator created the service.
    let tags = observed.tags.clone().unwrap_or_default();
    let owner = format!("{ns}/{name}");
    let uid = match tags.get(service_plan::OWNER_TAG) {
        Some(tagged) if *tagged == owner => tags.get(service_plan::OWNER_UID_TAG).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let status = EcsServiceStatus {
        // The manifest's fields and tags count as applied before, its redeploy token as done.
        applied_fields: service_plan::applied_fields(&obj.spec),
        applied_tags: crate::controller::tags::applied_keys(&tags_of(&obj.spec.tags)),
        force_new_deployment_token: obj.spec.force_new_deployment_token.clone(),
        ..EcsServiceStatus::default()
    };
    let adopt =
        service_plan::asks_for_adoption(obj.annotations().get(service_plan::ADOPT_ANNOTATION).map(String::as_str));
    let subject = Subject {
        namespace: &ns,
        name: &name,
        uid: &uid,
        generation: None,
        service_name: service_name.clone(),
        spec: &obj.spec,
        status,
        adopt,
    };
    match service_plan::decide(&subject, wanted.as_deref(), &observed) {
        Decision::Leave(why) => diff.notes.push(format!("left alone: {}", why.message)),
        Decision::Converge(changes) => {
            // Adopting by the annotation writes nothing but the spec's missing tags (and
            // without the status, adopting and adopted look alike).
            if let Some(adoption) = changes.adopt.as_ref().filter(|a| !a.tags.is_empty()) {
                diff.notes.push(format!("would adopt the existing service ({})", service_plan::ADOPT_ANNOTATION));
                tag_changes(&tags, &adoption.tags, &[], &mut diff.fields);
            }
            update_fields(&changes.update, &observed, &mut diff.fields);
            if let Some(tag_plan) = &changes.tags {
                tag_changes(&tags, &tag_plan.add, &tag_plan.remove, &mut diff.fields);
            }
        }
    }
    Ok(diff)
}

/// Each field UpdateService would send, beside what ECS has now.
fn update_fields(update: &ServiceUpdate, observed: &ServiceDescription, out: &mut Vec<FieldChange>) {
    let mut field = |path: &str, old: Value, new: Value| json_changes(path, Some(&old), Some(&new), out);
    if let Some(count) = update.desired_count {
        field("desiredCount", json!(observed.desired_count), json!(count));
    }
    if let Some(td) = &update.task_definition {
        let current = observed.task_definition.as_deref().unwrap_or_default();
        field(
            "taskDefinition",
            json!(service_plan::short_task_definition(current)),
            json!(service_plan::short_task_definition(td)),
        );
    }
    if let Some(items) = &update.capacity_provider_strategy {
        field("capacityProviderStrategy", to_json(&observed.capacity_provider_strategy), to_json(items));
    }
    if let Some(version) = &update.platform_version {
        field("platformVersion", to_json(&observed.platform_version), json!(version));
    }
    if let Some(network) = &update.network_configuration {
        field("networkConfiguration", to_json(&observed.network_configuration), to_json(network));
    }
    if let Some(config) = &update.deployment_configuration {
        field("deploymentConfiguration", to_json(&observed.deployment_configuration), to_json(config));
    }
    if let Some(list) = &update.load_balancers {
        field("loadBalancers", to_json(&observed.load_balancers), to_json(list));
    }
    if let Some(list) = &update.service_registries {
        field("serviceRegistries", to_json(&observed.service_registries), to_json(list));
    }
    if let Some(list) = &update.placement_constraints {
        field("placementConstraints", to_json(&observed.placement_constraints), to_json(list));
    }
    if let Some(list) = &update.placement_strategy {
        field("placementStrategy", to_json(&observed.placement_strategy), to_json(list));
    }
    if let Some(grace) = update.health_check_grace_period_seconds {
        field(
            "healthCheckGracePeriodSeconds",
            json!(observed.health_check_grace_period_seconds.unwrap_or(0)),
            json!(grace),
        );
    }
    if let Some(enable) = update.enable_execute_command {
        field("enableExecuteCommand", json!(observed.enable_execute_command), json!(enable));
    }
    if let Some(enable) = update.enable_ecs_managed_tags {
        field("enableECSManagedTags", json!(observed.enable_ecs_managed_tags), json!(enable));
    }
    if let Some(propagate) = &update.propagate_tags {
        field("propagateTags", json!(observed.propagate_tags.as_deref().unwrap_or("NONE")), json!(propagate));
    }
    if update.force_new_deployment {
        out.push(FieldChange::new("forceNewDeployment", None, Some(json!(true))));
    }
}
