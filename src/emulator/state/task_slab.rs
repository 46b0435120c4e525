//! Where the task table keeps its records: a slab, in which each task stays
//! at one [`Slot`] from when it is put in until it is taken out.
//!
//! Why not a hash map of records: with tens of thousands of tasks the
//! records (about a kilobyte each) are far larger than the CPU's caches, so
//! the scheduler's first read of each task it steps is a trip to memory.
//! In a hash map that trip starts only once the lookup has found the
//! task's bucket, and a lookup cannot be started early without making it.
//! In a slab a task's record is at a known address as soon as its slot is
//! known, so the indexes name tasks by slot (four bytes, where an id is
//! forty) and the scheduler asks for the records it is about to step
//! ([`Slab::prefetch`]) while it steps the ones before them.
//!
//! The records also sit on huge pages where the system offers them
//! ([`advise_huge_pages`]): tens of megabytes of records read at random
//! missed the TLB on most reads with 4 KiB pages.

use std::mem::{size_of, size_of_val};

use crate::emulator::state::records::TaskEntry;
use crate::emulator::state::task_id::TaskId;

/// Where a task is in the table's slab. Valid until the task is removed;
/// only the table hands them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(u32);

impl Slot {
    /// Its place in the slab, for storage kept beside it by slot.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Records by slot, with the id of the task in each.
#[derive(Clone, Default)]
pub struct Slab {
    /// `None` for a free slot.
    entries: Vec<Option<TaskEntry>>,
    /// The id of the task in each slot (of the last one, for a free slot):
    /// beside the records rather than in them, so that naming the tasks an
    /// index holds reads forty bytes a task, not a record's cache line.
    ids: Vec<TaskId>,
    free: Vec<Slot>,
}

/// Below this many bytes of records, a table's storage is not worth a
/// system call to ask for huge pages (a cluster with a few hundred tasks).
const HUGE_PAGE_FLOOR: usize = 4 << 20;

impl Slab {
    /// Puts a task in a free slot, or a new one.
    pub fn put(&mut self, id: TaskId, entry: TaskEntry) -> Slot {
        if let Some(slot) = self.free.pop() {
            self.entries[slot.index()] = Some(entry);
            self.ids[slot.index()] = id;
            return slot;
        }
        if self.entries.len() == self.entries.capacity() {
            self.grow();
        }
        let slot = Slot(u32::try_from(self.entries.len()).expect("fewer than four billion tasks in one cluster"));
        self.entries.push(Some(entry));
        self.ids.push(id);
        slot
    }

    /// Doubles the storage, copying the records into storage that was
    /// advised for huge pages before anything touched it (growing in place
    /// would keep the pages the records already have).
    fn grow(&mut self) {
        let capacity = (self.entries.capacity() * 2).max(16);
        let mut entries: Vec<Option<TaskEntry>> = Vec::with_capacity(capacity);
        if capacity * size_of::<Option<TaskEntry>>() >= HUGE_PAGE_FLOOR {
            advise_huge_pages(entries.as_ptr().cast(), capacity * size_of::<Option<TaskEntry>>());
        }
        entries.append(&mut self.entries);
        self.entries = entries;
    }

    /// Takes a task out, freeing its slot.
    pub fn take(&mut self, slot: Slot) -> Option<TaskEntry> {
        let entry = self.entries.get_mut(slot.index())?.take()?;
        self.free.push(slot);
        Some(entry)
    }

    pub fn get(&self, slot: Slot) -> Option<&TaskEntry> {
        self.entries.get(slot.index())?.as_ref()
    }

    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut TaskEntry> {
        self.entries.get_mut(slot.index())?.as_mut()
    }

    /// The id of the task in a slot that holds one.
    pub fn id(&self, slot: Slot) -> Option<&TaskId> {
        self.get(slot).and(self.ids.get(slot.index()))
    }

    /// The id last put in a slot, without reading its record: the task's
    /// id for a slot an index holds (the table's indexes hold only the slots
    /// of tasks it holds), a removed task's for a free slot. For naming the
    /// tasks of an index's slots; [`Slab::id`] says whether the slot holds it.
    pub fn filed_id(&self, slot: Slot) -> Option<&TaskId> {
        self.ids.get(slot.index())
    }

    /// Every task, by slot.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &TaskId, &TaskEntry)> + '_ {
        self.entries.iter().zip(&self.ids).enumerate().filter_map(|(i, (entry, id))| {
            let slot = Slot(u32::try_from(i).ok()?);
            entry.as_ref().map(|entry| (slot, id, entry))
        })
    }

    /// How many tasks the slab holds.
    pub fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Asks the CPU to bring a slot's record and id into its cache, without
    /// waiting for them: call it a few tasks ahead of the one being worked
    /// on. A hint only; it changes no result.
    pub fn prefetch(&self, slot: Slot) {
        if let (Some(entry), Some(id)) = (self.entries.get(slot.index()), self.ids.get(slot.index())) {
            prefetch_bytes(std::ptr::from_ref(entry).cast(), size_of::<Option<TaskEntry>>());
            prefetch_bytes(std::ptr::from_ref(id).cast(), size_of::<TaskId>());
        }
    }

    /// Asks the CPU for the parts of a slot's task that every step reads and
    /// that live outside its record when there are more than one of them: the
    /// containers and the attachments (one of each is kept in the record).
    /// It reads the record to find them, so call it after [`Slab::prefetch`]
    /// of the slot had time to bring the record in.
    pub fn prefetch_parts(&self, slot: Slot) {
        if let Some(entry) = self.get(slot) {
            let task = &entry.task;
            if task.containers.spilled() {
                prefetch_bytes(task.containers.as_ptr().cast(), size_of_val(task.containers.as_slice()));
            }
            if task.attachments.spilled() {
                prefetch_bytes(task.attachments.as_ptr().cast(), size_of_val(task.attachments.as_slice()));
            }
        }
    }
}

/// Prefetches the cache lines of `[at, at + len)`, at most a kilobyte and
/// a half of them (a record's worth).
pub(crate) fn prefetch_bytes(at: *const i8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    for offset in (0..len.min(1536)).step_by(64) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch reads nothing the program can see and cannot
        // fault, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(offset)) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (at, len);
}

/// Asks the kernel to back the whole 2 MiB pages inside `[at, at + len)`
/// with huge pages (Linux's transparent huge pages, `madvise` mode, the
/// usual default). Nothing happens where the system does not offer them.
fn advise_huge_pages(at: *const u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let start = (at as usize).next_multiple_of(HUGE_PAGE);
        let end = (at as usize).saturating_add(len) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // SAFETY: the range lies within one allocation the caller owns;
            // MADV_HUGEPAGE changes which pages back it, never its contents.
            // A refusal (no THP support) leaves ordinary pages, so the
            // result is not needed.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (at, len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(n: i64) -> TaskEntry {
        let mut entry: TaskEntry = serde_json::from_value(json!({
            "task": {
                "taskArn": "arn", "clusterArn": "c", "taskDefinitionArn": "td",
                "overrides": {}, "lastStatus": "PENDING", "desiredStatus": "RUNNING", "containers": [],
                "version": 1, "createdAt": 0, "group": "g", "attachments": [],
                "healthStatus": "UNKNOWN", "enableExecuteCommand": false
            },
            "reservation": { "cpu": 256, "memory": 512 },
        }))
        .unwrap();
        entry.task.version = n;
        entry
    }

    #[test]
    fn slots_keep_their_records_through_growth_and_reuse() {
        let mut slab = Slab::default();
        let slots: Vec<Slot> = (0..100).map(|n| slab.put(TaskId::from(format!("t{n}").as_str()), entry(n))).collect();
        // Growth moved the records; each slot still holds its own.
        for (n, slot) in slots.iter().enumerate() {
            assert_eq!(slab.get(*slot).map(|e| e.task.version), Some(n as i64));
            assert_eq!(slab.id(*slot).map(TaskId::as_str), Some(format!("t{n}").as_str()));
        }
        assert_eq!(slab.take(slots[7]).map(|e| e.task.version), Some(7));
        assert!(slab.get(slots[7]).is_none() && slab.id(slots[7]).is_none(), "a free slot has no task");
        assert_eq!(slab.filed_id(slots[7]).map(TaskId::as_str), Some("t7"), "its last id stays beside it");
        assert!(slab.take(slots[7]).is_none(), "a slot is freed once");
        assert_eq!(slab.len(), 99);
        // A freed slot is reused before the slab grows.
        let again = slab.put(TaskId::from("new"), entry(1000));
        assert_eq!(again, slots[7]);
        assert_eq!(slab.id(again).map(TaskId::as_str), Some("new"));
        assert_eq!(slab.len(), 100);
        assert_eq!(slab.iter().count(), 100);
        slab.prefetch(again);
        slab.prefetch_parts(again);
        slab.prefetch(Slot(1_000_000));
    }
}
