//! Attribute operations on container instances: PutAttributes,
//! ListAttributes, DeleteAttributes.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::state::ids::id_of;
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, Store, lock};
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};
use crate::emulator::wire::pagination::{PageRequest, list_response};

/// Custom attributes allowed per instance (agent `ecs.*` ones do not count).
const MAX_CUSTOM_ATTRIBUTES: usize = 10;

fn is_agent_attribute(name: &str) -> bool {
    name.starts_with("ecs.") || name.starts_with("com.amazonaws.ecs.")
}

fn check_attribute(a: &Attribute) -> EcsResult<()> {
    let name_ok = !a.name.is_empty()
        && a.name.len() <= 128
        && a.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./\\".contains(&b));
    if !name_ok {
        return Err(EcsError::invalid(format!(
            "Invalid attribute name '{}': up to 128 letters, numbers, hyphens, underscores, periods and slashes.",
            a.name
        )));
    }
    if let Some(v) = &a.value {
        let ok = !v.is_empty()
            && v.len() <= 128
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@/\\: ".contains(&b));
        if !ok {
            return Err(EcsError::invalid(format!("Invalid value for attribute '{}'.", a.name)));
        }
    }
    if let Some(t) = &a.target_type
        && t != "container-instance"
    {
        return Err(EcsError::invalid(format!(
            "Invalid targetType '{t}': the only target type is container-instance."
        )));
    }
    if a.target_id.is_none() {
        return Err(EcsError::invalid(format!("Attribute '{}' needs a targetId.", a.name)));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttributesInput {
    cluster: Option<String>,
    attributes: Option<Vec<Attribute>>,
}

fn target_not_found(target: &str) -> EcsError {
    EcsError::new(ErrorKind::TargetNotFoundException, format!("Could not find target {target}."))
}

pub fn put_attributes(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: AttributesInput = parse(body)?;
    let attributes = required(input.attributes, "attributes")?;
    if attributes.is_empty() {
        return Err(EcsError::invalid("attributes cannot be empty."));
    }
    if attributes.len() > MAX_CUSTOM_ATTRIBUTES {
        return Err(EcsError::new(
            ErrorKind::AttributeLimitExceededException,
            format!("At most {MAX_CUSTOM_ATTRIBUTES} attributes can be put in one call."),
        ));
    }
    for a in &attributes {
        check_attribute(a)?;
    }
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let cluster = state.name().to_owned();
    // Check every target and limit before changing anything.
    let mut updated = std::collections::BTreeMap::new();
    for a in &attributes {
        let target = a.target_id.as_deref().unwrap_or_default();
        let id = id_of(target).to_owned();
        let entry = match updated.get_mut(&id) {
            Some(e) => e,
            None => {
                let e = state
                    .container_instances
                    .get(&id)
                    .filter(|e| e.instance.status != "INACTIVE")
                    .ok_or_else(|| target_not_found(target))?;
                updated.entry(id.clone()).or_insert_with(|| e.clone())
            }
        };
        let attrs = &mut entry.instance.attributes;
        match attrs.iter_mut().find(|x| x.name == a.name) {
            Some(existing) => existing.value = a.value.clone(),
            None => attrs.push(Attribute {
                name: a.name.clone(),
                value: a.value.clone(),
                target_type: None,
                target_id: None,
            }),
        }
        let custom = attrs.iter().filter(|x| !is_agent_attribute(&x.name)).count();
        if custom > MAX_CUSTOM_ATTRIBUTES {
            return Err(EcsError::new(
                ErrorKind::AttributeLimitExceededException,
                format!("A container instance can have at most {MAX_CUSTOM_ATTRIBUTES} custom attributes."),
            ));
        }
    }
    let mut changes = store.changes();
    for (id, mut entry) in updated {
        entry.instance.version += 1;
        state.container_instances.insert(id, entry.clone());
        changes.push(|| Change::PutContainerInstance { cluster: cluster.clone(), entry });
    }
    store.persist(changes)?;
    Ok(json!({ "attributes": to_value(&attributes)? }))
}

pub fn delete_attributes(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: AttributesInput = parse(body)?;
    let attributes = required(input.attributes, "attributes")?;
    for a in &attributes {
        check_attribute(a)?;
    }
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let cluster = state.name().to_owned();
    for a in &attributes {
        let target = a.target_id.as_deref().unwrap_or_default();
        if !state.container_instances.contains_key(id_of(target)) {
            return Err(target_not_found(target));
        }
    }
    let mut changes = store.changes();
    for a in &attributes {
        let id = id_of(a.target_id.as_deref().unwrap_or_default());
        if let Some(entry) = state.container_instances.get_mut(id) {
            let before = entry.instance.attributes.len();
            entry.instance.attributes.retain(|x| x.name != a.name);
            if entry.instance.attributes.len() != before {
                entry.instance.version += 1;
                let snapshot = entry.clone();
                changes.push(|| Change::PutContainerInstance { cluster: cluster.clone(), entry: snapshot });
            }
        }
    }
    store.persist(changes)?;
    Ok(json!({ "attributes": to_value(&attributes)? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    cluster: Option<String>,
    target_type: Option<String>,
    attribute_name: Option<String>,
    attribute_value: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
}

pub fn list_attributes(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let target_type = required(input.target_type, "targetType")?;
    if target_type != "container-instance" {
        return Err(EcsError::invalid(format!(
            "Invalid targetType '{target_type}': the only target type is container-instance."
        )));
    }
    if input.attribute_value.is_some() && input.attribute_name.is_none() {
        return Err(EcsError::invalid("attributeValue can only be used together with attributeName."));
    }
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let mut items = Vec::new();
    for entry in state.container_instances.values().filter(|e| e.instance.status != "INACTIVE") {
        let arn = &entry.instance.container_instance_arn;
        for a in &entry.instance.attributes {
            if input.attribute_name.as_ref().is_some_and(|n| *n != a.name) {
                continue;
            }
            if input.attribute_value.is_some() && input.attribute_value != a.value {
                continue;
            }
            let listed = Attribute {
                name: a.name.clone(),
                value: a.value.clone(),
                target_type: Some("container-instance".into()),
                target_id: Some(arn.clone()),
            };
            items.push((format!("{arn}\u{1}{}", a.name), to_value(&listed)?));
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (attributes, next) = page.take(items);
    Ok(list_response("attributes", attributes, next))
}
