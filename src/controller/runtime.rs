//! Wires the controller together: HTTP endpoints, leader election, and the
//! reconcilers, which run only while this replica leads.
//!
//! Leadership terms are strict: when the Lease is lost the reconcilers are
//! aborted at once (their work is crash-safe by design), and on shutdown
//! the Lease is released only after they have stopped, so two replicas
//! never write at the same time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Config as ControllerConfigKube, ReconcileRequest, applier, trigger_self};
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::utils::CancelableJoinHandle;
use kube::runtime::{Predicate, WatchStreamExt, predicates, watcher};
use kube::{Resource, ResourceExt as _};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::backoff::RetryPolicy;
use super::context::{Clock, Context, KindState, SystemClock};
use super::error::ReconcileError;
use super::leader::{LeaderElection, LeaseSettings};
use super::metrics::Metrics;
use super::startup::{self, StartupError};
use super::{capacity_provider, cluster, http, service, task, task_definition};
use crate::api::{EcsCapacityProvider, EcsCluster, EcsService, EcsTask, EcsTaskDefinition};
use crate::ecs::{DiscoveryApi, EcsApi, EcsCapacityProviderApi, EcsServiceApi, EcsTaskApi, ScalingApi};

/// Everything `start` needs besides the clients.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Watch one namespace; `None` = all.
    pub namespace: Option<String>,
    /// Reconciles in flight per kind.
    pub concurrency: u16,
    /// Interval at which healthy objects are reconciled again.
    pub resync: Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` are served (port 0 = any).
    pub metrics_addr: SocketAddr,
    /// Lease settings; `None` = this replica always leads (single replica, dev mode).
    pub leader_election: Option<LeaseSettings>,
    /// This replica's name (events' reporting instance, Lease holder).
    pub identity: String,
    /// Back-off after failed reconciles.
    pub retry: RetryPolicy,
    /// How long in-flight reconciles may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// How often an ECS service is polled while its rollout is in progress.
    pub rollout_poll: Duration,
    /// How an EcsTask's running tasks are polled, and its back-off between attempts.
    pub task: task::plan::Policy,
}

impl ControllerConfig {
    /// Defaults for an in-process controller (tests, dev mode).
    pub fn new(identity: impl Into<String>) -> Self {
        Self {
            namespace: None,
            concurrency: 8,
            resync: Duration::from_secs(300),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            leader_election: None,
            identity: identity.into(),
            retry: RetryPolicy::default(),
            shutdown_grace: Duration::from_secs(20),
            rollout_poll: Duration::from_secs(5),
            task: task::plan::Policy::default(),
        }
    }
}

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("cannot serve metrics on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running controller.
pub struct ControllerHandle {
    metrics_addr: SocketAddr,
    metrics: Metrics,
    leader: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    supervisor: JoinHandle<()>,
    elector: Option<JoinHandle<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

impl ControllerHandle {
    /// The bound address of the HTTP endpoints.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether this replica leads right now.
    pub fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    /// A receiver that follows leadership changes.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    /// Stops gracefully: reconcilers finish (up to the grace period), then the
    /// Lease is released and the endpoints close.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        let _ = self.supervisor.await;
        if let Some(elector) = self.elector {
            let _ = elector.await;
        }
        let _ = self.server.await;
    }

    /// Stops like a crash: everything is aborted, the Lease is not released.
    pub fn abort(self) {
        self.supervisor.abort();
        if let Some(elector) = &self.elector {
            elector.abort();
        }
        self.server.abort();
    }

    /// Resolves when the controller stops by itself (it only does on shutdown).
    pub async fn stopped(&mut self) {
        let _ = (&mut self.supervisor).await;
    }
}

/// Checks the environment, then starts the endpoints, the leader election
/// and the reconcilers. Returns once everything is running.
pub async fn start<
    E: EcsApi + EcsServiceApi + EcsTaskApi + EcsCapacityProviderApi + ScalingApi + DiscoveryApi + Clone,
>(
    config: ControllerConfig,
    client: kube::Client,
    ecs: E,
    metrics: Metrics,
) -> Result<ControllerHandle, StartError> {
    startup::check_crds(&client, config.namespace.as_deref()).await?;
    startup::check_ecs(&ecs).await?;

    let listener = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .map_err(|source| StartError::Bind { addr: config.metrics_addr, source })?;
    let metrics_addr =
        listener.local_addr().map_err(|source| StartError::Bind { addr: config.metrics_addr, source })?;
    let (stop, stop_rx) = watch::channel(false);
    // The checks passed: from here on this replica can serve, as leader or standby.
    let ready = Arc::new(AtomicBool::new(true));
    let server = tokio::spawn(http::serve(listener, metrics.clone(), ready, stop_rx.clone()));

    let (leader_tx, leader_rx) = watch::channel(false);
    let (elector_stop, elector_stop_rx) = watch::channel(false);
    let elector = match &config.leader_election {
        Some(settings) => {
            let election = LeaderElection::new(client.clone(), settings.clone());
            Some(tokio::spawn(election.run(leader_tx.clone(), elector_stop_rx)))
        }
        None => {
            leader_tx.send_replace(true);
            None
        }
    };
    let supervisor = tokio::spawn(supervise(config, client, ecs, metrics.clone(), leader_tx, stop_rx, elector_stop));
    Ok(ControllerHandle { metrics_addr, metrics, leader: leader_rx, stop, supervisor, elector, server })
}

/// Runs the reconcilers during each leadership term.
async fn supervise<
    E: EcsApi + EcsServiceApi + EcsTaskApi + EcsCapacityProviderApi + ScalingApi + DiscoveryApi + Clone,
>(
    config: ControllerConfig,
    client: kube::Client,
    ecs: E,
    metrics: Metrics,
    leader_tx: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
    elector_stop: watch::Sender<bool>,
) {
    let mut leader = leader_tx.subscribe();
    loop {
        tokio::select! {
            _ = until(&mut leader, true) => {}
            _ = until(&mut stop, true) => break,
        }
        metrics.set_leader(true);
        tracing::info!(identity = %config.identity, "leading: starting the reconcilers");
        let (graceful_tx, graceful_rx) = oneshot::channel::<()>();
        let mut reconcilers =
            tokio::spawn(run_reconcilers(config.clone(), client.clone(), ecs.clone(), metrics.clone(), graceful_rx));
        let stopping = tokio::select! {
            _ = until(&mut leader, false) => {
                tracing::warn!("lost the lease: stopping the reconcilers now");
                reconcilers.abort();
                let _ = reconcilers.await;
                false
            }
            _ = until(&mut stop, true) => {
                let _ = graceful_tx.send(());
                if tokio::time::timeout(config.shutdown_grace, &mut reconcilers).await.is_err() {
                    tracing::warn!("reconcilers did not finish within the grace period; aborting them");
                    reconcilers.abort();
                    let _ = reconcilers.await;
                }
                true
            }
            result = &mut reconcilers => {
                tracing::error!(?result, "the reconcilers stopped unexpectedly; restarting them");
                tokio::time::sleep(Duration::from_secs(1)).await;
                false
            }
        };
        metrics.set_leader(false);
        if stopping {
            break;
        }
    }
    // Only now may the Lease go: no reconcile of ours is running any more.
    elector_stop.send_replace(true);
    if config.leader_election.is_none() {
        leader_tx.send_replace(false);
    }
}

/// Resolves when `flag` is `want`, or when its sender is gone (which, for
/// the stop flag, means the handle was dropped: stop too).
async fn until(flag: &mut watch::Receiver<bool>, want: bool) {
    let _ = flag.wait_for(|value| *value == want).await.map(|_| ());
}

fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// One leadership term: the EcsService cache and the four controllers.
async fn run_reconcilers<
    E: EcsApi + EcsServiceApi + EcsTaskApi + EcsCapacityProviderApi + ScalingApi + DiscoveryApi,
>(
    config: ControllerConfig,
    client: kube::Client,
    ecs: E,
    metrics: Metrics,
    graceful: oneshot::Receiver<()>,
) {
    let namespace = config.namespace.as_deref();
    // The EcsService controller's watch feeds this store (see `service::run`).
    let (services, services_writer) = reflector::store::<EcsService>();

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ctx = Arc::new(Context {
        client: client.clone(),
        ecs,
        clock,
        metrics,
        reporter: Reporter { controller: "ecs-bridge".to_owned(), instance: Some(config.identity.clone()) },
        resync: config.resync,
        task_definitions: KindState::new(task_definition::KIND, config.retry),
        clusters: KindState::new(cluster::KIND, config.retry),
        capacity_providers: KindState::new(capacity_provider::KIND, config.retry),
        services,
    });

    let (graceful_td, graceful_rest) = split_signal(graceful);
    let (graceful_cl, graceful_rest) = split_signal(graceful_rest);
    let (graceful_svc, graceful_rest) = split_signal(graceful_rest);
    let (graceful_task, graceful_cp) = split_signal(graceful_rest);
    let controller_config = ControllerConfigKube::default().concurrency(config.concurrency);

    let task_definitions = drive(
        scoped::<EcsTaskDefinition>(&client, namespace),
        reflector::store(),
        futures::stream::empty(),
        reconcile_task_definition,
        task_definition_error_policy,
        ctx.clone(),
        controller_config.clone(),
        graceful_td,
        task_definition::KIND,
    );
    // Clusters also wake when their services' or tasks' counts move, so
    // `kubectl get ecs` follows ECS within seconds, not at the resync.
    let (cluster_store, cluster_writer) = reflector::store::<EcsCluster>();
    // The EcsService controller's watch hands the EcsServices whose counts
    // moved on to the clusters' triggers: one watch of EcsService, not two.
    let (seen_tx, seen_rx) = tokio::sync::mpsc::unbounded_channel::<EcsService>();
    let seen = futures::stream::unfold(seen_rx, |mut rx| async move { rx.recv().await.map(|s| (s, rx)) });
    let occupants = cluster::occupants::triggers(seen, scoped::<EcsTask>(&client, namespace), cluster_store.clone());
    let clusters = drive(
        scoped::<EcsCluster>(&client, namespace),
        (cluster_store, cluster_writer),
        occupants,
        reconcile_cluster,
        cluster_error_policy,
        ctx.clone(),
        controller_config.clone(),
        graceful_cl,
        cluster::KIND,
    );
    // Providers being deleted wake when an EcsCluster applied a new spec,
    // which may have released them.
    let (provider_store, provider_writer) = reflector::store::<EcsCapacityProvider>();
    let released = capacity_provider::triggers(scoped::<EcsCluster>(&client, namespace), provider_store.clone());
    let capacity_providers = drive(
        scoped::<EcsCapacityProvider>(&client, namespace),
        (provider_store, provider_writer),
        released,
        reconcile_capacity_provider,
        capacity_provider_error_policy,
        ctx.clone(),
        controller_config,
        graceful_cp,
        capacity_provider::KIND,
    );

    let services = service::run(
        ctx.clone(),
        services_writer,
        service::ServiceSettings { rollout_poll: config.rollout_poll, resync: config.resync },
        service::Watchers { seen: seen_tx, signal: cluster::occupants::service_signal },
        config.namespace.clone(),
        config.concurrency,
        config.retry,
        graceful_svc,
    );
    let tasks =
        task::run(ctx.clone(), config.namespace.clone(), config.concurrency, config.retry, config.task, graceful_task);
    futures::future::join5(task_definitions, clusters, services, tasks, capacity_providers).await;
}

/// One controller: watch `api`, reconcile on spec (generation) and finalizer
/// changes only (our own status writes do not trigger; deletion bumps the
/// generation, so it does), and on the requests of `also` (other objects'
/// changes mapped to this kind, resolved against `cache`, which the watch of
/// `api` fills), until `graceful` fires and in-flight reconciles end.
///
/// Built on [`applier`] rather than `Controller`, whose stream-filtering
/// constructor is behind an unstable kube feature.
#[allow(clippy::too_many_arguments)]
async fn drive<K, E, Fut, S>(
    api: Api<K>,
    cache: (reflector::Store<K>, reflector::store::Writer<K>),
    also: S,
    reconcile: fn(Arc<K>, Arc<Context<E>>) -> Fut,
    error_policy: fn(Arc<K>, &ReconcileError, Arc<Context<E>>) -> Action,
    ctx: Arc<Context<E>>,
    config: ControllerConfigKube,
    graceful: oneshot::Receiver<()>,
    kind: &'static str,
) where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    E: EcsApi,
    Fut: std::future::Future<Output = Result<Action, ReconcileError>> + Send + 'static,
    S: futures::Stream<Item = Result<ReconcileRequest<K>, watcher::Error>> + Send + 'static,
{
    let (store, writer) = cache;
    let trigger = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|o| o.managed_fields_mut().clear())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicates::generation.combine(predicates::finalizers), Default::default());
    let queue = futures::stream::select(trigger_self(trigger, ()), also).take_until(async move {
        let _ = graceful.await;
    });
    applier(
        move |obj, ctx| {
            CancelableJoinHandle::spawn(reconcile(obj, ctx).in_current_span(), &tokio::runtime::Handle::current())
        },
        error_policy,
        ctx,
        store,
        queue,
        config,
    )
    .for_each(|result| async move { log_result(kind, result) })
    .await;
}

/// One shutdown signal for two controllers.
fn split_signal(signal: oneshot::Receiver<()>) -> (oneshot::Receiver<()>, oneshot::Receiver<()>) {
    let (a_tx, a_rx) = oneshot::channel();
    let (b_tx, b_rx) = oneshot::channel();
    tokio::spawn(async move {
        let _ = signal.await;
        let _ = a_tx.send(());
        let _ = b_tx.send(());
    });
    (a_rx, b_rx)
}

fn log_result<K: Resource, E: std::fmt::Debug>(kind: &'static str, result: Result<(ObjectRef<K>, Action), E>) {
    match result {
        Ok((object, _)) => tracing::debug!(kind, object = %object, "reconciled"),
        Err(err) => tracing::debug!(kind, error = ?err, "controller event"),
    }
}

fn object_key<K: Resource>(obj: &K) -> String {
    format!(
        "{}/{}",
        obj.meta().namespace.as_deref().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default()
    )
}

async fn reconcile_task_definition<E: EcsApi>(
    obj: Arc<EcsTaskDefinition>,
    ctx: Arc<Context<E>>,
) -> Result<Action, ReconcileError> {
    let key = object_key(obj.as_ref());
    let span = tracing::info_span!("reconcile", kind = task_definition::KIND, object = %key, generation = obj.metadata.generation);
    ctx.task_definitions
        .observe(&ctx.metrics, &key, task_definition::reconcile(obj.clone(), ctx.clone()))
        .instrument(span)
        .await
}

fn task_definition_error_policy<E: EcsApi>(
    obj: Arc<EcsTaskDefinition>,
    err: &ReconcileError,
    ctx: Arc<Context<E>>,
) -> Action {
    ctx.task_definitions.retry_after(&ctx.metrics, &object_key(obj.as_ref()), err)
}

async fn reconcile_cluster<E: EcsApi>(obj: Arc<EcsCluster>, ctx: Arc<Context<E>>) -> Result<Action, ReconcileError> {
    let key = object_key(obj.as_ref());
    let span =
        tracing::info_span!("reconcile", kind = cluster::KIND, object = %key, generation = obj.metadata.generation);
    ctx.clusters.observe(&ctx.metrics, &key, cluster::reconcile(obj.clone(), ctx.clone())).instrument(span).await
}

fn cluster_error_policy<E: EcsApi>(obj: Arc<EcsCluster>, err: &ReconcileError, ctx: Arc<Context<E>>) -> Action {
    ctx.clusters.retry_after(&ctx.metrics, &object_key(obj.as_ref()), err)
}

async fn reconcile_capacity_provider<E: EcsApi + EcsCapacityProviderApi>(
    obj: Arc<EcsCapacityProvider>,
    ctx: Arc<Context<E>>,
) -> Result<Action, ReconcileError> {
    let key = object_key(obj.as_ref());
    let span = tracing::info_span!("reconcile", kind = capacity_provider::KIND, object = %key, generation = obj.metadata.generation);
    ctx.capacity_providers
        .observe(&ctx.metrics, &key, capacity_provider::reconcile(obj.clone(), ctx.clone()))
        .instrument(span)
        .await
}

fn capacity_provider_error_policy<E: EcsApi>(
    obj: Arc<EcsCapacityProvider>,
    err: &ReconcileError,
    ctx: Arc<Context<E>>,
) -> Action {
    ctx.capacity_providers.retry_after(&ctx.metrics, &object_key(obj.as_ref()), err)
}
