//! The task definition applied to real containers: secrets from the
//! emulator's store in the environment, host and Docker volumes,
//! `volumesFrom`, ulimits, a read-only root file system, `dockerLabels`; and
//! what ECS does when a secret or a volume cannot be had.

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    DockerVolumeConfiguration, EfsVolumeConfiguration, HostVolumeProperties, MountPoint, Scope, Secret, Ulimit,
    UlimitName, Volume, VolumeFrom,
};

use super::*;

const DB_SECRET: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";

async fn put_secret(endpoint: &str, value_from: &str, value: &str) {
    let body = serde_json::json!({ "valueFrom": value_from, "value": value });
    let (status, answer) = crate::support::admin(endpoint, reqwest::Method::POST, "secrets", body).await;
    assert_eq!(status, 200, "{answer}");
}

/// `sh -c script` in a running container; its stdout, and whether it succeeded.
fn exec(id: &str, script: &str) -> (bool, String) {
    let out = Command::new("docker").args(["exec", id, "sh", "-c", script]).output().expect("docker exec");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

async fn register_with(
    client: &Client,
    family: &str,
    containers: Vec<ContainerDefinition>,
    volumes: Vec<Volume>,
) -> String {
    let mut request =
        client.register_task_definition().family(family).network_mode(aws_sdk_ecs::types::NetworkMode::Bridge);
    for c in containers {
        request = request.container_definitions(c);
    }
    for v in volumes {
        request = request.volumes(v);
    }
    request.send().await.expect("register").task_definition.and_then(|t| t.task_definition_arn).expect("arn")
}

#[tokio::test]
async fn secrets_volumes_ulimits_and_labels_reach_the_container() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    put_secret(&endpoint, DB_SECRET, r#"{"user": "app", "password": "pw"}"#).await;
    put_secret(&endpoint, "/prod/api-key", "k-123").await;
    let host = tempfile::tempdir().expect("host dir");
    std::fs::write(host.path().join("hello"), "from the host\n").expect("host file");

    let mount = |volume: &str, path: &str, read_only: bool| {
        MountPoint::builder().source_volume(volume).container_path(path).read_only(read_only).build()
    };
    let writer = container("writer")
        .command("sh")
        .command("-c")
        .command("echo from-writer > /scratch/shared; sleep 600")
        .mount_points(mount("scratch", "/scratch", false))
        .build();
    let reader = container("reader")
        .command("sleep")
        .command("600")
        .mount_points(mount("scratch", "/in", true))
        .mount_points(mount("hostdir", "/host", true))
        .volumes_from(VolumeFrom::builder().source_container("writer").read_only(true).build())
        .secrets(Secret::builder().name("DB_USER").value_from(format!("{DB_SECRET}:user::")).build().unwrap())
        .secrets(
            Secret::builder()
                .name("API_KEY")
                .value_from("arn:aws:ssm:us-east-1:000000000000:parameter/prod/api-key")
                .build()
                .unwrap(),
        )
        .ulimits(Ulimit::builder().name(UlimitName::Nofile).soft_limit(1024).hard_limit(2048).build().unwrap())
        .readonly_root_filesystem(true)
        .docker_labels("team", "payments")
        .build();
    let scratch = Volume::builder()
        .name("scratch")
        .docker_volume_configuration(
            DockerVolumeConfiguration::builder().scope(Scope::Task).autoprovision(true).build(),
        )
        .build();
    let hostdir = Volume::builder()
        .name("hostdir")
        .host(HostVolumeProperties::builder().source_path(host.path().to_string_lossy()).build())
        .build();
    let td = register_with(&client, "configured", vec![writer, reader], vec![scratch, hostdir]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;
    let reader = task.containers().iter().find(|c| c.name() == Some("reader")).expect("reader");
    let id = reader.runtime_id().expect("runtime id").to_owned();

    assert_eq!(exec(&id, "echo $DB_USER $API_KEY"), (true, "app k-123".to_owned()), "secrets in the environment");
    let start = Instant::now();
    while exec(&id, "cat /in/shared").1 != "from-writer" {
        assert!(start.elapsed() < Duration::from_secs(20), "the task volume is not shared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(exec(&id, "cat /scratch/shared").1, "from-writer", "volumesFrom mounts the writer's volume");
    assert_eq!(exec(&id, "cat /host/hello").1, "from the host", "the host path is bind-mounted");
    assert_eq!(exec(&id, "ulimit -n").1, "1024", "the soft nofile limit");
    assert!(!exec(&id, "touch /root-file").0, "the root file system is read-only");
    assert!(!exec(&id, "touch /in/x").0, "a read-only mount point is read-only");
    let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", &id]);
    let labels: serde_json::Value = serde_json::from_str(&labels).expect("labels");
    assert_eq!(labels["team"], "payments");
    assert_eq!(labels["com.amazonaws.ecs.container-name"], "reader");

    // The task's volume lives as long as the task.
    let task_id = arn.rsplit('/').next().expect("task id");
    let volume = format!("ecs-{task_id}-scratch");
    let volumes = || docker(&["volume", "ls", "-q", "--filter", &format!("name={volume}")]);
    assert_eq!(volumes().trim(), volume);
    client.stop_task().cluster("c").task(&arn).send().await.expect("stop");
    wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    let start = Instant::now();
    while !volumes().trim().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "the task's volume outlived it");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_secret_or_volume_that_cannot_be_had_fails_the_task_as_ecs_does() {
    let (emulator, client) = start().await;
    let app = |secret: &str| {
        container("app")
            .command("sleep")
            .command("600")
            .secrets(Secret::builder().name("TOKEN").value_from(secret).build().unwrap())
            .build()
    };
    let td = register(&client, "no-secret", vec![app("/missing/token")]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    let reason = task.stopped_reason().unwrap_or_default();
    assert!(reason.starts_with("ResourceInitializationError: unable to pull secrets"), "{reason}");
    assert!(reason.contains("/missing/token"), "{reason}");
    assert!(task.started_at().is_none());

    let td = register(&client, "no-asm", vec![app(&format!("{DB_SECRET}-other"))]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert!(task.stopped_reason().unwrap_or_default().contains("Secrets Manager can't find the specified secret"));

    let efs = Volume::builder()
        .name("shared")
        .efs_volume_configuration(EfsVolumeConfiguration::builder().file_system_id("fs-12345678").build().unwrap())
        .build();
    let mounted = container("app")
        .command("sleep")
        .command("600")
        .mount_points(MountPoint::builder().source_volume("shared").container_path("/mnt").build())
        .build();
    let td = register_with(&client, "efs", vec![mounted], vec![efs]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert!(task.stopped_reason().unwrap_or_default().starts_with("ResourceInitializationError"), "{task:?}");
    assert!(owned_containers(&emulator).is_empty(), "no container was made");
    emulator.shutdown().await.expect("shutdown");
}
