//! The emulator's state is split by (account, region), as AWS splits it: a
//! cluster of `us-east-2` is not in `us-east-1`, nor one of account
//! `111111111111` in `222222222222`. This file names a partition and says
//! which names are a region or an account; the stores of the partitions
//! are `Partitions` in the state's `mod.rs`.
//!
//! Which partition a request is in is the server's decision (the SigV4
//! credential scope's region, and a 12-digit access key id as the
//! account); the default one is `--account-id` in `--region`.

use serde::{Deserialize, Serialize};

/// One account in one region.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Partition {
    pub account: String,
    pub region: String,
}

impl Partition {
    pub fn new(account: &str, region: &str) -> Self {
        Self { account: account.to_owned(), region: region.to_owned() }
    }

    /// The partition of an ARN (`arn:aws:SERVICE:REGION:ACCOUNT:...`), when
    /// it names both.
    pub fn of_arn(arn: &str) -> Option<Self> {
        let mut parts = arn.strip_prefix("arn:")?.splitn(5, ':');
        let (_aws, _service, region, account) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        (!region.is_empty() && !account.is_empty()).then(|| Self::new(account, region))
    }
}

/// Whether `region` looks like an AWS region name (`us-east-1`,
/// `eu-central-2`, `us-gov-west-1`): lowercase words and a number, joined by
/// hyphens. Anything else in a credential scope is not taken as a region.
pub fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= 32
        && parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Whether an access key id selects an account: twelve digits, as
/// LocalStack and moto read it.
pub fn is_account_id(key: &str) -> bool {
    key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::state::ids::Arns;

    #[test]
    fn regions_and_accounts_are_recognised() {
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(is_region("eu-central-2"));
        assert!(!is_region("US-EAST-1"));
        assert!(!is_region("local"));
        assert!(!is_region("us--1"));
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("AKIDEXAMPLE"));
        assert!(!is_account_id("11112222333"));
    }

    #[test]
    fn an_arn_names_its_partition() {
        let arns = Arns::new("eu-west-1", "111122223333");
        assert_eq!(Partition::of_arn(&arns.cluster("c")), Some(Partition::new("111122223333", "eu-west-1")));
        assert_eq!(Partition::of_arn("arn:aws:iam::111122223333:root"), None);
        assert_eq!(Partition::of_arn("cluster/c"), None);
    }
}
