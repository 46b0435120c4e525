//! The stamp of what the console's pages show: it moves when anything they
//! draw changed, so an open page knows when to draw itself again.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::emulator::state::{Store, lock, read};

/// A hash of what the pages show: clusters, services (deployments, events,
/// timeline), tasks, task definitions, logs. Not the clock: a page on the
/// real clock is drawn again only when something happened.
pub fn stamp(store: &Store) -> u64 {
    let mut h = DefaultHasher::new();
    for (name, cell) in store.all_clusters() {
        let state = lock(&cell);
        name.hash(&mut h);
        state.cluster.status.hash(&mut h);
        for (service, entry) in &state.services {
            let s = &entry.service;
            (service, &s.status, s.desired_count, s.running_count, s.pending_count, s.events.len()).hash(&mut h);
            s.events.first().map(|e| e.id()).hash(&mut h);
            for d in &s.deployments {
                (&d.id, &d.status, d.running_count, d.pending_count, d.desired_count, &d.rollout_state).hash(&mut h);
            }
            (entry.timeline.samples.len(), entry.timeline.markers.len()).hash(&mut h);
            entry.timeline.samples.back().map(|s| s.at).hash(&mut h);
        }
        for (id, t) in state.tasks.iter() {
            (id, &t.task.last_status, &t.task.desired_status, t.task.version, &t.task.health_status).hash(&mut h);
        }
        for (id, ci) in &state.container_instances {
            (id, &ci.instance.status, ci.instance.running_tasks_count, ci.instance.agent_connected).hash(&mut h);
        }
    }
    for (family, f) in &read(&store.task_definitions).families {
        (family, f.last_revision, f.revisions.len()).hash(&mut h);
        for td in f.revisions.values() {
            td.task_definition.status.hash(&mut h);
        }
    }
    for (group, g) in &read(&store.logs).groups {
        group.hash(&mut h);
        for (stream, s) in &g.streams {
            (stream, s.sequence).hash(&mut h);
        }
    }
    h.finish()
}
