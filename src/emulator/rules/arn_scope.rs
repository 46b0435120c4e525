//! ECS's rule for ARNs in a request: they must be of the caller's region
//! and account. ECS answers an ARN of another region with
//! `InvalidParameterException: Invalid Region in ARN` (what the AWS CLI
//! shows when `--region` and the ARN disagree), whatever the operation;
//! an ARN of another account is refused by IAM before ECS looks, as
//! `AccessDeniedException` (ECS's APIs have no cross-account access).
//!
//! The check reads the raw body once, before any handler: every JSON
//! string that starts with `arn:aws:ecs:` is an ECS ARN the request names
//! (cluster, service, task, task definition, container instance, capacity
//! provider), wherever it sits, so operations added later are covered
//! without a line of their own.

use crate::emulator::state::partitions::Partition;
use crate::emulator::wire::error::{EcsError, ErrorKind};

const ECS_ARN: &[u8] = b"\"arn:aws:ecs:";

/// The first ECS ARN in `body` that is not of `caller`'s partition, as
/// ECS refuses it; `operation` names the action in IAM's message.
pub fn check(body: &[u8], caller: &Partition, operation: &str) -> Result<(), EcsError> {
    let mut rest = body;
    while let Some(at) = find(rest, ECS_ARN) {
        let arn_start = &rest[at + 1..];
        let end = arn_start.iter().position(|b| *b == b'"').unwrap_or(arn_start.len());
        let arn = String::from_utf8_lossy(&arn_start[..end]);
        if let Some(named) = Partition::of_arn(&arn) {
            if named.region != caller.region {
                return Err(EcsError::invalid("Invalid Region in ARN"));
            }
            if named.account != caller.account {
                return Err(EcsError::new(
                    ErrorKind::AccessDeniedException,
                    format!(
                        "User: arn:aws:iam::{}:root is not authorized to perform: ecs:{operation} on resource: {arn} because no resource-based policy allows the ecs:{operation} action",
                        caller.account
                    ),
                ));
            }
        }
        rest = &arn_start[end..];
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_of_the_callers_partition_pass_and_others_are_refused() {
        let caller = Partition::new("111122223333", "us-east-2");
        let ok = br#"{"cluster": "arn:aws:ecs:us-east-2:111122223333:cluster/c", "tags": []}"#;
        assert!(check(ok, &caller, "DescribeClusters").is_ok());
        assert!(check(br#"{"cluster": "c"}"#, &caller, "DescribeClusters").is_ok());
        let region = br#"{"clusters": ["c", "arn:aws:ecs:us-east-1:111122223333:cluster/c"]}"#;
        let err = check(region, &caller, "DescribeClusters").unwrap_err();
        assert_eq!((err.kind, err.message.as_str()), (ErrorKind::InvalidParameterException, "Invalid Region in ARN"));
        let account = br#"{"task": "arn:aws:ecs:us-east-2:999999999999:task/c/0a"}"#;
        let err = check(account, &caller, "StopTask").unwrap_err();
        assert_eq!(err.kind, ErrorKind::AccessDeniedException);
        assert!(err.message.contains("ecs:StopTask on resource: arn:aws:ecs:us-east-2:999999999999:task/c/0a"));
        // Not an ECS ARN: another service's rules.
        assert!(check(br#"{"r": "arn:aws:iam::999999999999:role/x"}"#, &caller, "RunTask").is_ok());
    }
}
