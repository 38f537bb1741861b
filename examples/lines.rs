//! Reads standard input line by line and writes each line to standard output, numbered:
//! `BufReader::new(minirt::io::stdin()).lines()` (see `support/lines.rs`).
//!
//! ```text
//! printf 'a\nb\n' | cargo run --example lines     # prints "1: a" and "2: b"
//! ```
//!
//! With a pipe on stdin the reads come from epoll (a non-blocking reopening of the pipe), with
//! a terminal or a file from the blocking pool; see `minirt::io::stdin`.

#[path = "support/lines.rs"]
mod lines;

#[minirt::main]
async fn main() -> std::io::Result<()> {
    let mut stdout = minirt::io::stdout();
    let count = lines::number_lines(minirt::io::stdin(), &mut stdout).await?;
    eprintln!("{count} lines");
    Ok(())
}
