//! A service's count timeline, what the console draws: one [`Sample`] per
//! deployment each time its running, pending or desired count, its status
//! or its rollout state changes (never one per tick), and [`Marker`]s for
//! what happened to the rollout (the circuit breaker tripping, an alarm
//! failing it, a rollback, a Spot interruption) with ECS's words for it.
//!
//! It is bounded ([`SAMPLES`], [`MARKERS`]: the oldest go first) and kept on
//! the service's entry, so it is journaled and snapshotted with the service.
//! It lives beside the scheduler's bookkeeping rather than in it because
//! each scheduling pass works on a copy of that bookkeeping, and the
//! timeline would be copied with it. Times are epoch milliseconds: this
//! file stands below `records.rs`, which holds it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Samples kept per service: a few dozen rollouts (at most about 55 KB of
/// JSON, which each journaled write of the service carries).
pub const SAMPLES: usize = 256;
/// Markers kept per service.
pub const MARKERS: usize = 64;

/// One deployment's counts from `at` until its next sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Epoch milliseconds.
    pub at: i64,
    pub deployment: String,
    /// PRIMARY, ACTIVE, or INACTIVE once it left `deployments[]`.
    pub status: String,
    pub running: i64,
    pub pending: i64,
    pub desired: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    #[serde(default)]
    pub failed_tasks: i64,
}

impl Sample {
    /// Whether `other` tells something this sample does not (its time aside).
    pub fn differs(&self, other: &Sample) -> bool {
        (self.status.as_str(), self.running, self.pending, self.desired, &self.rollout_state, self.failed_tasks)
            != (
                other.status.as_str(),
                other.running,
                other.pending,
                other.desired,
                &other.rollout_state,
                other.failed_tasks,
            )
    }
}

/// What a marker marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkerKind {
    /// The deployment circuit breaker failed the deployment.
    CircuitBreaker,
    /// A deployment alarm in ALARM failed the deployment.
    Alarm,
    /// The failed deployment was rolled back to `to`.
    Rollback,
    /// A Fargate Spot task of the deployment was interrupted.
    SpotInterruption,
}

impl MarkerKind {
    /// Words for people (the console's legend).
    pub fn label(self) -> &'static str {
        match self {
            Self::CircuitBreaker => "circuit breaker",
            Self::Alarm => "alarm",
            Self::Rollback => "rollback",
            Self::SpotInterruption => "Spot interruption",
        }
    }

    /// The serialized name (`circuit-breaker`), for attributes and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::CircuitBreaker => "circuit-breaker",
            Self::Alarm => "alarm",
            Self::Rollback => "rollback",
            Self::SpotInterruption => "spot-interruption",
        }
    }
}

/// Something that happened to a deployment at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Marker {
    /// Epoch milliseconds.
    pub at: i64,
    pub kind: MarkerKind,
    /// The deployment it happened to (the failed one, for a rollback).
    pub deployment: String,
    /// A rollback's target deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// ECS's words: the rollout state reason, the event, the stopped reason.
    pub reason: String,
    /// A Spot interruption's task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
}

/// A service's samples and markers, oldest first, each bounded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    #[serde(default)]
    pub samples: VecDeque<Sample>,
    #[serde(default)]
    pub markers: VecDeque<Marker>,
    /// The latest sample of each deployment still listed on the service:
    /// what the next observation is compared with (a lane whose deployment
    /// left gets a closing sample).
    #[serde(default)]
    pub open: Vec<Sample>,
}

impl Timeline {
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.markers.is_empty() && self.open.is_empty()
    }

    /// Adds a sample, dropping the oldest past [`SAMPLES`].
    pub fn push_sample(&mut self, sample: Sample) {
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// Adds a marker, dropping the oldest past [`MARKERS`].
    pub fn push_marker(&mut self, marker: Marker) {
        if self.markers.len() == MARKERS {
            self.markers.pop_front();
        }
        self.markers.push_back(marker);
    }

    /// Whether a marker of `kind` for `deployment` is kept.
    pub fn has_marker(&self, kind: MarkerKind, deployment: &str) -> bool {
        self.markers.iter().any(|m| m.kind == kind && m.deployment == deployment)
    }
}

/// A PRIMARY, IN_PROGRESS sample of 2 desired tasks, for tests.
#[cfg(test)]
pub fn sample(at: i64, deployment: &str, running: i64) -> Sample {
    Sample {
        at,
        deployment: deployment.into(),
        status: "PRIMARY".into(),
        running,
        pending: 0,
        desired: 2,
        rollout_state: Some("IN_PROGRESS".into()),
        failed_tasks: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: i64, running: i64) -> Sample {
        super::sample(at, "ecs-svc/1", running)
    }

    #[test]
    fn the_oldest_samples_and_markers_go_first() {
        let mut timeline = Timeline::default();
        for at in 0..(SAMPLES as i64 + 3) {
            timeline.push_sample(sample(at, at));
        }
        assert_eq!(timeline.samples.len(), SAMPLES);
        assert_eq!(timeline.samples.front().map(|s| s.at), Some(3));
        for at in 0..(MARKERS as i64 + 1) {
            timeline.push_marker(Marker {
                at,
                kind: MarkerKind::SpotInterruption,
                deployment: format!("ecs-svc/{at}"),
                to: None,
                reason: "Your Spot Task was interrupted.".into(),
                task: None,
            });
        }
        assert_eq!(timeline.markers.len(), MARKERS);
        assert!(!timeline.has_marker(MarkerKind::SpotInterruption, "ecs-svc/0"));
        assert!(timeline.has_marker(MarkerKind::SpotInterruption, "ecs-svc/1"));
    }

    #[test]
    fn a_sample_differs_by_its_counts_and_states_not_its_time() {
        assert!(!sample(1, 1).differs(&sample(2, 1)));
        assert!(sample(1, 1).differs(&sample(1, 2)));
        let mut failed = sample(1, 1);
        failed.rollout_state = Some("FAILED".into());
        assert!(sample(1, 1).differs(&failed));
    }
}
