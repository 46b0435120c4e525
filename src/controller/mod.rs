//! Scaffolding: replaced by the real module.

/// Command-line arguments.
#[derive(Debug, clap::Args)]
pub struct ControllerArgs {}

/// Error returned by [run].
#[derive(Debug, thiserror::Error)]
#[error("not built yet")]
pub struct NotBuiltYet;

/// Runs this role until shutdown.
pub async fn run(_args: ControllerArgs) -> Result<(), NotBuiltYet> {
    Err(NotBuiltYet)
}
