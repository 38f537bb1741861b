//! The echo server of `examples/echo.rs` on tokio's current-thread runtime, line for line, so
//! that a load generator (`examples/loadgen.rs`) compares the runtimes and nothing else.
//!
//! ```text
//! cargo run --release --example tokio_echo -- 127.0.0.1:7001 [--threads N]
//! ```

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[path = "support/accept.rs"]
mod accept;

#[path = "support/args.rs"]
mod args;
use args::Args;

fn main() -> std::io::Result<()> {
    let args = Args::parse("127.0.0.1:7001")?;
    args.tokio_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> std::io::Result<()> {
    let addr = args.addr.clone();
    let listener = TcpListener::bind(&addr).await?;
    println!("tokio_echo: listening on {} ({})", listener.local_addr()?, args.flavor());
    loop {
        let (mut stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("tokio_echo: accept failed: {e}");
                // Out of fds (or buffers, or memory): the connection stays queued until one is
                // free. Pause instead of spinning on the error; open connections keep working.
                if accept::is_out_of_resources(&e) {
                    tokio::time::sleep(accept::ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
}
