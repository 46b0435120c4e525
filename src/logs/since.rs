//! `--since` as `kubectl logs` reads it: a Go-style duration (`30s`, `10m`,
//! `1h`, `1h30m`, `1.5h`, `250ms`), relative to now.

use std::time::Duration;

/// Why a `--since` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --since {value:?}: {why} (use a duration such as 30s, 10m, 1h or 1h30m)")]
pub struct SinceError {
    value: String,
    why: &'static str,
}

/// Parses a duration made of `<number><unit>` parts, units `ms`, `s`, `m`, `h`.
pub fn parse_since(value: &str) -> Result<Duration, SinceError> {
    let fail = |why| SinceError { value: value.to_owned(), why };
    let mut rest = value.trim();
    if rest.is_empty() {
        return Err(fail("it is empty"));
    }
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return Err(fail("a number must come before each unit"));
        }
        let number: f64 = rest[..digits].parse().map_err(|_| fail("a number does not parse"))?;
        rest = &rest[digits..];
        let unit = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(fail("a unit (ms, s, m or h) must follow each number")),
            _ => return Err(fail("units are ms, s, m and h")),
        };
        rest = &rest[unit..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).map_err(|_| fail("it is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_durations_parse() {
        assert_eq!(parse_since("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_since("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_since("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_since("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_since("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_since("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn what_kubectl_refuses_is_refused_with_the_value_named() {
        for bad in ["", "10", "m", "10d", "-5m", "1h30", "1..5s"] {
            let err = parse_since(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}
