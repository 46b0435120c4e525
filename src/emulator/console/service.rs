//! `GET /_emulator/console/clusters/{cluster}/services/{service}`: the
//! service's deployments on a timeline, what happened to them, its events
//! and its tasks.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use maud::html;

use super::layout::{Frame, cluster_href, column_heads, instant, state, task_definition_link};
use crate::emulator::admin::scope::Scoped;
use crate::emulator::server::App;
use crate::emulator::sim::history;
use crate::emulator::state::lock;

/// Events shown, the newest first (ECS keeps 100).
const EVENTS: usize = 100;

pub async fn page(
    State(app): State<Arc<App>>,
    Scoped(store): Scoped,
    Path((cluster, name)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let frame = Frame::new(&app, &store, &uri);
    let Some(cell) = store.cluster(&cluster) else { return frame.missing(&format!("Cluster {cluster}")) };
    let state_ = lock(&cell);
    let Some(entry) = state_.services.get(&name) else {
        return frame.missing(&format!("Service {name} of cluster {cluster}"));
    };
    let s = &entry.service;
    let records = &entry.scheduling.history;
    // A lane's label: its deployment's task definition, from the service or
    // the history (a deployment that left is only there).
    let label = |id: &str| {
        s.deployments
            .iter()
            .chain(records.iter().map(|r| &r.deployment))
            .find(|d| d.id == id)
            .map(|d| task_definition_link(&d.task_definition).0)
            .unwrap_or_default()
    };
    let timeline = &entry.timeline;
    let start = timeline.samples.front().map_or(frame.clock.now_millis, |s| s.at);
    let group = format!("service:{name}");
    let tasks: Vec<_> = state_.tasks.values().filter(|t| t.task.group == group).collect();
    let body = html! {
        dl.facts {
            dt { "ARN" } dd { code { (s.service_arn) } }
            dt { "Status" } dd { (state(&s.status)) }
            dt { "Desired / running / pending" } dd { (s.desired_count) " / " (s.running_count) " / " (s.pending_count) }
            dt { "Scheduling" } dd { (s.scheduling_strategy) }
            @if let Some(arn) = &s.task_definition {
                @let (short, href) = task_definition_link(arn);
                dt { "Task definition" } dd { a href=(frame.link(&href)) { (short) } }
            }
            @if let Some(b) = &s.deployment_configuration.deployment_circuit_breaker {
                dt { "Circuit breaker" }
                dd { (if b.enable { "enabled" } else { "disabled" }) (if b.rollback { ", rolls back" } else { "" }) }
            }
        }
        h2 id="timeline" { "Timeline" }
        figure.timeline {
            (super::timeline::svg(&name, timeline, &label, frame.clock.now_millis))
            figcaption {
                "Counts per deployment from " time { (instant(start)) } " (the scale's zero) until now; a sample is "
                "taken when a count or state changes."
            }
        }
        (super::timeline::legend())
        h3 { "What happened" }
        @if timeline.markers.is_empty() {
            p { "No circuit breaker trip, alarm, rollback or Spot interruption." }
        } @else {
            table.markers {
                (column_heads(&["When", "What", "Deployment", "Reason"]))
                tbody {
                    @for m in timeline.markers.iter().rev() {
                        tr.marker data-kind=(m.kind.name()) {
                            td { time { (instant(m.at)) } }
                            td { (m.kind.label()) }
                            td {
                                code { (m.deployment) }
                                @if let Some(to) = &m.to { " → " code { (to) } }
                                @if let Some(task) = &m.task { " (task " code { (task) } ")" }
                            }
                            td.reason { (m.reason) }
                        }
                    }
                }
            }
        }
        h2 id="deployments" { "Deployments" }
        table.deployments {
            (column_heads(&["Deployment", "Status", "Task definition", "Desired", "Pending", "Running", "Failed tasks", "Rollout", "Reason", "Updated"]))
            tbody {
                @for d in &s.deployments {
                    @let (td, href) = task_definition_link(&d.task_definition);
                    tr.deployment id=(d.id) data-deployment=(d.id) {
                        td { code { (d.id) } }
                        td { (state(&d.status)) }
                        td { a href=(frame.link(&href)) { (td) } }
                        td.num { (d.desired_count) }
                        td.num { (d.pending_count) }
                        td.num { (d.running_count) }
                        td.num { (d.failed_tasks) }
                        td { @if let Some(r) = &d.rollout_state { (state(r)) } }
                        td { (d.rollout_state_reason.as_deref().unwrap_or("")) }
                        td { time { (instant(d.updated_at.0)) } }
                    }
                }
            }
        }
        @let past: Vec<_> = records.iter().filter(|r| !s.deployments.iter().any(|d| d.id == r.deployment.id)).collect();
        @if !past.is_empty() {
            h3 { "Earlier deployments" }
            table.history {
                (column_heads(&["Deployment", "Outcome", "Task definition", "Started", "Finished", "Reason"]))
                tbody {
                    @for r in &past {
                        @let (outcome, why) = history::status(r, records);
                        @let (td, href) = task_definition_link(&r.deployment.task_definition);
                        tr id=(r.deployment.id) {
                            td { code { (r.deployment.id) } }
                            td { (outcome) }
                            td { a href=(frame.link(&href)) { (td) } }
                            td { time { (instant(r.deployment.created_at.0)) } }
                            td { @if let Some(at) = r.finished_at { time { (instant(at.0)) } } }
                            td { (why.unwrap_or_default()) }
                        }
                    }
                }
            }
        }
        h2 id="events" { "Events" }
        @if s.events.is_empty() {
            p { "No event." }
        } @else {
            ol.events reversed {
                @for e in s.events.iter().take(EVENTS) {
                    li { time { (instant(e.created_at().0)) } " " (e.message()) }
                }
            }
        }
        h2 id="tasks" { "Tasks" }
        (super::tasks::table(&frame, &cluster, tasks))
    };
    drop(state_);
    let crumbs = [(cluster_href(&cluster), format!("Cluster {cluster}"))];
    frame.page(&format!("Service {name}"), &crumbs, body)
}
