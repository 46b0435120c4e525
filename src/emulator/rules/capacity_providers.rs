//! Capacity providers' rules: what CreateCapacityProvider and
//! UpdateCapacityProvider accept (with ECS's defaults), and cluster auto
//! scaling's arithmetic as the ECS Developer Guide documents it
//! ("Automatically manage Amazon ECS capacity with cluster auto scaling"):
//! `CapacityProviderReservation = M / N × 100`, where M is the number of
//! instances the provider's tasks need (those running them plus those the
//! PROVISIONING ones would need) and N the number of instances running, and
//! a target tracking policy that keeps it at `targetCapacity`.

use std::collections::HashSet;

use serde::Deserialize;

use crate::emulator::state::capacity_providers::{AutoScalingGroupProvider, ManagedScaling};
use crate::emulator::state::ids::is_valid_name;
use crate::emulator::state::records::Reservation;
use crate::emulator::wire::error::{EcsError, EcsResult};

/// How long the reservation must stay under the target before the group
/// scales in: the 15 one-minute datapoints of the low alarm ECS's target
/// tracking policy creates.
pub const SCALE_IN_AFTER_MILLIS: i64 = 15 * 60 * 1000;

/// ECS's `ManagedScaling` as a request gives it (every member optional).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedScalingInput {
    status: Option<String>,
    target_capacity: Option<i32>,
    minimum_scaling_step_size: Option<i32>,
    maximum_scaling_step_size: Option<i32>,
    instance_warmup_period: Option<i32>,
}

/// `autoScalingGroupProvider` in CreateCapacityProvider and (without the
/// ARN) UpdateCapacityProvider.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoScalingGroupInput {
    pub auto_scaling_group_arn: Option<String>,
    managed_scaling: Option<ManagedScalingInput>,
    managed_termination_protection: Option<String>,
    managed_draining: Option<String>,
}

/// The name rules of CreateCapacityProvider.
pub fn check_name(name: &str) -> EcsResult<()> {
    if !is_valid_name(name) {
        return Err(EcsError::invalid(
            "The capacity provider name can be up to 255 characters: letters (uppercase and lowercase), numbers, underscores (_), and hyphens (-).",
        ));
    }
    let lower = name.to_ascii_lowercase();
    if ["aws", "ecs", "fargate"].iter().any(|p| lower.starts_with(p)) {
        return Err(EcsError::invalid(
            "The capacity provider name can't be prefixed with \"aws\", \"ecs\", or \"fargate\". Specify a different name and try again.",
        ));
    }
    Ok(())
}

/// An Auto Scaling group ARN (`arn:<partition>:autoscaling:<region>:<account>:autoScalingGroup:<id>:autoScalingGroupName/<name>`)
/// or a bare group name, as the API allows either.
pub fn check_group_arn(arn: &str) -> EcsResult<()> {
    let bad = || EcsError::invalid(format!("The specified Auto Scaling group ARN '{arn}' is not valid."));
    if !arn.starts_with("arn:") {
        return if is_group_name(arn) { Ok(()) } else { Err(bad()) };
    }
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    match parts.as_slice() {
        [_, _, "autoscaling", region, account, "autoScalingGroup", _, name]
            if !region.is_empty() && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name.strip_prefix("autoScalingGroupName/").filter(|n| is_group_name(n)).map(|_| ()).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// Auto Scaling group names: 1 to 255 characters, no colon.
fn is_group_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && !name.contains(':')
}

fn enabled_or_disabled(value: Option<String>, member: &str, default: &str) -> EcsResult<String> {
    match value.as_deref() {
        None => Ok(default.to_owned()),
        Some(v @ ("ENABLED" | "DISABLED")) => Ok(v.to_owned()),
        Some(other) => Err(EcsError::invalid(format!("{member} must be ENABLED or DISABLED, got '{other}'."))),
    }
}

/// Applies the given managed scaling members over `current` (ECS's defaults
/// for a new provider) and checks the ranges the API reference gives.
fn managed_scaling(given: Option<ManagedScalingInput>, current: &ManagedScaling) -> EcsResult<ManagedScaling> {
    let Some(given) = given else { return Ok(current.clone()) };
    let out = ManagedScaling {
        status: enabled_or_disabled(given.status, "managedScaling.status", &current.status)?,
        target_capacity: given.target_capacity.unwrap_or(current.target_capacity),
        minimum_scaling_step_size: given.minimum_scaling_step_size.unwrap_or(current.minimum_scaling_step_size),
        maximum_scaling_step_size: given.maximum_scaling_step_size.unwrap_or(current.maximum_scaling_step_size),
        instance_warmup_period: given.instance_warmup_period.unwrap_or(current.instance_warmup_period),
    };
    if !(1..=100).contains(&out.target_capacity) {
        return Err(EcsError::invalid("The target capacity must be greater than 0 and less than or equal to 100."));
    }
    for (value, member) in [
        (out.minimum_scaling_step_size, "minimumScalingStepSize"),
        (out.maximum_scaling_step_size, "maximumScalingStepSize"),
    ] {
        if !(1..=10_000).contains(&value) {
            return Err(EcsError::invalid(format!("{member} must be between 1 and 10000.")));
        }
    }
    if out.minimum_scaling_step_size > out.maximum_scaling_step_size {
        return Err(EcsError::invalid(
            "The minimum scaling step size must be less than or equal to the maximum scaling step size.",
        ));
    }
    if !(0..=10_000).contains(&out.instance_warmup_period) {
        return Err(EcsError::invalid("instanceWarmupPeriod must be between 0 and 10000."));
    }
    Ok(out)
}

/// A new provider's group settings: ECS's defaults (managed scaling off,
/// termination protection off, managed draining on) under what was given.
pub fn new_group_provider(input: AutoScalingGroupInput) -> EcsResult<AutoScalingGroupProvider> {
    let arn = input.auto_scaling_group_arn.clone().unwrap_or_default();
    if arn.is_empty() {
        return Err(EcsError::invalid("autoScalingGroupProvider.autoScalingGroupArn must be specified."));
    }
    check_group_arn(&arn)?;
    let current = AutoScalingGroupProvider {
        auto_scaling_group_arn: arn,
        managed_scaling: ManagedScaling::default(),
        managed_termination_protection: "DISABLED".into(),
        managed_draining: "ENABLED".into(),
    };
    updated_group_provider(input, &current)
}

/// The group settings after an UpdateCapacityProvider (the group itself
/// cannot change).
pub fn updated_group_provider(
    input: AutoScalingGroupInput,
    current: &AutoScalingGroupProvider,
) -> EcsResult<AutoScalingGroupProvider> {
    Ok(AutoScalingGroupProvider {
        auto_scaling_group_arn: current.auto_scaling_group_arn.clone(),
        managed_scaling: managed_scaling(input.managed_scaling, &current.managed_scaling)?,
        managed_termination_protection: enabled_or_disabled(
            input.managed_termination_protection,
            "managedTerminationProtection",
            &current.managed_termination_protection,
        )?,
        managed_draining: enabled_or_disabled(input.managed_draining, "managedDraining", &current.managed_draining)?,
    })
}

/// `CapacityProviderReservation` in percent for M instances needed and N
/// running: 100 when there is nothing and nothing is needed, 200 when
/// tasks wait and the group is empty (ECS's documented special cases).
pub fn reservation(needed: u64, running: u64) -> f64 {
    match (needed, running) {
        (0, 0) => 100.0,
        (_, 0) => 200.0,
        (m, n) => m as f64 * 100.0 / n as f64,
    }
}

/// The group size the target tracking policy aims at: the fewest instances
/// that bring the reservation to `target` or under, `ceil(M × 100 / target)`.
pub fn desired(needed: u64, target: i32) -> u64 {
    let target = u64::try_from(target.max(1)).unwrap_or(1);
    (needed * 100).div_ceil(target)
}

/// Instances to add when the reservation is above the target: the gap to
/// the desired size, at least `minimumScalingStepSize` and at most
/// `maximumScalingStepSize`; zero when the reservation is at or under it.
pub fn scale_out_step(needed: u64, running: u64, scaling: &ManagedScaling) -> u64 {
    if reservation(needed, running) <= f64::from(scaling.target_capacity) {
        return 0;
    }
    let gap = desired(needed, scaling.target_capacity).saturating_sub(running);
    let min = u64::try_from(scaling.minimum_scaling_step_size).unwrap_or(1);
    let max = u64::try_from(scaling.maximum_scaling_step_size).unwrap_or(10_000);
    gap.clamp(min, max)
}

/// Instances to remove when the reservation is under the target: down to
/// the desired size (scale-in is not bounded by the step sizes).
pub fn scale_in_count(needed: u64, running: u64, target: i32) -> u64 {
    running.saturating_sub(desired(needed, target))
}

/// The fewest new instances of `capacity` (CPU units, MiB) that hold tasks
/// needing `tasks` (first fit, largest first; two tasks with the same
/// static host port never share one); tasks larger than one instance are
/// left out, as no instance of the group could ever run them.
pub fn instances_for(tasks: &[&Reservation], capacity: (i64, i64)) -> u64 {
    struct Bin {
        cpu: i64,
        memory: i64,
        tcp: HashSet<i32>,
        udp: HashSet<i32>,
    }
    let mut sorted: Vec<&Reservation> =
        tasks.iter().copied().filter(|r| r.cpu <= capacity.0 && r.memory <= capacity.1).collect();
    sorted.sort_by_key(|r| std::cmp::Reverse((r.cpu, r.memory)));
    let mut bins: Vec<Bin> = Vec::new();
    for task in sorted {
        let fits = |bin: &Bin| {
            bin.cpu >= task.cpu
                && bin.memory >= task.memory
                && !task.tcp_ports.iter().any(|p| bin.tcp.contains(p))
                && !task.udp_ports.iter().any(|p| bin.udp.contains(p))
        };
        let index = match bins.iter().position(fits) {
            Some(i) => i,
            None => {
                bins.push(Bin { cpu: capacity.0, memory: capacity.1, tcp: HashSet::new(), udp: HashSet::new() });
                bins.len() - 1
            }
        };
        let bin = &mut bins[index];
        bin.cpu -= task.cpu;
        bin.memory -= task.memory;
        bin.tcp.extend(task.tcp_ports.iter().copied());
        bin.udp.extend(task.udp_ports.iter().copied());
    }
    bins.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaling(target: i32, min: i32, max: i32) -> ManagedScaling {
        ManagedScaling {
            status: "ENABLED".into(),
            target_capacity: target,
            minimum_scaling_step_size: min,
            maximum_scaling_step_size: max,
            instance_warmup_period: 300,
        }
    }

    #[test]
    fn reservation_follows_the_documented_formula_and_special_cases() {
        assert_eq!(reservation(0, 0), 100.0);
        assert_eq!(reservation(3, 0), 200.0);
        assert_eq!(reservation(2, 4), 50.0);
        assert_eq!(reservation(5, 4), 125.0);
    }

    #[test]
    fn scale_out_is_bounded_by_the_step_sizes() {
        // 5 needed, 2 running, target 100: 3 more, within 1..=10.
        assert_eq!(scale_out_step(5, 2, &scaling(100, 1, 10)), 3);
        // At most the maximum step.
        assert_eq!(scale_out_step(5, 2, &scaling(100, 1, 2)), 2);
        // At least the minimum step, even when one would do.
        assert_eq!(scale_out_step(3, 2, &scaling(100, 4, 10)), 4);
        // Empty group with waiting tasks: 200 % is above any target.
        assert_eq!(scale_out_step(1, 0, &scaling(100, 1, 10)), 1);
        // At the target: nothing.
        assert_eq!(scale_out_step(2, 2, &scaling(100, 1, 10)), 0);
    }

    #[test]
    fn a_lower_target_keeps_spare_instances() {
        // Target 50: two busy instances want four in the group.
        assert_eq!(desired(2, 50), 4);
        assert_eq!(scale_out_step(2, 2, &scaling(50, 1, 10)), 2);
        assert_eq!(scale_in_count(2, 6, 50), 2);
        assert_eq!(scale_in_count(0, 3, 100), 3);
    }

    fn task(cpu: i64, memory: i64, ports: &[i32]) -> Reservation {
        Reservation { cpu, memory, tcp_ports: ports.to_vec(), udp_ports: Vec::new() }
    }

    #[test]
    fn waiting_tasks_are_packed_into_new_instances() {
        let capacity = (2048, 7680);
        assert_eq!(instances_for(&[], capacity), 0);
        let small = task(1024, 1024, &[]);
        assert_eq!(instances_for(&[&small; 4], capacity), 2);
        let (a, b, c) = (task(1500, 512, &[]), task(600, 512, &[]), task(500, 512, &[]));
        assert_eq!(instances_for(&[&a, &b, &c], capacity), 2);
        // The same static host port: one instance each.
        let web = task(128, 256, &[80]);
        assert_eq!(instances_for(&[&web; 3], capacity), 3);
        // Too large for any instance of the group: needs none.
        assert_eq!(instances_for(&[&task(4096, 512, &[])], capacity), 0);
    }

    #[test]
    fn names_and_groups_are_checked() {
        assert!(check_name("my-provider_1").is_ok());
        assert!(check_name("ecs-thing").is_err());
        assert!(check_name("FargateX").is_err());
        assert!(check_name("bad name").is_err());
        assert!(
            check_group_arn(
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0d1b5c3c-0000-4000-8000-000000000000:autoScalingGroupName/asg"
            )
            .is_ok()
        );
        assert!(check_group_arn("my-asg").is_ok());
        assert!(check_group_arn("arn:aws:ec2:us-east-1:123456789012:instance/i-1").is_err());
    }
}
