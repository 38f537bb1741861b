//! A TCP proxy: every connection accepted on the listen address is relayed to the upstream
//! address with `copy_bidirectional`, which passes a half-close on (a FIN one way does not
//! stop the other way). Connecting upstream is bounded by a timeout.
//!
//! ```text
//! cargo run --release --example echo -- 127.0.0.1:7000 &
//! cargo run --release --example proxy -- 127.0.0.1:7200 127.0.0.1:7000
//! nc 127.0.0.1 7200
//! ```
//!
//! The tokio version of this program is the same with `tokio` for `minirt`.

use std::time::Duration;

use minirt::io::copy_bidirectional;
use minirt::net::{TcpListener, TcpStream};
use minirt::time::timeout;

/// How long connecting to the upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[minirt::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:7200".to_string());
    let upstream = args.next().unwrap_or_else(|| "127.0.0.1:7000".to_string());
    let listener = TcpListener::bind(&listen).await?;
    println!("proxy {} -> {upstream}", listener.local_addr()?);
    loop {
        let (mut client, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of fds and the like: say so, pause, go on.
                eprintln!("accept: {e}");
                minirt::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let upstream = upstream.clone();
        minirt::spawn(async move {
            let mut server = match timeout(CONNECT_TIMEOUT, TcpStream::connect(&upstream)).await {
                Ok(Ok(server)) => server,
                Ok(Err(e)) => return eprintln!("{peer}: connect {upstream}: {e}"),
                Err(_) => return eprintln!("{peer}: connect {upstream}: timed out"),
            };
            match copy_bidirectional(&mut client, &mut server).await {
                Ok((up, down)) => println!("{peer}: {up} bytes up, {down} bytes down"),
                Err(e) => eprintln!("{peer}: {e}"),
            }
        });
    }
}
