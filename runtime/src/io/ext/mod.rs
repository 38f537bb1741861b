//! Tokio's method names over the `futures-io` traits: each method returns a small future that
//! polls the underlying `poll_*` method until it can answer.
//!
//! Every loop here (`read_exact`, `read_to_end`, `write_all`, `copy`, the integer readers and
//! writers) retries an [`std::io::ErrorKind::Interrupted`] from the inner reader or writer, as std's
//! and tokio's do: `Interrupted` means "nothing happened, try again", never the end of the
//! operation.
//!
//! One file per trait: `read` ([`AsyncReadExt`] and its futures), `write` ([`AsyncWriteExt`]),
//! `seek` ([`AsyncSeekExt`]), and `copy` ([`copy()`], [`copy_buf()`] and the copy loop
//! `copy_bidirectional` shares).

/// Polls an I/O operation again while it answers `Interrupted`; yields the first other answer.
macro_rules! retry_interrupted {
    ($poll:expr) => {
        loop {
            match ready!($poll) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        }
    };
}
pub(crate) use retry_interrupted;

mod copy;
mod read;
mod seek;
mod write;

pub(crate) use copy::CopyBuffer;
pub use copy::{copy, copy_buf, Copy, CopyBuf};
pub use read::{AsyncReadExt, Read, ReadBuf, ReadExact, ReadNum, ReadToEnd, ReadToString};
pub use seek::{AsyncSeekExt, Seek};
pub use write::{
    AsyncWriteExt, Flush, Shutdown, Write, WriteAll, WriteAllBuf, WriteBuf, WriteNum, WriteVectored,
};
