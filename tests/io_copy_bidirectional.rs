//! copy_bidirectional, ported from tokio's io_copy_bidirectional.rs: over real TCP pairs
//! (half-close is passed on as a FIN), and over scripted streams (errors, Interrupted).

mod common;
mod io_support;

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{connected_pair, timeout, HANG_LIMIT};
use io_support::{Builder, Mock};
use minirt::io::{
    copy_bidirectional, copy_bidirectional_with_sizes, AsyncRead, AsyncReadExt, AsyncWrite,
    AsyncWriteExt, ErrorKind,
};
use minirt::net::TcpStream;
use minirt::task::JoinHandle;

/// Writes until the socket buffers are full (a write has been pending for 10 ms).
async fn block_write(s: &mut TcpStream) -> usize {
    static BUF: [u8; 2048] = [0; 2048];
    let mut copied = 0;
    while let Ok(result) = minirt::time::timeout(Duration::from_millis(10), s.write(&BUF)).await {
        copied += result.expect("write error");
    }
    copied
}

/// Runs `cb` twice, with the relay's arguments in both orders.
async fn symmetric<F, Fut>(mut cb: F)
where
    F: FnMut(JoinHandle<io::Result<(u64, u64)>>, TcpStream, TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for swap in [false, true] {
        let (a, mut a1) = connected_pair().await.unwrap();
        let (b, mut b1) = connected_pair().await.unwrap();
        let handle = minirt::spawn(async move {
            if swap {
                copy_bidirectional(&mut b1, &mut a1).await.map(|(x, y)| (y, x))
            } else {
                copy_bidirectional(&mut a1, &mut b1).await
            }
        });
        timeout(HANG_LIMIT, cb(handle, a, b)).await.expect("test hung");
    }
}

#[minirt::test]
async fn test_basic_transfer() {
    symmetric(|_handle, mut a, mut b| async move {
        a.write_all(b"test").await.unwrap();
        let mut tmp = [0; 4];
        b.read_exact(&mut tmp).await.unwrap();
        assert_eq!(&tmp[..], b"test");
    })
    .await
}

#[minirt::test]
async fn test_transfer_after_close() {
    symmetric(|handle, mut a, mut b| async move {
        a.shutdown().await.unwrap();
        b.read_to_end(&mut Vec::new()).await.unwrap();
        b.write_all(b"quux").await.unwrap();
        let mut tmp = [0; 4];
        a.read_exact(&mut tmp).await.unwrap();
        assert_eq!(&tmp[..], b"quux");
        drop(b);
        assert_eq!(handle.await.unwrap().unwrap(), (0, 4));
    })
    .await
}

#[minirt::test]
async fn blocking_one_side_does_not_block_other() {
    symmetric(|handle, mut a, mut b| async move {
        block_write(&mut a).await;
        b.write_all(b"quux").await.unwrap();
        let mut tmp = [0; 4];
        a.read_exact(&mut tmp).await.unwrap();
        assert_eq!(&tmp[..], b"quux");
        a.shutdown().await.unwrap();
        let mut buf = Vec::new();
        b.read_to_end(&mut buf).await.unwrap();
        drop(b);
        assert_eq!(handle.await.unwrap().unwrap(), (buf.len() as u64, 4));
    })
    .await
}

/// A reader script and a writer script as one stream (tokio's `io::join`).
struct Joined(Mock, Mock);

impl AsyncRead for Joined {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Joined {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.1).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.1).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.1).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.1).poll_close(cx)
    }
}

#[minirt::test]
async fn immediate_exit_on_write_error() {
    let payload = b"here, take this";
    let mut a = Joined(
        Builder::new().read(payload).pending().build(),
        Builder::new().write_error(ErrorKind::Other, "no thanks!").build(),
    );
    let mut b = Joined(
        Builder::new().read(payload).pending().build(),
        Builder::new().write_error(ErrorKind::Other, "no thanks!").build(),
    );
    assert!(copy_bidirectional(&mut a, &mut b).await.is_err());
}

#[minirt::test]
async fn immediate_exit_on_read_error() {
    let mut a = Joined(
        Builder::new().read_error(ErrorKind::Other, "got nothing!").build(),
        Builder::new().build(),
    );
    let mut b = Joined(
        Builder::new().read_error(ErrorKind::Other, "got nothing!").build(),
        Builder::new().build(),
    );
    assert!(copy_bidirectional(&mut a, &mut b).await.is_err());
}

#[test]
#[should_panic(expected = "buffer sizes must be greater than zero")]
fn copy_bidirectional_with_sizes_panics_on_zero_buffer() {
    let (mut a, mut b) = (Builder::new().build(), Builder::new().build());
    drop(copy_bidirectional_with_sizes(&mut a, &mut b, 0, 1));
}

#[minirt::test]
async fn retry_on_io_interrupted() {
    for sized in [false, true] {
        let script = |read: &[u8], write: &[u8]| {
            Joined(
                Builder::new().read_error(ErrorKind::Interrupted, "interrupted").read(read).build(),
                Builder::new()
                    .write_error(ErrorKind::Interrupted, "interrupted")
                    .write(write)
                    .build(),
            )
        };
        let mut a = script(b"ab", b"cd");
        let mut b = script(b"cd", b"ab");
        let result = if sized {
            copy_bidirectional_with_sizes(&mut a, &mut b, 1, 1).await
        } else {
            copy_bidirectional(&mut a, &mut b).await
        };
        assert_eq!(result.unwrap(), (2, 2));
    }
}
