//! Application Auto Scaling's arithmetic, as pure functions: the capacity
//! target tracking asks for, what a step scaling policy's steps make of a
//! breach, and the min/max clamp. The simulation
//! ([`crate::emulator::sim::autoscaling`]) decides when they apply.

use crate::emulator::state::scaling::StepScaling;

/// Target tracking's new capacity: proportional to how far the metric is
/// from the target, rounded up (AWS rounds so it never under-provisions):
/// `ceil(current × metric / target)`. With no tasks there is no metric to
/// be proportional to, so nothing changes.
pub fn tracking_capacity(current: i64, metric: f64, target: f64) -> i64 {
    if current <= 0 || target.is_nan() || target <= 0.0 || !metric.is_finite() {
        return current;
    }
    let wanted = (current as f64 * metric / target).ceil();
    if wanted >= i64::MAX as f64 { i64::MAX } else { wanted.max(0.0) as i64 }
}

/// `n` within `[min, max]`.
pub fn clamp(n: i64, min: i64, max: i64) -> i64 {
    n.max(min).min(max.max(min))
}

/// What a step scaling policy makes of a breach (the metric minus the
/// alarm's threshold): the step whose interval holds it (lower bound
/// inclusive, upper bound exclusive; an absent bound is infinite) applied
/// to `current` by the adjustment type. `None` when no step holds it.
///
/// `PercentChangeInCapacity` follows AWS's rounding: a change between -1
/// and 1 becomes -1 or 1, a larger one is truncated toward zero, and
/// `MinAdjustmentMagnitude` is the least change made.
pub fn step_capacity(config: &StepScaling, current: i64, breach: f64) -> Option<i64> {
    let step = config.step_adjustments.as_deref()?.iter().find(|s| {
        s.metric_interval_lower_bound.is_none_or(|l| breach >= l)
            && s.metric_interval_upper_bound.is_none_or(|u| breach < u)
    })?;
    let adjustment = step.scaling_adjustment;
    Some(match config.adjustment_type.as_deref() {
        Some("ExactCapacity") => adjustment,
        Some("PercentChangeInCapacity") => {
            let raw = current as f64 * adjustment as f64 / 100.0;
            let mut change = if raw > 0.0 && raw < 1.0 {
                1
            } else if raw < 0.0 && raw > -1.0 {
                -1
            } else {
                raw.trunc() as i64
            };
            if let Some(least) = config.min_adjustment_magnitude
                && change.abs() < least
            {
                change = least * change.signum();
            }
            current.saturating_add(change)
        }
        _ => current.saturating_add(adjustment),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::state::scaling::StepAdjustment;

    #[test]
    fn tracking_is_proportional_and_rounds_up() {
        assert_eq!(tracking_capacity(2, 90.0, 50.0), 4);
        assert_eq!(tracking_capacity(4, 20.0, 50.0), 2);
        assert_eq!(tracking_capacity(3, 51.0, 50.0), 4);
        assert_eq!(tracking_capacity(0, 90.0, 50.0), 0);
        assert_eq!(clamp(12, 1, 10), 10);
        assert_eq!(clamp(0, 1, 10), 1);
    }

    fn steps(kind: &str, list: &[(Option<f64>, Option<f64>, i64)]) -> StepScaling {
        StepScaling {
            adjustment_type: Some(kind.into()),
            step_adjustments: Some(
                list.iter()
                    .map(|(l, u, a)| StepAdjustment {
                        metric_interval_lower_bound: *l,
                        metric_interval_upper_bound: *u,
                        scaling_adjustment: *a,
                    })
                    .collect(),
            ),
            ..StepScaling::default()
        }
    }

    #[test]
    fn steps_pick_the_interval_holding_the_breach() {
        let config = steps("ChangeInCapacity", &[(Some(0.0), Some(10.0), 1), (Some(10.0), None, 3)]);
        assert_eq!(step_capacity(&config, 2, 5.0), Some(3));
        assert_eq!(step_capacity(&config, 2, 10.0), Some(5));
        assert_eq!(step_capacity(&config, 2, -1.0), None);
        let exact = steps("ExactCapacity", &[(None, None, 7)]);
        assert_eq!(step_capacity(&exact, 2, 0.0), Some(7));
    }

    #[test]
    fn percent_changes_round_as_aws_does() {
        let mut config = steps("PercentChangeInCapacity", &[(Some(0.0), None, 25)]);
        assert_eq!(step_capacity(&config, 2, 1.0), Some(3), "0.5 rounds to 1");
        assert_eq!(step_capacity(&config, 10, 1.0), Some(12), "2.5 truncates to 2");
        config.min_adjustment_magnitude = Some(4);
        assert_eq!(step_capacity(&config, 10, 1.0), Some(14));
        let down = steps("PercentChangeInCapacity", &[(None, Some(0.0), -50)]);
        assert_eq!(step_capacity(&down, 3, -5.0), Some(2), "-1.5 truncates to -1");
    }
}
