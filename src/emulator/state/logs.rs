//! CloudWatch Logs' records: log groups, their streams and the events in
//! them, as the Logs API ([`crate::emulator::api`]) and the awslogs driver of
//! the Docker runtime write them. In memory, account-wide, under one lock.

use std::collections::BTreeMap;

use crate::emulator::state::records::Timestamp;

/// One event of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp: i64,
    pub message: String,
    pub ingestion_time: i64,
}

/// One log stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogGroup {
    pub created: i64,
    pub retention_in_days: Option<i32>,
    pub streams: BTreeMap<String, LogStream>,
}

/// Every log group of the account, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Logs {
    pub groups: BTreeMap<String, LogGroup>,
}

/// Why a write to the logs was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogsRefusal {
    NoGroup,
}

impl Logs {
    /// Appends `lines` to a stream, creating the stream (and, with
    /// `create_group`, the group) when missing: what the awslogs driver does.
    pub fn append(
        &mut self,
        group: &str,
        stream: &str,
        create_group: bool,
        lines: impl IntoIterator<Item = (i64, String)>,
        now: Timestamp,
    ) -> Result<(), LogsRefusal> {
        if create_group {
            self.groups.entry(group.to_owned()).or_insert_with(|| LogGroup { created: now.0, ..LogGroup::default() });
        }
        let group = self.groups.get_mut(group).ok_or(LogsRefusal::NoGroup)?;
        let stream = group
            .streams
            .entry(stream.to_owned())
            .or_insert_with(|| LogStream { created: now.0, ..LogStream::default() });
        stream.push(lines, now);
        Ok(())
    }
}
