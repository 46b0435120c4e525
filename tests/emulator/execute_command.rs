//! ExecuteCommand: ECS's refusals (execute command not enabled, task or
//! container not running, interactive only, which container) and its
//! answer for a valid target.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::ContainerDefinition;

use crate::support::{admin, advance, arn, assert_error, fargate_task, register_fargate, start};

const NOT_ENABLED: &str = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try the request again or run a new task with execute command enabled and try again.";

async fn run(client: &Client, family: &str, exec: bool) -> String {
    let out = fargate_task(client, "c", family).enable_execute_command(exec).send().await.unwrap();
    out.tasks()[0].task_arn().unwrap().to_owned()
}

fn exec(client: &Client, task: &str) -> aws_sdk_ecs::operation::execute_command::builders::ExecuteCommandFluentBuilder {
    client.execute_command().cluster("c").task(task).command("/bin/sh").interactive(true)
}

#[tokio::test]
async fn a_running_task_with_execute_command_gets_a_session() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    let task = run(&client, "web", true).await;

    // Not RUNNING yet: the agent is not there.
    assert_error(exec(&client, &task).send().await, "InvalidParameterException", Some(NOT_ENABLED));
    advance(&emulator, 30.0).await;

    let out = exec(&client, &task).send().await.unwrap();
    assert_eq!(out.cluster_arn(), Some(arn("cluster/c").as_str()));
    assert_eq!(out.task_arn(), Some(task.as_str()));
    assert_eq!(out.container_name(), Some("web"));
    assert!(out.container_arn().unwrap().starts_with(&arn("container/c/")), "{:?}", out.container_arn());
    assert!(out.interactive());
    let session = out.session().unwrap();
    let id = session.session_id().unwrap();
    assert!(id.starts_with("ecs-execute-command-"), "{id}");
    assert!(session.stream_url().unwrap().starts_with("wss://ssmmessages.us-east-1.amazonaws.com/"));
    assert!(session.stream_url().unwrap().contains(id));
    assert!(!session.token_value().unwrap().is_empty());
    // Each call is a new session; the container can be named, by its id too.
    let again = exec(&client, task.rsplit('/').next().unwrap()).container("web").send().await.unwrap();
    assert_ne!(again.session().unwrap().session_id(), Some(id));

    assert_error(
        exec(&client, &task).interactive(false).send().await,
        "InvalidParameterException",
        Some("Interactive is the only mode supported currently."),
    );
    assert_error(exec(&client, &task).container("nope").send().await, "InvalidParameterException", None);
    assert_error(
        exec(&client, &task).cluster("missing").send().await,
        "ClusterNotFoundException",
        Some("Cluster not found."),
    );
    assert_error(exec(&client, &arn("task/c/0123")).send().await, "InvalidParameterException", None);

    // Once stopped, no more.
    client.stop_task().cluster("c").task(&task).send().await.unwrap();
    advance(&emulator, 60.0).await;
    assert_error(exec(&client, &task).send().await, "InvalidParameterException", Some(NOT_ENABLED));
}

#[tokio::test]
async fn a_task_run_without_execute_command_is_refused() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    let task = run(&client, "web", false).await;
    advance(&emulator, 30.0).await;
    assert_error(exec(&client, &task).send().await, "InvalidParameterException", Some(NOT_ENABLED));
}

#[tokio::test]
async fn containers_are_named_and_one_that_exited_is_not_connected() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let app = ContainerDefinition::builder().name("app").image("busybox").essential(true).build();
    let sidecar = ContainerDefinition::builder().name("sidecar").image("busybox").essential(false).build();
    client
        .register_task_definition()
        .family("pair")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(app)
        .container_definitions(sidecar)
        .send()
        .await
        .unwrap();
    let (status, rule) = admin(
        &emulator.endpoint(),
        reqwest::Method::POST,
        "failure-rules",
        serde_json::json!({ "family": "pair", "container": "sidecar", "exitCode": 0, "exitAfterSeconds": 5 }),
    )
    .await;
    assert_eq!(status, 200, "{rule}");
    let task = run(&client, "pair", true).await;
    advance(&emulator, 60.0).await;

    assert_error(exec(&client, &task).send().await, "InvalidParameterException", None);
    let out = exec(&client, &task).container("app").send().await.unwrap();
    assert_eq!(out.container_name(), Some("app"));
    assert_error(
        exec(&client, &task).container("sidecar").send().await,
        "TargetNotConnectedException",
        Some("The execute command failed due to an internal error. Try again later."),
    );
}
