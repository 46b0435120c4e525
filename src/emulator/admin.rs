//! Admin endpoints outside ECS's namespace, under `/_emulator/`: health,
//! reset, a read-only state dump and per-operation request counters (which
//! the operator's tests use to count ECS writes).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::protocol::{App, json_response};

/// `GET /_emulator/health`
pub async fn health(State(app): State<Arc<App>>) -> Response {
    json_response(
        200,
        &json!({
            "status": "ok",
            "region": app.store.arns.region,
            "accountId": app.store.arns.account_id,
            "persistent": app.store.journal().is_some(),
        }),
    )
}

/// `POST /_emulator/reset`: drops every resource (durably, with
/// `--state-dir`). Counters are kept; see [`reset_stats`].
pub async fn reset(State(app): State<Arc<App>>) -> Response {
    match app.store.reset() {
        Ok(()) => json_response(200, &json!({ "reset": true })),
        Err(err) => json_response(err.kind.http_status(), &err.body()),
    }
}

/// `GET /_emulator/state`: the whole state as JSON, for debugging.
pub async fn state(State(app): State<Arc<App>>) -> Response {
    match serde_json::to_value(app.store.dump()) {
        Ok(dump) => json_response(200, &dump),
        Err(e) => json_response(500, &json!({ "message": e.to_string() })),
    }
}

/// `GET /_emulator/stats`: `{operation: requests}` since start or last reset.
pub async fn stats(State(app): State<Arc<App>>) -> Response {
    json_response(200, &serde_json::Value::Object(app.stats.snapshot()))
}

/// `POST /_emulator/stats/reset`: zeroes the counters.
pub async fn reset_stats(State(app): State<Arc<App>>) -> Response {
    app.stats.clear();
    json_response(200, &json!({ "reset": true }))
}
