//! A task's containers as the Docker engine gets them, as the ECS agent
//! would make them: the container definition with the task's overrides
//! (command, environment, cpu, memory), its secrets resolved into the
//! environment, its mount points on host paths or Docker volumes, ulimits,
//! ECS's labels, and the task definition's network mode.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::emulator::docker::{
    ContainerSpec, HealthSpec, LABEL_OWNER, MountSource, MountSpec, Network, PortSpec, Ulimit,
};
use crate::emulator::state::records::{ContainerDefinition, TaskDefinition, TaskEntry};
use crate::emulator::state::secrets::Secrets;
use crate::emulator::timings::Timings;

/// ECS's default `stopTimeout`: SIGKILL this long after SIGTERM.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// One container of a task, ready to start.
#[derive(Clone, Debug)]
pub struct PlannedContainer {
    pub name: String,
    pub spec: ContainerSpec,
    pub stop_timeout: Duration,
    /// `dependsOn`: containers of the task and the condition each must meet
    /// before this one starts.
    pub depends_on: Vec<(String, Condition)>,
    /// `logConfiguration` with the `awslogs` driver.
    pub awslogs: Option<AwsLogs>,
}

/// Where the awslogs driver sends a container's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsLogs {
    pub group: String,
    /// `<awslogs-stream-prefix>/<container>/<task id>` (without a prefix,
    /// the task id and container name).
    pub stream: String,
    /// `awslogs-create-group: "true"`.
    pub create_group: bool,
}

fn awslogs(def: &ContainerDefinition, name: &str, task_id: &str) -> Option<AwsLogs> {
    let config = def.other.get("logConfiguration")?;
    if config.get("logDriver").and_then(Value::as_str) != Some("awslogs") {
        return None;
    }
    let option = |key: &str| config.get("options").and_then(|o| o.get(key)).and_then(Value::as_str);
    let stream = match option("awslogs-stream-prefix") {
        Some(prefix) => format!("{prefix}/{name}/{task_id}"),
        None => format!("{task_id}/{name}"),
    };
    Some(AwsLogs {
        group: option("awslogs-group")?.to_owned(),
        stream,
        create_group: option("awslogs-create-group").is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// A `dependsOn` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The dependency has started.
    Start,
    /// It has exited, with any code.
    Complete,
    /// It has exited with code 0.
    Success,
    /// Its health check passes.
    Healthy,
}

impl Condition {
    fn parse(text: &str) -> Self {
        match text {
            "COMPLETE" => Self::Complete,
            "SUCCESS" => Self::Success,
            "HEALTHY" => Self::Healthy,
            _ => Self::Start,
        }
    }
}

/// A task's containers, in definition order.
#[derive(Clone, Debug)]
pub struct TaskPlan {
    pub cluster: String,
    pub task_id: String,
    pub task_arn: String,
    /// In definition order; with awsvpc the ones after the first share its
    /// network namespace.
    pub containers: Vec<PlannedContainer>,
    /// The Docker volumes the containers mount, made before they start.
    pub volumes: Vec<PlannedVolume>,
    /// What the task needs and cannot have (a secret that resolves to
    /// nothing, a volume type no engine here provides): the container and
    /// ECS's reason. The task fails to start with it.
    pub unmet: Option<(String, String)>,
}

/// A Docker volume a task mounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedVolume {
    pub name: String,
    pub labels: HashMap<String, String>,
    /// Scope `task` (and volumes with no host path): made for this task and
    /// removed with it. Otherwise `shared`: made once, kept, as ECS keeps it.
    pub task_scoped: bool,
}

/// How a task definition volume is mounted, or why it cannot be.
fn volume_source(
    td: &TaskDefinition,
    name: &str,
    task_id: &str,
    labels: &HashMap<String, String>,
    volumes: &mut Vec<PlannedVolume>,
) -> Result<MountSource, String> {
    let volume = td.volumes.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(name));
    let Some(volume) = volume else { return Err(format!("CannotCreateContainerError: volume {name} is not defined")) };
    for (member, kind) in [("efsVolumeConfiguration", "EFS"), ("fsxWindowsFileServerVolumeConfiguration", "FSx")] {
        if volume.get(member).is_some() {
            return Err(format!(
                "ResourceInitializationError: failed to invoke {kind} utils commands to set up {kind} volumes: {kind} volumes are not available on the emulator's Docker runtime"
            ));
        }
    }
    if let Some(path) = volume.pointer("/host/sourcePath").and_then(Value::as_str).filter(|p| !p.is_empty()) {
        return Ok(MountSource::Host(path.to_owned()));
    }
    let config = volume.get("dockerVolumeConfiguration");
    let shared = config.and_then(|c| c.get("scope")).and_then(Value::as_str) == Some("shared");
    let docker_name = if shared { name.to_owned() } else { format!("ecs-{task_id}-{name}") };
    if !volumes.iter().any(|v| v.name == docker_name) {
        let mut volume_labels: HashMap<String, String> = config
            .and_then(|c| c.get("labels"))
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        if !shared {
            volume_labels.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        volumes.push(PlannedVolume { name: docker_name.clone(), labels: volume_labels, task_scoped: !shared });
    }
    Ok(MountSource::Volume(docker_name))
}

/// `ulimits` as Docker takes them.
fn ulimits(def: &ContainerDefinition) -> Vec<Ulimit> {
    let list = def.other.get("ulimits").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    list.iter()
        .filter_map(|u| {
            Some(Ulimit {
                name: u.get("name")?.as_str()?.to_owned(),
                soft: u.get("softLimit")?.as_i64()?,
                hard: u.get("hardLimit")?.as_i64()?,
            })
        })
        .collect()
}

/// `secrets` resolved into `NAME=value` pairs, or the first one that does not resolve.
fn secrets(def: &ContainerDefinition, store: &Secrets) -> Result<Vec<(String, String)>, String> {
    let list = def.other.get("secrets").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    list.iter()
        .filter_map(|s| Some((s.get("name")?.as_str()?, s.get("valueFrom")?.as_str()?)))
        .map(|(name, from)| store.resolve(from).map(|v| (name.to_owned(), v)).map_err(|e| e.0))
        .collect()
}

/// Where bridge-mode ports are published and whose containers they are.
#[derive(Clone, Debug)]
pub struct Placement<'a> {
    pub publish_ip: &'a str,
    /// This emulator's id, on every container it starts.
    pub owner: &'a str,
    /// For the health checks' interval (the emulator's `--health-check-interval-seconds`).
    pub timings: &'a Timings,
    /// What `secrets[].valueFrom` resolves to.
    pub secrets: &'a Secrets,
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    let list = value?.as_array()?;
    Some(list.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
}

fn text(def: &ContainerDefinition, member: &str) -> Option<String> {
    def.other.get(member).and_then(Value::as_str).map(str::to_owned)
}

/// `name=value` pairs of an `environment` list, later ones winning.
fn merge_env(into: &mut Vec<(String, String)>, list: &[Value]) {
    for kv in list {
        let (Some(name), Some(value)) =
            (kv.get("name").and_then(Value::as_str), kv.get("value").and_then(Value::as_str))
        else {
            continue;
        };
        into.retain(|(n, _)| n != name);
        into.push((name.to_owned(), value.to_owned()));
    }
}

/// A Docker container name from the agent's pattern
/// (`ecs-<family>-<revision>-<container>-<task id>`), in Docker's alphabet.
pub fn container_name(td: &TaskDefinition, container: &str, task_id: &str) -> String {
    let raw = format!("ecs-{}-{}-{container}-{task_id}", td.family, td.revision);
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '-' }).collect()
}

/// The container's `healthCheck` for the engine, with ECS's defaults
/// (timeout 5 s, 3 retries, no start period) and the emulator's interval.
fn health(def: &ContainerDefinition, timings: &Timings) -> Option<HealthSpec> {
    let check = def.health_check.as_ref().filter(|c| !c.command.is_empty())?;
    let seconds = |s: Option<i32>, default: i32| Duration::from_secs(u64::try_from(s.unwrap_or(default)).unwrap_or(0));
    let interval = u64::try_from(timings.check_interval(check.interval)).unwrap_or(1000);
    Some(HealthSpec {
        test: check.command.clone(),
        interval: Duration::from_millis(interval),
        timeout: seconds(check.timeout, 5),
        retries: i64::from(check.retries.unwrap_or(3).max(1)),
        start_period: seconds(check.start_period, 0),
    })
}

/// The containers of `entry` (of `td`) in `cluster`.
pub fn plan(cluster: &str, entry: &TaskEntry, td: &TaskDefinition, at: &Placement) -> TaskPlan {
    let task_id = entry.id().to_owned();
    let overrides: &[Value] =
        entry.task.overrides.get("containerOverrides").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let mode = td.effective_network_mode();
    let mut volumes = Vec::new();
    let mut unmet = None;
    let task_labels = HashMap::from([
        ("com.amazonaws.ecs.task-arn".to_owned(), entry.task.task_arn.clone()),
        (LABEL_OWNER.to_owned(), at.owner.to_owned()),
    ]);
    let containers = td
        .container_definitions
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let name = def.name().to_owned();
            let over = overrides.iter().find(|o| o.get("name").and_then(Value::as_str) == Some(&name));
            let mut env = Vec::new();
            merge_env(&mut env, &def.environment);
            if let Some(list) = over.and_then(|o| o.get("environment")).and_then(Value::as_array) {
                merge_env(&mut env, list);
            }
            match secrets(def, at.secrets) {
                Ok(values) => {
                    for (n, v) in values {
                        env.retain(|(e, _)| e != &n);
                        env.push((n, v));
                    }
                }
                Err(reason) => {
                    unmet.get_or_insert((name.clone(), reason));
                }
            }
            let mut mounts = Vec::new();
            for mp in &def.mount_points {
                let (Some(volume), Some(target)) = (&mp.source_volume, &mp.container_path) else { continue };
                match volume_source(td, volume, &task_id, &task_labels, &mut volumes) {
                    Ok(source) => mounts.push(MountSpec {
                        source,
                        target: target.clone(),
                        read_only: mp.read_only.unwrap_or(false),
                    }),
                    Err(reason) => {
                        unmet.get_or_insert((name.clone(), reason));
                    }
                }
            }
            let volumes_from = def
                .volumes_from
                .iter()
                .filter_map(|v| {
                    let source = v.get("sourceContainer")?.as_str()?;
                    let read_only = v.get("readOnly").and_then(Value::as_bool).unwrap_or(false);
                    Some((container_name(td, source, &task_id), read_only))
                })
                .collect();
            let command = strings(over.and_then(|o| o.get("command"))).or_else(|| strings(def.other.get("command")));
            let number = |member: &str| over.and_then(|o| o.get(member)).and_then(Value::as_i64);
            let network = match mode {
                "host" => Network::Host,
                "none" => Network::None,
                "awsvpc" if i == 0 => Network::Named(format!("ecs-bridge-{cluster}")),
                // Filled with the first container's id when it runs.
                "awsvpc" => Network::SharedWith(String::new()),
                _ => Network::Bridge {
                    ports: def
                        .port_mappings
                        .iter()
                        .filter_map(|pm| {
                            Some(PortSpec {
                                container_port: u16::try_from(pm.container_port?).ok()?,
                                host_port: pm.host_port.and_then(|h| u16::try_from(h).ok()).filter(|h| *h > 0),
                                protocol: pm.protocol.clone().unwrap_or_else(|| "tcp".into()),
                            })
                        })
                        .collect(),
                    publish_ip: at.publish_ip.to_owned(),
                },
            };
            // The definition's dockerLabels, under ECS's own (which win).
            let mut labels: HashMap<String, String> = def
                .other
                .get("dockerLabels")
                .and_then(Value::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            labels.extend([
                ("com.amazonaws.ecs.cluster".to_owned(), cluster.to_owned()),
                ("com.amazonaws.ecs.task-arn".to_owned(), entry.task.task_arn.clone()),
                ("com.amazonaws.ecs.container-name".to_owned(), name.clone()),
                ("com.amazonaws.ecs.task-definition-family".to_owned(), td.family.clone()),
                ("com.amazonaws.ecs.task-definition-version".to_owned(), td.revision.to_string()),
                (LABEL_OWNER.to_owned(), at.owner.to_owned()),
            ]);
            let cpu = number("cpu").unwrap_or(i64::from(def.cpu));
            let stop_timeout =
                def.other.get("stopTimeout").and_then(Value::as_u64).map_or(DEFAULT_STOP_TIMEOUT, Duration::from_secs);
            let spec = ContainerSpec {
                name: container_name(td, &name, &task_id),
                image: def.image.clone().unwrap_or_default(),
                command,
                entry_point: strings(def.other.get("entryPoint")),
                env: env.into_iter().map(|(n, v)| format!("{n}={v}")).collect(),
                working_dir: text(def, "workingDirectory"),
                user: text(def, "user"),
                labels,
                network,
                memory_mib: number("memory").or(def.memory.map(i64::from)),
                memory_reservation_mib: number("memoryReservation").or(def.memory_reservation.map(i64::from)),
                // CPU units are Docker's relative shares (2 at least).
                cpu_shares: (cpu > 0).then_some(cpu.max(2)),
                health: health(def, at.timings),
                mounts,
                volumes_from,
                ulimits: ulimits(def),
                read_only_root: def.other.get("readonlyRootFilesystem").and_then(Value::as_bool).unwrap_or(false),
            };
            let depends_on = def
                .depends_on
                .iter()
                .flatten()
                .map(|d| (d.container_name.clone(), Condition::parse(&d.condition)))
                .collect();
            let awslogs = awslogs(def, &name, &task_id);
            PlannedContainer { name, spec, stop_timeout, depends_on, awslogs }
        })
        .collect();
    TaskPlan { cluster: cluster.to_owned(), task_arn: entry.task.task_arn.clone(), task_id, containers, volumes, unmet }
}
