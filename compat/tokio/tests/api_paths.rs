//! The tokio paths that crates of the ecosystem name (collected from the sources of axum,
//! hyper, hyper-util, reqwest, tower, tower-http, tokio-util, tokio-stream, tonic, sqlx,
//! h2, tokio-tungstenite), checked to resolve here with the kinds tokio gives them.

#![allow(unused_imports, dead_code)]

use tokio::fs::{File, OpenOptions, ReadDir};
use tokio::io::unix::AsyncFd;
use tokio::io::util::Read as _ReadFuture;
use tokio::io::{
    copy, copy_bidirectional, duplex, empty, join, repeat, simplex, sink, split, stdin, stdout,
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite,
    AsyncWriteExt, DuplexStream, Error, Lines, ReadBuf, Result, Split,
};
use tokio::net::unix::{SocketAddr, UCred};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixListener, UnixStream};
use tokio::runtime::{Builder, Handle, LocalRuntime, Runtime, RuntimeFlavor, UnhandledPanic};
use tokio::signal::unix::Signal;
use tokio::sync::futures::Notified;
use tokio::sync::mpsc::error::{SendError, TryRecvError};
use tokio::sync::mpsc::{OwnedPermit, Permit, Receiver, Sender, UnboundedReceiver};
use tokio::sync::{
    broadcast, oneshot, watch, Barrier, Mutex, Notify, OwnedSemaphorePermit, Semaphore,
    SemaphorePermit,
};
use tokio::task::coop::{poll_proceed, unconstrained};
use tokio::task::{AbortHandle, Id, JoinError, JoinHandle, JoinSet, LocalSet};
use tokio::time::{
    advance, interval, pause, resume, sleep, sleep_until, timeout, timeout_at, Duration, Instant,
    Interval, Sleep, Timeout,
};

static SEM: Semaphore = Semaphore::const_new(1);

fn io_traits_are_object_safe(
    _: &mut dyn AsyncRead,
    _: &mut dyn AsyncWrite,
    _: &mut dyn AsyncBufRead,
) {
}

fn read_write<T: AsyncRead + AsyncWrite + Unpin + Send + 'static>() {}
fn read<T: AsyncRead + Unpin + Send>() {}
fn write<T: AsyncWrite + Unpin + Send>() {}
fn seek<T: AsyncSeek + Unpin + Send>() {}

#[test]
fn streams_implement_tokio_io_traits() {
    read_write::<TcpStream>();
    read_write::<UnixStream>();
    read_write::<DuplexStream>();
    read_write::<File>();
    read_write::<tokio::io::BufStream<TcpStream>>();
    read::<tokio::net::tcp::OwnedReadHalf>();
    write::<tokio::net::tcp::OwnedWriteHalf>();
    read::<tokio::net::tcp::ReadHalf<'_>>();
    write::<tokio::net::tcp::WriteHalf<'_>>();
    read::<tokio::net::unix::OwnedReadHalf>();
    write::<tokio::net::unix::OwnedWriteHalf>();
    read::<tokio::io::Stdin>();
    write::<tokio::io::Stdout>();
    write::<tokio::io::Stderr>();
    read::<tokio::process::ChildStdout>();
    read::<tokio::process::ChildStderr>();
    write::<tokio::process::ChildStdin>();
    read::<tokio::io::ReadHalf<tokio::io::SimplexStream>>();
    write::<tokio::io::WriteHalf<tokio::io::SimplexStream>>();
    seek::<File>();
    seek::<tokio::io::BufReader<File>>();
}

#[test]
fn builder_takes_what_tokio_macros_expand_to() {
    let rt = Builder::new_current_thread()
        .worker_threads(1)
        .start_paused(true)
        .unhandled_panic(UnhandledPanic::Ignore)
        .name("compat")
        .enable_all()
        .build()
        .expect("Failed building the Runtime");
    assert_eq!(rt.block_on(async { 7 }), 7);
    assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_park(|| {})
        .on_thread_unpark(|| {})
        .max_io_events_per_tick(256)
        .enable_io()
        .enable_time()
        .build()
        .expect("Failed building the Runtime");
    assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
    assert_eq!(rt.block_on(async { tokio::spawn(async { 8 }).await }).expect("task"), 8);
}
