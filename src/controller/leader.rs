//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several
//! replicas exactly one runs the reconcilers and writes to ECS.
//!
//! The algorithm is client-go's: the holder renews the Lease every retry
//! period; another replica takes it over only after it has seen the *same*
//! record, unchanged, for a whole lease duration, measured on its own monotonic
//! clock (so clock skew between machines does not matter). Writes use the
//! Lease's resourceVersion, so two candidates cannot both win one race. A
//! holder that cannot renew for `renew_deadline` (< lease duration) steps down
//! before anyone else may step up.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// Where the Lease lives and how it is timed.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    pub name: String,
    pub namespace: String,
    /// This replica's name in `holderIdentity`.
    pub identity: String,
    /// How long a Lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the holder keeps trying to renew before it steps down.
    pub renew_deadline: Duration,
    /// Time between attempts to acquire or renew.
    pub retry_period: Duration,
}

/// The part of a Lease that says who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    pub holder: Option<String>,
    pub renew_time: Option<Timestamp>,
    pub acquire_time: Option<Timestamp>,
    pub transitions: i32,
    pub duration: Duration,
}

impl LeaseRecord {
    fn from_lease(lease: &Lease) -> Self {
        let spec = lease.spec.clone().unwrap_or_default();
        Self {
            holder: spec.holder_identity.filter(|h| !h.is_empty()),
            renew_time: spec.renew_time.map(|t| t.0),
            acquire_time: spec.acquire_time.map(|t| t.0),
            transitions: spec.lease_transitions.unwrap_or(0),
            duration: Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0)),
        }
    }
}

/// A record as this replica last saw it, and when (by its own clock).
#[derive(Debug, Clone)]
pub struct Observation {
    pub record: LeaseRecord,
    pub seen_at: Instant,
}

/// What to do with the Lease as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Someone else holds a live Lease: wait.
    HeldBy(String),
    /// We hold it: renew.
    Renew,
    /// Free, released or expired: take it over.
    Acquire,
}

/// Decides from the current record and our last observation of it.
///
/// A record that changed since we last saw it is fresh by definition; an
/// unchanged one has expired when we have watched it not change for longer
/// than its own duration.
pub fn judge(current: &LeaseRecord, me: &str, previous: Option<&Observation>, now: Instant) -> Verdict {
    match &current.holder {
        None => Verdict::Acquire,
        Some(holder) if holder == me => Verdict::Renew,
        Some(holder) => match previous {
            Some(seen) if seen.record == *current && now.duration_since(seen.seen_at) >= current.duration => {
                Verdict::Acquire
            }
            _ => Verdict::HeldBy(holder.clone()),
        },
    }
}

/// One replica's view of the election.
pub struct LeaderElection {
    api: Api<Lease>,
    settings: LeaseSettings,
    observed: Option<Observation>,
}

impl LeaderElection {
    pub fn new(client: kube::Client, settings: LeaseSettings) -> Self {
        Self { api: Api::namespaced(client, &settings.namespace), settings, observed: None }
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.settings.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }

    /// One attempt: `Ok(true)` when we hold the Lease afterwards.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now_wall = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.settings.name.clone()),
                    namespace: Some(self.settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.settings.identity.clone()),
                    lease_duration_seconds: Some(self.lease_seconds()),
                    acquire_time: Some(MicroTime(now_wall)),
                    renew_time: Some(MicroTime(now_wall)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(err) => Err(err),
            };
        };
        let current = LeaseRecord::from_lease(&lease);
        let now = Instant::now();
        let verdict = judge(&current, &self.settings.identity, self.observed.as_ref(), now);
        if self.observed.as_ref().is_none_or(|seen| seen.record != current) {
            self.observed = Some(Observation { record: current.clone(), seen_at: now });
        }
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        match verdict {
            Verdict::HeldBy(_) => return Ok(false),
            Verdict::Renew => {}
            Verdict::Acquire => {
                spec.holder_identity = Some(self.settings.identity.clone());
                spec.acquire_time = Some(MicroTime(now_wall));
                spec.lease_transitions = Some(current.transitions + i32::from(current.holder.is_some()));
            }
        }
        spec.lease_duration_seconds = Some(self.lease_seconds());
        spec.renew_time = Some(MicroTime(now_wall));
        // `replace` carries the resourceVersion we read: a concurrent writer makes it fail with 409.
        match self.api.replace(&self.settings.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Gives the Lease up (on shutdown) so another replica can take over at once.
    pub async fn release(&mut self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self.api.replace(&self.settings.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Campaigns until `shutdown` turns true, publishing on `leader` whether
    /// this replica leads. Releases the Lease on the way out.
    pub async fn run(mut self, leader: watch::Sender<bool>, mut shutdown: watch::Receiver<bool>) {
        let mut last_renewal: Option<Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let attempt = tokio::time::timeout(self.settings.renew_deadline, self.try_acquire_or_renew()).await;
            let now = Instant::now();
            let leading = *leader.borrow();
            match attempt {
                Ok(Ok(true)) => {
                    last_renewal = Some(now);
                    if !leading {
                        tracing::info!(lease = %self.settings.name, identity = %self.settings.identity, "became leader");
                        leader.send_replace(true);
                    }
                }
                Ok(Ok(false)) => {
                    if leading {
                        tracing::warn!(lease = %self.settings.name, "another replica holds the lease; stepping down");
                        leader.send_replace(false);
                    }
                }
                Ok(Err(err)) => {
                    tracing::warn!(lease = %self.settings.name, error = %err, "could not acquire or renew the lease");
                    self.step_down_if_overdue(&leader, last_renewal, now);
                }
                Err(_elapsed) => {
                    tracing::warn!(lease = %self.settings.name, "lease update timed out");
                    self.step_down_if_overdue(&leader, last_renewal, now);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.retry_period) => {}
                _ = shutdown.changed() => {}
            }
        }
        if *leader.borrow() {
            leader.send_replace(false);
            if let Err(err) = self.release().await {
                tracing::warn!(error = %err, "could not release the lease");
            } else {
                tracing::info!(lease = %self.settings.name, "released the lease");
            }
        }
    }

    fn step_down_if_overdue(&self, leader: &watch::Sender<bool>, last_renewal: Option<Instant>, now: Instant) {
        let overdue = last_renewal.is_none_or(|t| now.duration_since(t) >= self.settings.renew_deadline);
        if *leader.borrow() && overdue {
            tracing::warn!(lease = %self.settings.name, "could not renew the lease in time; stepping down");
            leader.send_replace(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_by(holder: &str, renewed: i64) -> LeaseRecord {
        LeaseRecord {
            holder: Some(holder.to_owned()),
            renew_time: Some(Timestamp::from_second(renewed).unwrap()),
            acquire_time: Some(Timestamp::from_second(0).unwrap()),
            transitions: 0,
            duration: Duration::from_secs(15),
        }
    }

    #[test]
    fn a_free_lease_is_taken() {
        let mut record = held_by("a", 1);
        record.holder = None;
        assert_eq!(judge(&record, "b", None, Instant::now()), Verdict::Acquire);
    }

    #[test]
    fn our_own_lease_is_renewed() {
        assert_eq!(judge(&held_by("me", 1), "me", None, Instant::now()), Verdict::Renew);
    }

    #[test]
    fn a_lease_seen_for_the_first_time_is_respected() {
        assert_eq!(judge(&held_by("a", 1), "b", None, Instant::now()), Verdict::HeldBy("a".to_owned()));
    }

    #[test]
    fn an_unchanged_lease_expires_after_its_duration_on_our_clock() {
        let start = Instant::now();
        let record = held_by("a", 1);
        let seen = Observation { record: record.clone(), seen_at: start };
        assert_eq!(judge(&record, "b", Some(&seen), start + Duration::from_secs(14)), Verdict::HeldBy("a".to_owned()));
        assert_eq!(judge(&record, "b", Some(&seen), start + Duration::from_secs(15)), Verdict::Acquire);
    }

    #[test]
    fn a_renewed_lease_does_not_expire() {
        let start = Instant::now();
        let seen = Observation { record: held_by("a", 1), seen_at: start };
        // The holder renewed (renewTime moved) even though our clock says 20 s passed.
        assert_eq!(
            judge(&held_by("a", 3), "b", Some(&seen), start + Duration::from_secs(20)),
            Verdict::HeldBy("a".to_owned())
        );
    }
}
