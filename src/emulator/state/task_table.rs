//! One cluster's task table and the indexes the scheduler works from: tasks
//! by their next due change, live (not STOPPED) tasks by service, and STOPPED
//! tasks by stop time.
//!
//! The indexes exist so that a scheduler tick costs what is due, not the size
//! of the table (STOPPED tasks stay for an hour, so the table is mostly tasks
//! nothing will happen to). They cannot drift from the records because the
//! table hands out no `&mut` to its records: reads go through
//! [`TaskTable::get`] and the ordered iterators, and every write goes through
//! [`TaskTable::insert`], [`TaskTable::remove`] or the [`TaskMut`] guard of
//! [`TaskTable::get_mut`] and [`TaskTable::get_mut_at`], which re-files the
//! task when it is dropped. The indexes are not persisted: they are rebuilt
//! when a table is deserialized.
//!
//! Records live in a [`Slab`], found by id through a hash map of slots, not
//! a B-tree: a service's reconcile looks up each of its tasks several
//! times, and in a B-tree of tens of thousands of ids every lookup is a
//! dozen string comparisons, each a cache miss on the key's heap bytes, so
//! a lookup's cost grew with the fleet (the rollout's cost per task was
//! 2.4× at 10,000 tasks what it was at 1,000). A hash lookup touches one
//! key. Everything that answers a client walks the table in id order
//! (through the [`TaskIndex::ids`] set), as before. The scheduler's walks
//! by time ([`TaskTable::due_by`], [`TaskTable::stopped_before`]) go in
//! slot order instead, which is memory order and as deterministic.
//!
//! The indexes hold ids as [`TaskId`]s, inline rather than on the heap, or,
//! for the indexes by time, as [`Slot`]s; a changed task is re-filed only in
//! the indexes whose key changed: with 20,000–30,000 tasks, reading an id's
//! heap bytes in every comparison of an ordered index was most of what still
//! grew with the fleet. The tasks due in a tick come with their slots
//! ([`TaskTable::due_by`]), so the scheduler steps them without a lookup by
//! id and fetches the next ones' records while it steps
//! ([`TaskTable::prefetch`]; see [`Slab`] for why).
//!
//! Each live service task also has a [`TaskSummary`], by slot: what a
//! service's reconcile reads of its tasks on every look, found through the
//! index of live tasks by service. It is written with the other keys when
//! a task is filed, so it is as current as the record; the reconcile reads
//! those instead of a kilobyte record per task.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::{Deref, DerefMut, Index};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::emulator::state::records::{TaskEntry, Timestamp};
pub use crate::emulator::state::task_id::TaskId;
use crate::emulator::state::task_slab::Slab;
pub use crate::emulator::state::task_slab::Slot;
use crate::emulator::state::task_summary::TaskSummary;

/// Slots by task id: ids are the emulator's own random hex (never chosen by
/// a client), so a fast hash serves, where SipHash's flooding resistance
/// would cost every lookup of the scheduler's hot path.
type Slots = HashMap<TaskId, Slot, foldhash::fast::RandomState>;

/// Tasks by id, with their indexes.
#[derive(Clone, Default)]
pub struct TaskTable {
    slots: Slots,
    slab: Slab,
    index: TaskIndex,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct TaskIndex {
    /// Every id, in order: what iteration walks.
    ids: BTreeSet<TaskId>,
    /// Tasks with a next change, by when it is due.
    due: ByTime,
    /// Live tasks by service name, with their slots. Hashed, not ordered: a
    /// reconcile looks up each of its service's tasks in every pass, and
    /// sorts their ids once.
    live: HashMap<Arc<str>, Members, foldhash::fast::RandomState>,
    /// What the service's scheduler reads of each live service task (see
    /// [`TaskSummary`]), by slot: a step of a task rewrites its summary, and
    /// by slot that write goes to memory fetched with the task's record
    /// ([`TaskTable::prefetch`]), where in the service's hash map it was a
    /// probe of a bucket no one could fetch ahead (with 10,000 tasks, the
    /// growth in a step's cost that was left).
    summaries: Summaries,
    /// STOPPED tasks by when they stopped.
    stopped: ByTime,
    /// Tasks whose desired status is RUNNING, in id order: what ListTasks
    /// answers by default, without a walk over the hour of STOPPED tasks.
    desired_running: BTreeSet<TaskId>,
    /// Tasks last RUNNING and PENDING, on Fargate and not: the cluster's
    /// counts and statistics.
    counts: StatusCounts,
}

/// One service's live tasks, with their slots.
type Members = HashMap<TaskId, Slot, foldhash::fast::RandomState>;

/// Live service tasks' summaries by slot; `None` for a slot that holds no
/// live service task.
#[derive(Clone, Debug, Default)]
struct Summaries(Vec<Option<TaskSummary>>);

impl Summaries {
    fn get(&self, slot: Slot) -> Option<&TaskSummary> {
        self.0.get(slot.index())?.as_ref()
    }

    fn set(&mut self, slot: Slot, summary: Option<TaskSummary>) {
        let i = slot.index();
        if i >= self.0.len() {
            if summary.is_none() {
                return;
            }
            self.0.resize(i + 1, None);
        }
        self.0[i] = summary;
    }

    fn prefetch(&self, slot: Slot) {
        if let Some(summary) = self.0.get(slot.index()) {
            crate::emulator::state::task_slab::prefetch_bytes(
                std::ptr::from_ref(summary).cast(),
                std::mem::size_of::<Option<TaskSummary>>(),
            );
        }
    }
}

/// Equal when they hold the same summaries in the same slots (however far
/// each has grown past its last).
impl PartialEq for Summaries {
    fn eq(&self, other: &Self) -> bool {
        let (short, long) = if self.0.len() <= other.0.len() { (self, other) } else { (other, self) };
        short.0[..] == long.0[..short.0.len()] && long.0[short.0.len()..].iter().all(Option::is_none)
    }
}

/// How many tasks were last RUNNING and PENDING, by whether they run on
/// Fargate (`[not Fargate, Fargate]`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatusCounts {
    pub running: [usize; 2],
    pub pending: [usize; 2],
}

/// Tasks by a time, as slots. Many tasks share a time (those launched in
/// one tick are due together), so they are grouped under their time: filing
/// compares integers, never ids (a set of `(time, id)` pairs compared ids on
/// every tie, each comparison a cache miss on the id's bytes in a large
/// table), and a time's set of four-byte slots stays in the cache where a
/// set of ids of ten thousand tasks did not.
#[derive(Clone, Debug, Default, PartialEq)]
struct ByTime(BTreeMap<Timestamp, HashSet<Slot, foldhash::fast::RandomState>>);

impl ByTime {
    fn insert(&mut self, at: Timestamp, slot: Slot) {
        self.0.entry(at).or_default().insert(slot);
    }

    fn remove(&mut self, at: Timestamp, slot: Slot) {
        if let Some(slots) = self.0.get_mut(&at) {
            slots.remove(&slot);
            if slots.is_empty() {
                self.0.remove(&at);
            }
        }
    }

    /// Files a task under `after` instead of `before` (either may be none);
    /// nothing moves when they are the same.
    fn move_between(&mut self, slot: Slot, before: Option<Timestamp>, after: Option<Timestamp>) {
        if before == after {
            return;
        }
        if let Some(at) = before {
            self.remove(at, slot);
        }
        if let Some(at) = after {
            self.insert(at, slot);
        }
    }

    fn first(&self) -> Option<Timestamp> {
        self.0.keys().next().copied()
    }

    /// The tasks filed at times that pass `keep`, with their ids, in slot
    /// order. Reads the ids beside the records, not the records (the
    /// scheduler fetches those ahead while it steps).
    fn until(&self, slab: &Slab, keep: impl Fn(Timestamp) -> bool) -> Vec<(TaskId, Slot)> {
        let mut slots: Vec<Slot> =
            self.0.iter().take_while(|(at, _)| keep(**at)).flat_map(|(_, slots)| slots.iter().copied()).collect();
        slots.sort_unstable();
        slots.into_iter().filter_map(|slot| slab.filed_id(slot).map(|id| (id.clone(), slot))).collect()
    }
}

impl StatusCounts {
    /// Counts a task filed under `keys` once more (`by` 1) or once less (-1).
    fn add(&mut self, keys: &Keys, by: isize) {
        let on = usize::from(keys.fargate);
        let count = match keys.last {
            Last::Running => &mut self.running[on],
            Last::Pending => &mut self.pending[on],
            Last::Other => return,
        };
        *count = count.wrapping_add_signed(by);
    }
}

/// Where one task is filed.
#[derive(Clone, Debug, PartialEq)]
struct Keys {
    due: Option<Timestamp>,
    /// A live service task's service, and its summary there.
    live: Option<(Arc<str>, TaskSummary)>,
    stopped_at: Option<Timestamp>,
    desired_running: bool,
    last: Last,
    fargate: bool,
}

/// The last statuses the cluster counts.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Last {
    Running,
    Pending,
    Other,
}

impl Keys {
    /// Filed nowhere: what a task is before it is inserted and after it is removed.
    const NOWHERE: Keys =
        Keys { due: None, live: None, stopped_at: None, desired_running: false, last: Last::Other, fargate: false };

    fn of(entry: &TaskEntry) -> Self {
        let stopped = entry.is_stopped();
        Self {
            due: entry.due,
            live: entry.service_name.clone().filter(|_| !stopped).map(|service| (service, TaskSummary::of(entry))),
            stopped_at: entry.task.stopped_at.filter(|_| stopped),
            desired_running: entry.task.desired_status == "RUNNING",
            last: match entry.task.last_status.as_str() {
                "RUNNING" => Last::Running,
                "PENDING" => Last::Pending,
                _ => Last::Other,
            },
            fargate: entry.task.launch_type.as_deref() == Some("FARGATE"),
        }
    }
}

impl TaskIndex {
    fn file(&mut self, id: &TaskId, slot: Slot, keys: &Keys) {
        self.refile(id, slot, &Keys::NOWHERE, keys);
    }

    fn unfile(&mut self, id: &TaskId, slot: Slot, keys: &Keys) {
        self.refile(id, slot, keys, &Keys::NOWHERE);
    }

    /// Moves a task from where `before` filed it to where `after` does,
    /// touching only the indexes whose key changed: most changes of a task
    /// (a status step, a new due time) move it in one index, and the
    /// ordered sets of ids are the expensive ones to touch.
    /// (Ids as `TaskId`s: the ordered indexes compare them cheaply.)
    fn refile(&mut self, id: &TaskId, slot: Slot, before: &Keys, after: &Keys) {
        self.due.move_between(slot, before.due, after.due);
        if before.live != after.live {
            let (left, kept) = (before.live.as_ref().map(|(s, _)| s), after.live.as_ref().map(|(s, _)| s));
            // The service's set changes only when the task joins or leaves
            // it; a new summary goes to the task's slot.
            if left != kept {
                if let Some(left) = left
                    && let Some(ids) = self.live.get_mut(left)
                {
                    ids.remove(id);
                    if ids.is_empty() {
                        self.live.remove(left);
                    }
                }
                if let Some(kept) = kept {
                    self.live.entry(kept.clone()).or_default().insert(id.clone(), slot);
                }
            }
            self.summaries.set(slot, after.live.as_ref().map(|(_, summary)| summary.clone()));
        }
        self.stopped.move_between(slot, before.stopped_at, after.stopped_at);
        if before.desired_running != after.desired_running {
            if before.desired_running {
                self.desired_running.remove(id);
            } else {
                self.desired_running.insert(id.clone());
            }
        }
        if (before.last, before.fargate) != (after.last, after.fargate) {
            self.counts.add(before, -1);
            self.counts.add(after, 1);
        }
    }

    fn build(slab: &Slab) -> Self {
        let mut index = Self::default();
        for (slot, id, entry) in slab.iter() {
            index.ids.insert(id.clone());
            index.file(id, slot, &Keys::of(entry));
        }
        index
    }
}

impl TaskTable {
    pub fn from_map(map: BTreeMap<String, TaskEntry>) -> Self {
        let mut table = Self::default();
        for (id, entry) in map {
            let id = TaskId::from(id.as_str());
            let slot = table.slab.put(id.clone(), entry);
            table.slots.insert(id, slot);
        }
        table.index = TaskIndex::build(&table.slab);
        table
    }

    /// Adds or replaces a task.
    pub fn insert(&mut self, id: String, entry: TaskEntry) -> Option<TaskEntry> {
        let old = self.remove(&id);
        let id = TaskId::from(id.as_str());
        let keys = Keys::of(&entry);
        let slot = self.slab.put(id.clone(), entry);
        self.index.file(&id, slot, &keys);
        self.index.ids.insert(id.clone());
        self.slots.insert(id, slot);
        old
    }

    pub fn remove(&mut self, id: &str) -> Option<TaskEntry> {
        let slot = self.slots.remove(id)?;
        let old = self.slab.take(slot)?;
        self.index.unfile(&TaskId::from(id), slot, &Keys::of(&old));
        self.index.ids.remove(id);
        Some(old)
    }

    /// The task with this id.
    pub fn get(&self, id: &str) -> Option<&TaskEntry> {
        self.slots.get(id).and_then(|slot| self.slab.get(*slot))
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.slots.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every task with its id, in id order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { ids: self.index.ids.iter(), table: self }
    }

    /// Every task, in id order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &TaskEntry> + '_ {
        self.iter().map(|(_, t)| t)
    }

    /// Every id, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.index.ids.iter().map(TaskId::as_str)
    }

    /// The task, to change; it is re-filed in the indexes when the guard drops.
    pub fn get_mut(&mut self, id: &str) -> Option<TaskMut<'_>> {
        let slot = *self.slots.get(id)?;
        self.guard(TaskId::from(id), slot)
    }

    /// The task in `slot`, as [`TaskTable::get_mut`] gives it, without a
    /// lookup by id; `None` unless the slot holds the task with this id.
    pub fn get_mut_at(&mut self, id: &TaskId, slot: Slot) -> Option<TaskMut<'_>> {
        if self.slab.id(slot) != Some(id) {
            return None;
        }
        self.guard(id.clone(), slot)
    }

    /// The guard over the task `id` in `slot`, which the caller knows holds it.
    fn guard(&mut self, id: TaskId, slot: Slot) -> Option<TaskMut<'_>> {
        let entry = self.slab.get_mut(slot)?;
        let before = Keys::of(entry);
        Some(TaskMut { id, slot, before, entry, index: &mut self.index })
    }

    /// Starts bringing the record in `slot` into the CPU's cache, with the
    /// task's summary (which a step rewrites); see [`Slab::prefetch`].
    pub fn prefetch(&self, slot: Slot) {
        self.slab.prefetch(slot);
        self.index.summaries.prefetch(slot);
    }

    /// Starts bringing in what the task in `slot` keeps outside its record;
    /// see [`Slab::prefetch_parts`].
    pub fn prefetch_parts(&self, slot: Slot) {
        self.slab.prefetch_parts(slot);
    }

    /// The tasks due at or before `now`, with their slots, in slot order:
    /// the order their records lie in memory, so that a tick with tens of
    /// thousands of tasks reads them (and the parts allocated with them)
    /// front to back rather than at random, as id order did. Deterministic
    /// all the same: slots are handed out by the order of inserts and
    /// removes.
    pub fn due_by(&self, now: Timestamp) -> Vec<(TaskId, Slot)> {
        self.index.due.until(&self.slab, |due| due <= now)
    }

    /// The earliest next change of any task.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.index.due.first()
    }

    /// When the earliest-stopped STOPPED task stopped.
    pub fn earliest_stop(&self) -> Option<Timestamp> {
        self.index.stopped.first()
    }

    /// STOPPED tasks that stopped before `before`, in slot order (see
    /// [`TaskTable::due_by`]).
    pub fn stopped_before(&self, before: Timestamp) -> Vec<TaskId> {
        self.index.stopped.until(&self.slab, |at| at < before).into_iter().map(|(id, _)| id).collect()
    }

    /// The tasks whose desired status is RUNNING, with their ids, in id order.
    pub fn desired_running(&self) -> impl DoubleEndedIterator<Item = (&str, &TaskEntry)> + '_ {
        self.index.desired_running.iter().filter_map(|id| Some((id.as_str(), self.get(id)?)))
    }

    /// How many tasks were last RUNNING and PENDING.
    pub fn counts(&self) -> StatusCounts {
        self.index.counts
    }

    /// Every service's live (not STOPPED) tasks, in id order, as their ids,
    /// services and summaries: what a walk of the table filtered to service
    /// tasks that are not STOPPED meets, without walking the hour of STOPPED
    /// tasks, and without reading a record.
    pub fn live_service_summaries(&self) -> impl Iterator<Item = (&str, &str, &TaskSummary)> + '_ {
        let mut live: Vec<(&str, &str, &TaskSummary)> = self
            .index
            .live
            .iter()
            .flat_map(|(service, ids)| {
                ids.iter()
                    .filter_map(move |(id, slot)| Some((id.as_str(), &**service, self.index.summaries.get(*slot)?)))
            })
            .collect();
        live.sort_unstable_by_key(|(id, _, _)| *id);
        live.into_iter()
    }

    /// The ids of a service's live tasks, in id order.
    pub fn live_of(&self, service: &str) -> Vec<TaskId> {
        let Some(members) = self.index.live.get(service) else { return Vec::new() };
        // The reconcile that asks reads each of these tasks' summaries next.
        for slot in members.values() {
            self.index.summaries.prefetch(*slot);
        }
        let mut ids: Vec<TaskId> = members.keys().cloned().collect();
        ids.sort_unstable();
        ids
    }

    /// What the scheduler reads of one of a service's live tasks; `None`
    /// when the task is not a live task of that service (it stopped, or is
    /// another's).
    /// (By `TaskId`, whose comparisons the index's search makes cheaply,
    /// where a `&str` would compare as strings.)
    pub fn live_summary(&self, service: &str, id: &TaskId) -> Option<&TaskSummary> {
        self.index.summaries.get(*self.index.live.get(service)?.get(id)?)
    }

    /// Whether the indexes say what a full scan of the table says.
    pub fn index_is_consistent(&self) -> bool {
        let slots_agree =
            self.slots.len() == self.slab.len() && self.slots.iter().all(|(id, slot)| self.slab.id(*slot) == Some(id));
        slots_agree && self.index == TaskIndex::build(&self.slab)
    }
}

/// The table's tasks with their ids, in id order.
pub struct Iter<'a> {
    ids: std::collections::btree_set::Iter<'a, TaskId>,
    table: &'a TaskTable,
}

impl<'a> Iter<'a> {
    fn found(&self, id: &'a TaskId) -> Option<(&'a str, &'a TaskEntry)> {
        Some((id.as_str(), self.table.get(id)?))
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a TaskEntry);
    fn next(&mut self) -> Option<Self::Item> {
        let id = self.ids.next()?;
        self.found(id)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let id = self.ids.next_back()?;
        self.found(id)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a TaskTable {
    type Item = (&'a str, &'a TaskEntry);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// `table[id]`, for ids the caller knows are there (as a map's index).
impl Index<&str> for TaskTable {
    type Output = TaskEntry;
    fn index(&self, id: &str) -> &TaskEntry {
        self.get(id).expect("no task with this id in the table")
    }
}

impl Index<&TaskId> for TaskTable {
    type Output = TaskEntry;
    fn index(&self, id: &TaskId) -> &TaskEntry {
        &self[id.as_str()]
    }
}

impl Index<&String> for TaskTable {
    type Output = TaskEntry;
    fn index(&self, id: &String) -> &TaskEntry {
        &self[id.as_str()]
    }
}

impl std::fmt::Debug for TaskTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The indexes are derived data: tables are equal when their tasks are.
impl PartialEq for TaskTable {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// In id order, as the journal and `/_emulator/state` always wrote it.
impl Serialize for TaskTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for TaskTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(d).map(Self::from_map)
    }
}

/// A task being changed; re-files it in the table's indexes when dropped.
pub struct TaskMut<'a> {
    id: TaskId,
    slot: Slot,
    before: Keys,
    entry: &'a mut TaskEntry,
    index: &'a mut TaskIndex,
}

impl Deref for TaskMut<'_> {
    type Target = TaskEntry;
    fn deref(&self) -> &TaskEntry {
        self.entry
    }
}

impl DerefMut for TaskMut<'_> {
    fn deref_mut(&mut self) -> &mut TaskEntry {
        self.entry
    }
}

impl Drop for TaskMut<'_> {
    fn drop(&mut self) {
        let after = Keys::of(self.entry);
        if after != self.before {
            self.index.refile(&self.id, self.slot, &self.before, &after);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(id: &str, service: Option<&str>, status: &str, due: Option<i64>, stopped_at: Option<i64>) -> TaskEntry {
        let mut entry: TaskEntry = serde_json::from_value(json!({
            "task": {
                "taskArn": format!("arn:aws:ecs:r:a:task/c/{id}"), "clusterArn": "c", "taskDefinitionArn": "td",
                "overrides": {}, "lastStatus": status, "desiredStatus": "RUNNING", "containers": [],
                "version": 1, "createdAt": 0, "group": "g", "attachments": [],
                "healthStatus": "UNKNOWN", "enableExecuteCommand": false
            },
            "reservation": { "cpu": 256, "memory": 512 },
        }))
        .unwrap();
        entry.service_name = service.map(Into::into);
        entry.due = due.map(Timestamp);
        entry.task.stopped_at = stopped_at.map(Timestamp);
        entry
    }

    /// A small deterministic generator, so a failure replays.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// What a scan of the table says the indexes must answer.
    fn check_against_scan(table: &TaskTable, now: Timestamp) {
        assert!(table.index_is_consistent());
        let due: Vec<String> =
            table.iter().filter(|(_, t)| t.due.is_some_and(|d| d <= now)).map(|(id, _)| id.to_owned()).collect();
        let due_now = table.due_by(now);
        assert!(due_now.windows(2).all(|w| w[0].1 < w[1].1), "due tasks come in slot order");
        let mut due_ids: Vec<String> = due_now.iter().map(|(id, _)| id.to_string()).collect();
        due_ids.sort();
        assert_eq!(due_ids, due);
        for (id, slot) in due_now {
            assert_eq!(table.slab.id(slot), Some(&id), "a due task's slot holds it");
            assert_eq!(table.slab.get(slot), table.get(&id));
        }
        assert_eq!(table.next_due(), table.values().filter_map(|t| t.due).min());
        let stops = table.values().filter(|t| t.is_stopped()).filter_map(|t| t.task.stopped_at);
        assert_eq!(table.earliest_stop(), stops.min());
        let stopped: Vec<String> = table
            .iter()
            .filter(|(_, t)| t.is_stopped() && t.task.stopped_at.is_some_and(|at| at < now))
            .map(|(id, _)| id.to_owned())
            .collect();
        let mut stopped_now: Vec<String> = table.stopped_before(now).iter().map(TaskId::to_string).collect();
        stopped_now.sort();
        assert_eq!(stopped_now, stopped);
        let counted = |status: &str| table.values().filter(|t| t.task.last_status == status).count();
        let counts = table.counts();
        let running = counts.running[0] + counts.running[1];
        assert_eq!((running, counts.pending[0] + counts.pending[1]), (counted("RUNNING"), counted("PENDING")));
        let fargate =
            table.values().filter(|t| t.task.last_status == "RUNNING" && t.task.launch_type.is_some()).count();
        assert_eq!(counts.running[1], fargate);
        let wanted: Vec<&str> =
            table.iter().filter(|(_, t)| t.task.desired_status == "RUNNING").map(|(id, _)| id).collect();
        assert_eq!(table.desired_running().map(|(id, _)| id).collect::<Vec<_>>(), wanted);
        let ordered: Vec<&str> = table.keys().collect();
        assert!(ordered.windows(2).all(|w| w[0] < w[1]), "iteration is in id order");
        assert_eq!(ordered.len(), table.len());
        for service in ["a", "b", "c"] {
            let live: Vec<String> = table
                .iter()
                .filter(|(_, t)| t.service_name.as_deref() == Some(service) && !t.is_stopped())
                .map(|(id, _)| id.to_owned())
                .collect();
            assert_eq!(table.live_of(service), live, "live tasks of {service}");
        }
        let live: Vec<&str> =
            table.iter().filter(|(_, t)| t.service_name.is_some() && !t.is_stopped()).map(|(id, _)| id).collect();
        let summaries: Vec<(&str, &str, &TaskSummary)> = table.live_service_summaries().collect();
        assert_eq!(summaries.iter().map(|(id, _, _)| *id).collect::<Vec<_>>(), live);
        for (id, service, summary) in summaries {
            assert_eq!(table[id].service_name.as_deref(), Some(service));
            assert_eq!(*summary, TaskSummary::of(&table[id]), "summary of {id}");
            assert_eq!(table.live_summary(service, &TaskId::from(id)), Some(summary));
        }
    }

    #[test]
    fn a_slot_finds_only_the_task_it_holds() {
        let mut table = TaskTable::default();
        table.insert("a".into(), task("a", Some("s"), "PENDING", Some(5), None));
        let [(a, slot)] = <[_; 1]>::try_from(table.due_by(Timestamp(5))).unwrap();
        assert_eq!(a.as_str(), "a");
        table.get_mut_at(&a, slot).unwrap().due = Some(Timestamp(9));
        assert!(table.due_by(Timestamp(5)).is_empty(), "the change through the slot re-filed the task");
        table.remove("a");
        assert!(table.get_mut_at(&a, slot).is_none(), "a removed task is not found by its old slot");
        // The next task takes the freed slot; the old id does not find it.
        table.insert("b".into(), task("b", Some("s"), "PENDING", Some(5), None));
        let [(b, again)] = <[_; 1]>::try_from(table.due_by(Timestamp(5))).unwrap();
        assert_eq!(again, slot);
        assert!(table.get_mut_at(&a, slot).is_none());
        assert_eq!(
            table.get_mut_at(&b, slot).map(|t| t.task.task_arn.clone()).as_deref(),
            Some("arn:aws:ecs:r:a:task/c/b")
        );
        assert!(table.index_is_consistent());
    }

    #[test]
    fn indexes_match_a_full_scan_after_random_writes() {
        let statuses = ["PROVISIONING", "PENDING", "RUNNING", "DEACTIVATING", "STOPPED"];
        let services = [None, Some("a"), Some("b"), Some("c")];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut table = TaskTable::default();
        for step in 0..3_000 {
            let id = format!("t{:02}", rng.below(40));
            let maybe = |rng: &mut Rng| (rng.below(3) > 0).then(|| rng.below(50) as i64);
            match rng.below(4) {
                0 => {
                    let service = services[rng.below(4) as usize];
                    let status = statuses[rng.below(5) as usize];
                    let (due, stopped_at) = (maybe(&mut rng), maybe(&mut rng));
                    table.insert(id.clone(), task(&id, service, status, due, stopped_at));
                }
                1 => {
                    table.remove(&id);
                }
                _ => {
                    if let Some(mut t) = table.get_mut(&id) {
                        match rng.below(8) {
                            0 => t.due = maybe(&mut rng).map(Timestamp),
                            1 => t.task.last_status = statuses[rng.below(5) as usize].into(),
                            2 => t.task.desired_status = ["RUNNING", "STOPPED"][rng.below(2) as usize].into(),
                            3 => t.task.launch_type = [None, Some("FARGATE".into())][rng.below(2) as usize].clone(),
                            // What only a live task's summary keeps.
                            4 => t.healthy_at = maybe(&mut rng).map(Timestamp),
                            5 => {
                                t.task.health_status = ["UNKNOWN", "HEALTHY", "UNHEALTHY"][rng.below(3) as usize].into()
                            }
                            6 => t.task.started_by = [None, Some("ecs-svc/1".into())][rng.below(2) as usize].clone(),
                            _ => t.task.stopped_at = maybe(&mut rng).map(Timestamp),
                        }
                    }
                }
            }
            check_against_scan(&table, Timestamp(rng.below(50) as i64));
            if step % 500 == 0 {
                let text = serde_json::to_string(&table).unwrap();
                let back: TaskTable = serde_json::from_str(&text).unwrap();
                assert_eq!(back, table);
                assert!(back.index_is_consistent());
            }
        }
        assert!(!table.is_empty(), "the walk leaves tasks to check");
    }
}
