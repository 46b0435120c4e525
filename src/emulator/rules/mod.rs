//! ECS's rules as pure functions of records: what a request may say
//! ([`validation`]), the cluster query language ([`query`]), where a task may
//! and should go ([`placement`]), and which subnet and zone an awsvpc task
//! gets ([`awsvpc`]), and the account settings' names, values and defaults
//! ([`account_settings`]), capacity providers' settings and cluster auto
//! scaling's arithmetic ([`capacity_providers`]); for Application Auto Scaling, the capacity
//! arithmetic ([`scaling`]) and schedule expressions ([`schedule`]).
//! Whether the ARNs a request names are of the caller's partition:
//! [`arn_scope`]. Nothing here changes the store.

pub mod account_settings;
pub mod arn_scope;
pub mod awsvpc;
pub mod capacity_providers;
pub mod placement;
pub mod query;
pub mod scaling;
pub mod schedule;
pub mod service_registries;
pub mod validation;
