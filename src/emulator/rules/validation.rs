//! ECS's input rules that do not depend on stored state: task-definition
//! rules (containers, memory, Fargate sizes, port mappings per network mode,
//! dependencies, health checks), tag rules, and the shape rules of network
//! configurations, placement and capacity provider strategies.
//!
//! Each rule answers with ECS's exception type and, where ECS's wording is
//! known (see the behaviour spec), ECS's message.

use std::collections::HashSet;

use serde_json::Value;

use crate::emulator::state::ids::is_valid_name;
use crate::emulator::state::records::*;
use crate::emulator::wire::error::{EcsError, EcsResult};

/// The largest task definition ECS accepts, in bytes of request JSON.
pub const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;
/// Most tags on one resource (user tags; `aws:` ones do not count).
pub const MAX_TAGS: usize = 50;
/// Host ports the ECS agent reserves on every instance.
pub const RESERVED_HOST_PORTS: &[i32] = &[22, 2375, 2376, 51678, 51679, 51680];

/// A task-definition rule failure: ECS answers them all with ClientException.
fn client(message: impl Into<String>) -> EcsError {
    EcsError::client(message)
}

/// Task-level `cpu`: an integer number of CPU units or a vCPU count
/// (`"1 vCPU"`, `"0.25 vcpu"`); 1024 units per vCPU.
pub fn parse_task_cpu(raw: &str) -> Option<i64> {
    parse_with_unit(raw, &["vcpu"], 1024.0)
}

/// Task-level `memory`: an integer number of MiB or GB (`"1GB"`, `"0.5 GB"`).
pub fn parse_task_memory(raw: &str) -> Option<i64> {
    parse_with_unit(raw, &["gb"], 1024.0)
}

fn parse_with_unit(raw: &str, units: &[&str], per_unit: f64) -> Option<i64> {
    let trimmed = raw.trim();
    if let Ok(n) = trimmed.parse::<i64>() {
        return (n > 0).then_some(n);
    }
    let lower = trimmed.to_ascii_lowercase();
    for unit in units {
        if let Some(number) = lower.strip_suffix(unit) {
            let n: f64 = number.trim().parse().ok()?;
            let scaled = n * per_unit;
            if scaled.is_finite() && scaled >= 1.0 && scaled.fract() == 0.0 && scaled < 1e12 {
                return Some(scaled as i64);
            }
        }
    }
    None
}

/// Whether `cpu`/`memory` (units/MiB) is one of Fargate's task sizes.
pub fn is_fargate_size(cpu: i64, memory: i64) -> bool {
    let (low, high, step) = match cpu {
        256 => return matches!(memory, 512 | 1024 | 2048),
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => return false,
    };
    (low..=high).contains(&memory) && (memory - low) % step == 0
}

const NETWORK_MODES: &[&str] = &["bridge", "host", "awsvpc", "none"];
const COMPATIBILITIES: &[&str] = &["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"];

/// Checks a task definition about to be registered, normalises what ECS
/// normalises (host ports, protocols, cpu/memory strings) and fills in
/// `compatibilities`. Every failure is a `ClientException`, as in ECS.
pub fn check_task_definition(td: &mut TaskDefinition) -> EcsResult<()> {
    if !is_valid_name(&td.family) {
        return Err(client(
            "Family can be up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.",
        ));
    }
    if let Some(mode) = &td.network_mode
        && !NETWORK_MODES.contains(&mode.as_str())
    {
        return Err(client(format!("Invalid networkMode '{mode}'. Valid values are bridge, host, awsvpc and none.")));
    }
    let requires = td.requires_compatibilities.clone().unwrap_or_default();
    for c in &requires {
        if !COMPATIBILITIES.contains(&c.as_str()) {
            return Err(client(format!("Invalid requiresCompatibilities value '{c}'.")));
        }
    }
    let task_cpu = match &td.cpu {
        Some(raw) => Some(parse_task_cpu(raw).ok_or_else(|| {
            client(format!(
                "Invalid 'cpu' setting for task: '{raw}'. Use CPU units (e.g. '256') or vCPUs (e.g. '1 vCPU')."
            ))
        })?),
        None => None,
    };
    let task_memory = match &td.memory {
        Some(raw) => Some(parse_task_memory(raw).ok_or_else(|| {
            client(format!("Invalid 'memory' setting for task: '{raw}'. Use MiB (e.g. '512') or GB (e.g. '1GB')."))
        })?),
        None => None,
    };
    td.cpu = task_cpu.map(|c| c.to_string());
    td.memory = task_memory.map(|m| m.to_string());
    let mode = td.effective_network_mode().to_owned();

    check_containers(td, task_cpu, task_memory, &mode)?;
    let host_volumes = check_volumes(td)?;

    let fargate_ok = fargate_problem(td, task_cpu, task_memory, &mode, host_volumes);
    if requires.iter().any(|c| c == "FARGATE")
        && let Some(problem) = &fargate_ok
    {
        return Err(client(problem.clone()));
    }
    if let Some(cpu) = task_cpu
        && requires.iter().all(|c| c != "FARGATE")
        && !(128..=196_608).contains(&cpu)
    {
        return Err(client(format!(
            "Invalid 'cpu' setting for task. For EC2 and EXTERNAL the task cpu must be between 128 and 196608 units, got {cpu}."
        )));
    }
    if requires.iter().any(|c| c == "EXTERNAL") && mode == "awsvpc" {
        return Err(client("Task definitions for EXTERNAL do not support network mode 'awsvpc'."));
    }

    let mut compatibilities = Vec::new();
    if mode != "awsvpc" {
        compatibilities.push("EXTERNAL".to_owned());
    }
    compatibilities.push("EC2".to_owned());
    if fargate_ok.is_none() {
        compatibilities.push("FARGATE".to_owned());
    }
    if requires.iter().any(|c| c == "MANAGED_INSTANCES") {
        compatibilities.push("MANAGED_INSTANCES".to_owned());
    }
    td.compatibilities = compatibilities;
    Ok(())
}

/// Why this definition cannot run on Fargate, in ECS's words; `None` if it can.
fn fargate_problem(
    td: &TaskDefinition,
    cpu: Option<i64>,
    memory: Option<i64>,
    mode: &str,
    host_volumes: bool,
) -> Option<String> {
    if mode != "awsvpc" {
        return Some("Fargate only supports network mode \u{2018}awsvpc\u{2019}.".to_owned());
    }
    let Some(cpu) = cpu else {
        return Some("Fargate requires that 'cpu' be defined at the task level.".to_owned());
    };
    let Some(memory) = memory else {
        return Some("Fargate requires that 'memory' be defined at the task level.".to_owned());
    };
    if !is_fargate_size(cpu, memory) {
        return Some("No Fargate configuration exists for given values.".to_owned());
    }
    if td.pid_mode.as_deref().is_some_and(|p| p != "task") {
        return Some("Fargate only supports pidMode 'task'.".to_owned());
    }
    if td.ipc_mode.is_some() {
        return Some("Fargate does not support ipcMode.".to_owned());
    }
    if host_volumes {
        return Some("Fargate does not support host volumes with a sourcePath.".to_owned());
    }
    if !td.placement_constraints.is_empty() {
        return Some("Fargate does not support placement constraints.".to_owned());
    }
    // Fargate's awslogs driver writes with the execution role's credentials.
    let awslogs = td.container_definitions.iter().any(|c| {
        c.other.get("logConfiguration").and_then(|l| l.get("logDriver")).and_then(serde_json::Value::as_str)
            == Some("awslogs")
    });
    if awslogs && td.execution_role_arn.as_deref().is_none_or(str::is_empty) {
        return Some(
            "Fargate requires task definition to have execution role ARN to support log driver awslogs.".to_owned(),
        );
    }
    None
}

fn check_containers(
    td: &mut TaskDefinition,
    task_cpu: Option<i64>,
    task_memory: Option<i64>,
    mode: &str,
) -> EcsResult<()> {
    let containers = &mut td.container_definitions;
    if containers.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if containers.len() > 10 {
        return Err(client("A task definition can have at most 10 containers."));
    }
    let mut names = HashSet::new();
    for c in containers.iter() {
        let name = c.name.as_deref().unwrap_or_default();
        if name.is_empty() {
            return Err(client("Container.name should not be null or empty."));
        }
        if !is_valid_name(name) {
            return Err(client(format!(
                "Invalid container name '{name}': up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed."
            )));
        }
        if !names.insert(name.to_owned()) {
            return Err(client(format!(
                "Duplicate container name '{name}'. Container names must be unique within a task definition."
            )));
        }
        if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
            return Err(client("Container.image should not be null or empty."));
        }
    }
    if !containers.iter().any(ContainerDefinition::is_essential) {
        return Err(client("A task definition must have at least one essential container."));
    }

    for c in containers.iter_mut() {
        // Describe shows `essential: true` when it was left out.
        c.essential.get_or_insert(true);
    }
    let mut cpu_sum: i64 = 0;
    let mut host_ports: HashSet<(i32, String)> = HashSet::new();
    for c in containers.iter_mut() {
        let name = c.name().to_owned();
        for (value, what) in [(c.memory, "memory"), (c.memory_reservation, "memoryReservation")] {
            if value.is_some_and(|v| v <= 0) {
                return Err(client(format!(
                    "Invalid '{what}' setting for container '{name}'. It must be greater than 0."
                )));
            }
        }
        if c.cpu < 0 {
            return Err(client(format!("Invalid 'cpu' setting for container '{name}'. It must not be negative.")));
        }
        cpu_sum += i64::from(c.cpu);
        if task_memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none() {
            return Err(client(format!(
                "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
            )));
        }
        if let (Some(hard), Some(soft)) = (c.memory, c.memory_reservation)
            && hard <= soft
        {
            return Err(client(format!(
                "Invalid setting for container '{name}'. 'memory' must be greater than 'memoryReservation'."
            )));
        }
        if let Some(task_memory) = task_memory
            && c.memory.or(c.memory_reservation).is_some_and(|m| i64::from(m) > task_memory)
        {
            return Err(client("The 'memory' setting for container is greater than for the task."));
        }
        if c.links.as_ref().is_some_and(|l| !l.is_empty()) && mode != "bridge" {
            return Err(client(format!("Links are only supported when networkMode=bridge (container '{name}').")));
        }
        check_port_mappings(&name, &mut c.port_mappings, mode, &mut host_ports)?;
        if let Some(hc) = &c.health_check {
            check_health_check(&name, hc)?;
        }
    }
    if let Some(task_cpu) = task_cpu
        && cpu_sum > task_cpu
    {
        return Err(client("The 'cpu' setting for containers is greater than for the task."));
    }
    check_dependencies(containers)
}

fn check_port_mappings(
    container: &str,
    mappings: &mut [PortMapping],
    mode: &str,
    host_ports: &mut HashSet<(i32, String)>,
) -> EcsResult<()> {
    if mode == "none" && !mappings.is_empty() {
        return Err(client("Port mappings are not supported when networkMode=none."));
    }
    let mut container_ports = HashSet::new();
    for pm in mappings.iter_mut() {
        let protocol = pm.protocol.get_or_insert_with(|| "tcp".to_owned()).clone();
        if let Some(name) = &pm.name {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if !ok {
                return Err(client(format!(
                    "Invalid port mapping name '{name}' in container '{container}': up to 64 lowercase letters, numbers, hyphens and underscores."
                )));
            }
        }
        if let Some(range) = &pm.container_port_range {
            if mode != "bridge" && mode != "awsvpc" {
                return Err(client("containerPortRange is only supported when networkMode is bridge or awsvpc."));
            }
            if pm.host_port.is_some() || pm.container_port.is_some() {
                return Err(client(
                    "A port mapping with containerPortRange cannot also set containerPort or hostPort.",
                ));
            }
            let parsed =
                range.split_once('-').and_then(|(a, b)| Some((a.parse::<i32>().ok()?, b.parse::<i32>().ok()?)));
            match parsed {
                Some((a, b)) if a >= 1 && a < b && b <= 65535 => continue,
                _ => {
                    return Err(client(format!(
                        "Invalid containerPortRange '{range}': use 'start-end' with 1 <= start < end <= 65535."
                    )));
                }
            }
        }
        let Some(port) = pm.container_port else {
            return Err(client(format!("Invalid port mapping in container '{container}': containerPort is required.")));
        };
        if !(1..=65535).contains(&port) {
            return Err(client(format!(
                "Invalid 'containerPort' setting for container '{container}': {port} is not between 1 and 65535."
            )));
        }
        if !container_ports.insert(port) {
            return Err(client(format!(
                "Container '{container}' maps containerPort {port} more than once. One container port cannot be exposed for two protocols."
            )));
        }
        match mode {
            "awsvpc" | "host" => {
                if pm.host_port.is_some_and(|h| h != 0 && h != port) {
                    return Err(client(format!(
                        "When networkMode={mode}, the host ports and container ports in port mappings must match."
                    )));
                }
                pm.host_port = Some(port);
            }
            _ => {
                if let Some(h) = pm.host_port {
                    if !(0..=65535).contains(&h) {
                        return Err(client(format!(
                            "Invalid 'hostPort' setting for container '{container}': {h} is not between 0 and 65535."
                        )));
                    }
                    if RESERVED_HOST_PORTS.contains(&h) {
                        return Err(client(format!(
                            "Invalid 'hostPort' setting for container '{container}': port {h} is reserved by the ECS agent."
                        )));
                    }
                }
            }
        }
        if let Some(h) = pm.host_port.filter(|h| *h != 0) {
            let proto = if protocol == "udp" { "udp" } else { "tcp" };
            if !host_ports.insert((h, proto.to_owned())) {
                return Err(client(format!(
                    "Host port {h}/{proto} is mapped by more than one port mapping in this task definition."
                )));
            }
        }
    }
    Ok(())
}

fn check_health_check(container: &str, hc: &HealthCheck) -> EcsResult<()> {
    if hc.command.is_empty() {
        return Err(EcsError::client(format!("Invalid healthCheck for container '{container}': command is required.")));
    }
    for (value, what, low, high) in [
        (hc.interval, "interval", 5, 300),
        (hc.timeout, "timeout", 2, 60),
        (hc.retries, "retries", 1, 10),
        (hc.start_period, "startPeriod", 0, 300),
    ] {
        if let Some(v) = value
            && !(low..=high).contains(&v)
        {
            return Err(EcsError::client(format!(
                "Invalid healthCheck for container '{container}': {what} must be between {low} and {high}, got {v}."
            )));
        }
    }
    Ok(())
}

fn check_dependencies(containers: &[ContainerDefinition]) -> EcsResult<()> {
    for c in containers {
        for dep in c.depends_on.iter().flatten() {
            let Some(target) = containers.iter().find(|t| t.name() == dep.container_name) else {
                return Err(EcsError::client(format!(
                    "Container '{}' depends on container '{}', which is not in the task definition.",
                    c.name(),
                    dep.container_name
                )));
            };
            if target.name() == c.name() {
                return Err(EcsError::client(format!("Container '{}' cannot depend on itself.", c.name())));
            }
            match dep.condition.as_str() {
                "START" => {}
                "COMPLETE" | "SUCCESS" if target.is_essential() => {
                    return Err(EcsError::client(format!(
                        "Dependency condition {} cannot be used on essential container '{}'.",
                        dep.condition, dep.container_name
                    )));
                }
                "COMPLETE" | "SUCCESS" => {}
                "HEALTHY" if target.health_check.is_none() => {
                    return Err(EcsError::client(format!(
                        "Dependency condition HEALTHY requires container '{}' to define a healthCheck.",
                        dep.container_name
                    )));
                }
                "HEALTHY" => {}
                other => {
                    return Err(EcsError::client(format!(
                        "Invalid dependency condition '{other}': use START, COMPLETE, SUCCESS or HEALTHY."
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Checks volume names and mount points; returns whether any volume is a host
/// volume with a `sourcePath` (not allowed on Fargate).
fn check_volumes(td: &TaskDefinition) -> EcsResult<bool> {
    let mut names = HashSet::new();
    let mut host_volumes = false;
    for v in &td.volumes {
        let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
        if !name.is_empty() && !names.insert(name.to_owned()) {
            return Err(EcsError::client(format!("Duplicate volume name '{name}'.")));
        }
        if v.pointer("/host/sourcePath").and_then(Value::as_str).is_some() {
            host_volumes = true;
        }
    }
    for c in &td.container_definitions {
        for mp in &c.mount_points {
            if let Some(source) = &mp.source_volume
                && !names.contains(source)
            {
                return Err(EcsError::client(format!(
                    "Invalid 'mountPoints' setting for container '{}': unknown volume '{source}'.",
                    c.name()
                )));
            }
        }
    }
    Ok(host_volumes)
}

/// Tag rules; returns the problem in words, for the caller's exception type.
pub fn tag_problem(tags: &[Tag]) -> Option<String> {
    let mut keys = HashSet::new();
    let user_tags = tags.iter().filter(|t| !is_aws_tag(&t.key)).count();
    if user_tags > MAX_TAGS {
        return Some(format!("A resource can have at most {MAX_TAGS} tags, got {user_tags}."));
    }
    for tag in tags {
        let key_len = tag.key.chars().count();
        if !(1..=128).contains(&key_len) {
            return Some(format!("Tag key '{}' must be 1 to 128 characters long.", tag.key));
        }
        if tag.value.chars().count() > 256 {
            return Some(format!("The value of tag '{}' must be at most 256 characters long.", tag.key));
        }
        let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
        if !tag.key.chars().all(allowed) || !tag.value.chars().all(allowed) {
            return Some(format!(
                "Tag '{}' contains characters outside letters, numbers, spaces and _.:/=+-@.",
                tag.key
            ));
        }
        if is_aws_tag(&tag.key) {
            return Some("Tag keys beginning with 'aws:' are reserved for use by AWS.".to_owned());
        }
        if !keys.insert(tag.key.as_str()) {
            return Some(format!("Duplicate tag key '{}'.", tag.key));
        }
    }
    None
}

/// `aws:` in any case is reserved.
pub fn is_aws_tag(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// Tags given on a create call, as `InvalidParameterException`s.
pub fn check_tags(tags: &[Tag]) -> EcsResult<()> {
    tag_problem(tags).map_or(Ok(()), |p| Err(EcsError::invalid(p)))
}

/// `networkConfiguration.awsvpcConfiguration`: subnets 1–16, security groups
/// ≤ 5, `assignPublicIp` ENABLED or DISABLED.
pub fn check_network_configuration(nc: &NetworkConfiguration) -> EcsResult<()> {
    let Some(vpc) = &nc.awsvpc_configuration else {
        return Err(EcsError::invalid("networkConfiguration.awsvpcConfiguration must be specified."));
    };
    if vpc.subnets.is_empty() {
        return Err(EcsError::invalid("subnets can not be empty."));
    }
    if vpc.subnets.len() > 16 {
        return Err(EcsError::invalid("At most 16 subnets can be specified."));
    }
    if vpc.security_groups.len() > 5 {
        return Err(EcsError::invalid("At most 5 security groups can be specified."));
    }
    if let Some(ip) = &vpc.assign_public_ip
        && ip != "ENABLED"
        && ip != "DISABLED"
    {
        return Err(EcsError::invalid(format!("Invalid assignPublicIp '{ip}': use ENABLED or DISABLED.")));
    }
    Ok(())
}

/// Placement constraints (≤ 10; `distinctInstance` without expression,
/// `memberOf` with one of ≤ 2000 characters).
pub fn check_placement_constraints(constraints: &[PlacementConstraint]) -> EcsResult<()> {
    if constraints.len() > 10 {
        return Err(EcsError::invalid("At most 10 placement constraints can be specified."));
    }
    for c in constraints {
        match (c.r#type.as_deref(), c.expression.as_deref()) {
            (Some("distinctInstance"), None) => {}
            (Some("distinctInstance"), Some(_)) => {
                return Err(EcsError::invalid(
                    "The distinctInstance placement constraint does not take an expression.",
                ));
            }
            (Some("memberOf"), Some(e)) if !e.is_empty() && e.len() <= 2000 => {
                super::query::parse(e)?;
            }
            (Some("memberOf"), _) => {
                return Err(EcsError::invalid(
                    "The memberOf placement constraint needs an expression of at most 2000 characters.",
                ));
            }
            (t, _) => {
                return Err(EcsError::invalid(format!(
                    "Invalid placement constraint type {:?}: use distinctInstance or memberOf.",
                    t.unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

/// Placement strategy rules (≤ 5; random, spread with a field, binpack on cpu
/// or memory).
pub fn check_placement_strategy(strategy: &[PlacementStrategy]) -> EcsResult<()> {
    if strategy.len() > 5 {
        return Err(EcsError::invalid("At most 5 placement strategy rules can be specified."));
    }
    for s in strategy {
        let field = s.field.as_deref();
        match s.r#type.as_deref() {
            Some("random") => {}
            Some("spread") if field.is_some_and(|f| !f.is_empty()) => {}
            Some("binpack") if matches!(field.map(str::to_ascii_lowercase).as_deref(), Some("cpu" | "memory")) => {}
            Some("spread") => return Err(EcsError::invalid("The spread placement strategy needs a field.")),
            Some("binpack") => {
                return Err(EcsError::invalid("The binpack placement strategy field must be cpu or memory."));
            }
            other => {
                return Err(EcsError::invalid(format!(
                    "Invalid placement strategy type {:?}: use random, spread or binpack.",
                    other.unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

/// Capacity provider strategy shape rules (≤ 20 items, weight 0–1000, base
/// 0–100000, at most one base, not all weights zero).
pub fn check_capacity_provider_strategy(items: &[CapacityProviderStrategyItem]) -> EcsResult<()> {
    if items.len() > 20 {
        return Err(EcsError::invalid("A capacity provider strategy can have at most 20 items."));
    }
    let mut names = HashSet::new();
    for item in items {
        if item.capacity_provider.is_empty() {
            return Err(EcsError::invalid(
                "capacityProvider must be specified in every capacity provider strategy item.",
            ));
        }
        if !names.insert(item.capacity_provider.as_str()) {
            return Err(EcsError::invalid(format!(
                "Capacity provider {} appears more than once in the strategy.",
                item.capacity_provider
            )));
        }
        if !(0..=1000).contains(&item.weight) {
            return Err(EcsError::invalid("Capacity provider weight must be between 0 and 1000."));
        }
        if !(0..=100_000).contains(&item.base) {
            return Err(EcsError::invalid("Capacity provider base must be between 0 and 100000."));
        }
    }
    if items.iter().filter(|i| i.base > 0).count() > 1 {
        return Err(EcsError::invalid("Only one capacity provider in a strategy can have a base defined."));
    }
    if !items.is_empty() && items.iter().all(|i| i.weight == 0) {
        return Err(EcsError::invalid(
            "At least one capacity provider in the strategy must have a weight greater than 0.",
        ));
    }
    Ok(())
}

/// Launch types a caller may name directly.
pub fn check_launch_type(launch_type: &str) -> EcsResult<()> {
    match launch_type {
        "EC2" | "FARGATE" | "EXTERNAL" => Ok(()),
        "MANAGED_INSTANCES" => Err(EcsError::invalid(
            "The MANAGED_INSTANCES launch type can only be used through a capacity provider strategy.",
        )),
        other => Err(EcsError::invalid(format!("Invalid launchType '{other}': use EC2, FARGATE or EXTERNAL."))),
    }
}

/// Capacity providers every account has; others would need
/// CreateCapacityProvider, which this emulator does not serve.
pub const BUILTIN_CAPACITY_PROVIDERS: &[&str] = &["FARGATE", "FARGATE_SPOT"];

/// The launch rules that need no cluster: a launch type or a strategy, a
/// known launch type, one the task definition is compatible with. ECS
/// checks them before the network configuration: RunTask with
/// `launchType: FARGATE` on a definition that is not Fargate-compatible
/// answers "Task definition does not support launch_type FARGATE." even
/// when its network configuration is wrong too.
pub fn check_launch_compatibility(
    launch_type: Option<&str>,
    strategy: Option<&[CapacityProviderStrategyItem]>,
    td: &TaskDefinition,
) -> EcsResult<()> {
    if launch_type.is_some() && strategy.is_some_and(|s| !s.is_empty()) {
        return Err(EcsError::invalid(
            "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
        ));
    }
    if let Some(t) = launch_type {
        check_launch_type(t)?;
        if !td.supports(t) {
            return Err(EcsError::invalid(format!("Task definition does not support launch_type {t}.")));
        }
    }
    Ok(())
}

/// Launch type / capacity provider rules shared by CreateService and RunTask;
/// returns the launch type to record, if any.
pub fn check_launch(
    cluster: &Cluster,
    launch_type: Option<&str>,
    strategy: Option<&[CapacityProviderStrategyItem]>,
    td: &TaskDefinition,
) -> EcsResult<()> {
    check_launch_compatibility(launch_type, strategy, td)?;
    let strategy = match strategy {
        Some(s) if !s.is_empty() => s,
        _ if launch_type.is_none() => &cluster.default_capacity_provider_strategy,
        _ => return Ok(()),
    };
    check_capacity_provider_strategy(strategy)?;
    for item in strategy {
        if !cluster.capacity_providers.contains(&item.capacity_provider) {
            return Err(EcsError::invalid(
                "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.",
            ));
        }
        if BUILTIN_CAPACITY_PROVIDERS.contains(&item.capacity_provider.as_str()) && !td.supports("FARGATE") {
            return Err(EcsError::invalid("Task definition does not support launch_type FARGATE."));
        }
    }
    Ok(())
}

/// awsvpc needs a network configuration; other modes refuse one.
pub fn check_network(td: &TaskDefinition, nc: Option<&NetworkConfiguration>) -> EcsResult<()> {
    match (td.effective_network_mode() == "awsvpc", nc) {
        (true, None) => {
            Err(EcsError::invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified."))
        }
        (true, Some(nc)) => check_network_configuration(nc),
        (false, Some(nc)) if nc.awsvpc_configuration.is_some() => Err(EcsError::invalid(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        )),
        _ => Ok(()),
    }
}

/// A service's load balancers: at most five, each naming a container port of
/// the task definition.
pub fn check_load_balancers(lbs: &[LoadBalancer], td: &TaskDefinition) -> EcsResult<()> {
    if lbs.len() > 5 {
        return Err(EcsError::invalid("At most 5 target groups can be attached to a service."));
    }
    for lb in lbs {
        let (Some(name), Some(port)) = (&lb.container_name, lb.container_port) else {
            return Err(EcsError::invalid("A load balancer needs containerName and containerPort."));
        };
        // ECS's wording for both, as users quote the service's answer.
        let Some(container) = td.container_definitions.iter().find(|c| c.name() == name) else {
            return Err(EcsError::invalid(format!("The container {name} does not exist in the task definition.")));
        };
        if !container.port_mappings.iter().any(|pm| pm.container_port == Some(port)) {
            return Err(EcsError::invalid(format!(
                "The container {name} did not have a container port {port} defined."
            )));
        }
    }
    Ok(())
}

/// A member that takes one of a few values.
pub fn check_enum(value: Option<&str>, allowed: &[&str], member: &str) -> EcsResult<()> {
    match value {
        Some(v) if !allowed.contains(&v) => {
            Err(EcsError::invalid(format!("Invalid {member} '{v}': use one of {}.", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_sizes_parse_like_ecs() {
        assert_eq!(parse_task_cpu("256"), Some(256));
        assert_eq!(parse_task_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_task_cpu("0.25 vcpu"), Some(256));
        assert_eq!(parse_task_cpu("abc"), None);
        assert_eq!(parse_task_memory("1GB"), Some(1024));
        assert_eq!(parse_task_memory("2 GB"), Some(2048));
        assert_eq!(parse_task_memory("512"), Some(512));
        assert_eq!(parse_task_memory("-5"), None);
    }

    #[test]
    fn fargate_table() {
        assert!(is_fargate_size(256, 512));
        assert!(!is_fargate_size(256, 4096));
        assert!(is_fargate_size(512, 3072));
        assert!(is_fargate_size(4096, 30720));
        assert!(!is_fargate_size(4096, 4096));
        assert!(is_fargate_size(8192, 20480));
        assert!(!is_fargate_size(8192, 17408));
        assert!(is_fargate_size(16384, 122_880));
        assert!(!is_fargate_size(300, 1024));
    }

    #[test]
    fn tags() {
        let tag = |k: &str, v: &str| Tag { key: k.into(), value: v.into() };
        assert_eq!(tag_problem(&[tag("env", "prod")]), None);
        assert!(tag_problem(&[tag("AWS:x", "1")]).is_some());
        assert!(tag_problem(&[tag("", "1")]).is_some());
        assert!(tag_problem(&[tag("a", "1"), tag("a", "2")]).is_some());
        let many: Vec<_> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(tag_problem(&many).is_some());
    }
}
