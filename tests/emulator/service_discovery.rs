//! Cloud Map on the emulator's port, driven with `aws-sdk-servicediscovery`
//! and the AWS CLI (both JSON 1.1): namespaces, services, instances,
//! health, discovery and tags with their errors; ECS registering a
//! service's tasks as they become RUNNING and deregistering them as they
//! stop, through scale-out, a rolling update and scale-in, on a manual
//! clock; health following a task's container health; `--state-dir` and
//! reset.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{HealthCheck, KeyValuePair, ServiceRegistry};
use aws_sdk_servicediscovery::Client;
use aws_sdk_servicediscovery::types::{
    CustomHealthStatus, DnsConfig, DnsRecord, HealthCheckCustomConfig, HealthStatus, HealthStatusFilter,
    NamespaceFilter, NamespaceFilterName, NamespaceType, OperationStatus, OperationTargetType, RecordType, Tag,
};
use ecs_bridge::emulator::{EmulatorConfig, spawn};
use serde_json::{Value, json};

use crate::cli::aws;
use crate::support::{
    admin, advance, assert_error, client, discovery_client, fargate_service, nginx_builder, raw, register_fargate,
    register_fargate_container, service_tasks, start, start_with,
};

/// A private DNS namespace `local`; its id.
async fn namespace(cm: &Client) -> String {
    let op = cm.create_private_dns_namespace().name("local").vpc("vpc-1").send().await.unwrap();
    let op = cm.get_operation().operation_id(op.operation_id().unwrap()).send().await.unwrap();
    let op = op.operation().unwrap();
    assert_eq!(op.status(), Some(&OperationStatus::Success));
    op.targets().unwrap()[&OperationTargetType::Namespace].clone()
}

/// A Cloud Map service `web` with an A record (and a custom health check
/// when `custom`); its ARN and id.
async fn cm_service(cm: &Client, ns: &str, custom: bool) -> (String, String) {
    let dns = DnsConfig::builder()
        .dns_records(DnsRecord::builder().r#type(RecordType::A).ttl(10).build().unwrap())
        .build()
        .unwrap();
    let mut create = cm.create_service().name("web").namespace_id(ns).dns_config(dns);
    if custom {
        create = create.health_check_custom_config(HealthCheckCustomConfig::builder().build());
    }
    let s = create.send().await.unwrap();
    let s = s.service().unwrap();
    (s.arn().unwrap().to_owned(), s.id().unwrap().to_owned())
}

/// Instance ids and attributes of a Cloud Map service.
async fn instances(cm: &Client, service_id: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let out = cm.list_instances().service_id(service_id).send().await.unwrap();
    out.instances()
        .iter()
        .map(|i| {
            let attrs = i.attributes().map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
            (i.id().unwrap().to_owned(), attrs.unwrap_or_default())
        })
        .collect()
}

async fn health(cm: &Client, service_id: &str) -> BTreeMap<String, String> {
    let out = cm.get_instances_health_status().service_id(service_id).send().await.unwrap();
    out.status().map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().to_owned())).collect()).unwrap_or_default()
}

/// The ids of a service's tasks that are RUNNING and meant to keep running.
async fn running_ids(ecs: &aws_sdk_ecs::Client, name: &str) -> BTreeSet<String> {
    service_tasks(ecs, "demo", name, "RUNNING")
        .await
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .map(|t| t.task_arn().unwrap().rsplit('/').next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn namespaces_services_and_instances_with_their_errors() {
    let (emulator, _) = start().await;
    let cm = discovery_client(&emulator.endpoint());
    let ns = namespace(&cm).await;
    assert!(ns.starts_with("ns-") && ns.len() == 19, "{ns}");
    let got = cm.get_namespace().id(&ns).send().await.unwrap();
    let got = got.namespace().unwrap();
    assert_eq!(got.r#type(), Some(&NamespaceType::DnsPrivate));
    assert_eq!(got.arn(), Some(format!("arn:aws:servicediscovery:us-east-1:000000000000:namespace/{ns}").as_str()));
    assert!(got.properties().unwrap().dns_properties().unwrap().hosted_zone_id().is_some());
    cm.create_http_namespace().name("api").send().await.unwrap();
    let http = cm
        .list_namespaces()
        .filters(NamespaceFilter::builder().name(NamespaceFilterName::Type).values("HTTP").build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(http.namespaces().iter().map(|n| n.name().unwrap()).collect::<Vec<_>>(), ["api"]);
    assert_eq!(cm.list_namespaces().send().await.unwrap().namespaces().len(), 2);
    assert_error(
        cm.create_private_dns_namespace().name("local").vpc("vpc-1").send().await,
        "NamespaceAlreadyExists",
        None,
    );
    assert_error(cm.get_namespace().id("ns-0000000000000000").send().await, "NamespaceNotFound", None);
    assert_error(cm.get_operation().operation_id("nope").send().await, "OperationNotFound", None);

    let (arn, id) = cm_service(&cm, &ns, true).await;
    assert!(id.starts_with("srv-") && arn.ends_with(&format!(":service/{id}")), "{arn}");
    assert_error(cm.create_service().name("web").namespace_id(&ns).send().await, "ServiceAlreadyExists", None);
    assert_error(
        cm.create_service().name("x").namespace_id("ns-0000000000000000").send().await,
        "NamespaceNotFound",
        None,
    );
    assert_eq!(cm.get_namespace().id(&ns).send().await.unwrap().namespace().unwrap().service_count(), Some(1));

    // An A record needs AWS_INSTANCE_IPV4.
    assert_error(
        cm.register_instance().service_id(&id).instance_id("i-1").attributes("k", "v").send().await,
        "InvalidInput",
        None,
    );
    let op = cm
        .register_instance()
        .service_id(&id)
        .instance_id("i-1")
        .attributes("AWS_INSTANCE_IPV4", "10.0.0.9")
        .attributes("stage", "blue")
        .send()
        .await
        .unwrap();
    assert!(op.operation_id().is_some());
    cm.register_instance()
        .service_id(&id)
        .instance_id("i-2")
        .attributes("AWS_INSTANCE_IPV4", "10.0.0.10")
        .attributes("AWS_INIT_HEALTH_STATUS", "UNHEALTHY")
        .send()
        .await
        .unwrap();
    let i = cm.get_instance().service_id(&id).instance_id("i-1").send().await.unwrap();
    assert_eq!(i.instance().unwrap().attributes().unwrap()["stage"], "blue");
    assert_eq!(
        health(&cm, &id).await,
        BTreeMap::from([("i-1".into(), "HEALTHY".into()), ("i-2".into(), "UNHEALTHY".into())])
    );
    let discovered = cm.discover_instances().namespace_name("local").service_name("web").send().await.unwrap();
    assert_eq!(discovered.instances().iter().map(|i| i.instance_id().unwrap()).collect::<Vec<_>>(), ["i-1"]);
    let all = cm
        .discover_instances()
        .namespace_name("local")
        .service_name("web")
        .health_status(HealthStatusFilter::All)
        .send()
        .await
        .unwrap();
    assert_eq!(all.instances().len(), 2);
    let queried = cm
        .discover_instances()
        .namespace_name("local")
        .service_name("web")
        .health_status(HealthStatusFilter::All)
        .query_parameters("stage", "blue")
        .send()
        .await
        .unwrap();
    assert_eq!(queried.instances().len(), 1);
    cm.update_instance_custom_health_status()
        .service_id(&id)
        .instance_id("i-2")
        .status(CustomHealthStatus::Healthy)
        .send()
        .await
        .unwrap();
    let revision = discovered.instances_revision();
    let after = cm.discover_instances().namespace_name("local").service_name("web").send().await.unwrap();
    assert_eq!(after.instances().len(), 2);
    assert_eq!(after.instances()[1].health_status(), Some(&HealthStatus::Healthy));
    assert_ne!(after.instances_revision(), revision, "the revision moves with the health");
    assert_error(
        cm.discover_instances().namespace_name("nowhere").service_name("web").send().await,
        "NamespaceNotFound",
        None,
    );
    assert_error(
        cm.discover_instances().namespace_name("local").service_name("nobody").send().await,
        "ServiceNotFound",
        None,
    );
    assert_error(cm.get_instance().service_id(&id).instance_id("i-9").send().await, "InstanceNotFound", None);
    assert_error(cm.list_instances().service_id("srv-0000000000000000").send().await, "ServiceNotFound", None);

    // Custom health only where the service has it.
    let plain = cm.create_service().name("plain").namespace_id(&ns).send().await.unwrap();
    let plain = plain.service().unwrap().id().unwrap().to_owned();
    cm.register_instance().service_id(&plain).instance_id("p").attributes("k", "v").send().await.unwrap();
    assert_error(
        cm.update_instance_custom_health_status()
            .service_id(&plain)
            .instance_id("p")
            .status(CustomHealthStatus::Unhealthy)
            .send()
            .await,
        "CustomHealthNotFound",
        None,
    );
    assert_eq!(health(&cm, &plain).await["p"], "UNKNOWN");

    // Tags.
    cm.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("env").value("dev").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = cm.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("env", "dev")]);
    cm.untag_resource().resource_arn(&arn).tag_keys("env").send().await.unwrap();
    assert!(cm.list_tags_for_resource().resource_arn(&arn).send().await.unwrap().tags().is_empty());
    let unknown = "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-0000000000000000";
    assert_error(cm.list_tags_for_resource().resource_arn(unknown).send().await, "ResourceNotFoundException", None);

    // Deletion order: instances, then services, then the namespace.
    assert_error(cm.delete_service().id(&id).send().await, "ResourceInUse", None);
    assert_error(cm.delete_namespace().id(&ns).send().await, "ResourceInUse", None);
    for (service, instance) in [(&id, "i-1"), (&id, "i-2"), (&plain, "p")] {
        cm.deregister_instance().service_id(service).instance_id(instance).send().await.unwrap();
    }
    assert_error(cm.deregister_instance().service_id(&id).instance_id("i-1").send().await, "InstanceNotFound", None);
    cm.delete_service().id(&id).send().await.unwrap();
    cm.delete_service().id(&plain).send().await.unwrap();
    let op = cm.delete_namespace().id(&ns).send().await.unwrap();
    assert!(op.operation_id().is_some());
    assert_error(cm.get_namespace().id(&ns).send().await, "NamespaceNotFound", None);
}

#[tokio::test]
async fn errors_have_cloud_maps_shape() {
    let (emulator, _) = start().await;
    let endpoint = emulator.endpoint();
    let (status, body) = raw(&endpoint, Some("Route53AutoNaming_v20170314.GetNamespace"), r#"{"Id":"ns-x"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "NamespaceNotFound");
    assert!(body["Message"].as_str().is_some_and(|m| m.contains("ns-x")), "{body}");
    let (status, body) = raw(&endpoint, Some("Route53AutoNaming_v20170314.GetNamespace"), "{}").await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("InvalidInput")), "{body}");
    let (status, body) = raw(&endpoint, Some("Route53AutoNaming_v20170314.GetNamespace"), r#"{"Id": 5"#).await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("SerializationException")), "{body}");
    let (status, body) = raw(&endpoint, Some("Route53AutoNaming_v20170314.UpdateHttpNamespace"), "{}").await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("UnsupportedFeatureException")), "{body}");
    let create = r#"{"Name":"local","Vpc":"vpc-1","CreatorRequestId":"r1"}"#;
    let (status, first) = raw(&endpoint, Some("Route53AutoNaming_v20170314.CreatePrivateDnsNamespace"), create).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = raw(&endpoint, Some("Route53AutoNaming_v20170314.CreatePrivateDnsNamespace"), create).await;
    assert_eq!(status, 200, "a retry with the same CreatorRequestId succeeds: {again}");
    let other = r#"{"Name":"other","Vpc":"vpc-1","CreatorRequestId":"r1"}"#;
    let (status, body) = raw(&endpoint, Some("Route53AutoNaming_v20170314.CreatePrivateDnsNamespace"), other).await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("DuplicateRequest")), "{body}");
    assert_eq!(body["DuplicateOperationId"], first["OperationId"]);
    let (_, body) =
        raw(&endpoint, Some("Route53AutoNaming_v20170314.CreateHttpNamespace"), r#"{"Name":"local"}"#).await;
    assert_eq!(body["__type"], "NamespaceAlreadyExists");
    assert!(body["NamespaceId"].as_str().is_some_and(|id| id.starts_with("ns-")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_as_the_docs_write_it() {
    let (emulator, _) = start().await;
    let endpoint = emulator.endpoint();
    let run = |args: &[&str]| -> Value {
        let out = aws("servicediscovery", &endpoint, args);
        assert!(out.status.success(), "aws servicediscovery {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };
    let op = run(&["create-private-dns-namespace", "--name", "local", "--vpc", "vpc-1"]);
    let op = run(&["get-operation", "--operation-id", op["OperationId"].as_str().unwrap()]);
    assert_eq!(op["Operation"]["Status"], "SUCCESS");
    let ns = op["Operation"]["Targets"]["NAMESPACE"].as_str().unwrap().to_owned();
    let created = run(&[
        "create-service",
        "--name",
        "myapplication",
        "--dns-config",
        &format!("NamespaceId={ns},DnsRecords=[{{Type=A,TTL=300}}]"),
        "--health-check-custom-config",
        "FailureThreshold=1",
    ]);
    let id = created["Service"]["Id"].as_str().unwrap().to_owned();
    assert_eq!(created["Service"]["DnsConfig"]["DnsRecords"], json!([{ "Type": "A", "TTL": 300 }]));
    run(&[
        "register-instance",
        "--service-id",
        &id,
        "--instance-id",
        "myservice-53",
        "--attributes",
        "AWS_INSTANCE_IPV4=172.2.1.3,AWS_INSTANCE_PORT=808",
    ]);
    let listed = run(&["list-instances", "--service-id", &id]);
    assert_eq!(listed["Instances"][0]["Id"], "myservice-53");
    assert_eq!(listed["Instances"][0]["Attributes"]["AWS_INSTANCE_PORT"], "808");
    let health = run(&["get-instances-health-status", "--service-id", &id]);
    assert_eq!(health["Status"], json!({ "myservice-53": "HEALTHY" }));
    // DiscoverInstances goes to `data-<host>` unless told not to (no such
    // host in front of an emulator); the command itself is the docs'.
    let out = std::process::Command::new("aws")
        .args([
            "servicediscovery",
            "discover-instances",
            "--namespace-name",
            "local",
            "--service-name",
            "myapplication",
        ])
        .args(["--endpoint-url", &endpoint, "--region", "us-east-1", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "dev")
        .env("AWS_SECRET_ACCESS_KEY", "dev")
        .env("AWS_PAGER", "")
        .env("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
        .output()
        .expect("aws runs");
    assert!(out.status.success(), "discover-instances: {}", String::from_utf8_lossy(&out.stderr));
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["Instances"][0]["InstanceId"], "myservice-53");
    assert_eq!(found["Instances"][0]["HealthStatus"], "HEALTHY");
    let namespaces = run(&["list-namespaces"]);
    assert_eq!(namespaces["Namespaces"][0]["Name"], "local");
    let services = run(&["list-services"]);
    assert_eq!(services["Services"][0]["Name"], "myapplication");
    let out = aws("servicediscovery", &endpoint, &["get-service", "--id", "srv-0000000000000000"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ServiceNotFound"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn instances_follow_an_ecs_service_through_scale_out_a_rolling_update_and_scale_in() {
    let (emulator, ecs) = start().await;
    let cm = discovery_client(&emulator.endpoint());
    let ns = namespace(&cm).await;
    let (registry, sid) = cm_service(&cm, &ns, false).await;
    ecs.create_cluster().cluster_name("demo").send().await.unwrap();
    register_fargate(&ecs, "web").await;
    fargate_service(&ecs, "demo", "web", "web")
        .desired_count(2)
        .service_registries(ServiceRegistry::builder().registry_arn(&registry).build())
        .send()
        .await
        .unwrap();
    assert!(instances(&cm, &sid).await.is_empty(), "nothing is RUNNING yet");
    advance(&emulator, 5.0).await;
    let running = running_ids(&ecs, "web").await;
    assert_eq!(running.len(), 2);
    let registered = instances(&cm, &sid).await;
    assert_eq!(registered.keys().cloned().collect::<BTreeSet<_>>(), running, "instance id = task id");
    let task = &service_tasks(&ecs, "demo", "web", "RUNNING").await[0];
    let id = task.task_arn().unwrap().rsplit('/').next().unwrap();
    let ip = task.containers()[0].network_interfaces()[0].private_ipv4_address().unwrap();
    let attrs = &registered[id];
    assert_eq!(attrs["AWS_INSTANCE_IPV4"], ip, "the task's ENI address");
    assert_eq!(attrs["ECS_CLUSTER_NAME"], "demo");
    assert_eq!(attrs["ECS_SERVICE_NAME"], "web");
    assert_eq!(attrs["ECS_TASK_DEFINITION_FAMILY"], "web");
    assert_eq!(attrs["REGION"], "us-east-1");
    assert_eq!(Some(attrs["AVAILABILITY_ZONE"].as_str()), task.availability_zone());
    assert!(!attrs.contains_key("AWS_INSTANCE_PORT") && !attrs.contains_key("EC2_INSTANCE_ID"), "{attrs:?}");
    let found = cm.discover_instances().namespace_name("local").service_name("web").send().await.unwrap();
    assert_eq!(found.instances().len(), 2, "no health check: UNKNOWN counts as healthy");

    // Scale out.
    ecs.update_service().cluster("demo").service("web").desired_count(4).send().await.unwrap();
    advance(&emulator, 5.0).await;
    let running = running_ids(&ecs, "web").await;
    assert_eq!(running.len(), 4);
    assert_eq!(instances(&cm, &sid).await.keys().cloned().collect::<BTreeSet<_>>(), running);

    // A rolling update: the new revision's tasks come in, the old go out.
    let old = running;
    register_fargate(&ecs, "web").await;
    ecs.update_service().cluster("demo").service("web").task_definition("web:2").send().await.unwrap();
    advance(&emulator, 120.0).await;
    let running = running_ids(&ecs, "web").await;
    assert_eq!(running.len(), 4);
    assert!(running.is_disjoint(&old), "every task was replaced");
    let now = instances(&cm, &sid).await;
    assert_eq!(now.keys().cloned().collect::<BTreeSet<_>>(), running, "old deregistered, new registered");

    // Scale in: stopping tasks are deregistered.
    ecs.update_service().cluster("demo").service("web").desired_count(1).send().await.unwrap();
    advance(&emulator, 60.0).await;
    let running = running_ids(&ecs, "web").await;
    assert_eq!(running.len(), 1);
    assert_eq!(instances(&cm, &sid).await.keys().cloned().collect::<BTreeSet<_>>(), running);

    // ListServicesByNamespace takes the namespace's ARN, id or name... for
    // Service Connect services; a registry does not put a service there.
    let listed = ecs.list_services_by_namespace().namespace(&ns).send().await.unwrap();
    assert!(listed.service_arns().is_empty());

    // Deleting the service drains it: Cloud Map empties.
    ecs.update_service().cluster("demo").service("web").desired_count(0).send().await.unwrap();
    ecs.delete_service().cluster("demo").service("web").send().await.unwrap();
    advance(&emulator, 60.0).await;
    assert!(instances(&cm, &sid).await.is_empty());
    cm.delete_service().id(&sid).send().await.unwrap();
}

#[tokio::test]
async fn bridge_tasks_register_their_instance_address_and_host_port() {
    let (emulator, ecs) = start_with(EmulatorConfig { ec2_capacity: 1, ..EmulatorConfig::manual() }).await;
    let cm = discovery_client(&emulator.endpoint());
    let ns = namespace(&cm).await;
    let dns = DnsConfig::builder()
        .dns_records(DnsRecord::builder().r#type(RecordType::Srv).ttl(10).build().unwrap())
        .build()
        .unwrap();
    let created = cm.create_service().name("web").namespace_id(&ns).dns_config(dns).send().await.unwrap();
    let (registry, sid) = {
        let s = created.service().unwrap();
        (s.arn().unwrap().to_owned(), s.id().unwrap().to_owned())
    };
    ecs.create_cluster().cluster_name("demo").send().await.unwrap();
    crate::support::register_bridge(&ecs, "web").await;
    // An SRV record needs a port.
    assert_error(
        ecs.create_service()
            .cluster("demo")
            .service_name("web")
            .task_definition("web")
            .desired_count(1)
            .service_registries(ServiceRegistry::builder().registry_arn(&registry).build())
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
    ecs.create_service()
        .cluster("demo")
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .service_registries(
            ServiceRegistry::builder().registry_arn(&registry).container_name("web").container_port(80).build(),
        )
        .send()
        .await
        .unwrap();
    advance(&emulator, 10.0).await;
    let registered = instances(&cm, &sid).await;
    assert_eq!(registered.len(), 1, "{registered:?}");
    let attrs = registered.values().next().unwrap();
    assert_eq!(attrs["AWS_INSTANCE_PORT"], "8080", "the host port bound to container port 80");
    assert!(attrs["AWS_INSTANCE_IPV4"].starts_with("172.31."), "{attrs:?}");
    assert!(attrs["EC2_INSTANCE_ID"].starts_with("i-"), "{attrs:?}");
}

#[tokio::test]
async fn service_registries_are_validated_as_ecs_does() {
    let (emulator, ecs) = start().await;
    let cm = discovery_client(&emulator.endpoint());
    let ns = namespace(&cm).await;
    let (registry, _) = cm_service(&cm, &ns, false).await;
    ecs.create_cluster().cluster_name("demo").send().await.unwrap();
    register_fargate(&ecs, "web").await;
    let with = |arn: &str, port: Option<i32>| {
        let mut r = ServiceRegistry::builder().registry_arn(arn);
        if let Some(p) = port {
            r = r.port(p);
        }
        fargate_service(&ecs, "demo", "web", "web").desired_count(1).service_registries(r.build())
    };
    let ns_arn = format!("arn:aws:servicediscovery:us-east-1:000000000000:namespace/{ns}");
    assert_error(
        with(&ns_arn, None).send().await,
        "InvalidParameterException",
        Some(&format!("The format of the supplied service registry ARN is invalid: {ns_arn}.")),
    );
    let missing = "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-0000000000000000";
    assert_error(with(missing, None).send().await, "InvalidParameterException", None);
    assert_error(
        with(&registry, Some(80)).send().await,
        "InvalidParameterException",
        Some("A port was provided but is not required by the specified service registry."),
    );
    with(&registry, None).send().await.unwrap();
    assert_error(
        ecs.update_service()
            .cluster("demo")
            .service("web")
            .service_registries(ServiceRegistry::builder().registry_arn(missing).build())
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
}

#[tokio::test]
async fn health_follows_an_unhealthy_task() {
    let (emulator, ecs) = start().await;
    let cm = discovery_client(&emulator.endpoint());
    let ns = namespace(&cm).await;
    let (registry, sid) = cm_service(&cm, &ns, true).await;
    ecs.create_cluster().cluster_name("demo").send().await.unwrap();
    // A container health check that fails from 1 s after RUNNING.
    let check = HealthCheck::builder()
        .command("CMD-SHELL")
        .command("curl -f localhost")
        .interval(5)
        .retries(2)
        .build()
        .unwrap();
    let container = nginx_builder(None)
        .health_check(check)
        .environment(KeyValuePair::builder().name("ECS_EMULATOR_FAIL_HEALTHCHECK_AFTER").value("1").build())
        .build();
    register_fargate_container(&ecs, "web", container).await;
    fargate_service(&ecs, "demo", "web", "web")
        .desired_count(1)
        .health_check_grace_period_seconds(60)
        .service_registries(ServiceRegistry::builder().registry_arn(&registry).build())
        .send()
        .await
        .unwrap();
    advance(&emulator, 3.0).await;
    let id = running_ids(&ecs, "web").await.into_iter().next().expect("a RUNNING task");
    assert_eq!(health(&cm, &sid).await, BTreeMap::from([(id.clone(), "HEALTHY".to_owned())]), "health UNKNOWN");
    advance(&emulator, 20.0).await;
    let task = &service_tasks(&ecs, "demo", "web", "RUNNING").await[0];
    assert_eq!(task.health_status().map(|h| h.as_str()), Some("UNHEALTHY"));
    assert_eq!(health(&cm, &sid).await, BTreeMap::from([(id.clone(), "UNHEALTHY".to_owned())]));
    let healthy = cm.discover_instances().namespace_name("local").service_name("web").send().await.unwrap();
    assert!(healthy.instances().is_empty());
    let fallback = cm
        .discover_instances()
        .namespace_name("local")
        .service_name("web")
        .health_status(HealthStatusFilter::HealthyOrElseAll)
        .send()
        .await
        .unwrap();
    assert_eq!(fallback.instances().len(), 1, "failing open");
    // After the grace period the task is replaced: the old instance goes.
    advance(&emulator, 45.0).await;
    let now = instances(&cm, &sid).await;
    assert!(!now.contains_key(&id), "{now:?}");
}

#[tokio::test]
async fn registrations_survive_a_restart_and_reset_clears_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::manual() };
    let (emulator, ecs) = start_with(config.clone()).await;
    let cm = discovery_client(&emulator.endpoint());
    let ns = namespace(&cm).await;
    let (registry, sid) = cm_service(&cm, &ns, true).await;
    cm.tag_resource()
        .resource_arn(&registry)
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap();
    ecs.create_cluster().cluster_name("demo").send().await.unwrap();
    register_fargate(&ecs, "web").await;
    fargate_service(&ecs, "demo", "web", "web")
        .desired_count(2)
        .service_registries(ServiceRegistry::builder().registry_arn(&registry).build())
        .send()
        .await
        .unwrap();
    advance(&emulator, 5.0).await;
    let before = instances(&cm, &sid).await;
    assert_eq!(before.len(), 2);
    emulator.shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let cm = discovery_client(&emulator.endpoint());
    assert_eq!(instances(&cm, &sid).await, before);
    assert_eq!(cm.get_service().id(&sid).send().await.unwrap().service().unwrap().instance_count(), Some(2));
    assert_eq!(cm.list_tags_for_resource().resource_arn(&registry).send().await.unwrap().tags().len(), 1);
    // ECS keeps registering after the restart.
    let ecs = client(&emulator.endpoint());
    ecs.update_service().cluster("demo").service("web").desired_count(3).send().await.unwrap();
    advance(&emulator, 5.0).await;
    assert_eq!(instances(&cm, &sid).await.len(), 3);

    let (status, _) = admin(&emulator.endpoint(), reqwest::Method::POST, "reset", json!({})).await;
    assert_eq!(status, 200);
    assert!(cm.list_namespaces().send().await.unwrap().namespaces().is_empty());
    emulator.shutdown().await.unwrap();
    let emulator =
        spawn(EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::manual() }).await.unwrap();
    let cm = discovery_client(&emulator.endpoint());
    assert!(cm.list_namespaces().send().await.unwrap().namespaces().is_empty(), "the reset is durable");
}
