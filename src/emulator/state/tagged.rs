//! The tags of the records that live beside the clusters (daemons, daemon
//! task definitions, gateways, Express gateway services), for the tag
//! operations, which find every other resource in its cluster: an edit of a
//! record's tag list, and what a missing record answers.

use crate::emulator::state::records::Tag;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// An edit of a tag list that may refuse (tag limits).
pub type TagEdit<'a> = &'a dyn Fn(&mut Vec<Tag>) -> EcsResult<()>;

/// What the tag operations answer for an ARN that names no record.
pub fn not_found() -> EcsError {
    EcsError::new(ErrorKind::ResourceNotFoundException, "The specified resource could not be found.")
}

/// `tags` after `edit` (None: as they are), and whether they were edited.
pub fn edited(mut tags: Vec<Tag>, edit: Option<TagEdit<'_>>) -> EcsResult<(Vec<Tag>, bool)> {
    match edit {
        Some(edit) => {
            edit(&mut tags)?;
            Ok((tags, true))
        }
        None => Ok((tags, false)),
    }
}
