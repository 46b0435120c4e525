//! `ecs-bridge logs ecsservice/NAME | ecstask/NAME`: the awslogs output of an
//! object's tasks, read through CloudWatch Logs, interleaved by time and
//! prefixed `[task-id/container]` as `kubectl logs --prefix` does.
//!
//! The object comes from Kubernetes (the kubeconfig, as kubectl finds it);
//! its tasks and their task definitions' awslogs settings from ECS
//! ([`tasks`]); the events from CloudWatch Logs through [`source`]. The
//! pure parts, the order of the output ([`interleave`]) and `--since`
//! ([`since`]), have their own files and tests.

mod interleave;
mod since;
mod source;
mod tasks;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_config::BehaviorVersion;
use kube::api::Api;

use crate::api::{EcsService, EcsTask};
pub use interleave::{Line, interleave};
pub use since::{SinceError, parse_since};
use source::{LogSource, SdkLogs, SourceError};
use tasks::{ContainerLog, EcsReadError, LogStream, TaskRef};

/// How often `-f` reads the streams again.
const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// How often `-f` looks for new tasks of a service (every this many polls).
const REDISCOVER_EVERY: u32 = 5;

/// Command-line arguments of `ecs-bridge logs`.
#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// `ecsservice/NAME` or `ecstask/NAME`.
    pub object: String,

    /// The object's namespace (default: the kubeconfig context's).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Only this container's output.
    #[arg(short = 'c', long)]
    pub container: Option<String>,

    /// Keep reading new output, and new tasks of a service, until interrupted.
    #[arg(short = 'f', long)]
    pub follow: bool,

    /// Only output newer than this (`30s`, `10m`, `1h`), as `kubectl logs --since`.
    #[arg(long, value_parser = parse_since)]
    pub since: Option<Duration>,

    /// ECS and CloudWatch Logs endpoint URL, e.g. the emulator's `http://127.0.0.1:4566`
    /// (it serves both). Default: aws-config's (`AWS_ENDPOINT_URL…`, else AWS's).
    #[arg(long)]
    pub ecs_endpoint: Option<String>,

    /// AWS region (default: aws-config's chain). A container's `awslogs-region` wins for its streams.
    #[arg(long)]
    pub region: Option<String>,
}

/// Why `ecs-bridge logs` failed.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("{0:?} is not ecsservice/NAME or ecstask/NAME")]
    BadObject(String),
    #[error("cannot read the kubeconfig: {0}")]
    KubeConfig(#[source] kube::config::InferConfigError),
    #[error("cannot build a Kubernetes client: {0}")]
    KubeClient(#[source] kube::Error),
    #[error("{kind}/{name} not found in namespace {namespace}")]
    NotFound { kind: &'static str, name: String, namespace: String },
    #[error("cannot read {kind}/{name}: {source}")]
    Kube {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot list the tasks in ECS: {0}")]
    Ecs(#[from] EcsReadError),
    #[error("no container named {container:?} in the task definitions of {object} (containers: {known})")]
    NoSuchContainer { container: String, object: String, known: String },
    #[error("cannot read the logs: {0}")]
    Logs(#[source] SourceError),
}

/// The object whose logs are read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Service(String),
    Task(String),
}

impl Target {
    fn parse(object: &str) -> Result<Self, LogsError> {
        let bad = || LogsError::BadObject(object.to_owned());
        let (kind, name) = object.split_once('/').ok_or_else(bad)?;
        if name.is_empty() || name.contains('/') {
            return Err(bad());
        }
        match kind.to_ascii_lowercase().as_str() {
            "ecsservice" | "ecsservices" | "ecssvc" => Ok(Self::Service(name.to_owned())),
            "ecstask" | "ecstasks" => Ok(Self::Task(name.to_owned())),
            _ => Err(bad()),
        }
    }
}

/// Where an object's tasks are: the cluster, the tasks, and for a service
/// the names to list new ones by.
struct Tasks {
    cluster: String,
    service: Option<String>,
    arns: Vec<String>,
    fallback_definition: Option<String>,
}

async fn object_tasks(client: &kube::Client, namespace: &str, target: &Target) -> Result<Tasks, LogsError> {
    match target {
        Target::Service(name) => {
            let api: Api<EcsService> = Api::namespaced(client.clone(), namespace);
            let obj = api.get_opt(name).await.map_err(|source| LogsError::Kube {
                kind: "ecsservice",
                name: name.clone(),
                source,
            })?;
            let obj = obj.ok_or_else(|| LogsError::NotFound {
                kind: "ecsservice",
                name: name.clone(),
                namespace: namespace.to_owned(),
            })?;
            Ok(Tasks {
                cluster: obj.spec.cluster.clone(),
                service: Some(obj.service_name()),
                arns: Vec::new(),
                fallback_definition: None,
            })
        }
        Target::Task(name) => {
            let api: Api<EcsTask> = Api::namespaced(client.clone(), namespace);
            let obj = api.get_opt(name).await.map_err(|source| LogsError::Kube {
                kind: "ecstask",
                name: name.clone(),
                source,
            })?;
            let obj = obj.ok_or_else(|| LogsError::NotFound {
                kind: "ecstask",
                name: name.clone(),
                namespace: namespace.to_owned(),
            })?;
            let status = obj.status.clone().unwrap_or_default();
            let arns = status.attempts.iter().flat_map(|a| a.tasks.iter().map(|t| t.task_arn.clone())).collect();
            Ok(Tasks {
                cluster: obj.spec.cluster.clone(),
                service: None,
                arns,
                fallback_definition: status.task_definition_arn.clone(),
            })
        }
    }
}

/// What one run of the command keeps between reads: the clients, the task
/// definitions looked up, the streams and where each was left.
struct Reader {
    ecs: aws_sdk_ecs::Client,
    sdk_config: aws_config::SdkConfig,
    logs: BTreeMap<Option<String>, SdkLogs>,
    definitions: BTreeMap<String, Vec<ContainerLog>>,
    streams: BTreeMap<LogStream, Option<String>>,
    noted: BTreeSet<String>,
    container: Option<String>,
    start_ms: Option<i64>,
}

impl Reader {
    fn logs_for(&mut self, region: Option<&str>) -> SdkLogs {
        let key = region.map(str::to_owned);
        let sdk_config = &self.sdk_config;
        self.logs
            .entry(key)
            .or_insert_with(|| {
                let mut builder = aws_sdk_cloudwatchlogs::config::Builder::from(sdk_config);
                if let Some(region) = region {
                    builder = builder.region(aws_sdk_cloudwatchlogs::config::Region::new(region.to_owned()));
                }
                SdkLogs::new(aws_sdk_cloudwatchlogs::Client::from_conf(builder.build()))
            })
            .clone()
    }

    /// Adds the streams of `tasks` not seen yet; says once on stderr which
    /// containers have no awslogs output to read.
    async fn discover(&mut self, object: &str, tasks: &Tasks) -> Result<(), LogsError> {
        let arns = match &tasks.service {
            Some(service) => tasks::service_tasks(&self.ecs, &tasks.cluster, service).await?,
            None => tasks.arns.clone(),
        };
        let known: BTreeSet<&str> = self.streams.keys().map(|s| s.source.as_str()).collect();
        let fresh: Vec<String> = arns
            .into_iter()
            .filter(|arn| !known.iter().any(|k| k.split('/').next() == Some(tasks::task_id(arn))))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let described =
            tasks::describe(&self.ecs, &tasks.cluster, &fresh, tasks.fallback_definition.as_deref()).await?;
        for task in &described {
            let Some(definition) = &task.task_definition else { continue };
            if !self.definitions.contains_key(definition) {
                let containers = tasks::containers(&self.ecs, definition).await?;
                self.definitions.insert(definition.clone(), containers);
            }
        }
        if let Some(container) = &self.container {
            let names = tasks::container_names(self.definitions.values());
            if !names.is_empty() && !names.contains(container) {
                return Err(LogsError::NoSuchContainer {
                    container: container.clone(),
                    object: object.to_owned(),
                    known: names.into_iter().collect::<Vec<_>>().join(", "),
                });
            }
        }
        for task in described {
            self.add_streams(&task);
        }
        Ok(())
    }

    fn add_streams(&mut self, task: &TaskRef) {
        let Some(definition) = &task.task_definition else { return };
        let containers = self.definitions.get(definition).cloned().unwrap_or_default();
        let (streams, without) = tasks::streams_of(task, &containers, self.container.as_deref());
        for container in without {
            if self.noted.insert(format!("{definition}/{container}")) {
                eprintln!(
                    "ecs-bridge: container {container} of {definition} does not log with awslogs (and an awslogs-stream-prefix); its output is not in CloudWatch Logs"
                );
            }
        }
        for stream in streams {
            self.streams.entry(stream).or_insert(None);
        }
    }

    /// Reads every stream to its end from where it was left; the new lines, interleaved.
    async fn read(&mut self) -> Result<Vec<Line>, LogsError> {
        let mut batches = Vec::new();
        let streams: Vec<(LogStream, Option<String>)> =
            self.streams.iter().map(|(s, t)| (s.clone(), t.clone())).collect();
        for (stream, mut token) in streams {
            let logs = self.logs_for(stream.region.as_deref());
            let mut lines = Vec::new();
            loop {
                let page = match logs.read(&stream.group, &stream.name, self.start_ms, token.as_deref()).await {
                    Ok(page) => page,
                    Err(SourceError::Missing { .. }) => break,
                    Err(err) => return Err(LogsError::Logs(err)),
                };
                let done = page.events.is_empty() || page.next.is_none() || page.next == token;
                lines.extend(page.events.into_iter().map(|(timestamp, message)| Line {
                    timestamp,
                    source: stream.source.clone(),
                    message,
                }));
                if page.next.is_some() {
                    token = page.next;
                }
                if done {
                    break;
                }
            }
            self.streams.insert(stream, token);
            batches.push(lines);
        }
        Ok(interleave(batches))
    }
}

/// Runs `ecs-bridge logs`.
pub async fn run(args: LogsArgs) -> Result<(), LogsError> {
    let target = Target::parse(&args.object)?;
    crate::tls::install_tls_provider();
    let config = kube::Config::infer().await.map_err(LogsError::KubeConfig)?;
    let namespace = args.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config).map_err(LogsError::KubeClient)?;
    let tasks = object_tasks(&client, &namespace, &target).await?;

    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &args.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &args.ecs_endpoint {
        loader = loader.endpoint_url(endpoint.clone());
    }
    let sdk_config = loader.load().await;
    let start_ms = args.since.map(|since| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        i64::try_from(now.saturating_sub(since).as_millis()).unwrap_or(i64::MAX)
    });
    let mut reader = Reader {
        ecs: aws_sdk_ecs::Client::new(&sdk_config),
        sdk_config,
        logs: BTreeMap::new(),
        definitions: BTreeMap::new(),
        streams: BTreeMap::new(),
        noted: BTreeSet::new(),
        container: args.container.clone(),
        start_ms,
    };
    reader.discover(&args.object, &tasks).await?;
    if reader.streams.is_empty() && !args.follow {
        eprintln!("ecs-bridge: {} has no task with awslogs output in ECS", args.object);
    }
    let mut polls = 0u32;
    loop {
        for line in reader.read().await? {
            println!("{}", line.render());
        }
        if !args.follow {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_POLL).await;
        polls += 1;
        if polls.is_multiple_of(REDISCOVER_EVERY) {
            let tasks = match &target {
                Target::Service(_) => tasks.clone_names(),
                Target::Task(_) => object_tasks(&client, &namespace, &target).await?,
            };
            reader.discover(&args.object, &tasks).await?;
        }
    }
}

impl Tasks {
    /// A service's tasks are listed from ECS each time: the names suffice.
    fn clone_names(&self) -> Self {
        Self {
            cluster: self.cluster.clone(),
            service: self.service.clone(),
            arns: Vec::new(),
            fallback_definition: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_as_kubectl_names_them() {
        assert_eq!(Target::parse("ecsservice/web").ok(), Some(Target::Service("web".to_owned())));
        assert_eq!(Target::parse("ecssvc/web").ok(), Some(Target::Service("web".to_owned())));
        assert_eq!(Target::parse("EcsTask/job").ok(), Some(Target::Task("job".to_owned())));
        for bad in ["web", "pod/web", "ecsservice/", "ecstask/a/b"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
