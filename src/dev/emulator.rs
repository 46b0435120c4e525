//! The ECS emulator inside dev mode: served on a fixed, printable address so the AWS CLI
//! and SDKs can be pointed at it, with the `default` cluster ECS accounts start with (tasks
//! and services that name no cluster land there).

use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};

use crate::emulator::{EmulatorConfig, EmulatorError, RunningEmulator};

use super::{DevArgs, DevError};

/// Credentials for the emulator, which accepts any signature; printed for the AWS CLI.
pub const ACCESS_KEY_ID: &str = "dev";
pub const SECRET_ACCESS_KEY: &str = "dev";

/// Serves the emulator on `--emulator-listen`.
pub async fn start(args: &DevArgs) -> Result<RunningEmulator, DevError> {
    let config = EmulatorConfig {
        listen: args.emulator_listen,
        region: args.region.clone(),
        ec2_capacity: args.ec2_capacity,
        ..EmulatorConfig::default()
    };
    crate::emulator::spawn(config).await.map_err(|source| match &source {
        EmulatorError::Bind { addr, .. } => DevError::EmulatorListen { addr: *addr, source },
        _ => DevError::Emulator(source),
    })
}

/// An SDK client for the emulator with the dummy credentials, so that dev mode never
/// touches (or needs) the person's real AWS credentials.
pub fn ecs_client(endpoint: &str, region: &str, max_attempts: u32) -> aws_sdk_ecs::Client {
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "ecs-bridge-dev"))
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::standard().with_max_attempts(max_attempts))
        .build();
    aws_sdk_ecs::Client::from_conf(config)
}

/// Creates the `default` cluster (CreateCluster is idempotent in ECS).
pub async fn create_default_cluster(endpoint: &str, region: &str) -> Result<(), DevError> {
    ecs_client(endpoint, region, 1).create_cluster().cluster_name("default").send().await.map(|_| ()).map_err(|e| {
        DevError::DefaultCluster {
            endpoint: endpoint.to_owned(),
            message: aws_sdk_ecs::error::DisplayErrorContext(e).to_string(),
        }
    })
}
