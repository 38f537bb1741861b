//! tower's `timeout` middleware and tower-http's `TimeoutLayer` (408 on a slow route, 200 on a
//! fast one): both arm a `tokio::time::Sleep`, so both need the patched `tokio`'s timers.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower::{Service, ServiceBuilder, ServiceExt};

#[tokio::test]
async fn tower_timeout_elapses_on_slow_service_only() {
    common::bounded(async {
        let mut svc = ServiceBuilder::new().timeout(Duration::from_millis(50)).service_fn(
            |delay_ms: u64| async move {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                Ok::<_, std::convert::Infallible>(delay_ms)
            },
        );

        let fast = svc.ready().await.expect("ready").call(0).await;
        assert_eq!(fast.expect("fast call"), 0);

        let slow = svc.ready().await.expect("ready").call(5_000).await;
        let err = slow.expect_err("slow call must time out");
        assert!(err.is::<tower::timeout::error::Elapsed>(), "unexpected error: {err}");
    })
    .await
}

#[tokio::test]
async fn tower_http_timeout_layer_408_slow_200_fast() {
    common::bounded(async {
        let app = Router::new()
            .route("/fast", get(|| async { "fast" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    "slow"
                }),
            )
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_millis(100),
            ));
        let addr = common::serve(app).await;

        let fast = reqwest::get(format!("http://{addr}/fast")).await.expect("GET /fast");
        assert_eq!(fast.status(), StatusCode::OK);
        assert_eq!(fast.text().await.expect("body"), "fast");

        let slow = reqwest::get(format!("http://{addr}/slow")).await.expect("GET /slow");
        assert_eq!(slow.status(), StatusCode::REQUEST_TIMEOUT);
    })
    .await
}
