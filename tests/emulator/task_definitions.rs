//! Task definitions: registration rules, revisions, resolution, listing,
//! deregistration and deletion.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    Compatibility, ContainerCondition, ContainerDefinition, ContainerDependency, HealthCheck, NetworkMode, PortMapping,
    SortOrder, Tag, TaskDefinitionFamilyStatus, TaskDefinitionField, TaskDefinitionStatus,
};

use crate::support::{arn, assert_error, error, nginx, register_bridge, register_fargate, start};

fn container(name: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder().name(name).image("busybox").memory(128)
}

async fn register(
    client: &Client,
    family: &str,
    containers: Vec<ContainerDefinition>,
) -> Result<aws_sdk_ecs::types::TaskDefinition, (String, String)> {
    let req = client.register_task_definition().family(family).set_container_definitions(Some(containers));
    match req.send().await {
        Ok(out) => Ok(out.task_definition.unwrap()),
        Err(e) => Err(error::<(), _, _>(Err(e))),
    }
}

#[tokio::test]
async fn register_bridge_and_fargate_definitions() {
    let (_emulator, client) = start().await;
    let out = client
        .register_task_definition()
        .family("nginx")
        .container_definitions(nginx(Some(8080)))
        .tags(Tag::builder().key("app").value("nginx").build())
        .send()
        .await
        .unwrap();
    let td = out.task_definition().unwrap();
    assert_eq!(td.task_definition_arn(), Some(arn("task-definition/nginx:1").as_str()));
    assert_eq!(td.revision(), 1);
    assert_eq!(td.status(), Some(&TaskDefinitionStatus::Active));
    assert_eq!(td.compatibilities(), [Compatibility::External, Compatibility::Ec2]);
    assert!(td.network_mode().is_none(), "networkMode echoed only when given");
    assert!(td.registered_at().is_some());
    assert_eq!(td.registered_by(), Some("arn:aws:iam::000000000000:root"));
    assert_eq!(out.tags()[0].key(), Some("app"));
    let c = &td.container_definitions()[0];
    assert_eq!(c.essential(), Some(true));
    assert_eq!(c.port_mappings()[0].protocol().map(|p| p.as_str()), Some("tcp"));
    assert!(c.environment().is_empty());

    let arn2 = register_fargate(&client, "nginx-fargate").await;
    let td = client.describe_task_definition().task_definition(&arn2).send().await.unwrap().task_definition.unwrap();
    assert_eq!(td.network_mode(), Some(&NetworkMode::Awsvpc));
    assert_eq!(td.compatibilities(), [Compatibility::Ec2, Compatibility::Fargate]);
    assert_eq!(td.cpu(), Some("256"));
    assert_eq!(td.memory(), Some("512"));
    let pm = &td.container_definitions()[0].port_mappings()[0];
    assert_eq!(pm.host_port(), Some(80), "awsvpc stores hostPort = containerPort");
    assert_eq!(td.container_definitions()[0].cpu(), 128);
}

#[tokio::test]
async fn task_sizes_accept_units_and_are_stored_as_integers() {
    let (_emulator, client) = start().await;
    let td = client
        .register_task_definition()
        .family("f")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("1 vCPU")
        .memory("2 GB")
        .container_definitions(container("a").build())
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    assert_eq!(td.cpu(), Some("1024"));
    assert_eq!(td.memory(), Some("2048"));
}

#[tokio::test]
async fn revisions_count_up_and_are_never_reused() {
    let (_emulator, client) = start().await;
    for expected in 1..=3 {
        let arn = register_bridge(&client, "web").await;
        assert!(arn.ends_with(&format!("web:{expected}")));
    }
    client.deregister_task_definition().task_definition("web:3").send().await.unwrap();
    client.delete_task_definitions().task_definitions("web:3").send().await.unwrap();
    let arn = register_bridge(&client, "web").await;
    assert!(arn.ends_with("web:4"), "{arn}");
    // A bare family resolves to the latest ACTIVE revision; family:N exactly.
    client.deregister_task_definition().task_definition("web:4").send().await.unwrap();
    let latest =
        client.describe_task_definition().task_definition("web").send().await.unwrap().task_definition.unwrap();
    assert_eq!(latest.revision(), 2);
    let exact =
        client.describe_task_definition().task_definition("web:4").send().await.unwrap().task_definition.unwrap();
    assert_eq!(exact.status(), Some(&TaskDefinitionStatus::Inactive));
    let deleted = client
        .describe_task_definition()
        .task_definition(crate::support::arn("task-definition/web:3"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.task_definition.unwrap().status(), Some(&TaskDefinitionStatus::DeleteInProgress));
    assert_error(
        client.describe_task_definition().task_definition("nope").send().await,
        "ClientException",
        Some("Unable to describe task definition."),
    );
}

#[tokio::test]
async fn describe_includes_tags_only_when_asked() {
    let (_emulator, client) = start().await;
    client
        .register_task_definition()
        .family("t")
        .container_definitions(container("a").build())
        .tags(Tag::builder().key("k").value("v").build())
        .send()
        .await
        .unwrap();
    let plain = client.describe_task_definition().task_definition("t").send().await.unwrap();
    assert!(plain.tags().is_empty());
    let tagged =
        client.describe_task_definition().task_definition("t").include(TaskDefinitionField::Tags).send().await.unwrap();
    assert_eq!(tagged.tags()[0].value(), Some("v"));
}

#[tokio::test]
async fn deregister_and_delete_lifecycle() {
    let (_emulator, client) = start().await;
    register_bridge(&client, "d").await;
    assert_error(client.deregister_task_definition().task_definition("d").send().await, "ClientException", None);
    let out = client.deregister_task_definition().task_definition("d:1").send().await.unwrap().task_definition.unwrap();
    assert_eq!(out.status(), Some(&TaskDefinitionStatus::Inactive));
    assert!(out.deregistered_at().is_some());
    assert_error(
        client.describe_task_definition().task_definition("d").send().await,
        "ClientException",
        Some("Unable to describe task definition."),
    );

    register_bridge(&client, "d").await; // d:2, ACTIVE
    let out = client
        .delete_task_definitions()
        .task_definitions("d:1")
        .task_definitions("d:2")
        .task_definitions("d:99")
        .send()
        .await
        .unwrap();
    assert_eq!(out.task_definitions().len(), 1);
    assert_eq!(out.task_definitions()[0].status(), Some(&TaskDefinitionStatus::DeleteInProgress));
    assert!(out.task_definitions()[0].delete_requested_at().is_some());
    assert_eq!(out.failures().len(), 2);
    assert!(out.failures()[0].reason().unwrap().contains("ACTIVE"));
    let eleven: Vec<String> = (1..=11).map(|i| format!("d:{i}")).collect();
    assert_error(
        client.delete_task_definitions().set_task_definitions(Some(eleven)).send().await,
        "InvalidParameterException",
        None,
    );
}

#[tokio::test]
async fn list_task_definitions_filters_sorts_and_paginates() {
    let (_emulator, client) = start().await;
    for family in ["b", "a", "b", "ab", "a"] {
        register_bridge(&client, family).await;
    }
    client.deregister_task_definition().task_definition("a:1").send().await.unwrap();
    let all = client.list_task_definitions().send().await.unwrap();
    let names: Vec<&str> = all.task_definition_arns().iter().map(|a| a.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["a:2", "ab:1", "b:1", "b:2"]);
    let desc = client.list_task_definitions().sort(SortOrder::Desc).send().await.unwrap();
    let names: Vec<&str> = desc.task_definition_arns().iter().map(|a| a.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["b:2", "b:1", "ab:1", "a:2"]);
    // familyPrefix is an exact family match.
    let exact = client.list_task_definitions().family_prefix("a").send().await.unwrap();
    assert_eq!(exact.task_definition_arns().len(), 1);
    let inactive = client.list_task_definitions().status(TaskDefinitionStatus::Inactive).send().await.unwrap();
    assert_eq!(inactive.task_definition_arns(), [arn("task-definition/a:1")]);

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_task_definitions()
            .sort(SortOrder::Desc)
            .max_results(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        seen.extend(page.task_definition_arns().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, desc.task_definition_arns());

    let families = client.list_task_definition_families().family_prefix("a").send().await.unwrap();
    assert_eq!(families.families(), ["a", "ab"]);
    client.deregister_task_definition().task_definition("ab:1").send().await.unwrap();
    let active =
        client.list_task_definition_families().status(TaskDefinitionFamilyStatus::Active).send().await.unwrap();
    assert_eq!(active.families(), ["a", "b"]);
    let inactive =
        client.list_task_definition_families().status(TaskDefinitionFamilyStatus::Inactive).send().await.unwrap();
    assert_eq!(inactive.families(), ["ab"]);
    let paged = client.list_task_definition_families().max_results(1).send().await.unwrap();
    assert_eq!(paged.families(), ["a"]);
    assert!(paged.next_token().is_some());
}

#[tokio::test]
async fn container_rules() {
    let (_emulator, client) = start().await;
    let (code, msg) = register(&client, "bad family!", vec![container("a").build()]).await.unwrap_err();
    assert_eq!(code, "ClientException");
    assert!(msg.contains("Family"), "{msg}");
    assert_eq!(
        register(&client, &"f".repeat(256), vec![container("a").build()]).await.unwrap_err().0,
        "ClientException"
    );
    assert!(register(&client, &"f".repeat(255), vec![container("a").build()]).await.is_ok());

    let (code, msg) = register(&client, "f", vec![]).await.unwrap_err();
    assert_eq!((code.as_str(), msg.as_str()), ("ClientException", "Container list cannot be empty."));

    let (_, msg) =
        register(&client, "f", vec![ContainerDefinition::builder().name("a").memory(64).build()]).await.unwrap_err();
    assert_eq!(msg, "Container.image should not be null or empty.");

    let (_, msg) = register(&client, "f", vec![container("a").essential(false).build()]).await.unwrap_err();
    assert!(msg.contains("essential"), "{msg}");

    let (_, msg) = register(&client, "f", vec![container("a").build(), container("a").build()]).await.unwrap_err();
    assert!(msg.contains("Duplicate container name"), "{msg}");

    let eleven = (0..11).map(|i| container(&format!("c{i}")).build()).collect();
    assert_eq!(register(&client, "f", eleven).await.unwrap_err().0, "ClientException");
}

#[tokio::test]
async fn memory_rules() {
    let (_emulator, client) = start().await;
    let no_memory = ContainerDefinition::builder().name("web").image("nginx").build();
    let (code, msg) = register(&client, "m", vec![no_memory.clone()]).await.unwrap_err();
    assert_eq!(code, "ClientException");
    assert_eq!(
        msg,
        "Invalid setting for container 'web'. At least one of 'memory' or 'memoryReservation' must be specified."
    );
    // A task-level memory makes container memory optional.
    let ok = client.register_task_definition().family("m").memory("512").container_definitions(no_memory).send().await;
    assert!(ok.is_ok());
    // memoryReservation alone is enough.
    let soft = ContainerDefinition::builder().name("web").image("nginx").memory_reservation(64).build();
    assert!(register(&client, "m", vec![soft]).await.is_ok());
    // Hard limit must exceed the reservation.
    let inverted = ContainerDefinition::builder().name("web").image("nginx").memory(64).memory_reservation(128).build();
    assert_eq!(register(&client, "m", vec![inverted]).await.unwrap_err().0, "ClientException");
    // Container memory beyond the task's.
    let (_, msg) = error(
        client
            .register_task_definition()
            .family("m")
            .memory("256")
            .container_definitions(container("a").memory(512).build())
            .send()
            .await,
    );
    assert_eq!(msg, "The 'memory' setting for container is greater than for the task.");
}

#[tokio::test]
async fn fargate_rules() {
    let (_emulator, client) = start().await;
    let base = || {
        client
            .register_task_definition()
            .family("fg")
            .requires_compatibilities(Compatibility::Fargate)
            .container_definitions(container("a").build())
    };
    assert_error(
        base().cpu("256").memory("512").send().await,
        "ClientException",
        Some("Fargate only supports network mode \u{2018}awsvpc\u{2019}."),
    );
    assert_error(
        base().network_mode(NetworkMode::Bridge).cpu("256").memory("512").send().await,
        "ClientException",
        Some("Fargate only supports network mode \u{2018}awsvpc\u{2019}."),
    );
    assert_error(
        base().network_mode(NetworkMode::Awsvpc).memory("512").send().await,
        "ClientException",
        Some("Fargate requires that 'cpu' be defined at the task level."),
    );
    assert_error(
        base().network_mode(NetworkMode::Awsvpc).cpu("256").send().await,
        "ClientException",
        Some("Fargate requires that 'memory' be defined at the task level."),
    );
    assert_error(
        base().network_mode(NetworkMode::Awsvpc).cpu("4096").memory("4096").send().await,
        "ClientException",
        Some("No Fargate configuration exists for given values."),
    );
    // awslogs on Fargate writes with the execution role.
    let logged = || {
        let logs = aws_sdk_ecs::types::LogConfiguration::builder()
            .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
            .options("awslogs-group", "/ecs/fg")
            .build()
            .expect("log configuration");
        client
            .register_task_definition()
            .family("fg")
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512")
            .container_definitions(container("a").log_configuration(logs).build())
    };
    assert_error(
        logged().send().await,
        "ClientException",
        Some("Fargate requires task definition to have execution role ARN to support log driver awslogs."),
    );
    assert!(logged().execution_role_arn("arn:aws:iam::000000000000:role/exec").send().await.is_ok());
    for (cpu, memory) in [("256", "2048"), ("512", "4096"), ("4096", "30720"), ("8192", "61440"), ("16384", "122880")] {
        assert!(
            base().network_mode(NetworkMode::Awsvpc).cpu(cpu).memory(memory).send().await.is_ok(),
            "{cpu}/{memory}"
        );
    }
    // An awsvpc definition without a valid size is EC2-only.
    let td = client
        .register_task_definition()
        .family("vpc")
        .network_mode(NetworkMode::Awsvpc)
        .container_definitions(container("a").build())
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    assert_eq!(td.compatibilities(), [Compatibility::Ec2]);
}

#[tokio::test]
async fn port_mapping_rules_per_network_mode() {
    let (_emulator, client) = start().await;
    let mapped = |container_port: i32, host_port: Option<i32>| {
        let mut pm = PortMapping::builder().container_port(container_port);
        if let Some(h) = host_port {
            pm = pm.host_port(h);
        }
        container("web").port_mappings(pm.build()).build()
    };
    let with_mode = |mode: NetworkMode, c: ContainerDefinition| {
        client.register_task_definition().family("p").network_mode(mode).container_definitions(c).send()
    };
    assert_error(
        with_mode(NetworkMode::Awsvpc, mapped(80, Some(8080))).await,
        "ClientException",
        Some("When networkMode=awsvpc, the host ports and container ports in port mappings must match."),
    );
    assert_error(
        with_mode(NetworkMode::Host, mapped(80, Some(8080))).await,
        "ClientException",
        Some("When networkMode=host, the host ports and container ports in port mappings must match."),
    );
    assert!(with_mode(NetworkMode::Host, mapped(80, Some(80))).await.is_ok());
    assert_error(with_mode(NetworkMode::None, mapped(80, None)).await, "ClientException", None);
    let (_, msg) = error(with_mode(NetworkMode::Bridge, mapped(80, Some(22))).await);
    assert!(msg.contains("reserved"), "{msg}");
    assert!(with_mode(NetworkMode::Bridge, mapped(80, Some(0))).await.is_ok(), "0 = dynamic host port");
    assert_error(with_mode(NetworkMode::Bridge, mapped(70000, None)).await, "ClientException", None);
    let twice = container("web")
        .port_mappings(
            PortMapping::builder().container_port(53).protocol(aws_sdk_ecs::types::TransportProtocol::Tcp).build(),
        )
        .port_mappings(
            PortMapping::builder().container_port(53).protocol(aws_sdk_ecs::types::TransportProtocol::Udp).build(),
        )
        .build();
    assert_error(with_mode(NetworkMode::Bridge, twice).await, "ClientException", None);
    let links = container("web").links("db").build();
    assert_error(with_mode(NetworkMode::Awsvpc, links).await, "ClientException", None);
}

#[tokio::test]
async fn dependency_and_health_check_rules() {
    let (_emulator, client) = start().await;
    let dep = |name: &str, cond: ContainerCondition| {
        ContainerDependency::builder().container_name(name).condition(cond).build().unwrap()
    };
    let app = |d: ContainerDependency| container("app").depends_on(d).build();
    let (code, msg) = register(&client, "d", vec![app(dep("ghost", ContainerCondition::Start))]).await.unwrap_err();
    assert_eq!(code, "ClientException");
    assert!(msg.contains("ghost"), "{msg}");
    assert_eq!(
        register(&client, "d", vec![app(dep("db", ContainerCondition::Complete)), container("db").build()])
            .await
            .unwrap_err()
            .0,
        "ClientException",
        "COMPLETE on an essential container"
    );
    assert!(
        register(
            &client,
            "d",
            vec![app(dep("init", ContainerCondition::Success)), container("init").essential(false).build()]
        )
        .await
        .is_ok()
    );
    assert_eq!(
        register(&client, "d", vec![app(dep("db", ContainerCondition::Healthy)), container("db").build()])
            .await
            .unwrap_err()
            .0,
        "ClientException",
        "HEALTHY needs a health check"
    );
    let checked = container("db")
        .health_check(HealthCheck::builder().command("CMD-SHELL").command("true").build().unwrap())
        .build();
    assert!(register(&client, "d", vec![app(dep("db", ContainerCondition::Healthy)), checked]).await.is_ok());
    let bad_interval = container("db")
        .health_check(HealthCheck::builder().command("CMD").command("true").interval(1).build().unwrap())
        .build();
    assert_eq!(register(&client, "d", vec![bad_interval]).await.unwrap_err().0, "ClientException");
}

#[tokio::test]
async fn definitions_over_64_kib_are_refused() {
    let (_emulator, client) = start().await;
    let big = container("a").command("x".repeat(70 * 1024)).build();
    let (code, _) = register(&client, "big", vec![big]).await.unwrap_err();
    assert_eq!(code, "ClientException");
}
