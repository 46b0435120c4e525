//! What dev mode prints once everything runs: where each part is, and the exact `kubectl`
//! and `aws` lines to try it with. The `kubeconfig:`, `processes:` and `emulator:` lines
//! are also read by the dev-mode tests, so keep their shape.

use super::cluster::Cluster;
use super::emulator::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use super::{DevArgs, Running};

/// Prints the summary on stdout.
pub fn print(args: &DevArgs, running: &Running) {
    let emulator = running.emulator.endpoint();
    println!("ecs-bridge dev is running.");
    let kubectl = match &running.cluster {
        Cluster::Local(control_plane) => {
            let kubeconfig = control_plane.kubeconfig_path().display();
            let (etcd_pid, apiserver_pid) = control_plane.pids();
            println!("  cluster:    local control plane {}", control_plane.server_url());
            println!("  kubeconfig: {kubeconfig}");
            println!("  processes:  kube-apiserver pid {apiserver_pid}, etcd pid {etcd_pid}");
            // The kubectl built next to the server: the machine's own may be outside the
            // supported version skew.
            format!("{} --kubeconfig {kubeconfig}", control_plane.binaries().kubectl.display())
        }
        Cluster::Existing { server_url, context, .. } => {
            let context = context.as_deref().unwrap_or("in-cluster configuration");
            println!("  cluster:    {server_url} (current kubeconfig context: {context})");
            if args.namespace.is_none() {
                println!(
                    "              every namespace's ECS objects are reconciled into the emulator; \
                     pass --namespace to keep to one"
                );
            }
            "kubectl".to_owned()
        }
    };
    println!("  CRDs:       {}", describe_crds(running));
    let runtime = match running.emulator.container_owner() {
        Some(owner) => format!("tasks run as Docker containers labelled dev.ecs-bridge.emulator={owner}"),
        None => "tasks simulated, no containers".to_owned(),
    };
    println!(
        "  emulator:   {emulator} (ECS API, region {}, cluster \"default\" created; \
         {} simulated EC2 instances per new cluster; {runtime})",
        args.region, args.ec2_capacity
    );
    println!(
        "  console:    {} (clusters, services' deployment timelines, tasks, in a browser)",
        running.emulator.console_url()
    );
    println!(
        "  controller: reconciling {}; metrics http://{}/metrics",
        args.namespace.as_deref().map_or("all namespaces".to_owned(), |ns| format!("namespace {ns}")),
        running.controller.metrics_addr()
    );
    let aws = format!(
        "AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY} aws --region {} --endpoint-url {emulator}",
        args.region
    );
    let namespace = args.namespace.as_deref().map(|ns| format!(" -n {ns}")).unwrap_or_default();
    println!();
    println!("Try it, from the repository root:");
    println!("  {kubectl}{namespace} apply -f examples/");
    println!("  {kubectl}{namespace} wait --for=condition=Ready ecsservices --all --timeout=120s");
    println!("  {kubectl}{namespace} get ecs");
    println!("  {aws} ecs list-task-definitions");
    println!("  {aws} ecs list-services --cluster demo");
    println!("Press Ctrl-C to stop.");
}

fn describe_crds(running: &Running) -> String {
    let mut parts = Vec::new();
    if !running.crds.installed.is_empty() {
        parts.push(format!("installed {}", running.crds.installed.join(", ")));
    }
    if !running.crds.present.is_empty() {
        parts.push(format!("already there: {}", running.crds.present.join(", ")));
    }
    parts.join("; ")
}
