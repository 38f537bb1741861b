//! A hyper 1 server on minirt: HTTP/1.1 and HTTP/2 (h2c, prior knowledge) on one port, through
//! hyper-util's auto builder and the `minirt::hyper` adapters. Needs the `hyper` feature:
//!
//! ```text
//! cargo run --release --features hyper --example hyper_server -- [ADDR] [--threads N | --current-thread]
//! curl http://127.0.0.1:3000/hello
//! curl --http2-prior-knowledge http://127.0.0.1:3000/hello
//! curl --data-binary @Cargo.toml http://127.0.0.1:3000/upload
//! ```
//!
//! Every request gets `hello from minirt over HTTP/1.1: /path (N bytes)`, N being the length of
//! its body (at most 64 KiB, else `413`). ADDR comes from the argument, else the `ADDR`
//! environment variable, else `127.0.0.1:3000` (`support/args.rs`). The first line on stdout
//! is `hyper_server: listening on 127.0.0.1:3000 (current-thread)`, with the address actually
//! bound. On Ctrl-C or SIGTERM it stops accepting and asks every connection to shut down
//! gracefully (hyper's `graceful_shutdown`: an HTTP/1 connection finishes the request in
//! flight, then closes; HTTP/2 sends GOAWAY and finishes its open streams), waits for them for
//! up to 5 s (`support/shutdown.rs`), prints `hyper_server: shut down (N connections cut)` and
//! exits with status 0.
//!
//! The tokio version of this program differs in four lines: `tokio` for `minirt` in the
//! imports and the runtime, and `TokioIo`/`TokioExecutor` (from hyper-util) for
//! `minirt::hyper::{Io, Executor}`.

use std::convert::Infallible;
use std::io;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::server::conn::auto;
use minirt::hyper::{Executor, Io};
use minirt::net::TcpListener;

#[path = "support/accept.rs"]
mod accept;

#[path = "support/args.rs"]
mod args;
use args::Args;

#[path = "support/shutdown.rs"]
pub mod shutdown;
use shutdown::{StopSignals, Tracker};

/// The largest request body the server reads.
const MAX_BODY: usize = 64 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, BoxError> {
    let version = req.version();
    let path = req.uri().path().to_string();
    // Reading the body keeps the request in flight until all of it has arrived: a graceful
    // shutdown meanwhile lets it finish.
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"body too large\n")));
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(response);
        }
        Err(e) => return Err(e),
    };
    let text = format!("hello from minirt over {version:?}: {path} ({} bytes)\n", body.len());
    Ok(Response::new(Full::new(Bytes::from(text))))
}

fn main() -> io::Result<()> {
    run_program(std::env::args().skip(1))
}

/// The whole program, from its arguments to its end (`tests/examples/` runs it in a child
/// process).
pub fn run_program(argv: impl Iterator<Item = String>) -> io::Result<()> {
    let args = Args::from_argv(argv, "127.0.0.1:3000", 0)?;
    args.minirt_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> io::Result<()> {
    // Listen for the signals before saying we are up: a client that reads the start-up line
    // may signal at once.
    let mut stop = StopSignals::listen()?;
    let listener = TcpListener::bind(&args.addr).await?;
    println!("hyper_server: listening on {} ({})", listener.local_addr()?, args.flavor());
    let tracker = Tracker::default();
    let signal = match stop.run_until(accept_loop(listener, tracker.clone())).await {
        Ok(never) => match never {},
        Err(signal) => signal,
    };
    // The listener is gone; `shut_down` makes `closing()` complete in every connection task.
    println!("hyper_server: {signal}: stopped accepting; {} connections open", tracker.active());
    let cut = stop.shut_down(&tracker, shutdown::GRACE).await;
    println!("hyper_server: shut down ({cut} connections cut)");
    Ok(())
}

/// Accepts connections forever, each served by hyper in its own task.
async fn accept_loop(listener: TcpListener, tracker: Tracker) -> Infallible {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("hyper_server: accept failed: {e}");
                if accept::is_out_of_resources(&e) {
                    minirt::time::sleep(accept::ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let in_flight = tracker.enter();
        let tracker = tracker.clone();
        minirt::spawn(async move {
            let _in_flight = in_flight;
            let builder = auto::Builder::new(Executor);
            let conn = builder.serve_connection(Io::new(stream), service_fn(hello));
            let mut conn = std::pin::pin!(conn);
            let served = minirt::select! {
                served = conn.as_mut() => served,
                _ = tracker.closing() => {
                    // Finish what is in flight on this connection, then close it.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                eprintln!("hyper_server: {peer}: {e}");
            }
        });
    }
}
