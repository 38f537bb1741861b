//! The io toolkit: integer readers/writers, take/chain, read_exact/write_all/read_to_end/copy
//! (and their Interrupted retries), read_buf/write_all_buf, io::split, duplex, empty/sink/
//! repeat. Ported from tokio's io_read_int, io_take, io_chain, io_read_exact, io_write_all,
//! io_read_to_end, io_copy, io_split, io_mem_stream and io_util_empty tests.

use crate::io_support;

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use io_support::Builder;
use minirt::io::{
    self, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ErrorKind,
};

#[minirt::test]
async fn read_and_write_ints_round_trip() {
    let mut out = Vec::new();
    out.write_u8(1).await.unwrap();
    out.write_i8(-2).await.unwrap();
    out.write_u16(0x0304).await.unwrap();
    out.write_u16_le(0x0304).await.unwrap();
    out.write_i32(-5).await.unwrap();
    out.write_u64_le(u64::MAX - 1).await.unwrap();
    out.write_i128(-7).await.unwrap();
    out.write_u128_le(1 << 100).await.unwrap();
    out.write_f32(1.5).await.unwrap();
    out.write_f64_le(-2.25).await.unwrap();
    assert_eq!(&out[..6], &[1, 0xfe, 3, 4, 4, 3]);

    let mut rd = &out[..];
    assert_eq!(rd.read_u8().await.unwrap(), 1);
    assert_eq!(rd.read_i8().await.unwrap(), -2);
    assert_eq!(rd.read_u16().await.unwrap(), 0x0304);
    assert_eq!(rd.read_u16_le().await.unwrap(), 0x0304);
    assert_eq!(rd.read_i32().await.unwrap(), -5);
    assert_eq!(rd.read_u64_le().await.unwrap(), u64::MAX - 1);
    assert_eq!(rd.read_i128().await.unwrap(), -7);
    assert_eq!(rd.read_u128_le().await.unwrap(), 1 << 100);
    assert_eq!(rd.read_f32().await.unwrap(), 1.5);
    assert_eq!(rd.read_f64_le().await.unwrap(), -2.25);
    assert_eq!(rd.read_u8().await.unwrap_err().kind(), ErrorKind::UnexpectedEof);
}

#[minirt::test]
async fn read_int_across_short_reads_pending_and_interrupted() {
    let mut mock = Builder::new()
        .read(&[0x01])
        .pending()
        .read_error(ErrorKind::Interrupted, "interrupted")
        .read(&[0x02, 0x03])
        .read(&[0x04])
        .build();
    assert_eq!(mock.read_u32().await.unwrap(), 0x01020304);
    let mut short = Builder::new().read(&[1]).build();
    assert_eq!(short.read_u16().await.unwrap_err().kind(), ErrorKind::UnexpectedEof);
}

#[minirt::test]
async fn write_int_retries_interrupted_and_short_writes() {
    let mut mock = Builder::new()
        .write(&[0])
        .write_error(ErrorKind::Interrupted, "interrupted")
        .pending()
        .write(&[0, 1, 2])
        .build();
    mock.write_u32(0x0102).await.unwrap();
    assert!(mock.is_done());
}

#[minirt::test]
async fn take() {
    let mut buf = [0; 6];
    let rd: &[u8] = b"hello world";
    let mut rd = rd.take(4);
    assert_eq!(rd.read(&mut buf).await.unwrap(), 4);
    assert_eq!(&buf[..4], b"hell");
    assert_eq!(rd.read(&mut buf).await.unwrap(), 0);
    assert_eq!(rd.limit(), 0);
    rd.set_limit(3);
    assert_eq!(rd.read(&mut buf).await.unwrap(), 3);
    assert_eq!(&buf[..3], b"o w");
}

#[minirt::test]
async fn take_buf_read() {
    let rd: &[u8] = b"hello\nworld\n";
    let mut rd = BufReader::new(rd).take(8);
    let mut line = String::new();
    rd.read_line(&mut line).await.unwrap();
    assert_eq!(line, "hello\n");
    line.clear();
    rd.read_line(&mut line).await.unwrap();
    assert_eq!(line, "wo");
    let mut rest = Vec::new();
    rd.into_inner().read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"rld\n");
}

#[minirt::test]
async fn chain() {
    let mut buf = Vec::new();
    let rd1: &[u8] = b"hello ";
    let rd2: &[u8] = b"world";
    let mut rd = rd1.chain(rd2);
    rd.read_to_end(&mut buf).await.unwrap();
    assert_eq!(buf, b"hello world");

    // As a buffered reader: lines run across the seam.
    let rd1: &[u8] = b"one\ntw";
    let rd2: &[u8] = b"o\n";
    let lines: Vec<String> = {
        let mut lines = AsyncBufReadExt::lines(rd1.chain(rd2));
        let mut all = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            all.push(line);
        }
        all
    };
    // Chain's fill_buf hands out one side at a time, so `tw` + `o` still join up.
    assert_eq!(lines, ["one", "two"]);
}

#[minirt::test]
async fn read_exact_retries_interrupted() {
    let mut mock = Builder::new()
        .read(b"hel")
        .read_error(ErrorKind::Interrupted, "interrupted")
        .read(b"lo")
        .build();
    let mut buf = [0; 5];
    assert_eq!(mock.read_exact(&mut buf).await.unwrap(), 5);
    assert_eq!(&buf, b"hello");
}

#[minirt::test]
async fn read_exact_early_eof() {
    let mut rd: &[u8] = b"hello";
    let mut buf = [0; 6];
    assert_eq!(rd.read_exact(&mut buf).await.unwrap_err().kind(), ErrorKind::UnexpectedEof);
}

#[minirt::test]
async fn read_exact_other_error_is_returned() {
    let mut mock = Builder::new().read(b"he").read_error(ErrorKind::Other, "boom").build();
    let mut buf = [0; 5];
    assert_eq!(mock.read_exact(&mut buf).await.unwrap_err().kind(), ErrorKind::Other);
}

#[minirt::test]
async fn write_all_retries_interrupted() {
    let mut mock = Builder::new()
        .write(b"hel")
        .write_error(ErrorKind::Interrupted, "interrupted")
        .write(b"lo")
        .build();
    mock.write_all(b"hello").await.unwrap();
    assert!(mock.is_done());
}

#[minirt::test]
async fn write_all_other_error_is_returned() {
    let mut mock = Builder::new().write(b"he").write_error(ErrorKind::Other, "boom").build();
    assert_eq!(mock.write_all(b"hello").await.unwrap_err().kind(), ErrorKind::Other);
}

#[minirt::test]
async fn write_all_buf_advances_the_cursor() {
    let mut mock =
        Builder::new().write(b"hel").write_error(ErrorKind::Other, "boom").write(b"lo").build();
    let mut cursor: &[u8] = b"hello";
    assert_eq!(mock.write_all_buf(&mut cursor).await.unwrap_err().kind(), ErrorKind::Other);
    assert_eq!(cursor, b"lo", "the cursor holds exactly what was not written");
    mock.write_all_buf(&mut cursor).await.unwrap();
    assert!(cursor.is_empty());
    let mut cursor: &[u8] = b"xyz";
    let mut out = Vec::new();
    assert_eq!(out.write_buf(&mut cursor).await.unwrap(), 3);
    assert!(cursor.is_empty());
}

#[minirt::test]
async fn write_vectored() {
    let mut out = Vec::new();
    let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
    let n = out.write_vectored(&bufs).await.unwrap();
    assert!(n >= 2);
    assert_eq!(&out[..n], &b"abcd"[..n]);
}

#[minirt::test]
async fn read_buf_appends_and_grows() {
    let mut rd: &[u8] = b"hello world";
    let mut buf = Vec::new();
    let n = rd.read_buf(&mut buf).await.unwrap();
    assert_eq!(&buf[..], &b"hello world"[..n]);
    let mut buf = b"xy".to_vec();
    buf.shrink_to_fit();
    let mut rd: &[u8] = b"z";
    assert_eq!(rd.read_buf(&mut buf).await.unwrap(), 1, "a full Vec grows before reading");
    assert_eq!(buf, b"xyz");
    assert_eq!(rd.read_buf(&mut buf).await.unwrap(), 0);
}

#[minirt::test]
async fn read_to_end_retries_interrupted() {
    let mut mock = Builder::new()
        .read(b"hello")
        .read_error(ErrorKind::Interrupted, "interrupted")
        .read(b" world")
        .build();
    let mut buf = Vec::new();
    assert_eq!(mock.read_to_end(&mut buf).await.unwrap(), 11);
    assert_eq!(buf, b"hello world");
}

#[minirt::test]
async fn read_to_end_doesnt_grow_with_capacity() {
    let arr: Vec<u8> = (0..100).collect();
    // From 32 up: below that, the first read reserves at least 32 bytes anyway.
    for len in 32..100 {
        let bytes = &arr[..len];
        for split in 0..len {
            for cap in (0..101).step_by(7).chain([len]) {
                let mut mock = if split == 0 {
                    Builder::new().read(bytes).build()
                } else {
                    Builder::new().read(&bytes[..split]).read(&bytes[split..]).build()
                };
                let mut buf = Vec::with_capacity(cap);
                mock.read_to_end(&mut buf).await.unwrap();
                assert_eq!(buf.as_slice(), bytes);
                if cap >= len {
                    assert_eq!(buf.capacity(), cap, "len {len} split {split} cap {cap}");
                }
            }
        }
    }
}

#[minirt::test]
async fn read_to_end_grows_capacity_if_unfit() {
    let bytes = b"the_vector_startingcap_will_be_smaller";
    let mut mock = Builder::new().read(bytes).build();
    let initial_capacity = bytes.len() - 4;
    let mut buf = Vec::with_capacity(initial_capacity);
    mock.read_to_end(&mut buf).await.unwrap();
    // *4: it doubles when the data does not fit, and again when reaching EOF.
    assert_eq!(buf.capacity(), initial_capacity * 4);
}

#[minirt::test]
async fn copy_retries_interrupted_both_ways() {
    let mut rd = Builder::new()
        .read(b"hello")
        .read_error(ErrorKind::Interrupted, "interrupted")
        .read(b" world")
        .build();
    let mut wr = Builder::new()
        .write_error(ErrorKind::Interrupted, "interrupted")
        .write(b"hello")
        .write(b" world")
        .build();
    assert_eq!(io::copy(&mut rd, &mut wr).await.unwrap(), 11);
    assert!(wr.is_done());
}

#[minirt::test]
async fn copy_buf_retries_interrupted() {
    let rd = Builder::new()
        .read(b"hello")
        .read_error(ErrorKind::Interrupted, "interrupted")
        .read(b" world")
        .build();
    let mut rd = BufReader::new(rd);
    let mut out = Vec::new();
    assert_eq!(io::copy_buf(&mut rd, &mut out).await.unwrap(), 11);
    assert_eq!(out, b"hello world");
}

/// A stream that reads `z` forever and accepts every write, for io::split.
struct Rw;

impl AsyncRead for Rw {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        buf[0] = b'z';
        Poll::Ready(Ok(1))
    }
}

impl AsyncWrite for Rw {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(1))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(2))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn split_halves_are_send_and_sync() {
    fn assert_bound<T: Send + Sync>() {}
    assert_bound::<io::ReadHalf<Rw>>();
    assert_bound::<io::WriteHalf<Rw>>();
}

#[test]
fn split_stream_id() {
    let (r1, w1) = io::split(Rw);
    let (r2, w2) = io::split(Rw);
    assert!(r1.is_pair_of(&w1));
    assert!(!r1.is_pair_of(&w2));
    assert!(r2.is_pair_of(&w2));
    assert!(!r2.is_pair_of(&w1));
    assert!(w1.is_pair_of(&r1));
}

#[test]
fn unsplit_ok() {
    let (r, w) = io::split(Rw);
    r.unsplit(w);
}

#[test]
#[should_panic]
fn unsplit_err1() {
    let (r, _) = io::split(Rw);
    let (_, w) = io::split(Rw);
    r.unsplit(w);
}

#[test]
#[should_panic]
fn unsplit_err2() {
    let (_, w) = io::split(Rw);
    let (r, _) = io::split(Rw);
    r.unsplit(w);
}

#[minirt::test]
async fn split_method_delegation() {
    let (mut r, mut w) = io::split(Rw);
    let mut buf = [0; 1];
    assert_eq!(1, r.read(&mut buf).await.unwrap());
    assert_eq!(b'z', buf[0]);
    assert_eq!(1, w.write(b"x").await.unwrap());
    assert_eq!(2, w.write_vectored(&[IoSlice::new(b"x")]).await.unwrap());
    w.flush().await.unwrap();
    w.shutdown().await.unwrap();
}

#[minirt::test]
async fn split_halves_of_a_duplex_in_two_tasks() {
    let (a, mut b) = io::duplex(16);
    let (mut rd, mut wr) = io::split(a);
    let writer = minirt::spawn(async move {
        wr.write_all(&[7u8; 1000]).await.unwrap();
        wr.shutdown().await.unwrap();
        wr
    });
    let mut got = Vec::new();
    b.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, vec![7u8; 1000]);
    b.write_all(b"back").await.unwrap();
    drop(b);
    let mut back = Vec::new();
    rd.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"back");
    let wr = writer.await.unwrap();
    let _whole: io::DuplexStream = rd.unsplit(wr);
}

#[minirt::test]
async fn duplex_ping_pong() {
    let (mut a, mut b) = io::duplex(32);
    let mut buf = [0u8; 4];
    a.write_all(b"ping").await.unwrap();
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    b.write_all(b"pong").await.unwrap();
    a.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");
}

#[minirt::test]
async fn duplex_across_tasks() {
    let (mut a, mut b) = io::duplex(32);
    let t1 = minirt::spawn(async move {
        a.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    });
    let t2 = minirt::spawn(async move {
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        b.write_all(b"pong").await.unwrap();
    });
    t1.await.unwrap();
    t2.await.unwrap();
}

#[minirt::test]
async fn duplex_disconnect() {
    let (mut a, mut b) = io::duplex(32);
    let t1 = minirt::spawn(async move {
        a.write_all(b"ping").await.unwrap();
    });
    let mut buf = [0u8; 32];
    let n = b.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(b.read(&mut buf).await.unwrap(), 0, "EOF once the writer is dropped");
    t1.await.unwrap();
}

#[minirt::test]
async fn duplex_disconnect_reader() {
    let (a, mut b) = io::duplex(2);
    let t1 = minirt::spawn(async move {
        // Blocks: not all of it fits; the reader's drop must fail it.
        b.write_all(b"ping").await.unwrap_err()
    });
    let t2 = minirt::spawn(async move { drop(a) });
    t2.await.unwrap();
    assert_eq!(t1.await.unwrap().kind(), ErrorKind::BrokenPipe);
}

#[minirt::test]
async fn duplex_max_write_size() {
    let (mut a, mut b) = io::duplex(32);
    let t1 = minirt::spawn(async move {
        assert_eq!(a.write(&[0u8; 64]).await.unwrap(), 32);
        assert_eq!(a.write(&[0u8; 64]).await.unwrap(), 4);
    });
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).await.unwrap();
    t1.await.unwrap();
    drop(b);
}

#[minirt::test]
async fn duplex_zero_length_operations() {
    let (mut reader, _peer) = io::duplex(1);
    assert!(matches!(reader.read(&mut []).now_or_never(), Some(Ok(0))));
    let (mut writer, _peer) = io::duplex(1);
    writer.write_all(b"x").await.unwrap();
    assert!(matches!(writer.write(&[]).now_or_never(), Some(Ok(0))));
    let bufs = [IoSlice::new(&[]), IoSlice::new(&[])];
    assert!(matches!(writer.write_vectored(&bufs).now_or_never(), Some(Ok(0))));
}

#[minirt::test]
async fn duplex_zero_length_writes_to_closed_stream() {
    let (mut writer, peer) = io::duplex(1);
    drop(peer);
    assert_eq!(writer.write(&[]).await.unwrap_err().kind(), ErrorKind::BrokenPipe);
    let bufs = [IoSlice::new(&[]), IoSlice::new(&[])];
    assert_eq!(writer.write_vectored(&bufs).await.unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[minirt::test]
async fn duplex_shutdown_is_eof_for_the_peer_but_peer_can_still_write() {
    let (mut a, mut b) = io::duplex(8);
    a.write_all(b"hi").await.unwrap();
    a.shutdown().await.unwrap();
    let mut got = Vec::new();
    b.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"hi");
    b.write_all(b"yo").await.unwrap();
    let mut buf = [0; 2];
    a.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"yo");
}

#[minirt::test]
async fn duplex_is_cooperative() {
    let (mut tx, mut rx) = io::duplex(1024 * 8);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A task that only ever talks to an always-ready duplex must still let others run.
    let other = minirt::spawn(async move { flag.store(true, Ordering::SeqCst) });
    let mut rounds = 0u64;
    while !stop.load(Ordering::SeqCst) {
        tx.write_all(&[3u8; 4096]).await.unwrap();
        let mut buf = [0u8; 4096];
        rx.read_exact(&mut buf).await.unwrap();
        rounds += 1;
        assert!(rounds < 1_000_000, "the duplex never yielded to the scheduler");
    }
    other.await.unwrap();
}

#[minirt::test]
async fn empty_sink_repeat() {
    let mut buf = [1u8; 8];
    assert_eq!(io::empty().read(&mut buf).await.unwrap(), 0);
    let mut e = io::empty();
    assert_eq!(e.fill_buf().await.unwrap(), b"");
    assert_eq!(e.write(b"dropped").await.unwrap(), 7);
    assert_eq!(io::sink().write(b"dropped").await.unwrap(), 7);
    io::sink().flush().await.unwrap();
    let mut r = io::repeat(b'x').take(5);
    let mut got = Vec::new();
    r.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"xxxxx");
    assert_eq!(io::copy(&mut io::repeat(0).take(100_000), &mut io::sink()).await.unwrap(), 100_000);
}

#[minirt::test]
async fn empty_read_is_cooperative() {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let other = minirt::spawn(async move { flag.store(true, Ordering::SeqCst) });
    let mut rounds = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let mut buf = [0u8; 1];
        io::empty().read(&mut buf).await.unwrap();
        rounds += 1;
        assert!(rounds < 10_000_000, "empty never yielded to the scheduler");
    }
    other.await.unwrap();
}
