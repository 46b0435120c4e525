//! Tasks: RunTask (rules, placement, idempotency), StartTask, StopTask,
//! DescribeTasks, ListTasks filters and pagination.

use aws_sdk_ecs::types::{DesiredStatus, LaunchType, Resource, TaskField};

use crate::support::{
    arn, assert_error, awsvpc, error, fargate_service, fargate_task, register_bridge, register_fargate,
    register_instance, start,
};

#[tokio::test]
async fn run_task_on_ec2_places_on_an_instance() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "web").await;
    assert_error(
        client.run_task().cluster("c").task_definition(&td).send().await,
        "InvalidParameterException",
        Some("No Container Instances were found in your cluster."),
    );
    let instance = register_instance(&client, "c").await;
    let out = client.run_task().cluster("c").task_definition("web").started_by("me").send().await.unwrap();
    assert!(out.failures().is_empty());
    let task = &out.tasks()[0];
    let id = task.task_arn().unwrap().rsplit('/').next().unwrap();
    assert_eq!(id.len(), 32);
    assert!(task.task_arn().unwrap().starts_with(&arn("task/c/")));
    assert_eq!(task.last_status(), Some("PENDING"), "bridge EC2 tasks start at PENDING");
    assert_eq!(task.desired_status(), Some("RUNNING"));
    assert_eq!(task.container_instance_arn(), Some(instance.as_str()));
    assert_eq!(task.group(), Some("family:web"));
    assert_eq!(task.started_by(), Some("me"));
    assert_eq!(task.availability_zone(), Some("us-east-1b"));
    assert_eq!(task.containers()[0].last_status(), Some("PENDING"));
    assert_eq!(task.containers()[0].health_status().map(|h| h.as_str()), Some("UNKNOWN"));
    assert!(task.containers()[0].container_arn().unwrap().contains(&format!(":container/c/{id}/")));
    assert_eq!(task.overrides().unwrap().container_overrides()[0].name(), Some("web"));

    // The instance's resources are reserved: 128 CPU, 256 MiB, port 8080.
    let ci = client.describe_container_instances().cluster("c").container_instances(&instance).send().await.unwrap();
    let remaining = ci.container_instances()[0].remaining_resources();
    let value = |name: &str| remaining.iter().find(|r| r.name() == Some(name)).unwrap();
    assert_eq!(value("CPU").integer_value(), 2048 - 128);
    assert_eq!(value("MEMORY").integer_value(), 3768 - 256);
    assert!(value("PORTS").string_set_value().contains(&"8080".to_owned()));
    assert_eq!(ci.container_instances()[0].running_tasks_count(), 1);
    assert_eq!(ci.container_instances()[0].pending_tasks_count(), 1);

    // Static port 8080 is taken: a second task cannot fit there.
    let out = client.run_task().cluster("c").task_definition("web").send().await.unwrap();
    assert!(out.tasks().is_empty());
    assert_eq!(out.failures()[0].reason(), Some("RESOURCE:PORTS"));
    assert_eq!(out.failures()[0].arn(), Some(instance.as_str()));
}

#[tokio::test]
async fn run_task_rules() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "fg").await;
    let run = || client.run_task().cluster("c").task_definition("fg").launch_type(LaunchType::Fargate);
    assert_error(
        run().send().await,
        "InvalidParameterException",
        Some("Network Configuration must be provided when networkMode 'awsvpc' is specified."),
    );
    assert_error(run().network_configuration(awsvpc()).count(11).send().await, "InvalidParameterException", None);
    assert_error(run().network_configuration(awsvpc()).count(0).send().await, "InvalidParameterException", None);
    assert_error(
        run().network_configuration(awsvpc()).propagate_tags(aws_sdk_ecs::types::PropagateTags::Service).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.run_task().cluster("c").task_definition("ghost").send().await,
        "InvalidParameterException",
        Some("TaskDefinition not found."),
    );
    client.deregister_task_definition().task_definition("fg:1").send().await.unwrap();
    assert_error(
        fargate_task(&client, "c", "fg:1").send().await,
        "InvalidParameterException",
        Some("TaskDefinition is inactive"),
    );
    let tags: Vec<_> =
        (0..51).map(|i| aws_sdk_ecs::types::Tag::builder().key(format!("k{i}")).value("v").build()).collect();
    register_fargate(&client, "fg").await;
    assert_error(
        run().network_configuration(awsvpc()).set_tags(Some(tags)).send().await,
        "InvalidParameterException",
        None,
    );
}

#[tokio::test]
async fn run_task_fargate_count_and_client_token() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "fg").await;
    let run = |count: i32, token: &str| fargate_task(&client, "c", "fg").count(count).client_token(token).send();
    let first = run(3, "token-1").await.unwrap();
    assert_eq!(first.tasks().len(), 3);
    for t in first.tasks() {
        assert_eq!(t.last_status(), Some("PROVISIONING"));
        assert_eq!(t.launch_type(), Some(&LaunchType::Fargate));
    }
    let again = run(3, "token-1").await.unwrap();
    let arns = |out: &aws_sdk_ecs::operation::run_task::RunTaskOutput| -> Vec<String> {
        out.tasks().iter().map(|t| t.task_arn().unwrap().to_owned()).collect()
    };
    assert_eq!(arns(&again), arns(&first), "same token, same request: same tasks");
    let conflict = run(2, "token-1").await;
    let err = conflict.unwrap_err();
    let raw = err.raw_response().unwrap();
    let body: serde_json::Value = serde_json::from_slice(raw.body().bytes().unwrap()).unwrap();
    assert_eq!(body["__type"], "ConflictException");
    assert_eq!(body["resourceIds"].as_array().unwrap().len(), 3);
    let listed = client.list_tasks().cluster("c").send().await.unwrap();
    assert_eq!(listed.task_arns().len(), 3);
    // The SDK fills a fresh token per call: plain retries make new tasks.
    fargate_task(&client, "c", "fg").send().await.unwrap();
    assert_eq!(client.list_tasks().cluster("c").send().await.unwrap().task_arns().len(), 4);
}

#[tokio::test]
async fn stop_task_and_describe() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "fg").await;
    let out = fargate_task(&client, "c", "fg")
        .tags(aws_sdk_ecs::types::Tag::builder().key("k").value("v").build())
        .send()
        .await
        .unwrap();
    let task_arn = out.tasks()[0].task_arn().unwrap().to_owned();
    let with_tags =
        client.describe_tasks().cluster("c").tasks(&task_arn).include(TaskField::Tags).send().await.unwrap();
    assert_eq!(with_tags.tasks()[0].tags()[0].key(), Some("k"));

    let stopped =
        client.stop_task().cluster("c").task(&task_arn).reason("done here").send().await.unwrap().task.unwrap();
    assert_eq!(stopped.desired_status(), Some("STOPPED"));
    assert_eq!(stopped.last_status(), Some("PROVISIONING"), "StopTask answers before lastStatus moves");
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(stopped.stopped_reason(), Some("done here"));
    assert!(stopped.stopping_at().is_some());

    let id = task_arn.rsplit('/').next().unwrap();
    let described = client
        .describe_tasks()
        .cluster("c")
        .tasks(id)
        .tasks("0123456789abcdef0123456789abcdef")
        .include(TaskField::Tags)
        .send()
        .await
        .unwrap();
    let task = &described.tasks()[0];
    assert_eq!(task.last_status(), Some("STOPPED"), "a never-started task stops at once");
    assert!(task.stopped_at().is_some());
    assert!(task.tags().is_empty(), "stopping a task deletes its tags");
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    assert_eq!(described.failures()[0].arn(), Some(arn("task/c/0123456789abcdef0123456789abcdef").as_str()));

    assert_error(
        client.stop_task().cluster("c").task("ffffffffffffffffffffffffffffffff").send().await,
        "InvalidParameterException",
        Some("The referenced task was not found."),
    );
    assert_error(client.describe_tasks().cluster("c").send().await, "InvalidParameterException", None);
    let many: Vec<String> = (0..101).map(|i| format!("{i:032x}")).collect();
    assert_error(
        client.describe_tasks().cluster("c").set_tasks(Some(many)).send().await,
        "InvalidParameterException",
        None,
    );
}

#[tokio::test]
async fn service_tasks_that_are_stopped_get_replaced() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "fg").await;
    fargate_service(&client, "c", "s", "fg").desired_count(1).send().await.unwrap();
    let before = client.list_tasks().cluster("c").service_name("s").send().await.unwrap();
    client.stop_task().cluster("c").task(&before.task_arns()[0]).send().await.unwrap();
    let after = client.list_tasks().cluster("c").service_name("s").send().await.unwrap();
    assert_eq!(after.task_arns().len(), 1);
    assert_ne!(after.task_arns()[0], before.task_arns()[0]);
}

#[tokio::test]
async fn list_tasks_filters_and_pages() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "fg").await;
    register_bridge(&client, "br").await;
    let instance = register_instance(&client, "c").await;
    let fargate = fargate_task(&client, "c", "fg").count(5).started_by("batch").send().await.unwrap();
    client.run_task().cluster("c").task_definition("br").send().await.unwrap();
    client.stop_task().cluster("c").task(fargate.tasks()[0].task_arn().unwrap()).send().await.unwrap();

    let all = client.list_tasks().cluster("c").send().await.unwrap();
    assert_eq!(all.task_arns().len(), 5, "desiredStatus defaults to RUNNING");
    let stopped = client.list_tasks().cluster("c").desired_status(DesiredStatus::Stopped).send().await.unwrap();
    assert_eq!(stopped.task_arns().len(), 1);
    let by_family = client.list_tasks().cluster("c").family("br").send().await.unwrap();
    assert_eq!(by_family.task_arns().len(), 1);
    let by_instance = client.list_tasks().cluster("c").container_instance(&instance).send().await.unwrap();
    assert_eq!(by_instance.task_arns(), by_family.task_arns());
    let by_launch = client.list_tasks().cluster("c").launch_type(LaunchType::Fargate).send().await.unwrap();
    assert_eq!(by_launch.task_arns().len(), 4);
    let by_starter = client.list_tasks().cluster("c").started_by("batch").send().await.unwrap();
    assert_eq!(by_starter.task_arns().len(), 4);
    let (code, _) = error(client.list_tasks().cluster("c").started_by("batch").family("fg").send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_error(client.list_tasks().cluster("c").service_name("ghost").send().await, "ServiceNotFoundException", None);

    let page = client.list_tasks().cluster("c").max_results(2).send().await.unwrap();
    assert_eq!(page.task_arns().len(), 2);
    let rest: Vec<String> = client
        .list_tasks()
        .cluster("c")
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(rest, all.task_arns());
}

#[tokio::test]
async fn start_task_on_named_instances() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "br").await;
    let small = client
        .register_container_instance()
        .cluster("c")
        .total_resources(Resource::builder().name("CPU").r#type("INTEGER").integer_value(64).build())
        .total_resources(Resource::builder().name("MEMORY").r#type("INTEGER").integer_value(4096).build())
        .send()
        .await
        .unwrap()
        .container_instance
        .unwrap()
        .container_instance_arn
        .unwrap();
    let big = register_instance(&client, "c").await;
    let out = client
        .start_task()
        .cluster("c")
        .task_definition(&td)
        .container_instances(&big)
        .container_instances(&small)
        .container_instances("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(out.tasks().len(), 1);
    assert_eq!(out.tasks()[0].container_instance_arn(), Some(big.as_str()));
    let reasons: Vec<&str> = out.failures().iter().map(|f| f.reason().unwrap()).collect();
    assert_eq!(reasons, ["RESOURCE:CPU", "MISSING"]);
    let eleven: Vec<String> = (0..11).map(|_| big.clone()).collect();
    assert_error(
        client.start_task().cluster("c").task_definition(&td).set_container_instances(Some(eleven)).send().await,
        "InvalidParameterException",
        None,
    );
}

#[tokio::test]
async fn stopped_tasks_are_forgotten_after_the_retention() {
    use std::sync::Arc;
    let clock = Arc::new(ecs_bridge::emulator::clock::ManualClock::new(1_700_000_000_000));
    let config = ecs_bridge::emulator::EmulatorConfig { clock: clock.clone(), ..Default::default() };
    let emulator = ecs_bridge::emulator::spawn(config).await.unwrap();
    let client = crate::support::client(&emulator.endpoint());
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "fg").await;
    let run = || fargate_task(&client, "c", "fg").send();
    let old = run().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    client.stop_task().cluster("c").task(&old).send().await.unwrap();
    let created = run().await.unwrap().tasks()[0].created_at().unwrap().secs();
    assert_eq!(created, 1_700_000_000, "timestamps come from the emulator's clock");
    // Within the hour the stopped task is still there.
    clock.advance_millis(30 * 60 * 1000);
    run().await.unwrap();
    let seen = client.describe_tasks().cluster("c").tasks(&old).send().await.unwrap();
    assert_eq!(seen.tasks()[0].last_status(), Some("STOPPED"));
    // After it, it is gone (MISSING), and only live tasks remain.
    clock.advance_millis(31 * 60 * 1000);
    run().await.unwrap();
    let gone = client.describe_tasks().cluster("c").tasks(&old).send().await.unwrap();
    assert!(gone.tasks().is_empty());
    assert_eq!(gone.failures()[0].reason(), Some("MISSING"));
    assert_eq!(client.list_tasks().cluster("c").send().await.unwrap().task_arns().len(), 3);
}

#[tokio::test]
async fn run_task_honours_member_of_and_distinct_instance() {
    use aws_sdk_ecs::types::{PlacementConstraint, PlacementConstraintType};
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = client
        .register_task_definition()
        .family("small")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder().name("a").image("busybox").memory(16).build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    let in_b = register_instance(&client, "c").await; // us-east-1b
    client
        .register_container_instance()
        .cluster("c")
        .instance_identity_document(r#"{"availabilityZone":"us-east-1c"}"#)
        .send()
        .await
        .unwrap();
    let member_of = PlacementConstraint::builder()
        .r#type(PlacementConstraintType::MemberOf)
        .expression("attribute:ecs.availability-zone == us-east-1b")
        .build();
    let out = client
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .count(5)
        .placement_constraints(member_of)
        .send()
        .await
        .unwrap();
    assert_eq!(out.tasks().len(), 5);
    assert!(out.tasks().iter().all(|t| t.container_instance_arn() == Some(in_b.as_str())));

    let distinct = PlacementConstraint::builder().r#type(PlacementConstraintType::DistinctInstance).build();
    let out = client
        .run_task()
        .cluster("c")
        .task_definition(&td)
        .group("one-each")
        .count(3)
        .placement_constraints(distinct)
        .send()
        .await
        .unwrap();
    assert_eq!(out.tasks().len(), 2, "two instances, one task of the group on each");
    assert_eq!(out.failures().len(), 1);

    let bad =
        PlacementConstraint::builder().r#type(PlacementConstraintType::MemberOf).expression("nonsense here").build();
    assert_error(
        client.run_task().cluster("c").task_definition(&td).placement_constraints(bad).send().await,
        "InvalidParameterException",
        None,
    );
}
