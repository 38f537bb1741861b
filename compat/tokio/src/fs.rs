//! Files and directories (tokio's `tokio::fs`), on minirt's blocking pool.
//!
//! Everything but `File` and `OpenOptions` is minirt's own. `File` is a thin newtype over
//! `minirt::fs::File`: tokio's seek is two calls (`start_seek`, then `poll_complete`) where
//! futures-io's is one (`poll_seek(pos)`), so the position asked for has to be kept between
//! them. Reads and writes go straight to minirt's file.

use std::fs::{Metadata, Permissions};
use std::io::{self, IoSlice, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::SystemTime;

pub use minirt::fs::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_dir, read_link,
    read_to_string, remove_dir, remove_dir_all, remove_file, rename, set_permissions, symlink,
    symlink_metadata, try_exists, write, DirEntry, ReadDir,
};

use crate::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

/// An open file (tokio's `File`).
pub struct File {
    inner: minirt::fs::File,
    seek: Option<SeekFrom>,
}

/// tokio's format: `tokio::fs::File { std: File { fd: .. } }` (minirt's file prints the same
/// fields under its own name).
impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tokio::fs::")?;
        std::fmt::Debug::fmt(&self.inner, f)
    }
}

impl File {
    fn wrap(inner: minirt::fs::File) -> File {
        File { inner, seek: None }
    }

    /// Opens a file for reading.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        minirt::fs::File::open(path).await.map(File::wrap)
    }

    /// Creates (or truncates) a file for writing.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        minirt::fs::File::create(path).await.map(File::wrap)
    }

    /// Creates a new file for writing; an error if it exists.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        minirt::fs::File::create_new(path).await.map(File::wrap)
    }

    /// Options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps a standard file.
    pub fn from_std(std: std::fs::File) -> File {
        File::wrap(minirt::fs::File::from_std(std))
    }

    /// Flushes data and metadata to disk.
    pub async fn sync_all(&self) -> io::Result<()> {
        self.inner.sync_all().await
    }

    /// Flushes data to disk.
    pub async fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data().await
    }

    /// Truncates or extends the file.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        self.inner.set_len(size).await
    }

    /// The file's metadata.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.inner.metadata().await
    }

    /// A second handle to the same file.
    pub async fn try_clone(&self) -> io::Result<File> {
        let mut clone = File::wrap(self.inner.try_clone().await?);
        clone.set_max_buf_size(self.max_buf_size());
        Ok(clone)
    }

    /// The standard file, once pending operations finished.
    pub async fn into_std(self) -> std::fs::File {
        self.inner.into_std().await
    }

    /// The standard file, if no operation is in flight.
    pub fn try_into_std(self) -> Result<std::fs::File, Self> {
        self.inner.try_into_std().map_err(File::wrap)
    }

    /// Changes the file's permissions.
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.inner.set_permissions(perm).await
    }

    /// Sets the file's access and modification times, after the operation in flight (so it
    /// cannot complete after this and overwrite them).
    pub async fn set_times(&self, times: FileTimes) -> io::Result<()> {
        let std = self.inner.try_clone().await?.into_std().await;
        let times = times.into_std();
        minirt::task::spawn_blocking(move || std.set_times(times))
            .await
            .map_err(io::Error::other)?
    }

    /// Sets the file's modification time: `set_times` with only that one.
    pub async fn set_modified(&self, time: SystemTime) -> io::Result<()> {
        self.set_times(FileTimes::new().set_modified(time)).await
    }

    /// Sets the most a single blocking read or write moves.
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        self.inner.set_max_buf_size(max_buf_size)
    }

    /// The most a single blocking read or write moves.
    pub fn max_buf_size(&self) -> usize {
        self.inner.max_buf_size()
    }
}

/// The times [`File::set_times`] sets (tokio's `fs::FileTimes`): each one left unset stays as
/// it is.
#[derive(Debug, Clone, Default)]
#[must_use = "must be applied to a file via `File::set_times` to have any effect"]
pub struct FileTimes {
    accessed: Option<SystemTime>,
    modified: Option<SystemTime>,
}

impl FileTimes {
    /// No time set.
    pub fn new() -> FileTimes {
        FileTimes::default()
    }

    /// Sets the last access time.
    pub fn set_accessed(mut self, t: SystemTime) -> FileTimes {
        self.accessed = Some(t);
        self
    }

    /// Sets the last modification time.
    pub fn set_modified(mut self, t: SystemTime) -> FileTimes {
        self.modified = Some(t);
        self
    }

    fn into_std(self) -> std::fs::FileTimes {
        let mut std = std::fs::FileTimes::new();
        if let Some(t) = self.accessed {
            std = std.set_accessed(t);
        }
        if let Some(t) = self.modified {
            std = std.set_modified(t);
        }
        std
    }
}

impl From<std::fs::File> for File {
    fn from(std: std::fs::File) -> File {
        File::from_std(std)
    }
}

impl std::os::fd::FromRawFd for File {
    unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> File {
        // SAFETY: the caller hands over ownership of an open file descriptor (FromRawFd's
        // contract).
        File::from_std(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}

impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_raw_fd()
    }
}

impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        crate::io::bridge::poll_read_futures(Pin::new(&mut self.get_mut().inner), cx, buf)
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().inner), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // One job writes from every buffer (up to `max_buf_size` in all), as tokio's does;
        // minirt's file takes one slice, so they are joined first.
        let me = self.get_mut();
        let limit = me.inner.max_buf_size();
        let total = bufs.iter().map(|b| b.len()).sum::<usize>().min(limit);
        let mut joined = Vec::with_capacity(total);
        for b in bufs {
            let take = b.len().min(total - joined.len());
            joined.extend_from_slice(&b[..take]);
        }
        futures_io::AsyncWrite::poll_write(Pin::new(&mut me.inner), cx, &joined)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().inner), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(Pin::new(&mut self.get_mut().inner), cx)
    }
}

impl AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let me = self.get_mut();
        if me.seek.is_some() {
            return Err(io::Error::other(
                "other file operation is pending, call poll_complete before start_seek",
            ));
        }
        me.seek = Some(position);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        // No seek asked for: report the position (a relative seek of 0 asks minirt for it).
        let pos = me.seek.unwrap_or(SeekFrom::Current(0));
        let res = ready!(futures_io::AsyncSeek::poll_seek(Pin::new(&mut me.inner), cx, pos));
        me.seek = None;
        Poll::Ready(res)
    }
}

/// Options to open a file with (tokio's `OpenOptions`).
#[derive(Debug, Clone)]
pub struct OpenOptions(minirt::fs::OpenOptions);

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! flag {
    ($($(#[$doc:meta])* $name:ident($ty:ty);)*) => {$(
        $(#[$doc])*
        pub fn $name(&mut self, v: $ty) -> &mut OpenOptions {
            self.0.$name(v);
            self
        }
    )*};
}

impl OpenOptions {
    /// Nothing set.
    pub fn new() -> OpenOptions {
        OpenOptions(minirt::fs::OpenOptions::new())
    }

    flag! {
        /// Open for reading.
        read(bool);
        /// Open for writing.
        write(bool);
        /// Append to the end.
        append(bool);
        /// Truncate to 0 bytes.
        truncate(bool);
        /// Create if missing.
        create(bool);
        /// Create, failing if it exists.
        create_new(bool);
        /// Permission bits for a new file.
        mode(u32);
        /// Extra `open(2)` flags.
        custom_flags(i32);
    }

    /// Opens `path` with these options.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        self.0.open(path).await.map(File::wrap)
    }
}

/// Creates directories with options (tokio's `DirBuilder`), on the blocking pool.
#[derive(Debug, Default)]
pub struct DirBuilder {
    recursive: bool,
    mode: Option<u32>,
}

impl DirBuilder {
    /// Non-recursive, default permissions.
    pub fn new() -> DirBuilder {
        DirBuilder::default()
    }

    /// Whether to create missing parents too.
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// Permission bits of the new directories.
    pub fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = Some(mode);
        self
    }

    /// Creates `path`.
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_owned();
        let (recursive, mode) = (self.recursive, self.mode);
        let job = minirt::task::spawn_blocking(move || {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(recursive);
            if let Some(mode) = mode {
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, mode);
            }
            builder.create(path)
        });
        match job.await {
            Ok(res) => res,
            Err(e) => Err(io::Error::other(format!("DirBuilder::create: {e}"))),
        }
    }
}
