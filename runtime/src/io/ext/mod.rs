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

/// Declares the future an extension method returns: the struct (the I/O object it borrows and
/// what it keeps between polls) and its `Future` impl, whose body sees the struct as `$this`
/// (`&mut Self`, every future here is `Unpin`) and the context as `$cx`.
macro_rules! io_future {
    ($(
        $(#[$attr:meta])*
        pub struct $name:ident<$($lt:lifetime),+, $io:ident: $bound:ident> {
            $($field:ident: $ty:ty),* $(,)?
        }
        fn poll($this:ident, $cx:ident) -> $out:ty $body:block
    )*) => {$(
        $(#[$attr])*
        #[derive(Debug)]
        #[must_use = "futures do nothing unless you `.await` or poll them"]
        pub struct $name<$($lt,)+ $io: ?Sized> {
            $($field: $ty),*
        }

        impl<$($lt,)+ $io: $bound + Unpin + ?Sized> Future for $name<$($lt,)+ $io> {
            type Output = io::Result<$out>;

            fn poll(self: Pin<&mut Self>, $cx: &mut Context<'_>) -> Poll<io::Result<$out>> {
                let $this = self.get_mut();
                $body
            }
        }
    )*};
}
pub(crate) use io_future;

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
