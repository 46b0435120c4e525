//! Services: creation rules, name reuse, deployments, update, delete,
//! describe and list.

use aws_sdk_ecs::types::{CapacityProviderStrategyItem, DeploymentConfiguration, LaunchType, ServiceField};

use crate::support::{
    arn, assert_error, awsvpc, fargate_service, register_bridge, register_fargate, register_instance, start,
};

#[tokio::test]
async fn fargate_service_creates_provisioning_tasks() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_fargate(&client, "web").await;
    let service = fargate_service(&client, "c", "web", "web").desired_count(2).send().await.unwrap().service.unwrap();
    assert_eq!(service.service_arn(), Some(arn("service/c/web").as_str()));
    assert_eq!(service.status(), Some("ACTIVE"));
    assert_eq!(service.task_definition(), Some(td.as_str()));
    assert_eq!(service.desired_count(), 2);
    assert_eq!(service.pending_count(), 2);
    assert_eq!(service.running_count(), 0);
    assert_eq!(service.platform_version(), Some("LATEST"));
    let config = service.deployment_configuration().unwrap();
    assert_eq!(config.maximum_percent(), Some(200));
    assert_eq!(config.minimum_healthy_percent(), Some(100));
    let breaker = config.deployment_circuit_breaker().unwrap();
    assert!(!breaker.enable() && !breaker.rollback());
    let deployments = service.deployments();
    assert_eq!(deployments.len(), 1);
    let d = &deployments[0];
    assert_eq!(d.status(), Some("PRIMARY"));
    assert_eq!(d.rollout_state().map(|r| r.as_str()), Some("IN_PROGRESS"));
    let id = d.id().unwrap();
    assert!(id.starts_with("ecs-svc/") && id.len() == 8 + 19, "{id}");
    assert_eq!(service.events().len(), 1);
    assert!(service.events()[0].message().unwrap().starts_with("(service web) has started 2 tasks:"));
    let vpc = service.network_configuration().unwrap().awsvpc_configuration().unwrap();
    assert_eq!(vpc.assign_public_ip().map(|a| a.as_str()), Some("DISABLED"));

    let tasks = client.list_tasks().cluster("c").service_name("web").send().await.unwrap();
    assert_eq!(tasks.task_arns().len(), 2);
    let described =
        client.describe_tasks().cluster("c").set_tasks(Some(tasks.task_arns().to_vec())).send().await.unwrap();
    for task in described.tasks() {
        assert_eq!(task.last_status(), Some("PROVISIONING"));
        assert_eq!(task.desired_status(), Some("RUNNING"));
        assert_eq!(task.group(), Some("service:web"));
        assert_eq!(task.started_by(), Some(id));
        assert_eq!(task.launch_type(), Some(&LaunchType::Fargate));
        assert_eq!(task.platform_version(), Some("1.4.0"));
        assert_eq!(task.attachments()[0].r#type(), Some("ElasticNetworkInterface"));
    }
}

#[tokio::test]
async fn creation_rules() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let bridge = register_bridge(&client, "bridge").await;
    register_fargate(&client, "fg").await;
    let create = || client.create_service().cluster("c").service_name("s").desired_count(1);

    assert_error(
        create().task_definition("fg").launch_type(LaunchType::Fargate).send().await,
        "InvalidParameterException",
        Some("Network Configuration must be provided when networkMode 'awsvpc' is specified."),
    );
    assert_error(
        create().task_definition(&bridge).launch_type(LaunchType::Fargate).send().await,
        "InvalidParameterException",
        Some("Task definition does not support launch_type FARGATE."),
    );
    assert_error(
        create()
            .task_definition("fg")
            .launch_type(LaunchType::Fargate)
            .capacity_provider_strategy(
                CapacityProviderStrategyItem::builder().capacity_provider("FARGATE").weight(1).build().unwrap(),
            )
            .network_configuration(awsvpc())
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
    assert_error(create().task_definition("missing").send().await, "ClientException", None);
    client.deregister_task_definition().task_definition("bridge:1").send().await.unwrap();
    assert_error(
        create().task_definition("bridge:1").send().await,
        "ClientException",
        Some("TaskDefinition is inactive"),
    );
    assert_error(
        client
            .create_service()
            .cluster("c")
            .service_name("bad name")
            .task_definition("fg")
            .desired_count(0)
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.create_service().cluster("nope").service_name("s").task_definition("fg").desired_count(0).send().await,
        "ClusterNotFoundException",
        None,
    );
    // Capacity providers must be associated with the cluster.
    assert_error(
        create()
            .task_definition("fg")
            .capacity_provider_strategy(
                CapacityProviderStrategyItem::builder().capacity_provider("FARGATE").weight(1).build().unwrap(),
            )
            .network_configuration(awsvpc())
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
    // DAEMON: maximumPercent must be 100.
    let bridge2 = register_bridge(&client, "bridge").await;
    assert_error(
        client
            .create_service()
            .cluster("c")
            .service_name("d")
            .task_definition(&bridge2)
            .scheduling_strategy(aws_sdk_ecs::types::SchedulingStrategy::Daemon)
            .deployment_configuration(DeploymentConfiguration::builder().maximum_percent(200).build())
            .send()
            .await,
        "InvalidParameterException",
        Some(
            "The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again",
        ),
    );
}

#[tokio::test]
async fn same_name_create_is_idempotent_or_rejected() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "web").await;
    let create = |count: i32| {
        client.create_service().cluster("c").service_name("s").task_definition(&td).desired_count(count).send()
    };
    let first = create(0).await.unwrap().service.unwrap();
    let second = create(0).await.unwrap().service.unwrap();
    assert_eq!(first.created_at(), second.created_at());
    assert_eq!(first.deployments()[0].id(), second.deployments()[0].id());
    assert_error(create(3).await, "InvalidParameterException", Some("Creation of service was not idempotent."));
    let services = client.list_services().cluster("c").send().await.unwrap();
    assert_eq!(services.service_arns().len(), 1);
}

#[tokio::test]
async fn draining_name_cannot_be_reused_and_inactive_can() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "web").await;
    register_instance(&client, "c").await;
    client.create_service().cluster("c").service_name("s").task_definition(&td).desired_count(1).send().await.unwrap();
    // Scaled above 0: deletion needs force.
    assert_error(
        client.delete_service().cluster("c").service("s").send().await,
        "InvalidParameterException",
        Some("The service cannot be stopped while it is scaled above 0."),
    );
    let deleted = client.delete_service().cluster("c").service("s").force(true).send().await.unwrap().service.unwrap();
    assert_eq!(deleted.status(), Some("DRAINING"));
    // Its never-started tasks stop at once, so the service ends INACTIVE.
    let described = client.describe_services().cluster("c").services("s").send().await.unwrap();
    assert_eq!(described.services()[0].status(), Some("INACTIVE"));
    assert!(client.list_services().cluster("c").send().await.unwrap().service_arns().is_empty());
    let stopped = client
        .list_tasks()
        .cluster("c")
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    let tasks =
        client.describe_tasks().cluster("c").set_tasks(Some(stopped.task_arns().to_vec())).send().await.unwrap();
    assert_eq!(tasks.tasks()[0].last_status(), Some("STOPPED"));
    assert_eq!(tasks.tasks()[0].stop_code().map(|c| c.as_str()), Some("ServiceSchedulerInitiated"));
    // Deleting again returns it unchanged; re-creating the name works.
    let again = client.delete_service().cluster("c").service("s").send().await.unwrap().service.unwrap();
    assert_eq!(again.status(), Some("INACTIVE"));
    let recreated = client
        .create_service()
        .cluster("c")
        .service_name("s")
        .task_definition(&td)
        .desired_count(0)
        .send()
        .await
        .unwrap();
    assert_eq!(recreated.service.unwrap().status(), Some("ACTIVE"));
}

#[tokio::test]
async fn update_service_scales_and_deploys() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    fargate_service(&client, "c", "s", "web").desired_count(1).send().await.unwrap();
    // Scaling does not start a deployment.
    let scaled =
        client.update_service().cluster("c").service("s").desired_count(3).send().await.unwrap().service.unwrap();
    assert_eq!(scaled.deployments().len(), 1);
    assert_eq!(scaled.desired_count(), 3);
    assert_eq!(scaled.pending_count(), 3);

    // A new revision starts a deployment; the old one's unstarted tasks go.
    let v2 = register_fargate(&client, "web").await;
    let updated =
        client.update_service().cluster("c").service("s").task_definition("web").send().await.unwrap().service.unwrap();
    assert_eq!(updated.task_definition(), Some(v2.as_str()));
    let primary = &updated.deployments()[0];
    assert_eq!(primary.status(), Some("PRIMARY"));
    assert_eq!(primary.task_definition(), Some(v2.as_str()));
    assert_eq!(primary.pending_count(), 3);
    assert_eq!(updated.deployments().len(), 1, "replaced deployment with no live task leaves the list");

    // forceNewDeployment makes another deployment id.
    let forced = client
        .update_service()
        .cluster("c")
        .service("s")
        .force_new_deployment(true)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_ne!(forced.deployments()[0].id(), primary.id());

    // Scale to zero: tasks stop; with nothing left the rollout completes.
    let zero =
        client.update_service().cluster("c").service("s").desired_count(0).send().await.unwrap().service.unwrap();
    assert_eq!(zero.pending_count(), 0);
    let described = client.describe_services().cluster("c").services("s").send().await.unwrap();
    let service = &described.services()[0];
    assert_eq!(service.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    assert_eq!(service.events()[0].message(), Some("(service s) has reached a steady state."));

    client.deregister_task_definition().task_definition(&v2).send().await.unwrap();
    assert_error(
        client.update_service().cluster("c").service("s").task_definition(&v2).send().await,
        "ClientException",
        Some("TaskDefinition is inactive"),
    );
    assert_error(
        client.update_service().cluster("c").service("ghost").desired_count(1).send().await,
        "ServiceNotFoundException",
        Some("Service not found."),
    );
    client.delete_service().cluster("c").service("s").send().await.unwrap();
    assert_error(
        client.update_service().cluster("c").service("s").desired_count(1).send().await,
        "ServiceNotActiveException",
        Some("Service was not ACTIVE."),
    );
}

#[tokio::test]
async fn ec2_service_without_instances_logs_a_placement_event() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "web").await;
    let service = client
        .create_service()
        .cluster("c")
        .service_name("s")
        .task_definition(&td)
        .desired_count(1)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(service.pending_count(), 0);
    assert!(service.events()[0].message().unwrap().contains("No Container Instances were found in your cluster."));
    assert_eq!(service.launch_type(), Some(&LaunchType::Ec2));
}

#[tokio::test]
async fn describe_and_list_services() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "web").await;
    for i in 0..12 {
        client
            .create_service()
            .cluster("c")
            .service_name(format!("s{i:02}"))
            .task_definition(&td)
            .desired_count(0)
            .tags(aws_sdk_ecs::types::Tag::builder().key("n").value(i.to_string()).build())
            .send()
            .await
            .unwrap();
    }
    let first = client.list_services().cluster("c").send().await.unwrap();
    assert_eq!(first.service_arns().len(), 10, "ListServices pages by 10 by default");
    let second = client.list_services().cluster("c").next_token(first.next_token().unwrap()).send().await.unwrap();
    assert_eq!(second.service_arns().len(), 2);
    assert!(second.next_token().is_none());

    let described = client
        .describe_services()
        .cluster("c")
        .services("s00")
        .services(arn("service/c/s01"))
        .services("ghost")
        .include(ServiceField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(described.services().len(), 2);
    assert_eq!(described.services()[0].tags()[0].value(), Some("0"));
    assert_eq!(described.failures()[0].arn(), Some(arn("service/c/ghost").as_str()));
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    let untagged = client.describe_services().cluster("c").services("s00").send().await.unwrap();
    assert!(untagged.services()[0].tags().is_empty());

    let eleven: Vec<String> = (0..11).map(|i| format!("s{i:02}")).collect();
    assert_error(
        client.describe_services().cluster("c").set_services(Some(eleven)).send().await,
        "InvalidParameterException",
        None,
    );
    let fargate_only = client.list_services().cluster("c").launch_type(LaunchType::Fargate).send().await.unwrap();
    assert!(fargate_only.service_arns().is_empty());
}

#[tokio::test]
async fn daemon_service_runs_one_task_per_instance() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "agent").await;
    register_instance(&client, "c").await;
    let service = client
        .create_service()
        .cluster("c")
        .service_name("d")
        .task_definition(&td)
        .scheduling_strategy(aws_sdk_ecs::types::SchedulingStrategy::Daemon)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(service.desired_count(), 1);
    assert_eq!(service.deployment_configuration().unwrap().maximum_percent(), Some(100));
    register_instance(&client, "c").await;
    let described = client.describe_services().cluster("c").services("d").send().await.unwrap();
    assert_eq!(described.services()[0].desired_count(), 2);
    assert_eq!(described.services()[0].pending_count(), 2);
    // DAEMON services never need force to delete.
    assert!(client.delete_service().cluster("c").service("d").send().await.is_ok());
}

#[tokio::test]
async fn code_deploy_services_only_take_scaling_updates() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "web").await;
    client
        .create_service()
        .cluster("c")
        .service_name("s")
        .task_definition(&td)
        .desired_count(0)
        .deployment_controller(
            aws_sdk_ecs::types::DeploymentController::builder()
                .r#type(aws_sdk_ecs::types::DeploymentControllerType::CodeDeploy)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_error(
        client.update_service().cluster("c").service("s").task_definition(&td).send().await,
        "InvalidParameterException",
        Some(
            "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.",
        ),
    );
    let scaled = client
        .update_service()
        .cluster("c")
        .service("s")
        .desired_count(0)
        .health_check_grace_period_seconds(30)
        .send()
        .await
        .unwrap();
    assert_eq!(scaled.service.unwrap().health_check_grace_period_seconds(), Some(30));
}
