//! The Helm chart installed by the real `helm` into the real test API server (no kubelet
//! runs, so its images never start: the objects are what is checked), and its RBAC proven by
//! use: the controller runs in this process as the chart's ServiceAccount (impersonated),
//! with the flags of the chart's Deployment, through a full create → Ready → delete cycle of
//! all three kinds (the EcsTask rules are checked by name); what the chart does not grant is refused.

use std::path::Path;
use std::time::Duration;

use clap::Parser;
use ecs_bridge::api::{EcsCluster, EcsService, EcsTaskDefinition};
use ecs_bridge::controller::{ControllerArgs, ControllerConfig, RetryPolicy};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;

use crate::operator::{apply, condition, ecs_client, emulator, events, start_controller, until_gone};
use crate::support::{self, TestNamespace, poll_until};

/// The chart's `ecs-bridge controller` flags, parsed by the binary's own flag definitions.
#[derive(Parser)]
struct ControllerCommand {
    #[command(flatten)]
    args: ControllerArgs,
}

/// The chart's `ecs-bridge emulator` flags, parsed by the binary's own flag definitions.
#[derive(Parser)]
struct EmulatorCommand {
    #[command(flatten)]
    args: ecs_bridge::emulator::EmulatorArgs,
}

fn chart() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/ecs-bridge").display().to_string()
}

/// `helm install <release> charts/ecs-bridge` into `namespace`, with `--set` overrides.
fn install(release: &str, namespace: &str, sets: &[&str]) -> String {
    let mut command = support::helm(namespace);
    command.args(["install", release, &chart()]);
    for set in sets {
        command.args(["--set", set]);
    }
    support::run_ok(&mut command)
}

/// The controller container's arguments and environment variable names.
fn controller_container(deployment: &Deployment) -> (Vec<String>, Vec<String>) {
    let pod = deployment.spec.template.spec.as_ref().expect("a pod template");
    let container = &pod.containers[0];
    let env = container.env.iter().flatten().map(|e| e.name.clone()).collect();
    (container.args.clone().unwrap_or_default(), env)
}

/// Parses the Deployment's `controller ...` arguments with the real flags; panics, naming
/// the flag, if the chart passes one the binary does not know.
fn parse_controller_args(args: &[String]) -> ControllerArgs {
    assert_eq!(args.first().map(String::as_str), Some("controller"), "{args:?}");
    let argv = std::iter::once("ecs-bridge controller").chain(args[1..].iter().map(String::as_str));
    ControllerCommand::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("the chart's controller flags {args:?} do not parse: {e}"))
        .args
}

/// A client that is the chart's ServiceAccount, with the groups a real token carries.
async fn as_service_account(namespace: &str, name: &str) -> kube::Client {
    let group = format!("system:serviceaccounts:{namespace}");
    support::client_as(
        &format!("system:serviceaccount:{namespace}:{name}"),
        &["system:serviceaccounts", &group, "system:authenticated"],
    )
    .await
}

/// The runtime configuration the chart's flags describe, made test-friendly: a free metrics
/// port, short Lease timings, fast back-off. The Lease's name and namespace stay the chart's.
fn config_from_chart(args: &ControllerArgs, identity: &str) -> ControllerConfig {
    let mut config = args.config().expect("the chart's flags make a valid configuration");
    config.identity = identity.to_owned();
    config.metrics_addr = ([127, 0, 0, 1], 0).into();
    config.retry = RetryPolicy { base: Duration::from_millis(200), max: Duration::from_secs(5) };
    config.shutdown_grace = Duration::from_secs(10);
    if let Some(lease) = &mut config.leader_election {
        lease.identity = identity.to_owned();
        lease.lease_duration = Duration::from_secs(4);
        lease.renew_deadline = Duration::from_secs(3);
        lease.retry_period = Duration::from_millis(500);
    }
    config
}

/// The HTTP status of a refused request.
fn refused<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> u16 {
    match result {
        Err(kube::Error::Api(status)) => status.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn has_rule(rules: &[PolicyRule], group: &str, resource: &str, verb: &str) -> bool {
    rules.iter().any(|r| {
        r.api_groups.iter().flatten().any(|g| g == group)
            && r.resources.iter().flatten().any(|x| x == resource)
            && r.verbs.iter().any(|v| v == verb)
    })
}

async fn ready<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K: HasConditions,
{
    poll_until(&format!("{name} is Ready"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        match condition(obj.conditions(), "Ready") {
            Some((status, _, _)) if status == "True" => Ok(()),
            other => Err(format!("Ready: {other:?}")),
        }
    })
    .await
}

/// The conditions of our kinds' status, for [`ready`].
trait HasConditions {
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition];
}

impl HasConditions for EcsTaskDefinition {
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
}

impl HasConditions for EcsService {
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
}

impl HasConditions for EcsCluster {
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
}

fn task_definition(name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": name},
        "spec": {
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{"name": "web", "image": "nginx:1.27", "essential": true}],
        },
    })
}

/// A Fargate service of `task_definition` in `cluster`, with no tasks: Ready needs no
/// scheduler, only the service and its completed deployment.
fn service(name: &str, cluster: &str, task_definition: &str) -> serde_json::Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsService",
        "metadata": {"name": name},
        "spec": {
            "cluster": cluster,
            "taskDefinitionRef": {"name": task_definition},
            "desiredCount": 0,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d4e5f60001"]}},
        },
    })
}

fn cluster(name: &str, cluster_name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsCluster",
        "metadata": {"name": name},
        "spec": {"clusterName": cluster_name, "tags": [{"key": "team", "value": "platform"}]},
    })
}

#[tokio::test]
async fn helm_install_creates_the_controller_emulator_rbac_and_services() {
    let TestNamespace { name: ns, client } = support::namespace("helm").await;
    let release = ns.clone();
    let full = format!("{release}-ecs-bridge");
    let notes = install(&release, &ns, &[]);
    assert!(notes.contains("kubectl apply -f examples/"), "NOTES.txt says what to run next:\n{notes}");

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let controller = deployments.get(&format!("{full}-controller")).await.expect("the controller Deployment");
    let spec = &controller.spec;
    assert_eq!(spec.replicas, Some(2), "two replicas with leader election");
    let pod = spec.template.spec.as_ref().expect("pod spec");
    assert_eq!(pod.service_account_name.as_deref(), Some(full.as_str()));
    let security = pod.containers[0].security_context.as_ref().expect("container security context");
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(pod.security_context.as_ref().and_then(|s| s.run_as_non_root), Some(true));
    let (args, env) = controller_container(&controller);
    let parsed = parse_controller_args(&args);
    assert_eq!(
        parsed.ecs_endpoint.as_deref(),
        Some(format!("http://{full}-emulator.{ns}.svc:4566").as_str()),
        "the controller drives the chart's emulator"
    );
    assert_eq!(parsed.lease_namespace.as_deref(), Some(ns.as_str()));
    assert!(parsed.leader_elect);
    assert!(parsed.namespace.is_none(), "all namespaces by default");
    for name in ["POD_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        assert!(env.iter().any(|e| e == name), "{name} missing from {env:?}");
    }
    let emulator_deployment = deployments.get(&format!("{full}-emulator")).await.expect("the emulator Deployment");
    let emulator_args =
        emulator_deployment.spec.template.spec.as_ref().expect("pod").containers[0].args.clone().unwrap_or_default();
    assert_eq!(emulator_args.first().map(String::as_str), Some("emulator"), "{emulator_args:?}");
    let argv = std::iter::once("ecs-bridge emulator").chain(emulator_args[1..].iter().map(String::as_str));
    let emulator_flags = EmulatorCommand::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("the chart's emulator flags {emulator_args:?} do not parse: {e}"))
        .args;
    assert_eq!(emulator_flags.listen.port(), 4566);
    // The emulator and the controller share a generated key from one Secret.
    let secret_name = format!("{full}-emulator-credentials");
    let secret = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), &ns)
        .get(&secret_name)
        .await
        .expect("the emulator's credentials Secret");
    let data = secret.data.expect("data");
    let key = String::from_utf8(data["access-key-id"].0.clone()).expect("text");
    assert!(key.starts_with("AKIA") && key.len() == 20, "an access key id: {key}");
    assert_eq!(data["secret-access-key"].0.len(), 40);
    let from_secret = |container: &k8s_openapi::api::core::v1::Container, var: &str| {
        container.env.iter().flatten().find(|e| e.name == var).and_then(|e| {
            let r = e.value_from.as_ref()?.secret_key_ref.as_ref()?;
            Some((r.name.clone(), r.key.clone()))
        })
    };
    let emulator_container = &emulator_deployment.spec.template.spec.as_ref().expect("pod").containers[0];
    let controller_pod = controller.spec.template.spec.as_ref().expect("pod");
    for (container, var, key) in [
        (emulator_container, "ECS_BRIDGE_EMULATOR_ACCESS_KEY_ID", "access-key-id"),
        (emulator_container, "ECS_BRIDGE_EMULATOR_SECRET_ACCESS_KEY", "secret-access-key"),
        (&controller_pod.containers[0], "AWS_ACCESS_KEY_ID", "access-key-id"),
        (&controller_pod.containers[0], "AWS_SECRET_ACCESS_KEY", "secret-access-key"),
    ] {
        assert_eq!(from_secret(container, var), Some((secret_name.clone(), key.to_owned())), "{var}");
    }
    assert_eq!(emulator_flags.ec2_capacity, 3, "EC2 examples get simulated instances on kind");

    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let emulator_service = services.get(&format!("{full}-emulator")).await.expect("the emulator Service");
    let port = &emulator_service.spec.as_ref().expect("spec").ports.as_ref().expect("ports")[0];
    assert_eq!((port.port, port.node_port), (4566, Some(30566)), "kind-config.yaml maps NodePort 30566");
    let metrics = services.get(&format!("{full}-metrics")).await.expect("the metrics Service");
    assert_eq!(metrics.spec.and_then(|s| s.ports).expect("ports")[0].port, 8080);

    Api::<ServiceAccount>::namespaced(client.clone(), &ns).get(&full).await.expect("the ServiceAccount");
    let role = Api::<ClusterRole>::all(client.clone()).get(&full).await.expect("the ClusterRole");
    let rules = role.rules.unwrap_or_default();
    assert!(has_rule(&rules, "ecs-bridge.dev", "ecsservices/status", "patch"));
    assert!(!has_rule(&rules, "ecs-bridge.dev", "ecsservices", "delete"));
    assert!(has_rule(&rules, "ecs-bridge.dev", "ecstasks", "delete"), "an EcsTask's TTL deletes it");
    assert!(has_rule(&rules, "ecs-bridge.dev", "ecstasks/status", "patch"));
    assert!(has_rule(&rules, "ecs-bridge.dev", "ecscapacityproviders/status", "patch"));
    let binding = Api::<ClusterRoleBinding>::all(client.clone()).get(&full).await.expect("the ClusterRoleBinding");
    let subject = &binding.subjects.expect("subjects")[0];
    assert_eq!((subject.name.as_str(), subject.namespace.as_deref()), (full.as_str(), Some(ns.as_str())));
    let leader_role = Api::<Role>::namespaced(client.clone(), &ns)
        .get(&format!("{full}-leader-election"))
        .await
        .expect("the leader-election Role");
    let lease_name = parsed.lease_name.clone();
    assert!(
        leader_role.rules.iter().flatten().any(|r| r.resource_names.iter().flatten().any(|n| *n == lease_name)),
        "the Role grants the Lease the controller uses ({lease_name}): {:?}",
        leader_role.rules
    );
    Api::<RoleBinding>::namespaced(client.clone(), &ns)
        .get(&format!("{full}-leader-election"))
        .await
        .expect("the leader-election RoleBinding");

    // RBAC by use: the controller as the ServiceAccount, configured by the chart's flags
    // (its Lease included), against a real emulator. The ClusterRole covers every namespace;
    // the controller watches only this one so as not to touch other tests' objects.
    let as_sa = as_service_account(&ns, &full).await;
    let ecs_emulator = emulator().await;
    let ecs = ecs_client(&ecs_emulator.endpoint());
    let mut config = config_from_chart(&parsed, "helm-replica");
    config.namespace = Some(ns.clone());
    let handle = start_controller(config, as_sa.clone(), &ecs_emulator.endpoint()).await;
    poll_until("the controller leads through the chart's Lease", || async {
        if handle.is_leader() { Ok(()) } else { Err("not leading yet") }
    })
    .await;
    let lease = Api::<Lease>::namespaced(client.clone(), &ns).get(&lease_name).await.expect("the Lease");
    assert_eq!(lease.spec.and_then(|s| s.holder_identity).as_deref(), Some("helm-replica"));

    let task_definitions: Api<EcsTaskDefinition> = Api::namespaced(client.clone(), &ns);
    let clusters: Api<EcsCluster> = Api::namespaced(client.clone(), &ns);
    let ecs_cluster = format!("{ns}-platform");
    apply(&task_definitions, "web", task_definition("web")).await;
    apply(&clusters, "platform", cluster("platform", &ecs_cluster)).await;
    ready(&task_definitions, "web").await;
    ready(&clusters, "platform").await;
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    apply(&services, "frontend", service("frontend", &ecs_cluster, "web")).await;
    ready(&services, "frontend").await;
    let ecs_service =
        ecs.describe_services().cluster(&ecs_cluster).services("frontend").send().await.expect("DescribeServices");
    let ecs_service = ecs_service.services().first().expect("the service exists in ECS");
    assert_eq!(ecs_service.status(), Some("ACTIVE"));
    assert!(ecs_service.task_definition().is_some_and(|td| td.ends_with("task-definition/web:1")), "{ecs_service:?}");
    let registered =
        ecs.describe_task_definition().task_definition("web:1").send().await.expect("the revision is registered");
    assert_eq!(registered.task_definition().and_then(|t| t.family()), Some("web"));
    let described = ecs.describe_clusters().clusters(&ecs_cluster).send().await.expect("DescribeClusters");
    assert_eq!(described.clusters().first().and_then(|c| c.status()), Some("ACTIVE"));
    assert!(!events(&client, &ns, "web").await.is_empty(), "the ServiceAccount may publish events");

    // People delete; the controller (as the ServiceAccount) cleans up ECS and lets go. The
    // service first: ECS describes no service of an INACTIVE cluster.
    services.delete("frontend", &DeleteParams::default()).await.expect("delete");
    until_gone(&services, "frontend").await;
    let ecs_service =
        ecs.describe_services().cluster(&ecs_cluster).services("frontend").send().await.expect("DescribeServices");
    let status = ecs_service.services().first().and_then(|s| s.status());
    assert!(matches!(status, Some("DRAINING" | "INACTIVE")), "{status:?}");
    task_definitions.delete("web", &DeleteParams::default()).await.expect("delete");
    clusters.delete("platform", &DeleteParams::default()).await.expect("delete");
    until_gone(&task_definitions, "web").await;
    until_gone(&clusters, "platform").await;
    let active = ecs.list_task_definitions().family_prefix("web").send().await.expect("ListTaskDefinitions");
    assert!(active.task_definition_arns().is_empty(), "revisions deregistered: {active:?}");
    let described = ecs.describe_clusters().clusters(&ecs_cluster).send().await.expect("DescribeClusters");
    assert_eq!(described.clusters().first().and_then(|c| c.status()), Some("INACTIVE"));
    handle.shutdown().await;

    // What the chart does not grant is refused.
    let sa_task_definitions: Api<EcsTaskDefinition> = Api::namespaced(as_sa.clone(), &ns);
    apply(&task_definitions, "kept", task_definition("kept")).await;
    assert_eq!(refused(sa_task_definitions.delete("kept", &DeleteParams::default()).await), 403);
    assert_eq!(refused(sa_task_definitions.get("kept").await), 403, "no get: the controller reads through watches");
    let sa_services: Api<EcsService> = Api::namespaced(as_sa.clone(), &ns);
    assert_eq!(refused(sa_services.delete("anything", &DeleteParams::default()).await), 403);
    let secrets: Api<Secret> = Api::namespaced(as_sa.clone(), &ns);
    assert_eq!(refused(secrets.list(&ListParams::default()).await), 403);
    let leases: Api<Lease> = Api::namespaced(as_sa.clone(), &ns);
    assert_eq!(refused(leases.get("someone-elses-lease").await), 403, "only its own Lease");
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(as_sa.clone());
    assert_eq!(refused(crds.list(&ListParams::default()).await), 403);
    // ...while reading its kinds across all namespaces, as the default install does, works.
    Api::<EcsTaskDefinition>::all(as_sa.clone())
        .list_metadata(&ListParams::default().limit(1))
        .await
        .expect("the ClusterRole lists the kinds in every namespace");

    support::run_ok(support::helm(&ns).args(["uninstall", &release]));
    poll_until("helm uninstall removes the cluster-scoped RBAC", || async {
        match Api::<ClusterRole>::all(client.clone()).get_opt(&full).await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err("ClusterRole still there".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
}

#[tokio::test]
async fn a_watched_namespace_install_grants_only_that_namespace() {
    let TestNamespace { name: ns, client } = support::namespace("helm-scoped").await;
    let watched = support::namespace("helm-watched").await.name;
    let other = support::namespace("helm-other").await.name;
    let release = ns.clone();
    let full = format!("{release}-ecs-bridge");
    install(
        &release,
        &ns,
        &["emulator.enabled=false", &format!("controller.watchNamespace={watched}"), "aws.region=eu-west-1"],
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    assert!(deployments.get_opt(&format!("{full}-emulator")).await.expect("get").is_none(), "no emulator for real ECS");
    let controller = deployments.get(&format!("{full}-controller")).await.expect("controller");
    let (args, env) = controller_container(&controller);
    let parsed = parse_controller_args(&args);
    assert_eq!(parsed.namespace.as_deref(), Some(watched.as_str()));
    assert_eq!(parsed.region.as_deref(), Some("eu-west-1"));
    assert!(parsed.ecs_endpoint.is_none(), "real ECS: the SDK's regional endpoint");
    assert!(!env.iter().any(|e| e == "AWS_ACCESS_KEY_ID"), "real ECS: no static credentials");
    assert!(
        Api::<ClusterRole>::all(client.clone()).get_opt(&full).await.expect("get").is_none(),
        "a watched namespace needs no ClusterRole"
    );

    // The controller as the ServiceAccount, scoped as the chart scopes it.
    let as_sa = as_service_account(&ns, &full).await;
    let ecs_emulator = emulator().await;
    let ecs = ecs_client(&ecs_emulator.endpoint());
    let handle =
        start_controller(config_from_chart(&parsed, "scoped-replica"), as_sa.clone(), &ecs_emulator.endpoint()).await;
    let admin_clusters: Api<EcsCluster> = Api::namespaced(client.clone(), &watched);
    let ecs_cluster = format!("{watched}-edge");
    apply(&admin_clusters, "edge", cluster("edge", &ecs_cluster)).await;
    ready(&admin_clusters, "edge").await;
    admin_clusters.delete("edge", &DeleteParams::default()).await.expect("delete");
    until_gone(&admin_clusters, "edge").await;
    let described = ecs.describe_clusters().clusters(&ecs_cluster).send().await.expect("DescribeClusters");
    assert_eq!(described.clusters().first().and_then(|c| c.status()), Some("INACTIVE"));
    handle.shutdown().await;

    // Nothing outside the watched namespace.
    let elsewhere: Api<EcsCluster> = Api::namespaced(as_sa.clone(), &other);
    assert_eq!(refused(elsewhere.list(&ListParams::default()).await), 403);
    assert_eq!(refused(Api::<EcsCluster>::all(as_sa.clone()).list(&ListParams::default()).await), 403);
}
