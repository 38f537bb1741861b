//! RESP2, the Redis wire protocol: parsing commands out of a connection's read buffer and
//! encoding replies into its write buffer.
//!
//! ```text
//!  read buffer ──parse_command──▶ (start, end) ranges of each argument, into the buffer
//!                                  (nothing copied, the ranges vector is reused)
//!  cmd.rs ──simple/error/integer/bulk/nil/array──▶ write buffer (one write per batch)
//! ```
//!
//! A command is either a multibulk array (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, what every client
//! library sends) or an inline line (`GET k\r\n`, what telnet sends; split on spaces and tabs,
//! without redis's quoting rules). Sizes are bounded: a
//! bulk string of more than [`MAX_BULK`] bytes, more than [`MAX_ARGS`] arguments or an inline
//! line of more than [`MAX_INLINE`] bytes is a protocol error, and the connection closes, as
//! redis-server does.

/// The largest bulk string accepted (redis-server's default `proto-max-bulk-len` is 512 MB;
/// an example server keeps it smaller).
pub const MAX_BULK: usize = 32 * 1024 * 1024;
/// The most arguments in one command.
pub const MAX_ARGS: usize = 1024 * 1024;
/// The longest inline command line.
pub const MAX_INLINE: usize = 64 * 1024;
/// The most bytes one frame may span (arguments and their headers): the read buffer never
/// grows beyond this while a frame is incomplete.
pub const MAX_FRAME: usize = 2 * MAX_BULK;

/// A frame that is not RESP: the connection answers `-ERR Protocol error: ...` and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

/// Parses the command at the start of `buf`. On `Ok(Some(n))` the frame spans `buf[..n]` and
/// `args` holds each argument's range in `buf` (empty for an empty frame, which is skipped);
/// `Ok(None)`: the frame is incomplete, read more.
pub fn parse_command(
    buf: &[u8],
    args: &mut Vec<(usize, usize)>,
) -> Result<Option<usize>, ProtocolError> {
    args.clear();
    match buf.first() {
        None => Ok(None),
        Some(b'*') => parse_multibulk(buf, args),
        Some(_) => parse_inline(buf, args),
    }
}

fn parse_multibulk(
    buf: &[u8],
    args: &mut Vec<(usize, usize)>,
) -> Result<Option<usize>, ProtocolError> {
    let Some((count, mut pos)) = read_int_line(buf, 1, "invalid multibulk length")? else {
        return Ok(None);
    };
    if count <= 0 {
        // `*0` and `*-1`: nothing to run (redis skips them too).
        return Ok(Some(pos));
    }
    if count as u64 > MAX_ARGS as u64 {
        return Err(ProtocolError("invalid multibulk length"));
    }
    for _ in 0..count {
        match buf.get(pos) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(_) => return Err(ProtocolError("expected '$'")),
        }
        let Some((len, start)) = read_int_line(buf, pos + 1, "invalid bulk length")? else {
            return Ok(None);
        };
        if len < 0 || len as u64 > MAX_BULK as u64 {
            return Err(ProtocolError("invalid bulk length"));
        }
        let end = start + len as usize;
        if buf.len() < end + 2 {
            return Ok(None);
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(ProtocolError("bulk string not terminated by CRLF"));
        }
        args.push((start, end));
        pos = end + 2;
    }
    Ok(Some(pos))
}

/// Reads a decimal integer line starting at `buf[from]`: `(value, index after the CRLF)`.
fn read_int_line(
    buf: &[u8],
    from: usize,
    what: &'static str,
) -> Result<Option<(i64, usize)>, ProtocolError> {
    // 20 characters hold any i64; a longer line without CRLF is not a count.
    let window = &buf[from.min(buf.len())..buf.len().min(from + 22)];
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        return if window.len() >= 22 { Err(ProtocolError(what)) } else { Ok(None) };
    };
    if window.len() < cr + 2 {
        return Ok(None);
    }
    if window[cr + 1] != b'\n' {
        return Err(ProtocolError(what));
    }
    let value = parse_i64(&window[..cr]).ok_or(ProtocolError(what))?;
    Ok(Some((value, from + cr + 2)))
}

fn parse_inline(
    buf: &[u8],
    args: &mut Vec<(usize, usize)>,
) -> Result<Option<usize>, ProtocolError> {
    let Some(newline) = buf.iter().take(MAX_INLINE + 1).position(|&b| b == b'\n') else {
        return if buf.len() > MAX_INLINE {
            Err(ProtocolError("too big inline request"))
        } else {
            Ok(None)
        };
    };
    let line_end = if newline > 0 && buf[newline - 1] == b'\r' { newline - 1 } else { newline };
    let mut i = 0;
    while i < line_end {
        while i < line_end && (buf[i] == b' ' || buf[i] == b'\t') {
            i += 1;
        }
        let start = i;
        while i < line_end && buf[i] != b' ' && buf[i] != b'\t' {
            i += 1;
        }
        if i > start {
            args.push((start, i));
        }
    }
    Ok(Some(newline + 1))
}

/// Parses a whole slice as a decimal `i64` the way redis does (`string2ll`): an optional `-`,
/// digits, no leading zeros, no spaces or `+`, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty()
        || digits.len() > 19
        || (digits[0] == b'0' && (digits.len() > 1 || negative))
    {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(d - b'0');
        value = value.checked_mul(10)?;
        value = if negative { value.checked_sub(digit)? } else { value.checked_add(digit)? };
    }
    Some(value)
}

/// `+OK\r\n` and the like.
pub fn simple(out: &mut Vec<u8>, s: &str) {
    out.push(b'+');
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `-ERR ...\r\n`: `msg` must hold no CR or LF.
pub fn error(out: &mut Vec<u8>, msg: &[u8]) {
    out.push(b'-');
    out.extend_from_slice(msg);
    out.extend_from_slice(b"\r\n");
}

/// `:42\r\n`.
pub fn integer(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    push_decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

/// `$5\r\nhello\r\n`.
pub fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'$');
    push_decimal(out, data.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The null bulk string, `$-1\r\n` (a missing key).
pub fn nil(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// The header of an array of `len` elements; the elements follow.
pub fn array(out: &mut Vec<u8>, len: usize) {
    out.push(b'*');
    push_decimal(out, len as i64);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, without going through `fmt`.
pub fn push_decimal(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}
