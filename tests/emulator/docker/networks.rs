//! Network modes on real containers (`awsvpc`, `host`, `none`), and the task
//! metadata endpoint every container is told of. Traffic goes only to
//! 127.0.0.1 and to containers on the Docker network the emulator made.

use std::time::Duration;

use aws_sdk_ecs::types::{AwsVpcConfiguration, LaunchType, NetworkConfiguration, NetworkMode, Task};
use serde_json::Value;

use super::*;

async fn register_in(client: &Client, family: &str, mode: NetworkMode, containers: Vec<ContainerDefinition>) -> String {
    let mut request = client.register_task_definition().family(family).network_mode(mode);
    for c in containers {
        request = request.container_definitions(c);
    }
    request.send().await.expect("register").task_definition.and_then(|t| t.task_definition_arn).expect("arn")
}

async fn run_awsvpc(client: &Client, td: &str) -> String {
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(AwsVpcConfiguration::builder().subnets("subnet-0a1b2c3d").build().expect("awsvpc"))
        .build();
    let out = client
        .run_task()
        .cluster("c")
        .task_definition(td)
        .launch_type(LaunchType::Ec2)
        .network_configuration(network)
        .send()
        .await
        .expect("run task");
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.tasks()[0].task_arn().expect("arn").to_owned()
}

fn eni_detail(task: &Task, name: &str) -> Option<String> {
    let eni = task.attachments().iter().find(|a| a.r#type() == Some("ElasticNetworkInterface"))?;
    eni.details().iter().find(|d| d.name() == Some(name)).and_then(|d| d.value()).map(str::to_owned)
}

fn runtime_id(task: &Task, container: &str) -> String {
    let c = task.containers().iter().find(|c| c.name() == Some(container)).expect("the container");
    c.runtime_id().expect("a runtime id").to_owned()
}

/// The container's output so far, once it holds `expected` (or panics).
async fn output_with(id: &str, expected: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let out = Command::new("docker").args(["logs", id]).output().expect("docker logs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        if text.contains(expected) {
            return text;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no {expected:?} in the output of {id}: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The JSON document on the output's line after `marker`.
fn document_after(output: &str, marker: &str) -> Value {
    let mut lines = output.lines();
    lines.by_ref().find(|l| l.trim() == marker).unwrap_or_else(|| panic!("no {marker} in {output}"));
    let line = lines.next().unwrap_or_else(|| panic!("nothing after {marker} in {output}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{marker}: not JSON ({e}): {line}"))
}

#[tokio::test]
async fn an_awsvpc_task_has_its_real_address_and_its_containers_share_localhost() {
    let (emulator, client) = start().await;
    // The sidecar reaches the web server on localhost (one namespace per
    // task), then reads the task's metadata.
    let sidecar = container("sidecar")
        .essential(false)
        .command("sh")
        .command("-c")
        .command(
            "until wget -qO- http://127.0.0.1:8080/; do sleep 0.2; done; \
             echo TASK; wget -qO- \"$ECS_CONTAINER_METADATA_URI_V4/task\"; echo; sleep 600",
        )
        .build();
    let td = register_in(&client, "vpc", NetworkMode::Awsvpc, vec![web_server().build(), sidecar]).await;
    let arn = run_awsvpc(&client, &td).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;

    let web = runtime_id(&task, "web");
    let real = docker(&["inspect", "-f", "{{(index .NetworkSettings.Networks \"ecs-bridge-c\").IPAddress}}", &web]);
    let real = real.trim();
    assert!(!real.is_empty(), "the web container is on the cluster's network ecs-bridge-c");
    assert_eq!(eni_detail(&task, "privateIPv4Address").as_deref(), Some(real), "the ENI's address is the real one");
    let dns = format!("ip-{}.ec2.internal", real.replace('.', "-"));
    assert_eq!(eni_detail(&task, "privateDnsName"), Some(dns));
    for c in task.containers() {
        let addresses: Vec<_> = c.network_interfaces().iter().filter_map(|n| n.private_ipv4_address()).collect();
        assert_eq!(addresses, vec![real], "{:?} shows the task's address", c.name());
    }
    let sidecar = runtime_id(&task, "sidecar");
    let mode = docker(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", &sidecar]);
    assert_eq!(mode.trim(), format!("container:{web}"), "the sidecar shares the first container's namespace");

    // From the host (Linux), the task answers at its address on the emulator's network.
    let body = reqwest::get(format!("http://{real}:8080/")).await.expect("GET the task").text().await.expect("body");
    assert_eq!(body.trim(), "hello from ecs-bridge");

    // Over localhost, from the other container of the task.
    let output = output_with(&sidecar, "TASK").await;
    assert!(output.starts_with("hello from ecs-bridge"), "the sidecar reached the web server: {output}");
    let metadata = document_after(&output_with(&sidecar, "\"Containers\"").await, "TASK");
    let networks = &metadata["Containers"][0]["Networks"][0];
    assert_eq!(networks["NetworkMode"], "awsvpc");
    assert_eq!(networks["IPv4Addresses"][0], real, "{metadata}");
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_task_metadata_endpoint_answers_v4_and_v3_documents_from_inside_the_container() {
    let (emulator, client) = start().await;
    let reader = container("reader")
        .command("sh")
        .command("-c")
        .command(
            "echo CONTAINER; wget -qO- \"$ECS_CONTAINER_METADATA_URI_V4\"; echo; \
             echo TASK; wget -qO- \"$ECS_CONTAINER_METADATA_URI_V4/task\"; echo; \
             echo STATS; wget -qO- \"$ECS_CONTAINER_METADATA_URI_V4/stats\"; echo; \
             echo V3; wget -qO- \"$ECS_CONTAINER_METADATA_URI/task\"; echo; \
             echo DONE; sleep 600",
        )
        .build();
    let td = register(&client, "meta", vec![reader]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;
    let id = runtime_id(&task, "reader");
    let output = output_with(&id, "DONE").await;

    let own = document_after(&output, "CONTAINER");
    assert_eq!(own["DockerId"], id.as_str());
    assert_eq!(own["Name"], "reader");
    assert_eq!(own["Image"], IMAGE);
    assert_eq!(own["Labels"]["com.amazonaws.ecs.task-arn"], arn.as_str());
    assert_eq!(own["Limits"]["Memory"], 64);
    assert!(own["ContainerARN"].as_str().is_some_and(|a| a.contains(":container/")), "{own}");
    let bridge_ip = docker(&["inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", &id]);
    assert_eq!(own["Networks"][0]["NetworkMode"], "bridge");
    assert_eq!(own["Networks"][0]["IPv4Addresses"][0], bridge_ip.trim());

    let task_doc = document_after(&output, "TASK");
    assert_eq!(task_doc["TaskARN"], arn.as_str());
    assert_eq!(task_doc["Cluster"], "c");
    assert_eq!(task_doc["Family"], "meta");
    assert_eq!(task_doc["Revision"], "1");
    assert_eq!(task_doc["DesiredStatus"], "RUNNING");
    assert_eq!(task_doc["LaunchType"], "EC2");
    assert_eq!(task_doc["Containers"][0]["DockerId"], id.as_str());

    let stats = document_after(&output, "STATS");
    assert!(stats["memory_stats"].is_object() && stats["cpu_stats"].is_object(), "Docker's stats shape: {stats}");

    let v3 = document_after(&output, "V3");
    assert_eq!(v3["TaskARN"], arn.as_str());
    assert!(v3.get("LaunchType").is_none() && v3["Containers"][0].get("ContainerARN").is_none(), "v3 is v3: {v3}");
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn host_mode_uses_the_hosts_ports_and_none_mode_has_no_network() {
    let (emulator, client) = start().await;
    // A port free on the host, for the host-mode server.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let server = container("web")
        .command("httpd")
        .command("-f")
        .command("-p")
        .command(format!("127.0.0.1:{port}"))
        .command("-h")
        .command("/www")
        .build();
    let td = register_in(&client, "on-host", NetworkMode::Host, vec![server]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;
    let mode = docker(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", &runtime_id(&task, "web")]);
    assert_eq!(mode.trim(), "host");
    let url = format!("http://127.0.0.1:{port}/");
    let start = std::time::Instant::now();
    let body = loop {
        match reqwest::get(&url).await {
            Ok(response) => break response.text().await.expect("body"),
            Err(e) => assert!(start.elapsed() < Duration::from_secs(20), "{url}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body.trim(), "hello from ecs-bridge");

    // With no network, the container has its loopback and nothing else.
    let alone = container("alone")
        .command("sh")
        .command("-c")
        .command("test \"$(ip -o -4 addr | grep -vc ' lo ')\" = 0 && test -z \"$ECS_CONTAINER_METADATA_URI_V4\"")
        .build();
    let td = register_in(&client, "offline", NetworkMode::None, vec![alone]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.containers()[0].exit_code(), Some(0), "only a loopback, no metadata endpoint: {task:#?}");
    emulator.shutdown().await.expect("shutdown");
}
