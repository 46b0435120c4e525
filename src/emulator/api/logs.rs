//! CloudWatch Logs on the emulator's port (`X-Amz-Target:
//! Logs_20140328.<Operation>`, JSON 1.1): CreateLogGroup, DeleteLogGroup,
//! DescribeLogGroups, CreateLogStream, DescribeLogStreams, PutLogEvents,
//! GetLogEvents, FilterLogEvents, with the Logs service's errors
//! (`ResourceNotFoundException`, `ResourceAlreadyExistsException`,
//! `InvalidParameterException`). The awslogs driver of the Docker runtime
//! writes containers' output here.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::state::logs::{LogChange, LogEvent, LogGroup, LogStream};
use crate::emulator::state::{Store, read};
use crate::emulator::wire::codec::parse;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};

fn no_group() -> EcsError {
    EcsError::new(ErrorKind::ResourceNotFoundException, "The specified log group does not exist.")
}

fn no_stream() -> EcsError {
    EcsError::new(ErrorKind::ResourceNotFoundException, "The specified log stream does not exist.")
}

fn group_arn(store: &Store, name: &str) -> String {
    format!("arn:aws:logs:{}:{}:log-group:{name}", store.arns.region, store.arns.account_id)
}

/// Log group names: 1 to 512 of `[.-_/#A-Za-z0-9]`.
fn check_group_name(name: &str) -> EcsResult<()> {
    let valid =
        (1..=512).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
    if valid {
        Ok(())
    } else {
        Err(EcsError::invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )))
    }
}

/// Log stream names: 1 to 512 characters, no `:` or `*`.
fn check_stream_name(name: &str) -> EcsResult<()> {
    if (1..=512).contains(&name.chars().count()) && !name.contains([':', '*']) {
        Ok(())
    } else {
        Err(EcsError::invalid(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"
        )))
    }
}

fn limit(value: Option<i64>, max: i64, default: i64) -> EcsResult<usize> {
    match value {
        None => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(EcsError::invalid(format!("limit must be between 1 and {max}, got {n}."))),
    }
}

/// `nextToken`s are the index of the next item, opaque to clients.
fn token_index(token: Option<&str>) -> EcsResult<usize> {
    match token {
        None | Some("") => Ok(0),
        Some(t) => t.parse().map_err(|_| EcsError::invalid("The specified nextToken is invalid.")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupInput {
    log_group_name: Option<String>,
    retention_in_days: Option<i32>,
}

pub fn create_log_group(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: GroupInput = parse(body)?;
    let name = required(input.log_group_name, "logGroupName")?;
    check_group_name(&name)?;
    let created = store.now().0;
    store.change_logs(|logs| {
        if logs.groups.contains_key(&name) {
            return Err(EcsError::new(
                ErrorKind::ResourceAlreadyExistsException,
                "The specified log group already exists",
            ));
        }
        Ok(((), vec![LogChange::PutGroup { name, created, retention_in_days: input.retention_in_days }]))
    })?;
    Ok(json!({}))
}

pub fn delete_log_group(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: GroupInput = parse(body)?;
    let name = required(input.log_group_name, "logGroupName")?;
    store.change_logs(|logs| {
        logs.groups.get(&name).ok_or_else(no_group)?;
        Ok(((), vec![LogChange::DeleteGroup { name }]))
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeGroupsInput {
    log_group_name_prefix: Option<String>,
    limit: Option<i64>,
    next_token: Option<String>,
}

pub fn describe_log_groups(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeGroupsInput = parse(body)?;
    let limit = limit(input.limit, 50, 50)?;
    let start = token_index(input.next_token.as_deref())?;
    let prefix = input.log_group_name_prefix.unwrap_or_default();
    let logs = read(&store.logs);
    let matching: Vec<(&String, &LogGroup)> = logs.groups.iter().filter(|(n, _)| n.starts_with(&prefix)).collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(limit)
        .map(|(name, g)| {
            let arn = group_arn(store, name);
            let mut out = json!({
                "logGroupName": name,
                "creationTime": g.created,
                "metricFilterCount": 0,
                "arn": format!("{arn}:*"),
                "logGroupArn": arn,
                "storedBytes": g.streams.values().map(LogStream::stored_bytes).sum::<usize>(),
                "logGroupClass": "STANDARD",
            });
            if let Some(days) = g.retention_in_days {
                out["retentionInDays"] = json!(days);
            }
            out
        })
        .collect();
    let mut out = json!({ "logGroups": page });
    if start + limit < matching.len() {
        out["nextToken"] = json!((start + limit).to_string());
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamInput {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
}

pub fn create_log_stream(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: StreamInput = parse(body)?;
    let group = required(input.log_group_name, "logGroupName")?;
    let stream = required(input.log_stream_name, "logStreamName")?;
    check_stream_name(&stream)?;
    let created = store.now().0;
    store.change_logs(|logs| {
        let g = logs.groups.get(&group).ok_or_else(no_group)?;
        if g.streams.contains_key(&stream) {
            return Err(EcsError::new(
                ErrorKind::ResourceAlreadyExistsException,
                "The specified log stream already exists",
            ));
        }
        Ok(((), vec![LogChange::PutStream { group, name: stream, created }]))
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeStreamsInput {
    log_group_name: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    limit: Option<i64>,
    next_token: Option<String>,
}

pub fn describe_log_streams(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeStreamsInput = parse(body)?;
    let group_name = required(input.log_group_name, "logGroupName")?;
    let limit = limit(input.limit, 50, 50)?;
    let start = token_index(input.next_token.as_deref())?;
    let by_time = match input.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") if input.log_stream_name_prefix.is_some() => {
            return Err(EcsError::invalid("Cannot order by LastEventTime with a logStreamNamePrefix."));
        }
        Some("LastEventTime") => true,
        Some(other) => return Err(EcsError::invalid(format!("Invalid orderBy '{other}'."))),
    };
    let logs = read(&store.logs);
    let group = logs.groups.get(&group_name).ok_or_else(no_group)?;
    let prefix = input.log_stream_name_prefix.unwrap_or_default();
    let mut streams: Vec<(&String, &LogStream)> =
        group.streams.iter().filter(|(n, _)| n.starts_with(&prefix)).collect();
    if by_time {
        streams.sort_by_key(|(n, s)| (s.events.iter().map(|e| e.timestamp).max(), (*n).clone()));
    }
    if input.descending.unwrap_or(false) {
        streams.reverse();
    }
    let page: Vec<Value> = streams
        .iter()
        .skip(start)
        .take(limit)
        .map(|(name, s)| {
            let mut out = json!({
                "logStreamName": name,
                "creationTime": s.created,
                "arn": format!("{}:log-stream:{name}", group_arn(store, &group_name)),
                "storedBytes": s.stored_bytes(),
                "uploadSequenceToken": s.sequence.to_string(),
            });
            if let (Some(first), Some(last)) =
                (s.events.iter().map(|e| e.timestamp).min(), s.events.iter().map(|e| e.timestamp).max())
            {
                out["firstEventTimestamp"] = json!(first);
                out["lastEventTimestamp"] = json!(last);
            }
            if let Some(at) = s.last_ingestion {
                out["lastIngestionTime"] = json!(at);
            }
            out
        })
        .collect();
    let mut out = json!({ "logStreams": page });
    if start + limit < streams.len() {
        out["nextToken"] = json!((start + limit).to_string());
    }
    Ok(out)
}

#[derive(Deserialize)]
struct InputEvent {
    timestamp: i64,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutInput {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    log_events: Option<Vec<InputEvent>>,
}

pub fn put_log_events(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: PutInput = parse(body)?;
    let group = required(input.log_group_name, "logGroupName")?;
    let stream = required(input.log_stream_name, "logStreamName")?;
    let events = input.log_events.unwrap_or_default();
    if events.is_empty() || events.len() > 10_000 {
        return Err(EcsError::invalid("logEvents must hold 1 to 10000 events."));
    }
    if events.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
        return Err(EcsError::invalid("Log events in a single PutLogEvents request must be in chronological order."));
    }
    let now = store.now();
    let sequence = store.change_logs(|logs| {
        let found = logs.groups.get(&group).ok_or_else(no_group)?.streams.get(&stream).ok_or_else(no_stream)?;
        let events = events.into_iter().map(|e| (e.timestamp, e.message)).collect();
        Ok((found.sequence + 1, vec![LogChange::Append { group, stream, events, ingested: now.0 }]))
    })?;
    Ok(json!({ "nextSequenceToken": sequence.to_string() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetInput {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
}

/// GetLogEvents' tokens: `f/<index>` reads on from an index, `b/<index>`
/// reads back from one.
pub fn get_log_events(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: GetInput = parse(body)?;
    let group = required(input.log_group_name, "logGroupName")?;
    let stream = required(input.log_stream_name, "logStreamName")?;
    let limit = limit(input.limit, 10_000, 10_000)?;
    let logs = read(&store.logs);
    let stream = logs.groups.get(&group).ok_or_else(no_group)?.streams.get(&stream).ok_or_else(no_stream)?;
    let in_range: Vec<&LogEvent> = stream
        .events
        .iter()
        .filter(|e| input.start_time.is_none_or(|t| e.timestamp >= t) && input.end_time.is_none_or(|t| e.timestamp < t))
        .collect();
    let n = in_range.len();
    let (from, to) = match input.next_token.as_deref() {
        Some(t) if t.starts_with("f/") => {
            let at = t[2..].parse::<usize>().map_err(|_| EcsError::invalid("The specified nextToken is invalid."))?;
            (at.min(n), (at + limit).min(n))
        }
        Some(t) if t.starts_with("b/") => {
            let at = t[2..].parse::<usize>().map_err(|_| EcsError::invalid("The specified nextToken is invalid."))?;
            (at.min(n).saturating_sub(limit), at.min(n))
        }
        Some(_) => return Err(EcsError::invalid("The specified nextToken is invalid.")),
        None if input.start_from_head.unwrap_or(false) => (0, limit.min(n)),
        None => (n.saturating_sub(limit), n),
    };
    let events: Vec<Value> = in_range[from..to]
        .iter()
        .map(|e| json!({ "timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time }))
        .collect();
    Ok(json!({ "events": events, "nextForwardToken": format!("f/{to}"), "nextBackwardToken": format!("b/{from}") }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterInput {
    log_group_name: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    limit: Option<i64>,
    next_token: Option<String>,
}

/// Whether `message` matches a filter pattern of terms: every unquoted
/// term, and every `"quoted phrase"`, must occur (CloudWatch's simplest
/// patterns; JSON and space-delimited patterns are not interpreted).
fn matches(pattern: &str, message: &str) -> bool {
    let mut rest = pattern.trim();
    while !rest.is_empty() {
        let (term, tail) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if !term.is_empty() && !message.contains(term) {
            return false;
        }
        rest = tail.trim_start();
    }
    true
}

pub fn filter_log_events(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: FilterInput = parse(body)?;
    let group = required(input.log_group_name, "logGroupName")?;
    if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
        return Err(EcsError::invalid("You cannot specify both logStreamNames and logStreamNamePrefix."));
    }
    let limit = limit(input.limit, 10_000, 10_000)?;
    let start = token_index(input.next_token.as_deref())?;
    let logs = read(&store.logs);
    let group = logs.groups.get(&group).ok_or_else(no_group)?;
    let pattern = input.filter_pattern.unwrap_or_default();
    let mut found: Vec<(i64, usize, &String, &LogEvent)> = Vec::new();
    let mut searched = Vec::new();
    for (name, stream) in &group.streams {
        let wanted = match (&input.log_stream_names, &input.log_stream_name_prefix) {
            (Some(names), _) => names.contains(name),
            (None, Some(prefix)) => name.starts_with(prefix.as_str()),
            (None, None) => true,
        };
        if !wanted {
            continue;
        }
        searched.push(json!({ "logStreamName": name, "searchedCompletely": true }));
        for (i, e) in stream.events.iter().enumerate() {
            let in_range =
                input.start_time.is_none_or(|t| e.timestamp >= t) && input.end_time.is_none_or(|t| e.timestamp <= t);
            if in_range && matches(&pattern, &e.message) {
                found.push((e.timestamp, i, name, e));
            }
        }
    }
    found.sort_by(|a, b| (a.0, a.2, a.1).cmp(&(b.0, b.2, b.1)));
    let events: Vec<Value> = found
        .iter()
        .skip(start)
        .take(limit)
        .map(|(_, i, name, e)| {
            json!({
                "logStreamName": name,
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingestion_time,
                "eventId": format!("{:020}{i:016}", e.timestamp),
            })
        })
        .collect();
    let mut out = json!({ "events": events, "searchedLogStreams": searched });
    if start + limit < found.len() {
        out["nextToken"] = json!((start + limit).to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_patterns_match_terms_and_phrases() {
        assert!(matches("", "anything"));
        assert!(matches("ERROR", "an ERROR here"));
        assert!(!matches("ERROR", "all fine"));
        assert!(matches("ERROR db", "ERROR: the db is down"));
        assert!(!matches("ERROR db", "ERROR: the cache is down"));
        assert!(matches("\"is down\"", "the db is down"));
        assert!(!matches("\"is down\"", "down it is"));
    }
}
