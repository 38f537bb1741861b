//! tokio-util (`TaskTracker`, `DelayQueue`, `CancellationToken`, `Framed` + `LinesCodec`) and
//! tokio-stream (wrappers, `StreamMap`) on the patched `tokio`.

mod common;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_stream::wrappers::{IntervalStream, ReceiverStream, TcpListenerStream};
use tokio_stream::StreamMap;
use tokio_util::codec::{Framed, LinesCodec};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::time::DelayQueue;

#[tokio::test]
async fn task_tracker_waits_for_every_spawned_task() {
    common::bounded(async {
        let tracker = TaskTracker::new();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for i in 0..10u64 {
            let done = done.clone();
            tracker.spawn(async move {
                tokio::time::sleep(Duration::from_millis(i * 5)).await;
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        tracker.close();
        tracker.wait().await;
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 10);
        assert!(tracker.is_empty());
    })
    .await
}

#[tokio::test]
async fn delay_queue_yields_in_deadline_order() {
    common::bounded(async {
        let mut queue = DelayQueue::new();
        queue.insert("third", Duration::from_millis(60));
        queue.insert("first", Duration::from_millis(10));
        let key = queue.insert("removed", Duration::from_millis(20));
        queue.insert("second", Duration::from_millis(30));
        queue.remove(&key);
        let mut order = Vec::new();
        while let Some(expired) = queue.next().await {
            order.push(expired.into_inner());
        }
        assert_eq!(order, ["first", "second", "third"]);
    })
    .await
}

#[tokio::test]
async fn cancellation_token_reaches_children_and_select() {
    common::bounded(async {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let worker = tokio::spawn(async move {
            tokio::select! {
                _ = child.cancelled() => "cancelled",
                _ = tokio::time::sleep(Duration::from_secs(20)) => "slept",
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        parent.cancel();
        assert_eq!(worker.await.expect("worker"), "cancelled");
    })
    .await
}

#[tokio::test]
async fn framed_lines_over_tcp() {
    common::bounded(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let mut framed = Framed::new(stream, LinesCodec::new());
            while let Some(line) = framed.next().await {
                let line = line.expect("line");
                framed.send(line.to_uppercase()).await.expect("send reply");
            }
        });
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut framed = Framed::new(stream, LinesCodec::new());
        for word in ["alpha", "beta", "gamma"] {
            framed.send(word).await.expect("send");
            let reply = framed.next().await.expect("reply").expect("line");
            assert_eq!(reply, word.to_uppercase());
        }
        drop(framed);
        server.await.expect("server task");
    })
    .await
}

#[tokio::test]
async fn stream_wrappers_and_stream_map() {
    common::bounded(async {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            for i in 0..3 {
                tx.send(i).await.expect("send");
            }
        });
        let got: Vec<i32> = ReceiverStream::new(rx).collect().await;
        assert_eq!(got, [0, 1, 2]);

        let ticks = IntervalStream::new(tokio::time::interval(Duration::from_millis(5)))
            .take(3)
            .count()
            .await;
        assert_eq!(ticks, 3);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let mut incoming = TcpListenerStream::new(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let accepted = incoming.next().await.expect("a connection").expect("accept");
        assert_eq!(
            accepted.peer_addr().expect("peer_addr"),
            _client.local_addr().expect("local_addr")
        );

        let mut map = StreamMap::new();
        map.insert("a", tokio_stream::iter(vec![1, 2]));
        map.insert("b", tokio_stream::iter(vec![10]));
        let mut all: Vec<(&str, i32)> = map.collect().await;
        all.sort_unstable();
        assert_eq!(all, [("a", 1), ("a", 2), ("b", 10)]);
    })
    .await
}

#[tokio::test]
async fn udp_framed_round_trip() {
    common::bounded(async {
        use tokio_util::codec::BytesCodec;
        use tokio_util::udp::UdpFramed;

        let a = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind a");
        let b = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind b");
        let b_addr = b.local_addr().expect("local_addr");
        let a_addr = a.local_addr().expect("local_addr");
        let mut a = UdpFramed::new(a, BytesCodec::new());
        let mut b = UdpFramed::new(b, BytesCodec::new());
        a.send((bytes::Bytes::from_static(b"ping"), b_addr)).await.expect("send");
        let (frame, from) = b.next().await.expect("a datagram").expect("recv");
        assert_eq!(&frame[..], b"ping");
        assert_eq!(from, a_addr);
    })
    .await
}
