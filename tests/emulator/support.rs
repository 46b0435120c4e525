//! Shared test plumbing: an emulator plus an SDK client pointed at it.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{ContainerDefinition, PortMapping};
use ecs_bridge::emulator::{EmulatorConfig, RunningEmulator, spawn};

pub const ACCOUNT: &str = "000000000000";
pub const REGION: &str = "us-east-1";

/// An SDK client for an endpoint, with static test credentials and no
/// retries (so an error shows up as itself, at once).
pub fn client(endpoint: &str) -> Client {
    ecs_bridge::ecs::client_for_endpoint(endpoint, REGION, 1)
}

/// A fresh in-memory emulator on a manual clock (nothing moves until the
/// test advances time) and a client for it.
pub async fn start() -> (RunningEmulator, Client) {
    start_with(EmulatorConfig::manual()).await
}

/// A fresh in-memory emulator on the real clock with short phases.
pub async fn start_real() -> (RunningEmulator, Client) {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> (RunningEmulator, Client) {
    let emulator = spawn(config).await.expect("emulator starts");
    let client = client(&emulator.endpoint());
    (emulator, client)
}

/// The ECS error code and message of a failed call; panics on success.
pub fn error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
) -> (String, String) {
    match result {
        Ok(v) => panic!("expected an ECS error, got success: {v:?}"),
        Err(e) => (
            e.code().unwrap_or_else(|| panic!("no error code in {e:?}")).to_owned(),
            e.message().unwrap_or_default().to_owned(),
        ),
    }
}

/// Asserts the error code (and message, when given) of a failed call.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
    code: &str,
    message: Option<&str>,
) {
    let (c, m) = error(result);
    assert_eq!(c, code, "error code (message: {m})");
    if let Some(message) = message {
        assert_eq!(m, message, "error message");
    }
}

pub fn arn(resource: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:{resource}")
}

/// An nginx container with a hard memory limit and port 80.
pub fn nginx(host_port: Option<i32>) -> ContainerDefinition {
    nginx_builder(host_port).build()
}

pub fn nginx_builder(host_port: Option<i32>) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    let mut pm = PortMapping::builder().container_port(80);
    if let Some(h) = host_port {
        pm = pm.host_port(h);
    }
    ContainerDefinition::builder().name("web").image("nginx:latest").memory(256).cpu(128).port_mappings(pm.build())
}

/// Registers a bridge-mode nginx family; returns its ARN.
pub async fn register_bridge(client: &Client, family: &str) -> String {
    client
        .register_task_definition()
        .family(family)
        .container_definitions(nginx(Some(8080)))
        .send()
        .await
        .expect("register bridge task definition")
        .task_definition
        .and_then(|td| td.task_definition_arn)
        .expect("arn")
}

/// Registers a Fargate/awsvpc nginx family; returns its ARN.
pub async fn register_fargate(client: &Client, family: &str) -> String {
    register_fargate_container(client, family, nginx(None)).await
}

pub fn awsvpc() -> aws_sdk_ecs::types::NetworkConfiguration {
    aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                .subnets("subnet-0123456789abcdef0")
                .security_groups("sg-0123456789abcdef0")
                .build()
                .expect("awsvpc configuration"),
        )
        .build()
}

/// A CreateService call for a Fargate service on [`awsvpc`], ready for the
/// test's own settings (desired count, deployment configuration...).
pub fn fargate_service(
    client: &Client,
    cluster: &str,
    name: &str,
    task_definition: &str,
) -> aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder {
    client
        .create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(task_definition)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc())
}

/// A RunTask call for Fargate on [`awsvpc`].
pub fn fargate_task(
    client: &Client,
    cluster: &str,
    task_definition: &str,
) -> aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder {
    client
        .run_task()
        .cluster(cluster)
        .task_definition(task_definition)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc())
}

/// Registers an EC2 container instance (2048 CPU, 3768 MiB by default).
pub async fn register_instance(client: &Client, cluster: &str) -> String {
    client
        .register_container_instance()
        .cluster(cluster)
        .instance_identity_document(
            r#"{"instanceId":"i-0abc1234def567890","availabilityZone":"us-east-1b","instanceType":"m5.large"}"#,
        )
        .send()
        .await
        .expect("register container instance")
        .container_instance
        .and_then(|ci| ci.container_instance_arn)
        .expect("arn")
}

/// A raw ECS request (for protocol-level tests); returns status and JSON.
pub async fn raw(endpoint: &str, target: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_owned());
    if let Some(target) = target {
        request = request.header("x-amz-target", target);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
    (status, json)
}

pub fn target(op: &str) -> String {
    format!("AmazonEC2ContainerServiceV20141113.{op}")
}

/// An admin request (`/_emulator/...`); returns status and JSON.
pub async fn admin(
    endpoint: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{endpoint}/_emulator/{path}"))
        .json(&body)
        .send()
        .await
        .expect("admin request sent");
    let status = response.status().as_u16();
    let json = response.json().await.expect("admin answers JSON");
    (status, json)
}

/// Advances the emulator's manual clock over HTTP, doing the work due.
pub async fn advance(emulator: &RunningEmulator, seconds: f64) -> serde_json::Value {
    let (status, body) =
        admin(&emulator.endpoint(), reqwest::Method::POST, "clock/advance", serde_json::json!({ "seconds": seconds }))
            .await;
    assert_eq!(status, 200, "advance: {body}");
    body
}

/// One service, described.
pub async fn service(client: &Client, cluster: &str, name: &str) -> aws_sdk_ecs::types::Service {
    client
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .expect("describe service")
        .services()
        .first()
        .cloned()
        .expect("service exists")
}

/// The tasks of a service (desired status `RUNNING` or `STOPPED`), described.
pub async fn service_tasks(client: &Client, cluster: &str, name: &str, desired: &str) -> Vec<aws_sdk_ecs::types::Task> {
    let arns = client
        .list_tasks()
        .cluster(cluster)
        .service_name(name)
        .desired_status(desired.into())
        .send()
        .await
        .expect("list tasks")
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return Vec::new();
    }
    client
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .expect("describe tasks")
        .tasks()
        .to_vec()
}

/// Event messages, newest first.
pub fn events(service: &aws_sdk_ecs::types::Service) -> Vec<String> {
    service.events().iter().map(|e| e.message().unwrap_or_default().to_owned()).collect()
}

/// Registers a Fargate family whose container has `environment` (name, value).
pub async fn register_fargate_env(client: &Client, family: &str, env: &[(&str, &str)]) -> String {
    let mut container = nginx_builder(None);
    for (k, v) in env {
        container = container.environment(aws_sdk_ecs::types::KeyValuePair::builder().name(*k).value(*v).build());
    }
    register_fargate_container(client, family, container.build()).await
}

/// Registers a Fargate (awsvpc, 256/512) family with one given container;
/// returns its ARN.
pub async fn register_fargate_container(client: &Client, family: &str, container: ContainerDefinition) -> String {
    client
        .register_task_definition()
        .family(family)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(container)
        .send()
        .await
        .expect("register fargate task definition")
        .task_definition
        .and_then(|td| td.task_definition_arn)
        .expect("arn")
}

/// An `aws-sdk-cloudwatchlogs` client for the emulator at `endpoint`.
pub fn logs_client(endpoint: &str) -> aws_sdk_cloudwatchlogs::Client {
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("dev", "dev", None, None, "tests"))
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

/// An `aws-sdk-applicationautoscaling` client for the emulator at `endpoint`.
pub fn autoscaling_client(endpoint: &str) -> aws_sdk_applicationautoscaling::Client {
    use aws_sdk_applicationautoscaling::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_applicationautoscaling::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("dev", "dev", None, None, "tests"))
        .build();
    aws_sdk_applicationautoscaling::Client::from_conf(config)
}

/// Sends Cloud Map's DiscoverInstances to the endpoint itself: its model
/// asks for the host prefix `data-`, and `data-127.0.0.1` resolves
/// nowhere (the AWS CLI is told the same with
/// `AWS_DISABLE_HOST_PREFIX_INJECTION=true`; the Rust SDK has no setting).
#[derive(Debug)]
struct NoHostPrefix;

impl aws_sdk_servicediscovery::config::Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_transmit(
        &self,
        context: &mut aws_sdk_servicediscovery::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_sdk_servicediscovery::config::RuntimeComponents,
        _cfg: &mut aws_sdk_servicediscovery::config::ConfigBag,
    ) -> Result<(), aws_sdk_servicediscovery::error::BoxError> {
        let request = context.request_mut();
        let uri = request.uri().replacen("://data-", "://", 1);
        request.set_uri(uri)?;
        Ok(())
    }
}

/// An `aws-sdk-servicediscovery` (Cloud Map) client for the emulator at `endpoint`.
pub fn discovery_client(endpoint: &str) -> aws_sdk_servicediscovery::Client {
    use aws_sdk_servicediscovery::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_servicediscovery::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .interceptor(NoHostPrefix)
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("dev", "dev", None, None, "tests"))
        .build();
    aws_sdk_servicediscovery::Client::from_conf(config)
}
