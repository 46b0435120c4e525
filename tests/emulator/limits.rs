//! What one client may cost (`ecs-bridge emulator --max-body-bytes
//! --header-timeout-secs --body-timeout-secs --max-connections`): over raw
//! TCP, a body past the bound is refused unread, a client that stalls in its
//! headers or its body is cut off, and connections past the bound wait
//! until one closes while those within it are served.
//!
//! No assertion here measures speed: each waits (with a generous ceiling)
//! for what must happen, or checks that something has not happened while a
//! bound holds it back.

use std::time::Duration;

use ecs_bridge::emulator::{EmulatorConfig, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{client, raw, start_with, target};

/// Long enough for any of these steps on a loaded two-core machine.
const CEILING: Duration = Duration::from_secs(30);

fn with_limits(limits: Limits) -> EmulatorConfig {
    EmulatorConfig { limits, ..EmulatorConfig::manual() }
}

fn host_port(endpoint: &str) -> String {
    endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned()
}

/// A request head for ListClusters with the given body length.
fn head(content_length: usize) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: {}\r\nContent-Length: {content_length}\r\n\r\n",
        target("ListClusters")
    )
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(CEILING, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_body_past_the_configured_bound_is_refused() {
    let limits = Limits { max_body_bytes: 4096, ..Limits::default() };
    let (emulator, _client) = start_with(with_limits(limits)).await;
    let endpoint = emulator.endpoint();

    let small = format!(r#"{{"clusterName":"{}"}}"#, "a".repeat(100));
    let (status, body) = raw(&endpoint, Some(&target("CreateCluster")), &small).await;
    assert_eq!(status, 200, "{body}");

    let large = format!(r#"{{"clusterName":"{}"}}"#, "a".repeat(5000));
    let (status, body) = raw(&endpoint, Some(&target("CreateCluster")), &large).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "SerializationException");
    assert_eq!(body["message"], "Request body could not be read or exceeds 4096 bytes.");
}

#[tokio::test]
async fn a_client_that_stalls_in_its_headers_is_disconnected() {
    let limits = Limits { header_timeout: Duration::from_secs(1), ..Limits::default() };
    let (emulator, _client) = start_with(with_limits(limits)).await;
    let mut stream = TcpStream::connect(host_port(&emulator.endpoint())).await.expect("connect");
    // Half a request line, then nothing.
    stream.write_all(b"POST / HTTP/1.1\r\nHost: loc").await.expect("write");
    let answer = read_to_close(&mut stream).await;
    // hyper answers 408 or just closes; either way no request was served.
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");

    // An idle keep-alive connection is closed the same way.
    let mut idle = TcpStream::connect(host_port(&emulator.endpoint())).await.expect("connect");
    idle.write_all(format!("{}{{}}", head(2)).as_bytes()).await.expect("write");
    let answer = read_to_close(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "the request itself is served: {answer}");
}

#[tokio::test]
async fn a_client_that_stalls_in_its_body_gets_a_timeout() {
    let limits = Limits { body_timeout: Duration::from_secs(1), ..Limits::default() };
    let (emulator, _client) = start_with(with_limits(limits)).await;
    let mut stream = TcpStream::connect(host_port(&emulator.endpoint())).await.expect("connect");
    // The head promises 100 bytes; 2 come.
    stream.write_all(format!("{}{{}}", head(100)).as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(CEILING, stream.read(&mut buf)).await.expect("an answer").expect("read");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("RequestTimeoutException"), "{answer}");
    assert!(answer.contains("Request body was not received within 1 seconds."), "{answer}");
}

#[tokio::test]
async fn connections_past_the_bound_wait_for_a_free_slot() {
    let limits = Limits { max_connections: 2, ..Limits::default() };
    let (emulator, _client) = start_with(with_limits(limits)).await;
    let addr = host_port(&emulator.endpoint());
    // Two connections hold both slots (opened, nothing sent yet).
    let mut first = TcpStream::connect(&addr).await.expect("connect");
    let second = TcpStream::connect(&addr).await.expect("connect");
    // Both are served: a request on the first is answered.
    first.write_all(format!("{}{{}}", head(2)).as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(CEILING, first.read(&mut buf)).await.expect("an answer").expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    // A third client's request waits while both slots are taken ...
    let sdk = client(&emulator.endpoint());
    let third = tokio::spawn(async move { sdk.list_clusters().send().await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!third.is_finished(), "a third connection was served while two held the slots");

    // ... and is served once one of them closes.
    drop(second);
    let answer = tokio::time::timeout(CEILING, third).await.expect("served after a slot frees").expect("task");
    assert!(answer.is_ok(), "{answer:?}");
    drop(first);
}
