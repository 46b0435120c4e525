//! Container instances and attributes.

use aws_sdk_ecs::types::{Attribute, ContainerInstanceField, ContainerInstanceStatus, TargetType};

use crate::support::{arn, assert_error, register_bridge, register_instance, start};

#[tokio::test]
async fn register_describe_list_and_drain() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let first = register_instance(&client, "c").await;
    let id = first.rsplit('/').next().unwrap();
    assert_eq!(id.len(), 32);
    assert!(first.starts_with(&arn("container-instance/c/")));
    let second = register_instance(&client, "c").await;

    let described = client
        .describe_container_instances()
        .cluster("c")
        .container_instances(id)
        .container_instances("ffffffffffffffffffffffffffffffff")
        .send()
        .await
        .unwrap();
    let ci = &described.container_instances()[0];
    assert_eq!(ci.status(), Some("ACTIVE"));
    assert!(ci.agent_connected());
    assert_eq!(ci.ec2_instance_id(), Some("i-0abc1234def567890"));
    assert!(ci.attributes().iter().any(|a| a.name() == "ecs.availability-zone" && a.value() == Some("us-east-1b")));
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));

    let listed = client.list_container_instances().cluster("c").send().await.unwrap();
    assert_eq!(listed.container_instance_arns().len(), 2);

    let drained = client
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&first)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    assert_eq!(drained.container_instances()[0].status(), Some("DRAINING"));
    let draining =
        client.list_container_instances().cluster("c").status(ContainerInstanceStatus::Draining).send().await.unwrap();
    assert_eq!(draining.container_instance_arns(), std::slice::from_ref(&first));
    assert_error(
        client
            .update_container_instances_state()
            .cluster("c")
            .container_instances(&first)
            .status(ContainerInstanceStatus::Registering)
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
    // A DRAINING instance takes no new tasks.
    let td = register_bridge(&client, "web").await;
    let out = client.run_task().cluster("c").task_definition(&td).count(1).send().await.unwrap();
    assert_eq!(out.tasks()[0].container_instance_arn(), Some(second.as_str()));

    let page = client
        .list_container_instances()
        .cluster("c")
        .status(ContainerInstanceStatus::Active)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.container_instance_arns().len(), 1);
    assert!(page.next_token().is_none());
}

#[tokio::test]
async fn deregister_needs_force_with_running_tasks() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let instance = register_instance(&client, "c").await;
    let td = register_bridge(&client, "web").await;
    let task = client.run_task().cluster("c").task_definition(&td).send().await.unwrap();
    let task_arn = task.tasks()[0].task_arn().unwrap().to_owned();
    assert_error(
        client.deregister_container_instance().cluster("c").container_instance(&instance).send().await,
        "InvalidParameterException",
        None,
    );
    let out = client
        .deregister_container_instance()
        .cluster("c")
        .container_instance(&instance)
        .force(true)
        .send()
        .await
        .unwrap();
    assert_eq!(out.container_instance.unwrap().status(), Some("INACTIVE"));
    assert!(client.list_container_instances().cluster("c").send().await.unwrap().container_instance_arns().is_empty());
    let task = client.describe_tasks().cluster("c").tasks(&task_arn).send().await.unwrap();
    assert_eq!(task.tasks()[0].stopped_reason(), Some("Container instance deregistration forced by user"));
}

#[tokio::test]
async fn list_filter_uses_the_cluster_query_language() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let a = register_instance(&client, "c").await;
    let b = client
        .register_container_instance()
        .cluster("c")
        .instance_identity_document(
            r#"{"instanceId":"i-0fff","availabilityZone":"us-east-1d","instanceType":"g2.2xlarge"}"#,
        )
        .send()
        .await
        .unwrap()
        .container_instance
        .unwrap()
        .container_instance_arn
        .unwrap();
    let query = |filter: &str| client.list_container_instances().cluster("c").filter(filter).send();
    let gpu = query("attribute:ecs.instance-type =~ g2.*").await.unwrap();
    assert_eq!(gpu.container_instance_arns(), std::slice::from_ref(&b));
    let az = query("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]").await.unwrap();
    assert_eq!(az.container_instance_arns(), std::slice::from_ref(&a));
    let not_b = query("not(ec2InstanceId == i-0fff)").await.unwrap();
    assert_eq!(not_b.container_instance_arns(), std::slice::from_ref(&a));
    assert_error(query("bogus ~~ 1").await, "InvalidParameterException", None);
}

/// Multi-byte input is cut at characters, never inside one: a filter of 700
/// `€` (2,100 bytes) and one past ECS's 2,000-character limit both get
/// ECS's error, not a panic and a 500.
#[tokio::test]
async fn a_long_multibyte_filter_is_an_invalid_parameter_not_a_panic() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let query = |filter: String| client.list_container_instances().cluster("c").filter(filter).send();
    assert_error(query("€".repeat(700)).await, "InvalidParameterException", None);
    let long = query("€".repeat(2001)).await;
    let (code, message) = crate::support::error(long);
    assert_eq!(code, "InvalidParameterException", "{message}");
    assert!(message.contains(&"€".repeat(40)) && message.contains("longer than 2000 characters"), "{message}");
}

#[tokio::test]
async fn attributes_put_list_delete() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let instance = register_instance(&client, "c").await;
    let attr =
        |name: &str, value: &str| Attribute::builder().name(name).value(value).target_id(&instance).build().unwrap();
    let out = client
        .put_attributes()
        .cluster("c")
        .attributes(attr("stack", "prod"))
        .attributes(attr("color", "blue"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.attributes().len(), 2);
    let listed = client
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .attribute_name("stack")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.attributes().len(), 1);
    assert_eq!(listed.attributes()[0].value(), Some("prod"));
    assert_eq!(listed.attributes()[0].target_id(), Some(instance.as_str()));
    let by_value = client
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .attribute_name("color")
        .attribute_value("red")
        .send()
        .await
        .unwrap();
    assert!(by_value.attributes().is_empty());
    let all = client
        .list_attributes()
        .cluster("c")
        .target_type(TargetType::ContainerInstance)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(all.attributes().len(), 2);
    assert!(all.next_token().is_some(), "agent attributes are listed too");

    client.delete_attributes().cluster("c").attributes(attr("stack", "prod")).send().await.unwrap();
    let described = client
        .describe_container_instances()
        .cluster("c")
        .container_instances(&instance)
        .include(ContainerInstanceField::ContainerInstanceHealth)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = described.container_instances()[0].attributes().iter().map(|a| a.name()).collect();
    assert!(names.contains(&"color") && !names.contains(&"stack"));

    let unknown =
        Attribute::builder().name("x").value("y").target_id("0123456789abcdef0123456789abcdef").build().unwrap();
    assert_error(
        client.put_attributes().cluster("c").attributes(unknown).send().await,
        "TargetNotFoundException",
        None,
    );
    let eleven: Vec<Attribute> = (0..11).map(|i| attr(&format!("a{i}"), "v")).collect();
    assert_error(
        client.put_attributes().cluster("c").set_attributes(Some(eleven)).send().await,
        "AttributeLimitExceededException",
        None,
    );
    // Ten custom attributes per instance in total.
    let nine: Vec<Attribute> = (0..9).map(|i| attr(&format!("b{i}"), "v")).collect();
    client.put_attributes().cluster("c").set_attributes(Some(nine)).send().await.unwrap();
    assert_error(
        client.put_attributes().cluster("c").attributes(attr("one-too-many", "v")).send().await,
        "AttributeLimitExceededException",
        None,
    );
}

#[tokio::test]
async fn draining_an_instance_moves_pending_service_tasks() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let first = register_instance(&client, "c").await;
    let td = client
        .register_task_definition()
        .family("svc")
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
    client.create_service().cluster("c").service_name("s").task_definition(&td).desired_count(2).send().await.unwrap();
    let second = register_instance(&client, "c").await;
    client
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&first)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    let tasks = client.list_tasks().cluster("c").service_name("s").send().await.unwrap();
    assert_eq!(tasks.task_arns().len(), 2);
    let described =
        client.describe_tasks().cluster("c").set_tasks(Some(tasks.task_arns().to_vec())).send().await.unwrap();
    assert!(described.tasks().iter().all(|t| t.container_instance_arn() == Some(second.as_str())));
}
