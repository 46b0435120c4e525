//! The Docker Engine, as the emulator's task runtime uses it: a typed
//! [`ContainerSpec`] in, container ids, exit codes and host ports out, over
//! the Engine API (`DOCKER_HOST` honoured, else the local socket) through
//! `bollard`, with the API version negotiated so Debian's older engines
//! answer. This floor knows nothing of ECS: the agent above it turns task
//! definitions into specs and container facts into task state.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ListContainersOptions, RemoveContainerOptions, StopContainerOptions,
    WaitContainerOptions,
};
use bollard::query_parameters::{LogsOptions, StatsOptions};
use futures::StreamExt;

/// What went wrong talking to the engine, with its message.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("no Docker Engine answers at {host}: {source} (start one with `dockerd`, or set DOCKER_HOST)")]
    Unreachable { host: String, source: bollard::errors::Error },
    #[error("{0}")]
    Engine(#[from] bollard::errors::Error),
}

/// A published port: the container's port, the host port asked for (`None`:
/// one the engine picks from its ephemeral range), its protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    pub container_port: u16,
    pub host_port: Option<u16>,
    pub protocol: String,
}

/// How a container is networked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    /// The default bridge, publishing `ports` on `publish_ip`.
    Bridge { ports: Vec<PortSpec>, publish_ip: String },
    /// The host's network stack.
    Host,
    /// No network.
    None,
    /// A user-defined network (created if missing), publishing nothing.
    Named(String),
    /// Another container's network namespace (`container:<id>`).
    SharedWith(String),
}

/// A container's health check, run by the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSpec {
    /// `["CMD-SHELL", "..."]` or `["CMD", ...]`, as Docker (and ECS) take it.
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: i64,
    pub start_period: Duration,
}

/// A container's health as the engine judges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// What a mount attaches at `target` in the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountSource {
    /// A host path (bind mount).
    Host(String),
    /// A Docker volume by name (made by [`Engine::ensure_volume`]).
    Volume(String),
}

/// One mount of a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSpec {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

/// A resource limit (`ulimit`): its name (`nofile`, `nproc`, …) and limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// One container to create and start.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub command: Option<Vec<String>>,
    pub entry_point: Option<Vec<String>>,
    /// `NAME=value` pairs.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub labels: HashMap<String, String>,
    pub network: Network,
    pub memory_mib: Option<i64>,
    pub memory_reservation_mib: Option<i64>,
    pub cpu_shares: Option<i64>,
    pub health: Option<HealthSpec>,
    pub mounts: Vec<MountSpec>,
    /// Containers (by name) whose volumes this one mounts, and whether read-only.
    pub volumes_from: Vec<(String, bool)>,
    pub ulimits: Vec<Ulimit>,
    pub read_only_root: bool,
}

/// A port as the engine published it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub container_port: u16,
    pub host_ip: String,
    pub host_port: u16,
    pub protocol: String,
}

/// A container as the engine describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspected {
    pub running: bool,
    /// The image's id (`sha256:…`).
    pub image_id: String,
    /// RFC 3339 times, as the engine gives them.
    pub created: String,
    pub started: Option<String>,
    pub finished: Option<String>,
    /// Its IPv4 address on each network it is attached to, by network name.
    pub addresses: HashMap<String, Ipv4Addr>,
}

/// A connection to one engine.
#[derive(Clone, Debug)]
pub struct Engine {
    docker: Docker,
    /// User-defined networks by name: their ids, once made or found.
    networks: Arc<tokio::sync::Mutex<HashMap<String, String>>>,
}

impl Engine {
    /// Connects as `docker` would (`DOCKER_HOST`, else the local socket) and
    /// checks that the engine answers.
    pub async fn connect() -> Result<Self, DockerError> {
        let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let unreachable = |source| DockerError::Unreachable { host: host.clone(), source };
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        docker.ping().await.map_err(unreachable)?;
        Ok(Self { docker, networks: Arc::default() })
    }

    /// Whether the image is here, pulling it when not. The error is the
    /// engine's message.
    pub async fn ensure_image(&self, image: &str) -> Result<(), String> {
        if self.docker.inspect_image(image).await.is_ok() {
            return Ok(());
        }
        let options = CreateImageOptions { from_image: Some(image.to_owned()), ..Default::default() };
        let mut pull = self.docker.create_image(Some(options), None, None);
        while let Some(progress) = pull.next().await {
            progress.map_err(|e| e.to_string())?;
        }
        self.docker.inspect_image(image).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// Creates and starts a container; its id.
    pub async fn run(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let mut port_bindings = HashMap::new();
        let mut exposed = Vec::new();
        let network_mode = match &spec.network {
            Network::Bridge { ports, publish_ip } => {
                for p in ports {
                    let key = format!("{}/{}", p.container_port, p.protocol);
                    exposed.push(key.clone());
                    let binding = PortBinding {
                        host_ip: Some(publish_ip.clone()),
                        host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
                    };
                    port_bindings.insert(key, Some(vec![binding]));
                }
                "bridge".to_owned()
            }
            Network::Host => "host".to_owned(),
            Network::None => "none".to_owned(),
            Network::Named(name) => self.network(name).await?,
            Network::SharedWith(id) => format!("container:{id}"),
        };
        let mib = |m: Option<i64>| m.map(|m| m * 1024 * 1024);
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: spec.command.clone(),
            entrypoint: spec.entry_point.clone(),
            env: Some(spec.env.clone()),
            working_dir: spec.working_dir.clone(),
            user: spec.user.clone(),
            labels: Some(spec.labels.clone()),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck: spec.health.as_ref().map(|h| {
                let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
                bollard::models::HealthConfig {
                    test: Some(h.test.clone()),
                    interval: Some(nanos(h.interval)),
                    timeout: Some(nanos(h.timeout)),
                    retries: Some(h.retries),
                    start_period: Some(nanos(h.start_period)),
                    start_interval: None,
                }
            }),
            host_config: Some(HostConfig {
                network_mode: Some(network_mode),
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                memory: mib(spec.memory_mib),
                memory_reservation: mib(spec.memory_reservation_mib),
                cpu_shares: spec.cpu_shares,
                mounts: (!spec.mounts.is_empty()).then(|| spec.mounts.iter().map(mount).collect()),
                volumes_from: (!spec.volumes_from.is_empty()).then(|| {
                    spec.volumes_from
                        .iter()
                        .map(|(from, ro)| format!("{from}:{}", if *ro { "ro" } else { "rw" }))
                        .collect()
                }),
                ulimits: (!spec.ulimits.is_empty()).then(|| {
                    spec.ulimits
                        .iter()
                        .map(|u| bollard::models::ResourcesUlimits {
                            name: Some(u.name.clone()),
                            soft: Some(u.soft),
                            hard: Some(u.hard),
                        })
                        .collect()
                }),
                readonly_rootfs: spec.read_only_root.then_some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions { name: Some(spec.name.clone()), ..Default::default() };
        let created = self.docker.create_container(Some(options), body).await?;
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            let _ = self.remove(&created.id).await;
            return Err(e.into());
        }
        Ok(created.id)
    }

    /// Makes the Docker volume `name` (with `labels`) unless it exists.
    pub async fn ensure_volume(&self, name: &str, labels: HashMap<String, String>) -> Result<(), DockerError> {
        if self.docker.inspect_volume(name).await.is_ok() {
            return Ok(());
        }
        let request = bollard::models::VolumeCreateRequest {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..Default::default()
        };
        self.docker.create_volume(request).await?;
        Ok(())
    }

    /// Removes a volume; a missing one is not an error.
    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        let options = bollard::query_parameters::RemoveVolumeOptions { force: true };
        match self.docker.remove_volume(name, Some(options)).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The names of the volumes carrying `label=value`.
    pub async fn labelled_volumes(&self, label: &str, value: &str) -> Result<Vec<String>, DockerError> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{label}={value}")])]);
        let options = bollard::query_parameters::ListVolumesOptions { filters: Some(filters) };
        let found = self.docker.list_volumes(Some(options)).await?;
        Ok(found.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect())
    }

    /// The id of the user-defined bridge network `name`, made if missing.
    /// Docker lets two networks share a name (and then refuses the name as
    /// ambiguous), so makes are serialised here and an existing network of
    /// that name, the oldest of several, is used by id.
    pub async fn network(&self, name: &str) -> Result<String, DockerError> {
        let mut known = self.networks.lock().await;
        if let Some(id) = known.get(name) {
            return Ok(id.clone());
        }
        let filters = HashMap::from([("name".to_owned(), vec![name.to_owned()])]);
        let options = bollard::query_parameters::ListNetworksOptions { filters: Some(filters) };
        let mut found: Vec<_> = self
            .docker
            .list_networks(Some(options))
            .await?
            .into_iter()
            .filter(|n| n.name.as_deref() == Some(name))
            .filter_map(|n| Some((n.created.map(|c| c.to_string()).unwrap_or_default(), n.id?)))
            .collect();
        found.sort();
        let id = match found.into_iter().next() {
            Some((_, id)) => id,
            None => {
                let request = bollard::models::NetworkCreateRequest {
                    name: name.to_owned(),
                    labels: Some(HashMap::from([(LABEL_OWNER.to_owned(), "true".to_owned())])),
                    ..Default::default()
                };
                self.docker.create_network(request).await?.id
            }
        };
        known.insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// The network's gateway: the host's address on it, which its
    /// containers reach (and host-network containers too, as it is one of
    /// the host's own).
    pub async fn gateway(&self, network: &str) -> Result<Option<IpAddr>, DockerError> {
        let id = if network == "bridge" { network.to_owned() } else { self.network(network).await? };
        let inspect = self.docker.inspect_network(&id, None).await?;
        let configs = inspect.ipam.and_then(|i| i.config).unwrap_or_default();
        let listed = configs.iter().filter_map(|c| c.gateway.as_deref()?.parse().ok()).find(IpAddr::is_ipv4);
        // Some engines list no gateway for the default bridge (only its
        // subnet); Docker's IPAM gives the gateway the subnet's first address.
        let derived = || configs.iter().filter_map(|c| first_host(c.subnet.as_deref()?)).map(IpAddr::V4).next();
        Ok(listed.or_else(derived))
    }

    /// A container's IPv4 address on `network`.
    pub async fn address(&self, id: &str, network: &str) -> Result<Option<Ipv4Addr>, DockerError> {
        Ok(self.inspect(id).await?.addresses.get(network).copied())
    }

    /// What the engine knows of a container that its metadata shows.
    pub async fn inspect(&self, id: &str) -> Result<Inspected, DockerError> {
        let inspect = self.docker.inspect_container(id, None).await?;
        let networks = inspect.network_settings.and_then(|n| n.networks).unwrap_or_default();
        let addresses =
            networks.into_iter().filter_map(|(name, n)| Some((name, n.ip_address.as_deref()?.parse().ok()?))).collect();
        let state = inspect.state.unwrap_or_default();
        // The engine's zero time means "not yet".
        let time = |t: Option<String>| t.filter(|t| !t.starts_with("0001-"));
        Ok(Inspected {
            running: state.running.unwrap_or(false),
            image_id: inspect.image.unwrap_or_default(),
            created: inspect.created.map(|d| d.to_string()).unwrap_or_default(),
            started: time(state.started_at),
            finished: time(state.finished_at),
            addresses,
        })
    }

    /// One sample of a container's resource use, in the Engine API's own
    /// shape (`GET /containers/{id}/stats`), with the previous CPU sample
    /// filled so utilisation can be computed from it.
    pub async fn stats(&self, id: &str) -> Result<serde_json::Value, DockerError> {
        let options = StatsOptions { stream: false, one_shot: false };
        let mut stream = self.docker.stats(id, Some(options));
        match stream.next().await {
            Some(Ok(stats)) => Ok(serde_json::to_value(stats).unwrap_or_default()),
            Some(Err(e)) => Err(e.into()),
            None => Ok(serde_json::Value::Null),
        }
    }

    /// The ports a running container published.
    pub async fn bindings(&self, id: &str) -> Result<Vec<Binding>, DockerError> {
        let inspect = self.docker.inspect_container(id, None).await?;
        let ports = inspect.network_settings.and_then(|n| n.ports).unwrap_or_default();
        let mut out = Vec::new();
        for (key, bindings) in ports {
            let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let Ok(container_port) = port.parse() else { continue };
            for b in bindings.unwrap_or_default() {
                let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse().ok()) else { continue };
                let host_ip = b.host_ip.unwrap_or_default();
                out.push(Binding { container_port, host_ip, host_port, protocol: protocol.to_owned() });
            }
        }
        out.sort_by_key(|b| (b.container_port, b.host_port));
        Ok(out)
    }

    /// The container's stdout and stderr, line by line as they come, until
    /// it exits: `on_lines` gets each batch of complete lines, after the
    /// first `skip` lines (already seen by an earlier follower).
    pub async fn follow_output(&self, id: &str, mut skip: usize, mut on_lines: impl FnMut(Vec<String>)) {
        let options =
            LogsOptions { follow: true, stdout: true, stderr: true, tail: "all".into(), ..Default::default() };
        let mut stream = self.docker.logs(id, Some(options));
        // Per stream, the end of a line that has not come yet.
        let (mut out, mut err) = (String::new(), String::new());
        while let Some(Ok(chunk)) = stream.next().await {
            let (pending, bytes) = match chunk {
                LogOutput::StdErr { message } => (&mut err, message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => (&mut out, message),
                LogOutput::StdIn { .. } => continue,
            };
            pending.push_str(&String::from_utf8_lossy(&bytes));
            let mut lines = Vec::new();
            while let Some(end) = pending.find('\n') {
                lines.push(pending[..end].trim_end_matches('\r').to_owned());
                pending.drain(..=end);
            }
            let skipped = skip.min(lines.len());
            skip -= skipped;
            if lines.len() > skipped {
                on_lines(lines.split_off(skipped));
            }
        }
        let mut rest: Vec<String> = [out, err].into_iter().filter(|s| !s.is_empty()).collect();
        let skipped = skip.min(rest.len());
        if rest.len() > skipped {
            on_lines(rest.split_off(skipped));
        }
    }

    /// Whether a container runs, and its exit code once it has exited.
    pub async fn exit_status(&self, id: &str) -> Result<(bool, Option<i64>), DockerError> {
        let state = self.docker.inspect_container(id, None).await?.state.unwrap_or_default();
        let running = state.running.unwrap_or(false);
        Ok((running, if running { None } else { state.exit_code }))
    }

    /// The engine's verdict on a container's health check (`None`: it has none).
    pub async fn health(&self, id: &str) -> Result<Option<Health>, DockerError> {
        use bollard::models::HealthStatusEnum as S;
        let inspect = self.docker.inspect_container(id, None).await?;
        let status = inspect.state.and_then(|s| s.health).and_then(|h| h.status);
        Ok(match status {
            Some(S::HEALTHY) => Some(Health::Healthy),
            Some(S::UNHEALTHY) => Some(Health::Unhealthy),
            Some(S::STARTING) => Some(Health::Starting),
            Some(S::NONE | S::EMPTY) | None => None,
        })
    }

    /// Waits for the container to exit; its exit code.
    pub async fn wait(&self, id: &str) -> Result<i64, DockerError> {
        let options = WaitContainerOptions { condition: "not-running".into() };
        let mut stream = self.docker.wait_container(id, Some(options));
        match stream.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            // A non-zero exit arrives as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(e.into()),
            None => Ok(self.exit_status(id).await?.1.unwrap_or(0)),
        }
    }

    /// SIGTERM, then SIGKILL after `grace` (what `docker stop -t` does).
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), DockerError> {
        let t = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptions { t: Some(t), signal: None };
        match self.docker.stop_container(id, Some(options)).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a container, running or not; a missing one is not an error.
    pub async fn remove(&self, id: &str) -> Result<(), DockerError> {
        let options = RemoveContainerOptions { force: true, ..Default::default() };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The containers carrying `label=value`, by their value of `key` (their
    /// id when they have none).
    pub async fn labelled_by(
        &self,
        label: &str,
        value: &str,
        key: &str,
    ) -> Result<HashMap<String, String>, DockerError> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{label}={value}")])]);
        let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
        let found = self.docker.list_containers(Some(options)).await?;
        Ok(found
            .into_iter()
            .filter_map(|c| {
                let id = c.id?;
                let name = c.labels.and_then(|mut l| l.remove(key)).unwrap_or_else(|| id.clone());
                Some((name, id))
            })
            .collect())
    }

    /// The ids of every container (running or not) carrying `label=value`.
    pub async fn labelled(&self, label: &str, value: &str) -> Result<Vec<String>, DockerError> {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{label}={value}")])]);
        let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
        let found = self.docker.list_containers(Some(options)).await?;
        Ok(found.into_iter().filter_map(|c| c.id).collect())
    }
}

fn mount(m: &MountSpec) -> bollard::models::Mount {
    let (typ, source) = match &m.source {
        MountSource::Host(path) => (bollard::models::MountType::BIND, path),
        MountSource::Volume(name) => (bollard::models::MountType::VOLUME, name),
    };
    bollard::models::Mount {
        target: Some(m.target.clone()),
        source: Some(source.clone()),
        typ: Some(typ),
        read_only: Some(m.read_only),
        ..Default::default()
    }
}

/// The label on every network the emulator creates.
pub const LABEL_OWNER: &str = "dev.ecs-bridge.emulator";

/// The first host address of an IPv4 subnet (`172.17.0.0/16` → `172.17.0.1`),
/// which Docker's default IPAM makes a bridge network's gateway.
fn first_host(subnet: &str) -> Option<Ipv4Addr> {
    let (address, length) = subnet.split_once('/')?;
    let address: Ipv4Addr = address.parse().ok()?;
    let length: u32 = length.parse().ok().filter(|l| *l <= 30)?;
    let mask = u32::MAX.checked_shl(32 - length).unwrap_or(0);
    Some(Ipv4Addr::from((u32::from(address) & mask) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridge_without_a_listed_gateway_uses_its_subnets_first_address() {
        assert_eq!(first_host("172.17.0.0/16"), Some(Ipv4Addr::new(172, 17, 0, 1)));
        assert_eq!(first_host("10.1.2.128/25"), Some(Ipv4Addr::new(10, 1, 2, 129)));
        assert_eq!(first_host("172.17.5.9/16"), Some(Ipv4Addr::new(172, 17, 0, 1)));
        assert_eq!(first_host("fd00::/64"), None);
        assert_eq!(first_host("10.0.0.0/31"), None);
        assert_eq!(first_host("garbage"), None);
    }
}
