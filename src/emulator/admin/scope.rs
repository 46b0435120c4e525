//! Which partition an admin endpoint acts on: `?region=&account=`, each
//! defaulting to the emulator's own (`--region`, `--account-id`), so
//! `POST /_emulator/tasks/kill?region=us-east-2` kills a task of
//! `us-east-2` and the same call without a query acts where unsigned
//! requests do. The signature's scope is not used here: people call these
//! endpoints with curl, and a signed admin request's region is whatever
//! the signing tool defaulted to.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::response::Response;
use serde::Deserialize;

use crate::emulator::server::{App, json_response};
use crate::emulator::state::Store;
use crate::emulator::state::partitions::{Partition, is_account_id, is_region};

/// The query's partition members; others belong to the endpoint.
#[derive(Deserialize, Default)]
struct ScopeQuery {
    region: Option<String>,
    account: Option<String>,
}

/// The partition members the query names, when it names one; why not, when
/// they are not a region or an account.
fn named(parts: &Parts) -> Result<Option<ScopeQuery>, String> {
    let Query(query) = Query::<ScopeQuery>::try_from_uri(&parts.uri).map_err(|e| e.body_text())?;
    if query.region.as_deref().is_some_and(|r| !is_region(r)) {
        return Err("region must be a region's name, such as us-east-2".into());
    }
    if query.account.as_deref().is_some_and(|a| !is_account_id(a)) {
        return Err("account must be a 12-digit account id".into());
    }
    Ok((query.region.is_some() || query.account.is_some()).then_some(query))
}

/// A query that names no partition: 400, as the admin endpoints answer.
fn refused(message: String) -> Response {
    json_response(400, &serde_json::json!({ "message": message }))
}

/// The store of the partition an admin request names (made if new).
pub struct Scoped(pub Arc<Store>);

impl FromRequestParts<Arc<App>> for Scoped {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let mut partition = app.partitions.default_partition();
        if let Some(query) = named(parts).map_err(refused)? {
            partition = Partition {
                region: query.region.unwrap_or(partition.region),
                account: query.account.unwrap_or(partition.account),
            };
        }
        Ok(Self(app.partitions.get(&partition)))
    }
}

/// The stores an admin request acts on: the one it names, or every
/// partition's when it names none (reset).
pub struct ScopedOrAll(pub Vec<Arc<Store>>);

impl FromRequestParts<Arc<App>> for ScopedOrAll {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        match named(parts).map_err(refused)? {
            Some(_) => Scoped::from_request_parts(parts, app).await.map(|Scoped(store)| Self(vec![store])),
            None => Ok(Self(app.partitions.all())),
        }
    }
}
