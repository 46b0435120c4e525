//! The tags of the records that live beside the clusters (daemons, daemon
//! task definitions, gateways, Express gateway services), for the tag
//! operations, which find every other resource in its cluster.

use crate::emulator::state::Store;
use crate::emulator::state::daemons::DaemonChange;
use crate::emulator::state::gateways::GatewayChange;
use crate::emulator::state::ids::Arns;
use crate::emulator::state::locks::read;
use crate::emulator::state::records::Tag;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// An edit of a tag list that may refuse (tag limits).
pub type TagEdit<'a> = &'a dyn Fn(&mut Vec<Tag>) -> EcsResult<()>;

fn not_found() -> EcsError {
    EcsError::new(ErrorKind::ResourceNotFoundException, "The specified resource could not be found.")
}

/// Runs `edit` on a list, when there is an edit.
fn edited(mut tags: Vec<Tag>, edit: Option<TagEdit<'_>>) -> EcsResult<(Vec<Tag>, bool)> {
    match edit {
        Some(edit) => {
            edit(&mut tags)?;
            Ok((tags, true))
        }
        None => Ok((tags, false)),
    }
}

impl Store {
    /// Applies `edit` (None: reads) to the tags of the record `arn` names,
    /// durably, and returns them; None when `arn` names none of these
    /// records (an Express service's ARN is a service's: only one that
    /// exists is taken here).
    pub fn tags_beside_clusters(&self, arn: &str, edit: Option<TagEdit<'_>>) -> Option<EcsResult<Vec<Tag>>> {
        let kind = Arns::resource_of(arn)?.split('/').next()?;
        match kind {
            "daemon" => Some(self.change_daemons(|records, _| {
                let mut daemon = records.daemons.get(arn).ok_or_else(not_found)?.clone();
                let (tags, changed) = edited(daemon.tags.clone(), edit)?;
                daemon.tags = tags.clone();
                Ok((tags, if changed { vec![DaemonChange::PutDaemon { daemon }] } else { Vec::new() }))
            })),
            "daemon-task-definition" => Some(self.change_daemons(|records, _| {
                let mut definition = records.task_definition(arn, false).ok_or_else(not_found)?.clone();
                let (tags, changed) = edited(definition.tags.clone(), edit)?;
                definition.tags = tags.clone();
                Ok((tags, if changed { vec![DaemonChange::PutTaskDefinition { definition }] } else { Vec::new() }))
            })),
            "gateway" => Some(self.change_gateways(|records| {
                let mut gateway = records.gateways.get(arn).ok_or_else(not_found)?.clone();
                let (tags, changed) = edited(gateway.tags.clone(), edit)?;
                gateway.tags = tags.clone();
                Ok((tags, if changed { vec![GatewayChange::PutGateway { gateway }] } else { Vec::new() }))
            })),
            "service" if read(&self.gateways).express_services.contains_key(arn) => {
                Some(self.change_gateways(|records| {
                    let mut service = records.express_services.get(arn).ok_or_else(not_found)?.clone();
                    let (tags, changed) = edited(service.tags.clone(), edit)?;
                    service.tags = tags.clone();
                    Ok((tags, if changed { vec![GatewayChange::PutExpressService { service }] } else { Vec::new() }))
                }))
            }
            _ => None,
        }
    }
}
