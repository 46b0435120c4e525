//! The ECS overview's commands, run with the real AWS CLI against the
//! emulator (tests/aws-cli/overview.sh checks each command's output).

use std::process::Command;

#[tokio::test]
async fn aws_cli_overview_script() {
    let found = Command::new("aws").arg("--version").output();
    if !found.as_ref().is_ok_and(|o| o.status.success()) {
        panic!(
            "the AWS CLI (`aws`) is not on PATH: install it, e.g. `python3 -m venv ~/.cache/ecs-bridge/venv-awscli && ~/.cache/ecs-bridge/venv-awscli/bin/pip install awscli`, and put its bin directory on PATH (.ci/run does this)"
        );
    }
    let (emulator, _client) = crate::support::start_real().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/aws-cli/overview.sh");
    let endpoint = emulator.endpoint();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash").arg(script).env("ECS_ENDPOINT", endpoint).output().expect("run overview.sh")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "overview.sh failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(stdout.contains("overview: all checks passed"), "{stdout}");
    // Every command of the overview reached the emulator.
    let stats = emulator.stats();
    for op in [
        "CreateCluster",
        "RegisterTaskDefinition",
        "CreateService",
        "UpdateService",
        "DescribeServices",
        "ListTasks",
        "DescribeTasks",
        "RunTask",
        "StopTask",
        "ListTaskDefinitions",
        "DescribeTaskDefinition",
        "DeregisterTaskDefinition",
        "TagResource",
        "ListTagsForResource",
        "DeleteService",
        "DeleteCluster",
    ] {
        assert!(stats.contains_key(op), "{op} was never called: {stats:?}");
    }
}
