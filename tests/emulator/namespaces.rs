//! ListServicesByNamespace: the services of every cluster whose Service
//! Connect configuration names the namespace.

use aws_sdk_ecs::types::ServiceConnectConfiguration;

use crate::cli::aws_ecs;
use crate::support::{arn, assert_error, fargate_service, register_fargate, start};

fn connect(namespace: Option<&str>, enabled: bool) -> ServiceConnectConfiguration {
    ServiceConnectConfiguration::builder().enabled(enabled).set_namespace(namespace.map(str::to_owned)).build()
}

#[tokio::test]
async fn services_are_listed_by_their_service_connect_namespace() {
    let (_emulator, client) = start().await;
    register_fargate(&client, "web").await;
    for cluster in ["a", "b"] {
        client.create_cluster().cluster_name(cluster).send().await.unwrap();
    }
    let ns_arn = "arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-0123456789abcdef";
    let create = |cluster: &'static str, name: &'static str, scc: Option<ServiceConnectConfiguration>| {
        fargate_service(&client, cluster, name, "web").desired_count(0).set_service_connect_configuration(scc).send()
    };
    create("a", "one", Some(connect(Some("shop"), true))).await.unwrap();
    create("b", "two", Some(connect(Some("shop"), true))).await.unwrap();
    create("b", "three", Some(connect(Some(ns_arn), true))).await.unwrap();
    create("a", "off", Some(connect(Some("shop"), false))).await.unwrap();
    create("a", "plain", None).await.unwrap();

    let list = |ns: &str| client.list_services_by_namespace().namespace(ns);
    let shop = list("shop").send().await.unwrap();
    assert_eq!(shop.service_arns(), [arn("service/a/one"), arn("service/b/two")]);
    assert!(shop.next_token().is_none());
    let by_arn = list(ns_arn).send().await.unwrap();
    assert_eq!(by_arn.service_arns(), [arn("service/b/three")]);
    // The namespace's id names it as well as its ARN.
    let by_id = list("ns-0123456789abcdef").send().await.unwrap();
    assert_eq!(by_id.service_arns(), [arn("service/b/three")]);
    assert!(list("nobody").send().await.unwrap().service_arns().is_empty());
    // Pages.
    let first = list("shop").max_results(1).send().await.unwrap();
    assert_eq!(first.service_arns(), [arn("service/a/one")]);
    let second = list("shop").max_results(1).next_token(first.next_token().unwrap()).send().await.unwrap();
    assert_eq!(second.service_arns(), [arn("service/b/two")]);
    assert!(second.next_token().is_none());
    assert_error(list("shop").max_results(101).send().await, "InvalidParameterException", None);
    // A deleted service leaves the namespace.
    client.delete_service().cluster("a").service("one").force(true).send().await.unwrap();
    let shop = list("shop").send().await.unwrap();
    assert_eq!(shop.service_arns().len(), 1, "{:?}", shop.service_arns());
}

// Multi-threaded: the AWS CLI blocks this test's thread while the emulator answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_services_by_namespace_with_the_aws_cli() {
    let (emulator, _client) = start().await;
    let out = aws_ecs(&emulator.endpoint(), &["list-services-by-namespace", "--namespace", "none"]).expect("list");
    assert_eq!(out["serviceArns"], serde_json::json!([]));
}
