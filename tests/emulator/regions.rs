//! Regions and accounts from the request: the region of a request's SigV4
//! credential scope, and a 12-digit access key id as the account, choose
//! the partition it sees; each partition has its own clusters, task
//! definitions, logs, Cloud Map and Application Auto Scaling records, with
//! ARNs of its own region and account, kept apart across a restart.

use std::process::Command;

use aws_sdk_ecs::types::LaunchType;
use ecs_bridge::emulator::{EmulatorConfig, spawn};

use crate::support::{
    ACCOUNT, REGION, admin, advance, assert_error, fargate_service, fargate_task, register_fargate, start,
};

/// Another account, selected by using it as the access key id.
const OTHER: &str = "111122223333";

/// A client of SDK crate `$sdk` for `endpoint`, signing in `region` with
/// access key `key`.
macro_rules! client_as {
    ($sdk:ident, $endpoint:expr, $region:expr, $key:expr) => {{
        use $sdk::config::{BehaviorVersion, Credentials, Region};
        let config = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url($endpoint)
            .region(Region::new(String::from($region)))
            .credentials_provider(Credentials::new($key, "secret", None, None, "tests"))
            .build();
        $sdk::Client::from_conf(config)
    }};
}

/// An ECS client signing in `region` with access key `key`.
fn ecs_as(endpoint: &str, region: &str, key: &str) -> aws_sdk_ecs::Client {
    client_as!(aws_sdk_ecs, endpoint, region, key)
}

/// `(region, access key, account the key selects)` of four partitions.
const PARTITIONS: [(&str, &str, &str); 4] =
    [(REGION, "dev", ACCOUNT), ("us-east-2", "dev", ACCOUNT), (REGION, OTHER, OTHER), ("us-east-2", OTHER, OTHER)];

fn cluster_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:ecs:{region}:{account}:cluster/{name}")
}

#[tokio::test]
async fn the_same_cluster_name_in_two_regions_and_two_accounts_is_four_clusters() {
    let (emulator, _) = start().await;
    let endpoint = emulator.endpoint();
    for (region, key, account) in PARTITIONS {
        let ecs = ecs_as(&endpoint, region, key);
        let created = ecs.create_cluster().cluster_name("web").send().await.unwrap();
        assert_eq!(created.cluster().unwrap().cluster_arn(), Some(cluster_arn(region, account, "web").as_str()));
    }
    for (region, key, account) in PARTITIONS {
        let ecs = ecs_as(&endpoint, region, key);
        let listed = ecs.list_clusters().send().await.unwrap();
        assert_eq!(listed.cluster_arns(), [cluster_arn(region, account, "web")], "{region}/{account}");
        let described = ecs.describe_clusters().clusters("web").send().await.unwrap();
        assert_eq!(described.clusters()[0].cluster_arn(), Some(cluster_arn(region, account, "web").as_str()));
    }
    // A region nobody used is empty.
    let empty = ecs_as(&endpoint, "eu-west-1", "dev").list_clusters().send().await.unwrap();
    assert!(empty.cluster_arns().is_empty(), "{empty:?}");

    // Deleting one leaves the others.
    let east2 = ecs_as(&endpoint, "us-east-2", OTHER);
    east2.delete_cluster().cluster("web").send().await.unwrap();
    let east1 = ecs_as(&endpoint, REGION, OTHER);
    let still = east1.describe_clusters().clusters("web").send().await.unwrap();
    assert_eq!(still.clusters()[0].status(), Some("ACTIVE"));

    // Unsigned requests are in the default partition (`--region`, `--account-id`).
    let (status, body) = crate::support::raw(&endpoint, Some(&crate::support::target("ListClusters")), "{}").await;
    assert_eq!(status, 200);
    assert_eq!(body["clusterArns"], serde_json::json!([cluster_arn(REGION, ACCOUNT, "web")]));
}

#[tokio::test]
async fn an_arn_of_another_partition_is_refused_as_ecs_refuses_it() {
    let (emulator, _) = start().await;
    let endpoint = emulator.endpoint();
    let home = ecs_as(&endpoint, REGION, "dev");
    let east2 = ecs_as(&endpoint, "us-east-2", "dev");
    let other = ecs_as(&endpoint, REGION, OTHER);
    for ecs in [&home, &east2, &other] {
        ecs.create_cluster().cluster_name("web").send().await.unwrap();
    }
    // Another region's ARN: ECS's "Invalid Region in ARN", whatever the operation.
    let theirs = cluster_arn("us-east-2", ACCOUNT, "web");
    assert_error(
        home.describe_clusters().clusters(&theirs).send().await,
        "InvalidParameterException",
        Some("Invalid Region in ARN"),
    );
    assert_error(
        home.list_services().cluster(&theirs).send().await,
        "InvalidParameterException",
        Some("Invalid Region in ARN"),
    );
    let family = register_fargate(&east2, "app").await;
    assert!(family.starts_with("arn:aws:ecs:us-east-2:000000000000:task-definition/app:1"), "{family}");
    assert_error(
        fargate_task(&home, "web", &family).send().await,
        "InvalidParameterException",
        Some("Invalid Region in ARN"),
    );
    // The definition is in us-east-2 only.
    assert_error(
        home.describe_task_definition().task_definition("app").send().await,
        "ClientException",
        Some("Unable to describe task definition."),
    );
    // Another account's ARN: refused by IAM.
    let (code, message) =
        crate::support::error(other.describe_clusters().clusters(cluster_arn(REGION, ACCOUNT, "web")).send().await);
    assert_eq!(code, "AccessDeniedException");
    assert!(
        message.contains(&format!("arn:aws:iam::{OTHER}:root is not authorized to perform: ecs:DescribeClusters")),
        "{message}"
    );
    // The partition's own ARN works.
    let own = other.describe_clusters().clusters(cluster_arn(REGION, OTHER, "web")).send().await.unwrap();
    assert_eq!(own.clusters().len(), 1);
}

#[tokio::test]
async fn each_partition_runs_its_own_tasks_and_services() {
    let (emulator, _) = start().await;
    let endpoint = emulator.endpoint();
    let east2 = ecs_as(&endpoint, "us-east-2", OTHER);
    east2.create_cluster().cluster_name("web").send().await.unwrap();
    register_fargate(&east2, "app").await;
    fargate_service(&east2, "web", "api", "app").desired_count(2).send().await.unwrap();
    let run = fargate_task(&east2, "web", "app").send().await.unwrap();
    let task_arn = run.tasks()[0].task_arn().unwrap().to_owned();
    assert!(task_arn.starts_with(&format!("arn:aws:ecs:us-east-2:{OTHER}:task/web/")), "{task_arn}");
    // The clock moves every partition's tasks.
    advance(&emulator, 10.0).await;
    let tasks = east2.list_tasks().cluster("web").desired_status(aws_sdk_ecs::types::DesiredStatus::Running);
    let arns = tasks.send().await.unwrap().task_arns().to_vec();
    assert_eq!(arns.len(), 3, "{arns:?}");
    let described = east2.describe_tasks().cluster("web").set_tasks(Some(arns)).send().await.unwrap();
    assert!(described.tasks().iter().all(|t| t.last_status() == Some("RUNNING")), "{described:?}");
    assert!(described.tasks().iter().all(|t| t.launch_type() == Some(&LaunchType::Fargate)));
    // Nothing of it in the default partition.
    let home = ecs_as(&endpoint, REGION, "dev");
    assert_error(home.list_tasks().cluster("web").send().await, "ClusterNotFoundException", None);

    // The admin endpoints choose a partition with ?region=&account=.
    let path = format!("tasks/kill?region=us-east-2&account={OTHER}");
    let (status, body) =
        admin(&endpoint, reqwest::Method::POST, &path, serde_json::json!({"cluster": "web", "task": task_arn})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        admin(&endpoint, reqwest::Method::POST, "tasks/kill", serde_json::json!({"cluster": "web", "task": task_arn}))
            .await;
    assert_ne!(status, 200, "the default partition has no such task: {body}");
    let (_, state) = admin(
        &endpoint,
        reqwest::Method::GET,
        &format!("state?region=us-east-2&account={OTHER}"),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(state["clusters"].as_array().map(Vec::len), Some(1), "{state}");
    let (_, health) = admin(&endpoint, reqwest::Method::GET, "health", serde_json::Value::Null).await;
    assert_eq!(health["region"], REGION);
    assert!(
        health["partitions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"account": OTHER, "region": "us-east-2"})),
        "{health}"
    );
}

#[tokio::test]
async fn logs_cloud_map_and_autoscaling_are_per_partition() {
    let (emulator, _) = start().await;
    let endpoint = emulator.endpoint();
    // CloudWatch Logs
    let logs = |region: &str| client_as!(aws_sdk_cloudwatchlogs, &endpoint, region, "dev");
    logs("us-east-2").create_log_group().log_group_name("/ecs/web").send().await.unwrap();
    let there = logs("us-east-2").describe_log_groups().send().await.unwrap();
    let arn = there.log_groups()[0].arn().unwrap_or_default();
    assert!(arn.starts_with("arn:aws:logs:us-east-2:000000000000:log-group:/ecs/web"), "{arn}");
    assert!(logs(REGION).describe_log_groups().send().await.unwrap().log_groups().is_empty());
    logs(REGION).create_log_group().log_group_name("/ecs/web").send().await.expect("the same name in another region");

    // Cloud Map
    let cloud_map = |key: &str| client_as!(aws_sdk_servicediscovery, &endpoint, REGION, key);
    cloud_map(OTHER).create_http_namespace().name("api").send().await.unwrap();
    let namespaces = cloud_map(OTHER).list_namespaces().send().await.unwrap();
    let arn = namespaces.namespaces()[0].arn().unwrap_or_default();
    assert!(arn.starts_with(&format!("arn:aws:servicediscovery:{REGION}:{OTHER}:namespace/")), "{arn}");
    assert!(cloud_map("dev").list_namespaces().send().await.unwrap().namespaces().is_empty());

    // Application Auto Scaling: a service of us-east-2 is scalable there only.
    let east2 = ecs_as(&endpoint, "us-east-2", "dev");
    east2.create_cluster().cluster_name("demo").send().await.unwrap();
    register_fargate(&east2, "web").await;
    fargate_service(&east2, "demo", "web", "web").desired_count(1).send().await.unwrap();
    let scaling = |region: &str| client_as!(aws_sdk_applicationautoscaling, &endpoint, region, "dev");
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let register = |region: &str| {
        scaling(region)
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id("service/demo/web")
            .min_capacity(1)
            .max_capacity(4)
            .send()
    };
    let arn = register("us-east-2").await.unwrap().scalable_target_arn().unwrap_or_default().to_owned();
    assert!(arn.starts_with("arn:aws:application-autoscaling:us-east-2:000000000000:"), "{arn}");
    let (code, _) = crate::support::error(register(REGION).await);
    assert_eq!(code, "ValidationException", "no such service in us-east-1");
    let targets = scaling(REGION).describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).send().await;
    assert!(targets.unwrap().scalable_targets().is_empty());
}

#[tokio::test]
async fn partitions_stay_apart_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::manual() };
    let emulator = spawn(config.clone()).await.unwrap();
    let endpoint = emulator.endpoint();
    ecs_as(&endpoint, REGION, "dev").create_cluster().cluster_name("a").send().await.unwrap();
    ecs_as(&endpoint, "us-east-2", OTHER).create_cluster().cluster_name("b").send().await.unwrap();
    // Half in the snapshot, half in the journal.
    emulator.compact().unwrap();
    ecs_as(&endpoint, "us-east-2", "dev").create_cluster().cluster_name("c").send().await.unwrap();
    ecs_as(&endpoint, "us-east-2", OTHER).create_cluster().cluster_name("d").send().await.unwrap();
    emulator.shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let endpoint = emulator.endpoint();
    let names = |region: &'static str, key: &'static str| {
        let ecs = ecs_as(&endpoint, region, key);
        async move { ecs.list_clusters().send().await.unwrap().cluster_arns().to_vec() }
    };
    assert_eq!(names(REGION, "dev").await, [cluster_arn(REGION, ACCOUNT, "a")]);
    assert_eq!(names("us-east-2", "dev").await, [cluster_arn("us-east-2", ACCOUNT, "c")]);
    let mut other = names("us-east-2", OTHER).await;
    other.sort();
    assert_eq!(other, [cluster_arn("us-east-2", OTHER, "b"), cluster_arn("us-east-2", OTHER, "d")]);
    assert!(names(REGION, OTHER).await.is_empty());
}

/// `aws ecs <args> --region <region>` signed with `key`.
fn aws_in(endpoint: &str, region: &str, key: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new("aws")
        .arg("ecs")
        .args(args)
        .args(["--endpoint-url", endpoint, "--region", region, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_PAGER", "")
        .output()
        .expect("the AWS CLI is on PATH");
    assert!(out.status.success(), "aws ecs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_region_and_key_choose_the_partition() {
    let (emulator, _) = start().await;
    let endpoint = emulator.endpoint();
    let created = aws_in(&endpoint, "us-east-2", OTHER, &["create-cluster", "--cluster-name", "web"]);
    assert_eq!(created["cluster"]["clusterArn"], cluster_arn("us-east-2", OTHER, "web"));
    let there = aws_in(&endpoint, "us-east-2", OTHER, &["list-clusters"]);
    assert_eq!(there["clusterArns"], serde_json::json!([cluster_arn("us-east-2", OTHER, "web")]));
    let elsewhere = aws_in(&endpoint, "eu-west-1", OTHER, &["list-clusters"]);
    assert_eq!(elsewhere["clusterArns"], serde_json::json!([]));
    let other_account = aws_in(&endpoint, "us-east-2", "AKIDEXAMPLE", &["list-clusters"]);
    assert_eq!(other_account["clusterArns"], serde_json::json!([]));
}

#[tokio::test]
async fn the_docker_runtime_runs_and_reports_another_partitions_tasks() {
    use crate::docker::{IMAGE, container, docker, is, register, run, wait_for};
    docker(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    let config = EmulatorConfig {
        runtime: ecs_bridge::emulator::RuntimeMode::Docker,
        ec2_capacity: 1,
        ..EmulatorConfig::default()
    };
    let emulator = spawn(config).await.unwrap();
    let east2 = ecs_as(&emulator.endpoint(), "us-east-2", OTHER);
    east2.create_cluster().cluster_name("c").send().await.unwrap();
    let job = container("job").command("sh").command("-c").command("exit 3").build();
    let td = register(&east2, "job", vec![job]).await;
    let arn = run(&east2, &td, None).await;
    assert!(arn.starts_with(&format!("arn:aws:ecs:us-east-2:{OTHER}:task/c/")), "{arn}");
    // The container's exit comes back to the task in its own partition.
    let task = wait_for(&east2, &arn, std::time::Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.containers()[0].exit_code(), Some(3), "{task:?}");
    assert!(task.pull_started_at().is_some());
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_twelve_digit_configured_key_is_checked_as_a_key_and_is_the_account() {
    let credentials =
        Some(ecs_bridge::emulator::Credentials { access_key_id: OTHER.into(), secret_access_key: "secret".into() });
    let emulator = spawn(EmulatorConfig { credentials, ..EmulatorConfig::manual() }).await.unwrap();
    let endpoint = emulator.endpoint();
    // `ecs_as` signs with the secret "secret": the configured key gets in,
    // in its account and the scope's region.
    let created = ecs_as(&endpoint, "eu-west-1", OTHER).create_cluster().cluster_name("web").send().await.unwrap();
    assert_eq!(created.cluster().unwrap().cluster_arn(), Some(cluster_arn("eu-west-1", OTHER, "web").as_str()));
    // Another 12-digit key is another key, refused as AWS refuses it.
    let (code, _) = crate::support::error(ecs_as(&endpoint, "eu-west-1", "999999999999").list_clusters().send().await);
    assert_eq!(code, "UnrecognizedClientException");
}
