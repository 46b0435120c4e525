//! Auto Scaling group capacity providers: their operations and ECS's
//! errors, the association with clusters, the simulated group that managed
//! scaling grows for tasks that cannot be placed and shrinks when idle, the
//! `base`/`weight` split over two providers, and persistence.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, AutoScalingGroupProviderUpdate, CapacityProviderField, CapacityProviderStrategyItem,
    ManagedScaling, ManagedScalingStatus,
};
use ecs_bridge::emulator::{EmulatorConfig, RunningEmulator, spawn};

use crate::cli::aws_ecs;
use crate::support::{advance, arn, assert_error, client as client_for, register_bridge, start};

fn group_arn(name: &str) -> String {
    format!(
        "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:0d1b5c3c-0000-4000-8000-000000000000:autoScalingGroupName/{name}"
    )
}

fn scaling(target: i32, min: i32, max: i32, warmup: i32) -> ManagedScaling {
    ManagedScaling::builder()
        .status(ManagedScalingStatus::Enabled)
        .target_capacity(target)
        .minimum_scaling_step_size(min)
        .maximum_scaling_step_size(max)
        .instance_warmup_period(warmup)
        .build()
}

/// The group settings of a provider of group `group`.
fn group(group: &str, managed: Option<ManagedScaling>) -> AutoScalingGroupProvider {
    AutoScalingGroupProvider::builder()
        .auto_scaling_group_arn(group_arn(group))
        .set_managed_scaling(managed)
        .build()
        .expect("group provider")
}

/// A CreateCapacityProvider of `name`, ready to send.
fn creation(
    client: &Client,
    name: &str,
    group: AutoScalingGroupProvider,
) -> aws_sdk_ecs::operation::create_capacity_provider::builders::CreateCapacityProviderFluentBuilder {
    client.create_capacity_provider().name(name).auto_scaling_group_provider(group)
}

/// Creates a provider with managed scaling (`None`: left to ECS's default).
async fn create(client: &Client, name: &str, managed: Option<ManagedScaling>) {
    creation(client, name, group(name, managed)).send().await.expect("create capacity provider");
}

fn item(provider: &str, base: i32, weight: i32) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder().capacity_provider(provider).base(base).weight(weight).build().unwrap()
}

/// A PutClusterCapacityProviders of `providers` and `strategy`, ready to send.
fn put(
    client: &Client,
    cluster: &str,
    providers: &[&str],
    strategy: Vec<CapacityProviderStrategyItem>,
) -> aws_sdk_ecs::operation::put_cluster_capacity_providers::builders::PutClusterCapacityProvidersFluentBuilder {
    client
        .put_cluster_capacity_providers()
        .cluster(cluster)
        .set_capacity_providers(Some(providers.iter().map(|p| p.to_string()).collect()))
        .set_default_capacity_provider_strategy(Some(strategy))
}

/// A cluster `c` with `providers`, the first one its default strategy.
async fn cluster_with(client: &Client, providers: &[&str]) {
    client.create_cluster().cluster_name("c").send().await.unwrap();
    put(client, "c", providers, vec![item(providers[0], 0, 1)]).send().await.expect("put cluster capacity providers");
}

/// Service `svc` in `c` of `desired` bridge tasks on `strategy` (none: the
/// cluster's default); each task holds host port 8080.
async fn bridge_service(client: &Client, desired: i32, strategy: Vec<CapacityProviderStrategyItem>) {
    register_bridge(client, "web").await;
    let create = client.create_service().cluster("c").service_name("svc").task_definition("web");
    let create = create.set_capacity_provider_strategy((!strategy.is_empty()).then_some(strategy));
    create.desired_count(desired).send().await.expect("create service");
}

/// The provider's container instances in `c` that are ACTIVE.
async fn instances_of(client: &Client, provider: &str) -> usize {
    let arns = client.list_container_instances().cluster("c").send().await.unwrap().container_instance_arns().to_vec();
    if arns.is_empty() {
        return 0;
    }
    let out = client.describe_container_instances().cluster("c").set_container_instances(Some(arns)).send().await;
    let out = out.unwrap();
    out.container_instances()
        .iter()
        .filter(|i| i.status() == Some("ACTIVE") && i.capacity_provider_name() == Some(provider))
        .count()
}

/// `(lastStatus, capacityProviderName)` of the service's tasks.
async fn tasks_of(client: &Client, service: &str) -> Vec<(String, String)> {
    crate::support::service_tasks(client, "c", service, "RUNNING")
        .await
        .iter()
        .map(|t| {
            (t.last_status().unwrap_or_default().to_owned(), t.capacity_provider_name().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn describe(client: &Client, name: &str) -> aws_sdk_ecs::types::CapacityProvider {
    let out = client.describe_capacity_providers().capacity_providers(name).send().await.unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.capacity_providers().first().cloned().expect("described")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_created_described_updated_with_ecs_rules() {
    let (emulator, client) = start().await;
    let out = client
        .create_capacity_provider()
        .name("cp1")
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(group_arn("asg1"))
                .managed_scaling(scaling(80, 1, 5, 60))
                .managed_termination_protection(aws_sdk_ecs::types::ManagedTerminationProtection::Enabled)
                .build()
                .unwrap(),
        )
        .tags(aws_sdk_ecs::types::Tag::builder().key("team").value("a").build())
        .send()
        .await
        .unwrap();
    let cp = out.capacity_provider().unwrap();
    assert_eq!(cp.capacity_provider_arn(), Some(arn("capacity-provider/cp1").as_str()));
    assert_eq!(cp.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(cp.r#type().map(|t| t.as_str()), Some("EC2_AUTOSCALING"));
    let asg = cp.auto_scaling_group_provider().unwrap();
    let managed = asg.managed_scaling().unwrap();
    assert_eq!((managed.target_capacity(), managed.instance_warmup_period()), (Some(80), Some(60)));
    // ECS's default: managed draining on.
    assert_eq!(asg.managed_draining().map(|d| d.as_str()), Some("ENABLED"));
    create(&client, "cp2", None).await;
    let defaults = describe(&client, "cp2").await;
    let managed = defaults.auto_scaling_group_provider().unwrap().managed_scaling().unwrap();
    assert_eq!(managed.status().map(|s| s.as_str()), Some("DISABLED"));
    assert_eq!(
        (managed.target_capacity(), managed.minimum_scaling_step_size(), managed.maximum_scaling_step_size()),
        (Some(100), Some(1), Some(10_000))
    );

    // The listing holds ECS's built-ins first, pages by maxResults, and
    // shows tags only when asked.
    let all = client.describe_capacity_providers().send().await.unwrap();
    let names: Vec<&str> = all.capacity_providers().iter().filter_map(|p| p.name()).collect();
    assert_eq!(names, ["FARGATE", "FARGATE_SPOT", "cp1", "cp2"]);
    assert!(all.capacity_providers().iter().all(|p| p.tags().is_empty()));
    let first = client.describe_capacity_providers().max_results(3).send().await.unwrap();
    assert_eq!(first.capacity_providers().len(), 3);
    let token = first.next_token().expect("a next page").to_owned();
    let second = client.describe_capacity_providers().max_results(3).next_token(token).send().await.unwrap();
    assert_eq!(second.capacity_providers().iter().filter_map(|p| p.name()).collect::<Vec<_>>(), ["cp2"]);
    assert!(second.next_token().is_none());
    let tagged = client
        .describe_capacity_providers()
        .capacity_providers("cp1")
        .capacity_providers("nope")
        .include(CapacityProviderField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.capacity_providers()[0].tags().len(), 1);
    assert_eq!(tagged.failures()[0].arn(), Some(arn("capacity-provider/nope").as_str()));
    assert_eq!(tagged.failures()[0].reason(), Some("MISSING"));
    // Tags through TagResource, by the provider's ARN.
    let cp2 = arn("capacity-provider/cp2");
    let tag = aws_sdk_ecs::types::Tag::builder().key("env").value("dev").build();
    client.tag_resource().resource_arn(&cp2).tags(tag).send().await.unwrap();
    let tags = client.list_tags_for_resource().resource_arn(&cp2).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| t.key().unwrap_or_default()).collect::<Vec<_>>(), ["env"]);

    // Errors, with ECS's exception types.
    let exists = creation(&client, "cp1", group("other", None)).send().await;
    assert_error(
        exists,
        "ClientException",
        Some(
            "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.",
        ),
    );
    let same_group = creation(&client, "cp3", group("asg1", None)).send().await;
    assert_error(
        same_group,
        "ClientException",
        Some(
            "The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again.",
        ),
    );
    let reserved_prefix = creation(&client, "ecs-mine", group("x", None)).send().await;
    assert_error(reserved_prefix, "InvalidParameterException", None);
    let bad_target = creation(&client, "cp4", group("x", Some(scaling(0, 1, 1, 0)))).send().await;
    assert_error(
        bad_target,
        "InvalidParameterException",
        Some("The target capacity must be greater than 0 and less than or equal to 100."),
    );

    // Update changes the managed settings, not the group.
    let update = AutoScalingGroupProviderUpdate::builder().managed_scaling(scaling(50, 2, 4, 0)).build();
    let updated = client.update_capacity_provider().name("cp2").auto_scaling_group_provider(update.clone()).send();
    let updated = updated.await.unwrap().capacity_provider.unwrap();
    assert_eq!(updated.update_status().map(|s| s.as_str()), Some("UPDATE_COMPLETE"));
    let managed = updated.auto_scaling_group_provider().unwrap().managed_scaling().unwrap();
    assert_eq!((managed.target_capacity(), managed.minimum_scaling_step_size()), (Some(50), Some(2)));
    assert_eq!(updated.auto_scaling_group_provider().unwrap().auto_scaling_group_arn(), group_arn("cp2"));
    let fargate = client.update_capacity_provider().name("FARGATE").auto_scaling_group_provider(update.clone());
    assert_error(fargate.send().await, "InvalidParameterException", None);
    let missing = client.update_capacity_provider().name("nope").auto_scaling_group_provider(update).send().await;
    assert_error(
        missing,
        "ClientException",
        Some("The specified capacity provider does not exist. Specify a valid name or ARN and try again."),
    );
    assert_error(
        client.delete_capacity_provider().capacity_provider("FARGATE_SPOT").send().await,
        "InvalidParameterException",
        Some("The FARGATE and FARGATE_SPOT capacity providers are reserved and can't be deleted."),
    );

    // The AWS CLI, as a user would type it.
    let endpoint = emulator.endpoint();
    let created = aws_ecs(
        &endpoint,
        &[
            "create-capacity-provider",
            "--name",
            "from-cli",
            "--auto-scaling-group-provider",
            &format!(
                "autoScalingGroupArn={},managedScaling={{status=ENABLED,targetCapacity=90}},managedTerminationProtection=DISABLED",
                group_arn("cli")
            ),
        ],
    )
    .unwrap();
    assert_eq!(created["capacityProvider"]["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"], 90);
    let listed = aws_ecs(&endpoint, &["describe-capacity-providers", "--capacity-providers", "from-cli"]).unwrap();
    assert_eq!(listed["capacityProviders"][0]["name"], "from-cli");
    let err = aws_ecs(&endpoint, &["delete-capacity-provider", "--capacity-provider", "nope"]).unwrap_err();
    assert!(err.contains("ClientException"), "{err}");
}

#[tokio::test]
async fn clusters_take_existing_unshared_providers_and_keep_those_in_use() {
    let (_emulator, client) = start().await;
    create(&client, "cp", Some(scaling(100, 1, 10, 0))).await;
    let unknown = put(&client, "nope", &["cp"], Vec::new()).send().await;
    assert_error(unknown, "ClusterNotFoundException", None);
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let missing = put(&client, "c", &["ghost"], Vec::new()).send().await;
    assert_error(
        missing,
        "InvalidParameterException",
        Some(
            "The specified capacity provider 'ghost' does not exist. Specify a valid capacity provider and try again.",
        ),
    );
    let unlisted = put(&client, "c", &["FARGATE"], vec![item("cp", 0, 1)]).send().await;
    assert_error(unlisted, "InvalidParameterException", None);
    let out = put(&client, "c", &["cp", "FARGATE"], vec![item("cp", 1, 1)]).send().await.unwrap();
    let cluster = out.cluster().unwrap();
    assert_eq!(cluster.capacity_providers(), ["cp", "FARGATE"]);
    assert_eq!(cluster.default_capacity_provider_strategy()[0].base(), 1);
    // An Auto Scaling group provider serves one cluster only.
    let elsewhere = client.create_cluster().cluster_name("d").capacity_providers("cp").send().await;
    assert_error(elsewhere, "InvalidParameterException", None);
    let described = client.describe_capacity_providers().cluster("c").send().await.unwrap();
    let names: Vec<&str> = described.capacity_providers().iter().filter_map(|p| p.name()).collect();
    assert_eq!(names, ["FARGATE", "cp"]);

    // A service on the provider keeps it on the cluster.
    bridge_service(&client, 1, vec![item("cp", 0, 1)]).await;
    let remove = put(&client, "c", &["FARGATE"], Vec::new()).send().await;
    assert_error(
        remove,
        "ResourceInUseException",
        Some("The specified capacity provider is in use and cannot be removed."),
    );
}

#[tokio::test]
async fn delete_fails_while_associated_then_completes() {
    let (emulator, client) = start().await;
    create(&client, "cp", None).await;
    cluster_with(&client, &["cp"]).await;
    let refused = client.delete_capacity_provider().capacity_provider("cp").send().await.unwrap();
    let refused = refused.capacity_provider().unwrap();
    assert_eq!(refused.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(refused.update_status().map(|s| s.as_str()), Some("DELETE_FAILED"));
    assert_eq!(
        refused.update_status_reason(),
        Some(
            "The capacity provider cannot be deleted because it is associated with cluster: c. Remove the capacity provider from the cluster and try again."
        )
    );
    put(&client, "c", &[], Vec::new()).send().await.unwrap();
    let deleting = client.delete_capacity_provider().capacity_provider(arn("capacity-provider/cp")).send().await;
    let deleting = deleting.unwrap().capacity_provider.unwrap();
    assert_eq!(deleting.update_status().map(|s| s.as_str()), Some("DELETE_IN_PROGRESS"));
    advance(&emulator, 1.0).await;
    let gone = describe(&client, "cp").await;
    assert_eq!(gone.status().map(|s| s.as_str()), Some("INACTIVE"));
    assert_eq!(gone.update_status().map(|s| s.as_str()), Some("DELETE_COMPLETE"));
    let all = client.describe_capacity_providers().send().await.unwrap();
    assert!(all.capacity_providers().iter().all(|p| p.name() != Some("cp")));
    // The name, and the group, can be used again.
    create(&client, "cp", None).await;
    assert_eq!(describe(&client, "cp").await.status().map(|s| s.as_str()), Some("ACTIVE"));
}

#[tokio::test]
async fn managed_scaling_grows_the_group_for_waiting_tasks_and_shrinks_it_when_idle() {
    let (emulator, client) = start().await;
    // At most two instances per scale-out, then a minute of warm-up.
    create(&client, "cp", Some(scaling(100, 1, 2, 60))).await;
    cluster_with(&client, &["cp"]).await;
    // Each task holds host port 8080, so each needs its own instance.
    bridge_service(&client, 3, Vec::new()).await;
    let waiting = tasks_of(&client, "svc").await;
    assert_eq!(waiting.len(), 3);
    assert!(waiting.iter().all(|(status, cp)| status == "PROVISIONING" && cp == "cp"), "{waiting:?}");
    assert_eq!(instances_of(&client, "cp").await, 0);

    // M = 3 needed, N = 0: the group grows by the maximum step, two.
    advance(&emulator, 1.0).await;
    assert_eq!(instances_of(&client, "cp").await, 2);
    advance(&emulator, 50.0).await;
    let tasks = tasks_of(&client, "svc").await;
    assert_eq!(tasks.iter().filter(|(s, _)| s == "RUNNING").count(), 2, "{tasks:?}");
    assert_eq!(tasks.iter().filter(|(s, _)| s == "PROVISIONING").count(), 1, "{tasks:?}");
    assert_eq!(instances_of(&client, "cp").await, 2, "no scale-out within the warm-up");
    // After the warm-up, one more for the last task.
    advance(&emulator, 60.0).await;
    assert_eq!(instances_of(&client, "cp").await, 3);
    let tasks = tasks_of(&client, "svc").await;
    assert!(tasks.iter().all(|(s, _)| s == "RUNNING"), "{tasks:?}");

    // Idle instances go once the reservation stays under the target for 15 minutes.
    client.update_service().cluster("c").service("svc").desired_count(1).send().await.unwrap();
    advance(&emulator, 60.0).await;
    assert_eq!(instances_of(&client, "cp").await, 3);
    advance(&emulator, 14.0 * 60.0).await;
    assert_eq!(instances_of(&client, "cp").await, 3, "not before 15 minutes under the target");
    advance(&emulator, 120.0).await;
    assert_eq!(instances_of(&client, "cp").await, 1, "the busy instance stays");
    assert_eq!(tasks_of(&client, "svc").await, [("RUNNING".to_owned(), "cp".to_owned())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_and_weight_split_tasks_over_two_providers() {
    let (emulator, client) = start().await;
    create(&client, "a", Some(scaling(100, 1, 10, 0))).await;
    create(&client, "b", Some(scaling(100, 1, 10, 0))).await;
    cluster_with(&client, &["a", "b"]).await;
    // a: base 1, weight 1; b: weight 3. Of 5 tasks: 1 + 1 on a, 3 on b.
    bridge_service(&client, 5, vec![item("a", 1, 1), item("b", 0, 3)]).await;
    advance(&emulator, 60.0).await;
    let tasks = tasks_of(&client, "svc").await;
    assert!(tasks.iter().all(|(s, _)| s == "RUNNING"), "{tasks:?}");
    let on = |p: &str| tasks.iter().filter(|(_, cp)| cp == p).count();
    assert_eq!((on("a"), on("b")), (2, 3));
    // Each group grew to what its own tasks need (one port-8080 task each).
    assert_eq!((instances_of(&client, "a").await, instances_of(&client, "b").await), (2, 3));

    // RunTask through the AWS CLI, with an even split.
    let run = aws_ecs(
        &emulator.endpoint(),
        &[
            "run-task",
            "--cluster",
            "c",
            "--task-definition",
            "web",
            "--count",
            "2",
            "--capacity-provider-strategy",
            "capacityProvider=a,weight=1",
            "capacityProvider=b,weight=1",
        ],
    )
    .unwrap();
    let mut providers: Vec<&str> =
        run["tasks"].as_array().unwrap().iter().map(|t| t["capacityProviderName"].as_str().unwrap()).collect();
    providers.sort();
    assert_eq!(providers, ["a", "b"]);
    assert!(run["tasks"].as_array().unwrap().iter().all(|t| t["lastStatus"] == "PROVISIONING"));
    advance(&emulator, 60.0).await;
    assert_eq!((instances_of(&client, "a").await, instances_of(&client, "b").await), (3, 4));
}

#[tokio::test]
async fn providers_and_their_groups_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::manual() };
    let emulator: RunningEmulator = spawn(config.clone()).await.unwrap();
    let client = client_for(&emulator.endpoint());
    create(&client, "cp", Some(scaling(75, 1, 10, 0))).await;
    cluster_with(&client, &["cp"]).await;
    bridge_service(&client, 1, Vec::new()).await;
    advance(&emulator, 60.0).await;
    // Target 75 %: one busy instance wants ceil(100 / 75) = 2 in the group.
    assert_eq!(instances_of(&client, "cp").await, 2);
    emulator.shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let client = client_for(&emulator.endpoint());
    let cp = describe(&client, "cp").await;
    let managed = cp.auto_scaling_group_provider().unwrap().managed_scaling().unwrap();
    assert_eq!(managed.target_capacity(), Some(75));
    assert_eq!(instances_of(&client, "cp").await, 2);
    // Still associated with the cluster.
    let refused = client.delete_capacity_provider().capacity_provider("cp").send().await.unwrap();
    assert_eq!(refused.capacity_provider().unwrap().update_status().map(|s| s.as_str()), Some("DELETE_FAILED"));
}

#[tokio::test]
async fn without_managed_scaling_tasks_wait_until_stopped() {
    let (emulator, client) = start().await;
    create(&client, "cp", None).await;
    cluster_with(&client, &["cp"]).await;
    register_bridge(&client, "web").await;
    let run = client.run_task().cluster("c").task_definition("web").send().await.unwrap();
    assert!(run.failures().is_empty(), "{:?}", run.failures());
    let task = run.tasks()[0].clone();
    assert_eq!((task.last_status(), task.capacity_provider_name()), (Some("PROVISIONING"), Some("cp")));
    assert!(task.container_instance_arn().is_none());
    // Nothing grows the group: the task keeps waiting.
    advance(&emulator, 600.0).await;
    assert_eq!(instances_of(&client, "cp").await, 0);
    let arn = task.task_arn().unwrap();
    let described = client.describe_tasks().cluster("c").tasks(arn).send().await.unwrap();
    assert_eq!(described.tasks()[0].last_status(), Some("PROVISIONING"));
    client.stop_task().cluster("c").task(arn).send().await.unwrap();
    advance(&emulator, 1.0).await;
    let described = client.describe_tasks().cluster("c").tasks(arn).send().await.unwrap();
    assert_eq!(described.tasks()[0].last_status(), Some("STOPPED"));
    // With no task left, the provider can leave the cluster.
    put(&client, "c", &[], Vec::new()).send().await.expect("the provider is no longer in use");
}
