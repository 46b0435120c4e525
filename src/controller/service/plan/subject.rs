//! The object being reconciled and the task definition its spec resolves to, as the
//! decisions need them.

use crate::api::service::{EcsServiceSpec, EcsServiceStatus};
use crate::controller::status::Judgement;

use super::reason;

/// The object being reconciled, as the engine needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub generation: Option<i64>,
    pub service_name: String,
    pub spec: &'a EcsServiceSpec,
    pub status: EcsServiceStatus,
    /// The object carries the adoption annotation.
    pub adopt: bool,
}

/// The task definition to run, as resolved from the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskDefinition {
    /// A revision ARN (from a reference) or the spec's own string.
    Resolved(String),
    /// `taskDefinitionRef` names an object that does not exist.
    NotFound(String),
    /// The referenced object has no ready revision; the message says why.
    NotReady(String),
}

impl TaskDefinition {
    /// The task definition to run, or why there is none yet (in `namespace`).
    pub fn wanted(&self, namespace: &str) -> (Option<String>, Option<Judgement>) {
        match self {
            TaskDefinition::Resolved(td) => (Some(td.clone()), None),
            TaskDefinition::NotFound(name) => (
                None,
                Some(Judgement::no(
                    reason::TASK_DEFINITION_NOT_FOUND,
                    format!("EcsTaskDefinition {name} does not exist in namespace {namespace}"),
                )),
            ),
            TaskDefinition::NotReady(message) => {
                (None, Some(Judgement::no(reason::TASK_DEFINITION_NOT_READY, message.clone())))
            }
        }
    }
}
