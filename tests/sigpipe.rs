//! Writing to a peer that closed is an error, never a `SIGPIPE`.
//!
//! The Rust runtime sets `SIGPIPE` to "ignore" before `main`, so in an ordinary test a missing
//! `MSG_NOSIGNAL` would go unnoticed. This test restores the default action (terminate the
//! process) first. That is a process-wide change, which is why this binary holds this one
//! test only: no other test can be running in the same process when it happens.

mod common;

use std::io::{self, IoSlice};

use common::{connected_pair, must_complete, watchdog};
use minirt::io::AsyncWriteExt;
use minirt::net::TcpStream;

/// Writes with `write_one` until it fails (bounded), and returns the error.
async fn write_until_error<F>(stream: &mut TcpStream, mut write_one: F) -> io::Error
where
    F: for<'a> FnMut(
        &'a mut TcpStream,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = io::Result<usize>> + 'a>,
    >,
{
    for _ in 0..10_000 {
        match must_complete("write", write_one(stream)).await {
            Ok(n) => assert!(n > 0, "a write of a non-empty buffer wrote nothing"),
            Err(e) => return e,
        }
        // Let the peer's RST arrive.
        common::settle().await;
    }
    panic!("10,000 writes to a closed peer all succeeded");
}

#[minirt::test]
async fn writing_to_a_closed_peer_is_an_error_not_sigpipe() -> io::Result<()> {
    let _watchdog = watchdog("writing_to_a_closed_peer_is_an_error_not_sigpipe");
    // SAFETY: setting a signal's disposition to SIG_DFL is always valid; this binary runs no
    // other test concurrently (see the module docs).
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR, "signal(SIGPIPE, SIG_DFL)");

    // `write` (send).
    let (mut client, server) = connected_pair().await?;
    drop(server);
    let err = write_until_error(&mut client, |s| Box::pin(s.write(b"are you there?"))).await;
    common::assert_peer_gone(&err, "write");
    // And it stays an error.
    let err = client.write_all(b"still there?").await.expect_err("the peer is gone");
    common::assert_peer_gone(&err, "write_all after the first error");

    // Vectored writes (sendmsg), through the futures-io default path of futures-util.
    let (mut client, server) = connected_pair().await?;
    drop(server);
    let err = write_until_error(&mut client, |s| {
        Box::pin(async move {
            let bufs = [IoSlice::new(b"are "), IoSlice::new(b"you "), IoSlice::new(b"there?")];
            futures_util::io::AsyncWriteExt::write_vectored(s, &bufs).await
        })
    })
    .await;
    common::assert_peer_gone(&err, "write_vectored");

    // try_write, after waiting for writability.
    let (mut client, server) = connected_pair().await?;
    drop(server);
    let err = write_until_error(&mut client, |s| {
        Box::pin(async move {
            loop {
                s.writable().await?;
                match s.try_write(b"are you there?") {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    result => return result,
                }
            }
        })
    })
    .await;
    common::assert_peer_gone(&err, "try_write");

    // Still alive, with SIGPIPE at its default action: no signal was raised.
    // SAFETY: restoring the previous disposition returned by `signal` above.
    unsafe { libc::signal(libc::SIGPIPE, previous) };
    Ok(())
}
