//! The AWS CLI, run against an emulator: `aws ecs <args>` with test
//! credentials, JSON output and no pager.

use std::process::Command;

/// Runs `aws <service> <args>` against `endpoint` with the test credentials,
/// JSON output and no pager. Blocking: call it from a multi-threaded test,
/// so the in-process emulator keeps answering.
pub fn aws(service: &str, endpoint: &str, args: &[&str]) -> std::process::Output {
    aws_as(("dev", "dev"), service, endpoint, args)
}

/// [`aws`] signing with `(access key id, secret)`.
pub fn aws_as(key: (&str, &str), service: &str, endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new("aws")
        .arg(service)
        .args(args)
        .args(["--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", key.0)
        .env("AWS_SECRET_ACCESS_KEY", key.1)
        .env("AWS_PAGER", "")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the AWS CLI (`aws`) is not on PATH ({e}): install it, e.g. `python3 -m venv ~/.cache/ecs-bridge/venv-awscli && ~/.cache/ecs-bridge/venv-awscli/bin/pip install awscli`, and put its bin directory on PATH (.ci/run does this)"
            )
        })
}

/// Runs `aws ecs <args>` against `endpoint`; the parsed JSON output (Null
/// when there is none) or the CLI's stderr.
pub fn aws_ecs(endpoint: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = aws("ecs", endpoint, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    if stdout.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(&stdout).map_err(|e| format!("output is not JSON ({e}): {stdout}"))
}
