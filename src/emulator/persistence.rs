//! Durable state for `--state-dir`: a snapshot plus a write-ahead journal.
//!
//! Why this design: every acknowledged write must survive `kill -9` and a
//! restart, while reads and writes stay fast. Writes are journaled as whole
//! records ([`Change`]), one JSON line each, appended with a single `write(2)`
//! before the response is sent. Once `write` returns, the bytes belong to the
//! kernel's page cache, which outlives the process, so `kill -9` cannot lose an
//! acknowledged write; no `fsync` per request is needed for that guarantee
//! (power loss is out of scope for an emulator, which keeps request latency in
//! microseconds). Whole-record lines make replay trivially idempotent (last
//! write wins) and independent of the clock and id generator. At startup the
//! snapshot is loaded, the journal replayed (a torn final line, the only thing
//! a crash mid-`write` can leave, is dropped: it was never acknowledged), and
//! the result compacted into a new snapshot written atomically (temp file,
//! `fsync`, `rename`, directory `fsync`) before the journal is truncated.
//! Atomic snapshots alone would have to rewrite the whole state on every write.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::state::{Change, StateDump, lock};

const SNAPSHOT: &str = "snapshot.json";
const JOURNAL: &str = "journal.jsonl";

/// The append-only journal of one state directory.
#[derive(Debug)]
pub struct Journal {
    file: Mutex<File>,
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

impl Journal {
    /// Loads the state kept in `dir` (creating it if needed), compacts it into
    /// a fresh snapshot and opens an empty journal for new writes.
    pub fn open(dir: &Path) -> Result<(StateDump, Journal), PersistenceError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let snapshot_path = dir.join(SNAPSHOT);
        let mut state = match fs::read(&snapshot_path) {
            Ok(bytes) => serde_json::from_slice::<StateDump>(&bytes)
                .map_err(|source| PersistenceError::Snapshot { path: snapshot_path.clone(), source })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => StateDump::default(),
            Err(e) => return Err(io_err(&snapshot_path)(e)),
        };
        let journal_path = dir.join(JOURNAL);
        let replayed = replay(&journal_path, &mut state)?;
        if replayed > 0 || !snapshot_path.exists() {
            write_snapshot(dir, &state)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&journal_path)
            .map_err(io_err(&journal_path))?;
        file.sync_all().map_err(io_err(&journal_path))?;
        tracing::info!(dir = %dir.display(), replayed, "state loaded");
        Ok((state, Journal { file: Mutex::new(file), dir: dir.to_owned() }))
    }

    /// Appends `changes` as one `write(2)`, so a crash leaves either all of a
    /// request's changes or a torn tail that replay drops.
    pub fn append(&self, changes: &[Change]) -> io::Result<()> {
        let mut buf = Vec::with_capacity(512);
        for change in changes {
            serde_json::to_writer(&mut buf, change)?;
            buf.push(b'\n');
        }
        lock(&self.file).write_all(&buf)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Applies every complete line of the journal; returns how many were applied.
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
                tracing::warn!(error = %e, "dropping an incomplete journal line");
                break;
            }
        }
    }
    Ok(applied)
}

fn write_snapshot(dir: &Path, state: &StateDump) -> Result<(), PersistenceError> {
    let tmp = dir.join(format!("{SNAPSHOT}.tmp"));
    let bytes = serde_json::to_vec(state)
        .map_err(|e| io_err(&tmp)(io::Error::other(e)))?;
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
