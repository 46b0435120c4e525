//! The agent's calls: DiscoverPollEndpoint, the Submit*StateChange(s) calls
//! (checked and acknowledged) and UpdateContainerAgent (ECS's answer for the
//! emulator's simulated agents).

use aws_sdk_ecs::types::{AttachmentStateChange, VersionInfo};

use crate::cli::aws_ecs;
use crate::support::{assert_error, fargate_task, register_fargate, register_instance, start};

#[tokio::test]
async fn discover_poll_endpoint_names_the_regions_agent_endpoints() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let out = client.discover_poll_endpoint().cluster("c").container_instance("anything").send().await.unwrap();
    assert_eq!(out.endpoint(), Some("https://ecs-a-1.us-east-1.amazonaws.com/"));
    assert_eq!(out.telemetry_endpoint(), Some("https://ecs-t-1.us-east-1.amazonaws.com/"));
    assert_eq!(out.service_connect_endpoint(), Some("https://ecs-sc.us-east-1.api.aws"));
}

#[tokio::test]
async fn state_changes_are_checked_and_acknowledged() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    let task = fargate_task(&client, "c", "web").send().await.unwrap().tasks()[0].clone();
    let arn = task.task_arn().unwrap();

    let out = client.submit_task_state_change().cluster("c").task(arn).status("RUNNING").send().await.unwrap();
    assert_eq!(out.acknowledgment(), Some("ACCEPT"));
    // Acknowledged, not applied: the scheduler owns the task's state.
    let now = client.describe_tasks().cluster("c").tasks(arn).send().await.unwrap();
    assert_eq!(now.tasks()[0].last_status(), task.last_status());
    let out = client
        .submit_container_state_change()
        .cluster("c")
        .task(arn)
        .container_name("web")
        .status("RUNNING")
        .send()
        .await
        .unwrap();
    assert_eq!(out.acknowledgment(), Some("ACCEPT"));
    let attachment = AttachmentStateChange::builder()
        .attachment_arn("arn:aws:ecs:us-east-1:000000000000:attachment/0f8d6a4c-1111-2222-3333-444455556666")
        .status("ATTACHED")
        .build()
        .unwrap();
    let out = client.submit_attachment_state_changes().cluster("c").attachments(attachment.clone()).send().await;
    assert_eq!(out.unwrap().acknowledgment(), Some("ACCEPT"));

    assert_error(
        client.submit_task_state_change().cluster("ghost").task(arn).send().await,
        "ClusterNotFoundException",
        Some("Cluster not found."),
    );
    assert_error(
        client.submit_task_state_change().cluster("c").task("0123456789abcdef0123456789abcdef").send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.submit_container_state_change().cluster("c").task(arn).container_name("nope").send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.submit_container_state_change().cluster("ghost").task(arn).send().await,
        "ClusterNotFoundException",
        None,
    );
    assert_error(
        client.submit_attachment_state_changes().cluster("ghost").attachments(attachment).send().await,
        "ClusterNotFoundException",
        None,
    );
}

#[tokio::test]
async fn update_container_agent_has_nothing_to_update_on_a_simulated_agent() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let current = register_instance(&client, "c").await;
    assert_error(
        client.update_container_agent().cluster("c").container_instance(&current).send().await,
        "NoUpdateAvailableException",
        None,
    );
    // An agent that reported no version: ECS has nothing to update from.
    let unversioned = client
        .register_container_instance()
        .cluster("c")
        .version_info(VersionInfo::builder().docker_version("DockerVersion: 25.0.0").build())
        .send()
        .await
        .unwrap()
        .container_instance
        .and_then(|i| i.container_instance_arn)
        .unwrap();
    assert_error(
        client.update_container_agent().cluster("c").container_instance(&unversioned).send().await,
        "MissingVersionException",
        None,
    );
    assert_error(
        client
            .update_container_agent()
            .cluster("c")
            .container_instance("0123456789abcdef0123456789abcdef")
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.update_container_agent().cluster("ghost").container_instance(&current).send().await,
        "ClusterNotFoundException",
        None,
    );
}

// Multi-threaded: the AWS CLI blocks this test's thread while the emulator answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_calls_with_the_aws_cli() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let instance = register_instance(&client, "c").await;
    let endpoint = emulator.endpoint();
    let out = aws_ecs(&endpoint, &["discover-poll-endpoint", "--cluster", "c", "--container-instance", &instance])
        .expect("discover-poll-endpoint");
    assert_eq!(out["endpoint"], "https://ecs-a-1.us-east-1.amazonaws.com/");
    let err = aws_ecs(&endpoint, &["update-container-agent", "--cluster", "c", "--container-instance", &instance])
        .expect_err("no update");
    assert!(err.contains("NoUpdateAvailableException"), "{err}");
}
