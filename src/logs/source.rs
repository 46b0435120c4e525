//! The seam to CloudWatch Logs: one read, a page of a stream's events from a
//! forward token, behind [`LogSource`] so the reading loop does not depend on
//! the SDK; [`SdkLogs`] is `aws-sdk-cloudwatchlogs` (real AWS or the emulator,
//! which serves Logs on its ECS port).

use std::future::Future;

use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};

/// A page of one stream.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// (timestamp in ms, message), oldest first.
    pub events: Vec<(i64, String)>,
    /// Where the next read continues; the same token comes back at the end.
    pub next: Option<String>,
}

/// Why a stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The stream (or its group) does not exist yet: a task that has not
    /// logged, or a group not created. Not an error for the reader.
    #[error("log stream {group}:{stream} does not exist")]
    Missing { group: String, stream: String },
    #[error("GetLogEvents {group}:{stream}: {message}")]
    Failed { group: String, stream: String, message: String },
}

/// Reads log streams.
pub trait LogSource: Send + Sync {
    /// The events of `stream` at or after `start_ms`, oldest first, from `token` (the
    /// start without one).
    fn read(
        &self,
        group: &str,
        stream: &str,
        start_ms: Option<i64>,
        token: Option<&str>,
    ) -> impl Future<Output = Result<Page, SourceError>> + Send;
}

/// CloudWatch Logs through the SDK.
#[derive(Debug, Clone)]
pub struct SdkLogs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl SdkLogs {
    pub fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self { client }
    }
}

impl LogSource for SdkLogs {
    async fn read(
        &self,
        group: &str,
        stream: &str,
        start_ms: Option<i64>,
        token: Option<&str>,
    ) -> Result<Page, SourceError> {
        // The start time goes with the token too: a token is a position in
        // the events the first request selected, so the window must not change.
        let request = self
            .client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_start_time(start_ms)
            .set_next_token(token.map(str::to_owned));
        match request.send().await {
            Ok(out) => Ok(Page {
                events: out
                    .events
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| (e.timestamp.unwrap_or_default(), e.message.unwrap_or_default()))
                    .collect(),
                next: out.next_forward_token,
            }),
            Err(err) => {
                let (group, stream) = (group.to_owned(), stream.to_owned());
                if let SdkError::ServiceError(service) = &err
                    && service.err().code() == Some("ResourceNotFoundException")
                {
                    return Err(SourceError::Missing { group, stream });
                }
                let message = match err.message() {
                    Some(message) => format!("{}: {message}", err.code().unwrap_or("error")),
                    None => aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&err).to_string(),
                };
                Err(SourceError::Failed { group, stream, message })
            }
        }
    }
}
