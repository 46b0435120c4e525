//! The `ecs-bridge` binary: one entry point, one subcommand per role.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ecs-bridge", version, about = "Run Amazon ECS from Kubernetes custom resources")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator: reconcile EcsTaskDefinition, EcsService, EcsCluster and EcsTask objects into ECS.
    Controller(ecs_bridge::controller::ControllerArgs),
    /// Serve the ECS emulator (the ECS JSON 1.1 wire protocol) over HTTP.
    Emulator(ecs_bridge::emulator::EmulatorArgs),
    /// Print the CustomResourceDefinitions as YAML.
    Crds,
    /// Run everything in one process for local development.
    Dev(ecs_bridge::dev::DevArgs),
    /// Print the awslogs output of an EcsService's or EcsTask's tasks, from CloudWatch Logs.
    Logs(ecs_bridge::logs::LogsArgs),
    /// Show what applying manifests would change in ECS (exit 0: nothing, 1: changes, 2: errors).
    Diff(ecs_bridge::manifest::DiffArgs),
    /// Write manifests for an existing ECS cluster and its services, ready to adopt.
    Import(ecs_bridge::manifest::ImportArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error + Send + Sync>> = match cli.command {
        Command::Controller(args) => ecs_bridge::controller::run(args).await.map_err(Into::into),
        Command::Emulator(args) => ecs_bridge::emulator::run(args).await.map_err(Into::into),
        Command::Crds => {
            print!("{}", ecs_bridge::api::crds_yaml());
            Ok(())
        }
        Command::Dev(args) => ecs_bridge::dev::run(args).await.map_err(Into::into),
        Command::Logs(args) => ecs_bridge::logs::run(args).await.map_err(Into::into),
        Command::Diff(args) => return std::process::ExitCode::from(ecs_bridge::manifest::run_diff(args).await as u8),
        Command::Import(args) => ecs_bridge::manifest::run_import(args).await.map_err(Into::into),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ecs-bridge: error: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            std::process::ExitCode::FAILURE
        }
    }
}
