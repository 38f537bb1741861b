//! Shared by the ecosystem tests: a bound on every test, and an axum app on a local port.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// Runs `fut`, failing the test (instead of hanging CI) if it takes more than 30 s.
pub async fn bounded<F: Future>(fut: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(30), fut).await {
        Ok(out) => out,
        Err(_) => panic!("test did not finish within 30 s"),
    }
}

/// Serves `app` on 127.0.0.1 (a free port) in a spawned task; returns its address.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("axum::serve");
    });
    addr
}
