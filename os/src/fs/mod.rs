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

/// Declares `async fn`s that run their `std::fs` namesake on the blocking pool, each path
/// argument copied to an owned `PathBuf` first (the pool job outlives the caller's borrow).
macro_rules! on_the_pool {
    ($($(#[$doc:meta])* fn $name:ident($($path:ident),+) -> $ret:ty = $std:path;)*) => {$(
        $(#[$doc])*
        pub async fn $name($($path: impl AsRef<Path>),+) -> io::Result<$ret> {
            $(let $path = $path.as_ref().to_owned();)+
            asyncify(move || $std($($path),+)).await
        }
    )*};
}

on_the_pool! {
    /// Reads the whole file at `path` into a `Vec`, in one pool round trip. Tokio's `fs::read`.
    fn read(path) -> Vec<u8> = std::fs::read;

    /// Reads the whole file at `path` into a `String`; invalid UTF-8 is an `InvalidData` error.
    /// Tokio's `fs::read_to_string`.
    fn read_to_string(path) -> String = std::fs::read_to_string;

    /// Copies the contents and permissions of `from` to `to` (the kernel copies: `copy_file_range`
    /// or `sendfile`), returning the number of bytes copied. Tokio's `fs::copy`.
    fn copy(from, to) -> u64 = std::fs::copy;

    /// Renames `from` to `to`, replacing `to` if it exists. Tokio's `fs::rename`.
    fn rename(from, to) -> () = std::fs::rename;

    /// Removes a file (or a symbolic link). Tokio's `fs::remove_file`.
    fn remove_file(path) -> () = std::fs::remove_file;

    /// Removes an empty directory. Tokio's `fs::remove_dir`.
    fn remove_dir(path) -> () = std::fs::remove_dir;

    /// Removes a directory and everything in it, in one pool round trip. Tokio's
    /// `fs::remove_dir_all`.
    fn remove_dir_all(path) -> () = std::fs::remove_dir_all;

    /// Creates a directory; its parent must exist. Tokio's `fs::create_dir`.
    fn create_dir(path) -> () = std::fs::create_dir;

    /// Creates a directory and any missing parents. Tokio's `fs::create_dir_all`.
    fn create_dir_all(path) -> () = std::fs::create_dir_all;

    /// Makes `dst` a new hard link to the file `src`. Tokio's `fs::hard_link`.
    fn hard_link(src, dst) -> () = std::fs::hard_link;

    /// Makes `dst` a symbolic link pointing at `src`. Tokio's `fs::symlink` (Unix).
    fn symlink(src, dst) -> () = std::os::unix::fs::symlink;

    /// Reads where the symbolic link `path` points. Tokio's `fs::read_link`.
    fn read_link(path) -> PathBuf = std::fs::read_link;

    /// The absolute path of `path`, with every link and `..` resolved. Tokio's `fs::canonicalize`.
    fn canonicalize(path) -> PathBuf = std::fs::canonicalize;

    /// The metadata of `path`, following symbolic links. Tokio's `fs::metadata`.
    fn metadata(path) -> std::fs::Metadata = std::fs::metadata;

    /// The metadata of `path` itself, not following a symbolic link. Tokio's
    /// `fs::symlink_metadata`.
    fn symlink_metadata(path) -> std::fs::Metadata = std::fs::symlink_metadata;
}

/// Creates or truncates the file at `path` and writes `contents` to it, in one pool round
/// trip. Tokio's `fs::write`.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
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
