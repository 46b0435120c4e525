//! Gateways, their cluster associations and Express gateway services: what
//! the requests asked for, as ECS shows it. Nothing here runs a load
//! balancer; the README lists what is stored but not simulated. Every write
//! is a [`GatewayChange`], journaled whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emulator::state::records::{Tag, Timestamp};
use crate::emulator::state::tagged::{TagEdit, edited, not_found};
use crate::emulator::wire::error::EcsResult;

/// A gateway (ECS's `Gateway` shape, rendered by the API).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateway {
    pub gateway_arn: String,
    pub name: String,
    /// ACTIVE, UPDATE_IN_PROGRESS (until `settles_at`), DELETED.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settles_at: Option<Timestamp>,
    pub infrastructure_role_arn: String,
    pub deletion_protection: bool,
    /// The `hostSharedAlb` configuration as described.
    pub configuration: Value,
    pub access_type: String,
    pub propagate_tags: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A gateway associated with a cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Association {
    pub gateway_arn: String,
    pub cluster_arn: String,
    pub status: String,
}

/// An Express gateway service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpressService {
    pub service_arn: String,
    pub service_name: String,
    pub cluster: String,
    pub cluster_arn: String,
    pub infrastructure_role_arn: String,
    /// ACTIVE, DRAINING (until `settles_at`), INACTIVE.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settles_at: Option<Timestamp>,
    pub current_deployment: String,
    /// The `ExpressGatewayServiceConfiguration` in effect.
    pub configuration: Value,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// All gateway records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateways {
    /// By ARN.
    pub gateways: BTreeMap<String, Gateway>,
    /// By `gatewayArn|clusterArn`.
    pub associations: BTreeMap<String, Association>,
    /// By service ARN.
    pub express_services: BTreeMap<String, ExpressService>,
}

/// One write to the gateway records.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum GatewayChange {
    PutGateway { gateway: Gateway },
    PutAssociation { association: Association },
    RemoveAssociation { gateway_arn: String, cluster_arn: String },
    PutExpressService { service: ExpressService },
}

/// The key of an association.
pub fn association_key(gateway_arn: &str, cluster_arn: &str) -> String {
    format!("{gateway_arn}|{cluster_arn}")
}

impl Gateways {
    pub fn apply(&mut self, change: GatewayChange) {
        match change {
            GatewayChange::PutGateway { gateway } => {
                self.gateways.insert(gateway.gateway_arn.clone(), gateway);
            }
            GatewayChange::PutAssociation { association } => {
                let key = association_key(&association.gateway_arn, &association.cluster_arn);
                self.associations.insert(key, association);
            }
            GatewayChange::RemoveAssociation { gateway_arn, cluster_arn } => {
                self.associations.remove(&association_key(&gateway_arn, &cluster_arn));
            }
            GatewayChange::PutExpressService { service } => {
                self.express_services.insert(service.service_arn.clone(), service);
            }
        }
    }

    /// The tags of the gateway or Express service `arn` names, after
    /// `edit`, and the write that keeps them.
    pub fn tagged(&self, arn: &str, edit: Option<TagEdit<'_>>) -> EcsResult<(Vec<Tag>, Vec<GatewayChange>)> {
        if let Some(gateway) = self.gateways.get(arn) {
            let (tags, changed) = edited(gateway.tags.clone(), edit)?;
            let gateway = Gateway { tags: tags.clone(), ..gateway.clone() };
            return Ok((tags, if changed { vec![GatewayChange::PutGateway { gateway }] } else { Vec::new() }));
        }
        let service = self.express_services.get(arn).ok_or_else(not_found)?;
        let (tags, changed) = edited(service.tags.clone(), edit)?;
        let service = ExpressService { tags: tags.clone(), ..service.clone() };
        Ok((tags, if changed { vec![GatewayChange::PutExpressService { service }] } else { Vec::new() }))
    }

    /// The gateway a name or ARN names, deleted ones included.
    pub fn gateway(&self, reference: &str) -> Option<&Gateway> {
        self.gateways.get(reference).or_else(|| {
            // A name names the live gateway of that name, else the last deleted one.
            let named = self.gateways.values().filter(|g| g.name == reference);
            named.clone().find(|g| g.status != "DELETED").or_else(|| named.max_by_key(|g| g.created_at))
        })
    }
}

/// A status that moves on by itself once `settles_at` has passed
/// (`UPDATE_IN_PROGRESS` → `UPDATE_COMPLETE`, `DRAINING` → `INACTIVE`).
pub fn settled(status: &str, settles_at: Option<Timestamp>, now: Timestamp, then: &str) -> String {
    match settles_at {
        Some(at) if now >= at => then.to_owned(),
        _ => status.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_settles_once_its_time_has_come() {
        let at = Some(Timestamp(1_000));
        assert_eq!(settled("UPDATE_IN_PROGRESS", at, Timestamp(999), "UPDATE_COMPLETE"), "UPDATE_IN_PROGRESS");
        assert_eq!(settled("UPDATE_IN_PROGRESS", at, Timestamp(1_000), "UPDATE_COMPLETE"), "UPDATE_COMPLETE");
        assert_eq!(settled("ACTIVE", None, Timestamp(5_000), "UPDATE_COMPLETE"), "ACTIVE");
    }

    fn gateway(name: &str, arn: &str, status: &str, created: i64) -> Gateway {
        Gateway {
            gateway_arn: arn.into(),
            name: name.into(),
            status: status.into(),
            settles_at: None,
            infrastructure_role_arn: String::new(),
            deletion_protection: false,
            configuration: Value::Null,
            access_type: "PUBLIC".into(),
            propagate_tags: "GATEWAY".into(),
            tags: Vec::new(),
            client_token: None,
            created_at: Timestamp(created),
            updated_at: Timestamp(created),
        }
    }

    #[test]
    fn a_name_names_the_live_gateway_before_deleted_ones() {
        let mut records = Gateways::default();
        for g in [gateway("edge", "arn:1", "DELETED", 1), gateway("edge", "arn:2", "ACTIVE", 2)] {
            records.apply(GatewayChange::PutGateway { gateway: g });
        }
        assert_eq!(records.gateway("edge").map(|g| g.gateway_arn.as_str()), Some("arn:2"));
        assert_eq!(records.gateway("arn:1").map(|g| g.status.as_str()), Some("DELETED"));
        assert!(records.gateway("other").is_none());
    }
}
