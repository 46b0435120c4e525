//! The order of the output: every stream's events merged by timestamp, as
//! `kubectl logs --prefix` shows several containers, each line prefixed with
//! where it came from.

/// One log event, with the stream it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Milliseconds since the epoch, as CloudWatch Logs stamps events.
    pub timestamp: i64,
    /// `task-id/container`.
    pub source: String,
    pub message: String,
}

impl Line {
    /// The line as printed: `[task-id/container] message`.
    pub fn render(&self) -> String {
        format!("[{}] {}", self.source, self.message.trim_end_matches(['\n', '\r']))
    }
}

/// Merges per-stream batches (each already in its stream's order) by
/// timestamp. The sort is stable: events with the same timestamp keep
/// their stream's order, and streams keep the order they were given in,
/// so the same input always prints the same way.
pub fn interleave(batches: Vec<Vec<Line>>) -> Vec<Line> {
    let mut lines: Vec<Line> = batches.into_iter().flatten().collect();
    lines.sort_by_key(|line| line.timestamp);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(timestamp: i64, source: &str, message: &str) -> Line {
        Line { timestamp, source: source.to_owned(), message: message.to_owned() }
    }

    #[test]
    fn streams_merge_by_time_and_ties_keep_stream_and_arrival_order() {
        let a = vec![line(1, "t1/app", "a1"), line(5, "t1/app", "a2"), line(5, "t1/app", "a3")];
        let b = vec![line(2, "t2/app", "b1"), line(5, "t2/app", "b2"), line(9, "t2/app", "b3")];
        let merged: Vec<String> = interleave(vec![a, b]).iter().map(|l| l.message.clone()).collect();
        assert_eq!(merged, ["a1", "b1", "a2", "a3", "b2", "b3"]);
    }

    #[test]
    fn a_line_is_prefixed_like_kubectl_logs_prefix() {
        assert_eq!(line(1, "0123abcd/web", "hello\n").render(), "[0123abcd/web] hello");
    }
}
