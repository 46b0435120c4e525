//! ECS's rules as pure functions of records: what a request may say
//! ([`validation`]), the cluster query language ([`query`]), where a task may
//! and should go ([`placement`]), and which subnet and zone an awsvpc task
//! gets ([`awsvpc`]), and the account settings' names, values and defaults
//! ([`account_settings`]). Nothing here changes the store.

pub mod account_settings;
pub mod awsvpc;
pub mod placement;
pub mod query;
pub mod validation;
