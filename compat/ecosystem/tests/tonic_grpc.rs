//! tonic's `transport::Server` and a client generated from proto/greeter.proto (the Rust is
//! checked in, tests/generated/greeter.rs, so no protoc is needed): unary calls (one, an error
//! status, 32 concurrent on one HTTP/2 connection), a server-streaming call paced by a tokio
//! `interval`, and a graceful shutdown of the server.

mod common;

#[allow(clippy::all, missing_docs)]
#[path = "generated/greeter.rs"]
mod greeter;

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use greeter::greeter_client::GreeterClient;
use greeter::greeter_server::{Greeter, GreeterServer};
use greeter::{CountdownRequest, HelloReply, HelloRequest, Tick};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Code, Request, Response, Status};

struct Svc;

#[tonic::async_trait]
impl Greeter for Svc {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let name = req.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name is empty"));
        }
        Ok(Response::new(HelloReply { message: format!("hello, {name}") }))
    }

    type CountdownStream = Pin<Box<dyn Stream<Item = Result<Tick, Status>> + Send>>;

    async fn countdown(
        &self,
        req: Request<CountdownRequest>,
    ) -> Result<Response<Self::CountdownStream>, Status> {
        let CountdownRequest { from, interval_ms } = req.into_inner();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(u64::from(interval_ms)));
            for remaining in (1..=from).rev() {
                every.tick().await;
                if tx.send(Ok(Tick { remaining })).await.is_err() {
                    return; // The client went away.
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Serves the greeter on 127.0.0.1 (a free port) until the returned sender fires or drops.
async fn serve() -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(GreeterServer::new(Svc))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            })
            .await
            .expect("tonic server");
    });
    (addr, stop, server)
}

#[tokio::test]
async fn unary_calls() {
    common::bounded(async {
        let (addr, stop, server) = serve().await;
        let mut client =
            GreeterClient::connect(format!("http://{addr}")).await.expect("connect the client");

        let reply = client
            .say_hello(HelloRequest { name: "minirt".into() })
            .await
            .expect("SayHello")
            .into_inner();
        assert_eq!(reply.message, "hello, minirt");

        let status = client
            .say_hello(HelloRequest { name: String::new() })
            .await
            .expect_err("an empty name is refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "name is empty");

        // 32 calls at once, multiplexed on the client's one HTTP/2 connection.
        let calls = (0..32).map(|i| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .say_hello(HelloRequest { name: format!("n{i}") })
                    .await
                    .map(|r| r.into_inner())
            })
        });
        for (i, call) in calls.collect::<Vec<_>>().into_iter().enumerate() {
            let reply = call.await.expect("call task").expect("concurrent SayHello");
            assert_eq!(reply.message, format!("hello, n{i}"));
        }

        drop(client);
        let _ = stop.send(());
        server.await.expect("server task");
    })
    .await
}

#[tokio::test]
async fn server_streaming_call() {
    common::bounded(async {
        let (addr, stop, server) = serve().await;
        let mut client =
            GreeterClient::connect(format!("http://{addr}")).await.expect("connect the client");

        let mut ticks = client
            .countdown(CountdownRequest { from: 5, interval_ms: 10 })
            .await
            .expect("Countdown")
            .into_inner();
        let mut seen = Vec::new();
        while let Some(tick) = ticks.message().await.expect("a tick or the end") {
            seen.push(tick.remaining);
        }
        assert_eq!(seen, [5, 4, 3, 2, 1]);

        // A stream the client drops half-way: the server's task ends, the connection stays.
        let mut ticks = client
            .countdown(CountdownRequest { from: 1000, interval_ms: 1 })
            .await
            .expect("Countdown")
            .into_inner();
        assert_eq!(ticks.message().await.expect("a tick").map(|t| t.remaining), Some(1000));
        drop(ticks);
        let reply = client
            .say_hello(HelloRequest { name: "again".into() })
            .await
            .expect("SayHello after a dropped stream")
            .into_inner();
        assert_eq!(reply.message, "hello, again");

        drop(client);
        let _ = stop.send(());
        server.await.expect("server task");
    })
    .await
}
