//! tokio's io traits on minirt (feature `tokio-io`): tokio-util's `Framed`/`LinesCodec` over
//! a minirt `TcpStream` (whole, and split into owned halves), tokio's io ext methods on minirt
//! types, and `Compat` both ways.

mod common;

use common::{timeout, HANG_LIMIT};
use futures::{SinkExt, StreamExt};
use minirt::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

#[minirt::test]
async fn framed_lines_codec_over_a_minirt_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = minirt::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut lines = Framed::new(stream, LinesCodec::new());
        while let Some(line) = lines.next().await {
            let line = line.unwrap();
            lines.send(line.to_uppercase()).await.unwrap();
        }
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut lines = Framed::new(stream, LinesCodec::new());
    timeout(HANG_LIMIT, async {
        for word in ["hello", "minirt", &"x".repeat(50_000)] {
            lines.send(word).await.unwrap();
            assert_eq!(lines.next().await.unwrap().unwrap(), word.to_uppercase());
        }
    })
    .await
    .expect("hung");
    drop(lines);
    server.await.unwrap();
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn framed_read_and_write_on_owned_halves() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = minirt::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (rd, wr) = stream.into_split();
        let mut rd = FramedRead::new(rd, LinesCodec::new());
        let mut wr = FramedWrite::new(wr, LinesCodec::new());
        let mut n = 0;
        while let Some(line) = rd.next().await {
            n += 1;
            wr.send(format!("{n}: {}", line.unwrap())).await.unwrap();
        }
    });
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (rd, wr) = stream.split();
    let mut rd = FramedRead::new(rd, LinesCodec::new());
    let mut wr = FramedWrite::new(wr, LinesCodec::new());
    timeout(HANG_LIMIT, async {
        wr.send("a").await.unwrap();
        wr.send("b").await.unwrap();
        assert_eq!(rd.next().await.unwrap().unwrap(), "1: a");
        assert_eq!(rd.next().await.unwrap().unwrap(), "2: b");
    })
    .await
    .expect("hung");
    drop((rd, wr));
    drop(stream);
    server.await.unwrap();
}

#[minirt::test]
async fn framed_on_a_unix_stream_and_its_halves() {
    let (a, b) = minirt::net::UnixStream::pair().unwrap();
    let mut a = Framed::new(a, LinesCodec::new());
    let (rd, wr) = b.into_split();
    let (mut rd, mut wr) =
        (FramedRead::new(rd, LinesCodec::new()), FramedWrite::new(wr, LinesCodec::new()));
    timeout(HANG_LIMIT, async {
        a.send("ping").await.unwrap();
        let line = rd.next().await.unwrap().unwrap();
        wr.send(format!("{line} pong")).await.unwrap();
        assert_eq!(a.next().await.unwrap().unwrap(), "ping pong");
        // Dropping the owned write half shuts its direction down: `a` reads EOF.
        drop(wr);
        assert!(a.next().await.is_none());
    })
    .await
    .expect("hung");
}

#[minirt::test]
async fn tokio_ext_methods_on_minirt_buffers_and_duplex() {
    // Only tokio's ext traits are imported here: minirt's would clash (see PORTING.md).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (a, b) = minirt::io::duplex(64);
    let mut a = minirt::io::BufWriter::new(a);
    let mut b = minirt::io::BufReader::new(b);
    a.write_all(b"ping").await.unwrap();
    a.flush().await.unwrap();
    let mut buf = [0; 4];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
}

#[minirt::test]
async fn compat_both_ways() {
    use minirt::tokio_io::Compat;
    // A futures-io reader seen as a tokio one, then back: bytes survive both wrappings.
    let inner: &[u8] = b"line one\nline two\n";
    let tokio_side = Compat::new(inner);
    let mut lines = FramedRead::new(tokio_side, LinesCodec::new());
    assert_eq!(lines.next().await.unwrap().unwrap(), "line one");
    let back = Compat::new(tokio::io::empty());
    let mut back = minirt::io::BufReader::new(back);
    let mut s = String::new();
    minirt::io::AsyncBufReadExt::read_line(&mut back, &mut s).await.unwrap();
    assert_eq!(s, "");
}

/// tokio's `AsyncRead` on a minirt socket reads into an uninitialised `ReadBuf` as tokio's
/// `TcpStream` does: only the bytes read become initialised (nothing is zeroed first); a full
/// buffer reads nothing at once. And `Compat` over a tokio reader is an `AsyncReadUninit`.
#[minirt::test]
async fn tokio_reads_into_uninitialised_memory() {
    use std::mem::MaybeUninit;
    use std::pin::Pin;

    use minirt::io::{AsyncReadUninit, AsyncWriteExt};
    use tokio::io::{AsyncRead, ReadBuf};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    client.write_all(b"hello").await.unwrap();

    let mut storage = [MaybeUninit::<u8>::uninit(); 64];
    let mut buf = ReadBuf::uninit(&mut storage);
    timeout(HANG_LIMIT, std::future::poll_fn(|cx| Pin::new(&mut server).poll_read(cx, &mut buf)))
        .await
        .expect("hung")
        .unwrap();
    assert_eq!(buf.filled(), b"hello");
    assert_eq!(buf.initialized().len(), 5, "nothing beyond the bytes read was initialised");

    let mut full = ReadBuf::new(&mut []);
    let read = std::future::poll_fn(|cx| Pin::new(&mut server).poll_read(cx, &mut full));
    timeout(HANG_LIMIT, read).await.expect("a full buffer must not wait").unwrap();

    let mut compat = minirt::tokio_io::Compat::new(&b"tokio bytes"[..]);
    let mut spare = [MaybeUninit::<u8>::uninit(); 32];
    let n = std::future::poll_fn(|cx| Pin::new(&mut compat).poll_read_uninit(cx, &mut spare))
        .await
        .unwrap();
    // SAFETY: `AsyncReadUninit` promises the first `n` bytes were written.
    let got = unsafe { std::slice::from_raw_parts(spare.as_ptr().cast::<u8>(), n) };
    assert_eq!(got, b"tokio bytes");
}
