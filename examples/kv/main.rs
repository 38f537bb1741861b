//! kv: an in-memory key-value server speaking the Redis protocol (RESP2), for redis-cli,
//! redis-benchmark and any Redis client library.
//!
//! ```text
//! cargo run --release --example kv -- [--threads N | --current-thread] [--chaos-tasks] [ADDR]
//! ```
//!
//! ADDR comes from the argument, else `KV_ADDR`, else `127.0.0.1:6380`. It runs on the
//! multi-thread runtime (one worker per core, or `--threads N`) unless `--current-thread`.
//! Commands: PING ECHO GET SET(EX/PX/NX/XX/KEEPTTL) DEL EXISTS INCR DECR INCRBY DECRBY MGET
//! MSET EXPIRE PEXPIRE TTL PTTL PERSIST KEYS DBSIZE FLUSHALL INFO CLIENT SETNAME/GETNAME
//! COMMAND CONFIG GET SELECT 0 QUIT. On Ctrl-C or SIGTERM it stops accepting, closes idle
//! connections, lets a command in flight finish (up to 5 s), and exits with status 0.
//! `--chaos-tasks` (for `benches/soak.sh`) also runs tasks that panic, get aborted or complete
//! at random beside the server, and prints their checked outcomes every 10 s (`chaos.rs`).
//!
//! The modules: `server.rs` (accept and connection loops, shutdown), `resp.rs` (the wire
//! format), `cmd.rs` (the commands), `db.rs` (the sharded store with expiry).

mod chaos;
pub mod server;

use std::process::ExitCode;

use minirt::net::TcpListener;
use minirt::runtime::Builder;

const USAGE: &str = "usage: kv [--threads N | --current-thread] [--chaos-tasks] [ADDR]";

fn main() -> ExitCode {
    ExitCode::from(run(std::env::args().skip(1)))
}

/// The whole program, from its arguments to its exit status (`tests/kv.rs` runs it in a child
/// process, through this function).
pub fn run(mut args: impl Iterator<Item = String>) -> u8 {
    let mut threads = None;
    let mut current_thread = false;
    let mut chaos_tasks = false;
    let mut addr = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--current-thread" => current_thread = true,
            "--chaos-tasks" => chaos_tasks = true,
            "--threads" => match args.next().and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n > 0 => threads = Some(n),
                _ => return usage(),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return 0;
            }
            _ if addr.is_none() && !arg.starts_with('-') => addr = Some(arg),
            _ => return usage(),
        }
    }
    let addr = addr
        .or_else(|| std::env::var("KV_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:6380".to_string());
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let runtime = if current_thread {
        Builder::new_current_thread().enable_all().build()
    } else {
        Builder::new_multi_thread().worker_threads(threads).enable_all().build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kv: cannot start the runtime: {e}");
            return 1;
        }
    };
    let flavor =
        if current_thread { "current-thread".to_string() } else { format!("{threads} threads") };
    let result = runtime.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!("kv: listening on {} ({flavor})", listener.local_addr()?);
        if chaos_tasks {
            drop(minirt::spawn(chaos::run()));
        }
        server::serve(listener, server::shutdown::GRACE).await
    });
    match result {
        Ok(cut) => {
            println!("kv: shut down ({cut} connections cut)");
            0
        }
        Err(e) => {
            eprintln!("kv: {addr}: {e}");
            1
        }
    }
}

fn usage() -> u8 {
    eprintln!("{USAGE}");
    2
}
