//! awslogs: containers' output in CloudWatch Logs, read with the AWS CLI.

use std::time::Duration;

use super::*;

// Multi-threaded: the AWS CLI blocks this test's thread while the emulator answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awslogs_writes_a_jobs_output_to_cloudwatch_logs_read_with_the_aws_cli() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    let logging = |group: &str, create: bool| {
        let mut options = std::collections::HashMap::from([
            ("awslogs-group".to_owned(), group.to_owned()),
            ("awslogs-region".to_owned(), "us-east-1".to_owned()),
            ("awslogs-stream-prefix".to_owned(), "jobs".to_owned()),
        ]);
        if create {
            options.insert("awslogs-create-group".to_owned(), "true".to_owned());
        }
        aws_sdk_ecs::types::LogConfiguration::builder()
            .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
            .set_options(Some(options))
            .build()
            .expect("log configuration")
    };
    let job = |group: &str, create: bool| {
        container("job")
            .command("sh")
            .command("-c")
            .command("echo line one; echo line two; echo oops >&2; sleep 1")
            .log_configuration(logging(group, create))
            .build()
    };
    let td = register(&client, "logged", vec![job("/ecs/jobs", true)]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.containers()[0].exit_code(), Some(0));
    let task_id = arn.rsplit('/').next().expect("task id");
    let stream = format!("jobs/job/{task_id}");
    let (ok, out, err) = aws_logs(
        &endpoint,
        &["get-log-events", "--log-group-name", "/ecs/jobs", "--log-stream-name", &stream, "--start-from-head"],
    );
    assert!(ok, "{err}");
    let events: serde_json::Value = serde_json::from_str(&out).expect("json");
    let mut messages: Vec<&str> =
        events["events"].as_array().expect("events").iter().filter_map(|e| e["message"].as_str()).collect();
    messages.sort_unstable();
    assert_eq!(messages, ["line one", "line two", "oops"], "stdout and stderr, line by line");
    let (ok, out, err) =
        aws_logs(&endpoint, &["filter-log-events", "--log-group-name", "/ecs/jobs", "--filter-pattern", "two"]);
    assert!(ok, "{err}");
    assert!(out.contains("line two") && !out.contains("line one"), "{out}");
    let (ok, out, _) = aws_logs(&endpoint, &["describe-log-streams", "--log-group-name", "/ecs/jobs"]);
    assert!(ok && out.contains(&stream), "{out}");

    // Without the group and without awslogs-create-group, the task fails as ECS fails it.
    let td = register(&client, "unlogged", vec![job("/ecs/missing", false)]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    assert!(task.stopped_reason().unwrap_or_default().starts_with("ResourceInitializationError"), "{task:?}");

    // The Logs API's own errors, through the CLI.
    let (ok, _, err) = aws_logs(&endpoint, &["create-log-group", "--log-group-name", "/ecs/jobs"]);
    assert!(!ok && err.contains("ResourceAlreadyExistsException"), "{err}");
    let (ok, _, err) = aws_logs(
        &endpoint,
        &["get-log-events", "--log-group-name", "/ecs/jobs", "--log-stream-name", "no/such/stream"],
    );
    assert!(!ok && err.contains("ResourceNotFoundException"), "{err}");
    emulator.shutdown().await.expect("shutdown");
}
