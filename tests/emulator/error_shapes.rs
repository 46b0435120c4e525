//! ECS's error types where a request names something that does not exist,
//! and members ECS leaves out of an answer when they are empty.

use crate::cli::aws_ecs;
use crate::support::{arn, assert_error, raw, register_fargate, start, target};

#[tokio::test]
async fn a_missing_cluster_is_cluster_not_found() {
    let (_emulator, client) = start().await;
    register_fargate(&client, "web").await;
    macro_rules! not_found {
        ($call:expr) => {
            assert_error($call.send().await, "ClusterNotFoundException", Some("Cluster not found."))
        };
    }
    let task = "0123456789abcdef0123456789abcdef";
    not_found!(client.describe_tasks().cluster("ghost").tasks(task));
    not_found!(client.run_task().cluster("ghost").task_definition("web"));
    // The cluster comes first, even when the task definition is unknown too.
    not_found!(client.run_task().cluster("ghost").task_definition("nope"));
    not_found!(client.start_task().cluster("ghost").task_definition("nope").container_instances(task));
    not_found!(client.list_tasks().cluster("ghost"));
    not_found!(client.describe_container_instances().cluster("ghost").container_instances(task));
    not_found!(client.list_container_instances().cluster("ghost"));
    not_found!(client.update_service().cluster("ghost").service("s").task_definition("nope"));
    // Omitting the cluster means `default`, which does not exist until created.
    not_found!(client.list_tasks());
}

#[tokio::test]
async fn tagging_a_missing_service_is_service_not_found() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let tag = aws_sdk_ecs::types::Tag::builder().key("k").value("v").build();
    for service in [arn("service/c/ghost"), arn("service/no-cluster/ghost")] {
        assert_error(
            client.list_tags_for_resource().resource_arn(&service).send().await,
            "ServiceNotFoundException",
            Some("Service not found."),
        );
        assert_error(
            client.tag_resource().resource_arn(&service).tags(tag.clone()).send().await,
            "ServiceNotFoundException",
            None,
        );
        assert_error(
            client.untag_resource().resource_arn(&service).tag_keys("k").send().await,
            "ServiceNotFoundException",
            None,
        );
    }
    // A missing cluster's own ARN stays ClusterNotFoundException.
    assert_error(
        client.list_tags_for_resource().resource_arn(arn("cluster/ghost")).send().await,
        "ClusterNotFoundException",
        None,
    );
}

#[tokio::test]
async fn clusters_without_tags_have_no_tags_member() {
    let (emulator, _client) = start().await;
    let endpoint = emulator.endpoint();
    let (status, created) = raw(&endpoint, Some(&target("CreateCluster")), r#"{"clusterName":"plain"}"#).await;
    assert_eq!(status, 200, "{created}");
    assert!(created["cluster"].get("tags").is_none(), "{created}");
    let body = r#"{"clusterName":"tagged","tags":[{"key":"team","value":"a"}]}"#;
    let (_, tagged) = raw(&endpoint, Some(&target("CreateCluster")), body).await;
    assert_eq!(tagged["cluster"]["tags"][0]["key"], "team");
    for include in ["[]", r#"["TAGS"]"#] {
        let body = format!(r#"{{"clusters":["plain","tagged"],"include":{include}}}"#);
        let (status, described) = raw(&endpoint, Some(&target("DescribeClusters")), &body).await;
        assert_eq!(status, 200, "{described}");
        assert!(described["clusters"][0].get("tags").is_none(), "{described}");
        let tagged = described["clusters"][1].get("tags");
        assert_eq!(tagged.is_some(), include.contains("TAGS"), "tags only with include TAGS: {described}");
    }
    // The cluster's other answers (UpdateClusterSettings, DeleteCluster) too.
    let body = r#"{"cluster":"plain","settings":[{"name":"containerInsights","value":"enabled"}]}"#;
    let (_, updated) = raw(&endpoint, Some(&target("UpdateClusterSettings")), body).await;
    assert!(updated["cluster"].get("tags").is_none(), "{updated}");
    let (_, deleted) = raw(&endpoint, Some(&target("DeleteCluster")), r#"{"cluster":"plain"}"#).await;
    assert!(deleted["cluster"].get("tags").is_none(), "{deleted}");
}

// Multi-threaded: the AWS CLI blocks this test's thread while the emulator answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_shapes_with_the_aws_cli() {
    let (emulator, _client) = start().await;
    let endpoint = emulator.endpoint();
    let out = aws_ecs(&endpoint, &["create-cluster", "--cluster-name", "c"]).expect("create-cluster");
    assert!(out["cluster"].get("tags").is_none(), "{out}");
    let err =
        aws_ecs(&endpoint, &["describe-tasks", "--cluster", "ghost", "--tasks", "0123456789abcdef0123456789abcdef"])
            .expect_err("missing cluster");
    assert!(err.contains("ClusterNotFoundException") && err.contains("Cluster not found."), "{err}");
    let err = aws_ecs(&endpoint, &["list-tags-for-resource", "--resource-arn", &arn("service/c/ghost")])
        .expect_err("missing service");
    assert!(err.contains("ServiceNotFoundException"), "{err}");
}

#[tokio::test]
async fn an_incompatible_launch_type_is_named_before_the_network_configuration() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    // A bridge-mode, EC2-only definition: FARGATE is refused for it, and so
    // is an awsvpc configuration; ECS names the launch type first.
    crate::support::register_bridge(&client, "br").await;
    let refused = "Task definition does not support launch_type FARGATE.";
    assert_error(
        crate::support::fargate_task(&client, "c", "br").send().await,
        "InvalidParameterException",
        Some(refused),
    );
    assert_error(
        crate::support::fargate_service(&client, "c", "s", "br").desired_count(1).send().await,
        "InvalidParameterException",
        Some(refused),
    );
    // Without the launch type, the network configuration is what is wrong.
    let (_, message) = crate::support::error(
        client
            .run_task()
            .cluster("c")
            .task_definition("br")
            .network_configuration(crate::support::awsvpc())
            .send()
            .await,
    );
    assert_eq!(message, "Network Configuration is not valid for the given networkMode of this task definition.");
}
