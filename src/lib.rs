//! ecs-bridge: run Amazon ECS from Kubernetes custom resources.
//!
//! The crate is one library and one binary. Dependencies point one way:
//! [`api`] (resource types) ← [`controller`] (reconcilers) → [`ecs`] (the seam to
//! ECS). The [`emulator`] shares nothing with the controller but the ECS wire
//! protocol. [`control_plane`] starts a real etcd + kube-apiserver for tests and
//! for [`dev`] mode, which runs everything in one process. [`logs`] is `ecs-bridge logs`,
//! reading an object's task output from CloudWatch Logs; [`manifest`] is `ecs-bridge diff`
//! and `ecs-bridge import`, between manifests in Git and ECS. [`shutdown`] (the signals that
//! end a command) and [`tls`] (rustls' crypto provider) serve the controller and dev mode
//! alike.

pub mod api;
pub mod control_plane;
pub mod controller;
pub mod dev;
pub mod ecs;
pub mod emulator;
pub mod logs;
pub mod manifest;
pub mod shutdown;
pub mod tls;
