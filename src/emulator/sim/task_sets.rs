//! Task sets: how the scheduler runs a service whose deployments another
//! controller drives (the EXTERNAL and CODE_DEPLOY deployment controllers).
//! Such a service has no `deployments[]`; each of its task sets is a task
//! template with a `scale`, and the scheduler keeps every set at its
//! `computedDesiredCount` = ceil(service desiredCount × scale %), as ECS
//! does. A DRAINING set (DeleteTaskSet) runs nothing and leaves the service
//! once its last task stopped. The service's counts are the sums over its
//! sets; a set is STEADY_STATE when exactly its computed count of tasks
//! run and are healthy, else STABILIZING.

use crate::emulator::rules::placement::scale_in_order;
use crate::emulator::sim::pass::{Pass, Stops, is_live, on_leaving_instance};
use crate::emulator::state::ClusterState;
use crate::emulator::state::ids::Arns;
use crate::emulator::state::records::*;
use crate::emulator::state::task_id::TaskId;
use crate::emulator::state::task_summary::TaskSummary;

/// Task sets a service may have at once (ECS's "5 deployments exist on the
/// service" limit).
pub const MAX_TASK_SETS: usize = 5;

/// The service's deployment controller type (`ECS` when none was given).
pub fn controller(service: &Service) -> &str {
    service.deployment_controller.get("type").and_then(serde_json::Value::as_str).unwrap_or("ECS")
}

/// Whether task sets, not ECS deployments, run the service's tasks.
pub fn uses_task_sets(service: &Service) -> bool {
    controller(service) != "ECS"
}

/// `arn:aws:ecs:<region>:<account>:task-set/<cluster>/<service>/ecs-svc/<digits>`
pub fn task_set_arn(arns: &Arns, cluster: &str, service: &str, id: &str) -> String {
    format!("arn:aws:ecs:{}:{}:task-set/{cluster}/{service}/{id}", arns.region, arns.account_id)
}

/// ceil(desired × scale %), never below 0. A scale of 0.1 % of 1 task is 1.
pub fn computed_count(desired: i64, scale: &Scale) -> i64 {
    // Multiply in integers of thousandths of a percent, so 33.3 % of 3 is 1,
    // not 0.999… rounded up to 1 by luck.
    let milli = (scale.value * 1000.0).round() as i64;
    let product = desired.max(0) * milli;
    (product + 100_000 - 1) / 100_000
}

/// Whether `reference` (an id or an ARN) names `set`.
pub fn names(set: &TaskSet, reference: &str) -> bool {
    set.id == reference || set.task_set_arn == reference
}

/// The service as `set`'s tasks see it: the set's template in place of the
/// service's, so launches use the set's task definition, launch type,
/// network configuration and load balancers.
fn service_view(service: &Service, set: &TaskSet) -> Service {
    Service {
        task_definition: Some(set.task_definition.clone()),
        launch_type: set.launch_type.clone(),
        capacity_provider_strategy: set.capacity_provider_strategy.clone(),
        platform_version: set.platform_version.clone(),
        network_configuration: set.network_configuration.clone(),
        load_balancers: set.load_balancers.clone(),
        service_registries: set.service_registries.clone(),
        task_sets: None,
        deployments: Vec::new(),
        events: Vec::new(),
        ..service.clone()
    }
}

/// A deployment standing for `set` (what the launcher reads).
fn deployment_view(set: &TaskSet, desired: i64) -> Deployment {
    Deployment {
        id: set.id.clone(),
        status: set.status.clone(),
        task_definition: set.task_definition.clone(),
        desired_count: desired,
        pending_count: set.pending_count,
        running_count: set.running_count,
        failed_tasks: 0,
        created_at: set.created_at,
        updated_at: set.updated_at,
        capacity_provider_strategy: set.capacity_provider_strategy.clone(),
        launch_type: set.launch_type.clone(),
        platform_version: set.platform_version.clone(),
        platform_family: set.platform_family.clone(),
        network_configuration: set.network_configuration.clone(),
        rollout_state: None,
        rollout_state_reason: None,
        service_connect_configuration: None,
        volume_configurations: None,
        vpc_lattice_configurations: None,
    }
}

fn wanted(state: &ClusterState, id: &str) -> bool {
    state.tasks.get(id).is_some_and(|t| is_live(t) && t.task.desired_status == "RUNNING")
}

/// Stops the service's tasks that belong to no task set still running
/// (a set deleted, or the service's own before it had sets).
pub fn stop_strays(
    service: &Service,
    state: &mut ClusterState,
    live: &[TaskId],
    stops: &mut Stops,
    now: Timestamp,
    reason: &str,
) {
    let sets = service.task_sets.as_deref().unwrap_or_default();
    let strays: Vec<String> = live
        .iter()
        .filter(|id| wanted(state, id))
        .filter(|id| {
            let of = state.tasks[*id].task.started_by.as_deref().unwrap_or_default();
            !sets.iter().any(|s| s.id == of && s.status != "DRAINING")
        })
        .map(|id| id.to_string())
        .collect();
    for id in &strays {
        stops.stop(state, id, now, reason);
    }
}

/// The deployment a task-set service's pass carries: the PRIMARY set's (or
/// the first set's); each set launches through its own view
/// ([`schedule`]). `None` when the service has no set.
pub fn lead(service: &Service) -> Option<Deployment> {
    let sets = service.task_sets.as_deref().unwrap_or_default();
    let lead = sets.iter().find(|s| s.status == "PRIMARY").or_else(|| sets.first())?;
    Some(deployment_view(lead, computed_count(service.desired_count, &lead.scale)))
}

/// Keeps every task set at its computed count: surplus tasks stop (those not
/// yet running first), missing ones are launched from the set's template.
pub fn schedule(pass: &mut Pass, state: &mut ClusterState, live: &[TaskId]) {
    let service = pass.service;
    for set in service.task_sets.iter().flatten() {
        let desired = if set.status == "DRAINING" { 0 } else { computed_count(service.desired_count, &set.scale) };
        let mine: Vec<String> = live
            .iter()
            .filter(|id| wanted(state, id))
            .filter(|id| {
                let t = &state.tasks[*id];
                t.task.started_by.as_deref() == Some(set.id.as_str()) && !on_leaving_instance(state, t)
            })
            .map(|id| id.to_string())
            .collect();
        let have = mine.len() as i64;
        if have > desired {
            let (waiting, running): (Vec<String>, Vec<String>) =
                mine.iter().cloned().partition(|id| state.tasks[id].task.last_status != "RUNNING");
            let mut order = waiting;
            order.extend(scale_in_order(state, &running, &service.placement_strategy));
            for id in order.iter().take((have - desired) as usize) {
                pass.stops.stop(state, id, pass.now, pass.reason);
            }
        } else if have < desired {
            let view = service_view(service, set);
            let deployment = deployment_view(set, desired);
            let mut pass = pass.for_template(&view, &deployment);
            if pass.may_launch() {
                pass.launch(state, (desired - have) as usize, None);
            }
        }
    }
}

/// Counts and stability of every task set, drained sets dropped, and the
/// service's counts summed over its sets.
pub fn tally(service: &mut Service, tasks: &[&TaskSummary], now: Timestamp) {
    let desired = service.desired_count;
    let Some(sets) = service.task_sets.as_mut() else { return };
    let of = |id: &str| -> Vec<&TaskSummary> { tasks.iter().copied().filter(|t| t.started_by() == Some(id)).collect() };
    sets.retain(|s| s.status != "DRAINING" || !of(&s.id).is_empty());
    let (mut running, mut pending) = (0, 0);
    for set in sets.iter_mut() {
        let computed = if set.status == "DRAINING" { 0 } else { computed_count(desired, &set.scale) };
        let mine = of(&set.id);
        let r = mine.iter().filter(|t| t.is_running()).count() as i64;
        let p = mine.iter().filter(|t| t.is_pending()).count() as i64;
        let all = mine.len() as i64;
        let healthy = mine.iter().all(|t| t.is_healthy(now));
        if (set.computed_desired_count, set.running_count, set.pending_count) != (computed, r, p) {
            set.computed_desired_count = computed;
            set.running_count = r;
            set.pending_count = p;
            set.updated_at = now;
        }
        let stability = if all == computed && r == computed && healthy { "STEADY_STATE" } else { "STABILIZING" };
        if set.stability_status != stability {
            set.stability_status = stability.into();
            set.stability_status_at = now;
        }
        running += r;
        pending += p;
    }
    service.running_count = running;
    service.pending_count = pending;
}

/// Makes `id` the PRIMARY set (the former PRIMARY becomes ACTIVE); the
/// service takes on its template, as ECS shows the primary set's
/// configuration on the service.
pub fn make_primary(service: &mut Service, id: &str, now: Timestamp) {
    let Some(sets) = service.task_sets.as_mut() else { return };
    for set in sets.iter_mut() {
        if set.id == id && set.status != "PRIMARY" {
            set.status = "PRIMARY".into();
            set.updated_at = now;
        } else if set.id != id && set.status == "PRIMARY" {
            set.status = "ACTIVE".into();
            set.updated_at = now;
        }
    }
    if let Some(set) = sets.iter().find(|s| s.id == id).cloned() {
        service.task_definition = Some(set.task_definition);
        service.launch_type = set.launch_type;
        service.capacity_provider_strategy = set.capacity_provider_strategy;
        service.platform_version = set.platform_version;
        service.network_configuration = set.network_configuration;
        service.load_balancers = set.load_balancers;
        service.service_registries = set.service_registries;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(value: f64) -> Scale {
        Scale { value, unit: "PERCENT".into() }
    }

    #[test]
    fn computed_count_rounds_up() {
        for (desired, value, want) in [
            (4, 100.0, 4),
            (4, 50.0, 2),
            (3, 50.0, 2),
            (3, 33.3, 1),
            (1, 0.1, 1),
            (10, 0.0, 0),
            (0, 100.0, 0),
            (5, 20.0, 1),
        ] {
            assert_eq!(computed_count(desired, &scale(value)), want, "{desired} × {value} %");
        }
    }
}
