//! [`OpenOptions`]: std's builder of open flags, whose `open` runs on the blocking pool and
//! hands back a [`File`].

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{asyncify, File};

/// Options and flags to open a file with, as tokio's `fs::OpenOptions`: the same builder as
/// `std::fs::OpenOptions`, with an async [`open`](OpenOptions::open).
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use minirt_os::fs::OpenOptions; // minirt::fs::OpenOptions in the facade
/// let file = OpenOptions::new().append(true).create(true).open("log.txt").await?;
/// # drop(file); Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// No access and no flags set: at least one of `read`, `write`, `append` is needed.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Opens for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Opens for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Opens for appending: every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncates the file to 0 bytes when opening it (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Creates the file if it does not exist.
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Creates the file, failing with `AlreadyExists` if it exists (`O_CREAT | O_EXCL`).
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits of a file this call creates (before the umask); `0o666` by default.
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.0.mode(mode);
        self
    }

    /// Extra `open(2)` flags (say `libc::O_NOFOLLOW`); the access mode bits are ignored.
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.0.custom_flags(flags);
        self
    }

    /// Opens the file at `path` with these options, on the blocking pool.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        let opts = self.0.clone();
        let std = asyncify(move || opts.open(path)).await?;
        Ok(File::from_std(std))
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}
