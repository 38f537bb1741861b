//! tokio's io API on minirt's streams: `ReadBuf`'s bookkeeping, the bridge from minirt's
//! futures-io streams (sockets read into uninitialised memory without zeroing it, other
//! streams never zero memory a read already initialised), the `*Ext` methods,
//! buffers, copies and pipes.

use std::io::SeekFrom;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::time::Duration;

use bytes_dep::BytesMut;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader, BufWriter,
    ReadBuf,
};
use tokio::net::{TcpListener, TcpStream};

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f).await.expect("test did not finish within 20 s")
}

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.expect("connect"), accepted.expect("accept").0)
}

#[test]
fn read_buf_tracks_filled_and_initialized() {
    let mut storage = [MaybeUninit::<u8>::uninit(); 16];
    let mut buf = ReadBuf::uninit(&mut storage);
    assert_eq!((buf.capacity(), buf.remaining()), (16, 16));
    assert!(buf.initialized().is_empty());
    buf.put_slice(b"abc");
    assert_eq!(buf.filled(), b"abc");
    assert_eq!(buf.initialized().len(), 3);
    let unfilled = buf.initialize_unfilled_to(4);
    assert_eq!(unfilled, [0, 0, 0, 0]);
    unfilled.copy_from_slice(b"defg");
    assert_eq!(buf.initialized().len(), 7);
    buf.advance(2);
    assert_eq!(buf.filled(), b"abcde");
    // Initialised bytes are not zeroed again.
    assert_eq!(&buf.initialize_unfilled()[..2], b"fg");
    {
        let mut sub = buf.take(4);
        assert_eq!(sub.capacity(), 4);
        sub.put_slice(b"XY");
        assert_eq!(sub.filled(), b"XY");
    }
    buf.set_filled(1);
    assert_eq!(buf.filled(), b"a");
    buf.clear();
    assert!(buf.filled().is_empty());
    assert_eq!(buf.initialized().len(), 16);
}

#[test]
#[should_panic(expected = "filled must not become larger than initialized")]
fn read_buf_advance_past_initialized_panics() {
    let mut storage = [MaybeUninit::<u8>::uninit(); 8];
    let mut buf = ReadBuf::uninit(&mut storage);
    buf.advance(1);
}

#[tokio::test]
async fn tcp_read_into_uninit_buffer_does_not_zero_it() {
    bounded(async {
        let (mut a, mut b) = pair().await;
        let mut storage = [MaybeUninit::<u8>::uninit(); 64];
        let mut buf = ReadBuf::uninit(&mut storage);

        a.write_all(b"one").await.expect("write");
        std::future::poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut buf)).await.expect("read");
        assert_eq!(buf.filled(), b"one");
        // As tokio's `TcpStream`: the socket reads into the uninitialised memory as it is, so
        // only the bytes it wrote are initialised (nothing was zeroed).
        assert_eq!(buf.initialized().len(), 3, "the read initialises only what it read");

        // Initialise the rest and mark its last byte; a second read must leave it alone.
        buf.initialize_unfilled()[60] = 0xAA;
        a.write_all(b"two").await.expect("write");
        std::future::poll_fn(|cx| Pin::new(&mut b).poll_read(cx, &mut buf)).await.expect("read");
        assert_eq!(buf.filled(), b"onetwo");
        assert_eq!(buf.initialized()[63], 0xAA);
    })
    .await
}

#[tokio::test]
async fn ext_methods_over_tcp() {
    bounded(async {
        let (mut a, mut b) = pair().await;
        a.write_u32(0xDEAD_BEEF).await.expect("u32");
        a.write_i16_le(-2).await.expect("i16");
        a.write_f64(1.5).await.expect("f64");
        a.write_all_buf(&mut &b"bytes!"[..]).await.expect("buf");
        a.write_all(b"line one\r\nline two\n").await.expect("lines");
        a.shutdown().await.expect("shutdown");

        assert_eq!(b.read_u32().await.expect("u32"), 0xDEAD_BEEF);
        assert_eq!(b.read_i16_le().await.expect("i16"), -2);
        assert_eq!(b.read_f64().await.expect("f64"), 1.5);
        let mut six = BytesMut::with_capacity(6);
        while six.len() < 6 {
            b.read_buf(&mut six).await.expect("read_buf");
        }
        assert_eq!(&six[..], b"bytes!");
        let mut lines = BufReader::new(b).lines();
        assert_eq!(lines.next_line().await.expect("line").as_deref(), Some("line one"));
        assert_eq!(lines.next_line().await.expect("line").as_deref(), Some("line two"));
        assert_eq!(lines.next_line().await.expect("eof"), None);
    })
    .await
}

#[tokio::test]
async fn read_exact_reports_early_eof() {
    let mut src: &[u8] = b"abc";
    let mut buf = [0u8; 4];
    let err = src.read_exact(&mut buf).await.expect_err("only 3 bytes");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
}

#[tokio::test]
async fn read_to_end_string_chain_take() {
    let mut out = String::new();
    let n = (&b"hello "[..])
        .chain(&b"world, and more"[..])
        .take(11)
        .read_to_string(&mut out)
        .await
        .expect("read_to_string");
    assert_eq!((n, out.as_str()), (11, "hello world"));

    let mut big = Vec::new();
    let data = vec![7u8; 100_000];
    tokio::io::repeat(7).take(100_000).read_to_end(&mut big).await.expect("read_to_end");
    assert_eq!(big, data);
}

#[tokio::test]
async fn copy_split_duplex_simplex() {
    bounded(async {
        let (client, server) = tokio::io::duplex(64);
        let (mut sr, mut sw) = tokio::io::split(server);
        let echo = tokio::spawn(async move { tokio::io::copy(&mut sr, &mut sw).await });
        let (mut cr, mut cw) = tokio::io::split(client);
        let payload: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let writer = {
            let payload = payload.clone();
            tokio::spawn(async move {
                cw.write_all(&payload).await.expect("write");
                cw.shutdown().await.expect("shutdown");
                cw
            })
        };
        let mut back = Vec::new();
        cr.read_to_end(&mut back).await.expect("read back");
        assert_eq!(back, payload);
        assert_eq!(echo.await.expect("echo").expect("copy"), 10_000);
        let cw = writer.await.expect("writer");
        assert!(cr.is_pair_of(&cw));
        let _client = cr.unsplit(cw);

        let (mut rx, mut tx) = tokio::io::simplex(8);
        let w = tokio::spawn(async move {
            tx.write_all(b"through a small pipe").await.expect("write");
            tx.shutdown().await.expect("shutdown");
        });
        let mut s = String::new();
        rx.read_to_string(&mut s).await.expect("read");
        assert_eq!(s, "through a small pipe");
        w.await.expect("writer task");
    })
    .await
}

#[tokio::test]
async fn file_seek_and_buffered_io() {
    bounded(async {
        let dir = std::env::temp_dir().join(format!("compat-tokio-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("f.txt");
        {
            let mut w = BufWriter::new(tokio::fs::File::create(&path).await.expect("create"));
            w.write_all(b"0123456789").await.expect("write");
            w.flush().await.expect("flush");
        }
        let mut r = BufReader::new(tokio::fs::File::open(&path).await.expect("open"));
        let mut two = [0u8; 2];
        r.read_exact(&mut two).await.expect("read");
        assert_eq!(&two, b"01");
        // Relative to what the caller has read, not to what the buffer holds.
        assert_eq!(r.seek(SeekFrom::Current(3)).await.expect("seek"), 5);
        r.read_exact(&mut two).await.expect("read");
        assert_eq!(&two, b"56");
        assert_eq!(r.stream_position().await.expect("position"), 7);
        r.rewind().await.expect("rewind");
        let mut all = String::new();
        r.read_to_string(&mut all).await.expect("read all");
        assert_eq!(all, "0123456789");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    })
    .await
}

/// tokio's socket methods named as paths (`UnixDatagram::send(&socket, buf)`, as tokio's own
/// tests write them) resolve on compat's newtypes, and move datagrams both ways.
#[tokio::test]
async fn datagram_methods_resolve_as_paths() {
    use tokio::net::{UdpSocket, UnixDatagram};

    let (a, b) = UnixDatagram::pair().expect("socketpair");
    bounded(UnixDatagram::writable(&a)).await.expect("writable");
    assert_eq!(bounded(UnixDatagram::send(&a, b"unix")).await.expect("send"), 4);
    bounded(UnixDatagram::readable(&b)).await.expect("readable");
    let mut buf = [0u8; 8];
    assert_eq!(bounded(UnixDatagram::recv(&b, &mut buf)).await.expect("recv"), 4);
    assert_eq!(&buf[..4], b"unix");

    let x = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let y = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let to = y.local_addr().expect("local_addr");
    assert_eq!(bounded(UdpSocket::send_to(&x, b"udp", to)).await.expect("send_to"), 3);
    let (n, from) = bounded(UdpSocket::recv_from(&y, &mut buf)).await.expect("recv_from");
    assert_eq!((&buf[..n], from), (&b"udp"[..], x.local_addr().expect("local_addr")));
}
