//! Rolling deployments on a manual clock: a new task-definition revision
//! rolls out within each `maximumPercent` / `minimumHealthyPercent` bound,
//! step by step as ECS does; 100/100 stalls with ECS's event until the
//! configuration changes; forceNewDeployment and network changes start
//! deployments; a service is deleted through DRAINING.

use aws_sdk_ecs::types::DeploymentConfiguration;

use crate::support::{advance, events, fargate_service, register_fargate, service, service_tasks, start};

/// A Fargate service of 4 tasks on revision 1, settled, with the given bounds.
async fn settled_service(max: i32, min: i32) -> (ecs_bridge::emulator::RunningEmulator, aws_sdk_ecs::Client) {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    register_fargate(&client, "web").await;
    fargate_service(&client, "c", "web", "web:1")
        .desired_count(4)
        .deployment_configuration(
            DeploymentConfiguration::builder().maximum_percent(max).minimum_healthy_percent(min).build(),
        )
        .send()
        .await
        .unwrap();
    advance(&emulator, 30.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!((s.running_count(), s.deployments().len()), (4, 1), "settled before the update");
    (emulator, client)
}

/// What one step of a rollout looks like from outside.
#[derive(Debug, PartialEq, Eq)]
struct Step {
    /// Non-STOPPED tasks per revision (old, new).
    live: (usize, usize),
    /// RUNNING tasks not asked to stop, per revision.
    running: (usize, usize),
}

async fn step(client: &aws_sdk_ecs::Client) -> Step {
    let mut tasks = service_tasks(client, "c", "web", "RUNNING").await;
    tasks.extend(service_tasks(client, "c", "web", "STOPPED").await);
    let rev = |t: &aws_sdk_ecs::types::Task| t.task_definition_arn().unwrap().ends_with(":2");
    let live = |new: bool| tasks.iter().filter(|t| rev(t) == new && t.last_status() != Some("STOPPED")).count();
    let running = |new: bool| {
        tasks
            .iter()
            .filter(|t| rev(t) == new && t.last_status() == Some("RUNNING") && t.desired_status() == Some("RUNNING"))
            .count()
    };
    Step { live: (live(false), live(true)), running: (running(false), running(true)) }
}

/// Rolls revision 2 out under `max`/`min`, checking the bounds at every
/// step (every 0.25 s) and returning the steps seen until it completes.
async fn roll_out(max: i32, min: i32) -> Vec<Step> {
    let (emulator, client) = settled_service(max, min).await;
    let before = service(&client, "c", "web").await.deployments()[0].id().unwrap().to_owned();
    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.unwrap();
    let (max_tasks, min_running) = ((4 * max / 100) as usize, (4 * min + 99) as usize / 100);
    let mut steps = vec![step(&client).await];
    for _ in 0..400 {
        let s = service(&client, "c", "web").await;
        if s.deployments().len() == 1 && s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED") {
            let d = &s.deployments()[0];
            assert_ne!(d.id(), Some(before.as_str()));
            assert!(d.task_definition().unwrap().ends_with(":2"));
            assert_eq!(s.running_count(), 4);
            let ev = events(&s);
            assert_eq!(ev[0], "(service web) has reached a steady state.");
            assert_eq!(ev[1], format!("(service web) (deployment {}) deployment completed.", d.id().unwrap()));
            return steps;
        }
        advance(&emulator, 0.25).await;
        let now = step(&client).await;
        assert!(now.live.0 + now.live.1 <= max_tasks, "more than maximumPercent: {now:?}");
        assert!(now.running.0 + now.running.1 >= min_running, "below minimumHealthyPercent: {now:?}");
        if steps.last() != Some(&now) {
            steps.push(now);
        }
    }
    panic!("the rollout never completed: {steps:?}");
}

#[tokio::test]
async fn rolling_update_100_200_starts_all_new_tasks_first() {
    let steps = roll_out(200, 100).await;
    assert_eq!(steps[0], Step { live: (4, 4), running: (4, 0) }, "{steps:?}");
    // Old tasks stop only once the new ones are healthy.
    assert!(steps.contains(&Step { live: (4, 4), running: (4, 4) }), "{steps:?}");
}

#[tokio::test]
async fn rolling_update_50_200_replaces_half_at_once() {
    let steps = roll_out(200, 50).await;
    // Four new tasks start and two old ones stop at once.
    assert_eq!(steps[0], Step { live: (4, 4), running: (2, 0) }, "{steps:?}");
}

#[tokio::test]
async fn rolling_update_0_100_stops_everything_first() {
    let steps = roll_out(100, 0).await;
    assert_eq!(steps[0], Step { live: (4, 0), running: (0, 0) }, "{steps:?}");
    // Nothing new starts before the old tasks are gone.
    assert!(steps.iter().all(|s| s.live.0 == 0 || s.live.1 == 0), "{steps:?}");
}

#[tokio::test]
async fn rolling_update_50_100_replaces_two_at_a_time() {
    let steps = roll_out(100, 50).await;
    assert_eq!(steps[0], Step { live: (4, 0), running: (2, 0) }, "{steps:?}");
    assert!(steps.iter().any(|s| s.live == (2, 2)), "{steps:?}");
}

#[tokio::test]
async fn rolling_update_100_100_stalls_with_an_event_until_the_bounds_change() {
    let (emulator, client) = settled_service(100, 100).await;
    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.unwrap();
    advance(&emulator, 60.0).await;
    assert_eq!(step(&client).await, Step { live: (4, 0), running: (4, 0) });
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 2);
    assert_eq!(
        events(&s)[0],
        "(service web) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
    );
    // Lowering minimumHealthyPercent lets it go on.
    client
        .update_service()
        .cluster("c")
        .service("web")
        .deployment_configuration(
            DeploymentConfiguration::builder().maximum_percent(100).minimum_healthy_percent(75).build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(step(&client).await.running, (3, 0), "one old task stops at once");
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    assert_eq!(step(&client).await, Step { live: (0, 4), running: (0, 4) });
}

#[tokio::test]
async fn force_new_deployment_and_network_changes_start_deployments() {
    let (emulator, client) = settled_service(200, 100).await;
    let first = service(&client, "c", "web").await.deployments()[0].id().unwrap().to_owned();
    // Scaling is no deployment.
    let s = client.update_service().cluster("c").service("web").desired_count(5).send().await.unwrap().service.unwrap();
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(s.deployments()[0].desired_count(), 5);
    let s = client
        .update_service()
        .cluster("c")
        .service("web")
        .force_new_deployment(true)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(s.deployments().len(), 2);
    let (primary, active) = (&s.deployments()[0], &s.deployments()[1]);
    assert_eq!((primary.status(), active.status()), (Some("PRIMARY"), Some("ACTIVE")));
    assert_eq!(active.id(), Some(first.as_str()));
    assert_eq!((primary.desired_count(), active.desired_count()), (5, 0));
    assert_eq!(
        primary.rollout_state_reason(),
        Some(format!("ECS deployment {} in progress.", primary.id().unwrap()).as_str())
    );
    advance(&emulator, 30.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 1);
    let second = s.deployments()[0].id().unwrap().to_owned();
    assert_ne!(second, first);
    let tasks = service_tasks(&client, "c", "web", "RUNNING").await;
    assert_eq!(tasks.len(), 5);
    assert!(tasks.iter().all(|t| t.started_by() == Some(second.as_str())));

    let other_subnet = aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder().subnets("subnet-0fedcba9876543210").build().unwrap(),
        )
        .build();
    let s = client
        .update_service()
        .cluster("c")
        .service("web")
        .network_configuration(other_subnet)
        .send()
        .await
        .unwrap()
        .service
        .unwrap();
    assert_eq!(s.deployments().len(), 2);
    advance(&emulator, 30.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!((s.deployments().len(), s.running_count()), (1, 5));
}

#[tokio::test]
async fn a_deleted_service_drains_then_turns_inactive() {
    let (emulator, client) = settled_service(200, 100).await;
    let s = client.delete_service().cluster("c").service("web").force(true).send().await.unwrap().service.unwrap();
    assert_eq!(s.status(), Some("DRAINING"));
    let s = service(&client, "c", "web").await;
    assert_eq!(s.status(), Some("DRAINING"));
    assert!(events(&s)[0].starts_with("(service web) has stopped 4 running tasks:"), "{:?}", events(&s));
    advance(&emulator, 5.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!((s.status(), s.running_count()), (Some("INACTIVE"), 0));
    let stopped = service_tasks(&client, "c", "web", "STOPPED").await;
    assert_eq!(stopped.len(), 4);
    assert!(stopped.iter().all(|t| t.last_status() == Some("STOPPED")));
}
