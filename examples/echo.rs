//! An echo server: every byte a client sends comes back.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:7000
//! ```

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::TcpListener;

#[path = "support/accept.rs"]
mod accept;

#[minirt::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7000".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("echo: listening on {}", listener.local_addr()?);
    loop {
        let (mut stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("echo: accept failed: {e}");
                // Out of fds (or buffers, or memory): the connection stays queued until one is
                // free. Pause instead of spinning on the error; open connections keep working.
                if accept::is_out_of_resources(&e) {
                    minirt::time::sleep(accept::ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        minirt::spawn(async move {
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
