//! An emulator with credentials: only requests signed (SigV4) by its key get
//! in, through the real SDK and the AWS CLI; every other one gets AWS's
//! refusal, and the admin endpoints want the key too.

use aws_sdk_ecs::config::{Credentials as SdkCredentials, Region};
use ecs_bridge::emulator::{Credentials, EmulatorConfig};

use crate::cli::aws_as;
use crate::support::{REGION, error, start_with};

const KEY: &str = "AKIAEMULATORTEST0001";
const SECRET: &str = "s3cr3t/with+odd=chars";

async fn guarded() -> ecs_bridge::emulator::RunningEmulator {
    let credentials = Some(Credentials { access_key_id: KEY.into(), secret_access_key: SECRET.into() });
    start_with(EmulatorConfig { credentials, ..EmulatorConfig::manual() }).await.0
}

fn client_as(endpoint: &str, key: &str, secret: &str) -> aws_sdk_ecs::Client {
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(SdkCredentials::new(key, secret, None, None, "test"))
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    aws_sdk_ecs::Client::from_conf(config)
}

#[tokio::test]
async fn the_sdk_signed_with_the_key_gets_in_and_others_get_awss_refusals() {
    let emulator = guarded().await;
    let endpoint = emulator.endpoint();
    let right = client_as(&endpoint, KEY, SECRET);
    right.create_cluster().cluster_name("signed").send().await.expect("a signed request is served");
    let listed = right.list_clusters().send().await.expect("list");
    assert_eq!(listed.cluster_arns().len(), 1);

    let (code, message) = error(client_as(&endpoint, "AKIASOMEONEELSE00000", SECRET).list_clusters().send().await);
    assert_eq!(code, "UnrecognizedClientException");
    assert_eq!(message, "The security token included in the request is invalid.");

    let (code, message) = error(client_as(&endpoint, KEY, "not-the-secret").list_clusters().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with("The request signature we calculated does not match"), "{message}");
    // Nothing the refused calls asked for happened.
    let (code, _) = error(client_as(&endpoint, KEY, "nope").create_cluster().cluster_name("x").send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert_eq!(right.list_clusters().send().await.expect("list").cluster_arns().len(), 1);
}

#[tokio::test]
async fn unsigned_requests_and_the_admin_endpoints_without_the_key_are_refused() {
    let emulator = guarded().await;
    let endpoint = emulator.endpoint();
    let http = reqwest::Client::new();
    let unsigned = http
        .post(&endpoint)
        .header("x-amz-target", "AmazonEC2ContainerServiceV20141113.ListClusters")
        .header("content-type", "application/x-amz-json-1.1")
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(unsigned.status(), 403);
    let body: serde_json::Value = unsigned.json().await.expect("JSON");
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    assert_eq!(body["message"], "Missing Authentication Token");

    // A signature from 2020 is expired, in AWS's words.
    let stale = http
        .post(&endpoint)
        .header("x-amz-target", "AmazonEC2ContainerServiceV20141113.ListClusters")
        .header("x-amz-date", "20200101T000000Z")
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={KEY}/20200101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
            ),
        )
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(stale.status(), 400);
    let body: serde_json::Value = stale.json().await.expect("JSON");
    assert_eq!(body["__type"], "InvalidSignatureException");
    assert!(body["message"].as_str().is_some_and(|m| m.starts_with("Signature expired: 20200101T000000Z")), "{body}");

    let admin = format!("{endpoint}/_emulator/state");
    let anonymous = http.get(&admin).send().await.expect("GET");
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = http.get(&admin).basic_auth(KEY, Some("wrong")).send().await.expect("GET");
    assert_eq!(wrong.status(), 403);
    let reset = http.post(format!("{endpoint}/_emulator/reset")).send().await.expect("POST");
    assert_eq!(reset.status(), 401, "nobody resets the emulator without the key");
    let allowed = http.get(&admin).basic_auth(KEY, Some(SECRET)).send().await.expect("GET");
    assert_eq!(allowed.status(), 200);
    let health = http.get(format!("{endpoint}/_emulator/health")).send().await.expect("GET");
    assert_eq!(health.status(), 200, "probes need no key");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_signed_with_the_key_works_and_with_another_is_refused() {
    let emulator = guarded().await;
    let endpoint = emulator.endpoint();
    let ok = aws_as((KEY, SECRET), "ecs", &endpoint, &["create-cluster", "--cluster-name", "cli"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let ok = aws_as((KEY, SECRET), "logs", &endpoint, &["create-log-group", "--log-group-name", "/signed"]);
    assert!(ok.status.success(), "CloudWatch Logs is checked alike: {}", String::from_utf8_lossy(&ok.stderr));
    let refused = aws_as(("dev", "dev"), "ecs", &endpoint, &["list-clusters"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("UnrecognizedClientException"), "{stderr}");
}
