//! Integration tests against a real kube-apiserver: one control plane for the whole binary
//! (see `support`), one namespace per test. Run `tests/control-plane/install.sh` once first.

mod support;

mod control_plane;
mod crds;
mod dev_mode;
mod finalizer_patch;
mod helm;

mod operator;
mod operator_capacity_provider;
mod operator_cluster;
mod operator_docker;
mod operator_import;
mod operator_logs;
mod operator_runtime;
mod operator_service;
mod operator_service_chaos;
mod operator_service_removal;
mod operator_service_rollout;
mod operator_service_scaling;
mod operator_task;
mod operator_task_definition;
