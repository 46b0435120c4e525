//! Integration tests of the ECS emulator: each test starts an emulator on an
//! ephemeral loopback port and drives it over real HTTP with the real
//! `aws-sdk-ecs` client (or raw requests, the AWS CLI, a child process).

mod account_settings;
mod agent_calls;
mod alarms;
mod autoscaling;
mod availability_zones;
mod aws_cli;
mod blue_green;
mod capacity_providers;
mod circuit_breaker;
mod cli;
mod cloudwatch;
mod clusters;
mod console;
mod container_instances;
mod coverage;
mod credentials;
mod daemons;
mod deployments;
mod docker;
mod error_shapes;
mod execute_command;
mod faults;
mod fuzz;
mod gateways;
mod invariants;
mod limits;
mod load_balancers;
mod namespaces;
mod persistence;
mod placement_strategies;
mod protocol;
mod regions;
mod scheduler;
mod service_discovery;
mod services;
mod spot;
mod support;
mod tags;
mod task_definitions;
mod task_protection;
mod task_sets;
mod tasks;
