//! A hyper 1 server on minirt: HTTP/1.1 and HTTP/2 (h2c, prior knowledge) on one port, through
//! hyper-util's auto builder and the `minirt::hyper` adapters. Needs the `hyper` feature:
//!
//! ```text
//! cargo run --release --features hyper --example hyper_server -- 127.0.0.1:3000
//! curl http://127.0.0.1:3000/hello
//! curl --http2-prior-knowledge http://127.0.0.1:3000/hello
//! ```
//!
//! The tokio version of this program differs in four lines: `tokio` for `minirt` in the
//! imports and `#[tokio::main]`, and `TokioIo`/`TokioExecutor` (from hyper-util) for
//! `minirt::hyper::{Io, Executor}`.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use minirt::hyper::{Executor, Io};
use minirt::net::TcpListener;

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let text = format!("hello from minirt over {:?}: {}\n", req.version(), req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(text))))
}

#[minirt::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".to_string());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        minirt::spawn(async move {
            let builder = auto::Builder::new(Executor);
            let conn = builder.serve_connection(Io::new(stream), service_fn(hello));
            if let Err(e) = conn.await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}
