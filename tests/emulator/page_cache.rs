//! `--fsync` against the loss of the page cache, not only of the process:
//! the state directory is a FUSE file system of the test's own
//! ([`Volatile`]) whose unflushed writes are dropped, as a power loss drops
//! them. Each mode is held to what the README promises of it.

use std::path::Path;
use std::time::Duration;

use aws_sdk_ecs::types::Tag;

use crate::persistence::start_child_with;
use crate::support::{arn, client};
use crate::volatile_fs::Volatile;

/// Clusters created before the loss, then one tag: the last acknowledged write.
const CLUSTERS: usize = 25;

/// Runs the emulator with `--fsync mode` on a fresh [`Volatile`] file
/// system, makes [`CLUSTERS`] + 1 acknowledged writes, waits `settle`, kills
/// it with SIGKILL and drops the page cache; then starts an emulator on what
/// the disk kept and returns (clusters listed, whether the last tag is there,
/// fsyncs the file system saw).
async fn lose_the_page_cache(mode: &str, settle: Duration) -> (usize, bool, u64) {
    let mount = tempfile::tempdir().unwrap();
    let (fs, session) = Volatile::mount(mount.path());
    let (mut child, endpoint) = start_child_with(mount.path(), mode);
    let c = client(&endpoint);
    for i in 0..CLUSTERS {
        c.create_cluster().cluster_name(format!("c-{i}")).send().await.unwrap();
    }
    c.tag_resource()
        .resource_arn(arn("cluster/c-0"))
        .tags(Tag::builder().key("last").value("write").build())
        .send()
        .await
        .unwrap();
    tokio::time::sleep(settle).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Power loss: only what reached the disk is left.
    let disk = fs.disk();
    let syncs = fs.syncs();
    session.umount_and_join().unwrap();

    let after = tempfile::tempdir().unwrap();
    restore(after.path(), &disk);
    let (mut child, endpoint) = start_child_with(after.path(), "never");
    let c = client(&endpoint);
    let listed = c.list_clusters().into_paginator().items().send().collect::<Result<Vec<_>, _>>().await.unwrap();
    let tagged = match c.list_tags_for_resource().resource_arn(arn("cluster/c-0")).send().await {
        Ok(tags) => tags.tags().iter().any(|t| t.key() == Some("last")),
        Err(_) => false,
    };
    child.kill().unwrap();
    child.wait().unwrap();
    (listed.len(), tagged, syncs)
}

fn restore(dir: &Path, disk: &std::collections::BTreeMap<std::ffi::OsString, Vec<u8>>) {
    for (name, bytes) in disk {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[tokio::test]
async fn with_fsync_always_every_acknowledged_write_survives_the_loss_of_the_page_cache() {
    let (clusters, tagged, syncs) = lose_the_page_cache("always", Duration::ZERO).await;
    assert_eq!(clusters, CLUSTERS, "acknowledged CreateCluster calls lost");
    assert!(tagged, "the last acknowledged write was lost");
    assert!(syncs > CLUSTERS as u64, "one fdatasync per write, saw {syncs}");
}

#[tokio::test]
async fn with_fsync_batch_writes_older_than_the_batch_interval_survive() {
    // BATCH_INTERVAL is 50 ms; a quarter second covers a loaded machine.
    let (clusters, tagged, _) = lose_the_page_cache("batch", Duration::from_millis(250)).await;
    assert_eq!(clusters, CLUSTERS);
    assert!(tagged);
}

/// The control: the file system really drops what was not flushed, so the
/// tests above could fail. With `never` the journal is never flushed, not
/// even its name in the directory, and every write since start-up goes.
#[tokio::test]
async fn with_fsync_never_the_page_cache_takes_the_writes_with_it() {
    let (clusters, tagged, _) = lose_the_page_cache("never", Duration::from_millis(250)).await;
    assert_eq!(clusters, 0, "writes survived a page-cache loss without any fsync");
    assert!(!tagged);
}
