//! What each `--fsync` mode costs: acknowledged writes per second (TagResource
//! on one cluster, each a journaled write) from BENCH_CLIENTS concurrent
//! clients (default 8) for BENCH_SECONDS (default 5) per mode, against an
//! in-process emulator with `--state-dir` on the temp directory's file system.
//!
//!     cargo bench --bench journal

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::Tag;
use ecs_bridge::emulator::{EmulatorConfig, Fsync, spawn};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn writes_per_second(fsync: Fsync, clients: u64, seconds: u64) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), fsync, ..EmulatorConfig::manual() };
    let emulator = spawn(config).await.expect("emulator");
    let client = ecs_bridge::ecs::client_for_endpoint(&emulator.endpoint(), "us-east-1", 1);
    let cluster = client.create_cluster().cluster_name("bench").send().await.expect("cluster");
    let arn = cluster.cluster.and_then(|c| c.cluster_arn).expect("arn");
    let until = Instant::now() + Duration::from_secs(seconds);
    let workers = (0..clients).map(|i| {
        let (client, arn) = (client.clone(), arn.clone());
        tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < until {
                let tag = Tag::builder().key(format!("k{i}")).value(done.to_string()).build();
                client.tag_resource().resource_arn(&arn).tags(tag).send().await.expect("tag");
                done += 1;
            }
            done
        })
    });
    let mut total = 0;
    for worker in workers {
        total += worker.await.expect("worker");
    }
    emulator.shutdown().await.expect("shutdown");
    total as f64 / seconds as f64
}

#[tokio::main]
async fn main() {
    let (clients, seconds) = (env_or("BENCH_CLIENTS", 8), env_or("BENCH_SECONDS", 5));
    for fsync in [Fsync::Never, Fsync::Batch, Fsync::Always] {
        let rate = writes_per_second(fsync, clients, seconds).await;
        println!("--fsync {fsync:?}: {rate:.0} acknowledged writes/s ({clients} clients, {seconds} s)");
    }
}
