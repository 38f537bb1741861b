//! The request parser shared by the `http` and `tokio_http` examples, tested on its own: what a
//! server on minirt must do with pipelined, partial, oversized and garbage input.

#[allow(dead_code)] // the connection-handling constants are used by the examples only
#[path = "../../examples/support/http_proto.rs"]
mod http_proto;

use http_proto::{
    parse, Parsed, BAD_REQUEST, HEADERS_TOO_LARGE, MAX_HEAD, NOT_IMPLEMENTED, PAYLOAD_TOO_LARGE,
};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn a_complete_request_keeps_the_connection_alive() {
    assert_eq!(parse(GET), Parsed::Request { len: GET.len(), keep_alive: true, http10: false });
}

#[test]
fn pipelined_requests_are_parsed_one_after_another() {
    let mut buf = GET.repeat(3);
    buf.extend_from_slice(b"GET /4 HT"); // the start of a fourth
    let mut start = 0;
    for _ in 0..3 {
        match parse(&buf[start..]) {
            Parsed::Request { len, keep_alive: true, .. } => start += len,
            other => panic!("expected a request at {start}, got {other:?}"),
        }
    }
    assert_eq!(start, 3 * GET.len());
    assert_eq!(parse(&buf[start..]), Parsed::Partial);
}

#[test]
fn connection_close_and_http10_end_the_connection() {
    let close = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
    assert!(matches!(parse(close), Parsed::Request { keep_alive: false, .. }));
    let http10 = b"GET / HTTP/1.0\r\n\r\n";
    assert!(matches!(parse(http10), Parsed::Request { keep_alive: false, http10: true, .. }));
    let http10_keep = b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
    assert!(matches!(parse(http10_keep), Parsed::Request { keep_alive: true, http10: true, .. }));
}

#[test]
fn a_body_is_skipped_and_waited_for() {
    let head = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(parse(head), Parsed::Partial);
    let mut full = head.to_vec();
    full.extend_from_slice(b"hello");
    assert_eq!(parse(&full), Parsed::Request { len: full.len(), keep_alive: true, http10: false });
    let huge = b"POST / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n";
    assert_eq!(parse(huge), Parsed::Reject(PAYLOAD_TOO_LARGE));
    let conflicting = b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(parse(conflicting), Parsed::Reject(BAD_REQUEST));
    let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(parse(chunked), Parsed::Reject(NOT_IMPLEMENTED));
}

#[test]
fn garbage_is_refused_at_once() {
    for garbage in [
        &b"\x16\x03\x01\x02\x00"[..],
        b"hello there\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad\x00Header: x\r\n\r\n",
    ] {
        assert_eq!(parse(garbage), Parsed::Reject(BAD_REQUEST), "{garbage:?}");
    }
}

#[test]
fn a_head_over_the_limit_is_431_and_one_at_it_is_served() {
    let mut big = b"GET / HTTP/1.1\r\nX-Fill: ".to_vec();
    big.resize(MAX_HEAD + 10, b'a');
    assert_eq!(parse(&big), Parsed::Reject(HEADERS_TOO_LARGE));

    let mut exact = b"GET / HTTP/1.1\r\nX-Fill: ".to_vec();
    exact.resize(MAX_HEAD - 4, b'a');
    exact.extend_from_slice(b"\r\n\r\n");
    assert_eq!(exact.len(), MAX_HEAD);
    assert!(matches!(parse(&exact), Parsed::Request { len, .. } if len == MAX_HEAD));
}

#[test]
fn every_prefix_of_a_request_is_partial_and_nothing_panics() {
    let request = b"POST /path?q=1 HTTP/1.1\r\nHost: example\r\nContent-Length: 3\r\n\r\nabc";
    for end in 0..request.len() {
        assert_eq!(parse(&request[..end]), Parsed::Partial, "prefix of {end} bytes");
    }
    // Arbitrary bytes never panic (a cheap, deterministic stand-in for a fuzzer).
    let alphabet = b"GET /HTP1.0\r\n: abc\x00";
    let mut state: u32 = 0x1234_5678;
    for _ in 0..20_000 {
        let len = (state % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                alphabet[state as usize % alphabet.len()]
            })
            .collect();
        let _ = parse(&bytes);
    }
}
