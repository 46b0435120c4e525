//! Between manifests in Git and ECS: `ecs-bridge diff` ([`diff`]: what applying
//! them would change, by the controller's own decisions) and `ecs-bridge import`
//! ([`import`]: manifests for what already runs). [`load`] reads manifests as
//! `kubectl apply -f` does; [`render`] prints a difference as `diff` does. Both
//! commands only read ECS.

pub mod diff;
pub mod import;
pub mod load;
pub mod render;

use std::io::Write;
use std::path::PathBuf;

use crate::ecs::{EcsCallMetrics, EcsSettings, SdkEcs};

/// Where ECS is, as for `ecs-bridge logs`.
#[derive(Debug, Clone, clap::Args)]
pub struct EcsTarget {
    /// ECS endpoint URL, e.g. the emulator's `http://127.0.0.1:4566`. Default:
    /// aws-config's (`AWS_ENDPOINT_URL…`, else AWS's).
    #[arg(long)]
    pub ecs_endpoint: Option<String>,

    /// AWS region (default: aws-config's chain).
    #[arg(long)]
    pub region: Option<String>,
}

impl EcsTarget {
    async fn connect(&self) -> SdkEcs {
        crate::tls::install_tls_provider();
        let settings =
            EcsSettings { region: self.region.clone(), endpoint: self.ecs_endpoint.clone(), ..EcsSettings::default() };
        SdkEcs::connect(&settings, EcsCallMetrics::default()).await
    }
}

/// Command-line arguments of `ecs-bridge diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// A manifest file, a directory of them, or `-` for stdin (repeatable).
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<String>,

    /// The namespace of objects that name none (for `taskDefinitionRef` lookups).
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,

    #[command(flatten)]
    pub ecs: EcsTarget,
}

/// What `ecs-bridge diff` found, as its exit status says it: 0 no change, 1 changes,
/// 2 an error (as `diff` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffStatus {
    Same = 0,
    Changes = 1,
    Trouble = 2,
}

/// Runs `ecs-bridge diff`: the differences on stdout, errors on stderr.
pub async fn run_diff(args: DiffArgs) -> DiffStatus {
    let loaded = match load::load(&args.files) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("ecs-bridge: error: {err}");
            return DiffStatus::Trouble;
        }
    };
    let ecs = args.ecs.connect().await;
    let mut status = DiffStatus::Same;
    let mut out = std::io::stdout().lock();
    for result in diff::diff_all(&ecs, &loaded, &args.namespace).await {
        match result {
            Ok(found) if found.changes() => {
                let _ = write!(out, "{}", render::render(&found));
                if status == DiffStatus::Same {
                    status = DiffStatus::Changes;
                }
            }
            Ok(_) => {}
            Err(err) => {
                eprintln!("ecs-bridge: error: {err}");
                let mut source = std::error::Error::source(&err);
                while let Some(cause) = source {
                    eprintln!("  caused by: {cause}");
                    source = cause.source();
                }
                status = DiffStatus::Trouble;
            }
        }
    }
    status
}

/// Command-line arguments of `ecs-bridge import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The ECS cluster.
    #[arg(long)]
    pub cluster: String,

    /// Only these services (repeatable; default: every service of the cluster).
    #[arg(long = "service")]
    pub services: Vec<String>,

    /// The namespace written into the manifests (default: none, kubectl's at apply).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// `-` (default) for one YAML stream on stdout, or a directory for one file per object.
    #[arg(short = 'o', long, default_value = "-")]
    pub output: String,

    #[command(flatten)]
    pub ecs: EcsTarget,
}

/// Why `ecs-bridge import` failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportRunError {
    #[error(transparent)]
    Import(#[from] import::ImportError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `ecs-bridge import`.
pub async fn run_import(args: ImportArgs) -> Result<(), ImportRunError> {
    let ecs = args.ecs.connect().await;
    let documents = import::import(&ecs, &args.cluster, &args.services, args.namespace.as_deref()).await?;
    if args.output == "-" {
        print!("{}", import::to_yaml(&documents));
        return Ok(());
    }
    let dir = PathBuf::from(&args.output);
    let write_err = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| ImportRunError::Write { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(write_err(&dir))?;
    for document in &documents {
        let path = dir.join(&document.file);
        std::fs::write(&path, import::to_yaml(std::slice::from_ref(document))).map_err(write_err(&path))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
