//! Tags on every taggable resource.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::Tag;

use crate::support::{arn, assert_error, fargate_task, register_bridge, register_fargate, register_instance, start};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

async fn tags_of(client: &Client, arn: &str) -> Vec<(String, String)> {
    let out = client.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
    out.tags().iter().map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned())).collect()
}

#[tokio::test]
async fn every_taggable_resource() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_fargate(&client, "fg").await;
    let bridge = register_bridge(&client, "br").await;
    let instance = register_instance(&client, "c").await;
    let service = client
        .create_service()
        .cluster("c")
        .service_name("s")
        .task_definition(&bridge)
        .desired_count(0)
        .send()
        .await
        .unwrap()
        .service
        .unwrap()
        .service_arn
        .unwrap();
    let task = fargate_task(&client, "c", &td).send().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    for resource in [arn("cluster/c"), td.clone(), instance.clone(), service.clone(), task.clone()] {
        client
            .tag_resource()
            .resource_arn(&resource)
            .tags(tag("env", "dev"))
            .tags(tag("team", "a"))
            .send()
            .await
            .unwrap();
        client.tag_resource().resource_arn(&resource).tags(tag("env", "prod")).send().await.unwrap();
        assert_eq!(
            tags_of(&client, &resource).await,
            [("env".into(), "prod".into()), ("team".into(), "a".into())],
            "{resource}"
        );
        client.untag_resource().resource_arn(&resource).tag_keys("team").tag_keys("absent").send().await.unwrap();
        assert_eq!(tags_of(&client, &resource).await, [("env".to_owned(), "prod".to_owned())], "{resource}");
    }
    // Describe calls show tags with include TAGS.
    let described = client
        .describe_task_definition()
        .task_definition(&td)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(described.tags()[0].value(), Some("prod"));
}

#[tokio::test]
async fn tag_rules() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let cluster = arn("cluster/c");
    assert_error(
        client.tag_resource().resource_arn(&cluster).tags(tag("aws:owner", "x")).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.tag_resource().resource_arn(&cluster).tags(tag("AWS:owner", "x")).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.untag_resource().resource_arn(&cluster).tag_keys("aws:owner").send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.tag_resource().resource_arn(&cluster).tags(tag(&"k".repeat(129), "x")).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.tag_resource().resource_arn(&cluster).tags(tag("k", &"v".repeat(257))).send().await,
        "InvalidParameterException",
        None,
    );
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    client.tag_resource().resource_arn(&cluster).set_tags(Some(fifty)).send().await.unwrap();
    assert_error(
        client.tag_resource().resource_arn(&cluster).tags(tag("one-more", "v")).send().await,
        "InvalidParameterException",
        None,
    );
    // Re-tagging an existing key does not count as a new tag.
    client.tag_resource().resource_arn(&cluster).tags(tag("k0", "new")).send().await.unwrap();

    assert_error(
        client.list_tags_for_resource().resource_arn("not-an-arn").send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.list_tags_for_resource().resource_arn(arn("cluster/ghost")).send().await,
        "ClusterNotFoundException",
        None,
    );
    assert_error(
        client.list_tags_for_resource().resource_arn(arn("service/c/ghost")).send().await,
        "ServiceNotFoundException",
        None,
    );
    assert_error(
        client.list_tags_for_resource().resource_arn(arn("service/legacy")).send().await,
        "InvalidParameterException",
        Some("Long arn format must be used for tagging operations"),
    );
    assert_error(
        client.list_tags_for_resource().resource_arn(arn("task/c/0123456789abcdef0123456789abcdef")).send().await,
        "ResourceNotFoundException",
        None,
    );
    assert_error(
        client.list_tags_for_resource().resource_arn(arn("task-definition/ghost:1")).send().await,
        "ResourceNotFoundException",
        None,
    );
}
