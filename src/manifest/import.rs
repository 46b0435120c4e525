//! `ecs-bridge import --cluster NAME`: manifests for what already runs in ECS. One
//! EcsCluster, one EcsTaskDefinition per family the services run, one EcsService per
//! service, each with the adopt annotation and `deletionPolicy: Retain`, and ECS's
//! defaults left out (the readback in `ecs::readback` decides what a default is).
//!
//! Applied, they make the controller take everything over without one ECS write:
//! the cluster already matches its spec, each task definition's latest ACTIVE
//! revision runs exactly its spec (adopted, not registered again), and each service
//! is adopted by its annotation (no ownership tags put on it).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::{DeletionPolicy, EcsServiceSpec, EcsTaskDefinitionSpec, GROUP, VERSION};
use crate::controller::service::plan::ADOPT_ANNOTATION;
use crate::ecs::readback::{self, ReadbackError};
use crate::ecs::service::{DESCRIBE_BATCH, EcsServiceApi, ServiceDescription};
use crate::ecs::{EcsApi, EcsError, SdkEcs, parse_task_definition_ref};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("ECS cluster {0} does not exist (or is INACTIVE)")]
    NoCluster(String),
    #[error("ECS service {service} does not exist in cluster {cluster}")]
    NoService { cluster: String, service: String },
    #[error("{what}: {source}")]
    Ecs {
        what: String,
        #[source]
        source: EcsError,
    },
    #[error("cannot list the services of cluster {cluster}: {message}")]
    List { cluster: String, message: String },
    #[error("task definition {0} does not exist in ECS")]
    NoTaskDefinition(String),
    #[error(
        "services {first} and {second} run different revisions of family {family} ({first_td}, {second_td}): an EcsTaskDefinition has one current revision; deploy one revision to both first"
    )]
    Revisions { family: String, first: String, first_td: String, second: String, second_td: String },
    #[error(
        "task definition {arn} is not the latest ACTIVE revision of its family ({latest}); the controller adopts the latest one only: deregister the newer revisions or deploy the latest first"
    )]
    NotLatest { arn: String, latest: String },
    #[error("cannot express {what} as a manifest: {source}")]
    Readback {
        what: String,
        #[source]
        source: ReadbackError,
    },
}

/// One manifest to write: its file name (without directory) and the object.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub file: String,
    pub object: Value,
}

/// A Kubernetes object name for an ECS name (DNS-1123: lowercase, `-`).
pub fn object_name(ecs_name: &str) -> String {
    let name: String =
        ecs_name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let name = name.trim_matches('-');
    let mut name = if name.is_empty() { "imported".to_owned() } else { name.to_owned() };
    name.truncate(253);
    name
}

/// An object of `kind` named `name`, adopt annotation set, `spec` as JSON with the
/// operator's own defaults left out and `deletionPolicy: Retain` (deleting the
/// manifest must not delete what existed before it).
fn object(kind: &str, name: &str, namespace: Option<&str>, spec: Value) -> Value {
    let mut spec = spec;
    if let Some(fields) = spec.as_object_mut() {
        fields.insert("deletionPolicy".to_owned(), to_json(&DeletionPolicy::Retain));
        if fields.get("schedulingStrategy") == Some(&json!("REPLICA")) {
            fields.remove("schedulingStrategy");
        }
    }
    let mut metadata = json!({"name": name, "annotations": {ADOPT_ANNOTATION: "true"}});
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    json!({"apiVersion": format!("{GROUP}/{VERSION}"), "kind": kind, "metadata": metadata, "spec": spec})
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn ecs_error(what: impl Into<String>) -> impl FnOnce(EcsError) -> ImportError {
    let what = what.into();
    move |source| ImportError::Ecs { what, source }
}

/// Every service of `cluster` (ListServices, all pages).
async fn all_services(ecs: &SdkEcs, cluster: &str) -> Result<Vec<String>, ImportError> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = ecs
            .client()
            .list_services()
            .cluster(cluster)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| ImportError::List { cluster: cluster.to_owned(), message: e.to_string() })?;
        names.extend(page.service_arns().iter().map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(names);
        }
    }
}

/// The services named (or all of the cluster's), described with their tags.
async fn services(ecs: &SdkEcs, cluster: &str, names: &[String]) -> Result<Vec<ServiceDescription>, ImportError> {
    let names = if names.is_empty() { all_services(ecs, cluster).await? } else { names.to_vec() };
    let mut described = Vec::new();
    for batch in names.chunks(DESCRIBE_BATCH) {
        let answer = ecs
            .describe_services(cluster, batch, true)
            .await
            .map_err(ecs_error(format!("describe the services of cluster {cluster}")))?;
        for name in batch {
            match answer.services.iter().find(|s| &s.name == name && s.is_active()) {
                Some(service) => described.push(service.clone()),
                None => return Err(ImportError::NoService { cluster: cluster.to_owned(), service: name.clone() }),
            }
        }
    }
    Ok(described)
}

/// The manifests for `cluster` and its `services` (all when empty), in `namespace`.
pub async fn import(
    ecs: &SdkEcs,
    cluster: &str,
    service_names: &[String],
    namespace: Option<&str>,
) -> Result<Vec<Document>, ImportError> {
    let state = ecs
        .describe_cluster(cluster)
        .await
        .map_err(ecs_error(format!("describe cluster {cluster}")))?
        .filter(|c| c.status != "INACTIVE")
        .ok_or_else(|| ImportError::NoCluster(cluster.to_owned()))?;
    let cluster_spec = readback::cluster_spec(&state)
        .map_err(|source| ImportError::Readback { what: format!("cluster {cluster}"), source })?;
    let cluster_object = object_name(cluster);
    let mut cluster_json = to_json(&cluster_spec);
    if cluster_object != cluster {
        cluster_json["clusterName"] = json!(cluster);
    }
    let mut documents = vec![Document {
        file: format!("ecscluster-{cluster_object}.yaml"),
        object: object("EcsCluster", &cluster_object, namespace, cluster_json),
    }];

    // family → (service that runs it, revision ARN, spec)
    let mut families: BTreeMap<String, (String, String, EcsTaskDefinitionSpec)> = BTreeMap::new();
    let mut service_documents = Vec::new();
    for service in services(ecs, cluster, service_names).await? {
        let arn = service.task_definition.clone().unwrap_or_default();
        let Some((family, _)) = parse_task_definition_ref(&arn) else {
            return Err(ImportError::NoTaskDefinition(arn));
        };
        let family = family.to_owned();
        match families.get(&family) {
            Some((first, first_td, _)) if *first_td != arn => {
                return Err(ImportError::Revisions {
                    family,
                    first: first.clone(),
                    first_td: first_td.clone(),
                    second: service.name.clone(),
                    second_td: arn,
                });
            }
            Some(_) => {}
            None => {
                let content = ecs
                    .describe_task_definition_content(&arn)
                    .await
                    .map_err(ecs_error(format!("describe task definition {arn}")))?
                    .ok_or_else(|| ImportError::NoTaskDefinition(arn.clone()))?;
                let latest = ecs
                    .describe_task_definition(&family)
                    .await
                    .map_err(ecs_error(format!("describe task definition family {family}")))?;
                if let Some(latest) = latest.filter(|l| l.arn != content.revision.arn) {
                    return Err(ImportError::NotLatest { arn, latest: latest.arn });
                }
                families.insert(family.clone(), (service.name.clone(), arn.clone(), content.spec));
            }
        }
        let spec: EcsServiceSpec = readback::service_spec(cluster, &service, &object_name(&family))
            .map_err(|source| ImportError::Readback { what: format!("service {}", service.name), source })?;
        let name = object_name(&service.name);
        let mut spec_json = to_json(&spec);
        if name != service.name {
            spec_json["serviceName"] = json!(service.name);
        }
        service_documents.push(Document {
            file: format!("ecsservice-{name}.yaml"),
            object: object("EcsService", &name, namespace, spec_json),
        });
    }
    for (family, (_, _, spec)) in families {
        let name = object_name(&family);
        let mut spec_json = to_json(&spec);
        if let Some(fields) = spec_json.as_object_mut()
            && name == family
        {
            fields.remove("family");
        }
        without_default_protocols(&mut spec_json);
        documents.push(Document {
            file: format!("ecstaskdefinition-{name}.yaml"),
            object: object("EcsTaskDefinition", &name, namespace, spec_json),
        });
    }
    documents.extend(service_documents);
    Ok(documents)
}

/// Drops `protocol: tcp` from port mappings: the spec always serializes the
/// protocol (it defaults to `tcp`), a person leaves it out.
fn without_default_protocols(spec: &mut Value) {
    let containers = spec.get_mut("containerDefinitions").and_then(Value::as_array_mut);
    for container in containers.into_iter().flatten() {
        let ports = container.get_mut("portMappings").and_then(Value::as_array_mut);
        for port in ports.into_iter().flatten() {
            if let Some(fields) = port.as_object_mut()
                && fields.get("protocol") == Some(&json!("tcp"))
            {
                fields.remove("protocol");
            }
        }
    }
}

/// The documents as one multi-document YAML stream.
pub fn to_yaml(documents: &[Document]) -> String {
    documents.iter().map(|d| serde_yaml::to_string(&d.object).unwrap_or_default()).collect::<Vec<_>>().join("---\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_protocol_is_left_out() {
        let mut spec = json!({"containerDefinitions": [{"name": "a", "portMappings": [
            {"containerPort": 80, "protocol": "tcp"}, {"containerPort": 53, "protocol": "udp"}
        ]}]});
        without_default_protocols(&mut spec);
        assert_eq!(
            spec["containerDefinitions"][0]["portMappings"],
            json!([{"containerPort": 80}, {"containerPort": 53, "protocol": "udp"}])
        );
    }

    #[test]
    fn ecs_names_become_object_names() {
        assert_eq!(object_name("web"), "web");
        assert_eq!(object_name("Web_API-2"), "web-api-2");
        assert_eq!(object_name("__"), "imported");
    }

    #[test]
    fn an_imported_object_is_adopted_and_retained() {
        let obj =
            object("EcsService", "web", Some("prod"), json!({"schedulingStrategy": "REPLICA", "cluster": "demo"}));
        assert_eq!(obj["metadata"]["annotations"][ADOPT_ANNOTATION], "true");
        assert_eq!(obj["metadata"]["namespace"], "prod");
        assert_eq!(obj["spec"], json!({"cluster": "demo", "deletionPolicy": "Retain"}));
        let yaml =
            to_yaml(&[Document { file: "a".into(), object: obj.clone() }, Document { file: "b".into(), object: obj }]);
        assert_eq!(yaml.matches("---").count(), 1);
        assert_eq!(yaml.matches("kind: EcsService").count(), 2);
    }
}
