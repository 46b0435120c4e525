//! `--state-dir`: state survives a clean restart and `kill -9` of the process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use ecs_bridge::emulator::{EmulatorConfig, spawn};

use crate::support::{client, fargate_task, register_bridge, register_fargate, register_instance};

/// Starts the built binary as a child process; returns it and its endpoint.
fn start_child(state_dir: &std::path::Path) -> (Child, String) {
    start_child_with(state_dir, "never")
}

/// [`start_child`] with the journal's `--fsync` mode.
pub(crate) fn start_child_with(state_dir: &std::path::Path, fsync: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecs-bridge"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--fsync", fsync, "--state-dir"])
        .arg(state_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ecs-bridge emulator");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let endpoint = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|e| e.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    (child, endpoint)
}

#[tokio::test]
async fn state_survives_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::default() };
    let emulator = spawn(config.clone()).await.unwrap();
    let c = client(&emulator.endpoint());
    c.create_cluster().cluster_name("keep").send().await.unwrap();
    register_fargate(&c, "web").await;
    register_fargate(&c, "web").await;
    c.deregister_task_definition().task_definition("web:2").send().await.unwrap();
    let run = || fargate_task(&c, "keep", "web").client_token("same-token").send();
    let first = run().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    emulator.shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let c = client(&emulator.endpoint());
    let clusters = c.list_clusters().send().await.unwrap();
    assert_eq!(clusters.cluster_arns().len(), 1);
    // Revisions keep counting from where they were.
    let arn = register_fargate(&c, "web").await;
    assert!(arn.ends_with("web:3"), "{arn}");
    let inactive = c.describe_task_definition().task_definition("web:2").send().await.unwrap();
    assert_eq!(inactive.task_definition.unwrap().status().unwrap().as_str(), "INACTIVE");
    // The RunTask token still maps to the same task.
    let again = fargate_task(&c, "keep", "web").client_token("same-token").send().await;
    // The request body is identical, so the original task comes back.
    assert_eq!(again.unwrap().tasks()[0].task_arn(), Some(first.as_str()));
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9() {
    acknowledged_writes_survive_kill_9("never").await;
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9_with_fsync_batch() {
    acknowledged_writes_survive_kill_9("batch").await;
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9_with_fsync_always() {
    acknowledged_writes_survive_kill_9("always").await;
}

async fn acknowledged_writes_survive_kill_9(fsync: &str) {
    let dir = tempfile::tempdir().unwrap();
    let start_child = |dir: &std::path::Path| start_child_with(dir, fsync);
    let (mut child, endpoint) = start_child(dir.path());
    let c = client(&endpoint);
    c.create_cluster().cluster_name("prod").send().await.unwrap();
    let td = register_bridge(&c, "api").await;
    let instance = register_instance(&c, "prod").await;
    c.create_service().cluster("prod").service_name("api").task_definition(&td).desired_count(1).send().await.unwrap();
    let mut clusters = Vec::new();
    for i in 0..40 {
        let name = format!("burst-{i}");
        c.create_cluster().cluster_name(&name).send().await.unwrap();
        clusters.push(name);
    }
    // The very last write is acknowledged, then the process is killed at once.
    c.tag_resource()
        .resource_arn(crate::support::arn("cluster/prod"))
        .tags(aws_sdk_ecs::types::Tag::builder().key("last").value("write").build())
        .send()
        .await
        .unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let (mut child, endpoint) = start_child(dir.path());
    let c = client(&endpoint);
    let listed: Vec<String> =
        c.list_clusters().into_paginator().items().send().collect::<Result<Vec<_>, _>>().await.unwrap();
    assert_eq!(listed.len(), 41);
    let tags = c.list_tags_for_resource().resource_arn(crate::support::arn("cluster/prod")).send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), Some("last"));
    let service = c.describe_services().cluster("prod").services("api").send().await.unwrap();
    let service = &service.services()[0];
    // The task survived; it may have reached RUNNING meanwhile (real clock).
    assert_eq!(service.pending_count() + service.running_count(), 1, "{service:?}");
    let tasks = c.list_tasks().cluster("prod").service_name("api").send().await.unwrap();
    assert_eq!(tasks.task_arns().len(), 1);
    let ci = c.describe_container_instances().cluster("prod").container_instances(&instance).send().await.unwrap();
    assert_eq!(ci.container_instances()[0].running_tasks_count(), 1);
    // Writes after the restart land and the next kill keeps them too.
    c.delete_cluster().cluster("burst-0").send().await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, endpoint) = start_child(dir.path());
    let c = client(&endpoint);
    let described = c.describe_clusters().clusters("burst-0").send().await.unwrap();
    assert_eq!(described.clusters()[0].status(), Some("INACTIVE"));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_torn_journal_tail_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::default() };
    let emulator = spawn(config.clone()).await.unwrap();
    let c = client(&emulator.endpoint());
    c.create_cluster().cluster_name("whole").send().await.unwrap();
    emulator.shutdown().await.unwrap();
    // Simulate a crash in the middle of a write: half a line at the end.
    use std::io::Write;
    let journal_path = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("journal-"))
        .expect("a journal file");
    let mut journal = std::fs::OpenOptions::new().append(true).open(journal_path).unwrap();
    journal.write_all(br#"{"change":"newCluster","cluster":{"clusterArn":"#).unwrap();
    drop(journal);
    let emulator = spawn(config).await.unwrap();
    let c = client(&emulator.endpoint());
    assert_eq!(c.list_clusters().send().await.unwrap().cluster_arns().len(), 1);
}

#[tokio::test]
async fn compaction_under_concurrent_writes_keeps_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::default() };
    let emulator = std::sync::Arc::new(spawn(config.clone()).await.unwrap());
    let endpoint = emulator.endpoint();
    let mut writers = Vec::new();
    for w in 0..4 {
        let c = client(&endpoint);
        writers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for i in 0..30 {
                let name = format!("w{w}-{i}");
                c.create_cluster().cluster_name(&name).send().await.unwrap();
                c.tag_resource()
                    .resource_arn(crate::support::arn(&format!("cluster/{name}")))
                    .tags(aws_sdk_ecs::types::Tag::builder().key("i").value(i.to_string()).build())
                    .send()
                    .await
                    .unwrap();
                made.push(name);
            }
            made
        }));
    }
    for _ in 0..5 {
        let e = emulator.clone();
        tokio::task::spawn_blocking(move || e.compact().unwrap()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut all = Vec::new();
    for w in writers {
        all.extend(w.await.unwrap());
    }
    let journals = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("journal-"))
        .count();
    assert_eq!(journals, 1, "older journals are deleted after compaction");
    std::sync::Arc::into_inner(emulator).expect("sole owner").shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let c = client(&emulator.endpoint());
    let listed: Vec<String> =
        c.list_clusters().into_paginator().items().send().collect::<Result<Vec<_>, _>>().await.unwrap();
    assert_eq!(listed.len(), all.len());
    for name in ["w0-29", "w3-0", "w2-17"] {
        let tags = c
            .list_tags_for_resource()
            .resource_arn(crate::support::arn(&format!("cluster/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(tags.tags().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn logs_and_secrets_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, endpoint) = start_child(dir.path());
    let logs = crate::support::logs_client(&endpoint);
    logs.create_log_group().log_group_name("/app").send().await.unwrap();
    logs.create_log_stream().log_group_name("/app").log_stream_name("s").send().await.unwrap();
    let event = |t: i64, m: &str| {
        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder().timestamp(t).message(m).build().unwrap()
    };
    logs.put_log_events()
        .log_group_name("/app")
        .log_stream_name("s")
        .log_events(event(1_000, "first"))
        .log_events(event(2_000, "second"))
        .send()
        .await
        .unwrap();
    let (status, _) = crate::support::admin(
        &endpoint,
        reqwest::Method::POST,
        "secrets",
        serde_json::json!({"valueFrom": "/prod/key", "value": "s3cret"}),
    )
    .await;
    assert_eq!(status, 200);
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, endpoint) = start_child(dir.path());
    let logs = crate::support::logs_client(&endpoint);
    let got =
        logs.get_log_events().log_group_name("/app").log_stream_name("s").start_from_head(true).send().await.unwrap();
    let messages: Vec<&str> = got.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(messages, ["first", "second"]);
    // A deleted group stays deleted.
    logs.delete_log_group().log_group_name("/app").send().await.unwrap();
    let (_, listed) = crate::support::admin(&endpoint, reqwest::Method::GET, "secrets", serde_json::json!({})).await;
    assert_eq!(listed["secrets"], serde_json::json!([{"valueFrom": "/prod/key"}]), "values are never shown");
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, endpoint) = start_child(dir.path());
    let logs = crate::support::logs_client(&endpoint);
    let err = logs.describe_log_streams().log_group_name("/app").send().await.unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    child.kill().unwrap();
    child.wait().unwrap();
}
