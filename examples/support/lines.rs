//! The line reader of the `lines` example, kept free of minirt so the stdio test can run the
//! very same code in-process over a pipe: each line of `input` is written to `output` as
//! `"{number}: {line}\n"`, numbered from 1.
//!
//! `BufReader` takes from `input` in chunks; `lines()` splits the buffer at each `\n` (a
//! trailing `\r` and the `\n` are dropped; a last line without `\n` still counts).

use std::io;

use futures_util::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use futures_util::StreamExt;

/// Copies `input` to `output` line by line, numbered; returns how many lines there were.
pub async fn number_lines<R, W>(input: R, output: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = BufReader::new(input).lines();
    let mut count = 0;
    while let Some(line) = lines.next().await {
        count += 1;
        output.write_all(format!("{count}: {}\n", line?).as_bytes()).await?;
    }
    output.flush().await?;
    Ok(count)
}
