//! A FUSE file system with a page cache the test can drop.
//!
//! Every `write(2)` lands in the cache (what reads see); only `fsync` /
//! `fdatasync` of a file copies its data to the "disk", and only `fsync` of
//! the directory makes its names (creates, renames, unlinks) durable — the
//! strict POSIX contract, stricter than ext4 in practice. [`Volatile::disk`]
//! is what a machine that lost power at that instant would find.
//!
//! FUSE (without `writeback_cache`, which is never requested here) hands every
//! write to this process before the writer's `write(2)` returns, so the
//! program under test runs unchanged, with real system calls; only the
//! kernel's own page cache is replaced by this one. One flat directory is all
//! the emulator's state directory needs; `mkdir` is refused.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

const ROOT: u64 = 1;
/// Attributes are never cached by the kernel: sizes come from here.
const TTL: Duration = Duration::ZERO;

#[derive(Default)]
struct Inode {
    /// What reads see: the page cache.
    cached: Vec<u8>,
    /// What survives a power loss: the last `fsync`ed data.
    durable: Vec<u8>,
}

#[derive(Default)]
struct State {
    inodes: BTreeMap<u64, Inode>,
    /// The directory as reads see it.
    names: BTreeMap<OsString, u64>,
    /// The directory as the last `fsync` of it left it.
    durable_names: BTreeMap<OsString, u64>,
    next: u64,
    /// `fsync` calls seen (files and the directory), to show the program flushed.
    syncs: u64,
}

/// The shared handle: the mounted file system and the test both hold one.
#[derive(Clone, Default)]
pub struct Volatile(Arc<Mutex<State>>);

impl Volatile {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mounts a new, empty file system at `at`.
    pub fn mount(at: &Path) -> (Volatile, BackgroundSession) {
        let fs = Volatile(Arc::new(Mutex::new(State { next: ROOT + 1, ..State::default() })));
        let mut config = Config::default();
        config.mount_options = vec![MountOption::FSName("ecs-bridge-volatile".into()), MountOption::DefaultPermissions];
        let session = fuser::spawn_mount(fs.clone(), at, &config).unwrap_or_else(|e| {
            panic!("mount the test's FUSE file system at {}: {e} (needs /dev/fuse and root)", at.display())
        });
        (fs, session)
    }

    /// What a power loss now would leave: the durable names, each with its
    /// durable data.
    pub fn disk(&self) -> BTreeMap<OsString, Vec<u8>> {
        let state = self.state();
        state
            .durable_names
            .iter()
            .map(|(name, ino)| (name.clone(), state.inodes.get(ino).map(|i| i.durable.clone()).unwrap_or_default()))
            .collect()
    }

    /// How many `fsync`s the file system has served.
    pub fn syncs(&self) -> u64 {
        self.state().syncs
    }
}

fn attr(ino: u64, size: u64) -> FileAttr {
    let (kind, perm, nlink) =
        if ino == ROOT { (FileType::Directory, 0o755, 2) } else { (FileType::RegularFile, 0o644, 1) };
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: SystemTime::UNIX_EPOCH,
        mtime: SystemTime::UNIX_EPOCH,
        ctime: SystemTime::UNIX_EPOCH,
        crtime: SystemTime::UNIX_EPOCH,
        kind,
        perm,
        nlink,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

impl State {
    fn attr_of(&self, ino: u64) -> Option<FileAttr> {
        if ino == ROOT {
            return Some(attr(ROOT, 0));
        }
        self.inodes.get(&ino).map(|i| attr(ino, i.cached.len() as u64))
    }
}

impl Filesystem for Volatile {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let state = self.state();
        match (parent.0 == ROOT).then(|| state.names.get(name)).flatten().and_then(|ino| state.attr_of(*ino)) {
            Some(attr) => reply.entry(&TTL, &attr, Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.state().attr_of(ino.0) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut state = self.state();
        if let (Some(size), Some(inode)) = (size, state.inodes.get_mut(&ino.0)) {
            inode.cached.resize(size as usize, 0);
        }
        match state.attr_of(ino.0) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn mkdir(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, _mode: u32, _umask: u32, reply: ReplyEntry) {
        reply.error(Errno::EPERM);
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        if parent.0 != ROOT {
            return reply.error(Errno::ENOENT);
        }
        let mut state = self.state();
        let ino = match state.names.get(name) {
            Some(ino) => *ino,
            None => {
                let ino = state.next;
                state.next += 1;
                state.inodes.insert(ino, Inode::default());
                state.names.insert(name.to_owned(), ino);
                ino
            }
        };
        match state.attr_of(ino) {
            Some(attr) => reply.created(&TTL, &attr, Generation(0), FileHandle(0), FopenFlags::empty()),
            None => reply.error(Errno::EIO),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut state = self.state();
        match (parent.0 == ROOT).then(|| state.names.remove(name)).flatten() {
            Some(_) => reply.ok(),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mut state = self.state();
        if parent.0 != ROOT || newparent.0 != ROOT {
            return reply.error(Errno::ENOENT);
        }
        match state.names.remove(name) {
            Some(ino) => {
                state.names.insert(newname.to_owned(), ino);
                reply.ok()
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let state = self.state();
        let Some(inode) = state.inodes.get(&ino.0) else { return reply.error(Errno::ENOENT) };
        let start = (offset as usize).min(inode.cached.len());
        let end = start.saturating_add(size as usize).min(inode.cached.len());
        reply.data(&inode.cached[start..end]);
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut state = self.state();
        let Some(inode) = state.inodes.get_mut(&ino.0) else { return reply.error(Errno::ENOENT) };
        let start = offset as usize;
        if inode.cached.len() < start + data.len() {
            inode.cached.resize(start + data.len(), 0);
        }
        inode.cached[start..start + data.len()].copy_from_slice(data);
        reply.written(data.len() as u32);
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
        // close(2) flushes nothing to the disk.
        reply.ok();
    }

    fn fsync(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        let mut state = self.state();
        state.syncs += 1;
        match state.inodes.get_mut(&ino.0) {
            Some(inode) => {
                inode.durable = inode.cached.clone();
                reply.ok()
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        if ino.0 != ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let state = self.state();
        let dots =
            [(ROOT, FileType::Directory, OsString::from(".")), (ROOT, FileType::Directory, OsString::from(".."))];
        let files = state.names.iter().map(|(name, ino)| (*ino, FileType::RegularFile, name.clone()));
        for (i, (ino, kind, name)) in dots.into_iter().chain(files).enumerate().skip(offset as usize) {
            if reply.add(INodeNo(ino), i as u64 + 1, kind, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        let mut state = self.state();
        state.syncs += 1;
        if ino.0 == ROOT {
            state.durable_names = state.names.clone();
        }
        reply.ok();
    }
}
