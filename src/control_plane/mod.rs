//! A local Kubernetes control plane (etcd + kube-apiserver, nothing else) for the operator's
//! integration tests and for `ecs-bridge dev`: the way controller-runtime's envtest runs one.
//!
//! It owns starting both servers on free loopback ports with a temporary data directory and
//! freshly generated certificates, writing a kubeconfig, waiting for `/readyz`, installing
//! CRDs, and stopping both processes by their own PIDs. There is no scheduler, kubelet or
//! controller-manager: nothing runs pods and nothing garbage-collects owned objects.
//!
//! The binaries come from `tests/control-plane/install.sh` (see [`binaries`]).

pub mod binaries;
pub mod crds;
mod error;
pub mod kubeconfig;
pub mod manifests;
mod pki;
mod process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use binaries::Binaries;
pub use error::ControlPlaneError;
pub use process::is_alive;

use pki::Pki;
use process::{ServerProcess, Watchdog};

/// How to start a control plane; `StartOptions::default()` finds the binaries in the cache
/// and installs no CRDs.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The binaries to run; `None` means [`Binaries::locate`].
    pub binaries: Option<Binaries>,
    /// A directory of CRD YAML files to install before the control plane is handed out.
    pub crds_dir: Option<PathBuf>,
    /// How long kube-apiserver may take to report ready: generous, as a loaded two-core
    /// machine can be slow.
    pub ready_timeout: Duration,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions { binaries: None, crds_dir: None, ready_timeout: Duration::from_secs(180) }
    }
}

/// A running control plane. Dropping it kills both servers at once and removes the data
/// directory; [`ControlPlane::stop`] shuts them down gracefully instead.
pub struct ControlPlane {
    client: kube::Client,
    server_url: String,
    kubeconfig: PathBuf,
    binaries: Binaries,
    crds: Vec<String>,
    ready_after: Duration,
    // Dropped in this order: the API server before its etcd, the watchdog once both are
    // gone, the data directory last.
    apiserver: ServerProcess,
    etcd: ServerProcess,
    _watchdog: Watchdog,
    dir: tempfile::TempDir,
}

/// Start-up gives up after this many port races (see [`ControlPlaneError::is_port_race`]).
const LAUNCH_ATTEMPTS: u32 = 3;

impl ControlPlane {
    /// Starts etcd and kube-apiserver, waits until the API server is ready, then installs
    /// the CRDs of `options.crds_dir` and waits until they are Established. Prints the time
    /// it took on stderr.
    pub async fn start(options: StartOptions) -> Result<ControlPlane, ControlPlaneError> {
        let started = Instant::now();
        let binaries = match options.binaries {
            Some(binaries) => binaries,
            None => Binaries::locate()?,
        };
        let dir = tempfile::Builder::new()
            .prefix("ecs-bridge-control-plane-")
            .tempdir()
            .map_err(|e| ControlPlaneError::io("cannot create the control plane's data directory", e))?;
        let pki = Pki::generate(&dir.path().join("pki"))?;
        let kubeconfig = dir.path().join("kubeconfig");

        let mut attempt = 1;
        let launched = loop {
            match launch(&binaries, dir.path(), attempt, &pki, &kubeconfig, options.ready_timeout).await {
                Err(e) if e.is_port_race() && attempt < LAUNCH_ATTEMPTS => attempt += 1,
                result => break result?,
            }
        };
        let ready_after = started.elapsed();
        eprintln!(
            "control-plane: kube-apiserver {} ready in {:.1}s (kubeconfig {})",
            launched.server_url,
            ready_after.as_secs_f64(),
            kubeconfig.display()
        );

        let mut control_plane = ControlPlane {
            client: launched.client,
            server_url: launched.server_url,
            kubeconfig,
            binaries,
            crds: Vec::new(),
            ready_after,
            apiserver: launched.apiserver,
            etcd: launched.etcd,
            _watchdog: launched.watchdog,
            dir,
        };
        if let Some(crds_dir) = &options.crds_dir {
            control_plane.crds = crds::install_from_dir(&control_plane.client, crds_dir).await?;
            eprintln!(
                "control-plane: {} CRD(s) from {} established after {:.1}s",
                control_plane.crds.len(),
                crds_dir.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(control_plane)
    }

    /// A client for the admin user, bound to the runtime that started the control plane.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// A new admin client bound to the current tokio runtime.
    pub async fn new_client(&self) -> Result<kube::Client, ControlPlaneError> {
        kubeconfig::client(&self.kubeconfig).await
    }

    /// The kubeconfig (admin user, context `ecs-bridge-local`) for kubectl, helm and kube-rs.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The binaries in use, including the kubectl that matches the server's version.
    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    /// Names of the CRDs installed at start.
    pub fn crds(&self) -> &[String] {
        &self.crds
    }

    /// Time from [`ControlPlane::start`] to a ready API server (before the CRDs).
    pub fn ready_after(&self) -> Duration {
        self.ready_after
    }

    /// The data directory (certificates, etcd data, server logs, kubeconfig).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// PIDs of etcd and kube-apiserver, in that order.
    pub fn pids(&self) -> (u32, u32) {
        (self.etcd.pid(), self.apiserver.pid())
    }

    /// Stops the API server, then etcd, each with SIGTERM and a grace period before SIGKILL,
    /// and removes the data directory. Blocks until both processes are reaped.
    pub fn stop(mut self) {
        self.apiserver.stop(Duration::from_secs(15));
        self.etcd.stop(Duration::from_secs(10));
    }
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("server_url", &self.server_url)
            .field("kubeconfig", &self.kubeconfig)
            .field("pids", &self.pids())
            .finish_non_exhaustive()
    }
}

struct Launched {
    client: kube::Client,
    server_url: String,
    etcd: ServerProcess,
    apiserver: ServerProcess,
    watchdog: Watchdog,
}

/// One attempt at starting both servers on fresh ports and waiting for `/readyz`.
async fn launch(
    binaries: &Binaries,
    dir: &Path,
    attempt: u32,
    pki: &Pki,
    kubeconfig_path: &Path,
    ready_timeout: Duration,
) -> Result<Launched, ControlPlaneError> {
    let [etcd_port, peer_port, apiserver_port] = process::free_ports::<3>()?;
    let etcd_url = format!("http://127.0.0.1:{etcd_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let server_url = format!("https://127.0.0.1:{apiserver_port}");
    let path = |p: &Path| p.display().to_string();

    let etcd_args = vec![
        "--name=default".to_string(),
        format!("--data-dir={}", path(&dir.join(format!("etcd-{attempt}")))),
        format!("--listen-client-urls={etcd_url}"),
        format!("--advertise-client-urls={etcd_url}"),
        format!("--listen-peer-urls={peer_url}"),
        format!("--initial-advertise-peer-urls={peer_url}"),
        format!("--initial-cluster=default={peer_url}"),
        // The data is thrown away with the directory: durability buys nothing here.
        "--unsafe-no-fsync=true".to_string(),
        "--log-level=warn".to_string(),
    ];
    let mut etcd = ServerProcess::spawn("etcd", &binaries.etcd, &etcd_args, dir.join("etcd.log"))?;

    let apiserver_args = vec![
        format!("--etcd-servers={etcd_url}"),
        // Nothing outside this machine reaches the server; the endpoint reconciler would
        // insist on a non-loopback address for the `kubernetes` Service.
        "--advertise-address=127.0.0.1".to_string(),
        "--endpoint-reconciler-type=none".to_string(),
        "--bind-address=127.0.0.1".to_string(),
        format!("--secure-port={apiserver_port}"),
        format!("--cert-dir={}", path(&dir.join("apiserver-certs"))),
        format!("--tls-cert-file={}", path(&pki.server_cert)),
        format!("--tls-private-key-file={}", path(&pki.server_key)),
        format!("--client-ca-file={}", path(&pki.ca_cert)),
        "--service-cluster-ip-range=10.0.0.0/24".to_string(),
        "--allow-privileged=true".to_string(),
        "--authorization-mode=RBAC".to_string(),
        "--service-account-issuer=https://kubernetes.default.svc".to_string(),
        format!("--service-account-key-file={}", path(&pki.service_account_pub)),
        format!("--service-account-signing-key-file={}", path(&pki.service_account_key)),
        // No token controller runs, so the ServiceAccount admission plugin would reject pods.
        "--disable-admission-plugins=ServiceAccount".to_string(),
    ];
    let mut apiserver = ServerProcess::spawn(
        "kube-apiserver",
        &binaries.kube_apiserver,
        &apiserver_args,
        dir.join("kube-apiserver.log"),
    )?;
    let watchdog = Watchdog::spawn(dir, &[apiserver.pid(), etcd.pid()])?;

    kubeconfig::write(kubeconfig_path, &server_url, pki)?;
    let client = kubeconfig::client(kubeconfig_path).await?;

    let deadline = Instant::now() + ready_timeout;
    let mut last;
    loop {
        etcd.check_running()?;
        apiserver.check_running()?;
        let request = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(|e| ControlPlaneError::io("cannot build the /readyz request", std::io::Error::other(e)))?;
        match client.request_text(request).await {
            Ok(body) if body.trim() == "ok" => break,
            Ok(body) => last = body,
            Err(e) => last = e.to_string(),
        }
        if Instant::now() > deadline {
            return Err(ControlPlaneError::NotReady {
                waited: ready_timeout,
                last,
                log: apiserver.log().to_path_buf(),
                log_tail: apiserver.log_tail(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Launched { client, server_url, etcd, apiserver, watchdog })
}
