//! AsyncBufReadExt: lines, read_line, read_until, split; ported from tokio's io_lines.rs,
//! io_read_line.rs and io_read_until.rs.

mod io_support;

use std::str::Utf8Error;
use std::string::FromUtf8Error;
use std::time::Duration;

use futures_util::StreamExt;
use io_support::Builder;
use minirt::io::{AsyncBufReadExt, BufReader, ErrorKind};

#[minirt::test]
async fn lines_inherent() {
    let rd: &[u8] = b"hello\r\nworld\n\n";
    let mut st = rd.lines();
    assert_eq!(st.next_line().await.unwrap().unwrap(), "hello");
    assert_eq!(st.next_line().await.unwrap().unwrap(), "world");
    assert_eq!(st.next_line().await.unwrap().unwrap(), "");
    assert!(st.next_line().await.unwrap().is_none());
}

#[minirt::test]
async fn lines_last_line_without_newline_and_stream() {
    let rd: &[u8] = b"a\nb";
    let lines: Vec<String> = rd.lines().map(|l| l.unwrap()).collect().await;
    assert_eq!(lines, ["a", "b"]);
}

#[minirt::test]
async fn lines_keeps_partial_line_after_io_error() {
    let mock = Builder::new()
        .read(b"abc")
        .read_error(ErrorKind::Other, "boom")
        .read(b"def\nghi\n")
        .build();
    let mut lines = BufReader::new(mock).lines();
    assert_eq!(lines.next_line().await.unwrap_err().kind(), ErrorKind::Other);
    assert_eq!(lines.next_line().await.unwrap(), Some("abcdef".to_string()));
    assert_eq!(lines.next_line().await.unwrap(), Some("ghi".to_string()));
    assert_eq!(lines.next_line().await.unwrap(), None);
}

#[minirt::test]
async fn lines_keeps_truncated_multibyte_char_after_io_error() {
    let mock = Builder::new()
        .read(b"ab\xc3")
        .read_error(ErrorKind::Other, "boom")
        .read(b"\xa9cd\nghi\n")
        .build();
    let mut lines = BufReader::new(mock).lines();
    assert_eq!(lines.next_line().await.unwrap_err().kind(), ErrorKind::Other);
    assert_eq!(lines.next_line().await.unwrap(), Some("ab\u{e9}cd".to_string()));
    assert_eq!(lines.next_line().await.unwrap(), Some("ghi".to_string()));
    assert_eq!(lines.next_line().await.unwrap(), None);
}

#[minirt::test]
async fn lines_invalid_utf8_line_errors_once_and_advances() {
    let rd: &[u8] = b"ok\n\xff\xfe\nnext\n";
    let mut lines = rd.lines();
    assert_eq!(lines.next_line().await.unwrap(), Some("ok".to_string()));
    let err = lines.next_line().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let utf8 = err.into_inner().unwrap().downcast::<FromUtf8Error>().unwrap();
    assert_eq!(utf8.into_bytes(), b"\xff\xfe");
    assert_eq!(lines.next_line().await.unwrap(), Some("next".to_string()));
    assert_eq!(lines.next_line().await.unwrap(), None);
}

#[minirt::test]
async fn lines_invalid_utf8_at_eof_does_not_loop_forever() {
    let rd: &[u8] = b"ok\n\xff";
    let mut lines = rd.lines();
    assert_eq!(lines.next_line().await.unwrap(), Some("ok".to_string()));
    assert_eq!(lines.next_line().await.unwrap_err().kind(), ErrorKind::InvalidData);
    assert_eq!(lines.next_line().await.unwrap(), None);
}

#[minirt::test]
async fn lines_next_line_is_cancel_safe() {
    let (mut tx, rx) = minirt::io::duplex(64);
    let mut lines = BufReader::new(rx).lines();
    minirt::io::AsyncWriteExt::write_all(&mut tx, b"hello").await.unwrap();
    let first = minirt::time::timeout(Duration::from_millis(10), lines.next_line()).await;
    assert!(first.is_err(), "no newline yet: the call must still be waiting");
    minirt::io::AsyncWriteExt::write_all(&mut tx, b"\nworld\n").await.unwrap();
    assert_eq!(lines.next_line().await.unwrap(), Some("hello".to_string()));
    assert_eq!(lines.next_line().await.unwrap(), Some("world".to_string()));
}

#[minirt::test]
async fn read_line() {
    let mut buf = String::new();
    let mut rd: &[u8] = b"hello\nworld\n\n";
    assert_eq!(rd.read_line(&mut buf).await.unwrap(), 6);
    assert_eq!(buf, "hello\n");
    buf.clear();
    assert_eq!(rd.read_line(&mut buf).await.unwrap(), 6);
    assert_eq!(buf, "world\n");
    buf.clear();
    assert_eq!(rd.read_line(&mut buf).await.unwrap(), 1);
    assert_eq!(buf, "\n");
    buf.clear();
    assert_eq!(rd.read_line(&mut buf).await.unwrap(), 0);
    assert_eq!(buf, "");
}

#[minirt::test]
async fn read_line_not_all_ready() {
    let mock =
        Builder::new().read(b"Hello Wor").pending().read(b"ld\nFizzBuz").read(b"z\n1\n2").build();
    let mut read = BufReader::new(mock);
    let mut line = "We say ".to_string();
    assert_eq!(read.read_line(&mut line).await.unwrap(), "Hello World\n".len());
    assert_eq!(line, "We say Hello World\n");
    line = "I solve ".to_string();
    assert_eq!(read.read_line(&mut line).await.unwrap(), "FizzBuzz\n".len());
    assert_eq!(line, "I solve FizzBuzz\n");
    line.clear();
    assert_eq!(read.read_line(&mut line).await.unwrap(), 2);
    assert_eq!(line, "1\n");
    line.clear();
    assert_eq!(read.read_line(&mut line).await.unwrap(), 1);
    assert_eq!(line, "2");
}

#[minirt::test]
async fn read_line_invalid_utf8() {
    let mock = Builder::new().read(b"Hello Wor\xffld.\n").build();
    let mut read = BufReader::new(mock);
    let mut line = "Foo".to_string();
    let err = read.read_line(&mut line).await.expect_err("Should fail");
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let utf8 = err.into_inner().unwrap().downcast::<Utf8Error>().unwrap();
    assert_eq!(utf8.valid_up_to(), 12);
    assert_eq!(line.as_str(), "Foo");
}

#[minirt::test]
async fn read_line_fail() {
    let mock = Builder::new()
        .read(b"Hello Wor")
        .read_error(ErrorKind::Other, "The world has no end")
        .build();
    let mut read = BufReader::new(mock);
    let mut line = "Foo".to_string();
    let err = read.read_line(&mut line).await.expect_err("Should fail");
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(err.to_string(), "The world has no end");
    assert_eq!(line.as_str(), "FooHello Wor");
}

#[minirt::test]
async fn read_line_fail_and_utf8_fail() {
    let mock = Builder::new()
        .read(b"Hello Wor")
        .read(b"\xff\xff\xff")
        .read_error(ErrorKind::Other, "The world has no end")
        .build();
    let mut read = BufReader::new(mock);
    let mut line = "Foo".to_string();
    let err = read.read_line(&mut line).await.expect_err("Should fail");
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(line.as_str(), "Foo");
}

#[minirt::test]
async fn read_until() {
    let mut buf = vec![];
    let mut rd: &[u8] = b"hello world";
    assert_eq!(rd.read_until(b' ', &mut buf).await.unwrap(), 6);
    assert_eq!(buf, b"hello ");
    buf.clear();
    assert_eq!(rd.read_until(b' ', &mut buf).await.unwrap(), 5);
    assert_eq!(buf, b"world");
    buf.clear();
    assert_eq!(rd.read_until(b' ', &mut buf).await.unwrap(), 0);
    assert_eq!(buf, []);
}

#[minirt::test]
async fn read_until_not_all_ready_and_fail() {
    let mock =
        Builder::new().read(b"Hello Wor").pending().read(b"ld#Fizz\xffBuz").read(b"z#1#2").build();
    let mut read = BufReader::new(mock);
    let mut chunk = b"We say ".to_vec();
    assert_eq!(read.read_until(b'#', &mut chunk).await.unwrap(), b"Hello World#".len());
    assert_eq!(chunk, b"We say Hello World#");
    chunk = b"I solve ".to_vec();
    assert_eq!(read.read_until(b'#', &mut chunk).await.unwrap(), b"Fizz\xffBuzz\n".len());
    assert_eq!(chunk, b"I solve Fizz\xffBuzz#");

    let mock = Builder::new()
        .read(b"Hello Wor")
        .read_error(ErrorKind::Other, "The world has no end")
        .build();
    let mut read = BufReader::new(mock);
    let mut chunk = b"Foo".to_vec();
    let err = read.read_until(b'#', &mut chunk).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(chunk, b"FooHello Wor");
}

#[minirt::test]
async fn split_segments() {
    let rd: &[u8] = b"a,bb,,ccc";
    let mut parts = AsyncBufReadExt::split(rd, b',');
    assert_eq!(parts.next_segment().await.unwrap(), Some(b"a".to_vec()));
    assert_eq!(parts.next_segment().await.unwrap(), Some(b"bb".to_vec()));
    assert_eq!(parts.next_segment().await.unwrap(), Some(b"".to_vec()));
    assert_eq!(parts.next_segment().await.unwrap(), Some(b"ccc".to_vec()));
    assert_eq!(parts.next_segment().await.unwrap(), None);
}

#[minirt::test]
async fn lines_over_tcp_in_small_pieces() {
    let listener = minirt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let writer = minirt::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let text = b"line one\r\nline two\nlast";
        for piece in text.chunks(3) {
            minirt::io::AsyncWriteExt::write_all(&mut stream, piece).await.unwrap();
            minirt::task::yield_now().await;
        }
    });
    let stream = minirt::net::TcpStream::connect(addr).await.unwrap();
    let mut lines = BufReader::new(stream).lines();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("line one"));
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("line two"));
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("last"));
    assert_eq!(lines.next_line().await.unwrap(), None);
    writer.await.unwrap();
}
