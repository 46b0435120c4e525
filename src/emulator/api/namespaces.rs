//! ListServicesByNamespace: the services, across clusters, whose Service
//! Connect configuration puts them in a Cloud Map namespace.
//!
//! A namespace Cloud Map holds ([`crate::emulator::state::discovery`]) is
//! the same namespace by its name, id or ARN, whichever the request and
//! the services' configurations use. One Cloud Map does not know is known
//! only by what services name: it answers an empty list rather than ECS's
//! `NamespaceNotFoundException` (Service Connect configurations may name
//! namespaces that were never created here). A name and an ARN
//! (`arn:aws:servicediscovery:…:namespace/<id>`) match when one is the
//! other's last segment.

use serde::Deserialize;
use serde_json::Value;

use crate::emulator::state::records::ServiceEntry;
use crate::emulator::state::{Store, lock, read};
use crate::emulator::wire::codec::{Reply, parse};
use crate::emulator::wire::error::{EcsError, EcsResult, required};
use crate::emulator::wire::pagination::{PageRequest, list_reply};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    namespace: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
}

fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

fn same_namespace(a: &str, b: &str) -> bool {
    a == b || last_segment(a) == b || a == last_segment(b)
}

/// The namespace a service is in: its PRIMARY deployment's Service Connect
/// configuration, when enabled, else the cluster's default namespace.
fn namespace_of<'a>(entry: &'a ServiceEntry, cluster_default: Option<&'a Value>) -> Option<&'a str> {
    let primary = entry.service.deployments.iter().find(|d| d.status == "PRIMARY")?;
    let config = primary.service_connect_configuration.as_ref()?;
    if !config.get("enabled").and_then(Value::as_bool).unwrap_or(false) {
        return None;
    }
    config.get("namespace").or_else(|| cluster_default?.get("namespace")).and_then(Value::as_str)
}

pub fn list_services_by_namespace(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: ListInput = parse(body)?;
    let namespace = required(input.namespace, "namespace")?;
    if namespace.is_empty() {
        return Err(EcsError::invalid("namespace cannot be empty."));
    }
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 10, 100)?;
    // Every way of naming it; the Cloud Map lock is let go before any
    // cluster's is taken.
    let mut names = vec![namespace.clone()];
    {
        let records = read(&store.discovery);
        let known = records.namespace(&namespace).or_else(|| records.namespace_named(&namespace));
        if let Some(ns) = known {
            names.extend([ns.id.clone(), ns.arn.clone(), ns.name.clone()]);
        }
    }
    let mut arns = Vec::new();
    for (_, cell) in store.all_clusters() {
        let state = lock(&cell);
        let default = state.cluster.service_connect_defaults.as_ref();
        for entry in state.services.values().filter(|e| e.service.status != "INACTIVE") {
            if namespace_of(entry, default).is_some_and(|n| names.iter().any(|name| same_namespace(n, name))) {
                arns.push(entry.service.service_arn.clone());
            }
        }
    }
    arns.sort();
    let (items, next) = page.take(arns.iter().map(|a| (a.as_str(), a.as_str())));
    list_reply("serviceArns", &items, next)
}
