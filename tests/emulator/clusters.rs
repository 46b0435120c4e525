//! Clusters: create, describe (include), list + pagination, update, delete.

use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName, Tag};

use crate::support::{arn, assert_error, register_bridge, register_instance, start};

#[tokio::test]
async fn create_describe_list_delete() {
    let (_emulator, client) = start().await;
    let created = client
        .create_cluster()
        .cluster_name("web")
        .tags(Tag::builder().key("team").value("platform").build())
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    assert_eq!(created.cluster_arn(), Some(arn("cluster/web").as_str()));
    assert_eq!(created.status(), Some("ACTIVE"));
    assert_eq!(created.settings()[0].value(), Some("disabled"));
    assert_eq!(created.tags().len(), 1);

    // Same name again returns the existing cluster.
    let again = client.create_cluster().cluster_name("web").send().await.unwrap().cluster.unwrap();
    assert_eq!(again.cluster_arn(), created.cluster_arn());

    let described =
        client.describe_clusters().clusters("web").clusters(arn("cluster/web")).clusters("nope").send().await.unwrap();
    assert_eq!(described.clusters().len(), 2);
    assert!(described.clusters()[0].tags().is_empty(), "tags only with include TAGS");
    assert_eq!(described.failures().len(), 1);
    assert_eq!(described.failures()[0].arn(), Some(arn("cluster/nope").as_str()));
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));

    let with_tags = client
        .describe_clusters()
        .clusters("web")
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .include(ClusterField::Statistics)
        .send()
        .await
        .unwrap();
    let c = &with_tags.clusters()[0];
    assert_eq!(c.tags()[0].key(), Some("team"));
    assert_eq!(c.settings()[0].name().map(|n| n.as_str()), Some("containerInsights"));
    assert!(c.statistics().iter().any(|s| s.name() == Some("runningFargateTasksCount")));

    let deleted = client.delete_cluster().cluster("web").send().await.unwrap().cluster.unwrap();
    assert_eq!(deleted.status(), Some("INACTIVE"));
    assert!(client.list_clusters().send().await.unwrap().cluster_arns().is_empty());
    // INACTIVE stays describable; other calls see it as inactive.
    let described = client.describe_clusters().clusters("web").send().await.unwrap();
    assert_eq!(described.clusters()[0].status(), Some("INACTIVE"));
    assert_error(
        client.list_services().cluster("web").send().await,
        "ClusterNotFoundException",
        Some("The referenced cluster was inactive."),
    );
    // Re-creating brings it back, empty.
    let recreated = client.create_cluster().cluster_name("web").send().await.unwrap().cluster.unwrap();
    assert_eq!(recreated.status(), Some("ACTIVE"));
}

#[tokio::test]
async fn default_cluster_is_only_made_by_create_cluster() {
    let (_emulator, client) = start().await;
    assert_error(client.list_services().send().await, "ClusterNotFoundException", Some("Cluster not found."));
    let created = client.create_cluster().send().await.unwrap().cluster.unwrap();
    assert_eq!(created.cluster_name(), Some("default"));
    assert!(client.list_services().send().await.is_ok());
}

#[tokio::test]
async fn cluster_name_rules() {
    let (_emulator, client) = start().await;
    assert_error(client.create_cluster().cluster_name("bad name!").send().await, "InvalidParameterException", None);
    assert_error(client.create_cluster().cluster_name("a".repeat(256)).send().await, "InvalidParameterException", None);
    assert!(client.create_cluster().cluster_name("a".repeat(255)).send().await.is_ok());
}

#[tokio::test]
async fn list_clusters_paginates() {
    let (_emulator, client) = start().await;
    for i in 0..7 {
        client.create_cluster().cluster_name(format!("c{i}")).send().await.unwrap();
    }
    let mut all = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = client.list_clusters().max_results(3).set_next_token(token).send().await.unwrap();
        pages += 1;
        assert!(page.cluster_arns().len() <= 3);
        all.extend(page.cluster_arns().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).map(|i| arn(&format!("cluster/c{i}"))).collect();
    assert_eq!(all, expected);
    // The SDK's paginator works against it too.
    let via_paginator: Vec<String> = client
        .list_clusters()
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(via_paginator, expected);
    assert_error(client.list_clusters().max_results(101).send().await, "InvalidParameterException", None);
    assert_error(client.list_clusters().next_token("garbage!").send().await, "InvalidParameterException", None);
}

#[tokio::test]
async fn update_cluster_and_settings() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let updated = client
        .update_cluster_settings()
        .cluster("c")
        .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("enabled").build())
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    assert_eq!(updated.settings().len(), 1);
    assert_eq!(updated.settings()[0].value(), Some("enabled"));
    let updated = client
        .update_cluster()
        .cluster("c")
        .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("enhanced").build())
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    assert_eq!(updated.settings()[0].value(), Some("enhanced"));
    assert_error(
        client
            .update_cluster_settings()
            .cluster("c")
            .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("sometimes").build())
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
    assert_error(client.update_cluster().cluster("missing").send().await, "ClusterNotFoundException", None);
}

#[tokio::test]
async fn capacity_providers_must_exist_and_be_associated() {
    let (_emulator, client) = start().await;
    assert_error(
        client.create_cluster().cluster_name("c").capacity_providers("MY_ASG").send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client
            .create_cluster()
            .cluster_name("c")
            .capacity_providers("FARGATE")
            .default_capacity_provider_strategy(
                aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE_SPOT")
                    .weight(1)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "InvalidParameterException",
        None,
    );
    let c = client
        .create_cluster()
        .cluster_name("c")
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .default_capacity_provider_strategy(
            aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .weight(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .cluster
        .unwrap();
    assert_eq!(c.capacity_providers().len(), 2);
}

#[tokio::test]
async fn delete_refuses_clusters_with_services_tasks_or_instances() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_bridge(&client, "web").await;
    let instance = register_instance(&client, "c").await;

    client.create_service().cluster("c").service_name("s").task_definition(&td).desired_count(0).send().await.unwrap();
    assert_error(
        client.delete_cluster().cluster("c").send().await,
        "ClusterContainsServicesException",
        Some("The Cluster cannot be deleted while Services are active."),
    );
    client.delete_service().cluster("c").service("s").send().await.unwrap();

    let task = client.run_task().cluster("c").task_definition(&td).send().await.unwrap();
    let task_arn = task.tasks()[0].task_arn().unwrap().to_owned();
    assert_error(
        client.delete_cluster().cluster("c").send().await,
        "ClusterContainsTasksException",
        Some("The Cluster cannot be deleted while Tasks are active."),
    );
    client.stop_task().cluster("c").task(&task_arn).send().await.unwrap();

    assert_error(
        client.delete_cluster().cluster("c").send().await,
        "ClusterContainsContainerInstancesException",
        Some("The Cluster cannot be deleted while Container Instances are active or draining."),
    );
    client.deregister_container_instance().cluster("c").container_instance(&instance).send().await.unwrap();
    let deleted = client.delete_cluster().cluster("c").send().await.unwrap();
    assert_eq!(deleted.cluster.unwrap().status(), Some("INACTIVE"));
}
