//! The live console and the slow-poll detector watching a small service with a blocking
//! handler.
//!
//! ```text
//! cargo run --example console -- [--console ADDR] [--seconds N]
//! ```
//!
//! The console listens on `--console` (default `127.0.0.1:6670`; `MINIRT_CONSOLE` is ignored
//! here, the argument wins) and says so on stderr; open it in a browser. The service is an
//! HTTP server on a free port with two handlers, `/fast` and `/slow`: `/slow` calls
//! `std::thread::sleep(150 ms)` inside its task, blocking its worker, which the detector
//! reports on stderr (threshold 50 ms) and the console shows as a warning. A client task
//! sends a request every 100 ms (every fifth one to `/slow`); a ticker sleeps in a loop; a
//! task drops its own waker and returns `Pending`, which the console flags as a lost
//! wake-up; a few `spawn_blocking` jobs keep the blocking pool busy. It runs for `--seconds`
//! (default: until killed).

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    // Not 6669 (tokio-console's port): browsers refuse 6665-6669, the IRC ports (ERR_UNSAFE_PORT).
    let mut console: std::net::SocketAddr = ([127, 0, 0, 1], 6670).into();
    let mut seconds: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| invalid(format!("{arg} needs a value")))?;
        match arg.as_str() {
            "--console" => {
                console = value.parse().map_err(|e| invalid(format!("--console {value}: {e}")))?
            }
            "--seconds" => {
                seconds =
                    Some(value.parse().map_err(|e| invalid(format!("--seconds {value}: {e}")))?)
            }
            _ => return Err(invalid(format!("unknown argument {arg}"))),
        }
    }
    let rt = minirt::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .console(console)
        .slow_poll_threshold(Duration::from_millis(50))
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        eprintln!("console example: service on http://{addr}/ (/fast, /slow)");
        minirt::task::Builder::new().name("accept loop").spawn(accept_loop(listener))?;
        minirt::task::Builder::new().name("load client").spawn(client(addr))?;
        minirt::task::Builder::new().name("ticker").spawn(async {
            loop {
                minirt::time::sleep(Duration::from_millis(250)).await;
            }
        })?;
        minirt::task::Builder::new().name("forgets its waker").spawn(poll_fn(|cx| {
            // The bug the console catches: no one keeps the waker, so nothing can wake this
            // task again.
            drop(cx.waker().clone());
            Poll::<()>::Pending
        }))?;
        minirt::task::Builder::new().name("blocking jobs").spawn(async {
            loop {
                let jobs: Vec<_> = (0..3)
                    .map(|_| {
                        minirt::task::spawn_blocking(|| {
                            std::thread::sleep(Duration::from_millis(700))
                        })
                    })
                    .collect();
                for job in jobs {
                    let _ = job.await;
                }
                minirt::time::sleep(Duration::from_millis(300)).await;
            }
        })?;
        match seconds {
            Some(seconds) => minirt::time::sleep(Duration::from_secs(seconds)).await,
            None => std::future::pending::<()>().await,
        }
        Ok(())
    })
}

fn invalid(text: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, text)
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = minirt::task::Builder::new().name("connection").spawn(handle(stream));
            }
            Err(e) => {
                eprintln!("console example: accept: {e}");
                minirt::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One request per connection: `/slow` blocks its worker on purpose.
async fn handle(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let body = if head.starts_with(b"GET /slow") {
        // The bug the detector catches: a synchronous wait inside a task.
        std::thread::sleep(Duration::from_millis(150));
        "slow\n"
    } else {
        "fast\n"
    };
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
}

async fn client(addr: std::net::SocketAddr) {
    for n in 0u64.. {
        minirt::time::sleep(Duration::from_millis(100)).await;
        let path = if n % 5 == 4 { "/slow" } else { "/fast" };
        let Ok(mut stream) = TcpStream::connect(addr).await else { continue };
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        if stream.write_all(request.as_bytes()).await.is_err() {
            continue;
        }
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
    }
}
