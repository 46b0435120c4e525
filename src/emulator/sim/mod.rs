//! The living ECS: what happens between requests. The [`scheduler`] ticks and
//! moves tasks through their lifecycle ([`lifecycle`], [`progress`],
//! [`health`], [`fates`], [`load_balancers`]); each service converges
//! ([`deployments`] for the rolling update, [`blue_green`] for ECS's
//! blue/green, linear and canary strategies, [`task_sets`] for EXTERNAL and
//! CODE_DEPLOY services, [`daemon`], all through a [`pass`]) under the
//! [`circuit_breaker`] and deployment [`alarms`], writing
//! its [`events`], deployment [`history`] and count [`timeline`]. [`spot`] and [`chaos`] are the
//! accidents the admin endpoints cause. Application Auto Scaling acts on
//! services' desired counts in [`autoscaling`], reading their load through
//! [`utilisation`]. Capacity providers' Auto Scaling groups grow and shrink
//! in [`capacity_providers`]. Nothing here parses a request.

pub mod alarms;
pub mod autoscaling;
pub mod blue_green;
pub mod capacity;
pub mod capacity_providers;
pub mod chaos;
pub mod circuit_breaker;
pub mod daemon;
pub mod deployments;
pub mod events;
pub mod fates;
pub mod health;
pub mod history;
pub mod instances;
pub mod lifecycle;
pub mod load_balancers;
pub mod managed_daemons;
pub mod metrics;
pub mod pass;
pub mod progress;
pub mod scheduler;
pub mod service_discovery;
pub mod spot;
pub mod task_sets;
pub mod timeline;
pub mod utilisation;
