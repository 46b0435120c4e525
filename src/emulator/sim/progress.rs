//! One task's way through ECS's lifecycle over time: PROVISIONING → PENDING
//! → ACTIVATING → RUNNING, and once asked to stop DEACTIVATING → STOPPING →
//! DEPROVISIONING → STOPPED, with the timestamps, container states, exit
//! codes and health ECS shows at each step. Tasks without an ENI (bridge,
//! host, none) skip PROVISIONING and DEPROVISIONING.
//!
//! Each task carries `due`, the time of its next change; [`advance`] makes
//! every change due by `now` and reports what happened, so the service
//! scheduler can replace, count and judge tasks. Failure rules (`fates`)
//! make containers fail to pull, exit, or fail health checks.
//!
//! A service task's load-balancer targets are registered when it enters
//! ACTIVATING, judged by their health checks while it is RUNNING, drain in
//! DEACTIVATING and are deregistered when it moves on to STOPPING.

use serde_json::{Value, json};

use crate::emulator::sim::health::{self, HealthPlan};
use crate::emulator::state::Runtime;
use crate::emulator::state::addresses::eni_of;
use crate::emulator::state::records::*;
use crate::emulator::timings::Timings;

/// What happened to a task during [`advance`], for the service scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Reached RUNNING.
    Started,
    /// Stopped without reaching RUNNING, for a reason of its own (pull
    /// failure, a container that exited while starting).
    FailedToStart,
    /// Started to count as healthy.
    BecameHealthy,
    /// Its health checks turned it UNHEALTHY.
    TurnedUnhealthy,
    /// An essential container exited while RUNNING.
    Exited,
    /// Reached STOPPED.
    Stopped,
    /// Its load-balancer targets were registered (entering ACTIVATING).
    TargetsRegistered,
    /// A load-balancer target failed its health checks.
    TargetTurnedUnhealthy,
    /// Its load-balancer targets began draining (entering DEACTIVATING).
    TargetsDraining,
    /// Its load-balancer targets were deregistered (leaving DEACTIVATING).
    TargetsDeregistered,
}

/// Why a container stops when its image cannot be pulled: the start of the
/// reason ECS reports, shortened.
fn pull_error(image: &str) -> String {
    format!(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref {image}: not found"
    )
}

pub const ESSENTIAL_EXITED: &str = "Essential container in task exited";

fn fate_of<'a>(entry: &'a TaskEntry, container: &str) -> Option<&'a Fate> {
    entry.fates.iter().find(|f| f.container == container)
}

fn definition<'a>(td: Option<&'a TaskDefinition>, container: &str) -> Option<&'a ContainerDefinition> {
    td.and_then(|td| td.container_definitions.iter().find(|c| c.name() == container))
}

fn is_essential(td: Option<&TaskDefinition>, container: &str) -> bool {
    definition(td, container).is_none_or(ContainerDefinition::is_essential)
}

/// Whether [`advance`] reads `entry`'s task definition. A task that is
/// stopping never does (its steps are timed by the emulator's timings and
/// its containers' state alone), so the scheduler does not look it up
/// (a hash of its definition's ARN per step). (A test holds `advance` to
/// this.)
pub fn needs_definition(entry: &TaskEntry) -> bool {
    entry.task.desired_status != "STOPPED"
}

/// Makes every change of `entry` due by `now`; `td` is its task definition
/// (for health checks and essential containers; `None` if it is gone, and
/// may be `None` when [`needs_definition`] says it is not read).
///
/// With [`Runtime::Docker`] the image pull, the start and the stop are not
/// timed: the task waits in PENDING and STOPPING until the agent reports what
/// its containers did (and sets `due`); the rest is the same machine.
pub fn advance(
    entry: &mut TaskEntry,
    td: Option<&TaskDefinition>,
    now: Timestamp,
    timings: &Timings,
    runtime: Runtime,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    // Every step moves the task on or pushes `due` later; the bound only
    // guards against a zero-length loop.
    for _ in 0..16 {
        match entry.due {
            Some(due) if due <= now => step(entry, td, now, timings, runtime, &mut outcomes),
            _ => break,
        }
    }
    outcomes
}

fn step(
    entry: &mut TaskEntry,
    td: Option<&TaskDefinition>,
    now: Timestamp,
    t: &Timings,
    runtime: Runtime,
    out: &mut Vec<Outcome>,
) {
    let stopping = entry.task.desired_status == "STOPPED";
    // A Spot task keeps RUNNING through its interruption warning.
    if stopping
        && entry.task.last_status == "RUNNING"
        && let Some(until) = entry.spot_warning_until.filter(|until| *until > now)
    {
        entry.due = Some(until);
        return;
    }
    entry.task.version += 1;
    match (entry.task.last_status.as_str(), stopping) {
        ("PROVISIONING" | "PENDING", true) => finish_stop(entry, now, out),
        ("ACTIVATING" | "RUNNING", true) => {
            entry.task.last_status = "DEACTIVATING".into();
            entry.due = Some(Timestamp(now.0 + t.deactivate));
            let registered = [TargetState::Initial, TargetState::Healthy, TargetState::Unhealthy];
            if move_targets(entry, &registered, TargetState::Draining) {
                out.push(Outcome::TargetsDraining);
            }
        }
        ("DEACTIVATING", _) => {
            if move_targets(entry, &[TargetState::Draining], TargetState::Deregistered) {
                out.push(Outcome::TargetsDeregistered);
            }
            entry.task.last_status = "STOPPING".into();
            entry.due = Some(Timestamp(now.0 + t.stop));
        }
        ("STOPPING", _)
            if runtime == Runtime::Docker && entry.task.containers.iter().any(|c| c.last_status != "STOPPED") =>
        {
            // The agent reports when the containers have stopped.
            entry.due = None;
        }
        ("STOPPING", _) => {
            entry.task.execution_stopped_at = Some(now);
            for c in &mut entry.task.containers {
                if c.last_status != "STOPPED" {
                    c.last_status = "STOPPED".into();
                    c.exit_code.get_or_insert(0);
                }
            }
            if eni_of(entry).is_some() {
                entry.task.last_status = "DEPROVISIONING".into();
                entry.task.set_attachments_status("DETACHING");
                entry.due = Some(Timestamp(now.0 + t.deprovision));
            } else {
                finish_stop(entry, now, out);
            }
        }
        ("DEPROVISIONING", _) => finish_stop(entry, now, out),
        ("PROVISIONING", false) => {
            entry.task.last_status = "PENDING".into();
            entry.task.set_attachments_status("ATTACHED");
            entry.task.pull_started_at = Some(now);
            // With Docker, the agent reports the end of the pull.
            entry.due = (runtime == Runtime::Simulated).then_some(Timestamp(now.0 + t.pull));
        }
        ("PENDING", false) => end_pull(entry, td, now, t, out),
        ("ACTIVATING", false) => {
            if exited_while_starting(entry, td) {
                fail_start(entry, now, "EssentialContainerExited", ESSENTIAL_EXITED, out);
            } else {
                start_running(entry, td, now, t, out);
            }
        }
        ("RUNNING", false) => running(entry, td, now, t, out),
        _ => entry.due = None,
    }
}

/// Moves the task's targets in one of `from` to `to`; whether any moved.
fn move_targets(entry: &mut TaskEntry, from: &[TargetState], to: TargetState) -> bool {
    let mut moved = false;
    for target in entry.targets.iter_mut().filter(|t| from.contains(&t.state)) {
        target.state = to;
        moved = true;
    }
    moved
}

/// STOPPED: final timestamps, every container stopped, the ENI gone.
fn finish_stop(entry: &mut TaskEntry, now: Timestamp, out: &mut Vec<Outcome>) {
    let task = &mut entry.task;
    task.last_status = "STOPPED".into();
    task.desired_status = "STOPPED".into();
    task.stopping_at.get_or_insert(now);
    task.execution_stopped_at.get_or_insert(now);
    task.stopped_at = Some(now);
    for c in &mut task.containers {
        c.last_status = "STOPPED".into();
    }
    task.set_attachments_status("DELETED");
    entry.due = None;
    out.push(Outcome::Stopped);
}

/// A task that could not start: straight to STOPPED from PENDING.
fn fail_start(entry: &mut TaskEntry, now: Timestamp, code: &str, reason: &str, out: &mut Vec<Outcome>) {
    entry.task.desired_status = "STOPPED".into();
    entry.task.stop_code = Some(code.to_owned());
    entry.task.stopped_reason = Some(reason.to_owned());
    entry.task.stopping_at = Some(now);
    entry.task.tags.clear();
    out.push(Outcome::FailedToStart);
    finish_stop(entry, now, out);
}

/// End of PENDING: the images are pulled (or not) and containers start (or
/// exit at once).
fn end_pull(entry: &mut TaskEntry, td: Option<&TaskDefinition>, now: Timestamp, t: &Timings, out: &mut Vec<Outcome>) {
    let created = entry.task.created_at;
    entry.task.pull_started_at.get_or_insert(created);
    entry.task.pull_stopped_at = Some(now);
    let unpullable = entry.task.containers.iter().position(|c| fate_of(entry, &c.name).is_some_and(|f| f.cannot_pull));
    if let Some(i) = unpullable {
        let image = entry.task.containers[i].image.clone().unwrap_or_default();
        let reason = pull_error(&image);
        entry.task.containers[i].reason = Some(reason.clone());
        fail_start(entry, now, "TaskFailedToStart", &reason, out);
        return;
    }
    // Containers that cannot start (the Docker runtime's report).
    if let Some(reason) = entry.fates.iter().find_map(|f| f.start_failure.clone()) {
        fail_start(entry, now, "TaskFailedToStart", &reason, out);
        return;
    }
    if exited_while_starting(entry, td) {
        fail_start(entry, now, "EssentialContainerExited", ESSENTIAL_EXITED, out);
        return;
    }
    entry.task.last_status = "ACTIVATING".into();
    entry.due = Some(Timestamp(now.0 + t.activate));
    if move_targets(entry, &[TargetState::NotRegistered], TargetState::Initial) {
        out.push(Outcome::TargetsRegistered);
    }
}

/// Stops the containers set to exit while the task starts (a fate without
/// `exit_after`: a simulated rule, or a real container that exited before its
/// task ran); whether an essential one did, which fails the start (and so
/// counts for the circuit breaker, as ECS counts tasks that never reach
/// RUNNING).
fn exited_while_starting(entry: &mut TaskEntry, td: Option<&TaskDefinition>) -> bool {
    let mut essential_exited = false;
    let fates: Vec<Fate> = entry.fates.clone();
    for fate in fates.iter().filter(|f| f.exit_after.is_none()) {
        let Some(code) = fate.exit_code else { continue };
        if let Some(c) = entry.task.containers.iter_mut().find(|c| *c.name == *fate.container) {
            c.last_status = "STOPPED".into();
            c.exit_code = Some(code);
        }
        essential_exited |= is_essential(td, &fate.container);
    }
    essential_exited
}

fn network_bindings(td: Option<&TaskDefinition>, container: &str) -> Vec<Value> {
    let Some(td) = td else { return Vec::new() };
    if !matches!(td.effective_network_mode(), "bridge" | "host") {
        return Vec::new();
    }
    let Some(def) = definition(Some(td), container) else { return Vec::new() };
    def.port_mappings
        .iter()
        .enumerate()
        .filter_map(|(i, pm)| {
            let container_port = pm.container_port?;
            // Bridge mode without a host port gets one from the ephemeral range.
            let host_port = pm.host_port.filter(|p| *p > 0).unwrap_or(if td.effective_network_mode() == "host" {
                container_port
            } else {
                32768 + i as i32
            });
            Some(json!({
                "bindIP": "0.0.0.0",
                "containerPort": container_port,
                "hostPort": host_port,
                "protocol": pm.protocol.clone().unwrap_or_else(|| "tcp".into()),
            }))
        })
        .collect()
}

fn start_running(
    entry: &mut TaskEntry,
    td: Option<&TaskDefinition>,
    now: Timestamp,
    t: &Timings,
    out: &mut Vec<Outcome>,
) {
    let task = &mut entry.task;
    task.last_status = "RUNNING".into();
    task.started_at = Some(now);
    task.connectivity = Some("CONNECTED".into());
    task.connectivity_at = Some(now);
    for c in &mut task.containers {
        if c.last_status != "STOPPED" {
            c.last_status = "RUNNING".into();
            // The agent reports the ports the engine really published.
            if c.runtime_id.is_none() {
                c.network_bindings = network_bindings(td, &c.name);
            }
        }
    }
    out.push(Outcome::Started);
    running(entry, td, now, t, out);
}

fn plans(entry: &TaskEntry, td: Option<&TaskDefinition>, t: &Timings) -> Vec<(usize, HealthPlan)> {
    entry
        .task
        .containers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let def = definition(td, &c.name)?;
            Some((i, health::plan(def, fate_of(entry, &c.name), t)?))
        })
        .collect()
}

/// A RUNNING task: health-check verdicts, containers set to exit, and the
/// moment it starts to count as healthy.
fn running(entry: &mut TaskEntry, td: Option<&TaskDefinition>, now: Timestamp, t: &Timings, out: &mut Vec<Outcome>) {
    let started = entry.task.started_at.unwrap_or(now);
    let elapsed = now.0 - started.0;
    let mut next: Option<i64> = None;
    let mut soonest = |at: i64| next = Some(next.map_or(at, |n: i64| n.min(at)));

    // Containers that exit now (or later).
    let mut essential_exit = false;
    let fates = entry.fates.clone();
    for fate in &fates {
        let (Some(after), Some(code)) = (fate.exit_after, fate.exit_code) else { continue };
        let Some(c) =
            entry.task.containers.iter_mut().find(|c| *c.name == *fate.container && c.last_status == "RUNNING")
        else {
            continue;
        };
        if after <= elapsed {
            c.last_status = "STOPPED".into();
            c.exit_code = Some(code);
            essential_exit |= is_essential(td, &fate.container);
        } else {
            soonest(after);
        }
    }
    if essential_exit {
        entry.task.desired_status = "STOPPED".into();
        entry.task.stop_code = Some("EssentialContainerExited".into());
        entry.task.stopped_reason = Some(ESSENTIAL_EXITED.into());
        entry.task.stopping_at = Some(now);
        entry.task.tags.clear();
        entry.due = Some(now);
        out.push(Outcome::Exited);
        return;
    }

    // Health checks.
    let plans = plans(entry, td, t);
    let mut essential_statuses = Vec::new();
    for (i, plan) in &plans {
        let c = &mut entry.task.containers[*i];
        // A real container's health is the engine's verdict, as the agent
        // reported it; a simulated one follows its plan.
        let status = if c.runtime_id.is_some() {
            match c.health_status.as_str() {
                "HEALTHY" => "HEALTHY",
                "UNHEALTHY" => "UNHEALTHY",
                _ => "UNKNOWN",
            }
        } else {
            if let Some(change) = plan.next_change(elapsed) {
                soonest(change);
            }
            plan.status_at(elapsed)
        };
        if c.last_status == "RUNNING" {
            c.health_status = status.into();
        }
        if is_essential(td, &c.name) {
            essential_statuses.push(status);
        }
    }
    let checked = !essential_statuses.is_empty();
    let health = health::task_health(essential_statuses.iter().copied());
    if health == "UNHEALTHY" && entry.task.health_status != "UNHEALTHY" {
        out.push(Outcome::TurnedUnhealthy);
    }
    entry.task.health_status = health.into();

    // Load-balancer health checks of the registered targets.
    let balanced = !entry.targets.is_empty();
    let mut targets_healthy = true;
    let mut target_failed = false;
    let judged = [TargetState::Initial, TargetState::Healthy, TargetState::Unhealthy];
    for target in entry.targets.iter_mut().filter(|t| judged.contains(&t.state)) {
        let fate = fates.iter().find(|f| f.container == target.container_name);
        let plan = health::target_plan(fate, t);
        let state = match plan.status_at(elapsed) {
            "UNHEALTHY" => TargetState::Unhealthy,
            "HEALTHY" => TargetState::Healthy,
            _ => TargetState::Initial,
        };
        if state == TargetState::Unhealthy && target.state != TargetState::Unhealthy {
            target.failure_code = Some(fate.and_then(|f| f.target_status_code).unwrap_or(500));
            target_failed = true;
        }
        target.state = state;
        targets_healthy &= state == TargetState::Healthy;
        if let Some(change) = plan.next_change(elapsed) {
            soonest(change);
        }
    }
    if target_failed {
        out.push(Outcome::TargetTurnedUnhealthy);
    }

    let healthy_now =
        targets_healthy && if checked { health == "HEALTHY" } else { balanced || elapsed >= t.healthy_after };
    if entry.healthy_at.is_none() {
        if healthy_now {
            entry.healthy_at = Some(now);
            out.push(Outcome::BecameHealthy);
        } else if !checked && !balanced {
            soonest(t.healthy_after);
        }
    }
    entry.due = next.map(|n| Timestamp(started.0 + n));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(awsvpc: bool) -> TaskEntry {
        let attachments =
            if awsvpc { vec![json!({"type": "ElasticNetworkInterface", "status": "ATTACHING"})] } else { vec![] };
        let task: Task = serde_json::from_value(json!({
            "taskArn": "arn:aws:ecs:r:a:task/c/0123", "clusterArn": "c", "taskDefinitionArn": "td",
            "overrides": {}, "lastStatus": if awsvpc { "PROVISIONING" } else { "PENDING" },
            "desiredStatus": "RUNNING", "containers": [{
                "containerArn": "x", "taskArn": "t", "name": "app", "lastStatus": "PENDING",
                "healthStatus": "UNKNOWN", "cpu": "0"
            }],
            "version": 1, "createdAt": 0, "group": "g", "attachments": attachments,
            "healthStatus": "UNKNOWN", "enableExecuteCommand": false
        }))
        .unwrap();
        let t = Timings::short();
        let due = if awsvpc { t.provision } else { t.pull };
        TaskEntry {
            task,
            service_name: None,
            container_instance_id: None,
            reservation: Reservation::default(),
            due: Some(Timestamp(due)),
            fates: Vec::new(),
            healthy_at: None,
            spot_warning_until: None,
            targets: Vec::new(),
        }
    }

    /// Advances through every change up to `until`, one due time at a time.
    fn run(entry: &mut TaskEntry, until: i64) -> Vec<(i64, Outcome)> {
        run_with(entry, None, &Timings::short(), until)
    }

    fn run_with(entry: &mut TaskEntry, td: Option<&TaskDefinition>, t: &Timings, until: i64) -> Vec<(i64, Outcome)> {
        let mut seen = Vec::new();
        while let Some(due) = entry.due.filter(|d| d.0 <= until) {
            for o in advance(entry, td, due, t, Runtime::Simulated) {
                seen.push((due.0, o));
            }
        }
        seen
    }

    #[test]
    fn with_a_health_check_and_a_target_both_must_pass() {
        let td: TaskDefinition = serde_json::from_value(json!({
            "taskDefinitionArn": "td", "family": "web", "revision": 1, "status": "ACTIVE",
            "registeredAt": 0, "registeredBy": "me",
            "containerDefinitions": [{ "name": "app", "image": "nginx", "healthCheck": { "command": ["CMD", "true"] } }]
        }))
        .unwrap();
        let mut t = Timings::short();
        let running_at = t.pull + t.activate;
        // Container check passes 1 s after RUNNING; the target after 5 s or 0.5 s.
        for (target_healthy, healthy_after) in [(5_000, 5_000), (500, 1_000)] {
            t.target_healthy = target_healthy;
            let mut e = task(false);
            e.targets = vec![target()];
            let seen = run_with(&mut e, Some(&td), &t, 60_000);
            assert!(seen.contains(&(running_at + healthy_after, Outcome::BecameHealthy)), "{target_healthy}: {seen:?}");
            assert_eq!(e.task.health_status, "HEALTHY");
        }
    }

    #[test]
    fn a_stopping_task_moves_the_same_without_its_definition() {
        let td: TaskDefinition = serde_json::from_value(json!({
            "taskDefinitionArn": "td", "family": "web", "revision": 1, "status": "ACTIVE",
            "registeredAt": 0, "registeredBy": "me",
            "containerDefinitions": [{
                "name": "app", "image": "nginx", "essential": true, "stopTimeout": 5,
                "healthCheck": { "command": ["CMD", "true"] }, "portMappings": [{ "containerPort": 80 }]
            }]
        }))
        .unwrap();
        let t = Timings::short();
        // Told to stop in every phase of its life, with and without an ENI.
        for awsvpc in [false, true] {
            for stop_at in [0, 500, 1_000, 1_500, 2_000, 2_500, 60_000] {
                let started = || {
                    let mut e = task(awsvpc);
                    run_with(&mut e, Some(&td), &t, stop_at);
                    e.task.desired_status = "STOPPED".into();
                    e.due = Some(Timestamp(stop_at));
                    e
                };
                let (mut with, mut without) = (started(), started());
                assert!(!needs_definition(&with));
                let seen_with = run_with(&mut with, Some(&td), &t, 120_000);
                let seen_without = run_with(&mut without, None, &t, 120_000);
                assert_eq!(seen_with, seen_without, "stopped at {stop_at}");
                assert_eq!(with, without, "stopped at {stop_at}");
                assert_eq!(with.task.last_status, "STOPPED", "stopped at {stop_at}");
            }
        }
    }

    #[test]
    fn awsvpc_task_goes_through_every_phase() {
        let mut e = task(true);
        let t = Timings::short();
        assert_eq!(run(&mut e, 1_000), vec![]);
        assert_eq!(e.task.last_status, "PENDING");
        assert_eq!(e.task.attachments[0].status, "ATTACHED");
        let seen = run(&mut e, 10_000);
        assert_eq!(seen, vec![(2_000, Outcome::Started), (2_000 + t.healthy_after, Outcome::BecameHealthy)]);
        assert_eq!(e.task.started_at, Some(Timestamp(2_000)));
        assert_eq!(e.task.containers[0].last_status, "RUNNING");
        assert_eq!(e.due, None, "nothing more is timed");
        e.task.desired_status = "STOPPED".into();
        e.due = Some(Timestamp(20_000));
        assert_eq!(run(&mut e, 20_000), vec![]);
        assert_eq!(e.task.last_status, "DEACTIVATING");
        assert_eq!(run(&mut e, 20_750), vec![]);
        assert_eq!(e.task.last_status, "DEPROVISIONING");
        assert_eq!(e.task.attachments[0].status, "DETACHING");
        let seen = run(&mut e, 30_000);
        assert_eq!(seen, vec![(21_000, Outcome::Stopped)]);
        assert_eq!(e.task.stopped_at, Some(Timestamp(21_000)));
        assert_eq!(e.task.execution_stopped_at, Some(Timestamp(20_750)));
        assert_eq!(e.task.containers[0].exit_code, Some(0));
        assert_eq!(e.task.attachments[0].status, "DELETED");
    }

    fn target() -> Target {
        Target {
            target_group_arn: "arn:tg".into(),
            container_name: "app".into(),
            container_port: 80,
            state: TargetState::NotRegistered,
            failure_code: None,
        }
    }

    #[test]
    fn targets_register_turn_healthy_drain_and_deregister() {
        let t = Timings::short();
        let mut e = task(false);
        e.targets = vec![target()];
        let running_at = t.pull + t.activate;
        let seen = run(&mut e, t.pull);
        assert_eq!(seen, vec![(t.pull, Outcome::TargetsRegistered)]);
        assert_eq!(e.targets[0].state, TargetState::Initial);
        let seen = run(&mut e, 60_000);
        // Healthy only when the target is (not after `healthy_after`).
        assert_eq!(seen, vec![(running_at, Outcome::Started), (running_at + t.target_healthy, Outcome::BecameHealthy)]);
        assert_eq!(e.targets[0].state, TargetState::Healthy);
        e.task.desired_status = "STOPPED".into();
        e.due = Some(Timestamp(70_000));
        assert_eq!(run(&mut e, 70_000), vec![(70_000, Outcome::TargetsDraining)]);
        assert_eq!(e.targets[0].state, TargetState::Draining);
        let seen = run(&mut e, 80_000);
        assert_eq!(
            seen,
            vec![
                (70_000 + t.deactivate, Outcome::TargetsDeregistered),
                (70_000 + t.deactivate + t.stop, Outcome::Stopped)
            ]
        );
        assert_eq!(e.targets[0].state, TargetState::Deregistered);
    }

    #[test]
    fn failing_target_checks_make_the_target_unhealthy() {
        let t = Timings::short();
        let mut e = task(false);
        e.targets = vec![target()];
        e.fates = vec![Fate {
            container: "app".into(),
            target_unhealthy_after: Some(0),
            target_status_code: Some(503),
            ..Fate::default()
        }];
        let running_at = t.pull + t.activate;
        let seen = run(&mut e, 60_000);
        assert_eq!(
            seen,
            vec![
                (t.pull, Outcome::TargetsRegistered),
                (running_at, Outcome::Started),
                (running_at + t.target_healthy, Outcome::TargetTurnedUnhealthy)
            ]
        );
        assert_eq!((e.targets[0].state, e.targets[0].failure_code), (TargetState::Unhealthy, Some(503)));
        assert_eq!(e.healthy_at, None, "never healthy");
        assert_eq!(e.task.health_status, "UNKNOWN", "ELB verdicts do not change the task's healthStatus");
    }

    #[test]
    fn fates_fail_tasks() {
        let mut e = task(false);
        e.fates = vec![Fate { container: "app".into(), exit_code: Some(2), ..Fate::default() }];
        assert_eq!(run(&mut e, 10_000), vec![(1_000, Outcome::FailedToStart), (1_000, Outcome::Stopped)]);
        assert_eq!(e.task.stop_code.as_deref(), Some("EssentialContainerExited"));
        assert_eq!(e.task.containers[0].exit_code, Some(2));
        assert_eq!(e.task.started_at, None);

        let mut e = task(false);
        e.fates = vec![Fate { container: "app".into(), cannot_pull: true, ..Fate::default() }];
        run(&mut e, 10_000);
        assert_eq!(e.task.stop_code.as_deref(), Some("TaskFailedToStart"));
        assert!(e.task.stopped_reason.as_deref().unwrap().starts_with("CannotPullContainerError"));

        let mut e = task(false);
        e.fates =
            vec![Fate { container: "app".into(), exit_code: Some(137), exit_after: Some(5_000), ..Fate::default() }];
        let seen = run(&mut e, 30_000);
        let t = Timings::short();
        let started = t.pull + t.activate;
        assert!(seen.contains(&(started + 5_000, Outcome::Exited)), "{seen:?}");
        assert_eq!(e.task.last_status, "STOPPED");
        assert_eq!(e.task.containers[0].exit_code, Some(137));
    }

    #[test]
    fn a_container_that_exits_while_activating_fails_the_start() {
        let t = Timings::short();
        let mut e = task(false);
        assert_eq!(run(&mut e, t.pull), vec![]);
        assert_eq!(e.task.last_status, "ACTIVATING");
        // The agent reports an exit before the task ran.
        e.fates = vec![Fate { container: "app".into(), exit_code: Some(1), ..Fate::default() }];
        let seen = run(&mut e, 60_000);
        assert_eq!(seen, vec![(t.pull + t.activate, Outcome::FailedToStart), (t.pull + t.activate, Outcome::Stopped)]);
        assert_eq!(e.task.stop_code.as_deref(), Some("EssentialContainerExited"));
        assert_eq!(e.task.containers[0].exit_code, Some(1));
        assert_eq!(e.task.started_at, None, "it never ran");
    }
}
