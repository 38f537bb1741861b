//! [`read_dir`]: a directory's entries, fetched from the blocking pool in batches.
//!
//! ```text
//!  read_dir(path) ──► one pool trip: opendir + the first FIRST_BATCH entries (each with its
//!                     d_type, so DirEntry::file_type needs no trip of its own)
//!  next_entry()   ──► pops the local batch; empty: one pool trip for the next batch, twice as
//!                     large as the last (up to MAX_BATCH), so a big directory costs few trips
//! ```

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{FileType, Metadata};
use std::future::poll_fn;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use minirt_runtime::task::{spawn_blocking, JoinHandle};

use super::asyncify;

/// Entries fetched by the trip that opens the directory (tokio fetches 32 per trip).
const FIRST_BATCH: usize = 32;
/// The largest batch one trip fetches.
const MAX_BATCH: usize = 1024;

/// What one pool trip hands back: entries, the directory stream (`None` once exhausted) and
/// the size of the next batch.
type Batch = (VecDeque<io::Result<DirEntry>>, Option<std::fs::ReadDir>, usize);

/// Opens the directory `path` and reads its first entries, in one pool round trip. Tokio's
/// `fs::read_dir`: iterate with [`ReadDir::next_entry`].
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let mut entries = minirt_os::fs::read_dir(".").await?; // minirt::fs::read_dir
/// while let Some(entry) = entries.next_entry().await? {
///     println!("{}", entry.path().display());
/// }
/// # Ok(()) }
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let batch = asyncify(move || {
        let std = std::fs::read_dir(path)?;
        Ok(next_batch(std, FIRST_BATCH))
    })
    .await?;
    Ok(ReadDir { state: State::Idle(Some(batch)) })
}

/// Reads up to `n` entries from `std` (on a pool thread).
fn next_batch(mut std: std::fs::ReadDir, n: usize) -> Batch {
    let mut entries = VecDeque::with_capacity(n);
    let mut done = false;
    while entries.len() < n {
        match std.next() {
            Some(entry) => entries.push_back(entry.map(DirEntry::new)),
            None => {
                done = true;
                break;
            }
        }
    }
    let std = if done { None } else { Some(std) };
    (entries, std, (n * 2).min(MAX_BATCH))
}

/// The entries of a directory, as tokio's `fs::ReadDir`: made by [`read_dir`].
#[derive(Debug)]
pub struct ReadDir {
    state: State,
}

#[derive(Debug)]
enum State {
    Idle(Option<Batch>),
    Pending(JoinHandle<Batch>),
}

impl ReadDir {
    /// The next entry, or `None` after the last one. Cancel safe: an entry is taken only when
    /// this returns it.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry: `Ready(Ok(None))` after the last one. Tokio's
    /// `ReadDir::poll_next_entry`.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle(batch) => {
                    let Some((entries, std, next)) = batch else {
                        return Poll::Ready(Ok(None));
                    };
                    if let Some(entry) = entries.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    let Some(std) = std.take() else {
                        return Poll::Ready(Ok(None));
                    };
                    let next = *next;
                    *batch = None;
                    self.state = State::Pending(spawn_blocking(move || next_batch(std, next)));
                }
                State::Pending(handle) => {
                    let result = ready!(Pin::new(handle).poll(cx));
                    match result {
                        Ok(batch) => self.state = State::Idle(Some(batch)),
                        Err(err) => {
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(super::background_task_failed(err)));
                        }
                    }
                }
            }
        }
    }
}

use std::future::Future;

/// One entry of a [`ReadDir`], as tokio's `fs::DirEntry`.
#[derive(Debug)]
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// Read from the directory stream's `d_type` on the pool thread, when the filesystem gives
    /// it (`None`: `file_type` asks the pool for an `lstat`).
    file_type: Option<FileType>,
}

impl DirEntry {
    fn new(std: std::fs::DirEntry) -> DirEntry {
        // std's file_type uses d_type and only falls back to lstat when it is DT_UNKNOWN; that
        // fallback runs here on the pool thread, never on the loop.
        let file_type = std.file_type().ok();
        DirEntry { std: Arc::new(std), file_type }
    }

    /// The full path: the `read_dir` argument joined with [`file_name`](DirEntry::file_name).
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's inode number (`d_ino`).
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }

    /// The entry's metadata, not following a symbolic link (an `lstat` on the pool).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// The entry's file type, not following a symbolic link: known without a syscall when the
    /// directory listing gave it, else an `lstat` on the pool.
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(file_type) = self.file_type {
            return Ok(file_type);
        }
        let std = self.std.clone();
        asyncify(move || std.file_type()).await
    }
}
