//! The command line of the server examples: `[ADDR] [OPERAND...] [--threads N | --current-thread]`.
//!
//! The address comes from the first argument, else from the `ADDR` environment variable, else
//! from the example's default (for `unix_echo` it is a socket path, or `@name` in Linux's
//! abstract namespace). A few examples take more positional arguments after it, their
//! *operands* (`proxy`'s upstream, `reuseport`'s thread count); the others refuse any. The
//! runtime is current-thread unless `--threads N` asks for the multi-thread runtime with `N`
//! workers (`benches/load.sh` runs both). Shared by the minirt and tokio versions of a server,
//! so that both read the same command line; a minirt example builds its runtime with
//! [`Args::minirt_runtime`], a tokio one builds tokio's from [`Args::threads`].
//!
//! Each example's `main` is `run(std::env::args().skip(1))`, and `run` calls [`Args::from_argv`]:
//! `tests/examples/` calls the same `run` with its own argument list in a child process.

// Each example uses a part of this (the tokio twins `parse` and `tokio_runtime`, the minirt servers
// `from_argv` and `minirt_runtime`, two of them `operands`).
#![allow(dead_code)]

use std::io;

/// What a server example was asked to do.
#[derive(Debug)]
pub struct Args {
    /// Where to listen.
    pub addr: String,
    /// `Some(n)`: the multi-thread runtime with `n` workers; `None`: current-thread.
    pub threads: Option<usize>,
    /// The positional arguments after the address (at most as many as the example takes).
    pub operands: Vec<String>,
}

impl Args {
    /// Reads the process's arguments and `ADDR`, falling back to `default_addr`; no operands.
    pub fn parse(default_addr: &str) -> io::Result<Args> {
        Args::from_argv(std::env::args().skip(1), default_addr, 0)
    }

    /// Reads `argv` (the arguments after the program's name) and `ADDR`, falling back to
    /// `default_addr`; up to `max_operands` positional arguments may follow the address.
    pub fn from_argv(
        argv: impl IntoIterator<Item = String>,
        default_addr: &str,
        max_operands: usize,
    ) -> io::Result<Args> {
        Args::from_parts(argv, std::env::var("ADDR").ok(), default_addr, max_operands)
    }

    /// [`Args::from_argv`] with the value of `ADDR` given (`tests/examples/example_args.rs`
    /// tests this).
    pub fn from_parts(
        argv: impl IntoIterator<Item = String>,
        env_addr: Option<String>,
        default_addr: &str,
        max_operands: usize,
    ) -> io::Result<Args> {
        let mut addr = None;
        let mut threads = None;
        let mut operands = Vec::new();
        let mut args = argv.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--threads" => {
                    let n = args.next().ok_or_else(|| invalid("--threads needs a number"))?;
                    let n: usize =
                        n.parse().map_err(|_| invalid(&format!("--threads {n}: not a number")))?;
                    if n == 0 {
                        return Err(invalid("--threads 0: a runtime needs a worker"));
                    }
                    threads = Some(n);
                }
                "--current-thread" => threads = None,
                flag if flag.starts_with("--") => {
                    return Err(invalid(&format!(
                        "unknown option {flag} (usage: [ADDR] [--threads N | --current-thread])"
                    )))
                }
                _ if addr.is_none() => addr = Some(arg),
                _ if operands.len() < max_operands => operands.push(arg),
                _ => return Err(invalid(&format!("unexpected argument {arg}"))),
            }
        }
        let addr = addr.or(env_addr).unwrap_or_else(|| default_addr.to_string());
        Ok(Args { addr, threads, operands })
    }

    /// How the start-up line names the runtime: `current-thread` or `2 worker threads`.
    pub fn flavor(&self) -> String {
        match self.threads {
            None => "current-thread".to_string(),
            Some(n) => format!("{n} worker threads"),
        }
    }

    /// The minirt runtime asked for: current-thread, or multi-thread with `threads` workers.
    pub fn minirt_runtime(&self) -> io::Result<minirt::runtime::Runtime> {
        let mut builder = match self.threads {
            None => minirt::runtime::Builder::new_current_thread(),
            Some(n) => {
                let mut builder = minirt::runtime::Builder::new_multi_thread();
                builder.worker_threads(n);
                builder
            }
        };
        builder.enable_all().build()
    }

    /// The same for tokio, for the load-test twins (`tokio_echo`, `tokio_http`): the two
    /// runtimes are built from one command line the same way, so a load run compares them and
    /// nothing else.
    pub fn tokio_runtime(&self) -> io::Result<tokio::runtime::Runtime> {
        let mut builder = match self.threads {
            None => tokio::runtime::Builder::new_current_thread(),
            Some(n) => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(n);
                builder
            }
        };
        builder.enable_all().build()
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_string())
}
