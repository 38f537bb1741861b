//! The service in-process, on 127.0.0.1 port 0 with its upstream beside it: every route through
//! reqwest (and the websocket through tokio-tungstenite). The drain on SIGTERM is tested on the
//! binary, in tests/signals.rs.

use std::net::SocketAddr;
use std::time::Duration;

use ecosystem_service::{run, spawn_upstream, Config, Greeting, NewNote, Note, Quote};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;

/// Fails the test (instead of hanging CI) if `fut` takes more than 30 s.
async fn bounded<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .unwrap_or_else(|_| panic!("test did not finish within 30 s"))
}

/// A running service: its address, the trigger of its graceful shutdown, and its task.
struct Service {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Starts the service (with a 300 ms request timeout) against `upstream`.
async fn start(upstream: String) -> Service {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    let (shutdown, stopped) = oneshot::channel::<()>();
    let config = Config { upstream, request_timeout: Duration::from_millis(300) };
    let task = tokio::spawn(run(listener, config, async move {
        let _ = stopped.await;
    }));
    Service { addr, shutdown, task }
}

/// Starts the upstream on a free port; returns its base URL (it runs until the test ends).
async fn start_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = listener.local_addr().expect("upstream local_addr");
    drop(spawn_upstream(listener, std::future::pending()));
    format!("http://{addr}")
}

#[tokio::test]
async fn every_http_route() {
    bounded(async {
        let svc = start(start_upstream().await).await;
        let base = format!("http://{}", svc.addr);
        let client = reqwest::Client::new();

        let health = client.get(format!("{base}/health")).send().await.expect("GET /health");
        assert_eq!(health.status(), 200);
        assert_eq!(health.text().await.expect("body"), "ok");

        let greeting: Greeting = client
            .get(format!("{base}/hello/minirt"))
            .send()
            .await
            .expect("GET /hello")
            .json()
            .await
            .expect("JSON greeting");
        assert_eq!(greeting.greeting, "hello, minirt");

        // Notes: JSON in, a row in SQLite, JSON out.
        let mut ids = Vec::new();
        for text in ["first", "second"] {
            let resp = client
                .post(format!("{base}/notes"))
                .json(&NewNote { text: text.into() })
                .send()
                .await
                .expect("POST /notes");
            assert_eq!(resp.status(), 201);
            let note: Note = resp.json().await.expect("JSON note");
            assert_eq!(note.text, text);
            ids.push(note.id);
        }
        assert_ne!(ids[0], ids[1]);
        let note: Note = client
            .get(format!("{base}/notes/{}", ids[1]))
            .send()
            .await
            .expect("GET /notes/{id}")
            .json()
            .await
            .expect("JSON note");
        assert_eq!(note, Note { id: ids[1], text: "second".into() });
        let missing = client.get(format!("{base}/notes/999")).send().await.expect("GET missing");
        assert_eq!(missing.status(), 404);
        let empty = client
            .post(format!("{base}/notes"))
            .json(&NewNote { text: String::new() })
            .send()
            .await
            .expect("POST empty note");
        assert_eq!(empty.status(), 422);
        let not_a_number = client.get(format!("{base}/notes/abc")).send().await.expect("GET abc");
        assert_eq!(not_a_number.status(), 400);

        // The quote comes from the upstream, through reqwest.
        let quote: Quote = client
            .get(format!("{base}/quote/tea/3"))
            .send()
            .await
            .expect("GET /quote")
            .json()
            .await
            .expect("JSON quote");
        assert_eq!(quote, Quote { item: "tea".into(), qty: 3, unit_cents: 175, total_cents: 525 });

        // TimeoutLayer: a handler under the 300 ms limit answers, one over it is cut off.
        let fast = client.get(format!("{base}/slow/10")).send().await.expect("GET /slow/10");
        assert_eq!(fast.status(), 200);
        assert_eq!(fast.text().await.expect("body"), "slept 10 ms");
        let slow = client.get(format!("{base}/slow/5000")).send().await.expect("GET /slow/5000");
        assert_eq!(slow.status(), 408);

        let _ = svc.shutdown.send(());
        svc.task.await.expect("service task").expect("service ran");
    })
    .await
}

#[tokio::test]
async fn quote_without_upstream_is_bad_gateway() {
    bounded(async {
        // A port nothing listens on: bound, then closed.
        let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let dead = format!("http://{}", closed.local_addr().expect("local_addr"));
        drop(closed);
        let svc = start(dead).await;
        let resp = reqwest::get(format!("http://{}/quote/tea/1", svc.addr)).await.expect("GET");
        assert_eq!(resp.status(), 502);
        let _ = svc.shutdown.send(());
        svc.task.await.expect("service task").expect("service ran");
    })
    .await
}

#[tokio::test]
async fn websocket_echo_and_close() {
    bounded(async {
        let svc = start(start_upstream().await).await;
        let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{}/ws", svc.addr))
            .await
            .expect("connect_async");
        assert_eq!(response.status(), 101);

        ws.send(tungstenite::Message::Text("hello".into())).await.expect("send text");
        let reply = ws.next().await.expect("a reply").expect("message");
        assert_eq!(reply.into_text().expect("text").as_str(), "echo: hello");

        ws.send(tungstenite::Message::Binary(vec![1u8, 2, 3].into())).await.expect("send binary");
        let reply = ws.next().await.expect("a reply").expect("message");
        assert_eq!(&reply.into_data()[..], &[3, 2, 1]);

        ws.close(None).await.expect("close");
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(tungstenite::Message::Close(_)) | Err(_) => {}
                Ok(other) => panic!("unexpected message after close: {other:?}"),
            }
        }

        let _ = svc.shutdown.send(());
        svc.task.await.expect("service task").expect("service ran");
    })
    .await
}
