//! axum's `serve` and reqwest's client, both on the patched `tokio`: text and JSON round
//! trips, a path extractor, 64 concurrent requests, and graceful shutdown that lets an
//! in-flight request finish.

mod common;

use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Order {
    item: String,
    qty: u32,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Receipt {
    item: String,
    qty: u32,
    total_cents: u64,
}

fn app() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello, world" }))
        .route("/users/{id}", get(|Path(id): Path<u64>| async move { format!("user {id}") }))
        .route(
            "/order",
            post(|Json(order): Json<Order>| async move {
                Json(Receipt {
                    total_cents: u64::from(order.qty) * 250,
                    item: order.item,
                    qty: order.qty,
                })
            }),
        )
}

#[tokio::test]
async fn text_json_and_path_round_trips() {
    common::bounded(async {
        let addr = common::serve(app()).await;
        let client = reqwest::Client::new();

        let body = client
            .get(format!("http://{addr}/hello"))
            .send()
            .await
            .expect("GET /hello")
            .text()
            .await
            .expect("body");
        assert_eq!(body, "hello, world");

        let body = client
            .get(format!("http://{addr}/users/42"))
            .send()
            .await
            .expect("GET /users/42")
            .text()
            .await
            .expect("body");
        assert_eq!(body, "user 42");

        let receipt: Receipt = client
            .post(format!("http://{addr}/order"))
            .json(&Order { item: "tea".into(), qty: 3 })
            .send()
            .await
            .expect("POST /order")
            .json()
            .await
            .expect("JSON body");
        assert_eq!(receipt, Receipt { item: "tea".into(), qty: 3, total_cents: 750 });
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_requests() {
    common::bounded(async {
        let addr = common::serve(app()).await;
        let client = reqwest::Client::new();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..64u64 {
            let client = client.clone();
            set.spawn(async move {
                let body = client
                    .get(format!("http://{addr}/users/{i}"))
                    .send()
                    .await
                    .expect("GET")
                    .text()
                    .await
                    .expect("body");
                assert_eq!(body, format!("user {i}"));
                i
            });
        }
        let mut seen = Vec::new();
        while let Some(res) = set.join_next().await {
            seen.push(res.expect("request task"));
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..64).collect::<Vec<_>>());
    })
    .await
}

#[tokio::test]
async fn graceful_shutdown_lets_in_flight_request_finish() {
    common::bounded(async {
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let entered_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(entered_tx)));
        let app = Router::new().route(
            "/slow",
            get(move || {
                let entered_tx = entered_tx.clone();
                async move {
                    if let Some(tx) = entered_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    "done"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
        });

        let request = tokio::spawn(async move {
            reqwest::get(format!("http://{addr}/slow"))
                .await
                .expect("GET /slow")
                .text()
                .await
                .expect("body")
        });
        entered_rx.await.expect("handler entered");
        stop_tx.send(()).expect("server still running");

        assert_eq!(request.await.expect("request task"), "done");
        server.await.expect("server task").expect("serve returned an error");
        // The listener is gone: a new connection is refused.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    })
    .await
}
