//! ECS Managed Daemons: daemon task definitions, a daemon placing exactly
//! one task on every container instance (and on instances that join),
//! deployments and revisions through updates and deletes, ECS's errors, the
//! AWS CLI, and the records surviving a restart.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{DaemonContainerDefinition, DaemonDeploymentStatus, DaemonStatus, Task};
use ecs_bridge::emulator::{EmulatorConfig, RunningEmulator, spawn};

use crate::cli::aws_ecs;
use crate::support::{advance, arn, assert_error, client, register_instance, start_with};

/// A manual-clock emulator whose new clusters start with `instances` EC2
/// instances, and cluster `c`.
async fn cluster_with(instances: u32) -> (RunningEmulator, Client) {
    let (emulator, client) = start_with(EmulatorConfig { ec2_capacity: instances, ..EmulatorConfig::manual() }).await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    (emulator, client)
}

fn container(image: &str) -> DaemonContainerDefinition {
    DaemonContainerDefinition::builder().name("agent").image(image).memory(64).cpu(64).build().unwrap()
}

/// Registers a revision of `family` running `image`; its ARN.
async fn register(client: &Client, family: &str, image: &str) -> String {
    client
        .register_daemon_task_definition()
        .family(family)
        .container_definitions(container(image))
        .send()
        .await
        .unwrap()
        .daemon_task_definition_arn
        .unwrap()
}

/// Creates daemon `agent` in `c` running `definition`; its ARN and first deployment's.
async fn create(client: &Client, definition: &str) -> (String, String) {
    let out = client
        .create_daemon()
        .daemon_name("agent")
        .cluster_arn(arn("cluster/c"))
        .daemon_task_definition_arn(definition)
        .capacity_provider_arns(arn("capacity-provider/managed"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), Some(&DaemonStatus::Active));
    (out.daemon_arn.unwrap(), out.deployment_arn.unwrap())
}

/// The cluster's tasks of `desired` status.
async fn tasks(client: &Client, desired: &str) -> Vec<Task> {
    let arns = client
        .list_tasks()
        .cluster("c")
        .desired_status(desired.into())
        .send()
        .await
        .unwrap()
        .task_arns
        .unwrap_or_default();
    if arns.is_empty() {
        return Vec::new();
    }
    client.describe_tasks().cluster("c").set_tasks(Some(arns)).send().await.unwrap().tasks.unwrap_or_default()
}

fn instances_of(tasks: &[Task]) -> Vec<String> {
    let mut instances: Vec<String> =
        tasks.iter().map(|t| t.container_instance_arn().unwrap_or_default().to_owned()).collect();
    instances.sort();
    instances
}

async fn deployment(client: &Client, arn: &str) -> aws_sdk_ecs::types::DaemonDeployment {
    let out = client.describe_daemon_deployments().daemon_deployment_arns(arn).send().await.unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.daemon_deployments()[0].clone()
}

#[tokio::test]
async fn a_daemon_runs_one_task_on_every_instance_and_on_instances_that_join() {
    let (emulator, client) = cluster_with(2).await;
    let definition = register(&client, "agent", "busybox:1").await;
    let (daemon, first) = create(&client, &definition).await;

    // Placed as CreateDaemon answers: one task per instance.
    let placed = tasks(&client, "RUNNING").await;
    assert_eq!(placed.len(), 2);
    let instances = instances_of(&placed);
    assert_ne!(instances[0], instances[1], "one task per instance");
    for t in &placed {
        assert_eq!(t.group(), Some("daemon:agent"));
        assert!(t.started_by().unwrap().starts_with("ecs-daemon/"), "{:?}", t.started_by());
        assert_eq!(t.task_definition_arn(), Some(definition.as_str()));
    }
    assert_eq!(deployment(&client, &first).await.status(), Some(&DaemonDeploymentStatus::InProgress));

    advance(&emulator, 30.0).await;
    let running = tasks(&client, "RUNNING").await;
    assert!(running.iter().all(|t| t.last_status() == Some("RUNNING")), "{running:?}");
    let done = deployment(&client, &first).await;
    assert_eq!(done.status(), Some(&DaemonDeploymentStatus::Successful));
    assert!(done.finished_at().is_some());
    let target = done.target_daemon_revision().unwrap();
    assert_eq!(target.total_running_instance_count(), Some(2));
    assert_eq!(target.total_without_daemon_instance_count(), Some(0));
    let described = client.describe_daemon().daemon_arn(&daemon).send().await.unwrap().daemon.unwrap();
    assert_eq!(described.status(), Some(&DaemonStatus::Active));
    assert_eq!(described.deployment_arn(), Some(first.as_str()));
    let revision = &described.current_revisions()[0];
    assert_eq!(revision.total_running_count(), 2);
    assert_eq!(revision.capacity_providers()[0].arn(), Some(arn("capacity-provider/managed").as_str()));

    // An instance that registers gets its daemon task.
    let joined = register_instance(&client, "c").await;
    advance(&emulator, 30.0).await;
    let running = tasks(&client, "RUNNING").await;
    assert_eq!(running.len(), 3);
    assert!(instances_of(&running).contains(&joined));

    // A daemon task that is stopped is replaced on its instance.
    let victim = running.iter().find(|t| t.container_instance_arn() == Some(joined.as_str())).unwrap();
    client.stop_task().cluster("c").task(victim.task_arn().unwrap()).send().await.unwrap();
    advance(&emulator, 60.0).await;
    let running = tasks(&client, "RUNNING").await;
    assert_eq!(running.len(), 3);
    let replacement = running.iter().find(|t| t.container_instance_arn() == Some(joined.as_str())).unwrap();
    assert_ne!(replacement.task_arn(), victim.task_arn());

    // An instance set to DRAINING leaves the daemon: its task stops.
    client
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&joined)
        .status(aws_sdk_ecs::types::ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    advance(&emulator, 30.0).await;
    let running = tasks(&client, "RUNNING").await;
    assert_eq!(running.len(), 2);
    assert!(!instances_of(&running).contains(&joined));
    let described = client.describe_daemon().daemon_arn(&daemon).send().await.unwrap().daemon.unwrap();
    assert_eq!(described.current_revisions()[0].total_running_count(), 2);
}

#[tokio::test]
async fn an_update_replaces_every_task_with_the_new_revision() {
    let (emulator, client) = cluster_with(2).await;
    let v1 = register(&client, "agent", "busybox:1").await;
    let v2 = register(&client, "agent", "busybox:2").await;
    assert!(v2.ends_with("daemon-task-definition/agent:2"), "{v2}");
    let (daemon, first) = create(&client, &v1).await;
    advance(&emulator, 30.0).await;
    let old: Vec<String> = tasks(&client, "RUNNING").await.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();

    let update = client.update_daemon().daemon_arn(&daemon).daemon_task_definition_arn(&v2).send().await.unwrap();
    let second = update.deployment_arn.unwrap();
    assert_ne!(second, first);
    assert!(update.updated_at.is_some());
    advance(&emulator, 60.0).await;
    let running = tasks(&client, "RUNNING").await;
    assert_eq!(running.len(), 2);
    assert!(running.iter().all(|t| t.task_definition_arn() == Some(v2.as_str())), "{running:?}");
    let stopped: Vec<String> =
        tasks(&client, "STOPPED").await.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
    assert!(old.iter().all(|t| stopped.contains(t)), "the old revision's tasks stopped");
    let done = deployment(&client, &second).await;
    assert_eq!(done.status(), Some(&DaemonDeploymentStatus::Successful));
    let target = done.target_daemon_revision().unwrap().arn().unwrap().to_owned();
    let source = done.source_daemon_revisions()[0].arn().unwrap().to_owned();
    let revisions = client
        .describe_daemon_revisions()
        .daemon_revision_arns(&source)
        .daemon_revision_arns(&target)
        .daemon_revision_arns(arn("daemon-revision/c/agent/404"))
        .send()
        .await
        .unwrap();
    let by_arn = |a: &str| revisions.daemon_revisions().iter().find(|r| r.daemon_revision_arn() == Some(a)).unwrap();
    assert_eq!(by_arn(&source).daemon_task_definition_arn(), Some(v1.as_str()));
    assert_eq!(by_arn(&target).daemon_task_definition_arn(), Some(v2.as_str()));
    assert_eq!(by_arn(&target).container_images()[0].image(), Some("busybox:2"));
    assert_eq!(revisions.failures()[0].reason(), Some("MISSING"));

    // A deployment superseded before it finished is STOPPED.
    let third = client.update_daemon().daemon_arn(&daemon).daemon_task_definition_arn(&v1).send().await.unwrap();
    let fourth = client.update_daemon().daemon_arn(&daemon).daemon_task_definition_arn(&v2).send().await.unwrap();
    let superseded = deployment(&client, third.deployment_arn().unwrap()).await;
    assert_eq!(superseded.status(), Some(&DaemonDeploymentStatus::Stopped));
    assert!(superseded.stopped_at().is_some());

    let listed = client.list_daemon_deployments().daemon_arn(&daemon).send().await.unwrap();
    let arns: Vec<&str> = listed.daemon_deployments().iter().map(|d| d.daemon_deployment_arn().unwrap()).collect();
    assert_eq!(arns.len(), 4);
    assert_eq!(arns[0], fourth.deployment_arn().unwrap(), "newest first");
    let page = client.list_daemon_deployments().daemon_arn(&daemon).max_results(3).send().await.unwrap();
    assert_eq!(page.daemon_deployments().len(), 3);
    let rest = client
        .list_daemon_deployments()
        .daemon_arn(&daemon)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.daemon_deployments().len(), 1);
    assert_eq!(rest.daemon_deployments()[0].daemon_deployment_arn(), Some(first.as_str()));
    let successful = client
        .list_daemon_deployments()
        .daemon_arn(&daemon)
        .status(DaemonDeploymentStatus::Successful)
        .send()
        .await
        .unwrap();
    assert_eq!(successful.daemon_deployments().len(), 2);
}

#[tokio::test]
async fn a_deleted_daemon_drains_its_tasks_and_is_gone() {
    let (emulator, client) = cluster_with(2).await;
    let definition = register(&client, "agent", "busybox:1").await;
    let (daemon, _) = create(&client, &definition).await;
    advance(&emulator, 30.0).await;

    // Its task definition cannot go while the daemon runs it.
    let deleted = client.delete_daemon_task_definition().daemon_task_definition("agent:1").send().await.unwrap();
    assert_eq!(deleted.daemon_task_definition_arn(), Some(definition.as_str()));
    let status = |c: &Client| {
        let c = c.clone();
        async move {
            let d = c.describe_daemon_task_definition().daemon_task_definition("agent:1").send().await.unwrap();
            d.daemon_task_definition.unwrap().status().unwrap().as_str().to_owned()
        }
    };
    assert_eq!(status(&client).await, "DELETE_IN_PROGRESS");

    let out = client.delete_daemon().daemon_arn(&daemon).send().await.unwrap();
    assert_eq!(out.status(), Some(&DaemonStatus::DeleteInProgress));
    let drain = out.deployment_arn.unwrap();
    assert_error(
        client.update_daemon().daemon_arn(&daemon).daemon_task_definition_arn(&definition).send().await,
        "DaemonNotActiveException",
        Some("Daemon is not active."),
    );
    assert_error(client.delete_daemon().daemon_arn(&daemon).send().await, "DaemonNotActiveException", None);

    advance(&emulator, 60.0).await;
    assert!(tasks(&client, "RUNNING").await.is_empty());
    assert_eq!(tasks(&client, "STOPPED").await.len(), 2);
    assert_error(
        client.describe_daemon().daemon_arn(&daemon).send().await,
        "DaemonNotFoundException",
        Some("Daemon not found."),
    );
    assert!(client.list_daemons().cluster_arn("c").send().await.unwrap().daemon_summaries_list().is_empty());
    assert_eq!(deployment(&client, &drain).await.status(), Some(&DaemonDeploymentStatus::Successful));
    advance(&emulator, 1.0).await;
    assert_eq!(status(&client).await, "DELETED", "released once no daemon uses it");
}

#[tokio::test]
async fn daemon_task_definitions_are_registered_listed_and_deleted_as_ecs_does() {
    let (_emulator, client) = cluster_with(0).await;
    register(&client, "agent", "busybox:1").await;
    let second = register(&client, "agent", "busybox:2").await;
    let other = register(&client, "other", "busybox:1").await;
    let latest = client.describe_daemon_task_definition().daemon_task_definition("agent").send().await.unwrap();
    let latest = latest.daemon_task_definition.unwrap();
    assert_eq!(latest.daemon_task_definition_arn(), Some(second.as_str()));
    assert_eq!(latest.revision(), 2);
    assert_eq!(latest.container_definitions()[0].image(), "busybox:2");
    assert_eq!(latest.registered_by(), Some("arn:aws:iam::000000000000:root"));

    let all = client.list_daemon_task_definitions().send().await.unwrap();
    let arns: Vec<&str> = all.daemon_task_definitions().iter().map(|d| d.arn().unwrap()).collect();
    assert_eq!(arns, vec![arn("daemon-task-definition/agent:1").as_str(), second.as_str(), other.as_str()]);
    let desc = client.list_daemon_task_definitions().sort("DESC".into()).max_results(2).send().await.unwrap();
    let arns: Vec<&str> = desc.daemon_task_definitions().iter().map(|d| d.arn().unwrap()).collect();
    assert_eq!(arns, vec![other.as_str(), second.as_str()]);
    let rest = client
        .list_daemon_task_definitions()
        .sort("DESC".into())
        .next_token(desc.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.daemon_task_definitions().len(), 1);
    let last = client
        .list_daemon_task_definitions()
        .family_prefix("ag")
        .revision("LAST_REGISTERED".into())
        .send()
        .await
        .unwrap();
    assert_eq!(last.daemon_task_definitions()[0].arn(), Some(second.as_str()));
    assert_eq!(last.daemon_task_definitions().len(), 1);

    // Deleting: by family:revision or ARN only, once.
    client.delete_daemon_task_definition().daemon_task_definition("agent:1").send().await.unwrap();
    let active = client.list_daemon_task_definitions().family("agent").send().await.unwrap();
    assert_eq!(active.daemon_task_definitions().len(), 1);
    let every = client.list_daemon_task_definitions().family("agent").status("ALL".into()).send().await.unwrap();
    assert_eq!(every.daemon_task_definitions()[0].status().unwrap().as_str(), "DELETED");
    assert!(every.daemon_task_definitions()[0].delete_requested_at().is_some());
    assert_error(
        client.delete_daemon_task_definition().daemon_task_definition("agent:1").send().await,
        "ClientException",
        None,
    );
    assert_error(
        client.delete_daemon_task_definition().daemon_task_definition("agent").send().await,
        "ClientException",
        None,
    );
    assert_error(
        client.describe_daemon_task_definition().daemon_task_definition("nope").send().await,
        "ClientException",
        Some("Unable to describe daemon task definition."),
    );
    // A new revision keeps counting.
    assert!(register(&client, "agent", "busybox:3").await.ends_with("agent:3"));

    // The task definition rules hold.
    assert_error(
        client.register_daemon_task_definition().family("bad name").container_definitions(container("x")).send().await,
        "ClientException",
        Some("Family can be up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores."),
    );
    assert_error(
        client
            .register_daemon_task_definition()
            .family("agent")
            .container_definitions(container("x"))
            .pid_mode("host".into())
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
}

#[tokio::test]
async fn daemon_calls_answer_ecs_errors() {
    let (_emulator, client) = cluster_with(1).await;
    let definition = register(&client, "agent", "busybox:1").await;
    let create = || {
        client
            .create_daemon()
            .daemon_name("agent")
            .cluster_arn(arn("cluster/c"))
            .daemon_task_definition_arn(&definition)
            .capacity_provider_arns(arn("capacity-provider/managed"))
    };
    assert_error(
        create().cluster_arn(arn("cluster/missing")).send().await,
        "ClusterNotFoundException",
        Some("Cluster not found."),
    );
    assert_error(
        create().set_capacity_provider_arns(Some(vec!["FARGATE".into()])).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        create().daemon_task_definition_arn(arn("daemon-task-definition/none:1")).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(create().daemon_name("no spaces").send().await, "InvalidParameterException", None);
    let first = create().client_token("token-1").send().await.unwrap();
    let again = create().client_token("token-1").send().await.unwrap();
    assert_eq!(first.daemon_arn(), again.daemon_arn(), "the same token is the same daemon");
    assert_eq!(first.deployment_arn(), again.deployment_arn());
    assert_eq!(first.daemon_arn(), Some(arn("daemon/c/agent").as_str()));
    assert_error(create().send().await, "InvalidParameterException", None);
    assert_error(
        client.describe_daemon().daemon_arn(arn("daemon/c/nope")).send().await,
        "DaemonNotFoundException",
        Some("Daemon not found."),
    );
    assert_error(client.update_daemon().daemon_arn(arn("daemon/c/nope")).send().await, "DaemonNotFoundException", None);
    assert_error(
        client.describe_daemon().daemon_arn(arn("daemon/gone/agent")).send().await,
        "ClusterNotFoundException",
        Some("Cluster not found."),
    );
    let missing = client
        .describe_daemon_deployments()
        .daemon_deployment_arns(arn("daemon-deployment/c/agent/1"))
        .send()
        .await
        .unwrap();
    assert!(missing.daemon_deployments().is_empty());
    assert_eq!(missing.failures()[0].reason(), Some("MISSING"));
    assert_error(client.list_daemons().cluster_arn("missing").send().await, "ClusterNotFoundException", None);
    let listed = client.list_daemons().cluster_arn("c").send().await.unwrap();
    assert_eq!(listed.daemon_summaries_list()[0].daemon_arn(), first.daemon_arn());
    let other = client.list_daemons().cluster_arn("c").capacity_provider_arns("other").send().await.unwrap();
    assert!(other.daemon_summaries_list().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_runs_a_daemon() {
    let (emulator, client) = cluster_with(1).await;
    let endpoint = emulator.endpoint();
    let registered = aws_ecs(
        &endpoint,
        &[
            "register-daemon-task-definition",
            "--family",
            "agent",
            "--container-definitions",
            r#"[{"name":"agent","image":"busybox:1","memory":64}]"#,
        ],
    )
    .unwrap();
    let definition = registered["daemonTaskDefinitionArn"].as_str().unwrap().to_owned();
    let created = aws_ecs(
        &endpoint,
        &[
            "create-daemon",
            "--daemon-name",
            "agent",
            "--cluster-arn",
            "c",
            "--daemon-task-definition-arn",
            &definition,
            "--capacity-provider-arns",
            &arn("capacity-provider/managed"),
        ],
    )
    .unwrap();
    assert_eq!(created["status"], "ACTIVE");
    let daemon = created["daemonArn"].as_str().unwrap().to_owned();
    let listed = aws_ecs(&endpoint, &["list-daemons", "--cluster-arn", "c"]).unwrap();
    assert_eq!(listed["daemonSummariesList"][0]["daemonArn"], daemon.as_str());
    let described = aws_ecs(&endpoint, &["describe-daemon", "--daemon-arn", &daemon]).unwrap();
    assert_eq!(
        described["daemon"]["currentRevisions"][0]["capacityProviders"][0]["arn"],
        arn("capacity-provider/managed")
    );
    assert_eq!(tasks(&client, "RUNNING").await.len(), 1);
    let err = aws_ecs(&endpoint, &["describe-daemon", "--daemon-arn", &arn("daemon/c/nope")]).unwrap_err();
    assert!(err.contains("DaemonNotFoundException"), "{err}");
}

#[tokio::test]
async fn daemons_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ec2_capacity: 1, ..EmulatorConfig::manual() };
    let emulator = spawn(config.clone()).await.unwrap();
    let c = client(&emulator.endpoint());
    c.create_cluster().cluster_name("c").send().await.unwrap();
    let definition = register(&c, "agent", "busybox:1").await;
    let (daemon, deployment_arn) = create(&c, &definition).await;
    let before = c.describe_daemon().daemon_arn(&daemon).send().await.unwrap().daemon.unwrap();
    emulator.shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let c = client(&emulator.endpoint());
    let after = c.describe_daemon().daemon_arn(&daemon).send().await.unwrap().daemon.unwrap();
    assert_eq!(after.deployment_arn(), Some(deployment_arn.as_str()));
    assert_eq!(after.current_revisions()[0].arn(), before.current_revisions()[0].arn());
    assert_eq!(after.created_at(), before.created_at());
    let definition_after =
        c.describe_daemon_task_definition().daemon_task_definition(&definition).send().await.unwrap();
    assert_eq!(definition_after.daemon_task_definition.unwrap().revision(), 1);
    assert_eq!(deployment(&c, &deployment_arn).await.daemon_deployment_arn(), Some(deployment_arn.as_str()));
    // Its task was journaled too.
    assert_eq!(c.list_tasks().cluster("c").send().await.unwrap().task_arns().len(), 1);
}

#[tokio::test]
async fn an_update_drains_its_share_of_the_instances_at_a_time() {
    let (emulator, client) = cluster_with(4).await;
    let v1 = register(&client, "agent", "busybox:1").await;
    let v2 = register(&client, "agent", "busybox:2").await;
    let out = client
        .create_daemon()
        .daemon_name("agent")
        .cluster_arn("c")
        .daemon_task_definition_arn(&v1)
        .capacity_provider_arns("managed")
        .deployment_configuration(
            aws_sdk_ecs::types::DaemonDeploymentConfiguration::builder().drain_percent(25.0).build(),
        )
        .send()
        .await
        .unwrap();
    let daemon = out.daemon_arn.unwrap();
    advance(&emulator, 30.0).await;
    assert_eq!(tasks(&client, "RUNNING").await.len(), 4);

    let update = client.update_daemon().daemon_arn(&daemon).daemon_task_definition_arn(&v2).send().await.unwrap();
    // A quarter of four instances: one old task stops, the others keep running.
    let stopping = tasks(&client, "STOPPED").await;
    assert_eq!(stopping.len(), 1, "{stopping:?}");
    assert_eq!(tasks(&client, "RUNNING").await.len(), 3);
    let described = client.describe_daemon().daemon_arn(&daemon).send().await.unwrap().daemon.unwrap();
    assert_eq!(described.current_revisions().len(), 2, "the new revision and the one it replaces");

    advance(&emulator, 120.0).await;
    let running = tasks(&client, "RUNNING").await;
    assert_eq!(running.len(), 4);
    assert!(running.iter().all(|t| t.task_definition_arn() == Some(v2.as_str())));
    assert_eq!(tasks(&client, "STOPPED").await.len(), 4, "each old task stopped once");
    let done = deployment(&client, update.deployment_arn().unwrap()).await;
    assert_eq!(done.status(), Some(&DaemonDeploymentStatus::Successful));
    assert_eq!(done.deployment_configuration().unwrap().drain_percent(), Some(25.0));

    // Its tags, through the tag calls.
    client
        .tag_resource()
        .resource_arn(&daemon)
        .tags(aws_sdk_ecs::types::Tag::builder().key("team").value("obs").build())
        .send()
        .await
        .unwrap();
    let tags = client.list_tags_for_resource().resource_arn(&daemon).send().await.unwrap();
    assert_eq!(tags.tags()[0].value(), Some("obs"));
    client.untag_resource().resource_arn(&daemon).tag_keys("team").send().await.unwrap();
    assert!(client.list_tags_for_resource().resource_arn(&daemon).send().await.unwrap().tags().is_empty());
    assert_error(
        client.list_tags_for_resource().resource_arn(arn("daemon/c/none")).send().await,
        "ResourceNotFoundException",
        None,
    );
}

#[tokio::test]
async fn on_the_docker_runtime_daemon_tasks_are_containers() {
    use crate::docker::{IMAGE, describe, is, owned_containers, wait_for};
    use std::time::Duration;
    let (emulator, client) = crate::docker::start().await;
    let agent = DaemonContainerDefinition::builder()
        .name("agent")
        .image(IMAGE)
        .memory(32)
        .command("sleep")
        .command("3600")
        .build()
        .unwrap();
    let definition = client
        .register_daemon_task_definition()
        .family("agent")
        .container_definitions(agent)
        .send()
        .await
        .unwrap()
        .daemon_task_definition_arn
        .unwrap();
    let (daemon, _) = create(&client, &definition).await;
    let placed = tasks(&client, "RUNNING").await;
    assert_eq!(placed.len(), 2, "one per instance of --ec2-capacity 2");
    for t in &placed {
        let running = wait_for(&client, t.task_arn().unwrap(), Duration::from_secs(60), is("RUNNING")).await;
        let id = running.containers()[0].runtime_id().expect("a Docker container").to_owned();
        assert!(owned_containers(&emulator).iter().any(|c| id.starts_with(c.as_str())), "{id} runs");
    }

    client.delete_daemon().daemon_arn(&daemon).send().await.unwrap();
    for t in &placed {
        wait_for(&client, t.task_arn().unwrap(), Duration::from_secs(60), is("STOPPED")).await;
    }
    let stopped = describe(&client, placed[0].task_arn().unwrap()).await;
    assert_eq!(stopped.desired_status(), Some("STOPPED"));
}
