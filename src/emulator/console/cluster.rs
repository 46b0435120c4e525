//! `GET /_emulator/console/clusters/{cluster}`: the cluster's services,
//! container instances and tasks.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use maud::html;

use super::layout::{Frame, column_heads, instant, service_href, state, task_definition_link};
use crate::emulator::admin::scope::Scoped;
use crate::emulator::server::App;
use crate::emulator::state::lock;

pub async fn page(State(app): State<Arc<App>>, Scoped(store): Scoped, Path(name): Path<String>, uri: Uri) -> Response {
    let frame = Frame::new(&app, &store, &uri);
    let Some(cell) = store.cluster(&name) else { return frame.missing(&format!("Cluster {name}")) };
    let state_ = lock(&cell);
    let c = state_.cluster_with_counts();
    let cluster = c.cluster_name.clone();
    let body = html! {
        dl.facts {
            dt { "ARN" } dd { code { (c.cluster_arn) } }
            dt { "Status" } dd { (state(&c.status)) }
            dt { "Running tasks" } dd { (c.running_tasks_count) }
            dt { "Pending tasks" } dd { (c.pending_tasks_count) }
            dt { "Active services" } dd { (c.active_services_count) }
            @if !c.capacity_providers.is_empty() {
                dt { "Capacity providers" } dd { (c.capacity_providers.join(", ")) }
            }
        }
        h2 { "Services" }
        @if state_.services.is_empty() {
            p { "No service." }
        } @else {
            table.services {
                (column_heads(&["Service", "Status", "Desired", "Running", "Pending", "Deployments", "Rollout", "Task definition"]))
                tbody {
                    @for (name, entry) in &state_.services {
                        @let s = &entry.service;
                        @let primary = s.deployments.iter().find(|d| d.status == "PRIMARY");
                        tr.service data-service=(name) {
                            td { a href=(frame.link(&service_href(&cluster, name))) { (name) } }
                            td { (state(&s.status)) }
                            td.num { (s.desired_count) }
                            td.num { (s.running_count) }
                            td.num { (s.pending_count) }
                            td.num { (s.deployments.len()) }
                            td { @if let Some(r) = primary.and_then(|d| d.rollout_state.as_deref()) { (state(r)) } }
                            td {
                                @if let Some(arn) = &s.task_definition {
                                    @let (short, href) = task_definition_link(arn);
                                    a href=(frame.link(&href)) { (short) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Container instances" }
        @if state_.container_instances.is_empty() {
            p { "No container instance (Fargate tasks need none)." }
        } @else {
            table.instances {
                (column_heads(&["Container instance", "EC2 instance", "Status", "Agent connected", "Running tasks", "Pending tasks", "Zone", "Registered"]))
                tbody {
                    @for (id, ci) in &state_.container_instances {
                        tr {
                            td { code { (id) } }
                            td { (ci.instance.ec2_instance_id) }
                            td { (state(&ci.instance.status)) }
                            td { (if ci.instance.agent_connected { "yes" } else { "no" }) }
                            td.num { (ci.instance.running_tasks_count) }
                            td.num { (ci.instance.pending_tasks_count) }
                            td { (ci.availability_zone.as_deref().unwrap_or("")) }
                            td { time { (instant(ci.instance.registered_at.0)) } }
                        }
                    }
                }
            }
        }
        h2 { "Tasks" }
        (super::tasks::table(&frame, &cluster, state_.tasks.values().collect()))
    };
    drop(state_);
    frame.page(&format!("Cluster {cluster}"), &[], body)
}
