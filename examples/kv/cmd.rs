//! The commands: each takes the parsed arguments of one frame, runs against the [`Db`], and
//! appends its reply to the connection's write buffer.
//!
//! ```text
//!  Args (ranges into the read buffer) ──execute──▶ name, uppercased on the stack
//!      ──arity check──▶ the command's function ──▶ resp::* into `out`
//! ```
//!
//! Error replies use redis-server's exact wording, so clients and their tests that match on
//! it behave the same against both.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::db::Db;
use super::resp::{self, parse_i64};

/// What every connection shares: the store and a few counters for INFO.
pub struct Shared {
    /// The keys.
    pub db: Db,
    /// Connections open now.
    pub clients: AtomicUsize,
    /// When the server started (INFO's uptime).
    pub started: Instant,
}

impl Default for Shared {
    fn default() -> Self {
        Shared { db: Db::default(), clients: AtomicUsize::new(0), started: Instant::now() }
    }
}

/// Per-connection state a command can change.
#[derive(Default)]
pub struct Client {
    /// Set by CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
}

/// The arguments of one command: ranges into the read buffer, nothing copied.
pub struct Args<'a> {
    /// The read buffer.
    pub buf: &'a [u8],
    /// Each argument's `(start, end)` in `buf`; the first is the command name.
    pub ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    /// Argument `i` (0 is the command name).
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (start, end) = self.ranges[i];
        &self.buf[start..end]
    }

    /// Number of arguments, the name included.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there are no arguments (never, for a command the parser produced).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// What the connection does after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// QUIT: flush the replies, then close.
    Quit,
}

const NOT_INTEGER: &[u8] = b"ERR value is not an integer or out of range";
const SYNTAX: &[u8] = b"ERR syntax error";

/// Runs one command (`args.len() >= 1`), appending its reply to `out`.
pub fn execute(shared: &Shared, client: &mut Client, args: &Args<'_>, out: &mut Vec<u8>) -> Flow {
    let raw_name = args.get(0);
    let mut upper = [0u8; 16];
    let name = if raw_name.len() <= upper.len() {
        let upper = &mut upper[..raw_name.len()];
        upper.copy_from_slice(raw_name);
        upper.make_ascii_uppercase();
        &*upper
    } else {
        b"" as &[u8]
    };
    // (name, arity as redis states it: n exactly, or -n for at least n, name included)
    let arity: i32 = match name {
        b"GET" | b"INCR" | b"DECR" | b"TTL" | b"PTTL" | b"PERSIST" | b"KEYS" | b"ECHO"
        | b"SELECT" => 2,
        b"SET" => -3,
        b"INCRBY" | b"DECRBY" | b"EXPIRE" | b"PEXPIRE" => 3,
        b"DEL" | b"EXISTS" | b"MGET" | b"CLIENT" | b"CONFIG" => -2,
        b"MSET" => -3,
        b"PING" | b"FLUSHALL" | b"INFO" | b"COMMAND" | b"QUIT" => -1,
        b"DBSIZE" => 1,
        _ => {
            unknown_command(out, args);
            return Flow::Continue;
        }
    };
    let n = args.len() as i32;
    let too_many = matches!(name, b"PING" if n > 2) || matches!(name, b"MSET" if n % 2 == 0);
    if (arity > 0 && n != arity) || (arity < 0 && n < -arity) || too_many {
        let mut msg = b"ERR wrong number of arguments for '".to_vec();
        msg.extend(name.iter().map(u8::to_ascii_lowercase));
        msg.extend_from_slice(b"' command");
        resp::error(out, &msg);
        return Flow::Continue;
    }
    let db = &shared.db;
    match name {
        b"GET" => match db.shard(args.get(1)).get(args.get(1)) {
            Some(entry) => resp::bulk(out, &entry.value),
            None => resp::nil(out),
        },
        b"SET" => set(db, args, out),
        b"INCR" => incr_by(db, args.get(1), 1, out),
        b"DECR" => incr_by(db, args.get(1), -1, out),
        b"INCRBY" | b"DECRBY" => match parse_i64(args.get(2)) {
            Some(by) if name == b"INCRBY" => incr_by(db, args.get(1), by, out),
            Some(by) => match by.checked_neg() {
                Some(by) => incr_by(db, args.get(1), by, out),
                None => resp::error(out, b"ERR decrement would overflow"),
            },
            None => resp::error(out, NOT_INTEGER),
        },
        b"DEL" => {
            let removed = (1..args.len()).filter(|&i| db.shard(args.get(i)).remove(args.get(i)));
            resp::integer(out, removed.count() as i64);
        }
        b"EXISTS" => {
            let found =
                (1..args.len()).filter(|&i| db.shard(args.get(i)).get(args.get(i)).is_some());
            resp::integer(out, found.count() as i64);
        }
        b"MGET" => {
            let mut shards = db.lock_many((1..args.len()).map(|i| args.get(i)));
            resp::array(out, args.len() - 1);
            for i in 1..args.len() {
                let key = args.get(i);
                let index = super::db::shard_index(key);
                let shard = shards.iter_mut().find(|(j, _)| *j == index).map(|(_, s)| s);
                match shard.and_then(|shard| shard.get(key)) {
                    Some(entry) => resp::bulk(out, &entry.value),
                    None => resp::nil(out),
                }
            }
        }
        b"MSET" => {
            // All shards involved are held at once: no client sees half of an MSET.
            let mut shards = db.lock_many((1..args.len()).step_by(2).map(|i| args.get(i)));
            for i in (1..args.len()).step_by(2) {
                let key = args.get(i);
                let index = super::db::shard_index(key);
                if let Some((_, shard)) = shards.iter_mut().find(|(j, _)| *j == index) {
                    shard.set(key, args.get(i + 1), None, false);
                }
            }
            resp::simple(out, "OK");
        }
        b"EXPIRE" | b"PEXPIRE" => expire(db, args, name == b"EXPIRE", out),
        b"TTL" | b"PTTL" => {
            let ttl = match db.shard(args.get(1)).get(args.get(1)) {
                None => -2,
                Some(entry) => match entry.expires_at {
                    None => -1,
                    Some(at) => {
                        let ms = at.saturating_duration_since(Instant::now()).as_millis() as i64;
                        // As redis: TTL rounds the remaining milliseconds to seconds.
                        if name == b"TTL" {
                            (ms + 500) / 1000
                        } else {
                            ms
                        }
                    }
                },
            };
            resp::integer(out, ttl);
        }
        b"PERSIST" => {
            let mut shard = db.shard(args.get(1));
            let had_ttl = shard.get(args.get(1)).is_some_and(|entry| entry.expires_at.is_some());
            if had_ttl {
                shard.set_expiry(args.get(1), None);
            }
            resp::integer(out, i64::from(had_ttl));
        }
        b"KEYS" => {
            let pattern = args.get(1);
            let mut body = Vec::new();
            let mut count = 0;
            db.for_each_key(|key| {
                if glob_match(pattern, key) {
                    resp::bulk(&mut body, key);
                    count += 1;
                }
            });
            resp::array(out, count);
            out.extend_from_slice(&body);
        }
        b"DBSIZE" => resp::integer(out, db.len().0 as i64),
        b"FLUSHALL" => match args.len() {
            1 => {
                db.clear();
                resp::simple(out, "OK");
            }
            2 if args.get(1).eq_ignore_ascii_case(b"SYNC")
                || args.get(1).eq_ignore_ascii_case(b"ASYNC") =>
            {
                db.clear();
                resp::simple(out, "OK");
            }
            _ => resp::error(out, SYNTAX),
        },
        b"PING" => match args.len() {
            1 => resp::simple(out, "PONG"),
            _ => resp::bulk(out, args.get(1)),
        },
        b"ECHO" => resp::bulk(out, args.get(1)),
        b"SELECT" => match parse_i64(args.get(1)) {
            Some(0) => resp::simple(out, "OK"),
            Some(_) => resp::error(out, b"ERR DB index is out of range"),
            None => resp::error(out, NOT_INTEGER),
        },
        b"INFO" => info(shared, out),
        b"CLIENT" => client_command(client, args, out),
        b"CONFIG" => config(args, out),
        b"COMMAND" => command(args, out),
        b"QUIT" => {
            resp::simple(out, "OK");
            return Flow::Quit;
        }
        _ => unreachable!("every name with an arity is handled"),
    }
    Flow::Continue
}

/// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `, as redis words it
/// (names and arguments cut at 128 bytes, CR/LF replaced so the reply stays one line).
fn unknown_command(out: &mut Vec<u8>, args: &Args<'_>) {
    let mut msg = b"ERR unknown command '".to_vec();
    push_sanitized(&mut msg, args.get(0));
    msg.extend_from_slice(b"', with args beginning with: ");
    let mut shown = 0;
    for i in 1..args.len() {
        if shown >= 128 {
            break;
        }
        let arg = args.get(i);
        msg.push(b'\'');
        push_sanitized(&mut msg, arg);
        msg.extend_from_slice(b"' ");
        shown += arg.len().min(128);
    }
    resp::error(out, &msg);
}

fn push_sanitized(msg: &mut Vec<u8>, s: &[u8]) {
    msg.extend(s.iter().take(128).map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
}

/// SET key value [NX|XX] [EX s|PX ms|KEEPTTL]
fn set(db: &Db, args: &Args<'_>, out: &mut Vec<u8>) {
    let (mut nx, mut xx, mut keep_ttl) = (false, false, false);
    let mut ttl: Option<Duration> = None;
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        if opt.eq_ignore_ascii_case(b"NX") && !xx {
            nx = true;
        } else if opt.eq_ignore_ascii_case(b"XX") && !nx {
            xx = true;
        } else if opt.eq_ignore_ascii_case(b"KEEPTTL") && ttl.is_none() {
            keep_ttl = true;
        } else if (opt.eq_ignore_ascii_case(b"EX") || opt.eq_ignore_ascii_case(b"PX"))
            && ttl.is_none()
            && !keep_ttl
            && i + 1 < args.len()
        {
            let seconds = opt.eq_ignore_ascii_case(b"EX");
            let Some(n) = parse_i64(args.get(i + 1)) else {
                return resp::error(out, NOT_INTEGER);
            };
            let ms = if seconds { n.checked_mul(1000) } else { Some(n) };
            match ms {
                Some(ms) if ms > 0 => ttl = Some(Duration::from_millis(ms as u64)),
                _ => return resp::error(out, b"ERR invalid expire time in 'set' command"),
            }
            i += 1;
        } else {
            return resp::error(out, SYNTAX);
        }
        i += 1;
    }
    let expires_at = match ttl {
        Some(ttl) => match Instant::now().checked_add(ttl) {
            Some(at) => Some(at),
            None => return resp::error(out, b"ERR invalid expire time in 'set' command"),
        },
        None => None,
    };
    let key = args.get(1);
    let mut shard = db.shard(key);
    if nx || xx {
        let exists = shard.get(key).is_some();
        if exists == nx {
            return resp::nil(out);
        }
    }
    shard.set(key, args.get(2), expires_at, keep_ttl);
    resp::simple(out, "OK");
}

/// INCR, DECR, INCRBY, DECRBY: the value is rewritten in place, its deadline kept.
fn incr_by(db: &Db, key: &[u8], by: i64, out: &mut Vec<u8>) {
    let mut shard = db.shard(key);
    let new = match shard.get(key) {
        Some(entry) => {
            let Some(old) = parse_i64(&entry.value) else {
                return resp::error(out, NOT_INTEGER);
            };
            let Some(new) = old.checked_add(by) else {
                return resp::error(out, b"ERR increment or decrement would overflow");
            };
            entry.value.clear();
            resp::push_decimal(&mut entry.value, new);
            new
        }
        None => {
            let mut value = Vec::with_capacity(20);
            resp::push_decimal(&mut value, by);
            shard.set(key, &value, None, false);
            by
        }
    };
    resp::integer(out, new);
}

/// EXPIRE key seconds / PEXPIRE key ms: a deadline not in the future deletes the key.
fn expire(db: &Db, args: &Args<'_>, seconds: bool, out: &mut Vec<u8>) {
    let invalid: &[u8] = if seconds {
        b"ERR invalid expire time in 'expire' command"
    } else {
        b"ERR invalid expire time in 'pexpire' command"
    };
    let Some(n) = parse_i64(args.get(2)) else {
        return resp::error(out, NOT_INTEGER);
    };
    let Some(ms) = (if seconds { n.checked_mul(1000) } else { Some(n) }) else {
        return resp::error(out, invalid);
    };
    let key = args.get(1);
    let mut shard = db.shard(key);
    if ms <= 0 {
        return resp::integer(out, i64::from(shard.remove(key)));
    }
    let Some(at) = Instant::now().checked_add(Duration::from_millis(ms as u64)) else {
        return resp::error(out, invalid);
    };
    resp::integer(out, i64::from(shard.set_expiry(key, Some(at))));
}

fn info(shared: &Shared, out: &mut Vec<u8>) {
    let (keys, expires) = shared.db.len();
    let text = format!(
        "# Server\r\nredis_version:7.0.0\r\nminirt_kv_version:{}\r\nredis_mode:standalone\r\n\
         process_id:{}\r\nuptime_in_seconds:{}\r\n\r\n# Clients\r\nconnected_clients:{}\r\n\r\n\
         # Keyspace\r\ndb0:keys={keys},expires={expires},avg_ttl=0\r\n",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        shared.started.elapsed().as_secs(),
        shared.clients.load(Ordering::Relaxed),
    );
    resp::bulk(out, text.as_bytes());
}

fn client_command(client: &mut Client, args: &Args<'_>, out: &mut Vec<u8>) {
    let sub = args.get(1);
    if sub.eq_ignore_ascii_case(b"SETNAME") && args.len() == 3 {
        let name = args.get(2);
        if name.iter().any(|&b| b <= b' ' || b > b'~') {
            return resp::error(
                out,
                b"ERR Client names cannot contain spaces, newlines or special characters.",
            );
        }
        client.name = if name.is_empty() { None } else { Some(name.to_vec()) };
        resp::simple(out, "OK");
    } else if sub.eq_ignore_ascii_case(b"GETNAME") && args.len() == 2 {
        match &client.name {
            Some(name) => resp::bulk(out, name),
            None => resp::nil(out),
        }
    } else if sub.eq_ignore_ascii_case(b"SETNAME") || sub.eq_ignore_ascii_case(b"GETNAME") {
        let mut msg = b"ERR wrong number of arguments for 'client|".to_vec();
        msg.extend(sub.iter().map(u8::to_ascii_lowercase));
        msg.extend_from_slice(b"' command");
        resp::error(out, &msg);
    } else {
        let mut msg = b"ERR unknown subcommand '".to_vec();
        push_sanitized(&mut msg, sub);
        msg.extend_from_slice(b"'. Try CLIENT HELP.");
        resp::error(out, &msg);
    }
}

/// CONFIG GET save / appendonly: enough for redis-benchmark's start-up check; nothing else.
fn config(args: &Args<'_>, out: &mut Vec<u8>) {
    if !args.get(1).eq_ignore_ascii_case(b"GET") || args.len() != 3 {
        return resp::error(out, b"ERR CONFIG: only CONFIG GET <parameter> is supported");
    }
    let param = args.get(2);
    let value: &[u8] = if param.eq_ignore_ascii_case(b"save") {
        b""
    } else if param.eq_ignore_ascii_case(b"appendonly") {
        b"no"
    } else {
        return resp::array(out, 0);
    };
    resp::array(out, 2);
    resp::bulk(out, &param.to_ascii_lowercase());
    resp::bulk(out, value);
}

/// COMMAND (an empty table: redis-cli then simply has no hints), COMMAND COUNT, COMMAND DOCS.
fn command(args: &Args<'_>, out: &mut Vec<u8>) {
    if args.len() >= 2 && args.get(1).eq_ignore_ascii_case(b"COUNT") {
        resp::integer(out, 0);
    } else {
        resp::array(out, 0);
    }
}

/// Redis's glob (`stringmatch`): `*`, `?`, `[abc]`, `[^a-z]`, and `\` escaping the next byte.
pub fn glob_match(pattern: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, string index it matched to).
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, i));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match_class(pattern, p, s[i]),
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == s[i]).then_some(p + 2),
            Some(&c) => (c == s[i]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                i += 1;
            }
            (None, Some((star_p, star_i))) => {
                // Let the last `*` swallow one more byte and retry.
                p = star_p;
                i = star_i + 1;
                star = Some((star_p, star_i + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Matches byte `c` against the class starting at `pattern[open] == b'['`: the index after the
/// class if it matches.
fn match_class(pattern: &[u8], open: usize, c: u8) -> Option<usize> {
    let mut p = open + 1;
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    while p < pattern.len() && pattern[p] != b']' {
        if pattern[p] == b'\\' && p + 1 < pattern.len() {
            matched |= pattern[p + 1] == c;
            p += 2;
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' && pattern[p + 2] != b']' {
            let (lo, hi) = (pattern[p].min(pattern[p + 2]), pattern[p].max(pattern[p + 2]));
            matched |= (lo..=hi).contains(&c);
            p += 3;
        } else {
            matched |= pattern[p] == c;
            p += 1;
        }
    }
    // An unclosed class ends at the pattern's end, as in redis.
    let next = (p + 1).min(pattern.len());
    (matched != negate).then_some(next)
}
