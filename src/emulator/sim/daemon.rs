//! The DAEMON scheduling strategy: one task of the PRIMARY deployment on
//! every ACTIVE container instance of the service's launch type that meets
//! its `memberOf` constraints. A new deployment replaces the task on each
//! instance: the old task stops (as many at a time as
//! `minimumHealthyPercent` allows, all at once with the default 0), and the
//! new one starts once the instance is free. Tasks on instances that leave
//! (DRAINING, deregistered) are stopped, not moved.

use crate::emulator::rules::placement::{Constraints, serves};
use crate::emulator::sim::health::is_healthy;
use crate::emulator::sim::pass::{Pass, on_leaving_instance};
use crate::emulator::state::records::*;
use crate::emulator::state::task_id::TaskId;
use crate::emulator::state::{ClusterState, Store, read};

fn launch_type(service: &Service) -> String {
    service.launch_type.clone().unwrap_or_else(|| "EC2".into())
}

/// The instances a daemon service runs on, by id.
fn instances(state: &ClusterState, service: &Service, td: Option<&TaskDefinitionEntry>) -> Vec<String> {
    let launch_type = launch_type(service);
    let constraints = td
        .and_then(|td| Constraints::new(&service.placement_constraints, &td.task_definition).ok())
        .unwrap_or_default();
    state
        .container_instances
        .values()
        .filter(|i| i.instance.status == "ACTIVE" && serves(i, &launch_type))
        .filter(|i| constraints.member_of.iter().all(|e| e.matches(state, i)))
        .map(|i| i.id().to_owned())
        .collect()
}

fn primary_definition(
    state_td: &crate::emulator::state::TaskDefinitions,
    service: &Service,
) -> Option<std::sync::Arc<TaskDefinitionEntry>> {
    let reference = service.deployments.iter().find(|d| d.status == "PRIMARY")?.task_definition.clone();
    state_td.resolve(&reference)
}

/// A daemon service's desired count: the instances it should run on.
pub fn desired_count(store: &Store, state: &ClusterState, service: &Service) -> i64 {
    let td = primary_definition(&read(&store.task_definitions), service);
    instances(state, service, td.as_deref()).len() as i64
}

/// Places, replaces and stops a daemon service's tasks.
pub fn schedule(pass: &mut Pass, state: &mut ClusterState, live: &[TaskId]) {
    let td = primary_definition(&read(&pass.store.task_definitions), pass.service);
    let targets = instances(state, pass.service, td.as_deref());
    let desired = targets.len() as i64;
    let min_percent = i64::from(pass.service.deployment_configuration.minimum_healthy_percent.unwrap_or(0));
    let min_healthy = (desired * min_percent + 99) / 100;
    let now = pass.now;
    let running = |state: &ClusterState, id: &str| {
        state.tasks.get(id).is_some_and(|t| !t.is_stopped() && t.task.desired_status == "RUNNING")
    };

    // Tasks on instances that are leaving stop at once.
    for id in live {
        if running(state, id) && on_leaving_instance(state, &state.tasks[id]) {
            pass.stops.stop(state, id, now, pass.reason);
        }
    }
    let mut healthy = live.iter().filter(|id| state.tasks.get(id).is_some_and(|t| is_healthy(t, now))).count() as i64;
    for instance in &targets {
        let on_it: Vec<String> = live
            .iter()
            .filter(|id| {
                state
                    .tasks
                    .get(id)
                    .is_some_and(|t| !t.is_stopped() && t.container_instance_id.as_deref() == Some(instance))
            })
            .map(|id| id.to_string())
            .collect();
        let mut primary_kept = false;
        for id in &on_it {
            if !running(state, id) {
                continue;
            }
            let t = &state.tasks[id];
            let is_primary = t.task.started_by.as_deref() == Some(pass.primary.id.as_str());
            if is_primary && !primary_kept {
                primary_kept = true;
                continue;
            }
            let healthy_task = is_healthy(t, now);
            if healthy_task && !is_primary && healthy - 1 < min_healthy {
                continue;
            }
            if healthy_task {
                healthy -= 1;
            }
            pass.stops.stop(state, id, now, pass.reason);
        }
        let free = on_it.iter().all(|id| state.tasks.get(id).is_none_or(|t| t.is_stopped()));
        if free && pass.may_launch() {
            pass.launch(state, 1, Some(instance));
        }
    }
}
