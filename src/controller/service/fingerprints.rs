//! What the EcsService watch lets through, to whom: one table for the two
//! filters on it.
//!
//! Two parts of the controller follow every EcsService the watch delivers:
//! its own reconciles, which care about the spec, finalizers, deletion and
//! the adoption annotation ([`super::service_trigger`]), and the clusters'
//! triggers, which care about the counts in its status
//! (`cluster::occupants::service_signal`). Each was a `predicate_filter`,
//! and each kept a table of every object's name, namespace and uid (three
//! strings) with its last fingerprint: two tables of 10,000 entries, about
//! 4 MiB. Here one table keeps both fingerprints, under a 64-bit hash of the
//! name, namespace and uid instead of the strings (no allocation per entry,
//! about 0.5 MiB).
//!
//! Two objects whose keys collide share an entry: each then sees the other's
//! fingerprints as its own last ones, which differ, so the collision can only
//! let an event through that nothing changed in, never hold back one
//! that changed something (unless the fingerprints collide too).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// How long an object's fingerprints are kept without an event for it: past
/// that its next event counts as a change (kube's `predicate_filter` default).
pub const TTL: Duration = Duration::from_secs(3600);

/// Which of an object's two fingerprints moved since its last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    /// What its reconcile looks at.
    pub trigger: bool,
    /// What the clusters' triggers look at.
    pub signal: bool,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    trigger: Option<u64>,
    signal: Option<u64>,
    at: Instant,
}

/// The last fingerprints of every object the watch delivered.
#[derive(Debug)]
pub struct Fingerprints {
    seen: HashMap<u64, Seen>,
    ttl: Duration,
    evicted_at: Instant,
}

impl Fingerprints {
    pub fn new(ttl: Duration, now: Instant) -> Self {
        Self { seen: HashMap::new(), ttl, evicted_at: now }
    }

    /// Records an event for the object of `meta` with these fingerprints
    /// (`None`: no fingerprint, the event always passes), and says which moved:
    /// both for an object not seen within the TTL (new, or recreated with a new uid).
    pub fn observe(&mut self, meta: &ObjectMeta, trigger: Option<u64>, signal: Option<u64>, now: Instant) -> Moved {
        if now.saturating_duration_since(self.evicted_at) >= self.ttl {
            let ttl = self.ttl;
            self.seen.retain(|_, seen| now.saturating_duration_since(seen.at) < ttl);
            self.evicted_at = now;
        }
        let previous = self.seen.insert(key(meta), Seen { trigger, signal, at: now });
        let last = previous.filter(|seen| now.saturating_duration_since(seen.at) < self.ttl);
        let moved = |old: Option<Option<u64>>, new: Option<u64>| new.is_none() || old != Some(new);
        Moved { trigger: moved(last.map(|s| s.trigger), trigger), signal: moved(last.map(|s| s.signal), signal) }
    }

    /// How many objects it holds fingerprints for.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// The table's key for an object: its name, namespace and uid, hashed with
/// fixed keys.
fn key(meta: &ObjectMeta) -> u64 {
    let mut hasher = DefaultHasher::new();
    meta.name.hash(&mut hasher);
    meta.namespace.hash(&mut hasher);
    meta.uid.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, uid: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("apps".to_owned()),
            uid: Some(uid.to_owned()),
            ..Default::default()
        }
    }

    const BOTH: Moved = Moved { trigger: true, signal: true };
    const NEITHER: Moved = Moved { trigger: false, signal: false };

    #[test]
    fn each_fingerprint_passes_its_own_changes_only() {
        let t0 = Instant::now();
        let mut prints = Fingerprints::new(TTL, t0);
        let web = meta("web", "u1");
        assert_eq!(prints.observe(&web, Some(1), Some(10), t0), BOTH, "a new object");
        assert_eq!(prints.observe(&web, Some(1), Some(10), t0), NEITHER, "nothing moved");
        assert_eq!(prints.observe(&web, Some(1), Some(11), t0), Moved { trigger: false, signal: true });
        assert_eq!(prints.observe(&web, Some(2), Some(11), t0), Moved { trigger: true, signal: false });
        assert_eq!(prints.observe(&web, Some(2), Some(11), t0), NEITHER);
        assert_eq!(prints.observe(&meta("api", "u2"), Some(2), Some(11), t0), BOTH, "another object");
        assert_eq!(prints.observe(&meta("web", "u3"), Some(2), Some(11), t0), BOTH, "recreated: a new uid");
        assert_eq!(prints.observe(&web, None, Some(11), t0), Moved { trigger: true, signal: false }, "no fingerprint");
        assert_eq!(prints.len(), 3);
    }

    #[test]
    fn an_object_not_seen_within_the_ttl_counts_as_changed_and_is_forgotten() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(60);
        let mut prints = Fingerprints::new(ttl, t0);
        prints.observe(&meta("old", "u1"), Some(1), Some(1), t0);
        prints.observe(&meta("web", "u2"), Some(1), Some(1), t0);
        let later = t0 + Duration::from_secs(30);
        assert_eq!(prints.observe(&meta("web", "u2"), Some(1), Some(1), later), NEITHER);
        let past_ttl = t0 + Duration::from_secs(61);
        assert_eq!(prints.observe(&meta("new", "u3"), Some(1), Some(1), past_ttl), BOTH);
        assert_eq!(prints.len(), 2, "the object not seen for a TTL is gone, the others stay");
        let much_later = later + ttl;
        assert_eq!(prints.observe(&meta("web", "u2"), Some(1), Some(1), much_later), BOTH, "stale");
    }
}
