//! CloudWatch Logs' records: log groups, their streams and the events in
//! them, as the Logs API ([`crate::emulator::api`]) and the awslogs driver of
//! the Docker runtime write them. Account-wide, under one lock; every write
//! is a [`LogChange`], journaled with the rest of the state under
//! `--state-dir`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::emulator::state::records::Timestamp;

/// One event of a stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub timestamp: i64,
    pub message: String,
    pub ingestion_time: i64,
}

/// One log stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStream {
    pub created: i64,
    pub events: Vec<LogEvent>,
    /// Bumped by every PutLogEvents (the old sequence-token protocol).
    pub sequence: u64,
    pub last_ingestion: Option<i64>,
}

impl LogStream {
    /// Appends `(timestamp, message)` events ingested at `now`.
    pub fn push(&mut self, events: impl IntoIterator<Item = (i64, String)>, now: Timestamp) {
        let before = self.events.len();
        self.events.extend(events.into_iter().map(|(timestamp, message)| LogEvent {
            timestamp,
            message,
            ingestion_time: now.0,
        }));
        if self.events.len() > before {
            self.sequence += 1;
            self.last_ingestion = Some(now.0);
        }
    }

    pub fn stored_bytes(&self) -> usize {
        self.events.iter().map(|e| e.message.len() + 26).sum()
    }
}

/// One log group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroup {
    pub created: i64,
    pub retention_in_days: Option<i32>,
    pub streams: BTreeMap<String, LogStream>,
}

/// Every log group of the account, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Logs {
    pub groups: BTreeMap<String, LogGroup>,
}

/// Why a write to the logs was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogsRefusal {
    NoGroup,
}

/// One write to the logs, as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum LogChange {
    /// A group made (CreateLogGroup, or awslogs-create-group); an existing
    /// one is kept as it is.
    #[serde(rename_all = "camelCase")]
    PutGroup {
        name: String,
        created: i64,
        retention_in_days: Option<i32>,
    },
    DeleteGroup {
        name: String,
    },
    /// A stream made in an existing group; an existing one is kept.
    PutStream {
        group: String,
        name: String,
        created: i64,
    },
    /// Events ingested at `ingested` into a stream (made if missing).
    Append {
        group: String,
        stream: String,
        events: Vec<(i64, String)>,
        ingested: i64,
    },
}

impl Logs {
    /// Applies one change (a write, or the journal's replay of it); a change
    /// to a group that is gone is dropped, as the lines of a deleted group are.
    pub fn apply(&mut self, change: LogChange) {
        match change {
            LogChange::PutGroup { name, created, retention_in_days } => {
                self.groups.entry(name).or_insert(LogGroup { created, retention_in_days, ..LogGroup::default() });
            }
            LogChange::DeleteGroup { name } => {
                self.groups.remove(&name);
            }
            LogChange::PutStream { group, name, created } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    g.streams.entry(name).or_insert(LogStream { created, ..LogStream::default() });
                }
            }
            LogChange::Append { group, stream, events, ingested } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    let s = g.streams.entry(stream).or_insert(LogStream { created: ingested, ..LogStream::default() });
                    s.push(events, Timestamp(ingested));
                }
            }
        }
    }

    /// What the awslogs driver does with `lines`: the stream (and, with
    /// `create_group`, the group) made when missing, then the lines
    /// appended; the changes to apply, or why not.
    pub fn append(
        &self,
        group: &str,
        stream: &str,
        create_group: bool,
        lines: Vec<(i64, String)>,
        now: Timestamp,
    ) -> Result<Vec<LogChange>, LogsRefusal> {
        let mut changes = Vec::new();
        if !self.groups.contains_key(group) {
            if !create_group {
                return Err(LogsRefusal::NoGroup);
            }
            changes.push(LogChange::PutGroup { name: group.to_owned(), created: now.0, retention_in_days: None });
        }
        changes.push(LogChange::PutStream { group: group.to_owned(), name: stream.to_owned(), created: now.0 });
        if !lines.is_empty() {
            changes.push(LogChange::Append {
                group: group.to_owned(),
                stream: stream.to_owned(),
                events: lines,
                ingested: now.0,
            });
        }
        Ok(changes)
    }

    /// How many events a stream holds (0 when it or its group is missing).
    pub fn event_count(&self, group: &str, stream: &str) -> usize {
        self.groups.get(group).and_then(|g| g.streams.get(stream)).map_or(0, |s| s.events.len())
    }
}
