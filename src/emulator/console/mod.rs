//! The console: `/_emulator/console/`, pages that draw what the emulator
//! knows (clusters, services with their deployments on a timeline, tasks,
//! task definition revisions and their differences, logs), served as HTML
//! from this process, for people. Read-only but for the manual clock's
//! buttons; behind the admin endpoints' credentials when they are set
//! (HTTP Basic with the access key id and secret, which a browser asks
//! for).
//!
//! Files, each importing only those listed after it:
//!
//! ```text
//! mod.rs          the routes
//! overview.rs, cluster.rs, service.rs, task.rs, family.rs   one page each
//! tasks.rs        the task table the cluster and service pages share
//! live.rs         the JSON the pages poll, and the clock buttons
//! timeline.rs     the service timeline as SVG
//! layout.rs       the page around every view, links, the live script
//! stamp.rs        the hash that tells a page it is out of date
//! diff.rs         a line diff
//! ```

mod cluster;
mod diff;
mod family;
mod layout;
mod live;
mod overview;
mod service;
mod stamp;
mod task;
mod tasks;
mod timeline;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::emulator::server::App;
pub use layout::ROOT;

/// The console's routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(ROOT, get(|| async { Redirect::permanent(&format!("{ROOT}/")) }))
        .route(&format!("{ROOT}/"), get(overview::page))
        .route(&format!("{ROOT}/live"), get(live::live))
        .route(&format!("{ROOT}/clock"), post(live::advance_clock))
        .route(&format!("{ROOT}/clusters/{{cluster}}"), get(cluster::page))
        .route(&format!("{ROOT}/clusters/{{cluster}}/services/{{service}}"), get(service::page))
        .route(&format!("{ROOT}/clusters/{{cluster}}/tasks/{{task}}"), get(task::page))
        .route(&format!("{ROOT}/task-definitions/{{family}}"), get(family::page))
}
