//! Dropping a runtime whose tasks are blocked on I/O returns, cancels them, and leaks no file
//! descriptor.
//!
//! The check counts the entries of `/proc/self/fd`, which is process-wide: any other test
//! running at the same time in this process would open and close fds and skew the count. So
//! this binary holds this one test only.

mod common;

use std::io;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{open_fd_count, settle, watchdog};
use minirt::io::AsyncReadExt;
use minirt::net::{TcpListener, TcpStream};
use minirt::runtime::Builder;
use minirt::task::JoinHandle;

const CONNECTIONS: usize = 50;

#[test]
fn dropping_a_runtime_with_tasks_blocked_on_io_leaks_no_fd() {
    let _watchdog = watchdog("dropping_a_runtime_with_tasks_blocked_on_io_leaks_no_fd");
    let before = open_fd_count();

    let rt = Builder::new_current_thread().build().expect("runtime");
    let (readers, acceptor, during) = rt
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let mut readers: Vec<JoinHandle<io::Result<usize>>> = Vec::new();
            for _ in 0..CONNECTIONS {
                let mut client = TcpStream::connect(addr).await?;
                let (mut server, _) = listener.accept().await?;
                // Both ends wait for data that never comes.
                readers.push(minirt::spawn(async move {
                    let mut buf = [0u8; 16];
                    server.read(&mut buf).await
                }));
                readers.push(minirt::spawn(async move {
                    let mut buf = [0u8; 16];
                    client.read(&mut buf).await
                }));
            }
            let acceptor = minirt::spawn(async move { listener.accept().await.map(|_| ()) });
            settle().await;
            for (i, reader) in readers.iter().enumerate() {
                assert!(!reader.is_finished(), "reader {i} should be blocked on its read");
            }
            assert!(!acceptor.is_finished(), "the acceptor should be blocked in accept");
            Ok::<_, io::Error>((readers, acceptor, open_fd_count()))
        })
        .expect("set up the blocked tasks");
    assert!(
        during > before + 2 * CONNECTIONS,
        "the sockets were open: {before} fds before, {during} during"
    );

    // Drop the runtime on another thread so that a hang is reported, not waited on forever.
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let dropper = thread::spawn(move || {
        drop(rt);
        dropped_tx.send(()).expect("the test waits for this");
    });
    dropped_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("dropping the runtime returns promptly (did not return in 10 s)");
    dropper.join().expect("dropper thread");

    // The handles of the dropped tasks report cancellation (polled on a fresh runtime).
    {
        let rt2 = Builder::new_current_thread().build().expect("runtime");
        rt2.block_on(async {
            for (i, reader) in readers.into_iter().enumerate() {
                let err = reader.await.expect_err("the task was dropped, not completed");
                assert!(err.is_cancelled(), "reader {i}: {err:?}");
            }
            let err = acceptor.await.expect_err("the acceptor was dropped");
            assert!(err.is_cancelled(), "acceptor: {err:?}");
        });
    }

    let after = open_fd_count();
    assert_eq!(
        after, before,
        "fds leaked: {before} open before the runtime, {during} with its tasks, {after} after"
    );
}
