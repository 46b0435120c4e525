//! The finalizer patch against a cache that lags behind the operator's own
//! write (`ecs_bridge::controller::finalize`): kube's helper tests the
//! cached finalizer list and gets a 422; ours reads the object again and
//! reconciles it, without adding the finalizer twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ecs_bridge::api::EcsService;
use ecs_bridge::controller::ReconcileError;
use ecs_bridge::controller::finalize::with_finalizer;
use ecs_bridge::controller::service::FINALIZER;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Error, Event, finalizer};
use serde_json::json;

use crate::operator::apply;
use crate::operator_service::service;
use crate::support;

#[tokio::test]
async fn a_stale_cached_object_gets_its_reconcile_not_a_422() {
    let ns = support::namespace("finalizer-stale").await;
    let api: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(&api, "web", service("web", json!({"taskDefinition": "web", "desiredCount": 0}))).await;
    // What the cache holds: the object before the finalizer was added.
    let stale = api.get("web").await.expect("get");
    assert!(stale.metadata.finalizers.as_deref().unwrap_or_default().is_empty());
    // The operator's own earlier patch, not yet seen by the cache.
    api.patch("web", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": [FINALIZER]}})))
        .await
        .expect("add the finalizer");

    let plain = finalizer(&api, FINALIZER, Arc::new(stale.clone()), |_| async {
        Ok::<_, ReconcileError>(Action::await_change())
    })
    .await;
    assert!(
        matches!(&plain, Err(Error::AddFinalizer(kube::Error::Api(status))) if status.code == 422),
        "kube's helper trips over the stale list: {plain:?}"
    );

    let applied = AtomicUsize::new(0);
    let action = with_finalizer(&api, FINALIZER, Arc::new(stale), |event| {
        let applied = &applied;
        async move {
            match event {
                Event::Apply(obj) => {
                    assert_eq!(
                        obj.metadata.finalizers.as_deref(),
                        Some(&[FINALIZER.to_owned()][..]),
                        "the fresh object"
                    );
                    applied.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ReconcileError>(Action::await_change())
                }
                Event::Cleanup(_) => panic!("nothing is being deleted"),
            }
        }
    })
    .await;
    assert!(action.is_ok(), "{action:?}");
    assert_eq!(applied.load(Ordering::SeqCst), 1, "the reconcile ran once, on the fresh object");
    let now = api.get("web").await.expect("get");
    assert_eq!(now.metadata.finalizers, Some(vec![FINALIZER.to_owned()]), "not added twice");
}
