//! The command line of the server examples: `[ADDR] [--threads N | --current-thread]`.
//!
//! The address comes from the first argument, else from the `ADDR` environment variable, else
//! from the example's default. The runtime is current-thread unless `--threads N` asks for the
//! multi-thread runtime with `N` workers (`benches/load.sh` runs both). Shared by the minirt
//! and tokio versions of a server, so that both read the same command line; each `main` builds
//! its own runtime from [`Args::threads`].

use std::io;

/// What a server example was asked to do.
#[derive(Debug)]
pub struct Args {
    /// Where to listen.
    pub addr: String,
    /// `Some(n)`: the multi-thread runtime with `n` workers; `None`: current-thread.
    pub threads: Option<usize>,
}

impl Args {
    /// Reads the process's arguments and `ADDR`, falling back to `default_addr`.
    pub fn parse(default_addr: &str) -> io::Result<Args> {
        Args::from_iter(std::env::args().skip(1), std::env::var("ADDR").ok(), default_addr)
    }

    fn from_iter(
        mut args: impl Iterator<Item = String>,
        env_addr: Option<String>,
        default_addr: &str,
    ) -> io::Result<Args> {
        let mut addr = None;
        let mut threads = None;
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
                _ => return Err(invalid(&format!("unexpected argument {arg}"))),
            }
        }
        let addr = addr.or(env_addr).unwrap_or_else(|| default_addr.to_string());
        Ok(Args { addr, threads })
    }

    /// How the start-up line names the runtime: `current-thread` or `2 worker threads`.
    pub fn flavor(&self) -> String {
        match self.threads {
            None => "current-thread".to_string(),
            Some(n) => format!("{n} worker threads"),
        }
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::Args;

    fn parse(args: &[&str], env: Option<&str>) -> std::io::Result<Args> {
        Args::from_iter(args.iter().map(|s| s.to_string()), env.map(String::from), "default:1")
    }

    #[test]
    fn the_argument_wins_over_the_environment_and_the_default() {
        assert_eq!(parse(&["a:1"], Some("b:2")).unwrap().addr, "a:1");
        assert_eq!(parse(&[], Some("b:2")).unwrap().addr, "b:2");
        assert_eq!(parse(&[], None).unwrap().addr, "default:1");
    }

    #[test]
    fn threads_select_the_multi_thread_runtime() {
        assert_eq!(parse(&["a:1", "--threads", "3"], None).unwrap().threads, Some(3));
        assert_eq!(parse(&["--threads", "2", "a:1"], None).unwrap().addr, "a:1");
        assert_eq!(parse(&["--threads", "2", "--current-thread"], None).unwrap().threads, None);
        assert!(parse(&["--threads"], None).is_err());
        assert!(parse(&["--threads", "x"], None).is_err());
        assert!(parse(&["--threads", "0"], None).is_err());
        assert!(parse(&["--bogus"], None).is_err());
        assert!(parse(&["a:1", "b:2"], None).is_err());
    }
}
