//! [`EcsApi`] over the real `aws-sdk-ecs` client.
//!
//! Credentials and region come from aws-config's default chain (environment,
//! profile, web identity/IRSA, IMDS), so the same binary drives real ECS or the
//! emulator; `AWS_ENDPOINT_URL_ECS` is honoured by aws-config itself and
//! `--ecs-endpoint` overrides it. [`client_for_endpoint`] is the other way in: static
//! credentials for an emulator, for dev mode and the tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ClusterField, ClusterSetting, ClusterSettingName, SortOrder, Tag, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus,
};

use super::error::EcsError;
use super::mapping;
use super::metrics::EcsCallMetrics;
use super::operations::{
    BatchFailure, ClusterConfig, ClusterState, EcsApi, Page, RevisionContent, RevisionFilter, StrategyItem, Tags,
    TaskDefinitionRevision, parse_task_definition_ref,
};
use super::readback;

/// Static credentials for an ECS emulator, which accepts any signature (dev mode prints
/// them for the AWS CLI).
pub const EMULATOR_ACCESS_KEY_ID: &str = "dev";
pub const EMULATOR_SECRET_ACCESS_KEY: &str = "dev";

/// An SDK client for an ECS emulator at `endpoint`, signing with the static
/// [`EMULATOR_ACCESS_KEY_ID`] so that it never reads (or needs) anyone's real AWS
/// credentials. `max_attempts` counts the first attempt (the SDK's standard retry mode):
/// 1 means no retries, so an error shows up as itself.
pub fn client_for_endpoint(endpoint: &str, region: &str, max_attempts: u32) -> aws_sdk_ecs::Client {
    use aws_sdk_ecs::config::{Credentials, Region};
    let credentials =
        Credentials::new(EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, None, None, "ecs-bridge-emulator");
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials)
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
        .build();
    aws_sdk_ecs::Client::from_conf(config)
}

/// The configuration of every AWS client for an emulator at `endpoint`: the static
/// credentials of [`client_for_endpoint`], `max_attempts` as there (dev mode and the
/// tests build their Application Auto Scaling and Cloud Map clients from it).
pub async fn emulator_config(endpoint: &str, region: &str, max_attempts: u32) -> aws_config::SdkConfig {
    use aws_sdk_ecs::config::{Credentials, SharedCredentialsProvider};
    let credentials =
        Credentials::new(EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, None, None, "ecs-bridge-emulator");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts.max(1)))
        .load()
        .await
}

/// How to reach ECS.
#[derive(Debug, Clone)]
pub struct EcsSettings {
    /// Region; `None` = aws-config's chain (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
    /// Endpoint override (the emulator); `None` = `AWS_ENDPOINT_URL_ECS` or ECS's.
    pub endpoint: Option<String>,
    /// Attempts per call, the first included (the SDK's standard retry mode).
    pub max_attempts: u32,
    /// Upper bound for one call, retries included.
    pub operation_timeout: Duration,
}

impl Default for EcsSettings {
    fn default() -> Self {
        Self { region: None, endpoint: None, max_attempts: 3, operation_timeout: Duration::from_secs(30) }
    }
}

/// The real ECS client, with the Application Auto Scaling and Cloud Map clients an
/// EcsService's `autoScaling` and `serviceDiscovery` need, counting every call into
/// [`EcsCallMetrics`].
#[derive(Debug, Clone)]
pub struct SdkEcs {
    pub(super) client: aws_sdk_ecs::Client,
    pub(super) scaling: aws_sdk_applicationautoscaling::Client,
    pub(super) discovery: aws_sdk_servicediscovery::Client,
    metrics: EcsCallMetrics,
}

impl SdkEcs {
    /// Builds a client from aws-config's default chain and `settings`.
    pub async fn connect(settings: &EcsSettings, metrics: EcsCallMetrics) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1)))
            .timeout_config(TimeoutConfig::builder().operation_timeout(settings.operation_timeout).build());
        if let Some(region) = &settings.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint.clone());
        }
        let config = loader.load().await;
        Self::from_config(&config, metrics)
    }

    /// The three clients of one configuration (`--ecs-endpoint` sends them all to the
    /// emulator, which serves the three services on one port).
    pub fn from_config(config: &aws_config::SdkConfig, metrics: EcsCallMetrics) -> Self {
        Self {
            client: aws_sdk_ecs::Client::new(config),
            scaling: aws_sdk_applicationautoscaling::Client::new(config),
            discovery: aws_sdk_servicediscovery::Client::new(config),
            metrics,
        }
    }

    /// Clients for an emulator at `endpoint` (see [`emulator_config`]).
    pub async fn for_endpoint(endpoint: &str, region: &str, max_attempts: u32, metrics: EcsCallMetrics) -> Self {
        Self::from_config(&emulator_config(endpoint, region, max_attempts).await, metrics)
    }

    /// The SDK client, for the read-only calls the seam has no method for
    /// (`ecs-bridge import` lists services).
    pub fn client(&self) -> &aws_sdk_ecs::Client {
        &self.client
    }

    pub fn metrics(&self) -> &EcsCallMetrics {
        &self.metrics
    }

    /// Runs one call, classifies its error and counts it.
    ///
    /// `refine` lets an operation re-read a generic error in its own context
    /// (a ClientException from DescribeTaskDefinition means "no such revision").
    pub(super) async fn call<T, E>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, SdkError<E>>>,
        refine: impl FnOnce(EcsError) -> EcsError,
    ) -> Result<T, EcsError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let started = Instant::now();
        let result = call.await.map_err(|e| refine(EcsError::from_sdk(operation, e)));
        let outcome = match &result {
            Ok(_) => "success",
            Err(e) => e.kind().label(),
        };
        self.metrics.record(operation, outcome, started.elapsed());
        if let Err(err) = &result {
            tracing::debug!(operation, error = %err, "ECS call failed");
        }
        result
    }
}

pub(super) fn keep(err: EcsError) -> EcsError {
    err
}

/// DescribeTaskDefinition answers an unknown revision with a ClientException
/// ("Unable to describe task definition."), not a NotFound shape.
fn client_exception_is_not_found(err: EcsError) -> EcsError {
    match err {
        EcsError::Rejected { operation, code, message } if code == "ClientException" => {
            EcsError::NotFound { operation, code, message }
        }
        other => other,
    }
}

/// A cluster naming a capacity provider that does not exist yet is refused
/// as invalid, but an EcsCapacityProvider applied with the cluster creates it
/// moments later: a conflict to retry with back-off, not a spec to give up on.
fn provider_may_appear(err: EcsError) -> EcsError {
    match err {
        EcsError::Rejected { operation, code, message }
            if message.contains("capacity provider") && message.contains("does not exist") =>
        {
            EcsError::Conflict { operation, code, message }
        }
        other => other,
    }
}

fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn sdk_strategy(
    items: &[StrategyItem],
    operation: &'static str,
) -> Result<Vec<CapacityProviderStrategyItem>, EcsError> {
    items
        .iter()
        .map(|item| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(&item.capacity_provider)
                .weight(item.weight)
                .base(item.base)
                .build()
                .map_err(|e| EcsError::Rejected {
                    operation,
                    code: "InvalidCapacityProviderStrategy".to_owned(),
                    message: e.to_string(),
                })
        })
        .collect()
}

fn sdk_settings(settings: &BTreeMap<String, String>) -> Vec<ClusterSetting> {
    settings
        .iter()
        .map(|(name, value)| {
            ClusterSetting::builder().name(ClusterSettingName::from(name.as_str())).value(value).build()
        })
        .collect()
}

const DESCRIBE_TASK_DEFINITION: &str = "DescribeTaskDefinition";

impl SdkEcs {
    /// DescribeTaskDefinition with tags: the revision and the whole answer, `None`
    /// when ECS does not know it.
    async fn describe_revision(
        &self,
        task_definition: &str,
    ) -> Result<Option<(TaskDefinitionRevision, DescribeTaskDefinitionOutput)>, EcsError> {
        const OP: &str = DESCRIBE_TASK_DEFINITION;
        let request =
            self.client.describe_task_definition().task_definition(task_definition).include(TaskDefinitionField::Tags);
        match self.call(OP, request.send(), client_exception_is_not_found).await {
            Ok(output) => match &output.task_definition {
                Some(definition) => {
                    let revision =
                        mapping::revision_from_sdk(definition, output.tags.as_deref().unwrap_or_default(), OP)?;
                    Ok(Some((revision, output)))
                }
                None => Ok(None),
            },
            Err(EcsError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

impl EcsApi for SdkEcs {
    async fn ping(&self) -> Result<(), EcsError> {
        self.call("ListClusters", self.client.list_clusters().max_results(1).send(), keep).await.map(|_| ())
    }

    async fn register_task_definition(
        &self,
        input: RegisterTaskDefinitionInput,
    ) -> Result<TaskDefinitionRevision, EcsError> {
        const OP: &str = "RegisterTaskDefinition";
        let request = self
            .client
            .register_task_definition()
            .set_family(input.family)
            .set_task_role_arn(input.task_role_arn)
            .set_execution_role_arn(input.execution_role_arn)
            .set_network_mode(input.network_mode)
            .set_container_definitions(input.container_definitions)
            .set_volumes(input.volumes)
            .set_placement_constraints(input.placement_constraints)
            .set_requires_compatibilities(input.requires_compatibilities)
            .set_cpu(input.cpu)
            .set_memory(input.memory)
            .set_tags(input.tags)
            .set_pid_mode(input.pid_mode)
            .set_ipc_mode(input.ipc_mode)
            .set_proxy_configuration(input.proxy_configuration)
            .set_ephemeral_storage(input.ephemeral_storage)
            .set_runtime_platform(input.runtime_platform)
            .set_enable_fault_injection(input.enable_fault_injection);
        let output = self.call(OP, request.send(), keep).await?;
        let definition = output.task_definition.ok_or_else(|| EcsError::Other {
            operation: OP,
            code: "MissingTaskDefinition".to_owned(),
            message: "the answer carried no task definition".to_owned(),
        })?;
        mapping::revision_from_sdk(&definition, output.tags.as_deref().unwrap_or_default(), OP)
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<TaskDefinitionRevision>, EcsError> {
        Ok(self.describe_revision(task_definition).await?.map(|(revision, _)| revision))
    }

    async fn describe_task_definition_content(
        &self,
        task_definition: &str,
    ) -> Result<Option<RevisionContent>, EcsError> {
        let Some((revision, output)) = self.describe_revision(task_definition).await? else {
            return Ok(None);
        };
        let definition = output.task_definition.unwrap_or_else(|| TaskDefinition::builder().build());
        let spec =
            readback::task_definition_spec(&definition, output.tags.as_deref().unwrap_or_default()).map_err(|err| {
                EcsError::Other {
                    operation: DESCRIBE_TASK_DEFINITION,
                    code: "UnreadableTaskDefinition".to_owned(),
                    message: err.to_string(),
                }
            })?;
        Ok(Some(RevisionContent { revision, spec }))
    }

    async fn list_task_definitions(
        &self,
        family: &str,
        filter: RevisionFilter,
        next_token: Option<String>,
    ) -> Result<Page<String>, EcsError> {
        let status = match filter {
            RevisionFilter::Active => TaskDefinitionStatus::Active,
            RevisionFilter::Inactive => TaskDefinitionStatus::Inactive,
        };
        let request = self
            .client
            .list_task_definitions()
            .family_prefix(family)
            .status(status)
            .sort(SortOrder::Desc)
            .max_results(100)
            .set_next_token(next_token);
        let output = self.call("ListTaskDefinitions", request.send(), keep).await?;
        let items = output
            .task_definition_arns
            .unwrap_or_default()
            .into_iter()
            // ECS matches a prefix: `web` also lists `web-worker`.
            .filter(|arn| parse_task_definition_ref(arn).is_some_and(|(f, _)| f == family))
            .collect();
        Ok(Page { items, next_token: output.next_token })
    }

    async fn deregister_task_definition(&self, arn: &str) -> Result<(), EcsError> {
        let request = self.client.deregister_task_definition().task_definition(arn);
        self.call("DeregisterTaskDefinition", request.send(), keep).await.map(|_| ())
    }

    async fn delete_task_definitions(&self, arns: &[String]) -> Result<Vec<BatchFailure>, EcsError> {
        let request = self.client.delete_task_definitions().set_task_definitions(Some(arns.to_vec()));
        let output = self.call("DeleteTaskDefinitions", request.send(), keep).await?;
        Ok(output
            .failures
            .unwrap_or_default()
            .into_iter()
            .map(|f| BatchFailure { arn: f.arn, reason: f.reason.unwrap_or_default(), detail: f.detail })
            .collect())
    }

    async fn describe_cluster(&self, name: &str) -> Result<Option<ClusterState>, EcsError> {
        let request =
            self.client.describe_clusters().clusters(name).include(ClusterField::Settings).include(ClusterField::Tags);
        let output = self.call("DescribeClusters", request.send(), keep).await?;
        Ok(output.clusters.unwrap_or_default().first().map(mapping::cluster_from_sdk))
    }

    async fn create_cluster(&self, config: &ClusterConfig) -> Result<ClusterState, EcsError> {
        const OP: &str = "CreateCluster";
        let mut request = self.client.create_cluster().cluster_name(&config.name);
        if !config.settings.is_empty() {
            request = request.set_settings(Some(sdk_settings(&config.settings)));
        }
        if !config.tags.is_empty() {
            request = request.set_tags(Some(sdk_tags(&config.tags)));
        }
        if !config.capacity_providers.is_empty() {
            request = request.set_capacity_providers(Some(config.capacity_providers.clone()));
        }
        if !config.default_strategy.is_empty() {
            request = request.set_default_capacity_provider_strategy(Some(sdk_strategy(&config.default_strategy, OP)?));
        }
        let output = self.call(OP, request.send(), provider_may_appear).await?;
        output.cluster.as_ref().map(mapping::cluster_from_sdk).ok_or_else(|| EcsError::Other {
            operation: OP,
            code: "MissingCluster".to_owned(),
            message: "the answer carried no cluster".to_owned(),
        })
    }

    async fn update_cluster_settings(&self, name: &str, settings: &BTreeMap<String, String>) -> Result<(), EcsError> {
        let request = self.client.update_cluster_settings().cluster(name).set_settings(Some(sdk_settings(settings)));
        self.call("UpdateClusterSettings", request.send(), keep).await.map(|_| ())
    }

    async fn put_cluster_capacity_providers(
        &self,
        name: &str,
        providers: &[String],
        strategy: &[StrategyItem],
    ) -> Result<(), EcsError> {
        const OP: &str = "PutClusterCapacityProviders";
        let request = self
            .client
            .put_cluster_capacity_providers()
            .cluster(name)
            .set_capacity_providers(Some(providers.to_vec()))
            .set_default_capacity_provider_strategy(Some(sdk_strategy(strategy, OP)?));
        self.call(OP, request.send(), provider_may_appear).await.map(|_| ())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), EcsError> {
        let request = self.client.tag_resource().resource_arn(arn).set_tags(Some(sdk_tags(tags)));
        self.call("TagResource", request.send(), keep).await.map(|_| ())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), EcsError> {
        let request = self.client.untag_resource().resource_arn(arn).set_tag_keys(Some(keys.to_vec()));
        self.call("UntagResource", request.send(), keep).await.map(|_| ())
    }

    async fn delete_cluster(&self, name: &str) -> Result<(), EcsError> {
        let request = self.client.delete_cluster().cluster(name);
        self.call("DeleteCluster", request.send(), keep).await.map(|_| ())
    }
}
