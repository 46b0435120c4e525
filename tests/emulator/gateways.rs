//! Gateways and Express gateway services: their records, statuses and
//! transitions, cluster associations, ECS's errors, the AWS CLI (which
//! knows Express services) and the records surviving a restart.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    DescribeGatewayConfiguration, ExpressGatewayContainer, ExpressGatewayServiceInclude,
    ExpressGatewayServiceStatusCode, GatewayClusterAssociationStatus, GatewayConfiguration, GatewayElbScheme,
    GatewayStatus, HostSharedAlbConfiguration, UpdateGatewayAlbConfiguration, UpdateGatewayConfiguration,
};
use ecs_bridge::emulator::{EmulatorConfig, spawn};

use crate::cli::aws_ecs;
use crate::support::{advance, arn, assert_error, client, start};

const ROLE: &str = "arn:aws:iam::000000000000:role/ecsInfrastructureRole";

fn alb(scheme: GatewayElbScheme) -> GatewayConfiguration {
    GatewayConfiguration::HostSharedAlb(HostSharedAlbConfiguration::builder().scheme(scheme).build())
}

async fn create_gateway(client: &Client, name: &str) -> String {
    let out = client
        .create_gateway()
        .name(name)
        .infrastructure_role_arn(ROLE)
        .configuration(alb(GatewayElbScheme::Internal))
        .tags(aws_sdk_ecs::types::Tag::builder().key("team").value("edge").build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), Some(&GatewayStatus::Active));
    assert_eq!(out.name(), Some(name));
    out.gateway_arn.unwrap()
}

async fn gateway_status(client: &Client, gateway: &str) -> GatewayStatus {
    let g = client.describe_gateway().gateway(gateway).send().await.unwrap().gateway.unwrap();
    g.status().unwrap().clone()
}

#[tokio::test]
async fn a_gateway_is_created_updated_and_deleted_with_ecs_statuses() {
    let (emulator, client) = start().await;
    let gateway = create_gateway(&client, "edge").await;
    assert_eq!(gateway, arn("gateway/edge"));

    let described = client.describe_gateway().gateway("edge").send().await.unwrap().gateway.unwrap();
    assert_eq!(described.gateway_arn(), Some(gateway.as_str()));
    assert_eq!(described.deletion_protection(), Some(true), "protected by default");
    assert_eq!(described.access_type().unwrap().as_str(), "PRIVATE", "internal scheme");
    assert_eq!(described.propagate_tags().unwrap().as_str(), "GATEWAY");
    assert_eq!(described.tags()[0].key(), Some("team"));
    let Some(DescribeGatewayConfiguration::HostSharedAlb(config)) = described.configuration() else {
        panic!("a hostSharedAlb configuration: {described:?}")
    };
    assert_eq!(config.port(), Some(443));
    assert_eq!(config.max_alb_count(), Some(10));
    assert_eq!(config.current_alb_count(), Some(0));
    assert_eq!(config.scheme(), Some(&GatewayElbScheme::Internal));

    // Same name again: refused, unless it is the same request (client token).
    assert_error(
        client
            .create_gateway()
            .name("edge")
            .infrastructure_role_arn(ROLE)
            .configuration(alb(GatewayElbScheme::InternetFacing))
            .send()
            .await,
        "InvalidParameterException",
        None,
    );

    // An update is in progress for a while, then complete.
    let update = client
        .update_gateway()
        .gateway(&gateway)
        .configuration(UpdateGatewayConfiguration::HostSharedAlb(
            UpdateGatewayAlbConfiguration::builder().max_alb_count(3).build(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(update.status(), Some(&GatewayStatus::UpdateInProgress));
    assert_eq!(gateway_status(&client, "edge").await, GatewayStatus::UpdateInProgress);
    assert_error(client.update_gateway().gateway("edge").send().await, "InvalidParameterException", None);
    advance(&emulator, 6.0).await;
    assert_eq!(gateway_status(&client, "edge").await, GatewayStatus::UpdateComplete);
    let described = client.describe_gateway().gateway("edge").send().await.unwrap().gateway.unwrap();
    let Some(DescribeGatewayConfiguration::HostSharedAlb(config)) = described.configuration() else { panic!() };
    assert_eq!(config.max_alb_count(), Some(3));
    assert_eq!(config.scheme(), Some(&GatewayElbScheme::Internal), "kept");

    // Deletion protection, then deleted.
    assert_error(client.delete_gateway().gateway("edge").send().await, "InvalidParameterException", None);
    client.update_gateway().gateway("edge").deletion_protection(false).send().await.unwrap();
    advance(&emulator, 6.0).await;
    let deleted = client.delete_gateway().gateway("edge").send().await.unwrap();
    assert_eq!(deleted.status(), Some(&GatewayStatus::Deleted));
    assert_eq!(gateway_status(&client, &gateway).await, GatewayStatus::Deleted);
    assert!(client.list_gateways().send().await.unwrap().gateways().is_empty());
    let listed = client.list_gateways().status(GatewayStatus::Deleted).send().await.unwrap();
    assert_eq!(listed.gateways()[0].gateway_arn(), Some(gateway.as_str()));
    assert_error(client.delete_gateway().gateway("edge").send().await, "GatewayNotFoundException", None);
    assert_error(
        client.describe_gateway().gateway("nope").send().await,
        "GatewayNotFoundException",
        Some("Gateway not found."),
    );
}

#[tokio::test]
async fn gateways_are_listed_associated_with_clusters_and_have_no_routes() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let a = create_gateway(&client, "a").await;
    let b = create_gateway(&client, "b").await;
    let page = client.list_gateways().max_results(1).send().await.unwrap();
    assert_eq!(page.gateways()[0].gateway_arn(), Some(a.as_str()));
    let rest = client.list_gateways().next_token(page.next_token().unwrap()).send().await.unwrap();
    assert_eq!(rest.gateways()[0].gateway_arn(), Some(b.as_str()));
    assert!(rest.next_token().is_none());
    let named = client.list_gateways().names("b").send().await.unwrap();
    assert_eq!(named.gateways().len(), 1);
    client
        .tag_resource()
        .resource_arn(&b)
        .tags(aws_sdk_ecs::types::Tag::builder().key("stage").value("prod").build())
        .send()
        .await
        .unwrap();
    let tags = client.list_tags_for_resource().resource_arn(&b).send().await.unwrap();
    let keys: Vec<&str> = tags.tags().iter().filter_map(|t| t.key()).collect();
    assert_eq!(keys, vec!["team", "stage"]);

    let out = client.associate_gateway_with_cluster().gateway("a").cluster("c").send().await.unwrap();
    assert_eq!(out.status(), Some(&GatewayClusterAssociationStatus::Active));
    assert_eq!(out.cluster_arn(), Some(arn("cluster/c").as_str()));
    client.associate_gateway_with_cluster().gateway(&b).cluster(arn("cluster/c")).send().await.unwrap();
    assert_error(
        client.associate_gateway_with_cluster().gateway("a").cluster("missing").send().await,
        "ClusterNotFoundException",
        None,
    );
    assert_error(
        client.associate_gateway_with_cluster().gateway("zz").cluster("c").send().await,
        "GatewayNotFoundException",
        None,
    );
    let associations = client.list_gateway_cluster_associations().cluster("c").send().await.unwrap();
    assert_eq!(associations.gateway_cluster_associations().len(), 2);
    let of_a = client.list_gateway_cluster_associations().gateway("a").send().await.unwrap();
    assert_eq!(of_a.gateway_cluster_associations()[0].gateway_arn(), Some(a.as_str()));

    // An associated gateway cannot be deleted.
    client.update_gateway().gateway("a").deletion_protection(false).send().await.unwrap();
    assert_error(client.delete_gateway().gateway("a").send().await, "InvalidParameterException", None);
    let gone = client.disassociate_gateway_from_cluster().gateway("a").cluster("c").send().await.unwrap();
    assert_eq!(gone.status(), Some(&GatewayClusterAssociationStatus::Disassociating));
    assert_error(
        client.disassociate_gateway_from_cluster().gateway("a").cluster("c").send().await,
        "ResourceNotFoundException",
        None,
    );
    let left = client.list_gateway_cluster_associations().send().await.unwrap();
    assert_eq!(left.gateway_cluster_associations().len(), 1);

    // No service routes through a gateway here.
    let routes = client.list_gateway_routes().gateway("b").send().await.unwrap();
    assert!(routes.gateway_routes().is_empty());
    assert_error(client.list_gateway_routes().gateway("zz").send().await, "GatewayNotFoundException", None);
    assert_error(
        client.describe_gateway_route().gateway_route_arn(arn("gateway-route/b/1")).send().await,
        "ResourceNotFoundException",
        None,
    );
    let resources = client.describe_gateway_resources().gateway("b").send().await.unwrap();
    let resources = resources.gateway_resources().unwrap();
    assert_eq!(resources.gateway_arn(), Some(b.as_str()));
    assert_error(client.describe_gateway_resources().gateway("zz").send().await, "GatewayNotFoundException", None);
}

fn app_container() -> ExpressGatewayContainer {
    ExpressGatewayContainer::builder().image("public.ecr.aws/nginx/nginx:latest").container_port(8080).build().unwrap()
}

#[tokio::test]
async fn an_express_service_is_created_updated_and_drained() {
    let (emulator, client) = start().await;
    assert_error(
        client
            .create_express_gateway_service()
            .execution_role_arn(ROLE)
            .infrastructure_role_arn(ROLE)
            .primary_container(app_container())
            .send()
            .await,
        "ClusterNotFoundException",
        Some("Cluster not found."),
    );
    client.create_cluster().cluster_name("default").send().await.unwrap();
    let created = client
        .create_express_gateway_service()
        .service_name("shop")
        .execution_role_arn(ROLE)
        .infrastructure_role_arn(ROLE)
        .primary_container(app_container())
        .tags(aws_sdk_ecs::types::Tag::builder().key("app").value("shop").build())
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    let service = created.service_arn().unwrap().to_owned();
    assert_eq!(service, arn("service/default/shop"));
    assert_eq!(created.status().unwrap().status_code(), Some(&ExpressGatewayServiceStatusCode::Active));
    let config = &created.active_configurations()[0];
    assert_eq!(config.cpu(), Some("256"));
    assert_eq!(config.memory(), Some("512"));
    assert_eq!(config.health_check_path(), Some("/ping"));
    assert_eq!(config.primary_container().unwrap().container_port(), Some(8080));
    let endpoint = config.ingress_paths()[0].endpoint();
    assert!(endpoint.starts_with("shop-") && endpoint.ends_with(".ecs.us-east-1.on.aws"), "{endpoint}");
    let first_revision = config.service_revision_arn().unwrap().to_owned();

    assert_error(
        client
            .create_express_gateway_service()
            .service_name("shop")
            .execution_role_arn(ROLE)
            .infrastructure_role_arn(ROLE)
            .primary_container(app_container())
            .send()
            .await,
        "InvalidParameterException",
        None,
    );

    let updated = client.update_express_gateway_service().service_arn(&service).cpu("1024").memory("2048").send().await;
    let updated = updated.unwrap().service.unwrap();
    let target = updated.target_configuration().unwrap();
    assert_eq!(target.cpu(), Some("1024"));
    assert_eq!(target.health_check_path(), Some("/ping"), "kept");
    assert_ne!(target.service_revision_arn(), Some(first_revision.as_str()));

    let described = client.describe_express_gateway_service().service_arn(&service).send().await.unwrap();
    let described = described.service.unwrap();
    assert_eq!(described.active_configurations()[0].cpu(), Some("1024"));
    assert!(described.tags().is_empty(), "tags only when asked for");
    let with_tags = client
        .describe_express_gateway_service()
        .service_arn(&service)
        .include(ExpressGatewayServiceInclude::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(with_tags.service.unwrap().tags()[0].key(), Some("app"));

    let deleted = client.delete_express_gateway_service().service_arn(&service).send().await.unwrap();
    assert_eq!(
        deleted.service.unwrap().status().unwrap().status_code(),
        Some(&ExpressGatewayServiceStatusCode::Draining)
    );
    assert_error(
        client.update_express_gateway_service().service_arn(&service).cpu("512").send().await,
        "ServiceNotActiveException",
        None,
    );
    advance(&emulator, 6.0).await;
    let after = client.describe_express_gateway_service().service_arn(&service).send().await.unwrap();
    assert_eq!(
        after.service.unwrap().status().unwrap().status_code(),
        Some(&ExpressGatewayServiceStatusCode::Inactive)
    );
    assert_error(
        client.describe_express_gateway_service().service_arn(arn("service/default/none")).send().await,
        "ResourceNotFoundException",
        None,
    );
    assert_error(
        client.delete_express_gateway_service().service_arn(arn("service/default/none")).send().await,
        "ServiceNotFoundException",
        Some("Service not found."),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_manages_an_express_service() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let endpoint = emulator.endpoint();
    let created = aws_ecs(
        &endpoint,
        &[
            "create-express-gateway-service",
            "--cluster",
            "c",
            "--service-name",
            "api",
            "--execution-role-arn",
            ROLE,
            "--infrastructure-role-arn",
            ROLE,
            "--primary-container",
            r#"{"image":"nginx:latest"}"#,
        ],
    )
    .unwrap();
    let service = created["service"]["serviceArn"].as_str().unwrap().to_owned();
    assert_eq!(created["service"]["activeConfigurations"][0]["primaryContainer"]["containerPort"], 80);
    let described = aws_ecs(&endpoint, &["describe-express-gateway-service", "--service-arn", &service]).unwrap();
    assert_eq!(described["service"]["status"]["statusCode"], "ACTIVE");
    let err =
        aws_ecs(&endpoint, &["describe-express-gateway-service", "--service-arn", &arn("service/c/x")]).unwrap_err();
    assert!(err.contains("ResourceNotFoundException"), "{err}");
}

#[tokio::test]
async fn gateways_and_express_services_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::default() };
    let emulator = spawn(config.clone()).await.unwrap();
    let c = client(&emulator.endpoint());
    c.create_cluster().cluster_name("c").send().await.unwrap();
    let gateway = create_gateway(&c, "edge").await;
    c.associate_gateway_with_cluster().gateway("edge").cluster("c").send().await.unwrap();
    let service = c
        .create_express_gateway_service()
        .cluster("c")
        .service_name("shop")
        .execution_role_arn(ROLE)
        .infrastructure_role_arn(ROLE)
        .primary_container(app_container())
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    emulator.shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let c = client(&emulator.endpoint());
    let g = c.describe_gateway().gateway("edge").send().await.unwrap().gateway.unwrap();
    assert_eq!(g.gateway_arn(), Some(gateway.as_str()));
    let associations = c.list_gateway_cluster_associations().send().await.unwrap();
    assert_eq!(associations.gateway_cluster_associations().len(), 1);
    let after = c.describe_express_gateway_service().service_arn(service.service_arn().unwrap()).send().await.unwrap();
    assert_eq!(
        after.service.unwrap().active_configurations()[0].service_revision_arn(),
        service.active_configurations()[0].service_revision_arn()
    );
}
