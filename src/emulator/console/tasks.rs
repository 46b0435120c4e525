//! The table of tasks that the cluster and service pages share: each
//! task's lifecycle state, its deployment and why it stopped.

use maud::{Markup, html};

use super::layout::{Frame, column_heads, instant, state, task_definition_link, task_href, task_id};
use crate::emulator::state::records::TaskEntry;

/// Tasks shown per table, the newest first.
pub const SHOWN: usize = 200;

/// The newest [`SHOWN`] of `tasks`, as a table.
pub fn table(frame: &Frame, cluster: &str, mut tasks: Vec<&TaskEntry>) -> Markup {
    let total = tasks.len();
    tasks.sort_by(|a, b| (b.task.created_at, &b.task.task_arn).cmp(&(a.task.created_at, &a.task.task_arn)));
    tasks.truncate(SHOWN);
    html! {
        @if tasks.is_empty() {
            p { "No task." }
        } @else {
            table.tasks {
                caption.muted {
                    (total) " tasks"
                    @if total > SHOWN { ", the newest " (SHOWN) " shown" }
                }
                (column_heads(&["Task", "Last status", "Desired", "Health", "Task definition", "Started by", "Created", "Stop code", "Stopped reason"]))
                tbody {
                    @for t in &tasks {
                        @let id = task_id(&t.task.task_arn);
                        @let (td, td_href) = task_definition_link(&t.task.task_definition_arn);
                        tr.task data-task=(id) data-last-status=(t.task.last_status) {
                            td { a href=(frame.link(&task_href(cluster, id))) { code { (id) } } }
                            td { (state(&t.task.last_status)) }
                            td { (t.task.desired_status) }
                            td { (t.task.health_status) }
                            td { a href=(frame.link(&td_href)) { (td) } }
                            td { (t.task.started_by.as_deref().unwrap_or("")) }
                            td { time { (instant(t.task.created_at.0)) } }
                            td { (t.task.stop_code.as_deref().unwrap_or("")) }
                            td { (t.task.stopped_reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}
