//! hyper 1 on minirt (feature `hyper`): a hyper server served over minirt sockets, driven by
//! hyper's own client on minirt, over HTTP/1 and HTTP/2; hyper-util's auto (h1 + h2) builder;
//! and `curl` against it where curl is installed.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use common::{timeout, watchdog, HANG_LIMIT};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use minirt::hyper::{Executor, Io, Timer};
use minirt::net::{TcpListener, TcpStream};

/// Answers `<method> <path> <body length>` and echoes the body after a newline.
async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let head = format!("{} {}", req.method(), req.uri().path());
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut out = format!("{head} {}\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    Ok(Response::new(Full::new(Bytes::from(out))))
}

#[derive(Clone, Copy)]
enum Proto {
    H1,
    H2,
    Auto,
}

/// Serves `echo` on a fresh port with `proto`; returns the address.
async fn serve(proto: Proto) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    minirt::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            minirt::spawn(async move {
                let io = Io::new(stream);
                let service = hyper::service::service_fn(echo);
                let _ = match proto {
                    Proto::H1 => hyper::server::conn::http1::Builder::new()
                        .timer(Timer)
                        .header_read_timeout(Duration::from_secs(5))
                        .serve_connection(io, service)
                        .await
                        .map_err(|e| e.to_string()),
                    Proto::H2 => hyper::server::conn::http2::Builder::new(Executor)
                        .timer(Timer)
                        .keep_alive_interval(Duration::from_secs(5))
                        .serve_connection(io, service)
                        .await
                        .map_err(|e| e.to_string()),
                    Proto::Auto => hyper_util::server::conn::auto::Builder::new(Executor)
                        .serve_connection(io, service)
                        .await
                        .map_err(|e| e.to_string()),
                };
            });
        }
    });
    addr
}

async fn body_text(resp: Response<Incoming>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn request(addr: SocketAddr, path: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::post(format!("http://{addr}{path}"))
        .header("host", addr.to_string())
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

/// `len` letters that count through the alphabet with a period of 251 (prime), so no two
/// reads at different offsets see the same bytes.
fn pattern(len: usize) -> String {
    (0..len).map(|i| char::from(b'a' + (i % 251 % 26) as u8)).collect()
}

async fn client_h1(addr: SocketAddr) {
    let stream = TcpStream::connect(addr).await.unwrap();
    client_h1_over(addr, Io::new(stream)).await;
}

/// `client_h1` over any `Io`: minirt's socket as it is, or behind `ZeroFill`.
async fn client_h1_over<T>(addr: SocketAddr, io: Io<T>)
where
    T: minirt::io::AsyncReadUninit + minirt::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    let conn = minirt::spawn(conn);
    for i in 0..3 {
        // keep-alive: three requests on one connection
        // The big body takes many reads into hyper's uninitialised buffer: a pattern that
        // does not repeat at any read size shows a byte out of place.
        let big = if i == 2 { pattern(100_000).leak() as &'static str } else { "hello" };
        // The connection task (on another worker here) must have finished the previous
        // exchange before the next request goes out: hyper answers "connection was not
        // ready" otherwise, on tokio too. `ready()` is how hyper's own clients wait for it.
        sender.ready().await.unwrap();
        let resp = sender.send_request(request(addr, &format!("/h1/{i}"), big)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.version(), hyper::Version::HTTP_11);
        let text = body_text(resp).await;
        assert_eq!(text, format!("POST /h1/{i} {}\n{big}", big.len()));
    }
    drop(sender);
    conn.await.unwrap().unwrap();
}

async fn client_h2(addr: SocketAddr) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::Builder::new(Executor)
        .timer(Timer)
        .handshake(Io::new(stream))
        .await
        .unwrap();
    minirt::spawn(conn);
    // Concurrent streams on one connection.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let mut sender = sender.clone();
        tasks.push(minirt::spawn(async move {
            let resp = sender.send_request(request(addr, &format!("/h2/{i}"), "hi")).await.unwrap();
            assert_eq!(resp.version(), hyper::Version::HTTP_2);
            body_text(resp).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), format!("POST /h2/{i} 2\nhi"));
    }
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_server_and_client() {
    let _w = watchdog("http1_server_and_client");
    let addr = serve(Proto::H1).await;
    timeout(HANG_LIMIT, client_h1(addr)).await.expect("hung");
}

/// A futures-io stream with no read into uninitialised memory goes into `Io` through
/// `ZeroFill`: the same exchanges, bytes intact.
#[minirt::test]
async fn http1_client_over_zero_fill() {
    let _w = watchdog("http1_client_over_zero_fill");
    let addr = serve(Proto::H1).await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let io = Io::new(minirt::io::ZeroFill::new(stream));
    timeout(HANG_LIMIT, client_h1_over(addr, io)).await.expect("hung");
}

#[minirt::test]
async fn http1_on_current_thread() {
    let _w = watchdog("http1_on_current_thread");
    let addr = serve(Proto::H1).await;
    timeout(HANG_LIMIT, client_h1(addr)).await.expect("hung");
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_server_and_client() {
    let _w = watchdog("http2_server_and_client");
    let addr = serve(Proto::H2).await;
    timeout(HANG_LIMIT, client_h2(addr)).await.expect("hung");
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_util_auto_serves_both() {
    let _w = watchdog("hyper_util_auto_serves_both");
    let addr = serve(Proto::Auto).await;
    timeout(HANG_LIMIT, async {
        client_h1(addr).await;
        client_h2(addr).await;
    })
    .await
    .expect("hung");
}

#[minirt::test]
async fn timer_sleep_and_reset() {
    use hyper::rt::Timer as _;
    let timer = Timer;
    let start = std::time::Instant::now();
    let mut sleep = timer.sleep(Duration::from_secs(60));
    timer.reset(&mut sleep, std::time::Instant::now() + Duration::from_millis(5));
    timeout(HANG_LIMIT, sleep).await.expect("the reset sleep must fire");
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_against_the_server() {
    let _w = watchdog("curl_against_the_server");
    if std::process::Command::new("curl").arg("--version").output().is_err() {
        eprintln!("curl not installed: skipped");
        return;
    }
    let addr = serve(Proto::Auto).await;
    // curl blocks: run it on a plain thread and await its result through a oneshot.
    let run = move |args: Vec<String>| {
        let (tx, rx) = futures_channel::oneshot::channel();
        std::thread::spawn(move || {
            let _ = tx.send(std::process::Command::new("curl").args(&args).output());
        });
        rx
    };
    let base = vec!["-sS".to_string(), "--max-time".to_string(), "10".to_string()];
    let mut h1 = base.clone();
    h1.extend(["--data".into(), "abc".into(), format!("http://{addr}/curl")]);
    let out = timeout(HANG_LIMIT, run(h1)).await.expect("hung").unwrap().expect("run curl");
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "POST /curl 3\nabc");

    let mut h2 = base;
    h2.extend(["--http2-prior-knowledge".into(), format!("http://{addr}/curl2")]);
    let out = timeout(HANG_LIMIT, run(h2)).await.expect("hung").unwrap().expect("run curl");
    if out.status.success() {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "GET /curl2 0\n");
    } else {
        // A curl built without HTTP/2 says so; anything else is a failure.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not support") || err.contains("HTTP2"), "curl h2 failed: {err}");
    }
}
