//! Crash injection for the kill-and-restart tests.
//!
//! `ECS_BRIDGE_FAILPOINT=<name>` makes the process abort, as abruptly as a
//! SIGKILL, when it reaches the point of that name. The claim "a crash between
//! the ECS call and the status write never leaves a duplicate" can only be
//! tested by crashing exactly there; a test that kills at a random instant
//! would almost never hit the window. Unset (always, in production), a hit
//! costs one environment lookup.

/// The environment variable that arms a failpoint.
pub const ENV: &str = "ECS_BRIDGE_FAILPOINT";

/// Aborts the process if the failpoint `name` is armed.
pub fn hit(name: &str) {
    if std::env::var(ENV).is_ok_and(|armed| armed == name) {
        eprintln!("ecs-bridge: failpoint {name} reached; aborting");
        std::process::abort();
    }
}
