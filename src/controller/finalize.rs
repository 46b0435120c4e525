//! kube's [`finalizer`] helper, made to tolerate a cache that lags behind
//! the operator's own writes.
//!
//! The helper adds (or removes) the finalizer with a JSON patch whose `test`
//! operation checks the finalizer list the *cached* object shows, so that it
//! never duplicates or drops someone else's finalizer. When a second
//! reconcile of a new object starts before the watch has delivered the
//! object with the finalizer just added (another trigger was queued), the
//! test fails and the API server answers 422. That was harmless (the retry
//! succeeds) but logged a failed reconcile and cost a back-off. Here a 422
//! or 409 on that patch reads the object fresh from the API server and runs
//! the helper once more on it; the guard of the `test` stays intact.

use std::fmt::Debug;
use std::sync::Arc;

use futures::TryFuture;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Error, Event, finalizer};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ReconcileError;

/// Whether `err` is the API server refusing the finalizer patch because the
/// object changed since it was read (the `test` failed, or a conflict).
fn is_stale_patch(err: &Error<ReconcileError>) -> bool {
    match err {
        Error::AddFinalizer(kube::Error::Api(status)) | Error::RemoveFinalizer(kube::Error::Api(status)) => {
            status.code == 422 || status.code == 409
        }
        _ => false,
    }
}

/// Runs `reconcile` under the finalizer `name` (see [`finalizer`]); on a
/// stale cache, once more with the object as the API server has it.
pub async fn with_finalizer<K, F, Fut>(
    api: &Api<K>,
    name: &str,
    obj: Arc<K>,
    reconcile: F,
) -> Result<Action, Error<ReconcileError>>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
    F: Fn(Event<K>) -> Fut,
    Fut: TryFuture<Ok = Action, Error = ReconcileError>,
{
    let object_name = obj.name_any();
    match finalizer(api, name, obj, &reconcile).await {
        Err(err) if is_stale_patch(&err) => {
            let fresh = match api.get_opt(&object_name).await {
                Ok(Some(fresh)) => fresh,
                // Deleted meanwhile: nothing is left to hold.
                Ok(None) => return Ok(Action::await_change()),
                Err(_) => return Err(err),
            };
            tracing::debug!(object = %object_name, "finalizer patch met a stale cache; retrying on a fresh read");
            finalizer(api, name, Arc::new(fresh), &reconcile).await
        }
        other => other,
    }
}
