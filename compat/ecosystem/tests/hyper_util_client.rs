//! hyper-util's legacy `Client` with its `HttpConnector`, which resolves `localhost` on the
//! blocking pool and connects with `tokio::net::TcpSocket`, against an axum server.

mod common;

use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[tokio::test]
async fn legacy_client_resolves_localhost() {
    common::bounded(async {
        let addr = common::serve(Router::new().route("/", get(|| async { "from axum" }))).await;
        let client: Client<_, Empty<bytes::Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let uri: hyper::Uri = format!("http://localhost:{}/", addr.port()).parse().expect("uri");
        // Twice: the second request reuses the pooled connection.
        for _ in 0..2 {
            let res = client.get(uri.clone()).await.expect("GET localhost");
            assert_eq!(res.status(), 200);
            let body = res.into_body().collect().await.expect("body").to_bytes();
            assert_eq!(&body[..], b"from axum");
        }
    })
    .await
}
