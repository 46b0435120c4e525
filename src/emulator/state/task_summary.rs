//! What the service scheduler reads of a live service task every time it
//! looks at the task's service, kept by the task table beside its index of
//! live tasks by service ([`crate::emulator::state::task_table`]).
//!
//! A service's reconcile reads each of its tasks many times (whether it is
//! still wanted, whether it is the PRIMARY deployment's, whether it is
//! healthy, what its deployment's counts are), on every tick in which any
//! of them changed. Read from the records, each look was a cache miss once
//! the fleet outgrew the cache: a record is about a kilobyte, with its
//! containers and attachments on the heap, and twenty thousand of them are
//! far from one another. A summary is about a hundred bytes, kept by the
//! task's slot (a service's tasks, launched together, sit in neighbouring
//! slots), so a reconcile reads its service's tasks from a few kilobytes
//! whatever the size of the fleet.
//! The table writes a summary with every change of its task, so it cannot
//! go stale.

use std::sync::Arc;

use crate::emulator::state::records::{TargetState, TaskEntry, Timestamp, Word, is_pending_status};

/// A live service task, as its service's scheduler sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSummary {
    last_status: Word,
    desired_status: Word,
    /// The deployment (or task set) that started it, shared with the other
    /// tasks of its launch.
    started_by: Option<Arc<str>>,
    created_at: Timestamp,
    healthy_at: Option<Timestamp>,
    /// Its container health checks say UNHEALTHY.
    containers_unhealthy: bool,
    /// Every load-balancer target it has is healthy (true without targets).
    targets_healthy: bool,
    /// One of its load-balancer targets is unhealthy.
    target_unhealthy: bool,
    /// It was placed on a container instance (whose status the scheduler
    /// then reads from the record's instance id).
    on_instance: bool,
}

impl TaskSummary {
    pub fn of(entry: &TaskEntry) -> Self {
        Self {
            last_status: entry.task.last_status.clone(),
            desired_status: entry.task.desired_status.clone(),
            started_by: entry.task.started_by.clone(),
            created_at: entry.task.created_at,
            healthy_at: entry.healthy_at,
            containers_unhealthy: entry.task.health_status == "UNHEALTHY",
            targets_healthy: entry.targets.iter().all(|t| t.state == TargetState::Healthy),
            target_unhealthy: entry.targets.iter().any(|t| t.state == TargetState::Unhealthy),
            on_instance: entry.container_instance_id.is_some(),
        }
    }

    pub fn last_status(&self) -> &str {
        &self.last_status
    }

    pub fn desired_status(&self) -> &str {
        &self.desired_status
    }

    pub fn is_running(&self) -> bool {
        self.last_status == "RUNNING"
    }

    /// On its way to RUNNING.
    pub fn is_pending(&self) -> bool {
        is_pending_status(&self.last_status)
    }

    pub fn started_by(&self) -> Option<&str> {
        self.started_by.as_deref()
    }

    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    pub fn healthy_at(&self) -> Option<Timestamp> {
        self.healthy_at
    }

    pub fn on_instance(&self) -> bool {
        self.on_instance
    }

    /// Whether a container or load-balancer health check has judged the
    /// task unhealthy (whether or not the grace period lets the service act
    /// on it).
    pub fn judged_unhealthy(&self) -> bool {
        self.containers_unhealthy || self.target_unhealthy
    }

    /// Whether the task counts as healthy for deployments at `now`: RUNNING
    /// and wanted so, no failed check, every target healthy, and RUNNING
    /// long enough (or its checks passed).
    pub fn is_healthy(&self, now: Timestamp) -> bool {
        self.is_running()
            && self.desired_status == "RUNNING"
            && !self.containers_unhealthy
            && self.targets_healthy
            && self.healthy_at.is_some_and(|at| at <= now)
    }
}
