//! The HTTP/1.1 part of the `http` and `tokio_http` examples: limits, canned responses, and a
//! parser for the request at the start of a buffer. It knows nothing of any runtime, so both
//! servers share it and differ only in the runtime they run on;
//! `tests/examples/http_parser.rs` tests it.

use std::time::Duration;

/// The longest request head (request line and headers, with the blank line) we accept.
pub const MAX_HEAD: usize = 8 * 1024;
/// The longest request body we accept (and skip).
pub const MAX_BODY: usize = 64 * 1024;
/// The initial size of a connection's read buffer. It grows (by doubling) only while one
/// request is bigger than what it holds, so it stays below `2 * (MAX_HEAD + MAX_BODY)`.
pub const READ_BUF: usize = 16 * 1024;
/// How many bytes we read and drop, at most, while closing (see `close_gracefully`).
pub const MAX_DRAIN: usize = 64 * 1024;

/// The time limits of a connection, so that a client that stalls or trickles (slowloris)
/// cannot hold a task and an fd forever.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A request (head and body) must arrive whole within this time of its first byte; a late
    /// one gets `408` and a close.
    pub request: Duration,
    /// A connection may wait this long for its next request before we close it.
    pub idle: Duration,
    /// After the last response, how long we keep draining what the client still sends.
    pub close: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            request: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            close: Duration::from_secs(2),
        }
    }
}

/// The answer to every request; `$connection` is an optional `Connection` header line.
macro_rules! hello {
    ($connection:literal) => {
        concat!(
            "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n",
            $connection,
            "\r\nHello, World!"
        )
        .as_bytes()
    };
}
pub const OK: &[u8] = hello!("");
/// For an HTTP/1.0 client that asked to keep the connection: it must hear that we agree.
pub const OK_KEEP_ALIVE: &[u8] = hello!("Connection: keep-alive\r\n");
pub const OK_CLOSE: &[u8] = hello!("Connection: close\r\n");

/// An error answer, after which we close the connection.
macro_rules! refusal {
    ($status:literal) => {
        concat!("HTTP/1.1 ", $status, "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .as_bytes()
    };
}
pub const BAD_REQUEST: &[u8] = refusal!("400 Bad Request");
pub const PAYLOAD_TOO_LARGE: &[u8] = refusal!("413 Payload Too Large");
pub const HEADERS_TOO_LARGE: &[u8] = refusal!("431 Request Header Fields Too Large");
pub const NOT_IMPLEMENTED: &[u8] = refusal!("501 Not Implemented");
pub const REQUEST_TIMEOUT: &[u8] = refusal!("408 Request Timeout");

/// What the start of a connection's unanswered bytes holds.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A complete request, `len` bytes long (head and body).
    Request { len: usize, keep_alive: bool, http10: bool },
    /// The start of a request: read more.
    Partial,
    /// Something we will not serve: send this response and close.
    Reject(&'static [u8]),
}

/// Parses the request at the start of `buf`. Never panics, whatever `buf` holds.
pub fn parse(buf: &[u8]) -> Parsed {
    // The head ends at the first blank line, which must come within MAX_HEAD bytes.
    let window = &buf[..buf.len().min(MAX_HEAD)];
    let Some(head_len) = find(window, b"\r\n\r\n").map(|i| i + 4) else {
        return if !could_be_request(buf) {
            Parsed::Reject(BAD_REQUEST) // refused now, not after 8 KiB of garbage
        } else if buf.len() >= MAX_HEAD {
            Parsed::Reject(HEADERS_TOO_LARGE)
        } else {
            Parsed::Partial
        };
    };

    // Every line of the head ends with CRLF; a bare LF is refused by `strip_suffix`, a bare CR
    // by the character checks of `request_line` and `header`.
    let mut lines =
        buf[..head_len - 2].split_inclusive(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r\n"));
    let Some(http10) = lines.next().flatten().and_then(request_line) else {
        return Parsed::Reject(BAD_REQUEST);
    };
    let (mut close, mut keep_alive, mut content_length) = (false, false, None);
    for line in lines {
        let Some((name, value)) = line.and_then(header) else {
            return Parsed::Reject(BAD_REQUEST);
        };
        if name.eq_ignore_ascii_case(b"content-length") {
            match decimal(value) {
                // Two different lengths: we cannot know where the body ends.
                Some(n) if content_length.map_or(true, |m| m == n) => content_length = Some(n),
                _ => return Parsed::Reject(BAD_REQUEST),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Parsed::Reject(NOT_IMPLEMENTED);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',').map(trim) {
                close |= option.eq_ignore_ascii_case(b"close");
                keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }

    let body_len = content_length.unwrap_or(0);
    if body_len > MAX_BODY {
        return Parsed::Reject(PAYLOAD_TOO_LARGE);
    }
    if buf.len() < head_len + body_len {
        return Parsed::Partial; // the body is still arriving
    }
    // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told to keep.
    let keep_alive = !close && (keep_alive || !http10);
    Parsed::Request { len: head_len + body_len, keep_alive, http10 }
}

/// `METHOD SP TARGET SP HTTP/1.x`: returns whether the version is 1.0, or `None` if the line is
/// not a request line we serve.
fn request_line(line: &[u8]) -> Option<bool> {
    let mut parts = line.split(|&b| b == b' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = parts.next().is_none()
        && !method.is_empty()
        && method.iter().all(|&b| is_token(b))
        && !target.is_empty()
        && target.iter().all(|&b| b.is_ascii_graphic());
    match version {
        b"HTTP/1.1" if valid => Some(false),
        b"HTTP/1.0" if valid => Some(true),
        _ => None,
    }
}

/// Whether an incomplete head can still become a request: its request line, if complete, is
/// valid; if not, what has arrived of its method is made of token characters.
fn could_be_request(buf: &[u8]) -> bool {
    match buf.iter().position(|&b| b == b'\n') {
        Some(end) => buf[..=end].strip_suffix(b"\r\n").and_then(request_line).is_some(),
        None => buf.iter().take_while(|&&b| b != b' ').all(|&b| is_token(b)),
    }
}

/// `name: value`, with the spaces around the value trimmed. `None` for an empty or invalid
/// name, a control character in the value, or an obsolete folded line.
fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
    let valid = !name.is_empty()
        && name.iter().all(|&b| is_token(b))
        && value.iter().all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f));
    valid.then_some((name, value))
}

/// A `Content-Length` value: decimal digits only, no sign, no overflow.
fn decimal(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &b| {
        let digit = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(digit as usize)
    })
}

/// The characters of a method or a header name (RFC 9110 `tchar`).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
