//! Service events in ECS's wording: newest first, at most 100, a repeated
//! message suppressed while it is the newest and less than 6 hours old (so a
//! quiet steady service re-logs its steady state about every 6 hours).

use crate::emulator::sim::lifecycle::LaunchOutcome;
use crate::emulator::state::ids::uuid;
use crate::emulator::state::records::*;

/// Events kept per service, newest first.
pub const MAX_EVENTS: usize = 100;
/// A repeated event message is suppressed for this long.
pub const EVENT_REPEAT_MILLIS: i64 = 6 * 60 * 60 * 1000;

/// Adds an event (newest first, at most 100), unless the newest event says
/// the same thing and is less than 6 hours old.
pub fn add_event(service: &mut Service, now: Timestamp, message: String) {
    if let Some(newest) = service.events.first()
        && newest.message() == message
        && now.0 - newest.created_at().0 < EVENT_REPEAT_MILLIS
    {
        return;
    }
    service.events.insert(0, ServiceEvent::new(uuid(), now, message));
    service.events.truncate(MAX_EVENTS);
}

fn task_list(ids: &[String]) -> String {
    ids.iter().map(|id| format!("(task {id})")).collect::<Vec<_>>().join(" ")
}

pub fn started(name: &str, ids: &[String], replaced_unhealthy: i64) -> String {
    let mut message = format!("(service {name}) has started {} tasks: {}.", ids.len(), task_list(ids));
    if replaced_unhealthy > 0 {
        message.push_str(&format!(" Amazon ECS replaced {replaced_unhealthy} tasks due to an unhealthy status."));
    }
    message
}

pub fn stopped_running(name: &str, ids: &[String]) -> String {
    format!("(service {name}) has stopped {} running tasks: {}.", ids.len(), task_list(ids))
}

pub fn stopped_pending(name: &str, count: usize) -> String {
    format!("(service {name}) stopped {count} pending tasks.")
}

pub fn failed_health_checks(name: &str, task_id: &str) -> String {
    format!("(service {name}) (task {task_id}) failed container health checks.")
}

pub fn deployment_completed(name: &str, deployment: &str) -> String {
    format!("(service {name}) (deployment {deployment}) deployment completed.")
}

pub fn steady_state(name: &str) -> String {
    format!("(service {name}) has reached a steady state.")
}

pub fn unable_to_start_consistently(name: &str) -> String {
    format!("(service {name}) is unable to consistently start tasks successfully.")
}

pub fn deployment_configuration_blocks(name: &str) -> String {
    format!(
        "(service {name}) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
    )
}

/// The event for tasks that could not be placed, if any could not.
pub fn unplaced(name: &str, outcome: &LaunchOutcome) -> Option<String> {
    if outcome.no_instances {
        return Some(format!(
            "(service {name}) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
        ));
    }
    let failure = outcome.failures.first()?;
    let instance = failure.arn.rsplit('/').next().unwrap_or_default();
    let what = match failure.reason.as_str() {
        "RESOURCE:CPU" => "has insufficient CPU units available".to_owned(),
        "RESOURCE:MEMORY" => "has insufficient memory available".to_owned(),
        "RESOURCE:PORTS" | "RESOURCE:PORTS_UDP" => "is already using a port required by your task".to_owned(),
        "MemberOf placement constraint unsatisfied." => "does not match the memberOf placement constraint".to_owned(),
        "DistinctInstance placement constraint unsatisfied." => {
            "already runs a task of this group (distinctInstance placement constraint)".to_owned()
        }
        other => format!("encountered error \"{other}\""),
    };
    Some(format!(
        "(service {name}) was unable to place a task because no container instance met all of its requirements. The closest matching container-instance {instance} {what}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    ))
}
