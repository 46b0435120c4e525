//! Failure rules added through `POST /_emulator/failure-rules`: which tasks
//! they match and what they do to them. The store holds them; the
//! simulation ([`crate::emulator::sim::fates`]) turns them into each task's fate.

use serde::{Deserialize, Serialize};

use crate::emulator::state::records::ContainerDefinition;

/// A failure rule added through the admin endpoint. Every given matcher
/// must match; effects are those of the environment variables above.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailureRule {
    #[serde(default)]
    pub id: String,
    /// Cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Service name (only that service's tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Task-definition family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Container name (default: every container of matching tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Image, exactly as in the container definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_after_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_health_check_after_seconds: Option<f64>,
    #[serde(default)]
    pub cannot_pull: bool,
    /// The load balancer's health checks of the matching containers'
    /// targets fail from the start (or from
    /// `failTargetHealthCheckAfterSeconds`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fail_target_health_check: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_target_health_check_after_seconds: Option<f64>,
    /// The HTTP status code those failing checks get (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

impl FailureRule {
    /// Whether the rule has any effect at all (a rule without one is refused).
    pub fn has_effect(&self) -> bool {
        self.exit_code.is_some()
            || self.exit_after_seconds.is_some()
            || self.fail_health_check_after_seconds.is_some()
            || self.cannot_pull
            || self.fail_target_health_check
            || self.fail_target_health_check_after_seconds.is_some()
    }

    pub fn matches(&self, task: &TaskContext, container: &ContainerDefinition) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| Some(w) == have);
        eq(&self.cluster, Some(task.cluster))
            && eq(&self.service, task.service)
            && eq(&self.family, Some(task.family))
            && eq(&self.container, container.name.as_deref())
            && eq(&self.image, container.image.as_deref())
    }
}

/// Which task the fates are being decided for.
pub struct TaskContext<'a> {
    pub cluster: &'a str,
    pub service: Option<&'a str>,
    pub family: &'a str,
}
