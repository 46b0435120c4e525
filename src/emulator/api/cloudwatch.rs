//! Amazon CloudWatch's metric reads on the emulator's port (API
//! 2010-08-01, in each protocol its model lists: Smithy RPC v2 CBOR, AWS
//! JSON 1.0 with `X-Amz-Target: GraniteServiceVersion20100801.<Op>`, and
//! query; the bridges are in [`crate::emulator::wire`]): GetMetricStatistics,
//! GetMetricData (MetricStat queries), ListMetrics and PutMetricData, over
//! the metric store ([`crate::emulator::state::metrics`]) that ECS's
//! `AWS/ECS` utilisation is sampled into every minute
//! ([`crate::emulator::sim::metrics`]). Errors are CloudWatch's
//! (`InvalidParameterValue`, `MissingParameter`,
//! `InvalidParameterCombination`, `InvalidNextToken`), written
//! `{"__type", "message"}`.
//!
//! Metric math and Metrics Insights expressions, and percentiles, are not
//! computed: the store keeps statistic sets, not raw values.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::emulator::state::Store;
use crate::emulator::state::metrics::{MINUTE_MILLIS, MetricKey, StatSet};
use crate::emulator::wire::codec::parse;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};
use crate::emulator::wire::query::lenient;

/// CloudWatch's five statistics.
const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];
/// The model's `StandardUnit`.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];
/// GetMetricStatistics answers at most this many datapoints.
const MAX_STATISTICS_DATAPOINTS: i64 = 1_440;
/// GetMetricData's default (and largest) MaxDatapoints.
const MAX_DATA_DATAPOINTS: i64 = 100_800;
/// MetricDataQueries per GetMetricData call.
const MAX_QUERIES: usize = 500;
/// Metrics per ListMetrics page.
const LIST_PAGE: usize = 500;
/// Dimensions per metric.
const MAX_DIMENSIONS: usize = 30;
/// Datums per PutMetricData call.
const MAX_DATUMS: usize = 1_000;
const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

fn invalid(message: impl Into<String>) -> EcsError {
    EcsError::new(ErrorKind::InvalidParameterValueException, message)
}

fn missing(member: &str) -> EcsError {
    EcsError::new(ErrorKind::MissingRequiredParameterException, format!("The parameter {member} is required."))
}

fn combination(message: impl Into<String>) -> EcsError {
    EcsError::new(ErrorKind::InvalidParameterCombinationException, message)
}

fn required<T>(value: Option<T>, member: &str) -> EcsResult<T> {
    value.ok_or_else(|| missing(member))
}

/// Decodes the input; a member of the wrong type is CloudWatch's
/// `InvalidParameterValue`.
fn input<T: DeserializeOwned>(body: &[u8]) -> EcsResult<T> {
    parse(body).map_err(|e| if e.kind == ErrorKind::SerializationException { invalid(e.message) } else { e })
}

fn one_of(value: &str, member: &str, allowed: &[&str]) -> EcsResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(invalid(format!("The parameter {member} must be a value in the set [ {} ].", allowed.join(", "))))
    }
}

fn length(value: &str, member: &str, max: usize) -> EcsResult<()> {
    if value.is_empty() || value.chars().count() > max {
        return Err(invalid(format!("The parameter {member} must be between 1 and {max} characters long.")));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Dimension {
    name: Option<String>,
    value: Option<String>,
}

/// A metric's dimensions, checked, as `(name, value)` pairs.
fn dimensions(list: Option<Vec<Dimension>>, member: &str) -> EcsResult<Vec<(String, String)>> {
    let list = list.unwrap_or_default();
    if list.len() > MAX_DIMENSIONS {
        return Err(invalid(format!("The collection {member} must not contain more than {MAX_DIMENSIONS} items.")));
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, d) in list.into_iter().enumerate() {
        let at = format!("{member}.member.{}", i + 1);
        let name = required(d.name, &format!("{at}.Name"))?;
        let value = required(d.value, &format!("{at}.Value"))?;
        length(&name, &format!("{at}.Name"), 255)?;
        length(&value, &format!("{at}.Value"), 1024)?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!(
                "The collection {member} must not contain duplicate dimension names: {name}."
            )));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn namespace(value: Option<String>, member: &str) -> EcsResult<String> {
    let value = required(value, member)?;
    length(&value, member, 255)?;
    if value.starts_with(':') {
        return Err(invalid(format!("The value {value} for parameter {member} is invalid.")));
    }
    Ok(value)
}

/// A standard-resolution period: 1, 5, 10, 20 or 30 seconds, or a
/// multiple of 60.
fn period(value: i64, member: &str) -> EcsResult<i64> {
    let ok = if value < 60 { [1, 5, 10, 20, 30].contains(&value) } else { value % 60 == 0 };
    if ok { Ok(value) } else { Err(invalid(format!("The parameter {member} must be a multiple of 60."))) }
}

fn time_range(start: i64, end: i64) -> EcsResult<()> {
    if start >= end {
        return Err(invalid("The parameter StartTime must be less than the parameter EndTime."));
    }
    Ok(())
}

/// Where the periods start: StartTime rounded down by its age, as
/// CloudWatch does (to the minute within 15 days, to 5 minutes within
/// 63 days, to the hour before).
fn origin(start: i64, now: i64) -> i64 {
    let age = now - start;
    let step = if age < 15 * DAY_MILLIS {
        MINUTE_MILLIS
    } else if age < 63 * DAY_MILLIS {
        5 * MINUTE_MILLIS
    } else {
        60 * MINUTE_MILLIS
    };
    start.div_euclid(step) * step
}

/// `key`'s statistics per period in `[start, end)`: the period's start and
/// the merged minutes in it, oldest first; empty periods are absent.
fn periods(store: &Store, key: &MetricKey, start: i64, end: i64, period_secs: i64) -> (String, Vec<(i64, StatSet)>) {
    let from = origin(start, store.now().0);
    let Some((unit, minutes)) = store.metrics.minutes(key, from, end) else { return (String::new(), Vec::new()) };
    let width = period_secs * 1000;
    let mut out: Vec<(i64, StatSet)> = Vec::new();
    for (minute, set) in minutes {
        let at = from + (minute - from).div_euclid(width) * width;
        match out.last_mut() {
            Some((last, merged)) if *last == at => merged.merge(&set),
            _ => out.push((at, set)),
        }
    }
    (unit, out)
}

fn seconds(millis: i64) -> Value {
    json!(millis as f64 / 1000.0)
}

/// `12,345`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetMetricStatisticsInput {
    namespace: Option<String>,
    metric_name: Option<String>,
    dimensions: Option<Vec<Dimension>>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    start_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    end_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    period: Option<i64>,
    statistics: Option<Vec<String>>,
    extended_statistics: Option<Vec<String>>,
    unit: Option<String>,
}

/// GetMetricStatistics.
pub fn get_metric_statistics(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let req: GetMetricStatisticsInput = input(body)?;
    let namespace = namespace(req.namespace, "Namespace")?;
    let name = required(req.metric_name, "MetricName")?;
    length(&name, "MetricName", 255)?;
    let start = required(req.start_time, "StartTime")?;
    let end = required(req.end_time, "EndTime")?;
    let period_secs = period(required(req.period, "Period")?, "Period")?;
    let dimensions = dimensions(req.dimensions, "Dimensions")?;
    let statistics = match (req.statistics, req.extended_statistics) {
        (Some(s), Some(e)) if !s.is_empty() && !e.is_empty() => {
            return Err(combination("The parameters Statistics and ExtendedStatistics are mutually exclusive."));
        }
        (_, Some(e)) if !e.is_empty() => {
            return Err(invalid(
                "ExtendedStatistics (percentiles) are not supported by this emulator: it keeps statistic sets, not raw values.",
            ));
        }
        (Some(s), _) if !s.is_empty() => s,
        _ => return Err(missing("Statistics")),
    };
    if statistics.len() > STATISTICS.len() {
        return Err(invalid("The collection Statistics must not contain more than 5 items."));
    }
    for (i, s) in statistics.iter().enumerate() {
        one_of(s, &format!("Statistics.member.{}", i + 1), STATISTICS)?;
    }
    if let Some(unit) = &req.unit {
        one_of(unit, "Unit", UNITS)?;
    }
    time_range(start, end)?;
    let requested = (end - start + period_secs * 1000 - 1) / (period_secs * 1000);
    if requested > MAX_STATISTICS_DATAPOINTS {
        return Err(combination(format!(
            "You have requested up to {} datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.",
            thousands(requested)
        )));
    }
    let key = MetricKey::new(&namespace, &name, dimensions);
    let (unit, sets) = periods(store, &key, start, end, period_secs);
    let wanted = req.unit.as_deref().is_none_or(|u| u == unit);
    let datapoints: Vec<Value> = sets
        .iter()
        .filter(|_| wanted)
        .map(|(at, set)| {
            let mut point = serde_json::Map::new();
            point.insert("Timestamp".into(), seconds(*at));
            for s in &statistics {
                if let Some(v) = set.statistic(s) {
                    point.insert(s.clone(), json!(v));
                }
            }
            point.insert("Unit".into(), json!(unit));
            Value::Object(point)
        })
        .collect();
    Ok(json!({ "Label": name, "Datapoints": datapoints }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricInput {
    namespace: Option<String>,
    metric_name: Option<String>,
    dimensions: Option<Vec<Dimension>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricStatInput {
    metric: Option<MetricInput>,
    #[serde(default, deserialize_with = "lenient::int")]
    period: Option<i64>,
    stat: Option<String>,
    unit: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDataQuery {
    id: Option<String>,
    metric_stat: Option<MetricStatInput>,
    expression: Option<String>,
    label: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    return_data: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetMetricDataInput {
    metric_data_queries: Option<Vec<MetricDataQuery>>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    start_time: Option<i64>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    end_time: Option<i64>,
    next_token: Option<String>,
    scan_by: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    max_datapoints: Option<i64>,
}

/// One MetricStat query, checked.
struct Stat {
    id: String,
    label: String,
    key: MetricKey,
    period: i64,
    stat: String,
    unit: Option<String>,
    return_data: bool,
}

fn metric_query(i: usize, q: MetricDataQuery, seen: &mut Vec<String>) -> EcsResult<Stat> {
    let at = format!("MetricDataQueries.member.{i}");
    let id = required(q.id, &format!("{at}.Id"))?;
    let mut chars = id.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255;
    if !valid {
        return Err(invalid(format!("The value {id} for parameter {at}.Id is invalid.")));
    }
    if seen.contains(&id) {
        return Err(invalid("The values for parameter Id in MetricDataQueries are not unique."));
    }
    seen.push(id.clone());
    let stat = match (q.metric_stat, q.expression) {
        (Some(_), Some(_)) => {
            return Err(combination(format!("{at} must specify either MetricStat or Expression, not both.")));
        }
        (None, Some(_)) => {
            return Err(invalid(format!(
                "{at}.Expression: metric math and Metrics Insights expressions are not supported by this emulator; use MetricStat."
            )));
        }
        (None, None) => return Err(missing(&format!("{at}.MetricStat"))),
        (Some(stat), None) => stat,
    };
    let metric = required(stat.metric, &format!("{at}.MetricStat.Metric"))?;
    let namespace = namespace(metric.namespace, &format!("{at}.MetricStat.Metric.Namespace"))?;
    let name = required(metric.metric_name, &format!("{at}.MetricStat.Metric.MetricName"))?;
    length(&name, &format!("{at}.MetricStat.Metric.MetricName"), 255)?;
    let dimensions = dimensions(metric.dimensions, &format!("{at}.MetricStat.Metric.Dimensions"))?;
    let period =
        period(required(stat.period, &format!("{at}.MetricStat.Period"))?, &format!("{at}.MetricStat.Period"))?;
    let statistic = required(stat.stat, &format!("{at}.MetricStat.Stat"))?;
    if !STATISTICS.contains(&statistic.as_str()) {
        return Err(invalid(format!(
            "The value {statistic} for parameter {at}.MetricStat.Stat is not supported by this emulator: use one of [ {} ].",
            STATISTICS.join(", ")
        )));
    }
    if let Some(unit) = &stat.unit {
        one_of(unit, &format!("{at}.MetricStat.Unit"), UNITS)?;
    }
    Ok(Stat {
        id,
        label: q.label.unwrap_or_else(|| name.clone()),
        key: MetricKey::new(&namespace, &name, dimensions),
        period,
        stat: statistic,
        unit: stat.unit,
        return_data: q.return_data.unwrap_or(true),
    })
}

/// GetMetricData: every MetricStat query's values per period. A page
/// holds at most MaxDatapoints values across the results, in query order;
/// NextToken resumes after them.
pub fn get_metric_data(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let req: GetMetricDataInput = input(body)?;
    let queries = req.metric_data_queries.filter(|q| !q.is_empty()).ok_or_else(|| missing("MetricDataQueries"))?;
    if queries.len() > MAX_QUERIES {
        return Err(invalid(format!(
            "The collection MetricDataQueries must not contain more than {MAX_QUERIES} items."
        )));
    }
    let start = required(req.start_time, "StartTime")?;
    let end = required(req.end_time, "EndTime")?;
    let ascending = match req.scan_by.as_deref() {
        None | Some("TimestampDescending") => false,
        Some("TimestampAscending") => true,
        Some(_) => {
            return Err(invalid(
                "The parameter ScanBy must be a value in the set [ TimestampDescending, TimestampAscending ].",
            ));
        }
    };
    let max = req.max_datapoints.unwrap_or(MAX_DATA_DATAPOINTS);
    if !(1..=MAX_DATA_DATAPOINTS).contains(&max) {
        return Err(invalid(format!("The parameter MaxDatapoints must be between 1 and {MAX_DATA_DATAPOINTS}.")));
    }
    let skip = match req.next_token.as_deref() {
        None | Some("") => 0,
        Some(token) => token
            .strip_prefix("points-")
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or_else(|| EcsError::new(ErrorKind::InvalidNextToken, "The NextToken is not valid."))?,
    };
    let mut seen = Vec::new();
    let stats: Vec<Stat> =
        queries.into_iter().enumerate().map(|(i, q)| metric_query(i + 1, q, &mut seen)).collect::<EcsResult<_>>()?;
    time_range(start, end)?;
    let mut position = 0i64;
    let mut more = false;
    let mut results = Vec::new();
    for stat in stats.iter().filter(|s| s.return_data) {
        let (unit, sets) = periods(store, &stat.key, start, end, stat.period);
        let wanted = stat.unit.as_deref().is_none_or(|u| u == unit);
        let mut points: Vec<(i64, f64)> = sets
            .iter()
            .filter(|_| wanted)
            .filter_map(|(at, set)| set.statistic(&stat.stat).map(|v| (*at, v)))
            .collect();
        if !ascending {
            points.reverse();
        }
        let (mut timestamps, mut values, mut cut) = (Vec::new(), Vec::new(), false);
        for (at, v) in points {
            if position >= skip + max {
                cut = true;
                more = true;
            } else if position >= skip {
                timestamps.push(seconds(at));
                values.push(json!(v));
            }
            position += 1;
        }
        results.push(json!({
            "Id": stat.id,
            "Label": stat.label,
            "Timestamps": timestamps,
            "Values": values,
            "StatusCode": if cut { "PartialData" } else { "Complete" },
        }));
    }
    let mut out = json!({ "MetricDataResults": results, "Messages": [] });
    if more {
        out["NextToken"] = json!(format!("points-{}", skip + max));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListMetricsInput {
    namespace: Option<String>,
    metric_name: Option<String>,
    dimensions: Option<Vec<Dimension>>,
    next_token: Option<String>,
    recently_active: Option<String>,
}

/// ListMetrics: the metrics with data, filtered; 500 a page.
pub fn list_metrics(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let req: ListMetricsInput = input(body)?;
    let filters = req.dimensions.unwrap_or_default();
    if filters.len() > 10 {
        return Err(invalid("The collection Dimensions must not contain more than 10 items."));
    }
    let mut wanted: Vec<(String, Option<String>)> = Vec::new();
    for (i, f) in filters.into_iter().enumerate() {
        wanted.push((required(f.name, &format!("Dimensions.member.{}.Name", i + 1))?, f.value));
    }
    let since = match req.recently_active.as_deref() {
        None => None,
        Some("PT3H") => Some(store.now().0 - 3 * 60 * MINUTE_MILLIS),
        Some(other) => return Err(invalid(format!("The value {other} for parameter RecentlyActive is invalid."))),
    };
    let after = match req.next_token.as_deref() {
        None | Some("") => None,
        Some(token) => Some(
            hex::decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| EcsError::new(ErrorKind::InvalidNextToken, "The NextToken is not valid."))?,
        ),
    };
    // Pages resume after the last metric's position, in position order.
    let mut metrics: Vec<(String, MetricKey, i64)> = store
        .metrics
        .list()
        .into_iter()
        .map(|(key, latest)| (format!("{}\u{0}{}\u{0}{:?}", key.namespace, key.name, key.dimensions), key, latest))
        .collect();
    metrics.sort_by(|a, b| a.0.cmp(&b.0));
    let mut matching = metrics.into_iter().filter(|(position, key, latest)| {
        after.as_ref().is_none_or(|a| position > a)
            && req.namespace.as_deref().is_none_or(|n| n == key.namespace)
            && req.metric_name.as_deref().is_none_or(|n| n == key.name)
            && since.is_none_or(|s| *latest >= s)
            && wanted.iter().all(|(name, value)| {
                key.dimensions.iter().any(|(n, v)| n == name && value.as_ref().is_none_or(|want| want == v))
            })
    });
    let page: Vec<(String, MetricKey, i64)> = matching.by_ref().take(LIST_PAGE).collect();
    let more = matching.next().is_some();
    let listed: Vec<Value> = page
        .iter()
        .map(|(_, key, _)| {
            let dims: Vec<Value> = key.dimensions.iter().map(|(n, v)| json!({ "Name": n, "Value": v })).collect();
            json!({ "Namespace": key.namespace, "MetricName": key.name, "Dimensions": dims })
        })
        .collect();
    let mut out = json!({ "Metrics": listed });
    if more && let Some((position, _, _)) = page.last() {
        out["NextToken"] = json!(hex::encode(position));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StatisticValues {
    #[serde(default, deserialize_with = "lenient::float")]
    sample_count: Option<f64>,
    #[serde(default, deserialize_with = "lenient::float")]
    sum: Option<f64>,
    #[serde(default, deserialize_with = "lenient::float")]
    minimum: Option<f64>,
    #[serde(default, deserialize_with = "lenient::float")]
    maximum: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricDatum {
    metric_name: Option<String>,
    dimensions: Option<Vec<Dimension>>,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    timestamp: Option<i64>,
    #[serde(default, deserialize_with = "lenient::float")]
    value: Option<f64>,
    statistic_values: Option<StatisticValues>,
    values: Option<Vec<Value>>,
    counts: Option<Vec<Value>>,
    unit: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutMetricDataInput {
    namespace: Option<String>,
    metric_data: Option<Vec<MetricDatum>>,
}

/// A number sent as JSON number or query text.
fn number(value: &Value, member: &str) -> EcsResult<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n: &f64| n.is_finite())
        .ok_or_else(|| invalid(format!("The value for parameter {member} is not a number.")))
}

/// One datum's statistics: a value, a statistic set, or values with counts.
fn datum_set(d: &MetricDatum, at: &str) -> EcsResult<StatSet> {
    match (&d.value, &d.statistic_values, &d.values) {
        (Some(v), None, None) if v.is_finite() => Ok(StatSet::of(*v)),
        (Some(_), None, None) => Err(invalid(format!("The value for parameter {at}.Value is not a number."))),
        (None, Some(s), None) => Ok(StatSet {
            count: required(s.sample_count, &format!("{at}.StatisticValues.SampleCount"))?,
            sum: required(s.sum, &format!("{at}.StatisticValues.Sum"))?,
            min: required(s.minimum, &format!("{at}.StatisticValues.Minimum"))?,
            max: required(s.maximum, &format!("{at}.StatisticValues.Maximum"))?,
        }),
        (None, None, Some(values)) if !values.is_empty() => {
            let counts = d.counts.clone().unwrap_or_default();
            if !counts.is_empty() && counts.len() != values.len() {
                return Err(combination(format!(
                    "The parameters {at}.Values and {at}.Counts must be of the same size."
                )));
            }
            let mut set: Option<StatSet> = None;
            for (i, v) in values.iter().enumerate() {
                let v = number(v, &format!("{at}.Values.member.{}", i + 1))?;
                let c = match counts.get(i) {
                    Some(c) => number(c, &format!("{at}.Counts.member.{}", i + 1))?,
                    None => 1.0,
                };
                let one = StatSet { count: c, sum: v * c, min: v, max: v };
                match set.as_mut() {
                    Some(s) => s.merge(&one),
                    None => set = Some(one),
                }
            }
            set.ok_or_else(|| missing(&format!("{at}.Values")))
        }
        (None, None, None) | (None, None, Some(_)) => Err(missing(&format!("{at}.Value"))),
        _ => Err(combination(format!(
            "The parameters {at}.Value, {at}.StatisticValues and {at}.Values are mutually exclusive."
        ))),
    }
}

/// PutMetricData: custom metrics into the same store (a namespace of
/// AWS's own, `AWS/...`, is refused as CloudWatch does).
pub fn put_metric_data(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let req: PutMetricDataInput = input(body)?;
    let namespace = namespace(req.namespace, "Namespace")?;
    if namespace.starts_with("AWS/") {
        return Err(invalid("The value AWS/ for parameter Namespace is invalid."));
    }
    let data = req.metric_data.filter(|d| !d.is_empty()).ok_or_else(|| missing("MetricData"))?;
    if data.len() > MAX_DATUMS {
        return Err(invalid(format!("The collection MetricData must not contain more than {MAX_DATUMS} items.")));
    }
    let now = store.now().0;
    let mut checked = Vec::new();
    for (i, d) in data.into_iter().enumerate() {
        let at = format!("MetricData.member.{}", i + 1);
        let name = required(d.metric_name.clone(), &format!("{at}.MetricName"))?;
        length(&name, &format!("{at}.MetricName"), 255)?;
        let when = d.timestamp.unwrap_or(now);
        if when > now + 2 * 60 * MINUTE_MILLIS {
            return Err(invalid(format!(
                "The parameter {at}.Timestamp must specify a time no more than two hours in the future."
            )));
        }
        if when < now - 14 * DAY_MILLIS {
            return Err(invalid(format!(
                "The parameter {at}.Timestamp must specify a time within the past two weeks."
            )));
        }
        let unit = d.unit.clone().unwrap_or_else(|| "None".to_owned());
        one_of(&unit, &format!("{at}.Unit"), UNITS)?;
        let set = datum_set(&d, &at)?;
        let dimensions = dimensions(d.dimensions, &format!("{at}.Dimensions"))?;
        checked.push((MetricKey::new(&namespace, &name, dimensions), unit, when, set));
    }
    for (key, unit, when, set) in checked {
        store.metrics.record(key, &unit, when, set, now);
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(1_441), "1,441");
        assert_eq!(thousands(16_666), "16,666");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn periods_follow_cloudwatch() {
        for ok in [1, 5, 10, 20, 30, 60, 120, 3600] {
            assert!(period(ok, "Period").is_ok(), "{ok}");
        }
        for bad in [0, 2, 59, 61, 90, -60] {
            assert_eq!(period(bad, "Period").unwrap_err().kind, ErrorKind::InvalidParameterValueException, "{bad}");
        }
    }

    #[test]
    fn old_start_times_round_coarser() {
        let now = 100 * DAY_MILLIS;
        assert_eq!(origin(now - 61_000, now), now - 120_000);
        let month = now - 20 * DAY_MILLIS - 90_000;
        assert_eq!(origin(month, now) % (5 * MINUTE_MILLIS), 0);
        assert_eq!(origin(now - 70 * DAY_MILLIS - 1, now) % (60 * MINUTE_MILLIS), 0);
    }
}
