//! An in-memory [`EcsApi`] for unit tests of the reconcilers: ECS's task
//! definition and cluster rules as far as the reconcilers rely on them, a log
//! of every call, scripted failures, and small pages so that pagination is
//! exercised.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;

use super::error::EcsError;
use super::operations::{
    BatchFailure, ClusterConfig, ClusterState, EcsApi, Page, RevisionContent, RevisionFilter, RevisionStatus,
    StrategyItem, Tags, TaskDefinitionRevision, WRITE_OPERATIONS, parse_task_definition_ref,
};

const ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:123456789012";

/// A registered revision and the request that made it.
#[derive(Debug, Clone)]
pub struct StoredRevision {
    pub revision: TaskDefinitionRevision,
    pub input: RegisterTaskDefinitionInput,
    pub deleted: bool,
}

#[derive(Default)]
pub(super) struct State {
    families: BTreeMap<String, Vec<StoredRevision>>,
    pub(super) clusters: BTreeMap<String, ClusterState>,
    /// Capacity providers (see `capacity_provider_fake`).
    pub(super) providers: BTreeMap<String, super::capacity_provider::ProviderState>,
    calls: Vec<&'static str>,
    failures: HashMap<&'static str, VecDeque<EcsError>>,
}

/// The fake. `page_size` bounds ListTaskDefinitions pages.
pub struct FakeEcs {
    state: Mutex<State>,
    pub page_size: usize,
}

impl Default for FakeEcs {
    fn default() -> Self {
        Self { state: Mutex::default(), page_size: 3 }
    }
}

impl FakeEcs {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the next call of `operation` fail with `error`.
    pub fn fail_next(&self, operation: &'static str, error: EcsError) {
        self.lock().failures.entry(operation).or_default().push_back(error);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.lock().calls.clone()
    }

    pub fn count(&self, operation: &str) -> usize {
        self.lock().calls.iter().filter(|c| **c == operation).count()
    }

    pub fn writes(&self) -> usize {
        self.lock().calls.iter().filter(|c| WRITE_OPERATIONS.contains(c)).count()
    }

    pub fn forget_calls(&self) {
        self.lock().calls.clear();
    }

    /// All revisions of `family`, deleted ones included.
    pub fn revisions(&self, family: &str) -> Vec<StoredRevision> {
        self.lock().families.get(family).cloned().unwrap_or_default()
    }

    /// Registers a revision as someone else would (another tool, another object).
    pub fn register_foreign(&self, family: &str, tags: Tags) -> TaskDefinitionRevision {
        let input = RegisterTaskDefinitionInput::builder().family(family).build().expect("family is set");
        let mut state = self.lock();
        Self::store(&mut state, family, tags, input)
    }

    pub fn cluster(&self, name: &str) -> Option<ClusterState> {
        self.lock().clusters.get(name).cloned()
    }

    /// Changes a cluster behind the operator's back.
    pub fn edit_cluster(&self, name: &str, edit: impl FnOnce(&mut ClusterState)) {
        if let Some(cluster) = self.lock().clusters.get_mut(name) {
            edit(cluster);
        }
    }

    fn store(
        state: &mut State,
        family: &str,
        tags: Tags,
        input: RegisterTaskDefinitionInput,
    ) -> TaskDefinitionRevision {
        let revisions = state.families.entry(family.to_owned()).or_default();
        let number = i32::try_from(revisions.len()).unwrap_or(i32::MAX) + 1;
        let revision = TaskDefinitionRevision {
            arn: format!("{ARN_PREFIX}:task-definition/{family}:{number}"),
            family: family.to_owned(),
            revision: number,
            status: RevisionStatus::Active,
            tags,
        };
        revisions.push(StoredRevision { revision: revision.clone(), input, deleted: false });
        revision
    }

    /// Logs the call and pops a scripted failure, if any.
    pub(super) fn enter(&self, operation: &'static str) -> Result<std::sync::MutexGuard<'_, State>, EcsError> {
        let mut state = self.lock();
        state.calls.push(operation);
        if let Some(err) = state.failures.get_mut(operation).and_then(VecDeque::pop_front) {
            return Err(err);
        }
        Ok(state)
    }

    fn find<'a>(state: &'a mut State, reference: &str) -> Option<&'a mut StoredRevision> {
        let (family, number) = parse_task_definition_ref(reference)?;
        state.families.get_mut(family)?.iter_mut().find(|r| r.revision.revision == number && !r.deleted)
    }
}

fn client_exception(operation: &'static str, message: &str) -> EcsError {
    EcsError::from_code(operation, "ClientException", message.to_owned(), Some(400))
}

impl EcsApi for FakeEcs {
    async fn ping(&self) -> Result<(), EcsError> {
        self.enter("ListClusters").map(|_| ())
    }

    async fn register_task_definition(
        &self,
        input: RegisterTaskDefinitionInput,
    ) -> Result<TaskDefinitionRevision, EcsError> {
        let mut state = self.enter("RegisterTaskDefinition")?;
        let Some(family) = input.family.clone() else {
            return Err(client_exception("RegisterTaskDefinition", "Family should not be null or empty."));
        };
        let containers = input.container_definitions.clone().unwrap_or_default();
        if containers.is_empty() {
            return Err(client_exception("RegisterTaskDefinition", "Container list cannot be empty."));
        }
        if containers.iter().any(|c| c.image().unwrap_or_default().is_empty()) {
            return Err(client_exception("RegisterTaskDefinition", "Container.image should not be null or empty."));
        }
        let tags = input.tags.as_deref().map(super::mapping::tags_from_sdk).unwrap_or_default();
        Ok(Self::store(&mut state, &family, tags, input))
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<TaskDefinitionRevision>, EcsError> {
        let mut state = self.enter("DescribeTaskDefinition")?;
        Ok(Self::find(&mut state, task_definition).map(|r| r.revision.clone()))
    }

    async fn describe_task_definition_content(
        &self,
        task_definition: &str,
    ) -> Result<Option<RevisionContent>, EcsError> {
        let mut state = self.enter("DescribeTaskDefinition")?;
        let found = match parse_task_definition_ref(task_definition) {
            Some(_) => Self::find(&mut state, task_definition).cloned(),
            None => state.families.get(task_definition).and_then(|revisions| {
                revisions.iter().rev().find(|r| !r.deleted && r.revision.status == RevisionStatus::Active).cloned()
            }),
        };
        let Some(stored) = found else { return Ok(None) };
        let input = &stored.input;
        let definition = aws_sdk_ecs::types::TaskDefinition::builder()
            .set_family(input.family.clone())
            .set_container_definitions(input.container_definitions.clone())
            .set_cpu(input.cpu.clone())
            .set_memory(input.memory.clone())
            .set_network_mode(input.network_mode.clone())
            .set_requires_compatibilities(input.requires_compatibilities.clone())
            .set_execution_role_arn(input.execution_role_arn.clone())
            .set_task_role_arn(input.task_role_arn.clone())
            .set_volumes(input.volumes.clone())
            .build();
        let tags: Vec<aws_sdk_ecs::types::Tag> = stored
            .revision
            .tags
            .iter()
            .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
            .collect();
        let spec = super::readback::task_definition_spec(&definition, &tags)
            .map_err(|e| client_exception("DescribeTaskDefinition", &e.to_string()))?;
        Ok(Some(RevisionContent { revision: stored.revision, spec }))
    }

    async fn list_task_definitions(
        &self,
        family: &str,
        filter: RevisionFilter,
        next_token: Option<String>,
    ) -> Result<Page<String>, EcsError> {
        let state = self.enter("ListTaskDefinitions")?;
        let wanted = match filter {
            RevisionFilter::Active => RevisionStatus::Active,
            RevisionFilter::Inactive => RevisionStatus::Inactive,
        };
        let mut arns: Vec<String> = state
            .families
            .get(family)
            .map(|revisions| {
                revisions
                    .iter()
                    .filter(|r| !r.deleted && r.revision.status == wanted)
                    .map(|r| r.revision.arn.clone())
                    .collect()
            })
            .unwrap_or_default();
        arns.reverse();
        let start: usize = next_token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let end = (start + self.page_size).min(arns.len());
        Ok(Page {
            items: arns.get(start..end).map(<[String]>::to_vec).unwrap_or_default(),
            next_token: (end < arns.len()).then(|| end.to_string()),
        })
    }

    async fn deregister_task_definition(&self, arn: &str) -> Result<(), EcsError> {
        let mut state = self.enter("DeregisterTaskDefinition")?;
        match Self::find(&mut state, arn) {
            Some(stored) => {
                stored.revision.status = RevisionStatus::Inactive;
                Ok(())
            }
            None => Err(client_exception("DeregisterTaskDefinition", "The specified task definition does not exist.")),
        }
    }

    async fn delete_task_definitions(&self, arns: &[String]) -> Result<Vec<BatchFailure>, EcsError> {
        let mut state = self.enter("DeleteTaskDefinitions")?;
        if arns.len() > 10 {
            return Err(EcsError::from_code(
                "DeleteTaskDefinitions",
                "InvalidParameterException",
                "Up to 10 task definitions per call.".to_owned(),
                Some(400),
            ));
        }
        let mut failures = Vec::new();
        for arn in arns {
            match Self::find(&mut state, arn) {
                Some(stored) if stored.revision.status == RevisionStatus::Inactive => {
                    stored.revision.status = RevisionStatus::DeleteInProgress;
                    stored.deleted = true;
                }
                _ => failures.push(BatchFailure {
                    arn: Some(arn.clone()),
                    reason: "The specified task definition is not INACTIVE.".to_owned(),
                    detail: None,
                }),
            }
        }
        Ok(failures)
    }

    async fn describe_cluster(&self, name: &str) -> Result<Option<ClusterState>, EcsError> {
        let state = self.enter("DescribeClusters")?;
        Ok(state.clusters.get(name).cloned())
    }

    async fn create_cluster(&self, config: &ClusterConfig) -> Result<ClusterState, EcsError> {
        let mut state = self.enter("CreateCluster")?;
        let cluster = ClusterState {
            arn: format!("{ARN_PREFIX}:cluster/{}", config.name),
            name: config.name.clone(),
            status: "ACTIVE".to_owned(),
            settings: config.settings.clone(),
            capacity_providers: config.capacity_providers.clone(),
            default_strategy: config.default_strategy.clone(),
            tags: config.tags.clone(),
            ..ClusterState::default()
        };
        state.clusters.insert(config.name.clone(), cluster.clone());
        Ok(cluster)
    }

    async fn update_cluster_settings(&self, name: &str, settings: &BTreeMap<String, String>) -> Result<(), EcsError> {
        let mut state = self.enter("UpdateClusterSettings")?;
        let cluster = state.clusters.get_mut(name).ok_or_else(|| {
            EcsError::from_code(
                "UpdateClusterSettings",
                "ClusterNotFoundException",
                "Cluster not found.".into(),
                Some(400),
            )
        })?;
        cluster.settings.extend(settings.clone());
        Ok(())
    }

    async fn put_cluster_capacity_providers(
        &self,
        name: &str,
        providers: &[String],
        strategy: &[StrategyItem],
    ) -> Result<(), EcsError> {
        let mut state = self.enter("PutClusterCapacityProviders")?;
        let cluster = state.clusters.get_mut(name).ok_or_else(|| {
            EcsError::from_code(
                "PutClusterCapacityProviders",
                "ClusterNotFoundException",
                "Cluster not found.".into(),
                Some(400),
            )
        })?;
        cluster.capacity_providers = providers.to_vec();
        cluster.default_strategy = strategy.to_vec();
        Ok(())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), EcsError> {
        let mut state = self.enter("TagResource")?;
        if let Some(cluster) = state.clusters.values_mut().find(|c| c.arn == arn) {
            cluster.tags.extend(tags.clone());
        }
        if let Some(provider) = state.providers.values_mut().find(|p| p.arn == arn) {
            provider.tags.extend(tags.clone());
        }
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), EcsError> {
        let mut state = self.enter("UntagResource")?;
        if let Some(cluster) = state.clusters.values_mut().find(|c| c.arn == arn) {
            for key in keys {
                cluster.tags.remove(key);
            }
        }
        if let Some(provider) = state.providers.values_mut().find(|p| p.arn == arn) {
            for key in keys {
                provider.tags.remove(key);
            }
        }
        Ok(())
    }

    async fn delete_cluster(&self, name: &str) -> Result<(), EcsError> {
        let mut state = self.enter("DeleteCluster")?;
        match state.clusters.get_mut(name) {
            Some(cluster) if cluster.status != "INACTIVE" => {
                if cluster.active_services > 0 {
                    return Err(EcsError::from_code(
                        "DeleteCluster",
                        "ClusterContainsServicesException",
                        "The Cluster cannot be deleted while Services are active.".to_owned(),
                        Some(400),
                    ));
                }
                cluster.status = "INACTIVE".to_owned();
                Ok(())
            }
            _ => Err(EcsError::from_code(
                "DeleteCluster",
                "ClusterNotFoundException",
                "Cluster not found.".to_owned(),
                Some(400),
            )),
        }
    }
}
