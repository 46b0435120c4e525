//! Durable state for `--state-dir`: a snapshot plus a write-ahead journal.
//!
//! Why this design: every acknowledged write must survive `kill -9` and a
//! restart, while reads and writes stay fast. Writes are journaled as whole
//! records ([`Change`]), one JSON line each, appended with a single `write(2)`
//! before the response is sent. Once `write` returns, the bytes belong to the
//! kernel's page cache, which outlives the process, so `kill -9` cannot lose an
//! acknowledged write; no `fsync` per request is needed for that guarantee
//! (power loss is out of scope for an emulator, which keeps request latency in
//! microseconds). Power loss, or an OS crash, is another matter: what the page
//! cache held goes. [`Fsync`] is the choice: `never` (the default, above),
//! `batch` (the journal is `fdatasync`ed within [`BATCH_INTERVAL`] of a write:
//! a power loss costs at most that window), `always` (each write is
//! `fdatasync`ed before it is acknowledged). Whole-record lines make replay trivially idempotent (last
//! write wins) and independent of the clock and id generator. Atomic snapshots
//! alone would have to rewrite the whole state on every write.
//!
//! Compaction keeps the journal short without stopping writers. Journals are
//! numbered (`journal-<generation>.jsonl`) and the snapshot names the first
//! generation it does not contain. To compact: switch appends to a new
//! generation (a moment under the journal's lock), dump the state (which holds
//! every write of older generations, and perhaps some of the new one: replaying
//! those again is harmless), write the snapshot atomically (temp file, `fsync`,
//! `rename`, directory `fsync`), then delete the older journals. A crash at any
//! point leaves a snapshot and the journals it needs. At startup the snapshot is
//! loaded, its journals replayed in order (a torn final line, the only thing a
//! crash mid-`write` can leave, is dropped: it was never acknowledged), and the
//! result compacted before serving.
//!
//! Partitions: every line names the (account, region) partition its change
//! belongs to, and the snapshot holds each partition's state apart. Lines
//! and snapshots written before partitions existed name none, and load
//! into the default partition (`--account-id` in `--region`).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::emulator::state::change::{Change, StateDump};
use crate::emulator::state::locks::lock;
use crate::emulator::state::partitions::Partition;

const SNAPSHOT: &str = "snapshot.json";

/// Journals beyond this size are compacted by the background task.
pub const COMPACT_AFTER_BYTES: u64 = 64 * 1024 * 1024;

fn journal_name(generation: u64) -> String {
    format!("journal-{generation}.jsonl")
}

/// Every partition's state.
pub type Dumps = BTreeMap<Partition, StateDump>;

/// The snapshot file: each partition's state and the first journal
/// generation not in it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    generation: u64,
    /// A snapshot written before partitions: the default partition's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<StateDump>,
    #[serde(default)]
    partitions: Vec<PartitionDump>,
}

#[derive(Serialize, Deserialize)]
struct PartitionDump {
    #[serde(flatten)]
    partition: Partition,
    state: StateDump,
}

impl Snapshot {
    fn new(generation: u64, dumps: Dumps) -> Self {
        let partitions = dumps.into_iter().map(|(partition, state)| PartitionDump { partition, state }).collect();
        Self { generation, state: None, partitions }
    }

    /// The states by partition, a pre-partition state in `default`.
    fn into_dumps(self, default: &Partition) -> Dumps {
        let mut dumps = Dumps::new();
        if let Some(state) = self.state {
            dumps.insert(default.clone(), state);
        }
        dumps.extend(self.partitions.into_iter().map(|p| (p.partition, p.state)));
        dumps
    }
}

/// A journal line as written: the change and its partition.
#[derive(Serialize)]
struct LineOut<'a> {
    partition: &'a Partition,
    #[serde(flatten)]
    change: &'a Change,
}

/// A journal line as read: lines written before partitions name none.
#[derive(Deserialize)]
struct LineIn {
    #[serde(default)]
    partition: Option<Partition>,
    #[serde(flatten)]
    change: Change,
}

#[derive(Debug)]
struct Current {
    file: File,
    generation: u64,
    bytes: u64,
}

/// When the journal reaches the disk, not just the page cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Fsync {
    /// Never: `kill -9` loses nothing, a power loss what the cache held.
    #[default]
    Never,
    /// Within [`BATCH_INTERVAL`] of a write, for all writes since.
    Batch,
    /// Before every write is acknowledged.
    Always,
}

/// How often `--fsync batch` flushes the journal.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(50);

/// The append-only journal of one state directory.
#[derive(Debug)]
pub struct Journal {
    current: Mutex<Current>,
    fsync: Fsync,
    /// Written since the last flush (`--fsync batch`).
    dirty: AtomicBool,
    /// Serialises compactions.
    compacting: Mutex<()>,
    dir: PathBuf,
}

/// Failure to load or prepare a state directory.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    #[error("state directory {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot {path} is not valid: {source}")]
    Snapshot { path: PathBuf, source: serde_json::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PersistenceError + '_ {
    move |source| PersistenceError::Io { path: path.to_owned(), source }
}

/// Journal generations present in `dir`, ascending.
fn generations(dir: &Path) -> Result<Vec<u64>, PersistenceError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let generation = name.strip_prefix("journal-").and_then(|r| r.strip_suffix(".jsonl"));
        if let Some(g) = generation.and_then(|g| g.parse().ok()) {
            found.push(g);
        }
    }
    found.sort_unstable();
    Ok(found)
}

impl Journal {
    /// Loads the state kept in `dir` (creating it if needed), compacts it into
    /// a fresh snapshot and opens a new journal generation for new writes.
    /// What was written before partitions existed goes to `default`.
    pub fn open(dir: &Path, fsync: Fsync, default: &Partition) -> Result<(Dumps, Journal), PersistenceError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let snapshot_path = dir.join(SNAPSHOT);
        let snapshot: Snapshot = match fs::read(&snapshot_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| PersistenceError::Snapshot { path: snapshot_path.clone(), source })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Snapshot::new(0, Dumps::new()),
            Err(e) => return Err(io_err(&snapshot_path)(e)),
        };
        let generation = snapshot.generation;
        let mut dumps = snapshot.into_dumps(default);
        let journals = generations(dir)?;
        let mut replayed = 0;
        for g in journals.iter().copied().filter(|g| *g >= generation) {
            replayed += replay(&dir.join(journal_name(g)), &mut dumps, default)?;
        }
        let next = journals.last().copied().unwrap_or(0).max(generation) + 1;
        write_snapshot(dir, &Snapshot::new(next, dumps))?;
        let path = dir.join(journal_name(next));
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io_err(&path))?;
        if fsync != Fsync::Never {
            sync_dir(dir).map_err(io_err(dir))?;
        }
        for g in journals {
            let _ = fs::remove_file(dir.join(journal_name(g)));
        }
        // Read the state back from what was just written, so what is served
        // is exactly what a restart would load.
        let bytes = fs::read(&snapshot_path).map_err(io_err(&snapshot_path))?;
        let snapshot: Snapshot = serde_json::from_slice(&bytes)
            .map_err(|source| PersistenceError::Snapshot { path: snapshot_path.clone(), source })?;
        tracing::info!(dir = %dir.display(), replayed, generation = next, "state loaded");
        let journal = Journal {
            current: Mutex::new(Current { file, generation: next, bytes: 0 }),
            fsync,
            dirty: AtomicBool::new(false),
            compacting: Mutex::new(()),
            dir: dir.to_owned(),
        };
        Ok((snapshot.into_dumps(default), journal))
    }

    /// Appends `changes` (of `partition`) as one `write(2)`, so a crash
    /// leaves either all of a request's changes or a torn tail that replay
    /// drops.
    pub fn append(&self, partition: &Partition, changes: &[Change]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(512);
        for change in changes {
            serde_json::to_writer(&mut buf, &LineOut { partition, change })?;
            buf.push(b'\n');
        }
        let mut current = lock(&self.current);
        current.file.write_all(&buf)?;
        current.bytes += buf.len() as u64;
        match self.fsync {
            Fsync::Never => {}
            Fsync::Batch => self.dirty.store(true, Ordering::Release),
            Fsync::Always => current.file.sync_data()?,
        }
        Ok(())
    }

    /// The durability this journal was opened with.
    pub fn fsync(&self) -> Fsync {
        self.fsync
    }

    /// `--fsync batch`: flushes what was written since the last flush.
    pub fn flush_batch(&self) -> io::Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        // A clone of the descriptor, so writers are not held up by the flush.
        let file = lock(&self.current).file.try_clone()?;
        file.sync_data()
    }

    /// Bytes appended to the current generation.
    pub fn len(&self) -> u64 {
        lock(&self.current).bytes
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Compacts: new writes go to a fresh generation, `dump` (called after
    /// the switch, without the journal's lock) becomes the snapshot, and older
    /// journals are deleted. Must not be called while holding a state lock.
    pub fn compact(&self, dump: impl FnOnce() -> Dumps) -> io::Result<()> {
        let _one_at_a_time = lock(&self.compacting);
        let generation = {
            let mut current = lock(&self.current);
            let next = current.generation + 1;
            let path = self.dir.join(journal_name(next));
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            // What the old generation holds reaches the disk before writes move on.
            if self.fsync != Fsync::Never {
                current.file.sync_data()?;
                sync_dir(&self.dir)?;
            }
            *current = Current { file, generation: next, bytes: 0 };
            next
        };
        write_snapshot(&self.dir, &Snapshot::new(generation, dump())).map_err(|e| match e {
            PersistenceError::Io { source, .. } => source,
            PersistenceError::Snapshot { source, .. } => io::Error::other(source),
        })?;
        for g in generations(&self.dir).map_err(|e| io::Error::other(e.to_string()))? {
            if g < generation {
                fs::remove_file(self.dir.join(journal_name(g)))?;
            }
        }
        Ok(())
    }
}

/// Applies every complete line of a journal to its partition (a line that
/// names none to `default`); returns how many were applied.
fn replay(path: &Path, dumps: &mut Dumps, default: &Partition) -> Result<usize, PersistenceError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut applied = 0;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(io_err(path))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<LineIn>(&line) {
            Ok(LineIn { partition, change }) => {
                dumps.entry(partition.unwrap_or_else(|| default.clone())).or_default().apply(change);
                applied += 1;
            }
            Err(e) => {
                // Only the tail can be torn (appends are sequential); stop there.
                tracing::warn!(error = %e, journal = %path.display(), "dropping an incomplete journal line");
                break;
            }
        }
    }
    Ok(applied)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

fn write_snapshot(dir: &Path, snapshot: &Snapshot) -> Result<(), PersistenceError> {
    let tmp = dir.join(format!("{SNAPSHOT}.tmp"));
    let bytes = serde_json::to_vec(snapshot).map_err(|e| io_err(&tmp)(io::Error::other(e)))?;
    {
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(&bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
    }
    let target = dir.join(SNAPSHOT);
    fs::rename(&tmp, &target).map_err(io_err(&target))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_goes_to_its_partition_and_old_lines_to_the_default_one() {
        let dir = tempfile::tempdir().unwrap();
        let default = Partition::new("000000000000", "us-east-1");
        let other = Partition::new("111122223333", "us-east-2");
        // A journal written before partitions: lines without one.
        let old = r#"{"change":"putSecret","valueFrom":"/old","value":"1"}"#;
        fs::write(dir.path().join(journal_name(1)), format!("{old}\n")).unwrap();
        let (dumps, journal) = Journal::open(dir.path(), Fsync::Never, &default).unwrap();
        assert_eq!(dumps[&default].secrets.values.get("/old").map(String::as_str), Some("1"));
        let put = |value_from: &str| Change::PutSecret { value_from: value_from.into(), value: "2".into() };
        journal.append(&other, &[put("/new")]).unwrap();
        journal.append(&default, &[put("/mine")]).unwrap();
        drop(journal);

        let (dumps, journal) = Journal::open(dir.path(), Fsync::Never, &default).unwrap();
        let secrets = |p: &Partition| dumps[p].secrets.values.keys().cloned().collect::<Vec<_>>();
        assert_eq!(secrets(&default), ["/mine", "/old"]);
        assert_eq!(secrets(&other), ["/new"]);
        // Compacted into a snapshot, they stay apart.
        journal.compact(|| dumps.clone()).unwrap();
        let (again, _) = Journal::open(dir.path(), Fsync::Never, &Partition::new("999999999999", "eu-west-1")).unwrap();
        assert_eq!(again.len(), 2, "no state moves to a new default partition");
        assert_eq!(again[&other].secrets.values.len(), 1);
    }
}
