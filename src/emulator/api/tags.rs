//! Tag operations on every taggable resource: TagResource, UntagResource,
//! ListTagsForResource. The resource is found from its long-format ARN.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::rules::validation::{MAX_TAGS, is_aws_tag, tag_problem};
use crate::emulator::state::ids::Arns;
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, Changes, Store, lock, write};
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};

/// A taggable resource, as named by its ARN.
enum Target {
    Cluster(String),
    Service(String, String),
    Task(String, String),
    ContainerInstance(String, String),
    TaskDefinition(String, u32),
    CapacityProvider(String),
}

fn target(arn: &str) -> EcsResult<Target> {
    let resource = Arns::resource_of(arn).ok_or_else(|| EcsError::invalid(format!("Invalid resource ARN '{arn}'.")))?;
    let (kind, rest) =
        resource.split_once('/').ok_or_else(|| EcsError::invalid(format!("Invalid resource ARN '{arn}'.")))?;
    let two = |rest: &str| rest.split_once('/').map(|(a, b)| (a.to_owned(), b.to_owned()));
    let parsed = match kind {
        "cluster" => Some(Target::Cluster(rest.to_owned())),
        "service" => match two(rest) {
            Some((c, s)) => Some(Target::Service(c, s)),
            None => return Err(EcsError::invalid("Long arn format must be used for tagging operations")),
        },
        "task" => two(rest).map(|(c, t)| Target::Task(c, t)),
        "container-instance" => two(rest).map(|(c, i)| Target::ContainerInstance(c, i)),
        "task-definition" => {
            rest.rsplit_once(':').and_then(|(f, r)| Some(Target::TaskDefinition(f.to_owned(), r.parse().ok()?)))
        }
        "capacity-provider" => Some(Target::CapacityProvider(rest.to_owned())),
        _ => None,
    };
    parsed.ok_or_else(|| EcsError::invalid(format!("Invalid resource ARN '{arn}'.")))
}

fn not_found(what: &str) -> EcsError {
    EcsError::new(ErrorKind::ResourceNotFoundException, format!("The specified {what} could not be found."))
}

/// An edit of a tag list that may refuse (tag limits).
type TagEdit<'a> = &'a dyn Fn(&mut Vec<Tag>) -> EcsResult<()>;

/// Applies `edit` to the resource's tags (None = read only) and returns them.
fn with_tags(store: &Store, arn: &str, edit: Option<TagEdit<'_>>) -> EcsResult<Vec<Tag>> {
    if let Some(tags) = store.tags_beside_clusters(arn, edit) {
        return tags;
    }
    let target = target(arn)?;
    let mut changes: Changes = store.changes();
    let cluster_name = match &target {
        Target::Cluster(c) | Target::Service(c, _) | Target::Task(c, _) | Target::ContainerInstance(c, _) => c.clone(),
        Target::TaskDefinition(family, revision) => {
            let mut registry = write(&store.task_definitions);
            let entry = registry
                .families
                .get(family)
                .and_then(|f| f.revisions.get(revision))
                .ok_or_else(|| not_found("task definition"))?;
            let mut entry = TaskDefinitionEntry::clone(entry);
            if let Some(edit) = edit {
                edit(&mut entry.tags)?;
                changes.push(|| Change::PutTaskDefinition { entry: entry.clone() });
                store.persist(changes)?;
            }
            let tags = entry.tags.clone();
            if let Some(f) = registry.families.get_mut(family) {
                f.revisions.insert(*revision, Arc::new(entry));
            }
            return Ok(tags);
        }
        Target::CapacityProvider(name) => {
            let mut records = write(&store.capacity_providers);
            let resource_not_found =
                || EcsError::new(ErrorKind::ResourceNotFoundException, "The specified resource could not be found.");
            let mut entry = records.get(name).filter(|e| e.is_active()).ok_or_else(resource_not_found)?.clone();
            if let Some(edit) = edit {
                edit(&mut entry.provider.tags)?;
                changes.push(|| Change::PutCapacityProvider { entry: entry.clone() });
                store.persist(changes)?;
            }
            let tags = entry.provider.tags.clone();
            records.put(entry);
            return Ok(tags);
        }
    };
    // A service ARN is looked up as a whole: when its cluster is unknown the
    // service is, which ECS reports as ServiceNotFoundException.
    let cell = match store.cluster(&cluster_name) {
        Some(cell) => cell,
        None if matches!(target, Target::Service(..)) => return Err(EcsError::service_not_found()),
        None => return Err(EcsError::cluster_not_found()),
    };
    let mut state = lock(&cell);
    state.ensure_active()?;
    let cluster = state.name().to_owned();
    let tags = match &target {
        Target::Cluster(_) => {
            if let Some(edit) = edit {
                edit(&mut state.cluster.tags)?;
                changes.push(|| Change::PutCluster { cluster: state.cluster.clone() });
            }
            state.cluster.tags.clone()
        }
        Target::Service(_, name) => {
            let entry = state.services.get_mut(name).ok_or_else(EcsError::service_not_found)?;
            if let Some(edit) = edit {
                edit(&mut entry.service.tags)?;
                changes.push(|| Change::PutService { cluster: cluster.clone(), entry: entry.clone() });
            }
            entry.service.tags.clone()
        }
        Target::Task(_, id) => {
            let mut entry = state.tasks.get_mut(id).ok_or_else(|| not_found("task"))?;
            if let Some(edit) = edit {
                edit(&mut entry.task.tags)?;
                changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: entry.clone() });
            }
            entry.task.tags.clone()
        }
        Target::ContainerInstance(_, id) => {
            let entry = state.container_instances.get_mut(id).ok_or_else(|| not_found("container instance"))?;
            if let Some(edit) = edit {
                edit(&mut entry.instance.tags)?;
                changes.push(|| Change::PutContainerInstance { cluster: cluster.clone(), entry: entry.clone() });
            }
            entry.instance.tags.clone()
        }
        Target::TaskDefinition(..) | Target::CapacityProvider(_) => Vec::new(),
    };
    store.persist(changes)?;
    Ok(tags)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagInput {
    resource_arn: Option<String>,
    tags: Option<Vec<Tag>>,
}

pub fn tag_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TagInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceArn")?;
    let tags = required(input.tags, "tags")?;
    if let Some(problem) = tag_problem(&tags) {
        return Err(EcsError::invalid(problem));
    }
    let merge = |current: &mut Vec<Tag>| -> EcsResult<()> {
        let mut merged = current.clone();
        for tag in &tags {
            match merged.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => existing.value = tag.value.clone(),
                None => merged.push(tag.clone()),
            }
        }
        let user = merged.iter().filter(|t| !is_aws_tag(&t.key)).count();
        if user > MAX_TAGS {
            return Err(EcsError::invalid(format!(
                "A resource can have at most {MAX_TAGS} tags; this request would make {user}."
            )));
        }
        *current = merged;
        Ok(())
    };
    with_tags(store, &arn, Some(&merge))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UntagInput {
    resource_arn: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub fn untag_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UntagInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceArn")?;
    let keys = required(input.tag_keys, "tagKeys")?;
    if keys.iter().any(|k| is_aws_tag(k)) {
        return Err(EcsError::invalid("Tag keys beginning with 'aws:' are reserved for use by AWS."));
    }
    let remove = |current: &mut Vec<Tag>| -> EcsResult<()> {
        current.retain(|t| !keys.contains(&t.key));
        Ok(())
    };
    with_tags(store, &arn, Some(&remove))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    resource_arn: Option<String>,
}

pub fn list_tags_for_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceArn")?;
    let tags = with_tags(store, &arn, None)?;
    Ok(json!({ "tags": to_value(&tags)? }))
}
