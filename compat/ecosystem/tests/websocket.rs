//! axum's `WebSocketUpgrade` served, tokio-tungstenite's `connect_async` as the client: an
//! echo round trip of text and binary messages, and a close handshake.

mod common;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use axum::Router;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite;

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(t) => Message::Text(format!("echo: {}", t.as_str()).into()),
            Message::Binary(b) => Message::Binary(b.iter().rev().copied().collect()),
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

#[tokio::test]
async fn websocket_echo_and_close() {
    common::bounded(async {
        let app = Router::new()
            .route("/ws", get(|ws: WebSocketUpgrade| async move { ws.on_upgrade(echo) }));
        let addr = common::serve(app).await;
        let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
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
        // The server answers the close; the stream then ends.
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(tungstenite::Message::Close(_)) | Err(_) => {}
                Ok(other) => panic!("unexpected message after close: {other:?}"),
            }
        }
    })
    .await
}
