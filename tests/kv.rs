//! The kv example (examples/kv/), in-process: its `serve` runs on 127.0.0.1:0 and a small
//! RESP client written here drives it through every command, pipelining, partial frames,
//! protocol errors (which close only their own connection), expiry (lazy and active), several
//! clients on the multi-thread runtime, and graceful shutdown on SIGTERM/SIGINT.
//!
//! The last tests run the whole program (`main.rs`'s `run`: arguments, `KV_ADDR`, the start
//! message, the exit status) in a child process, which is this test binary run again.
//!
//! `serve` listens for SIGINT and SIGTERM, which are process-wide: the tests that raise one
//! hold [`SIGNALS`] for writing, every other test holds it for reading, so no signal stops a
//! server it was not meant for.

mod common;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::RwLock;
use std::time::Duration;

use common::{delay, must_complete, watchdog};
use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};
use minirt::runtime::{Builder, Runtime};

// The example's `main.rs`, whose `server` module is the server; `main` is for the binary only.
#[allow(dead_code)]
#[path = "../examples/kv/main.rs"]
mod kv_main;
use kv_main::server;

use server::cmd::glob_match;
use server::resp::{self, parse_command, ProtocolError};

static SIGNALS: RwLock<()> = RwLock::new(());

/// A reply, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

use Reply::{Error, Int};

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.as_bytes().to_vec()))
}

fn nil() -> Reply {
    Reply::Bulk(None)
}

fn err(s: &str) -> Reply {
    Error(s.into())
}

/// Decodes one reply from the start of `buf`: the reply and its length, or `None` if
/// incomplete.
fn decode(buf: &[u8]) -> Option<(Reply, usize)> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[1..line_end]).expect("reply header is text");
    let after = line_end + 2;
    match buf[0] {
        b'+' => Some((Reply::Simple(line.into()), after)),
        b'-' => Some((Reply::Error(line.into()), after)),
        b':' => Some((Reply::Int(line.parse().expect("integer reply")), after)),
        b'$' => {
            let len: i64 = line.parse().expect("bulk length");
            if len < 0 {
                return Some((nil(), after));
            }
            let end = after + len as usize;
            if buf.len() < end + 2 {
                return None;
            }
            assert_eq!(&buf[end..end + 2], b"\r\n", "bulk ends with CRLF");
            Some((Reply::Bulk(Some(buf[after..end].to_vec())), end + 2))
        }
        b'*' => {
            let len: i64 = line.parse().expect("array length");
            let mut pos = after;
            let mut items = Vec::new();
            for _ in 0..len.max(0) {
                let (item, n) = decode(&buf[pos..])?;
                items.push(item);
                pos += n;
            }
            Some((Reply::Array(items), pos))
        }
        other => panic!("not a RESP reply: {:?}", other as char),
    }
}

/// Encodes a command as a RESP array of bulk strings.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    resp::array(&mut out, args.len());
    for arg in args {
        resp::bulk(&mut out, arg);
    }
    out
}

/// A RESP client.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = must_complete("connect", TcpStream::connect(addr)).await.expect("connect");
        Client { stream, buf: Vec::new() }
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        must_complete("write", self.stream.write_all(bytes)).await.expect("write");
    }

    async fn send(&mut self, args: &[&str]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_raw(&encode(&args)).await;
    }

    /// The next reply (panics on EOF).
    async fn reply(&mut self) -> Reply {
        loop {
            if let Some((reply, n)) = decode(&self.buf) {
                self.buf.drain(..n);
                return reply;
            }
            let mut chunk = [0u8; 4096];
            let n = must_complete("read", self.stream.read(&mut chunk)).await.expect("read");
            assert!(n > 0, "EOF while waiting for a reply (have {:?})", self.buf);
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn cmd(&mut self, args: &[&str]) -> Reply {
        self.send(args).await;
        self.reply().await
    }

    /// Asserts that the server closed the connection, with nothing more to read.
    async fn expect_eof(&mut self) {
        let mut chunk = [0u8; 64];
        match must_complete("read to EOF", self.stream.read(&mut chunk)).await {
            Ok(0) => {}
            Ok(n) => panic!("expected EOF, read {:?}", &chunk[..n]),
            // A reset is a close too (unread data at close time makes the kernel send RST).
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected EOF: {e}"),
        }
        assert!(self.buf.is_empty(), "unread replies before EOF: {:?}", self.buf);
    }
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// Runs `body` against a fresh server on `rt`.
fn with_server<F, Fut>(name: &'static str, rt: Runtime, body: F)
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = ()>,
{
    let _signals = SIGNALS.read().unwrap_or_else(|p| p.into_inner());
    let _watchdog = watchdog(name);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let _server = minirt::spawn(server::serve(listener, Duration::from_secs(1)));
        body(addr).await;
    });
}

#[test]
fn ping_and_echo() {
    with_server("ping_and_echo", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
        assert_eq!(c.cmd(&["ping", "hello world"]).await, bulk("hello world"));
        assert_eq!(c.cmd(&["ECHO", ""]).await, bulk(""));
        assert_eq!(c.cmd(&["echo", "a\r\nb"]).await, bulk("a\r\nb"));
        assert_eq!(
            c.cmd(&["PING", "a", "b"]).await,
            err("ERR wrong number of arguments for 'ping' command")
        );
        assert_eq!(c.cmd(&["ECHO"]).await, err("ERR wrong number of arguments for 'echo' command"));
    });
}

#[test]
fn get_set_del_exists() {
    with_server("get_set_del_exists", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["GET", "k"]).await, nil());
        assert_eq!(c.cmd(&["SET", "k", "v"]).await, ok());
        assert_eq!(c.cmd(&["get", "k"]).await, bulk("v"));
        assert_eq!(c.cmd(&["SET", "k", "a longer value"]).await, ok());
        assert_eq!(c.cmd(&["GET", "k"]).await, bulk("a longer value"));
        assert_eq!(c.cmd(&["SET", "empty", ""]).await, ok());
        assert_eq!(c.cmd(&["GET", "empty"]).await, bulk(""));
        assert_eq!(c.cmd(&["EXISTS", "k", "k", "nope", "empty"]).await, Int(3));
        assert_eq!(c.cmd(&["DEL", "k", "nope", "empty", "k"]).await, Int(2));
        assert_eq!(c.cmd(&["EXISTS", "k"]).await, Int(0));
        assert_eq!(c.cmd(&["GET", "k"]).await, nil());
        // Binary keys and values.
        let key = "\0\u{1}\r\n key";
        assert_eq!(c.cmd(&["SET", key, "\r\n\0"]).await, ok());
        assert_eq!(c.cmd(&["GET", key]).await, bulk("\r\n\0"));
        assert_eq!(c.cmd(&["GET"]).await, err("ERR wrong number of arguments for 'get' command"));
        assert_eq!(
            c.cmd(&["GET", "a", "b"]).await,
            err("ERR wrong number of arguments for 'get' command")
        );
        assert_eq!(
            c.cmd(&["SET", "k"]).await,
            err("ERR wrong number of arguments for 'set' command")
        );
        assert_eq!(c.cmd(&["DEL"]).await, err("ERR wrong number of arguments for 'del' command"));
    });
}

#[test]
fn set_options() {
    with_server("set_options", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["SET", "k", "1", "XX"]).await, nil(), "XX on a missing key");
        assert_eq!(c.cmd(&["GET", "k"]).await, nil());
        assert_eq!(c.cmd(&["SET", "k", "1", "nx"]).await, ok());
        assert_eq!(c.cmd(&["SET", "k", "2", "NX"]).await, nil(), "NX on an existing key");
        assert_eq!(c.cmd(&["GET", "k"]).await, bulk("1"));
        assert_eq!(c.cmd(&["SET", "k", "3", "XX"]).await, ok());
        assert_eq!(c.cmd(&["GET", "k"]).await, bulk("3"));
        assert_eq!(c.cmd(&["SET", "k", "4", "NX", "XX"]).await, err("ERR syntax error"));
        assert_eq!(c.cmd(&["SET", "k", "4", "BOGUS"]).await, err("ERR syntax error"));
        assert_eq!(c.cmd(&["SET", "k", "4", "EX"]).await, err("ERR syntax error"));
        assert_eq!(c.cmd(&["SET", "k", "4", "EX", "1", "PX", "1"]).await, err("ERR syntax error"));
        assert_eq!(
            c.cmd(&["SET", "k", "4", "EX", "x"]).await,
            err("ERR value is not an integer or out of range")
        );
        for bad in ["0", "-5"] {
            assert_eq!(
                c.cmd(&["SET", "k", "4", "PX", bad]).await,
                err("ERR invalid expire time in 'set' command")
            );
        }
        assert_eq!(c.cmd(&["GET", "k"]).await, bulk("3"), "a failed SET changes nothing");
        assert_eq!(c.cmd(&["SET", "k", "5", "EX", "100"]).await, ok());
        assert_eq!(c.cmd(&["TTL", "k"]).await, Int(100));
        assert_eq!(c.cmd(&["SET", "k", "6", "KEEPTTL"]).await, ok());
        assert_eq!(c.cmd(&["TTL", "k"]).await, Int(100), "KEEPTTL keeps the deadline");
        assert_eq!(c.cmd(&["SET", "k", "7"]).await, ok());
        assert_eq!(c.cmd(&["TTL", "k"]).await, Int(-1), "a plain SET clears the deadline");
        assert_eq!(c.cmd(&["SET", "k", "8", "PX", "100000", "XX"]).await, ok());
        let Int(pttl) = c.cmd(&["PTTL", "k"]).await else { panic!("PTTL is an integer") };
        assert!((99_000..=100_000).contains(&pttl), "PTTL {pttl}");
    });
}

#[test]
fn incr_decr() {
    with_server("incr_decr", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["INCR", "n"]).await, Int(1));
        assert_eq!(c.cmd(&["INCR", "n"]).await, Int(2));
        assert_eq!(c.cmd(&["INCRBY", "n", "40"]).await, Int(42));
        assert_eq!(c.cmd(&["DECR", "n"]).await, Int(41));
        assert_eq!(c.cmd(&["DECRBY", "n", "50"]).await, Int(-9));
        assert_eq!(c.cmd(&["GET", "n"]).await, bulk("-9"));
        assert_eq!(c.cmd(&["DECR", "fresh"]).await, Int(-1));
        assert_eq!(c.cmd(&["INCRBY", "fresh2", "-7"]).await, Int(-7));
        let not_int = err("ERR value is not an integer or out of range");
        for value in ["abc", " 1", "1 ", "+1", "01", "", "9223372036854775808", "1.5"] {
            assert_eq!(c.cmd(&["SET", "s", value]).await, ok());
            assert_eq!(c.cmd(&["INCR", "s"]).await, not_int, "INCR of {value:?}");
        }
        assert_eq!(c.cmd(&["INCRBY", "n", "x"]).await, not_int);
        assert_eq!(c.cmd(&["SET", "max", "9223372036854775807"]).await, ok());
        assert_eq!(c.cmd(&["INCR", "max"]).await, err("ERR increment or decrement would overflow"));
        assert_eq!(c.cmd(&["SET", "min", "-9223372036854775808"]).await, ok());
        assert_eq!(c.cmd(&["DECR", "min"]).await, err("ERR increment or decrement would overflow"));
        assert_eq!(c.cmd(&["GET", "max"]).await, bulk("9223372036854775807"));
        // INCR keeps the deadline, as in redis.
        assert_eq!(c.cmd(&["SET", "t", "1", "EX", "100"]).await, ok());
        assert_eq!(c.cmd(&["INCR", "t"]).await, Int(2));
        assert_eq!(c.cmd(&["TTL", "t"]).await, Int(100));
        assert_eq!(c.cmd(&["INCR"]).await, err("ERR wrong number of arguments for 'incr' command"));
        assert_eq!(
            c.cmd(&["INCRBY", "n"]).await,
            err("ERR wrong number of arguments for 'incrby' command")
        );
    });
}

#[test]
fn mget_mset() {
    with_server("mget_mset", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        let mut args = vec!["MSET"];
        let keys: Vec<String> = (0..20).map(|i| format!("key:{i}")).collect();
        let values: Vec<String> = (0..20).map(|i| format!("value {i}")).collect();
        for (k, v) in keys.iter().zip(&values) {
            args.push(k);
            args.push(v);
        }
        assert_eq!(c.cmd(&args).await, ok());
        let mut get = vec!["MGET", "missing"];
        get.extend(keys.iter().map(String::as_str));
        let Reply::Array(items) = c.cmd(&get).await else { panic!("MGET replies an array") };
        assert_eq!(items[0], nil());
        let expected: Vec<Reply> = values.iter().map(|v| bulk(v)).collect();
        assert_eq!(&items[1..], &expected[..]);
        assert_eq!(c.cmd(&["MSET", "a", "1", "a", "2"]).await, ok());
        assert_eq!(c.cmd(&["GET", "a"]).await, bulk("2"), "the last pair wins");
        for bad in [&["MSET", "a"][..], &["MSET", "a", "1", "b"][..], &["MSET"][..]] {
            assert_eq!(c.cmd(bad).await, err("ERR wrong number of arguments for 'mset' command"));
        }
        assert_eq!(c.cmd(&["MGET"]).await, err("ERR wrong number of arguments for 'mget' command"));
    });
}

#[test]
fn expire_ttl_persist() {
    with_server("expire_ttl_persist", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["TTL", "k"]).await, Int(-2));
        assert_eq!(c.cmd(&["EXPIRE", "k", "10"]).await, Int(0), "no key, no deadline");
        assert_eq!(c.cmd(&["SET", "k", "v"]).await, ok());
        assert_eq!(c.cmd(&["TTL", "k"]).await, Int(-1));
        assert_eq!(c.cmd(&["PERSIST", "k"]).await, Int(0));
        assert_eq!(c.cmd(&["EXPIRE", "k", "100"]).await, Int(1));
        assert_eq!(c.cmd(&["TTL", "k"]).await, Int(100));
        assert_eq!(c.cmd(&["PERSIST", "k"]).await, Int(1));
        assert_eq!(c.cmd(&["TTL", "k"]).await, Int(-1));
        assert_eq!(c.cmd(&["PEXPIRE", "k", "100000"]).await, Int(1));
        assert_eq!(c.cmd(&["TTL", "k"]).await, Int(100));
        assert_eq!(
            c.cmd(&["EXPIRE", "k", "soon"]).await,
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            c.cmd(&["EXPIRE", "k", "9223372036854775807"]).await,
            err("ERR invalid expire time in 'expire' command")
        );
        assert_eq!(c.cmd(&["EXPIRE", "k", "0"]).await, Int(1), "a past deadline deletes");
        assert_eq!(c.cmd(&["GET", "k"]).await, nil());
        assert_eq!(
            c.cmd(&["EXPIRE", "k"]).await,
            err("ERR wrong number of arguments for 'expire' command")
        );
    });
}

/// A short PX: the key is gone on the next access (lazy expiry), and keys nobody touches are
/// removed by the timer (active expiry: DBSIZE counts keys not yet removed, as redis does).
#[test]
fn expiry_lazy_and_active() {
    with_server("expiry_lazy_and_active", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        // 500 ms: the GET below must come before it even on a loaded machine (30 ms once did
        // not, in a debug build beside a compile).
        assert_eq!(c.cmd(&["SET", "short", "v", "PX", "500"]).await, ok());
        assert_eq!(c.cmd(&["SET", "long", "v", "EX", "100"]).await, ok());
        assert_eq!(c.cmd(&["GET", "short"]).await, bulk("v"));
        delay(Duration::from_millis(600)).await;
        assert_eq!(c.cmd(&["GET", "short"]).await, nil(), "lazily expired");
        assert_eq!(c.cmd(&["TTL", "short"]).await, Int(-2));
        assert_eq!(c.cmd(&["EXISTS", "short"]).await, Int(0));
        assert_eq!(c.cmd(&["SET", "short", "again"]).await, ok());
        assert_eq!(c.cmd(&["TTL", "short"]).await, Int(-1), "a new key has no old deadline");

        // 1 s: far more than 300 pipelined SETs and a DBSIZE take on a loaded machine (20 ms
        // was not: the active expiry once removed a key before the count).
        for i in 0..300 {
            c.send(&["SET", &format!("tmp:{i}"), "x", "PX", "1000"]).await;
        }
        for _ in 0..300 {
            assert_eq!(c.reply().await, ok());
        }
        assert_eq!(c.cmd(&["DBSIZE"]).await, Int(302));
        let mut remaining = Int(302);
        for _ in 0..100 {
            delay(Duration::from_millis(50)).await;
            remaining = c.cmd(&["DBSIZE"]).await;
            if remaining == Int(2) {
                break;
            }
        }
        assert_eq!(remaining, Int(2), "the active expiry removed the untouched keys");
        assert_eq!(c.cmd(&["GET", "long"]).await, bulk("v"));
    });
}

#[test]
fn keys_dbsize_flushall() {
    with_server("keys_dbsize_flushall", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["KEYS", "*"]).await, Reply::Array(vec![]));
        for k in ["hello", "hallo", "hxllo", "hllo", "heeello", "user:1", "user:2", "a*b"] {
            assert_eq!(c.cmd(&["SET", k, "1"]).await, ok());
        }
        let keys = |reply: Reply| {
            let Reply::Array(items) = reply else { panic!("KEYS replies an array") };
            let mut keys: Vec<String> = items
                .into_iter()
                .map(|item| match item {
                    Reply::Bulk(Some(k)) => String::from_utf8(k).expect("utf-8"),
                    other => panic!("KEYS item {other:?}"),
                })
                .collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(c.cmd(&["KEYS", "h?llo"]).await), ["hallo", "hello", "hxllo"]);
        assert_eq!(
            keys(c.cmd(&["KEYS", "h*llo"]).await),
            ["hallo", "heeello", "hello", "hllo", "hxllo"]
        );
        assert_eq!(keys(c.cmd(&["KEYS", "h[ae]llo"]).await), ["hallo", "hello"]);
        assert_eq!(keys(c.cmd(&["KEYS", "h[^e]llo"]).await), ["hallo", "hxllo"]);
        assert_eq!(keys(c.cmd(&["KEYS", "user:*"]).await), ["user:1", "user:2"]);
        assert_eq!(keys(c.cmd(&["KEYS", "a\\*b"]).await), ["a*b"]);
        assert_eq!(keys(c.cmd(&["KEYS", "*"]).await).len(), 8);
        assert_eq!(c.cmd(&["DBSIZE"]).await, Int(8));
        assert_eq!(
            c.cmd(&["DBSIZE", "x"]).await,
            err("ERR wrong number of arguments for 'dbsize' command")
        );
        assert_eq!(c.cmd(&["FLUSHALL", "BOGUS"]).await, err("ERR syntax error"));
        assert_eq!(c.cmd(&["FLUSHALL"]).await, ok());
        assert_eq!(c.cmd(&["DBSIZE"]).await, Int(0));
        assert_eq!(c.cmd(&["SET", "x", "1", "EX", "100"]).await, ok());
        assert_eq!(c.cmd(&["flushall", "async"]).await, ok());
        assert_eq!(c.cmd(&["TTL", "x"]).await, Int(-2));
    });
}

/// Redis's own glob cases (from its `stringmatch` tests and KEYS documentation).
#[test]
fn glob() {
    let yes = [
        ("*", ""),
        ("*", "anything"),
        ("h?llo", "hello"),
        ("h*llo", "hllo"),
        ("h*llo", "heeeello"),
        ("h[ae]llo", "hallo"),
        ("h[^e]llo", "hallo"),
        ("h[a-b]llo", "hbllo"),
        ("h[b-a]llo", "hallo"),
        ("a\\*b", "a*b"),
        ("*a*b*", "xxaxxbxx"),
        ("[\\]]", "]"),
        ("**x", "x"),
    ];
    let no = [
        ("h?llo", "hllo"),
        ("h[ae]llo", "hillo"),
        ("h[^e]llo", "hello"),
        ("a\\*b", "axb"),
        ("*a", "ab"),
        ("abc", "ab"),
        ("ab", "abc"),
        ("", "a"),
    ];
    for (pattern, s) in yes {
        assert!(glob_match(pattern.as_bytes(), s.as_bytes()), "{pattern:?} matches {s:?}");
    }
    for (pattern, s) in no {
        assert!(!glob_match(pattern.as_bytes(), s.as_bytes()), "{pattern:?} does not match {s:?}");
    }
}

#[test]
fn info_client_command_config_select_quit() {
    with_server("info_client_command_config_select_quit", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["SET", "k", "v", "EX", "100"]).await, ok());
        let Reply::Bulk(Some(info)) = c.cmd(&["INFO"]).await else { panic!("INFO is a bulk") };
        let info = String::from_utf8(info).expect("utf-8");
        assert!(info.starts_with("# Server\r\nredis_version:"), "{info}");
        assert!(info.contains("connected_clients:1\r\n"), "{info}");
        assert!(info.contains("db0:keys=1,expires=1,"), "{info}");
        assert!(matches!(c.cmd(&["info", "server"]).await, Reply::Bulk(Some(_))));

        assert_eq!(c.cmd(&["CLIENT", "GETNAME"]).await, nil());
        assert_eq!(c.cmd(&["client", "setname", "worker-1"]).await, ok());
        assert_eq!(c.cmd(&["CLIENT", "GETNAME"]).await, bulk("worker-1"));
        assert_eq!(
            c.cmd(&["CLIENT", "SETNAME", "has space"]).await,
            err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(c.cmd(&["CLIENT", "GETNAME"]).await, bulk("worker-1"));
        assert_eq!(
            c.cmd(&["CLIENT", "SETNAME"]).await,
            err("ERR wrong number of arguments for 'client|setname' command")
        );
        assert_eq!(
            c.cmd(&["CLIENT", "FOO"]).await,
            err("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
        );
        let mut other = Client::connect(addr).await;
        assert_eq!(other.cmd(&["CLIENT", "GETNAME"]).await, nil(), "names are per connection");

        assert_eq!(c.cmd(&["COMMAND"]).await, Reply::Array(vec![]));
        assert_eq!(c.cmd(&["COMMAND", "DOCS"]).await, Reply::Array(vec![]));
        assert_eq!(c.cmd(&["COMMAND", "COUNT"]).await, Int(0));
        assert_eq!(
            c.cmd(&["CONFIG", "GET", "save"]).await,
            Reply::Array(vec![bulk("save"), bulk("")])
        );
        assert_eq!(
            c.cmd(&["CONFIG", "GET", "appendonly"]).await,
            Reply::Array(vec![bulk("appendonly"), bulk("no")])
        );
        assert_eq!(c.cmd(&["SELECT", "0"]).await, ok());
        assert_eq!(c.cmd(&["SELECT", "1"]).await, err("ERR DB index is out of range"));

        // QUIT: replies OK, then closes; the replies before it in the same batch come first,
        // and nothing after it runs.
        c.send_raw(
            &[encode(&[b"PING"]), encode(&[b"QUIT"]), encode(&[b"SET", b"after", b"1"])].concat(),
        )
        .await;
        assert_eq!(c.reply().await, Reply::Simple("PONG".into()));
        assert_eq!(c.reply().await, ok());
        c.expect_eof().await;
        assert_eq!(other.cmd(&["GET", "after"]).await, nil());
    });
}

#[test]
fn unknown_command_and_arity_errors() {
    with_server("unknown_command_and_arity_errors", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        assert_eq!(
            c.cmd(&["foo"]).await,
            err("ERR unknown command 'foo', with args beginning with: ")
        );
        assert_eq!(
            c.cmd(&["FOO", "a", "b c"]).await,
            err("ERR unknown command 'FOO', with args beginning with: 'a' 'b c' ")
        );
        assert_eq!(
            c.cmd(&["bad\r\nname", "x\ny"]).await,
            err("ERR unknown command 'bad  name', with args beginning with: 'x y' ")
        );
        let long = "x".repeat(300);
        let Error(msg) = c.cmd(&[&long]).await else { panic!("an error") };
        assert_eq!(msg.len(), "ERR unknown command '', with args beginning with: ".len() + 128);
        assert_eq!(c.cmd(&["ttl"]).await, err("ERR wrong number of arguments for 'ttl' command"));
        assert_eq!(c.cmd(&["PING"]).await, Reply::Simple("PONG".into()), "still connected");
    });
}

/// Many commands in one write get their replies in order (in one write from the server);
/// frames split at every byte boundary are reassembled; inline commands work.
#[test]
fn pipelining_and_partial_frames() {
    with_server("pipelining_and_partial_frames", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        let mut batch = Vec::new();
        for i in 0..1000 {
            batch.extend(encode(&[b"INCR", b"counter"]));
            if i % 100 == 0 {
                batch.extend(encode(&[b"GET", b"counter"]));
            }
        }
        c.send_raw(&batch).await;
        for i in 0..1000 {
            assert_eq!(c.reply().await, Int(i + 1));
            if i % 100 == 0 {
                assert_eq!(c.reply().await, bulk(&(i + 1).to_string()));
            }
        }
        // One frame, one byte per write.
        let frame = encode(&[b"SET", b"split", b"across writes"]);
        for byte in &frame {
            c.send_raw(&[*byte]).await;
            delay(Duration::from_millis(1)).await;
        }
        assert_eq!(c.reply().await, ok());
        assert_eq!(c.cmd(&["GET", "split"]).await, bulk("across writes"));
        // Inline commands, as telnet sends them; empty lines are skipped.
        c.send_raw(b"PING\r\n\r\nSET  inline \t value\r\nGET inline\nEXISTS inline\r\n").await;
        assert_eq!(c.reply().await, Reply::Simple("PONG".into()));
        assert_eq!(c.reply().await, ok());
        assert_eq!(c.reply().await, bulk("value"));
        assert_eq!(c.reply().await, Int(1));
        // An empty multibulk is skipped too.
        c.send_raw(b"*0\r\n*1\r\n$4\r\nPING\r\n").await;
        assert_eq!(c.reply().await, Reply::Simple("PONG".into()));
    });
}

/// A value bigger than the read buffer makes it grow; the next commands still work.
#[test]
fn big_values() {
    with_server("big_values", current_thread(), |addr| async move {
        let mut c = Client::connect(addr).await;
        let big: String = (0..1_000_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        assert_eq!(c.cmd(&["SET", "big", &big]).await, ok());
        assert_eq!(c.cmd(&["GET", "big"]).await, bulk(&big));
        assert_eq!(c.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
    });
}

/// A malformed frame gets a protocol error and closes that connection; the others, and the
/// server, carry on.
#[test]
fn malformed_frame_closes_only_its_connection() {
    with_server(
        "malformed_frame_closes_only_its_connection",
        current_thread(),
        |addr| async move {
            let mut good = Client::connect(addr).await;
            assert_eq!(good.cmd(&["SET", "k", "v"]).await, ok());
            let cases: [(&[u8], &str); 6] = [
                (b"*1\r\n$x\r\nPING\r\n", "ERR Protocol error: invalid bulk length"),
                (b"*1\r\n+PING\r\n", "ERR Protocol error: expected '$'"),
                (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
                (b"*1\r\n$4\r\nPINGxx", "ERR Protocol error: bulk string not terminated by CRLF"),
                // Bounded frame size: a bulk larger than the limit is refused from its header.
                (
                    b"*2\r\n$3\r\nSET\r\n$999999999999\r\n",
                    "ERR Protocol error: invalid bulk length",
                ),
                (b"*99999999999\r\n", "ERR Protocol error: invalid multibulk length"),
            ];
            for (frame, expected) in cases {
                let mut bad = Client::connect(addr).await;
                // Replies before the bad frame are still sent.
                bad.send_raw(&[encode(&[b"PING"]).as_slice(), frame].concat()).await;
                assert_eq!(bad.reply().await, Reply::Simple("PONG".into()));
                assert_eq!(
                    bad.reply().await,
                    err(expected),
                    "for {:?}",
                    String::from_utf8_lossy(frame)
                );
                bad.expect_eof().await;
                assert_eq!(good.cmd(&["GET", "k"]).await, bulk("v"), "the other connection works");
            }
            // A count line that never ends, and an endless inline line, are bounded too.
            let mut bad = Client::connect(addr).await;
            bad.send_raw(&[b'*'; 40]).await;
            assert_eq!(bad.reply().await, err("ERR Protocol error: invalid multibulk length"));
            bad.expect_eof().await;
            let mut bad = Client::connect(addr).await;
            bad.send_raw(&vec![b'x'; resp::MAX_INLINE + 10]).await;
            assert_eq!(bad.reply().await, err("ERR Protocol error: too big inline request"));
            bad.expect_eof().await;
            assert_eq!(Client::connect(addr).await.cmd(&["GET", "k"]).await, bulk("v"));
        },
    );
}

/// The parser directly: every proper prefix of a frame is incomplete, never an error.
#[test]
fn parser_prefixes_are_incomplete() {
    let frame = [encode(&[b"SET", b"key", b"value\r\n"]), encode(&[b"GET", b"key"])].concat();
    let first_len = encode(&[b"SET", b"key", b"value\r\n"]).len();
    let mut ranges = Vec::new();
    for end in 0..first_len {
        assert_eq!(parse_command(&frame[..end], &mut ranges), Ok(None), "prefix of {end} bytes");
    }
    assert_eq!(parse_command(&frame, &mut ranges), Ok(Some(first_len)));
    let args: Vec<&[u8]> = ranges.iter().map(|&(s, e)| &frame[s..e]).collect();
    assert_eq!(args, [&b"SET"[..], b"key", b"value\r\n"]);
    assert_eq!(parse_command(b"$3\r\n", &mut ranges), Ok(Some(4)), "inline, one word");
    assert_eq!(
        parse_command(b"*1\r\n$-1\r\n", &mut ranges),
        Err(ProtocolError("invalid bulk length"))
    );
    assert_eq!(resp::parse_i64(b"-0"), None);
    assert_eq!(resp::parse_i64(b"-9223372036854775808"), Some(i64::MIN));
    let mut out = Vec::new();
    resp::integer(&mut out, i64::MIN);
    assert_eq!(out, b":-9223372036854775808\r\n");
}

/// Several clients at once on the multi-thread runtime: no increment is lost, and MSET is
/// never seen half-done by MGET.
#[test]
fn concurrent_clients_multi_thread() {
    let rt = Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    with_server("concurrent_clients_multi_thread", rt, |addr| async move {
        let mut tasks = Vec::new();
        for id in 0..8 {
            tasks.push(minirt::spawn(async move {
                let mut c = Client::connect(addr).await;
                for i in 0..200 {
                    c.send(&["INCR", "shared"]).await;
                    let Int(_) = c.reply().await else { panic!("INCR replies an integer") };
                    let v = format!("{id}-{i}");
                    assert_eq!(c.cmd(&["MSET", "x", &v, "y", &v, "z", &v]).await, ok());
                    let Reply::Array(items) = c.cmd(&["MGET", "x", "y", "z"]).await else {
                        panic!("MGET replies an array")
                    };
                    assert!(items.iter().all(|item| *item == items[0]), "torn MSET: {items:?}");
                }
            }));
        }
        for task in tasks {
            must_complete("client", task).await.expect("client task");
        }
        let mut c = Client::connect(addr).await;
        assert_eq!(c.cmd(&["GET", "shared"]).await, bulk("1600"));
    });
}

/// Runs `body` on a fresh server, alone among this binary's tests (it raises a signal).
fn with_server_alone<F, Fut>(name: &'static str, body: F)
where
    F: FnOnce(SocketAddr, minirt::task::JoinHandle<io::Result<usize>>) -> Fut,
    Fut: Future<Output = ()>,
{
    let _signals = SIGNALS.write().unwrap_or_else(|p| p.into_inner());
    let _watchdog = watchdog(name);
    current_thread().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = minirt::spawn(server::serve(listener, common::HANG_LIMIT));
        body(addr, server).await;
    });
}

fn send_signal(signum: libc::c_int) {
    // SAFETY: kill with our own pid; `serve` installed a handler for the signal.
    let ret = unsafe { libc::kill(libc::getpid(), signum) };
    assert_eq!(ret, 0, "kill({signum}): {}", io::Error::last_os_error());
}

async fn wait_refused(addr: SocketAddr) {
    for _ in 0..400 {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return,
            _ => delay(Duration::from_millis(5)).await,
        }
    }
    panic!("the listener did not close after the signal");
}

/// SIGTERM: the listener closes, idle connections are closed, a command in flight (half a
/// frame sent before the signal) is finished and answered, then `serve` returns with none cut.
#[test]
fn sigterm_stops_accepting_and_finishes_in_flight() {
    with_server_alone(
        "sigterm_stops_accepting_and_finishes_in_flight",
        |addr, server| async move {
            let mut idle = Client::connect(addr).await;
            assert_eq!(idle.cmd(&["SET", "k", "v"]).await, ok());
            let mut busy = Client::connect(addr).await;
            assert_eq!(busy.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
            let frame = encode(&[b"GET", b"k"]);
            busy.send_raw(&frame[..7]).await;
            delay(Duration::from_millis(20)).await;

            send_signal(libc::SIGTERM);
            wait_refused(addr).await;
            idle.expect_eof().await;
            assert!(!server.is_finished(), "the server waits for the command in flight");
            busy.send_raw(&frame[7..]).await;
            assert_eq!(busy.reply().await, bulk("v"));
            busy.expect_eof().await;
            let cut = must_complete("serve", server).await.expect("task").expect("serve");
            assert_eq!(cut, 0, "nothing was cut");
        },
    );
}

/// SIGINT (Ctrl-C) too; a connection that never finishes its frame is cut after the grace
/// period and `serve` still returns `Ok`.
#[test]
fn sigint_shutdown_is_bounded() {
    let _signals = SIGNALS.write().unwrap_or_else(|p| p.into_inner());
    let _watchdog = watchdog("sigint_shutdown_is_bounded");
    current_thread().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = minirt::spawn(server::serve(listener, Duration::from_millis(100)));
        let mut stuck = Client::connect(addr).await;
        assert_eq!(stuck.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
        stuck.send_raw(b"*2\r\n$3\r\nGET").await;
        delay(Duration::from_millis(20)).await;
        send_signal(libc::SIGINT);
        let cut = must_complete("serve", server).await.expect("task").expect("serve");
        assert_eq!(cut, 1, "the connection stuck mid-frame was cut");
    });
}

/// A second stop signal during the grace period ends it at once: the stuck connection is cut
/// long before the (here 60 s) grace period is over.
#[test]
fn a_second_signal_ends_the_grace_period() {
    let _signals = SIGNALS.write().unwrap_or_else(|p| p.into_inner());
    let _watchdog = watchdog("a_second_signal_ends_the_grace_period");
    current_thread().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = minirt::spawn(server::serve(listener, Duration::from_secs(60)));
        let mut stuck = Client::connect(addr).await;
        assert_eq!(stuck.cmd(&["PING"]).await, Reply::Simple("PONG".into()));
        stuck.send_raw(b"*2\r\n$3\r\nGET").await;
        delay(Duration::from_millis(20)).await;
        send_signal(libc::SIGINT);
        wait_refused(addr).await;
        assert!(!server.is_finished(), "the grace period runs: a connection is in flight");
        send_signal(libc::SIGINT);
        let cut = must_complete("serve", server).await.expect("task").expect("serve");
        assert_eq!(cut, 1, "the connection stuck mid-frame was cut");
    });
}

/// Set in the child process: the arguments `kv_process_child` passes to the program.
const CHILD_ARGS: &str = "MINIRT_KV_TEST_CHILD_ARGS";

/// Not a test of its own: the program, run in the child process that `program_*` start.
#[test]
fn kv_process_child() {
    let Ok(args) = std::env::var(CHILD_ARGS) else { return };
    let code = kv_main::run(args.split_whitespace().map(String::from));
    std::process::exit(i32::from(code));
}

/// Starts the program in a child process with `args` (and `KV_ADDR=127.0.0.1:0`), reads its
/// address from the start message, runs a few commands, sends `signum`, and checks that it
/// exits with status 0 after its shut-down message.
fn run_program(args: &str, env_addr: bool, signum: libc::c_int) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};

    let exe = std::env::current_exe().expect("current_exe");
    let mut command = Command::new(exe);
    command
        .args(["--exact", "kv_process_child", "--nocapture", "--test-threads=1", "--quiet"])
        .env(CHILD_ARGS, args)
        .stdout(Stdio::piped());
    if env_addr {
        command.env("KV_ADDR", "127.0.0.1:0");
    } else {
        command.env_remove("KV_ADDR");
    }
    let mut child = command.spawn().expect("spawn the child");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(stdout.read_line(&mut line).expect("read stdout") > 0, "no start message");
        if let Some(rest) = line.strip_prefix("kv: listening on ") {
            let addr = rest.split_whitespace().next().expect("an address");
            break addr.parse::<SocketAddr>().expect("a socket address");
        }
    };
    // A plain blocking client: the child is another process.
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(common::HANG_LIMIT)).expect("timeout");
    conn.write_all(&[encode(&[b"SET", b"k", b"v"]), encode(&[b"GET", b"k"])].concat())
        .expect("write");
    let mut got = Vec::new();
    let mut chunk = [0u8; 64];
    while got.len() < b"+OK\r\n$1\r\nv\r\n".len() {
        let n = conn.read(&mut chunk).expect("read");
        assert!(n > 0, "EOF before the replies");
        got.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(got, b"+OK\r\n$1\r\nv\r\n");

    // SAFETY: kill with the child's pid, which has not been waited for yet.
    let ret = unsafe { libc::kill(child.id() as libc::pid_t, signum) };
    assert_eq!(ret, 0, "kill: {}", io::Error::last_os_error());
    // The idle connection is closed, then the program exits.
    assert_eq!(conn.read(&mut chunk).expect("read EOF"), 0, "the idle connection is closed");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read stdout");
    let deadline = std::time::Instant::now() + common::HANG_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the program did not exit after the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "exit status {status:?}; stdout: {rest}");
    assert!(rest.contains("kv: shut down (0 connections cut)"), "stdout: {rest}");
}

#[test]
fn program_exits_0_on_sigterm() {
    let _watchdog = watchdog("program_exits_0_on_sigterm");
    run_program("--threads 2", true, libc::SIGTERM);
}

#[test]
fn program_exits_0_on_sigint() {
    let _watchdog = watchdog("program_exits_0_on_sigint");
    run_program("--current-thread 127.0.0.1:0", false, libc::SIGINT);
}
