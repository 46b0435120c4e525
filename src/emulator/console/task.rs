//! `GET /_emulator/console/clusters/{cluster}/tasks/{task}`: one task's
//! lifecycle, its containers, and its logs (the awslogs streams the Docker
//! runtime writes, or any put through CloudWatch Logs).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::{Frame, cluster_href, column_heads, instant, service_href, state, task_definition_link};
use crate::emulator::admin::scope::Scoped;
use crate::emulator::server::App;
use crate::emulator::state::records::Timestamp;
use crate::emulator::state::{Store, lock, read};

/// Log lines shown per stream, the last ones.
const LOG_LINES: usize = 500;

pub async fn page(
    State(app): State<Arc<App>>,
    Scoped(store): Scoped,
    Path((cluster, id)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let frame = Frame::new(&app, &store, &uri);
    let Some(cell) = store.cluster(&cluster) else { return frame.missing(&format!("Cluster {cluster}")) };
    let state_ = lock(&cell);
    let Some(entry) = state_.tasks.get(&id) else { return frame.missing(&format!("Task {id} of cluster {cluster}")) };
    let t = &entry.task;
    let (td, td_href) = task_definition_link(&t.task_definition_arn);
    let moments: [(&str, Option<Timestamp>); 8] = [
        ("Created", Some(t.created_at)),
        ("Pull started", t.pull_started_at),
        ("Pull stopped", t.pull_stopped_at),
        ("Connectivity", t.connectivity_at),
        ("Started", t.started_at),
        ("Stopping", t.stopping_at),
        ("Execution stopped", t.execution_stopped_at),
        ("Stopped", t.stopped_at),
    ];
    let body = html! {
        dl.facts {
            dt { "ARN" } dd { code { (t.task_arn) } }
            dt { "Last status" } dd { (state(&t.last_status)) }
            dt { "Desired status" } dd { (t.desired_status) }
            dt { "Health" } dd { (t.health_status) }
            dt { "Task definition" } dd { a href=(frame.link(&td_href)) { (td) } }
            dt { "Group" } dd {
                @if let Some(service) = &entry.service_name {
                    a href=(frame.link(&service_href(&cluster, service))) { (t.group) }
                } @else { (t.group) }
            }
            @if let Some(by) = &t.started_by {
                dt { "Started by" } dd {
                    @if let Some(service) = &entry.service_name {
                        a href=(frame.link(&format!("{}#{by}", service_href(&cluster, service)))) { (by) }
                    } @else { (by) }
                }
            }
            @if let Some(lt) = t.launch_type.as_deref().or(t.capacity_provider_name.as_deref()) {
                dt { "Runs on" } dd { (lt) }
            }
            @if let Some(zone) = &t.availability_zone { dt { "Zone" } dd { (zone) } }
            @if let Some(code) = &t.stop_code { dt { "Stop code" } dd { (code) } }
            @if let Some(reason) = &t.stopped_reason { dt { "Stopped reason" } dd.stopped-reason { (reason) } }
        }
        h2 { "Lifecycle" }
        ol.lifecycle {
            @for (what, at) in &moments {
                @if let Some(at) = at { li { (what) ": " time { (instant(at.0)) } } }
            }
        }
        h2 { "Containers" }
        table.containers {
            (column_heads(&["Container", "Image", "Last status", "Health", "Exit code", "Reason", "Runtime id"]))
            tbody {
                @for c in &t.containers {
                    tr {
                        td { (c.name) }
                        td { code { (c.image.as_deref().unwrap_or("")) } }
                        td { (state(&c.last_status)) }
                        td { (c.health_status) }
                        td.num { (c.exit_code.map(|e| e.to_string()).unwrap_or_default()) }
                        td { (c.reason.as_deref().unwrap_or("")) }
                        td { code { (c.runtime_id.as_deref().map(|r| &r[..r.len().min(12)]).unwrap_or("")) } }
                    }
                }
            }
        }
        h2 { "Logs" }
        (logs(&store, &id))
    };
    drop(state_);
    let crumbs = [(cluster_href(&cluster), format!("Cluster {cluster}"))];
    frame.page(&format!("Task {id}"), &crumbs, body)
}

/// The log streams named after the task (awslogs names them
/// `<prefix>/<container>/<task id>`, or `<task id>/<container>`).
fn logs(store: &Store, task_id: &str) -> Markup {
    let logs = read(&store.logs);
    let streams: Vec<(&String, &String, &crate::emulator::state::logs::LogStream)> = logs
        .groups
        .iter()
        .flat_map(|(group, g)| g.streams.iter().map(move |(name, s)| (group, name, s)))
        .filter(|(_, name, _)| name.split('/').any(|part| part == task_id))
        .collect();
    html! {
        @if streams.is_empty() {
            p { "No log stream of this task. With the Docker runtime, a container whose "
                code { "logConfiguration" } " uses the " code { "awslogs" } " driver writes one." }
        }
        @for (group, name, stream) in streams {
            h3 { code { (group) } " / " code { (name) } }
            @let skip = stream.events.len().saturating_sub(LOG_LINES);
            pre.logs tabindex="0" aria-label=(format!("Log stream {name}")) {
                @for e in &stream.events[skip..] {
                    (instant(e.timestamp)) "  " (e.message) "\n"
                }
            }
        }
    }
}
