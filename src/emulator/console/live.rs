//! What keeps an open page current: `GET /_emulator/console/live`, a small
//! JSON answer (`{mode, nowMillis, now, stamp}`) the page polls, whose
//! `stamp` moves whenever something a page shows changed; and
//! `POST /_emulator/console/clock`, the clock buttons.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::layout::{ROOT, instant};
use super::stamp::stamp;
use crate::emulator::admin::scope::Scoped;
use crate::emulator::server::{App, json_response};
use crate::emulator::sim::scheduler::advance;

/// `GET /_emulator/console/live`
pub async fn live(State(app): State<Arc<App>>, Scoped(store): Scoped) -> Response {
    let now = app.store.clock.now_millis();
    let mode = if app.store.clock.manual().is_some() { "manual" } else { "real" };
    let stamp = tokio::task::spawn_blocking(move || stamp(&store)).await.unwrap_or_default();
    // A string: JavaScript's numbers hold 53 bits.
    json_response(200, &json!({ "mode": mode, "nowMillis": now, "now": instant(now), "stamp": stamp.to_string() }))
}

/// Whether a form post comes from a page of this host: a browser sends
/// `Origin` with every POST, so another site's page posting here (with the
/// credentials the browser keeps for this one) is refused.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{message}\n")).into_response()
}

/// `POST /_emulator/console/clock` (a form: `seconds`, `back`): moves the
/// manual clock as `/_emulator/clock/advance` does, then back to the page.
pub async fn advance_clock(State(app): State<Arc<App>>, headers: HeaderMap, bytes: Bytes) -> Response {
    if !same_origin(&headers) {
        return refused(StatusCode::FORBIDDEN, "the clock buttons work from the console's own pages");
    }
    let mut seconds = None;
    let mut back = format!("{ROOT}/");
    for (key, value) in form_urlencoded::parse(&bytes) {
        match key.as_ref() {
            "seconds" => seconds = value.parse::<f64>().ok(),
            // Only back to a console page of this host.
            "back" if value.starts_with(&format!("{ROOT}/")) && !value.contains("//") => back = value.into_owned(),
            _ => {}
        }
    }
    let Some(seconds) = seconds.filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0) else {
        return refused(StatusCode::BAD_REQUEST, "seconds must be a number of seconds, above 0 and at most a day");
    };
    if app.store.clock.manual().is_none() {
        return refused(StatusCode::CONFLICT, "the clock is the real one: only a manual clock (--clock manual) moves");
    }
    let millis = (seconds * 1000.0).round() as i64;
    let result = tokio::task::spawn_blocking(move || advance(&app.partitions, millis)).await;
    match result {
        Ok(Ok(_)) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(&back) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Ok(Err(e)) => refused(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => refused(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_posts_from_this_host_move_the_clock() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4566"));
        assert!(same_origin(&headers), "no Origin: not a cross-site browser post");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:4566"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
    }
}
