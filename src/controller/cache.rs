//! Waiting for a reflector cache to finish its first listing, safely when
//! several tasks wait on the same cache.
//!
//! kube-runtime's `Store::wait_until_ready` shares one oneshot receiver among
//! all clones of a store, so of several concurrent waiters only the one that
//! polled last is woken; the others sleep until something else polls them.
//! With the EcsService controller's runner, the fleet resync and reconciles
//! all waiting on the EcsService cache, a reconcile could sleep through the
//! whole timeout. Waiting in short steps re-polls the receiver, so a waiter
//! notices readiness within one step.

use std::time::{Duration, Instant};

use kube::runtime::reflector::{Lookup, Store};

/// How often a waiter looks again.
const STEP: Duration = Duration::from_millis(100);

/// Waits until `store` has listed once, for at most `max`; `false` if it did not
/// (timeout, or its writer is gone).
pub async fn ready<K>(store: &Store<K>, max: Duration) -> bool
where
    K: 'static + Lookup + Clone,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let deadline = Instant::now() + max;
    loop {
        match tokio::time::timeout(STEP, store.wait_until_ready()).await {
            Ok(result) => return result.is_ok(),
            Err(_) if Instant::now() < deadline => continue,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;

    #[tokio::test]
    async fn every_concurrent_waiter_sees_readiness() {
        let (store, mut writer) = reflector::store::<ConfigMap>();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { ready(&store, Duration::from_secs(5)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitDone);
        let started = Instant::now();
        for waiter in waiters {
            assert!(waiter.await.unwrap());
        }
        assert!(started.elapsed() < Duration::from_secs(2), "woken promptly: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn gives_up_after_max() {
        let (store, _writer) = reflector::store::<ConfigMap>();
        assert!(!ready(&store, Duration::from_millis(250)).await);
    }
}
