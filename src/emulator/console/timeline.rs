//! The service timeline as SVG, drawn on the server: one lane per
//! deployment with its running (solid), desired (dashed) and pending
//! (dotted) counts as steps over time, its rollout state where it changed,
//! and the markers (circuit breaker, alarm, rollback, Spot interruption)
//! as vertical rules. Every lane and marker carries its numbers in `data-`
//! attributes and a `<title>`, so people hovering and tests reading the DOM
//! see the same values.

use maud::{Markup, html};

use super::layout::instant;
use crate::emulator::state::timeline::{Marker, MarkerKind, Sample, Timeline};

const WIDTH: f64 = 960.0;
const LABELS: f64 = 210.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 8.0;
const LANE: f64 = 124.0;
const AXIS: f64 = 30.0;

const RUNNING: &str = "#1d4ed8";
const DESIRED: &str = "#111827";
const PENDING: &str = "#b45309";
const TEXT: &str = "#1f2937";

fn marker_colour(kind: MarkerKind) -> &'static str {
    match kind {
        MarkerKind::CircuitBreaker => "#b91c1c",
        MarkerKind::Alarm => "#9d174d",
        MarkerKind::Rollback => "#6d28d9",
        MarkerKind::SpotInterruption => "#c2410c",
    }
}

/// One deployment's samples, in order.
pub struct Lane<'a> {
    pub deployment: &'a str,
    pub samples: Vec<&'a Sample>,
}

impl Lane<'_> {
    /// Its latest sample (a lane has at least one).
    pub fn last(&self) -> &Sample {
        self.samples[self.samples.len() - 1]
    }
}

/// The lanes, in the order their deployments first appear.
pub fn lanes(timeline: &Timeline) -> Vec<Lane<'_>> {
    let mut lanes: Vec<Lane> = Vec::new();
    for s in &timeline.samples {
        match lanes.iter_mut().find(|l| l.deployment == s.deployment) {
            Some(lane) => lane.samples.push(s),
            None => lanes.push(Lane { deployment: &s.deployment, samples: vec![s] }),
        }
    }
    lanes
}

/// Seconds between axis ticks, so that about six fit `span` milliseconds.
fn tick_step(span: i64) -> i64 {
    const STEPS: [i64; 14] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    let seconds = span / 1000;
    STEPS.iter().copied().find(|step| seconds / step <= 6).unwrap_or(86_400)
}

/// `+75 s` or `+12 min`.
fn offset(millis: i64) -> String {
    let seconds = millis as f64 / 1000.0;
    if seconds >= 600.0 { format!("+{:.0} min", seconds / 60.0) } else { format!("+{seconds:.0} s") }
}

fn counts(s: &Sample) -> String {
    let mut text =
        format!("{} {}: running {}, pending {}, desired {}", s.deployment, s.status, s.running, s.pending, s.desired);
    if let Some(state) = &s.rollout_state {
        text.push_str(&format!(", rollout {state}"));
    }
    if s.failed_tasks > 0 {
        text.push_str(&format!(", {} failed tasks", s.failed_tasks));
    }
    text
}

/// Where a lane's small labels go: four rows above its plot, each label
/// in the first row free at its x (else the row that frees first), so
/// labels of things that happened together do not overprint.
struct Rows {
    ends: [f64; LABEL_ROWS],
}

const LABEL_ROWS: usize = 4;
/// Height of a label row; the first row's baseline is one row below the
/// lane's top.
const ROW: f64 = 11.0;

impl Rows {
    fn place(&mut self, x: f64, text: &str) -> usize {
        let width = text.chars().count() as f64 * 6.0 + 8.0;
        let row = (0..LABEL_ROWS)
            .find(|r| self.ends[*r] <= x)
            .unwrap_or_else(|| (0..LABEL_ROWS).min_by(|a, b| self.ends[*a].total_cmp(&self.ends[*b])).unwrap_or(0));
        self.ends[row] = x + width;
        row
    }
}

/// A label above a lane: a rollout state or a marker's kind.
struct Label<'a> {
    at: i64,
    text: &'a str,
    /// The rollout state it names, for `data-rollout-state`.
    rollout: Option<&'a str>,
    /// The marker it names (index in the timeline's markers).
    marker: Option<usize>,
}

/// The timeline of a service; `label` names a lane's deployment (its task
/// definition, say), `now` is the right edge.
pub fn svg(service: &str, timeline: &Timeline, label: &dyn Fn(&str) -> String, now: i64) -> Markup {
    let lanes = lanes(timeline);
    let first = timeline.samples.front().map(|s| s.at).into_iter().chain(timeline.markers.iter().map(|m| m.at)).min();
    let start = first.unwrap_or(now);
    let last = timeline
        .samples
        .back()
        .map_or(start, |s| s.at)
        .max(timeline.markers.iter().map(|m| m.at).max().unwrap_or(start));
    let end = now.max(last).max(start + 1000);
    let plot = WIDTH - LABELS - RIGHT;
    let x = |at: i64| LABELS + plot * (at - start) as f64 / (end - start) as f64;
    let top = lanes
        .iter()
        .flat_map(|l| &l.samples)
        .map(|s| s.running.max(s.pending).max(s.desired))
        .max()
        .unwrap_or(1)
        .max(1);
    let height = TOP + LANE * lanes.len().max(1) as f64 + AXIS;
    let step = tick_step(end - start) * 1000;
    let ticks: Vec<i64> = (0..).map(|i| start + i * step).take_while(|t| *t <= end).collect();
    let lane_of = |deployment: &str| lanes.iter().position(|l| l.deployment == deployment);
    // A rollback is drawn on the lane it rolls back to, when there is one.
    let lane_of_marker = |m: &Marker| m.to.as_deref().and_then(&lane_of).or_else(|| lane_of(&m.deployment));
    // Each lane's labels, placed in time order.
    let placed: Vec<Vec<(Label, usize)>> = lanes
        .iter()
        .enumerate()
        .map(|(i, lane)| {
            let mut labels: Vec<Label> = Vec::new();
            for (j, s) in lane.samples.iter().enumerate() {
                let changed = j == 0 || lane.samples[j - 1].rollout_state != s.rollout_state;
                if let Some(state) = s.rollout_state.as_deref().filter(|_| changed) {
                    labels.push(Label { at: s.at, text: state, rollout: Some(state), marker: None });
                }
            }
            for (k, m) in timeline.markers.iter().enumerate().filter(|(_, m)| lane_of_marker(m) == Some(i)) {
                labels.push(Label { at: m.at, text: m.kind.label(), rollout: None, marker: Some(k) });
            }
            labels.sort_by_key(|l| (l.at, l.marker.is_some()));
            let mut rows = Rows { ends: [f64::MIN; LABEL_ROWS] };
            labels
                .into_iter()
                .map(|l| {
                    let row = rows.place(x(l.at), l.text);
                    (l, row)
                })
                .collect()
        })
        .collect();
    let description = format!(
        "Deployments of service {service} from {} to {}: {} lanes, {} markers.",
        instant(start),
        instant(end),
        lanes.len(),
        timeline.markers.len()
    );
    html! {
        svg.timeline xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="timeline-title timeline-desc"
            width=(WIDTH) height=(height) viewBox=(format!("0 0 {WIDTH} {height}"))
            data-start=(start) data-end=(end) data-lanes=(lanes.len()) {
            title id="timeline-title" { "Deployment timeline of " (service) }
            desc id="timeline-desc" { (description) }
            rect x="0" y="0" width=(WIDTH) height=(height) fill="#ffffff" {}
            // The axis: ticks relative to the first sample.
            @for t in &ticks {
                line x1=(x(*t)) x2=(x(*t)) y1=(TOP) y2=(height - AXIS) stroke="#e5e7eb" {}
                text x=(x(*t)) y=(height - AXIS + 16.0) font-size="11" text-anchor="middle" fill=(TEXT) { (offset(t - start)) }
            }
            @if lanes.is_empty() {
                text x=(LABELS) y=(TOP + 30.0) font-size="13" fill=(TEXT) { "No deployment yet." }
            }
            @for (i, lane) in lanes.iter().enumerate() {
                @let lane_top = TOP + LANE * i as f64;
                @let plot_top = lane_top + ROW * (LABEL_ROWS as f64 + 0.6);
                @let base = lane_top + LANE - 12.0;
                @let y = |v: i64| base - (base - plot_top) * v as f64 / top as f64;
                @let now_s = lane.last();
                @let closed = now_s.status == "INACTIVE";
                @let lane_end = if closed { now_s.at } else { end };
                g.lane data-deployment=(lane.deployment) data-status=(now_s.status) data-running=(now_s.running)
                    data-pending=(now_s.pending) data-desired=(now_s.desired)
                    data-rollout-state=(now_s.rollout_state.as_deref().unwrap_or(""))
                    data-failed-tasks=(now_s.failed_tasks) data-samples=(lane.samples.len()) {
                    title { (counts(now_s)) }
                    @if i > 0 {
                        line x1="0" x2=(WIDTH) y1=(lane_top) y2=(lane_top) stroke="#e5e7eb" {}
                    }
                    line x1=(LABELS) x2=(WIDTH - RIGHT) y1=(base) y2=(base) stroke="#9ca3af" {}
                    text x="8" y=(lane_top + 24.0) font-size="12" font-weight="600" fill=(TEXT) { (lane.deployment) }
                    text x="8" y=(lane_top + 42.0) font-size="11" fill=(TEXT) { (label(lane.deployment)) }
                    text x="8" y=(lane_top + 60.0) font-size="11" fill=(TEXT) {
                        (now_s.status) " · " (now_s.running) "/" (now_s.desired) " running"
                    }
                    path d=(steps(&lane.samples, &x, &y, lane_end, |s| s.desired)) fill="none" stroke=(DESIRED)
                        stroke-width="1.5" stroke-dasharray="6 4" {}
                    path d=(steps(&lane.samples, &x, &y, lane_end, |s| s.pending)) fill="none" stroke=(PENDING)
                        stroke-width="2" stroke-dasharray="2 3" {}
                    path d=(steps(&lane.samples, &x, &y, lane_end, |s| s.running)) fill="none" stroke=(RUNNING)
                        stroke-width="2.5" {}
                    @for s in &lane.samples {
                        circle.sample cx=(x(s.at)) cy=(y(s.running)) r="3" fill=(RUNNING) data-at=(s.at)
                            data-running=(s.running) data-pending=(s.pending) data-desired=(s.desired) {
                            title { (offset(s.at - start)) ": " (counts(s)) }
                        }
                    }
                    @for (l, row) in &placed[i] {
                        @let ly = lane_top + ROW * (*row as f64 + 1.0);
                        @if let Some(state) = l.rollout {
                            line x1=(x(l.at)) x2=(x(l.at)) y1=(ly + 2.0) y2=(plot_top) stroke="#9ca3af" stroke-width="1" {}
                            text.rollout x=(x(l.at) + 3.0) y=(ly) font-size="10" fill=(TEXT) data-rollout-state=(state) { (state) }
                        }
                        @if let Some(m) = l.marker.and_then(|k| timeline.markers.get(k)) {
                            (marker(m, x(l.at), ly, base, start))
                        }
                    }
                }
            }
            // Markers whose deployment's samples were dropped span every lane.
            @for m in timeline.markers.iter().filter(|m| lane_of_marker(m).is_none()) {
                (marker(m, x(m.at), TOP + ROW, height - AXIS, start))
            }
        }
    }
}

/// A marker: a rule from its label row `label_y` down to `bottom`.
fn marker(m: &Marker, x: f64, label_y: f64, bottom: f64, start: i64) -> Markup {
    let colour = marker_colour(m.kind);
    html! {
        g.marker data-kind=(m.kind.name()) data-deployment=(m.deployment) data-at=(m.at) data-reason=(m.reason) {
            title { (m.kind.label()) " at " (offset(m.at - start)) ": " (m.reason) }
            line x1=(x) x2=(x) y1=(label_y + 2.0) y2=(bottom) stroke=(colour) stroke-width="2.5" {}
            polygon points=(format!("{},{} {},{} {},{}", x - 5.0, label_y - 8.0, x + 5.0, label_y - 8.0, x, label_y + 1.0))
                fill=(colour) {}
            text x=(x + 7.0) y=(label_y) font-size="10" font-weight="600" fill=(TEXT) { (m.kind.label()) }
        }
    }
}

/// A step path of `value` over the lane's samples, held until `until`.
fn steps(
    samples: &[&Sample],
    x: &dyn Fn(i64) -> f64,
    y: &dyn Fn(i64) -> f64,
    until: i64,
    value: fn(&Sample) -> i64,
) -> String {
    let mut d = String::new();
    for (i, s) in samples.iter().enumerate() {
        if i == 0 {
            d.push_str(&format!("M{:.1} {:.1}", x(s.at), y(value(s))));
        } else {
            d.push_str(&format!(" H{:.1} V{:.1}", x(s.at), y(value(s))));
        }
    }
    if let Some(last) = samples.last()
        && until > last.at
    {
        d.push_str(&format!(" H{:.1}", x(until)));
    }
    d
}

/// The key to the lines and markers, as HTML beside the figure.
pub fn legend() -> Markup {
    let swatch = |colour: &str, dash: &str| {
        html! {
            svg width="28" height="10" aria-hidden="true" focusable="false" {
                line x1="0" x2="28" y1="5" y2="5" stroke=(colour) stroke-width="2.5" stroke-dasharray=(dash) {}
            }
        }
    };
    html! {
        ul.legend aria-label="Legend" {
            li { (swatch(RUNNING, "")) " running" }
            li { (swatch(DESIRED, "6 4")) " desired" }
            li { (swatch(PENDING, "2 3")) " pending" }
            @for kind in [MarkerKind::CircuitBreaker, MarkerKind::Alarm, MarkerKind::Rollback, MarkerKind::SpotInterruption] {
                li { (swatch(marker_colour(kind), "")) " " (kind.label()) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::emulator::state::timeline::sample;

    #[test]
    fn lanes_follow_first_appearance_and_steps_hold_until_the_end() {
        let mut t = Timeline::default();
        t.push_sample(sample(0, "ecs-svc/1", 0));
        t.push_sample(sample(1000, "ecs-svc/2", 0));
        t.push_sample(sample(2000, "ecs-svc/1", 2));
        let lanes = lanes(&t);
        assert_eq!(lanes.iter().map(|l| l.deployment).collect::<Vec<_>>(), ["ecs-svc/1", "ecs-svc/2"]);
        assert_eq!(lanes[0].last().running, 2);
        let d = steps(&lanes[0].samples, &|at| at as f64 / 100.0, &|v| v as f64, 3000, |s| s.running);
        assert_eq!(d, "M0.0 0.0 H20.0 V2.0 H30.0");
    }

    #[test]
    fn ticks_are_few_and_round() {
        assert_eq!(tick_step(5_000), 1);
        assert_eq!(tick_step(60_000), 10);
        assert_eq!(tick_step(3_600_000), 600);
        let svg = svg("web", &Timeline::default(), &|_| String::new(), 0).into_string();
        assert!(svg.contains("No deployment yet."), "{svg}");
        assert!(svg.contains("<title id=\"timeline-title\">Deployment timeline of web</title>"), "{svg}");
    }
}
