//! In-memory [`ScalingApi`] and [`DiscoveryApi`] for the EcsService reconciler's unit
//! tests: one scalable target per resource ID with its policies and scheduled actions,
//! scripted activities, Cloud Map services by namespace and name with an instance
//! count, and a log of every call.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::discovery::{CloudMapService, CloudMapServiceCreate, DiscoveryApi};
use super::error::EcsError;
use super::scaling::{
    ObservedAction, PolicyConfig, ScalableTarget, ScalingActivity, ScalingApi, ScalingPolicy, TargetRegistration,
};
use crate::api::scaling::ScheduledAction;

#[derive(Default)]
struct Target {
    target: ScalableTarget,
    policies: BTreeMap<String, ScalingPolicy>,
    actions: BTreeMap<String, ObservedAction>,
}

#[derive(Default)]
struct State {
    targets: BTreeMap<String, Target>,
    /// Newest first, as Application Auto Scaling lists them.
    activities: Vec<ScalingActivity>,
    namespaces: BTreeMap<String, String>,
    /// By (namespace ID, name), with the instance count.
    services: BTreeMap<(String, String), (CloudMapService, i32)>,
    calls: Vec<&'static str>,
}

/// The fake.
#[derive(Default)]
pub struct FakeAutoScaling {
    state: Mutex<State>,
}

fn no_target(operation: &'static str, resource_id: &str) -> EcsError {
    EcsError::from_code(operation, "ObjectNotFoundException", format!("No scalable target for {resource_id}"), None)
}

impl FakeAutoScaling {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state, with the call logged.
    fn enter(&self, operation: &'static str) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        state.calls.push(operation);
        state
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.lock().calls.clone()
    }

    /// Records an activity (newest first), as the autoscaler would.
    pub fn scaled(&self, id: &str, desired: i32) {
        self.lock().activities.insert(
            0,
            ScalingActivity {
                id: id.to_owned(),
                description: format!("Setting desired count to {desired}."),
                cause: "monitor alarm TargetTracking-AlarmHigh in state ALARM triggered policy cpu".to_owned(),
                status_code: "Successful".to_owned(),
                start_time: None,
            },
        );
    }

    pub fn add_namespace(&self, name: &str, id: &str) {
        self.lock().namespaces.insert(name.to_owned(), id.to_owned());
    }

    /// A Cloud Map service made outside the reconciler (or by a run that crashed).
    pub fn add_service(&self, service: CloudMapService, instances: i32) {
        let key = (service.namespace_id.clone(), service.name.clone());
        self.lock().services.insert(key, (service, instances));
    }

    pub fn cloud_map_services(&self) -> Vec<CloudMapService> {
        self.lock().services.values().map(|(s, _)| s.clone()).collect()
    }
}

impl ScalingApi for FakeAutoScaling {
    async fn describe_scalable_target(&self, resource_id: &str) -> Result<Option<ScalableTarget>, EcsError> {
        Ok(self.enter("DescribeScalableTargets").targets.get(resource_id).map(|t| t.target.clone()))
    }

    async fn register_scalable_target(&self, input: &TargetRegistration) -> Result<String, EcsError> {
        let mut state = self.enter("RegisterScalableTarget");
        let entry = state.targets.entry(input.resource_id.clone()).or_default();
        entry.target = ScalableTarget {
            arn: Some(format!("arn:target/{}", input.resource_id)),
            min_capacity: input.min_capacity,
            max_capacity: input.max_capacity,
            suspended: input.suspended.flags(),
        };
        Ok(format!("arn:target/{}", input.resource_id))
    }

    async fn deregister_scalable_target(&self, resource_id: &str) -> Result<(), EcsError> {
        // As the SDK seam: a target already gone is deregistered.
        self.enter("DeregisterScalableTarget").targets.remove(resource_id);
        Ok(())
    }

    async fn describe_scaling_policies(&self, resource_id: &str) -> Result<Vec<ScalingPolicy>, EcsError> {
        let state = self.enter("DescribeScalingPolicies");
        Ok(state.targets.get(resource_id).map(|t| t.policies.values().cloned().collect()).unwrap_or_default())
    }

    async fn put_scaling_policy(&self, resource_id: &str, policy: &PolicyConfig) -> Result<String, EcsError> {
        let mut state = self.enter("PutScalingPolicy");
        let target = state.targets.get_mut(resource_id).ok_or_else(|| no_target("PutScalingPolicy", resource_id))?;
        let arn = format!("arn:policy/{resource_id}/{}", policy.name());
        target.policies.insert(
            policy.name().to_owned(),
            ScalingPolicy {
                name: policy.name().to_owned(),
                arn: arn.clone(),
                policy_type: policy.policy_type().to_owned(),
                config: Some(policy.clone()),
            },
        );
        Ok(arn)
    }

    async fn delete_scaling_policy(&self, resource_id: &str, name: &str) -> Result<(), EcsError> {
        let mut state = self.enter("DeleteScalingPolicy");
        state.targets.get_mut(resource_id).and_then(|t| t.policies.remove(name));
        Ok(())
    }

    async fn describe_scheduled_actions(&self, resource_id: &str) -> Result<Vec<ObservedAction>, EcsError> {
        let state = self.enter("DescribeScheduledActions");
        Ok(state.targets.get(resource_id).map(|t| t.actions.values().cloned().collect()).unwrap_or_default())
    }

    async fn put_scheduled_action(&self, resource_id: &str, action: &ScheduledAction) -> Result<(), EcsError> {
        let mut state = self.enter("PutScheduledAction");
        let target = state.targets.get_mut(resource_id).ok_or_else(|| no_target("PutScheduledAction", resource_id))?;
        let arn = format!("arn:action/{resource_id}/{}", action.scheduled_action_name);
        target.actions.insert(action.scheduled_action_name.clone(), ObservedAction { arn, action: action.clone() });
        Ok(())
    }

    async fn delete_scheduled_action(&self, resource_id: &str, name: &str) -> Result<(), EcsError> {
        let mut state = self.enter("DeleteScheduledAction");
        state.targets.get_mut(resource_id).and_then(|t| t.actions.remove(name));
        Ok(())
    }

    async fn describe_scaling_activities(&self, _resource_id: &str) -> Result<Vec<ScalingActivity>, EcsError> {
        Ok(self.enter("DescribeScalingActivities").activities.clone())
    }
}

impl DiscoveryApi for FakeAutoScaling {
    async fn namespace_id_by_name(&self, name: &str) -> Result<Option<String>, EcsError> {
        Ok(self.enter("servicediscovery:ListNamespaces").namespaces.get(name).cloned())
    }

    async fn find_service(&self, namespace_id: &str, name: &str) -> Result<Option<CloudMapService>, EcsError> {
        let state = self.enter("servicediscovery:ListServices");
        Ok(state.services.get(&(namespace_id.to_owned(), name.to_owned())).map(|(s, _)| s.clone()))
    }

    async fn create_service(&self, input: &CloudMapServiceCreate) -> Result<CloudMapService, EcsError> {
        let mut state = self.enter("servicediscovery:CreateService");
        let key = (input.namespace_id.clone(), input.name.clone());
        if state.services.contains_key(&key) {
            return Err(EcsError::from_code(
                "servicediscovery:CreateService",
                "ServiceAlreadyExists",
                "Service already exists".to_owned(),
                None,
            ));
        }
        let id = format!("srv-{}", state.services.len() + 1);
        let service = CloudMapService {
            arn: format!("arn:aws:servicediscovery:us-east-1:123456789012:service/{id}"),
            id,
            name: input.name.clone(),
            namespace_id: input.namespace_id.clone(),
            creator_request_id: Some(input.creator_request_id.clone()),
        };
        state.services.insert(key, (service.clone(), 0));
        Ok(service)
    }

    async fn delete_service(&self, id: &str) -> Result<(), EcsError> {
        let mut state = self.enter("servicediscovery:DeleteService");
        if state.services.values().any(|(s, n)| s.id == id && *n > 0) {
            return Err(EcsError::from_code(
                "servicediscovery:DeleteService",
                "ResourceInUse",
                "Service has registered instances".to_owned(),
                None,
            ));
        }
        state.services.retain(|_, (s, _)| s.id != id);
        Ok(())
    }

    async fn count_instances(&self, service_id: &str) -> Result<i32, EcsError> {
        let state = self.enter("servicediscovery:ListInstances");
        state.services.values().find(|(s, _)| s.id == service_id).map(|(_, n)| *n).ok_or_else(|| {
            EcsError::from_code("servicediscovery:ListInstances", "ServiceNotFound", "no service".to_owned(), None)
        })
    }
}
