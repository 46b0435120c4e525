//! Task sets on a manual clock: a CODE_DEPLOY service shifting from one task
//! set to another (primary swap, the old set scaled to 0, drained and
//! deleted), an EXTERNAL service whose counts are the sums over its sets,
//! the AWS CLI's task set commands, and ECS's errors.

use aws_sdk_ecs::types::{DeploymentController, DeploymentControllerType, LaunchType, Scale, ScaleUnit, Tag, TaskSet};

use crate::cli::aws_ecs;
use crate::support::{advance, assert_error, awsvpc, fargate_service, register_fargate, service, start};

fn percent(value: f64) -> Scale {
    Scale::builder().value(value).unit(ScaleUnit::Percent).build()
}

fn controller(kind: DeploymentControllerType) -> DeploymentController {
    DeploymentController::builder().r#type(kind).build().expect("controller")
}

async fn task_sets(client: &aws_sdk_ecs::Client, name: &str) -> Vec<TaskSet> {
    client
        .describe_task_sets()
        .cluster("c")
        .service(name)
        .send()
        .await
        .expect("describe task sets")
        .task_sets()
        .to_vec()
}

fn by_id<'a>(sets: &'a [TaskSet], id: &str) -> &'a TaskSet {
    sets.iter().find(|s| s.id() == Some(id)).unwrap_or_else(|| panic!("task set {id} in {sets:?}"))
}

/// The ids of the RUNNING tasks a task set started.
async fn tasks_of(client: &aws_sdk_ecs::Client, set: &str) -> Vec<String> {
    client.list_tasks().cluster("c").started_by(set).send().await.expect("list tasks").task_arns().to_vec()
}

#[tokio::test]
async fn code_deploy_service_shifts_between_task_sets() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let blue_td = register_fargate(&client, "web").await;
    let green_td = register_fargate(&client, "web").await;
    let created = fargate_service(&client, "c", "web", &blue_td)
        .desired_count(2)
        .deployment_controller(controller(DeploymentControllerType::CodeDeploy))
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert!(created.deployments().is_empty(), "task sets, not deployments: {:?}", created.deployments());
    let sets = created.task_sets();
    assert_eq!(sets.len(), 1, "CODE_DEPLOY starts with a primary task set");
    let blue = sets[0].id().unwrap().to_owned();
    assert_eq!(sets[0].status(), Some("PRIMARY"));
    assert_eq!(sets[0].task_definition(), Some(blue_td.as_str()));
    assert_eq!(sets[0].scale().map(|s| s.value()), Some(100.0));
    assert_eq!(sets[0].computed_desired_count(), 2);
    assert!(sets[0].task_set_arn().unwrap().ends_with(&format!(":task-set/c/web/{blue}")));

    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!((s.running_count(), s.pending_count()), (2, 0));
    assert_eq!(s.task_sets()[0].running_count(), 2);
    assert_eq!(s.task_sets()[0].stability_status().map(|x| x.as_str()), Some("STEADY_STATE"));
    assert_eq!(tasks_of(&client, &blue).await.len(), 2, "tasks carry their set's id as startedBy");

    // CodeDeploy's replacement set, at full size beside the original.
    let green = client
        .create_task_set()
        .cluster("c")
        .service("web")
        .task_definition(&green_td)
        .external_id("codedeploy-d-123")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .scale(percent(100.0))
        .send()
        .await
        .unwrap()
        .task_set
        .unwrap();
    let green_id = green.id().unwrap().to_owned();
    assert_eq!(green.status(), Some("ACTIVE"));
    assert_eq!(green.external_id(), Some("codedeploy-d-123"));
    assert_eq!(green.computed_desired_count(), 2);
    assert_eq!(green.stability_status().map(|x| x.as_str()), Some("STABILIZING"));
    assert_eq!(green.pending_count(), 2, "launched at once");
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.running_count(), 4, "the service counts both sets' tasks");
    assert_eq!(by_id(s.task_sets(), &green_id).running_count(), 2);

    // Traffic moves: the replacement becomes primary, the service shows its
    // task definition.
    let primary =
        client.update_service_primary_task_set().cluster("c").service("web").primary_task_set(&green_id).send().await;
    assert_eq!(primary.unwrap().task_set.unwrap().status(), Some("PRIMARY"));
    let s = service(&client, "c", "web").await;
    assert_eq!(s.task_definition(), Some(green_td.as_str()));
    assert_eq!(by_id(s.task_sets(), &blue).status(), Some("ACTIVE"));

    // The original still runs its share: deleting it needs force or scale 0.
    assert_error(
        client.delete_task_set().cluster("c").service("web").task_set(&blue).send().await,
        "InvalidParameterException",
        Some("The task set cannot be deleted while it is scaled above 0. Use force."),
    );
    let scaled =
        client.update_task_set().cluster("c").service("web").task_set(&blue).scale(percent(0.0)).send().await.unwrap();
    assert_eq!(scaled.task_set.unwrap().computed_desired_count(), 0);
    advance(&emulator, 60.0).await;
    assert!(tasks_of(&client, &blue).await.is_empty(), "the original set's tasks stopped");
    let deleted = client.delete_task_set().cluster("c").service("web").task_set(&blue).send().await.unwrap();
    assert_eq!(deleted.task_set.unwrap().status(), Some("DRAINING"));
    let left = task_sets(&client, "web").await;
    assert_eq!(left.len(), 1, "a drained set leaves the service: {left:?}");
    assert_eq!(left[0].id(), Some(green_id.as_str()));
    let s = service(&client, "c", "web").await;
    assert_eq!((s.running_count(), s.desired_count()), (2, 2));
    assert_eq!(tasks_of(&client, &green_id).await.len(), 2);
}

#[tokio::test]
async fn external_service_counts_are_summed_over_task_sets() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_fargate(&client, "api").await;
    let created = client
        .create_service()
        .cluster("c")
        .service_name("api")
        .desired_count(4)
        .deployment_controller(controller(DeploymentControllerType::External))
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert!(created.task_definition().is_none());
    assert!(created.deployments().is_empty());
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "api").await;
    assert_eq!((s.running_count(), s.pending_count()), (0, 0), "no task before a task set exists");
    assert!(s.task_sets().is_empty());

    let create = |scale: f64, token: &'static str| {
        client
            .create_task_set()
            .cluster("c")
            .service("api")
            .task_definition(&td)
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc())
            .scale(percent(scale))
            .client_token(token)
            .tags(Tag::builder().key("team").value("blue").build())
            .send()
    };
    let a = create(50.0, "token-a").await.unwrap().task_set.unwrap();
    let again = create(50.0, "token-a").await.unwrap().task_set.unwrap();
    assert_eq!(again.id(), a.id(), "a client token answers the same task set");
    let b = create(25.0, "token-b").await.unwrap().task_set.unwrap();
    assert_eq!((a.computed_desired_count(), b.computed_desired_count()), (2, 1));
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "api").await;
    assert_eq!((s.running_count(), s.pending_count()), (3, 0));

    // Scaling the service scales every set.
    client.update_service().cluster("c").service("api").desired_count(7).send().await.unwrap();
    advance(&emulator, 10.0).await;
    let sets = task_sets(&client, "api").await;
    assert_eq!(by_id(&sets, a.id().unwrap()).computed_desired_count(), 4, "ceil(7 × 50 %)");
    assert_eq!(by_id(&sets, b.id().unwrap()).computed_desired_count(), 2, "ceil(7 × 25 %)");
    assert!(sets.iter().all(|s| s.tags().is_empty()), "tags only with include TAGS");
    let s = service(&client, "c", "api").await;
    assert_eq!(s.running_count(), 6);

    let described = client
        .describe_task_sets()
        .cluster("c")
        .service("api")
        .task_sets(a.task_set_arn().unwrap())
        .task_sets("ecs-svc/0000")
        .include(aws_sdk_ecs::types::TaskSetField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(described.task_sets().len(), 1);
    assert_eq!(described.task_sets()[0].tags()[0].value(), Some("blue"));
    assert_eq!(described.failures()[0].arn(), Some("ecs-svc/0000"));
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));

    // Force deletes a set that still runs tasks; they stop.
    let deleted =
        client.delete_task_set().cluster("c").service("api").task_set(b.id().unwrap()).force(true).send().await;
    assert_eq!(deleted.unwrap().task_set.unwrap().status(), Some("DRAINING"));
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "api").await;
    assert_eq!(s.running_count(), 4);
    assert_eq!(s.task_sets().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_task_set_commands() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_fargate(&client, "api").await;
    let endpoint = emulator.endpoint();
    let cli = move |args: Vec<String>| {
        let endpoint = endpoint.clone();
        tokio::task::spawn_blocking(move || aws_ecs(&endpoint, &args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let args = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    cli(args("create-service --cluster c --service-name api --desired-count 2 --deployment-controller type=EXTERNAL"))
        .await
        .unwrap()
        .expect("create-service");
    let mut create =
        args("create-task-set --cluster c --service api --launch-type FARGATE --scale value=100,unit=PERCENT");
    create.extend(["--task-definition".into(), td.clone()]);
    create.extend([
        "--network-configuration".into(),
        "awsvpcConfiguration={subnets=[subnet-0123456789abcdef0],assignPublicIp=ENABLED}".into(),
    ]);
    let out = cli(create).await.unwrap().expect("create-task-set");
    let id = out["taskSet"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(out["taskSet"]["computedDesiredCount"], 2);
    assert_eq!(out["taskSet"]["scale"]["unit"], "PERCENT");
    let mut primary = args("update-service-primary-task-set --cluster c --service api --primary-task-set");
    primary.push(id.clone());
    let out = cli(primary).await.unwrap().expect("update-service-primary-task-set");
    assert_eq!(out["taskSet"]["status"], "PRIMARY");
    advance(&emulator, 10.0).await;
    let out = cli(args("describe-task-sets --cluster c --service api")).await.unwrap().expect("describe-task-sets");
    assert_eq!(out["taskSets"][0]["runningCount"], 2);
    assert_eq!(out["taskSets"][0]["stabilityStatus"], "STEADY_STATE");
    let mut delete = args("delete-task-set --cluster c --service api --task-set");
    delete.push(id.clone());
    let err = cli(delete.clone()).await.unwrap().expect_err("the primary set needs force");
    assert!(err.contains("InvalidParameterException"), "{err}");
    delete.push("--force".into());
    let out = cli(delete).await.unwrap().expect("delete-task-set --force");
    assert_eq!(out["taskSet"]["status"], "DRAINING");
}

#[tokio::test]
async fn task_set_errors() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_fargate(&client, "web").await;
    fargate_service(&client, "c", "rolling", &td).desired_count(1).send().await.unwrap();
    client
        .create_service()
        .cluster("c")
        .service_name("ext")
        .desired_count(1)
        .deployment_controller(controller(DeploymentControllerType::External))
        .send()
        .await
        .unwrap();
    let create = |service: &'static str, cluster: &'static str| {
        client
            .create_task_set()
            .cluster(cluster)
            .service(service)
            .task_definition(&td)
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc())
    };
    let not_external =
        "Amazon ECS only supports task set management on services configured to use external deployment controllers.";
    assert_error(create("rolling", "c").send().await, "InvalidParameterException", Some(not_external));
    assert_error(
        client.describe_task_sets().cluster("c").service("rolling").send().await,
        "InvalidParameterException",
        Some(not_external),
    );
    assert_error(create("nope", "c").send().await, "ServiceNotFoundException", Some("Service not found."));
    assert_error(create("ext", "nope").send().await, "ClusterNotFoundException", None);
    assert_error(
        create("ext", "c").scale(percent(150.0)).send().await,
        "InvalidParameterException",
        Some("scale.value must be between 0 and 100."),
    );
    assert_error(
        client
            .create_task_set()
            .cluster("c")
            .service("ext")
            .task_definition(&td)
            .launch_type(LaunchType::Fargate)
            .send()
            .await,
        "InvalidParameterException",
        Some("Network Configuration must be provided when networkMode 'awsvpc' is specified."),
    );
    assert_error(
        client.update_task_set().cluster("c").service("ext").task_set("ecs-svc/1").scale(percent(10.0)).send().await,
        "TaskSetNotFoundException",
        Some("The specified task set does not exist."),
    );
    assert_error(
        client.update_service_primary_task_set().cluster("c").service("ext").primary_task_set("ecs-svc/1").send().await,
        "TaskSetNotFoundException",
        None,
    );
    let first = create("ext", "c").send().await.unwrap().task_set.unwrap();
    client
        .update_service_primary_task_set()
        .cluster("c")
        .service("ext")
        .primary_task_set(first.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_error(
        client.delete_task_set().cluster("c").service("ext").task_set(first.id().unwrap()).send().await,
        "InvalidParameterException",
        Some("Unable to delete the primary task set of a service. Make another task set primary, or use force."),
    );
    for _ in 1..5 {
        create("ext", "c").scale(percent(0.0)).send().await.unwrap();
    }
    assert_error(
        create("ext", "c").send().await,
        "InvalidParameterException",
        Some("5 deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit."),
    );
    // ECS deploys a CODE_DEPLOY or EXTERNAL service's new templates through
    // its task sets only.
    assert_error(
        client.update_service().cluster("c").service("ext").task_definition(&td).send().await,
        "InvalidParameterException",
        None,
    );
}
