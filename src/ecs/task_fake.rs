//! An in-memory [`EcsTaskApi`] for the EcsTask reconciler's unit tests: ECS's
//! rules as far as the reconciler relies on them (a `clientToken` seen before
//! starts nothing and answers the same tasks, StopTask on a stopped task is no
//! error), a log of every call, scripted failures, and hooks to play the
//! scheduler (run, finish or fail a task).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use k8s_openapi::jiff::Timestamp;

use super::error::EcsError;
use super::operations::BatchFailure;
use super::task::{
    ContainerDescription, DescribedTasks, EcsTaskApi, Launched, TaskDefinitionContainers, TaskDescription, TaskRun,
};

const ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:123456789012";

#[derive(Default)]
struct State {
    definitions: BTreeMap<String, TaskDefinitionContainers>,
    tasks: BTreeMap<String, TaskDescription>,
    started_by: HashMap<String, String>,
    tokens: HashMap<String, Vec<String>>,
    calls: Vec<&'static str>,
    failures: HashMap<&'static str, VecDeque<EcsError>>,
    /// Placement failures the next RunTask answers instead of tasks.
    unplaceable: Option<String>,
    next_id: u64,
}

/// The fake.
#[derive(Default)]
pub struct FakeTasks {
    state: Mutex<State>,
}

impl FakeTasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(&self, operation: &'static str) -> Result<std::sync::MutexGuard<'_, State>, EcsError> {
        let mut state = self.lock();
        state.calls.push(operation);
        if let Some(err) = state.failures.get_mut(operation).and_then(VecDeque::pop_front) {
            return Err(err);
        }
        Ok(state)
    }

    /// Registers a revision: `family` (and `family:revision`) resolve to it.
    pub fn register(&self, family: &str, revision: i32, essential: &[&str]) {
        let arn = format!("{ARN_PREFIX}:task-definition/{family}:{revision}");
        let containers = TaskDefinitionContainers {
            arn: arn.clone(),
            essential: essential.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut state = self.lock();
        for key in [family.to_owned(), format!("{family}:{revision}"), arn] {
            state.definitions.insert(key, containers.clone());
        }
    }

    /// Makes the next call of `operation` fail with `error`.
    pub fn fail_next(&self, operation: &'static str, error: EcsError) {
        self.lock().failures.entry(operation).or_default().push_back(error);
    }

    /// Makes the next RunTask place nothing, reporting `reason`.
    pub fn next_run_unplaceable(&self, reason: &str) {
        self.lock().unplaceable = Some(reason.to_owned());
    }

    pub fn count(&self, operation: &str) -> usize {
        self.lock().calls.iter().filter(|c| **c == operation).count()
    }

    pub fn forget_calls(&self) {
        self.lock().calls.clear();
    }

    /// Every task ever started, by ARN.
    pub fn tasks(&self) -> Vec<TaskDescription> {
        self.lock().tasks.values().cloned().collect()
    }

    /// Changes a task as the scheduler would.
    pub fn edit(&self, arn: &str, edit: impl FnOnce(&mut TaskDescription)) {
        if let Some(task) = self.lock().tasks.get_mut(arn) {
            edit(task);
        }
    }

    /// Plays the scheduler: the task is RUNNING.
    pub fn run(&self, arn: &str, at: Timestamp) {
        self.edit(arn, |task| {
            task.last_status = "RUNNING".into();
            task.started_at = Some(at);
            for c in &mut task.containers {
                c.last_status = Some("RUNNING".into());
            }
        });
    }

    /// Plays the scheduler: every container exited with `exit_code` and the task
    /// stopped (`EssentialContainerExited`).
    pub fn exit(&self, arn: &str, exit_code: i32, at: Timestamp) {
        self.edit(arn, |task| {
            task.last_status = "STOPPED".into();
            task.desired_status = Some("STOPPED".into());
            task.stop_code = Some("EssentialContainerExited".into());
            task.stopped_reason = Some("Essential container in task exited".into());
            task.stopped_at = Some(at);
            for c in &mut task.containers {
                c.last_status = Some("STOPPED".into());
                c.exit_code = Some(exit_code);
            }
        });
    }

    /// Forgets a task, as ECS does an hour after it stopped.
    pub fn purge(&self, arn: &str) {
        self.lock().tasks.remove(arn);
    }
}

impl EcsTaskApi for FakeTasks {
    async fn task_definition_containers(
        &self,
        task_definition: &str,
    ) -> Result<Option<TaskDefinitionContainers>, EcsError> {
        let state = self.enter("DescribeTaskDefinition")?;
        Ok(state.definitions.get(task_definition).cloned())
    }

    async fn run_task(&self, input: &TaskRun) -> Result<Launched, EcsError> {
        let mut state = self.enter("RunTask")?;
        if let Some(arns) = state.tokens.get(&input.client_token) {
            let tasks = arns.iter().filter_map(|a| state.tasks.get(a).cloned()).collect();
            return Ok(Launched { tasks, failures: Vec::new() });
        }
        let Some(definition) = state.definitions.get(&input.task_definition).cloned() else {
            return Err(EcsError::from_code(
                "RunTask",
                "ClientException",
                "TaskDefinition not found.".to_owned(),
                Some(400),
            ));
        };
        if let Some(reason) = state.unplaceable.take() {
            let failures =
                (0..input.spec.count).map(|_| BatchFailure { arn: None, reason: reason.clone(), detail: None });
            return Ok(Launched { tasks: Vec::new(), failures: failures.collect() });
        }
        let mut launched = Vec::new();
        for _ in 0..input.spec.count {
            state.next_id += 1;
            let arn = format!("{ARN_PREFIX}:task/{}/{:032x}", input.cluster, state.next_id);
            let task = TaskDescription {
                arn: arn.clone(),
                last_status: "PROVISIONING".into(),
                desired_status: Some("RUNNING".into()),
                containers: definition
                    .essential
                    .iter()
                    .map(|name| ContainerDescription {
                        name: name.clone(),
                        last_status: Some("PENDING".into()),
                        ..ContainerDescription::default()
                    })
                    .collect(),
                ..TaskDescription::default()
            };
            state.tasks.insert(arn.clone(), task.clone());
            state.started_by.insert(arn.clone(), input.started_by.clone());
            launched.push(task);
        }
        state.tokens.insert(input.client_token.clone(), launched.iter().map(|t| t.arn.clone()).collect());
        Ok(Launched { tasks: launched, failures: Vec::new() })
    }

    async fn describe_tasks(&self, _cluster: &str, arns: &[String]) -> Result<DescribedTasks, EcsError> {
        let state = self.enter("DescribeTasks")?;
        let mut described = DescribedTasks::default();
        for arn in arns {
            match state.tasks.get(arn) {
                Some(task) => described.tasks.push(task.clone()),
                None => described.missing.push(arn.clone()),
            }
        }
        Ok(described)
    }

    async fn stop_task(&self, _cluster: &str, arn: &str, reason: &str) -> Result<(), EcsError> {
        let mut state = self.enter("StopTask")?;
        let task = state.tasks.get_mut(arn).ok_or_else(|| {
            EcsError::from_code(
                "StopTask",
                "InvalidParameterException",
                "The referenced task was not found.".into(),
                None,
            )
        })?;
        if task.desired_status.as_deref() != Some("STOPPED") {
            task.desired_status = Some("STOPPED".into());
            task.stop_code = Some("UserInitiated".into());
            task.stopped_reason = Some(reason.to_owned());
        }
        Ok(())
    }

    async fn list_running_tasks(&self, _cluster: &str, started_by: &str) -> Result<Vec<String>, EcsError> {
        let state = self.enter("ListTasks")?;
        Ok(state
            .tasks
            .values()
            .filter(|t| t.desired_status.as_deref() == Some("RUNNING"))
            .filter(|t| state.started_by.get(&t.arn).is_some_and(|s| s == started_by))
            .map(|t| t.arn.clone())
            .collect())
    }
}
