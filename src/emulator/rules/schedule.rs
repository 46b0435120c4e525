//! Application Auto Scaling's schedule expressions, as pure functions:
//! `at(yyyy-mm-ddThh:mm:ss)` (once), `rate(N minute|minutes|hour|hours|day|days)`
//! and `cron(minutes hours day-of-month month day-of-week year)`, the last
//! two read in the action's `Timezone` (an IANA name; UTC when absent).
//!
//! Why these crates: AWS's cron is Quartz's six fields without seconds
//! (day-of-week 1–7 = SUN–SAT, `?`, `L`, `W`, `#`, a year field, `0/15`
//! steps); `croner` parses exactly that in its Quartz mode, and evaluates
//! it on `jiff`'s zoned times, whose bundled time-zone database makes a
//! `Timezone` work the same on every machine (daylight-saving gaps
//! included), with no system tzdata.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::tz::TimeZone;

/// A parsed schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Once, at this wall-clock time in the action's zone.
    At(jiff::civil::DateTime),
    /// Every so many milliseconds from the start time (or creation).
    Rate(i64),
    Cron(Box<Cron>),
}

/// Why a schedule or zone is not valid (the API answers ValidationException).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("Unsupported schedule format: {0}. Schedule must be in at(), rate() or cron() format.")]
    Format(String),
    #[error("Invalid at expression: {0}. Expected at(yyyy-mm-ddThh:mm:ss).")]
    At(String),
    #[error(
        "Invalid rate expression: {0}. Expected rate(value unit) with a positive whole value and a unit of minute(s), hour(s) or day(s)."
    )]
    Rate(String),
    #[error("Invalid cron expression: {0}. {1}")]
    Cron(String, String),
    #[error("Invalid timezone: {0}.")]
    Timezone(String),
}

/// Parses a schedule expression.
pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
    let inner = |prefix: &str| expression.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')).map(str::trim);
    if let Some(at) = inner("at(") {
        let valid = at.len() == 19 && at.as_bytes().get(10) == Some(&b'T');
        return at
            .parse::<jiff::civil::DateTime>()
            .ok()
            .filter(|_| valid)
            .map(Schedule::At)
            .ok_or_else(|| ScheduleError::At(expression.to_owned()));
    }
    if let Some(rate) = inner("rate(") {
        let bad = || ScheduleError::Rate(expression.to_owned());
        let (n, unit) = rate.split_once(' ').ok_or_else(bad)?;
        let n: i64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        let unit_millis = match unit.trim() {
            "minute" | "minutes" => 60_000,
            "hour" | "hours" => 3_600_000,
            "day" | "days" => 86_400_000,
            _ => return Err(bad()),
        };
        return n.checked_mul(unit_millis).map(Schedule::Rate).ok_or_else(bad);
    }
    if let Some(fields) = inner("cron(") {
        let bad = |why: &str| ScheduleError::Cron(expression.to_owned(), why.to_owned());
        let parts: Vec<&str> = fields.split_whitespace().collect();
        if parts.len() != 6 {
            return Err(bad("A cron expression has six fields: minutes hours day-of-month month day-of-week year."));
        }
        if (parts[2] == "?") == (parts[4] == "?") {
            return Err(bad("Exactly one of day-of-month and day-of-week must be '?'."));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Required)
            .alternative_weekdays(true)
            .sloppy_ranges(true)
            .build();
        return parser
            .parse(&format!("0 {}", parts.join(" ")))
            .map(|c| Schedule::Cron(Box::new(c)))
            .map_err(|e| bad(&e.to_string()));
    }
    Err(ScheduleError::Format(expression.to_owned()))
}

/// The zone a `Timezone` names (UTC when absent).
pub fn zone(name: Option<&str>) -> Result<TimeZone, ScheduleError> {
    match name {
        None => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name).map_err(|_| ScheduleError::Timezone(name.to_owned())),
    }
}

/// When a schedule next runs strictly after `after` (epoch millis), within
/// `[start, end]`; `origin` is where a rate counts from when there is no
/// start time (the action's creation). `None`: never again.
pub fn next_run(
    schedule: &Schedule,
    zone: &TimeZone,
    start: Option<i64>,
    end: Option<i64>,
    origin: i64,
    after: i64,
) -> Option<i64> {
    let after = match start {
        Some(s) if s > after => s - 1,
        _ => after,
    };
    let next = match schedule {
        Schedule::At(at) => {
            let at = at.to_zoned(zone.clone()).ok()?.timestamp().as_millisecond();
            (at > after).then_some(at)?
        }
        Schedule::Rate(every) => {
            // From a start time the first run is at it; without one, a
            // period after the action was made.
            let first = match start {
                Some(s) => s,
                None => origin.checked_add(*every)?,
            };
            let periods = if after < first { 0 } else { (after - first) / every + 1 };
            first.checked_add(periods.checked_mul(*every)?)?
        }
        Schedule::Cron(cron) => {
            let now = jiff::Timestamp::from_millisecond(after).ok()?.to_zoned(zone.clone());
            cron.find_next_occurrence(&now, false).ok()?.timestamp().as_millisecond()
        }
    };
    match end {
        Some(end) if next > end => None,
        _ => Some(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(s: &str, zone: &TimeZone) -> i64 {
        s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(zone.clone()).unwrap().timestamp().as_millisecond()
    }

    #[test]
    fn at_runs_once_at_its_time_in_its_zone() {
        let utc = TimeZone::UTC;
        let at = parse("at(2030-01-31T17:00:00)").unwrap();
        let t = millis("2030-01-31T17:00:00", &utc);
        assert_eq!(next_run(&at, &utc, None, None, 0, t - 1), Some(t));
        assert_eq!(next_run(&at, &utc, None, None, 0, t), None);
        let paris = zone(Some("Europe/Paris")).unwrap();
        assert_eq!(next_run(&at, &paris, None, None, 0, 0), Some(t - 3_600_000), "17:00 in Paris is 16:00 UTC");
    }

    #[test]
    fn rate_counts_from_its_start() {
        let rate = parse("rate(5 minutes)").unwrap();
        let utc = TimeZone::UTC;
        assert_eq!(next_run(&rate, &utc, None, None, 1_000, 1_000), Some(301_000));
        assert_eq!(next_run(&rate, &utc, None, None, 1_000, 999), Some(301_000), "not at once");
        assert_eq!(next_run(&rate, &utc, None, None, 1_000, 301_000), Some(601_000));
        assert_eq!(next_run(&rate, &utc, Some(10_000_000), None, 1_000, 1_000), Some(10_000_000));
        assert_eq!(next_run(&rate, &utc, None, Some(500_000), 1_000, 301_000), None, "past its end time");
    }

    #[test]
    fn cron_is_aws_six_fields_in_quartz_weekdays() {
        let utc = TimeZone::UTC;
        // 12:00 UTC every Friday (6 in Quartz numbering).
        let cron = parse("cron(0 12 ? * 6 *)").unwrap();
        let thursday = millis("2030-01-03T00:00:00", &utc);
        assert_eq!(next_run(&cron, &utc, None, None, 0, thursday), Some(millis("2030-01-04T12:00:00", &utc)));
        let named = parse("cron(15 10 ? * MON-FRI *)").unwrap();
        assert_eq!(next_run(&named, &utc, None, None, 0, thursday), Some(millis("2030-01-03T10:15:00", &utc)));
        // In a zone: 08:00 in New York is 13:00 UTC in January.
        let ny = zone(Some("America/New_York")).unwrap();
        let daily = parse("cron(0 8 * * ? *)").unwrap();
        assert_eq!(next_run(&daily, &ny, None, None, 0, thursday), Some(millis("2030-01-03T13:00:00", &utc)));
    }

    #[test]
    fn bad_expressions_are_named() {
        assert!(matches!(parse("every day"), Err(ScheduleError::Format(_))));
        assert!(matches!(parse("at(2030-01-31 17:00)"), Err(ScheduleError::At(_))));
        assert!(matches!(parse("rate(0 minutes)"), Err(ScheduleError::Rate(_))));
        assert!(matches!(parse("rate(5 weeks)"), Err(ScheduleError::Rate(_))));
        assert!(matches!(parse("cron(0 12 * * *)"), Err(ScheduleError::Cron(..))));
        assert!(matches!(parse("cron(0 12 * * * *)"), Err(ScheduleError::Cron(..))));
        assert!(matches!(parse("cron(0 99 * * ? *)"), Err(ScheduleError::Cron(..))));
        assert!(matches!(zone(Some("Mars/Olympus")), Err(ScheduleError::Timezone(_))));
    }
}
