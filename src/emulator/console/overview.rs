//! `GET /_emulator/console/`: the clusters with their counts, the task
//! definition families, and the other partitions.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use maud::html;

use super::layout::{Frame, ROOT, cluster_href, column_heads, family_href, state};
use crate::emulator::admin::scope::Scoped;
use crate::emulator::server::App;
use crate::emulator::state::{lock, read};

pub async fn page(State(app): State<Arc<App>>, Scoped(store): Scoped, uri: Uri) -> Response {
    let frame = Frame::new(&app, &store, &uri);
    let clusters: Vec<_> =
        store.all_clusters().into_iter().map(|(_, cell)| lock(&cell).cluster_with_counts()).collect();
    let families: Vec<(String, u32, usize)> = read(&store.task_definitions)
        .families
        .iter()
        .map(|(name, f)| {
            let active = f.revisions.values().filter(|td| td.task_definition.status == "ACTIVE").count();
            (name.clone(), f.last_revision, active)
        })
        .collect();
    let here = store.partition();
    let partitions: Vec<_> = app.partitions.all().iter().map(|s| s.partition()).filter(|p| *p != here).collect();
    let body = html! {
        p.muted { "Partition: account " (here.account) ", region " (here.region) "." }
        h2 { "Clusters" }
        @if clusters.is_empty() {
            p { "No cluster yet." }
        } @else {
            table.clusters {
                caption.muted { (clusters.len()) " clusters" }
                (column_heads(&["Cluster", "Status", "Services", "Running tasks", "Pending tasks", "Container instances"]))
                tbody {
                    @for c in &clusters {
                        tr.cluster data-cluster=(c.cluster_name) {
                            td { a href=(frame.link(&cluster_href(&c.cluster_name))) { (c.cluster_name) } }
                            td { (state(&c.status)) }
                            td.num { (c.active_services_count) }
                            td.num { (c.running_tasks_count) }
                            td.num { (c.pending_tasks_count) }
                            td.num { (c.registered_container_instances_count) }
                        }
                    }
                }
            }
        }
        h2 { "Task definitions" }
        @if families.is_empty() {
            p { "No task definition yet." }
        } @else {
            table {
                (column_heads(&["Family", "Latest revision", "Active revisions"]))
                tbody {
                    @for (family, last, active) in &families {
                        tr {
                            td { a href=(frame.link(&family_href(family))) { (family) } }
                            td.num { (last) }
                            td.num { (active) }
                        }
                    }
                }
            }
        }
        @if !partitions.is_empty() {
            h2 { "Other partitions" }
            ul {
                @for p in &partitions {
                    li { a href=(format!("{ROOT}/?region={}&account={}", p.region, p.account)) {
                        "account " (p.account) ", region " (p.region)
                    } }
                }
            }
        }
    };
    frame.page("Overview", &[], body)
}
