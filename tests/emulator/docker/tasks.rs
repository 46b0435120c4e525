//! Single tasks on real containers: exit codes, overrides, stops, pulls,
//! health checks, `dependsOn`, and no leaked containers.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    ContainerDefinition, ContainerOverride, DesiredStatus, KeyValuePair, LaunchType, TaskOverride,
};

use super::*;

#[tokio::test]
async fn a_job_reports_its_real_exit_code_and_ecs_stop_reason() {
    let (emulator, client) = start().await;
    let job = container("job").command("sh").command("-c").command("echo working; sleep 1; exit 3").build();
    let td = register(&client, "job", vec![job]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.containers()[0].exit_code(), Some(3));
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    assert_eq!(task.stopped_reason(), Some("Essential container in task exited"));
    assert!(task.started_at().is_some(), "it ran");
    assert!(task.pull_started_at().is_some() && task.pull_stopped_at().is_some());

    // Overrides reach the container: a command and an environment variable.
    let overrides = TaskOverride::builder()
        .container_overrides(
            ContainerOverride::builder()
                .name("job")
                .command("sh")
                .command("-c")
                .command("exit $CODE")
                .environment(KeyValuePair::builder().name("CODE").value("7").build())
                .build(),
        )
        .build();
    let arn = run(&client, &td, Some(overrides)).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.containers()[0].exit_code(), Some(7));
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn stop_task_sends_sigterm_then_sigkill_after_stop_timeout() {
    let (emulator, client) = start().await;
    // One container ends on SIGTERM (with a code of its own); the other
    // ignores it and is killed.
    let polite = container("polite")
        .command("sh")
        .command("-c")
        .command("trap 'exit 5' TERM; while true; do sleep 1; done")
        .essential(false)
        .build();
    let stubborn = container("stubborn")
        .command("sh")
        .command("-c")
        .command("trap '' TERM; while true; do sleep 1; done")
        .stop_timeout(2)
        .build();
    let td = register(&client, "stoppers", vec![polite, stubborn]).await;
    let arn = run(&client, &td, None).await;
    wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;
    let asked = Instant::now();
    client.stop_task().cluster("c").task(&arn).reason("done here").send().await.expect("stop");
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    let took = asked.elapsed();
    let code = |name: &str| task.containers().iter().find(|c| c.name() == Some(name)).and_then(|c| c.exit_code());
    assert_eq!(code("polite"), Some(5), "SIGTERM came first, and the container handled it");
    assert_eq!(code("stubborn"), Some(137), "SIGKILL after the stop timeout (128 + 9)");
    assert!(took >= Duration::from_secs(2), "waited for the stop timeout: {took:?}");
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(task.stopped_reason(), Some("done here"));
    assert_eq!(task.desired_status(), Some(DesiredStatus::Stopped.as_str()));
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_the_task_as_ecs_does() {
    let (emulator, client) = start().await;
    // A registry that refuses at once: nothing leaves the machine.
    let bad = ContainerDefinition::builder().name("app").image("127.0.0.1:9/nowhere/app:1").memory(64).build();
    let td = register(&client, "unpullable", vec![bad]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    let reason = task.stopped_reason().unwrap_or_default();
    assert!(reason.starts_with("CannotPullContainerError"), "{reason}");
    assert!(task.started_at().is_none(), "it never ran");
    assert!(owned_containers(&emulator).is_empty(), "no container was made");
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn no_container_outlives_its_task_or_its_emulator() {
    let (emulator, client) = start().await;
    let sleeper = container("sleeper").command("sleep").command("600").build();
    let td = register(&client, "sleepers", vec![sleeper]).await;
    let first = run(&client, &td, None).await;
    let second = run(&client, &td, None).await;
    for arn in [&first, &second] {
        wait_for(&client, arn, Duration::from_secs(60), is("RUNNING")).await;
    }
    assert_eq!(owned_containers(&emulator).len(), 2);
    // A stopped task's container is removed.
    client.stop_task().cluster("c").task(&first).send().await.expect("stop");
    wait_for(&client, &first, Duration::from_secs(60), is("STOPPED")).await;
    let start = Instant::now();
    while owned_containers(&emulator).len() != 1 {
        assert!(start.elapsed() < Duration::from_secs(20), "the stopped task's container stayed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Dropping the emulator (no shutdown) removes the rest.
    let owner = emulator.container_owner().expect("owner").to_owned();
    drop(emulator);
    let left = docker(&["ps", "-aq", "--filter", &format!("label=dev.ecs-bridge.emulator={owner}")]);
    assert!(left.trim().is_empty(), "containers left behind: {left}");
}

#[tokio::test]
async fn the_health_check_runs_in_the_container_and_a_failing_one_replaces_the_task() {
    let (emulator, client) = start().await;
    let check = |command: &str| {
        aws_sdk_ecs::types::HealthCheck::builder()
            .command("CMD-SHELL")
            .command(command)
            .interval(5)
            .retries(2)
            .build()
            .expect("health check")
    };
    let web = |command: &str| web_server().health_check(check(command)).build();
    // A check that asks the server inside the container: HEALTHY.
    let good = register(&client, "checked", vec![web("wget -q -O /dev/null http://127.0.0.1:8080/")]).await;
    let arn = run(&client, &good, None).await;
    let task =
        wait_for(&client, &arn, Duration::from_secs(60), |t| t.health_status().map(|h| h.as_str()) == Some("HEALTHY"))
            .await;
    assert_eq!(task.containers()[0].health_status().map(|h| h.as_str()), Some("HEALTHY"));

    // A check that fails: the service's task turns UNHEALTHY and is replaced.
    let bad = register(&client, "failing", vec![web("exit 1")]).await;
    client
        .create_service()
        .cluster("c")
        .service_name("failing")
        .task_definition(&bad)
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("service");
    let first =
        client.list_tasks().cluster("c").service_name("failing").send().await.expect("list").task_arns()[0].clone();
    let task = wait_for(&client, &first, Duration::from_secs(90), is("STOPPED")).await;
    assert_eq!(task.health_status().map(|h| h.as_str()), Some("UNHEALTHY"));
    assert_eq!(task.stopped_reason(), Some("Task failed container health checks"));
    let service = client.describe_services().cluster("c").services("failing").send().await.expect("describe");
    let events: Vec<&str> = service.services()[0].events().iter().filter_map(|e| e.message()).collect();
    assert!(events.iter().any(|m| m.contains("failed container health checks")), "{events:#?}");
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn depends_on_starts_a_container_after_its_dependency_succeeds() {
    let (emulator, client) = start().await;
    let dependency = |name: &str, condition: aws_sdk_ecs::types::ContainerCondition| {
        aws_sdk_ecs::types::ContainerDependency::builder().container_name(name).condition(condition).build().unwrap()
    };
    let init = |code: u8| {
        container("init").essential(false).command("sh").command("-c").command(format!("sleep 1; exit {code}")).build()
    };
    let app = container("app")
        .command("sleep")
        .command("600")
        .depends_on(dependency("init", aws_sdk_ecs::types::ContainerCondition::Success))
        .build();
    // The app is defined first but starts only once init has exited 0.
    let td = register(&client, "ordered", vec![app.clone(), init(0)]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;
    let id = |name: &str| {
        let c = task.containers().iter().find(|c| c.name() == Some(name)).expect("container");
        c.runtime_id().expect("runtime id").to_owned()
    };
    let init_finished = docker(&["inspect", "--format", "{{.State.FinishedAt}}", &id("init")]);
    let app_started = docker(&["inspect", "--format", "{{.State.StartedAt}}", &id("app")]);
    assert!(
        app_started.trim() >= init_finished.trim(),
        "app started {app_started} before init finished {init_finished}"
    );
    let task = wait_for(&client, &arn, Duration::from_secs(30), |t| {
        t.containers().iter().any(|c| c.name() == Some("init") && c.exit_code() == Some(0))
    })
    .await;
    assert_eq!(task.last_status(), Some("RUNNING"), "a non-essential init container that is done stops nothing");

    // An init container that fails: the app never starts and the task stops.
    let td = register(&client, "ordered-bad", vec![app, init(1)]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert!(task.started_at().is_none(), "never RUNNING: {task:#?}");
    let app = task.containers().iter().find(|c| c.name() == Some("app")).expect("app");
    assert!(app.reason().unwrap_or_default().contains("dependency init exited with code 1"), "{app:?}");
    emulator.shutdown().await.expect("shutdown");
}
