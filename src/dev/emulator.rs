//! The ECS emulator inside dev mode: served on a fixed, printable address so the AWS CLI
//! and SDKs can be pointed at it, with the `default` cluster ECS accounts start with (tasks
//! and services that name no cluster land there).

use crate::emulator::{EmulatorConfig, EmulatorError, RunningEmulator, RuntimeMode};

use super::{DevArgs, DevError, DevRuntime};

/// Credentials for the emulator, which accepts any signature; printed for the AWS CLI.
pub const ACCESS_KEY_ID: &str = crate::ecs::EMULATOR_ACCESS_KEY_ID;
pub const SECRET_ACCESS_KEY: &str = crate::ecs::EMULATOR_SECRET_ACCESS_KEY;

/// Serves the emulator on `--emulator-listen`.
///
/// With `--runtime auto` it tries Docker first and falls back to the simulated runtime
/// when no engine answers, saying why on stderr.
pub async fn start(args: &DevArgs) -> Result<RunningEmulator, DevError> {
    let config = |runtime| EmulatorConfig {
        listen: args.emulator_listen,
        region: args.region.clone(),
        ec2_capacity: args.ec2_capacity,
        runtime,
        ..EmulatorConfig::default()
    };
    let first = match args.runtime {
        DevRuntime::Simulated => RuntimeMode::Simulated,
        DevRuntime::Auto | DevRuntime::Docker => RuntimeMode::Docker,
    };
    let started = match crate::emulator::spawn(config(first)).await {
        Err(EmulatorError::Docker(reason)) if args.runtime == DevRuntime::Auto => {
            eprintln!("dev: {reason}; tasks run simulated (no containers)");
            crate::emulator::spawn(config(RuntimeMode::Simulated)).await
        }
        other => other,
    };
    started.map_err(|source| match &source {
        EmulatorError::Bind { addr, .. } => DevError::EmulatorListen { addr: *addr, source },
        _ => DevError::Emulator(source),
    })
}

/// Creates the `default` cluster (CreateCluster is idempotent in ECS).
pub async fn create_default_cluster(endpoint: &str, region: &str) -> Result<(), DevError> {
    crate::ecs::client_for_endpoint(endpoint, region, 1)
        .create_cluster()
        .cluster_name("default")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| DevError::DefaultCluster {
            endpoint: endpoint.to_owned(),
            message: aws_sdk_ecs::error::DisplayErrorContext(e).to_string(),
        })
}
