//! Files and directories without blocking the loop: tokio's `fs` module, on the runtime's
//! blocking pool.
//!
//! Regular files are always "ready" to epoll (it refuses to register them with `EPERM`), so
//! every operation here is a blocking syscall run by a pool thread, its result awaited as a
//! `JoinHandle`:
//!
//! ```text
//!  fs::read(path) ──► spawn_blocking(|| std::fs::read(path)) ──► pool thread: open, fstat,
//!                     one read into an exactly sized Vec, close ──► the task wakes with it
//! ```
//!
//! A pool round trip (queue, wake a thread, run, wake the task) costs microseconds, so the rule
//! everywhere is *one round trip per job, not per syscall*: [`read`], [`write()`], [`copy`],
//! [`remove_dir_all`] and the rest each run their whole std function on the pool; [`read_dir()`]
//! opens the directory and reads its first batch of entries in the same trip, later batches
//! doubling in size (see [`ReadDir`]); a [`File`] reads ahead and writes behind, 256 KiB per
//! trip for a sequential stream of small reads or writes, up to its `max_buf_size` (2 MiB by
//! default) for one large read or write (see [`File`]).

mod file;
mod open_options;
mod read_dir;

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};

use std::io;
use std::path::{Path, PathBuf};

use minirt_runtime::task::spawn_blocking;

/// Runs `f` on the blocking pool and awaits its result; a panic in `f` (or a pool shut down
/// before it ran) becomes an `io::Error`.
pub(crate) async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match spawn_blocking(f).await {
        Ok(result) => result,
        Err(err) => Err(background_task_failed(err)),
    }
}

/// The error of a file operation whose pool job panicked or was cancelled (the runtime shut
/// down under it): tokio's, whose message is "background task failed"; the `JoinError` is its
/// `source()`.
pub(crate) fn background_task_failed(err: minirt_runtime::task::JoinError) -> io::Error {
    io::Error::other(BackgroundTaskFailed(err))
}

#[derive(Debug)]
struct BackgroundTaskFailed(minirt_runtime::task::JoinError);

impl std::fmt::Display for BackgroundTaskFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("background task failed")
    }
}

impl std::error::Error for BackgroundTaskFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Reads the whole file at `path` into a `Vec`, in one pool round trip. Tokio's `fs::read`.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Reads the whole file at `path` into a `String`; invalid UTF-8 is an `InvalidData` error.
/// Tokio's `fs::read_to_string`.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Creates or truncates the file at `path` and writes `contents` to it, in one pool round
/// trip. Tokio's `fs::write`.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// Copies the contents and permissions of `from` to `to` (the kernel copies: `copy_file_range`
/// or `sendfile`), returning the number of bytes copied. Tokio's `fs::copy`.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// Renames `from` to `to`, replacing `to` if it exists. Tokio's `fs::rename`.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Removes a file (or a symbolic link). Tokio's `fs::remove_file`.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Removes an empty directory. Tokio's `fs::remove_dir`.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Removes a directory and everything in it, in one pool round trip. Tokio's
/// `fs::remove_dir_all`.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// Creates a directory; its parent must exist. Tokio's `fs::create_dir`.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Creates a directory and any missing parents. Tokio's `fs::create_dir_all`.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// Makes `dst` a new hard link to the file `src`. Tokio's `fs::hard_link`.
pub async fn hard_link(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> io::Result<()> {
    let (src, dst) = (src.as_ref().to_owned(), dst.as_ref().to_owned());
    asyncify(move || std::fs::hard_link(src, dst)).await
}

/// Makes `dst` a symbolic link pointing at `src`. Tokio's `fs::symlink` (Unix).
pub async fn symlink(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> io::Result<()> {
    let (src, dst) = (src.as_ref().to_owned(), dst.as_ref().to_owned());
    asyncify(move || std::os::unix::fs::symlink(src, dst)).await
}

/// Reads where the symbolic link `path` points. Tokio's `fs::read_link`.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_link(path)).await
}

/// The absolute path of `path`, with every link and `..` resolved. Tokio's `fs::canonicalize`.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::canonicalize(path)).await
}

/// The metadata of `path`, following symbolic links. Tokio's `fs::metadata`.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// The metadata of `path` itself, not following a symbolic link. Tokio's
/// `fs::symlink_metadata`.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::symlink_metadata(path)).await
}

/// Changes the permissions of `path`. Tokio's `fs::set_permissions`.
pub async fn set_permissions(path: impl AsRef<Path>, perm: std::fs::Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::set_permissions(path, perm)).await
}

/// Whether `path` exists: `Ok(false)` when it does not, an error when that cannot be known
/// (say a parent directory is not searchable). Tokio's `fs::try_exists`.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    asyncify(move || path.try_exists()).await
}
