//! CloudWatch's metric store: per metric (namespace, name, dimensions),
//! one statistic set (count, sum, minimum, maximum) per minute, for the
//! last [`RETENTION_MILLIS`]. ECS's `AWS/ECS` utilisation is sampled
//! into it once a minute ([`crate::emulator::sim::metrics`]); CloudWatch's
//! reads ([`crate::emulator::api`]'s CloudWatch handlers) aggregate the
//! minutes into their periods.
//!
//! In memory only, like the loads it is computed from: a restarted
//! emulator starts with no history, as a new account would.

use std::collections::BTreeMap;
use std::sync::RwLock;

use crate::emulator::state::locks::{read, write};

/// One minute's samples are kept a day: enough for any test and for a
/// person looking at the last hours, bounded (1,440 minutes per metric).
/// CloudWatch keeps one-minute data 15 days; older questions find nothing.
pub const RETENTION_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// The resolution of the store.
pub const MINUTE_MILLIS: i64 = 60_000;

/// A metric's identity: CloudWatch treats each combination of dimensions
/// as its own metric. Dimensions are kept sorted by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricKey {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl MetricKey {
    pub fn new(namespace: &str, name: &str, mut dimensions: Vec<(String, String)>) -> Self {
        dimensions.sort();
        Self { namespace: namespace.to_owned(), name: name.to_owned(), dimensions }
    }
}

/// The statistics of some values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatSet {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl StatSet {
    pub fn of(value: f64) -> Self {
        Self { count: 1.0, sum: value, min: value, max: value }
    }

    pub fn merge(&mut self, other: &StatSet) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// One of CloudWatch's five statistics.
    pub fn statistic(&self, name: &str) -> Option<f64> {
        match name {
            "SampleCount" => Some(self.count),
            "Sum" => Some(self.sum),
            "Minimum" => Some(self.min),
            "Maximum" => Some(self.max),
            "Average" if self.count > 0.0 => Some(self.sum / self.count),
            _ => None,
        }
    }
}

/// One metric's minutes.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub unit: String,
    /// By the minute's start, epoch milliseconds.
    pub minutes: BTreeMap<i64, StatSet>,
}

/// Every metric's minutes.
#[derive(Debug, Default)]
pub struct Metrics {
    series: RwLock<BTreeMap<MetricKey, Series>>,
    /// The last minute ECS's utilisation was sampled for.
    sampled: RwLock<Option<i64>>,
}

impl Metrics {
    /// Adds `set` to `key`'s minute holding `at`, and forgets what is
    /// older than the retention before `now`.
    pub fn record(&self, key: MetricKey, unit: &str, at: i64, set: StatSet, now: i64) {
        let minute = at.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
        let mut all = write(&self.series);
        let series = all.entry(key).or_insert_with(|| Series { unit: unit.to_owned(), minutes: BTreeMap::new() });
        series.unit = unit.to_owned();
        series.minutes.entry(minute).and_modify(|s| s.merge(&set)).or_insert(set);
        let horizon = now - RETENTION_MILLIS;
        if series.minutes.first_key_value().is_some_and(|(m, _)| *m < horizon) {
            series.minutes.retain(|m, _| *m >= horizon);
        }
    }

    /// `key`'s unit and minutes in `[from, to)`.
    pub fn minutes(&self, key: &MetricKey, from: i64, to: i64) -> Option<(String, Vec<(i64, StatSet)>)> {
        let all = read(&self.series);
        let series = all.get(key)?;
        let minutes = series.minutes.range(from..to.max(from)).map(|(m, s)| (*m, *s)).collect();
        Some((series.unit.clone(), minutes))
    }

    /// Every metric with its latest minute.
    pub fn list(&self) -> Vec<(MetricKey, i64)> {
        read(&self.series)
            .iter()
            .filter_map(|(k, s)| s.minutes.last_key_value().map(|(m, _)| (k.clone(), *m)))
            .collect()
    }

    /// Claims the minute holding `now` for sampling: true the first time
    /// only, so each minute is sampled once.
    pub fn claim_minute(&self, now: i64) -> bool {
        let minute = now.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
        let mut sampled = write(&self.sampled);
        if sampled.is_some_and(|m| m >= minute) {
            return false;
        }
        *sampled = Some(minute);
        true
    }

    /// The next minute to sample, after the one sampled last.
    pub fn next_minute(&self, now: i64) -> i64 {
        let current = now.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
        match *read(&self.sampled) {
            Some(m) if m >= current => current + MINUTE_MILLIS,
            _ => current,
        }
    }

    pub fn clear(&self) {
        write(&self.series).clear();
        *write(&self.sampled) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MetricKey {
        MetricKey::new(
            "AWS/ECS",
            "CPUUtilization",
            vec![("ServiceName".into(), "web".into()), ("ClusterName".into(), "c".into())],
        )
    }

    #[test]
    fn minutes_merge_and_expire() {
        let metrics = Metrics::default();
        metrics.record(key(), "Percent", 60_000, StatSet::of(10.0), 60_000);
        metrics.record(key(), "Percent", 119_999, StatSet::of(30.0), 119_999);
        let (unit, minutes) = metrics.minutes(&key(), 0, 120_000).unwrap();
        assert_eq!(unit, "Percent");
        assert_eq!(minutes, vec![(60_000, StatSet { count: 2.0, sum: 40.0, min: 10.0, max: 30.0 })]);
        assert_eq!(minutes[0].1.statistic("Average"), Some(20.0));
        metrics.record(key(), "Percent", RETENTION_MILLIS + 120_000, StatSet::of(1.0), RETENTION_MILLIS + 120_000);
        let (_, minutes) = metrics.minutes(&key(), 0, i64::MAX).unwrap();
        assert_eq!(minutes.len(), 1, "the minute older than a day is gone");
    }

    #[test]
    fn each_minute_is_claimed_once() {
        let metrics = Metrics::default();
        assert_eq!(metrics.next_minute(61_000), 60_000);
        assert!(metrics.claim_minute(61_000));
        assert!(!metrics.claim_minute(119_000));
        assert_eq!(metrics.next_minute(119_000), 120_000);
        assert!(metrics.claim_minute(120_000));
    }
}
