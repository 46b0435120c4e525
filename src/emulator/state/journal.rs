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

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::emulator::state::change::{Change, StateDump};
use crate::emulator::state::locks::lock;

const SNAPSHOT: &str = "snapshot.json";

/// Journals beyond this size are compacted by the background task.
pub const COMPACT_AFTER_BYTES: u64 = 64 * 1024 * 1024;

fn journal_name(generation: u64) -> String {
    format!("journal-{generation}.jsonl")
}

/// The snapshot file: the state and the first journal generation not in it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    generation: u64,
    state: StateDump,
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
    pub fn open(dir: &Path, fsync: Fsync) -> Result<(StateDump, Journal), PersistenceError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let snapshot_path = dir.join(SNAPSHOT);
        let Snapshot { generation, mut state } = match fs::read(&snapshot_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| PersistenceError::Snapshot { path: snapshot_path.clone(), source })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Snapshot { generation: 0, state: StateDump::default() },
            Err(e) => return Err(io_err(&snapshot_path)(e)),
        };
        let journals = generations(dir)?;
        let mut replayed = 0;
        for g in journals.iter().copied().filter(|g| *g >= generation) {
            replayed += replay(&dir.join(journal_name(g)), &mut state)?;
        }
        let next = journals.last().copied().unwrap_or(0).max(generation) + 1;
        write_snapshot(dir, &Snapshot { generation: next, state })?;
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
        let Snapshot { state, .. } = serde_json::from_slice(&bytes)
            .map_err(|source| PersistenceError::Snapshot { path: snapshot_path.clone(), source })?;
        tracing::info!(dir = %dir.display(), replayed, generation = next, "state loaded");
        let journal = Journal {
            current: Mutex::new(Current { file, generation: next, bytes: 0 }),
            fsync,
            dirty: AtomicBool::new(false),
            compacting: Mutex::new(()),
            dir: dir.to_owned(),
        };
        Ok((state, journal))
    }

    /// Appends `changes` as one `write(2)`, so a crash leaves either all of a
    /// request's changes or a torn tail that replay drops.
    pub fn append(&self, changes: &[Change]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(512);
        for change in changes {
            serde_json::to_writer(&mut buf, change)?;
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
    pub fn compact(&self, dump: impl FnOnce() -> StateDump) -> io::Result<()> {
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
        let state = dump();
        write_snapshot(&self.dir, &Snapshot { generation, state }).map_err(|e| match e {
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

/// Applies every complete line of a journal; returns how many were applied.
fn replay(path: &Path, state: &mut StateDump) -> Result<usize, PersistenceError> {
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
        match serde_json::from_slice::<Change>(&line) {
            Ok(change) => {
                state.apply(change);
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
