//! ECS's request throttling: a token bucket per API category, shared by
//! every action of the category (see "Request throttling for the Amazon ECS API",
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/request-throttling.html>). Off by default; `--throttling`
//! or `POST /_emulator/throttling {"enabled": true}` turns it on. Buckets
//! refill on the emulator's clock, so on a manual clock a test decides
//! exactly when tokens come back. Over the limit ⇒ `ThrottlingException:
//! Rate exceeded`.

use std::collections::HashMap;

/// One category's limits: burst (bucket size) and refill per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub category: &'static str,
    pub burst: f64,
    pub refill_per_second: f64,
}

const fn limit(category: &'static str, burst: f64, refill_per_second: f64) -> Limit {
    Limit { category, burst, refill_per_second }
}

/// The category of an operation, as ECS documents them; `None` for
/// operations ECS does not list (not throttled).
pub fn limit_of(operation: &str) -> Option<Limit> {
    Some(match operation {
        "CreateCluster"
        | "DeleteCluster"
        | "PutClusterCapacityProviders"
        | "UpdateCluster"
        | "UpdateClusterSettings" => limit("ClusterModify", 20.0, 1.0),
        "DescribeClusters" | "ListClusters" => limit("ClusterRead", 50.0, 20.0),
        "RegisterTaskDefinition" | "DeregisterTaskDefinition" => limit("TaskDefinitionModify", 20.0, 1.0),
        "DescribeTaskDefinition" | "ListTaskDefinitions" | "ListTaskDefinitionFamilies" => {
            limit("TaskDefinitionRead", 50.0, 20.0)
        }
        "DeleteTaskDefinitions" => limit("TaskDefinitionDelete", 5.0, 1.0),
        "CreateCapacityProvider" | "UpdateCapacityProvider" | "DeleteCapacityProvider" => {
            limit("CapacityProviderModify", 10.0, 1.0)
        }
        "DescribeCapacityProviders" => limit("CapacityProviderRead", 50.0, 20.0),
        "TagResource" | "UntagResource" => limit("TagModify", 20.0, 10.0),
        "ListTagsForResource" => limit("TagRead", 50.0, 20.0),
        "PutAccountSetting" | "PutAccountSettingDefault" | "DeleteAccountSetting" => limit("SettingModify", 10.0, 1.0),
        "ListAccountSettings" => limit("SettingRead", 50.0, 20.0),
        "RunTask"
        | "StartTask"
        | "StopTask"
        | "PutAttributes"
        | "DeleteAttributes"
        | "DeregisterContainerInstance"
        | "ExecuteCommand"
        | "UpdateContainerAgent"
        | "UpdateContainerInstancesState" => limit("ClusterResourceModify", 100.0, 40.0),
        "DescribeTasks" | "ListTasks" | "DescribeContainerInstances" | "ListContainerInstances" | "ListAttributes" => {
            limit("ClusterResourceRead", 100.0, 20.0)
        }
        "RegisterContainerInstance"
        | "SubmitTaskStateChange"
        | "SubmitContainerStateChange"
        | "SubmitAttachmentStateChanges" => limit("AgentModify", 200.0, 120.0),
        "CreateService" | "UpdateService" | "DeleteService" => limit("ServiceModify", 50.0, 5.0),
        "DescribeServices" | "ListServices" => limit("ServiceRead", 100.0, 20.0),
        "DescribeServiceDeployments" | "ListServiceDeployments" | "DescribeServiceRevisions" => {
            limit("ServiceDeploymentRead", 50.0, 20.0)
        }
        "GetTaskProtection" | "UpdateTaskProtection" => limit("TaskProtection", 200.0, 80.0),
        "ListServicesByNamespace" => limit("ClusterServiceResourceRead", 10.0, 1.0),
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at_millis: i64,
}

/// The buckets of one account and region.
#[derive(Debug, Default)]
pub struct Buckets {
    buckets: HashMap<&'static str, Bucket>,
}

impl Buckets {
    /// Takes a token for `operation` at `now_millis`; false when throttled.
    pub fn take(&mut self, operation: &str, now_millis: i64) -> bool {
        let Some(limit) = limit_of(operation) else { return true };
        let bucket =
            self.buckets.entry(limit.category).or_insert(Bucket { tokens: limit.burst, at_millis: now_millis });
        let elapsed = (now_millis - bucket.at_millis).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * limit.refill_per_second).min(limit.burst);
        bucket.at_millis = bucket.at_millis.max(now_millis);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_shares_one_bucket_that_refills_over_time() {
        let mut b = Buckets::default();
        // Service modify: burst 50, 5 per second.
        for i in 0..50 {
            let op = if i % 2 == 0 { "CreateService" } else { "UpdateService" };
            assert!(b.take(op, 0), "request {i}");
        }
        assert!(!b.take("DeleteService", 0));
        assert!(b.take("DescribeServices", 0), "another category");
        assert!(!b.take("UpdateService", 199));
        assert!(b.take("UpdateService", 200), "one token after 0.2 s");
        assert!(!b.take("UpdateService", 200));
        assert!(b.take("NotAnOperation", 0));
    }
}
