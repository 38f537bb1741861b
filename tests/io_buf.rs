//! BufReader, BufWriter and BufStream, ported from tokio's io_buf_reader.rs / io_buf_writer.rs.

mod io_support;

use std::io::{IoSlice, SeekFrom};

use futures_util::io::Cursor;
use io_support::Builder;
use minirt::io::{
    AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader, BufStream, BufWriter,
    ErrorKind,
};

#[minirt::test]
async fn test_buffered_reader() {
    let inner: &[u8] = &[5, 6, 7, 0, 1, 2, 3, 4];
    let mut reader = BufReader::with_capacity(2, inner);

    let mut buf = [0, 0, 0];
    assert_eq!(reader.read(&mut buf).await.unwrap(), 3);
    assert_eq!(buf, [5, 6, 7]);
    assert_eq!(reader.buffer(), []);

    let mut buf = [0, 0];
    assert_eq!(reader.read(&mut buf).await.unwrap(), 2);
    assert_eq!(buf, [0, 1]);
    assert_eq!(reader.buffer(), []);

    let mut buf = [0];
    assert_eq!(reader.read(&mut buf).await.unwrap(), 1);
    assert_eq!(buf, [2]);
    assert_eq!(reader.buffer(), [3]);

    let mut buf = [0, 0, 0];
    assert_eq!(reader.read(&mut buf).await.unwrap(), 1);
    assert_eq!(buf, [3, 0, 0]);
    assert_eq!(reader.buffer(), []);

    assert_eq!(reader.read(&mut buf).await.unwrap(), 1);
    assert_eq!(buf, [4, 0, 0]);
    assert_eq!(reader.buffer(), []);

    assert_eq!(reader.read(&mut buf).await.unwrap(), 0);
}

#[minirt::test]
async fn test_buffered_reader_seek() {
    let inner: &[u8] = &[5, 6, 7, 0, 1, 2, 3, 4];
    let mut reader = BufReader::with_capacity(2, Cursor::new(inner));

    assert_eq!(reader.seek(SeekFrom::Start(3)).await.unwrap(), 3);
    assert_eq!(reader.fill_buf().await.unwrap(), &[0, 1][..]);
    assert!(reader.seek(SeekFrom::Current(i64::MIN)).await.is_err());
    assert_eq!(reader.fill_buf().await.unwrap(), &[0, 1][..]);
    assert_eq!(reader.seek(SeekFrom::Current(1)).await.unwrap(), 4);
    assert_eq!(reader.fill_buf().await.unwrap(), &[1, 2][..]);
    reader.consume(1);
    assert_eq!(reader.seek(SeekFrom::Current(-2)).await.unwrap(), 3);
}

#[minirt::test]
async fn test_short_reads_and_pending() {
    let mock = Builder::new()
        .read(&[0])
        .pending()
        .read(&[1, 2])
        .pending()
        .read(&[])
        .read(&[3])
        .read_error(ErrorKind::Interrupted, "interrupted")
        .read(&[4, 5, 6, 7])
        .build();
    let mut reader = BufReader::with_capacity(2, mock);
    let mut buf = [0, 0];
    assert_eq!(reader.read(&mut buf).await.unwrap(), 1);
    assert_eq!(reader.read(&mut buf).await.unwrap(), 2);
    assert_eq!(reader.read(&mut buf).await.unwrap(), 0);
    assert_eq!(reader.read(&mut buf).await.unwrap(), 1);
    // A buffer-sized read goes straight to the inner reader, so it meets the Interrupted; the
    // loops (read_exact here) retry it.
    let mut rest = [0; 4];
    reader.read_exact(&mut rest).await.unwrap();
    assert_eq!(rest, [4, 5, 6, 7]);
    assert_eq!(reader.read(&mut buf).await.unwrap(), 0);
}

#[minirt::test]
async fn fill_buf_retries_interrupted_and_consume() {
    let mock = Builder::new()
        .read_error(ErrorKind::Interrupted, "interrupted")
        .read(b"hello world")
        .build();
    let mut reader = BufReader::new(mock);
    assert_eq!(reader.fill_buf().await.unwrap(), b"hello world");
    reader.consume(6);
    assert_eq!(reader.fill_buf().await.unwrap(), b"world");
    reader.consume(5);
    assert_eq!(reader.fill_buf().await.unwrap(), b"");
}

#[minirt::test]
async fn one_byte_capacity_still_reads() {
    let data: &[u8] = b"a\nb\nc\n";

    let mut reader = BufReader::with_capacity(1, data);
    let mut line = String::new();
    assert_eq!(reader.read_line(&mut line).await.unwrap(), 2);
    assert_eq!(line, "a\n");

    let mut reader = BufReader::with_capacity(1, data);
    let mut copied = Vec::new();
    assert_eq!(minirt::io::copy_buf(&mut reader, &mut copied).await.unwrap(), 6);
    assert_eq!(copied, data);
}

#[minirt::test]
async fn one_byte_capacity_buf_stream_still_reads() {
    let mut stream = BufStream::with_capacity(1, 8, Cursor::new(b"a\nb\nc\n".to_vec()));
    let mut line = String::new();
    assert_eq!(stream.read_line(&mut line).await.unwrap(), 2);
    assert_eq!(line, "a\n");
}

#[test]
#[should_panic(expected = "capacity must be greater than zero")]
fn zero_capacity_panics() {
    BufReader::with_capacity(0, &b"data"[..]);
}

#[test]
#[should_panic(expected = "capacity must be greater than zero")]
fn zero_capacity_buf_stream_panics() {
    BufStream::with_capacity(0, 8, Cursor::new(Vec::new()));
}

#[minirt::test]
async fn buf_writer() {
    let mut writer = BufWriter::with_capacity(2, Vec::new());

    assert_eq!(writer.write(&[0, 1]).await.unwrap(), 2);
    assert_eq!(writer.buffer(), []);
    assert_eq!(*writer.get_ref(), [0, 1]);

    assert_eq!(writer.write(&[2]).await.unwrap(), 1);
    assert_eq!(writer.buffer(), [2]);
    assert_eq!(*writer.get_ref(), [0, 1]);

    assert_eq!(writer.write(&[3]).await.unwrap(), 1);
    assert_eq!(writer.buffer(), [2, 3]);
    assert_eq!(*writer.get_ref(), [0, 1]);

    writer.flush().await.unwrap();
    assert_eq!(writer.buffer(), []);
    assert_eq!(*writer.get_ref(), [0, 1, 2, 3]);

    assert_eq!(writer.write(&[4]).await.unwrap(), 1);
    assert_eq!(writer.write(&[5]).await.unwrap(), 1);
    assert_eq!(writer.buffer(), [4, 5]);
    assert_eq!(*writer.get_ref(), [0, 1, 2, 3]);

    assert_eq!(writer.write(&[6]).await.unwrap(), 1);
    assert_eq!(writer.buffer(), [6]);
    assert_eq!(*writer.get_ref(), [0, 1, 2, 3, 4, 5]);

    assert_eq!(writer.write(&[7, 8]).await.unwrap(), 2);
    assert_eq!(writer.buffer(), []);
    assert_eq!(*writer.get_ref(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);

    assert_eq!(writer.write(&[9, 10, 11]).await.unwrap(), 3);
    assert_eq!(writer.buffer(), []);
    assert_eq!(*writer.get_ref(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    writer.flush().await.unwrap();
    assert_eq!(*writer.get_ref(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
}

#[minirt::test]
async fn buf_writer_inner_flushes() {
    let mut w = BufWriter::with_capacity(3, Vec::new());
    assert_eq!(w.write(&[0, 1]).await.unwrap(), 2);
    assert_eq!(*w.get_ref(), []);
    w.flush().await.unwrap();
    assert_eq!(w.into_inner(), [0, 1]);
}

#[minirt::test]
async fn buf_writer_flush_retries_interrupted() {
    let inner = Builder::new()
        .write_error(ErrorKind::Interrupted, "interrupted")
        .pending()
        .write(b"hel")
        .write(b"lo")
        .build();
    let mut writer = BufWriter::with_capacity(6, inner);
    assert_eq!(writer.write(b"hello").await.unwrap(), 5);
    writer.flush().await.unwrap();
    assert!(writer.get_ref().is_done());
}

#[minirt::test]
async fn buf_writer_keeps_unwritten_bytes_after_error() {
    let inner =
        Builder::new().write(b"he").write_error(ErrorKind::Other, "boom").write(b"llo").build();
    let mut writer = BufWriter::with_capacity(8, inner);
    writer.write_all(b"hello").await.unwrap();
    assert_eq!(writer.flush().await.unwrap_err().kind(), ErrorKind::Other);
    assert_eq!(writer.buffer(), b"llo");
    writer.flush().await.unwrap();
    assert!(writer.get_ref().is_done());
}

#[minirt::test]
async fn buf_writer_seek() {
    let mut w = BufWriter::with_capacity(3, Cursor::new(Vec::new()));
    w.write_all(&[0, 1, 2, 3, 4, 5]).await.unwrap();
    w.write_all(&[6, 7]).await.unwrap();
    assert_eq!(w.seek(SeekFrom::Current(0)).await.unwrap(), 8);
    assert_eq!(&w.get_ref().get_ref()[..], &[0, 1, 2, 3, 4, 5, 6, 7][..]);
    assert_eq!(w.seek(SeekFrom::Start(2)).await.unwrap(), 2);
    w.write_all(&[8, 9]).await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(&w.into_inner().into_inner()[..], &[0, 1, 8, 9, 4, 5, 6, 7]);
}

#[minirt::test]
async fn buf_writer_vectored() {
    let mut w = BufWriter::with_capacity(8, Vec::new());
    let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cd")];
    assert_eq!(w.write_vectored(&bufs).await.unwrap(), 4);
    assert_eq!(w.buffer(), b"abcd");
    // Larger than the buffer in total: flushed, then written straight through.
    let big = [IoSlice::new(b"0123"), IoSlice::new(b"456789")];
    let n = w.write_vectored(&big).await.unwrap();
    assert!(n > 0);
    w.flush().await.unwrap();
    assert_eq!(&w.get_ref()[..4 + n], &b"abcd0123456789"[..4 + n]);
}

#[minirt::test]
async fn buf_stream_round_trip_over_tcp() {
    let listener = minirt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = minirt::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut stream = BufStream::new(stream);
        let mut line = String::new();
        while stream.read_line(&mut line).await.unwrap() > 0 {
            stream.write_all(line.to_uppercase().as_bytes()).await.unwrap();
            stream.flush().await.unwrap();
            line.clear();
        }
    });
    let stream = minirt::net::TcpStream::connect(addr).await.unwrap();
    let mut stream = BufStream::new(stream);
    for word in ["one\n", "two\n"] {
        stream.write_all(word.as_bytes()).await.unwrap();
        stream.flush().await.unwrap();
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        assert_eq!(line, word.to_uppercase());
    }
    stream.shutdown().await.unwrap();
    server.await.unwrap();
}
