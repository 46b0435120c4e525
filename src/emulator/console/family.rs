//! `GET /_emulator/console/task-definitions/{family}[?from=&to=]`: a task
//! definition family's revisions, and what changed between two of them.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::diff::{Line, lines};
use super::layout::{Frame, column_heads, family_href, instant, state};
use crate::emulator::admin::scope::Scoped;
use crate::emulator::server::App;
use crate::emulator::state::read;
use crate::emulator::state::records::TaskDefinition;

#[derive(Deserialize)]
pub struct Compare {
    from: Option<u32>,
    to: Option<u32>,
}

/// A revision as JSON for the diff, without what differs between any two
/// revisions (its ARN, number, status and times).
fn comparable(td: &TaskDefinition) -> String {
    let mut value = serde_json::to_value(td).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        for key in [
            "taskDefinitionArn",
            "revision",
            "status",
            "registeredAt",
            "registeredBy",
            "deregisteredAt",
            "deleteRequestedAt",
        ] {
            map.remove(key);
        }
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn diff(old: &str, new: &str) -> Markup {
    let lines = lines(old, new);
    let changed = lines.iter().filter(|l| !matches!(l, Line::Same(_))).count();
    html! {
        p.diff-summary { (changed) " lines differ." }
        pre.diff aria-label="Differences" tabindex="0" {
            @for line in &lines {
                @match line {
                    Line::Same(text) => span { "  " (text) },
                    Line::Removed(text) => del { "- " (text) },
                    Line::Added(text) => ins { "+ " (text) },
                }
            }
        }
    }
}

pub async fn page(
    State(app): State<Arc<App>>,
    Scoped(store): Scoped,
    Path(family): Path<String>,
    Query(compare): Query<Compare>,
    uri: Uri,
) -> Response {
    let frame = Frame::new(&app, &store, &uri);
    let definitions = read(&store.task_definitions);
    let Some(f) = definitions.families.get(&family) else {
        return frame.missing(&format!("Task definition family {family}"));
    };
    let revisions: Vec<&TaskDefinition> = f.revisions.values().map(|e| &e.task_definition).collect();
    let newest = revisions.last().map(|td| td.revision).unwrap_or(0);
    let to = compare.to.unwrap_or(newest);
    let from =
        compare.from.unwrap_or_else(|| revisions.iter().map(|td| td.revision).filter(|r| *r < to).max().unwrap_or(to));
    let find = |r: u32| revisions.iter().find(|td| td.revision == r);
    let body = html! {
        h2 { "Revisions" }
        table.revisions {
            (column_heads(&["Revision", "Status", "Registered", "CPU", "Memory", "Network mode", "Containers"]))
            tbody {
                @for td in &revisions {
                    tr id=(format!("revision-{}", td.revision)) {
                        td.num { (td.revision) }
                        td { (state(&td.status)) }
                        td { time { (instant(td.registered_at.0)) } }
                        td { (td.cpu.as_deref().unwrap_or("")) }
                        td { (td.memory.as_deref().unwrap_or("")) }
                        td { (td.network_mode.as_deref().unwrap_or("bridge")) }
                        td {
                            @for (i, c) in td.container_definitions.iter().enumerate() {
                                @if i > 0 { ", " }
                                (c.name.as_deref().unwrap_or("")) " (" code { (c.image.as_deref().unwrap_or("")) } ")"
                            }
                        }
                    }
                }
            }
        }
        h2 { "Compare two revisions" }
        form.compare method="get" action=(family_href(&family)) {
            (frame.scope.fields())
            label for="compare-from" { "From revision" } " "
            select id="compare-from" name="from" {
                @for td in &revisions { option value=(td.revision) selected[td.revision == from] { (td.revision) } }
            }
            " "
            label for="compare-to" { "to revision" } " "
            select id="compare-to" name="to" {
                @for td in &revisions { option value=(td.revision) selected[td.revision == to] { (td.revision) } }
            }
            " "
            button type="submit" { "Compare" }
        }
        @match (find(from), find(to)) {
            (Some(a), Some(b)) => {
                h3 { "Revision " (from) " → revision " (to) }
                (diff(&comparable(a), &comparable(b)))
            },
            _ => p { "Choose two revisions of this family." },
        }
    };
    drop(definitions);
    frame.page(&format!("Task definition {family}"), &[], body)
}
