//! Runtime-neutral building blocks work on minirt unchanged: tokio's `sync` module
//! (mpsc, oneshot, Mutex, Notify, Semaphore, watch), `futures-channel`, and the `futures-io`
//! ecosystem (futures-util's `BufReader`, `lines`, `copy`) over minirt sockets.

mod common;

use std::future::poll_fn;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{
    assert_bytes_eq, connected_pair, feed_and_drain, must_complete, pattern, settle, watchdog,
};
use futures_util::io::{AsyncBufReadExt, BufReader};
use futures_util::stream::StreamExt;
use minirt::io::AsyncWriteExt;

/// 10,000 round trips over two tokio bounded channels of capacity 1, between two minirt tasks.
#[minirt::test]
async fn tokio_mpsc_ping_pong_ten_thousand_messages() {
    let _watchdog = watchdog("tokio_mpsc_ping_pong_ten_thousand_messages");
    const N: u64 = 10_000;
    let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
    let ponger = minirt::spawn(async move {
        let mut count = 0u64;
        while let Some(n) = ping_rx.recv().await {
            pong_tx.send(n + 1).await.expect("pinger alive");
            count += 1;
        }
        count
    });
    let pinger = minirt::spawn(async move {
        let mut sum = 0;
        for i in 0..N {
            ping_tx.send(i).await.expect("ponger alive");
            let back = pong_rx.recv().await.expect("a pong");
            assert_eq!(back, i + 1, "pong {i} out of order");
            sum += back;
        }
        sum
    });
    let sum = must_complete("pinger", pinger).await.expect("pinger");
    assert_eq!(sum, N * (N + 1) / 2);
    assert_eq!(must_complete("ponger", ponger).await.expect("ponger"), N);
}

/// The same over `futures-channel` bounded channels (buffer 0: every send waits for room).
#[minirt::test]
async fn futures_channel_ping_pong_ten_thousand_messages() {
    let _watchdog = watchdog("futures_channel_ping_pong_ten_thousand_messages");
    const N: u64 = 10_000;
    async fn send(tx: &mut futures_channel::mpsc::Sender<u64>, value: u64) {
        poll_fn(|cx| tx.poll_ready(cx)).await.expect("receiver alive");
        tx.start_send(value).expect("room was reserved");
    }
    let (mut ping_tx, mut ping_rx) = futures_channel::mpsc::channel::<u64>(0);
    let (mut pong_tx, mut pong_rx) = futures_channel::mpsc::channel::<u64>(0);
    let ponger = minirt::spawn(async move {
        let mut count = 0u64;
        while let Some(n) = ping_rx.next().await {
            send(&mut pong_tx, n * 2).await;
            count += 1;
        }
        count
    });
    let pinger = minirt::spawn(async move {
        let mut sum = 0;
        for i in 0..N {
            send(&mut ping_tx, i).await;
            let back = pong_rx.next().await.expect("a pong");
            assert_eq!(back, i * 2, "pong {i} out of order");
            sum += back;
        }
        sum
    });
    let sum = must_complete("pinger", pinger).await.expect("pinger");
    assert_eq!(sum, N * (N - 1));
    assert_eq!(must_complete("ponger", ponger).await.expect("ponger"), N);
}

/// Many producers (tasks, and a std thread using `blocking_send`) into one tokio mpsc consumer.
#[minirt::test]
async fn tokio_mpsc_many_producers_including_a_std_thread() {
    let _watchdog = watchdog("tokio_mpsc_many_producers_including_a_std_thread");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(8);
    for p in 0..4u64 {
        let tx = tx.clone();
        minirt::spawn(async move {
            for i in 0..1000 {
                tx.send(p * 1_000_000 + i).await.expect("consumer alive");
            }
        });
    }
    let thread_tx = tx.clone();
    let producer_thread = thread::spawn(move || {
        for i in 0..1000 {
            thread_tx.blocking_send(9_000_000 + i).expect("consumer alive");
        }
    });
    drop(tx);
    let (count, sum) = must_complete("consumer", async {
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(v) = rx.recv().await {
            count += 1;
            sum += v;
        }
        (count, sum)
    })
    .await;
    producer_thread.join().expect("producer thread");
    let per_producer = |base: u64| (0..1000).map(|i| base + i).sum::<u64>();
    let expected: u64 =
        (0..4).map(|p| per_producer(p * 1_000_000)).sum::<u64>() + per_producer(9_000_000);
    assert_eq!(count, 5000);
    assert_eq!(sum, expected);
}

/// tokio oneshot between tasks, and from a std thread to a parked runtime.
#[minirt::test]
async fn tokio_oneshot_between_tasks_and_from_a_thread() {
    let _watchdog = watchdog("tokio_oneshot_between_tasks_and_from_a_thread");
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let receiver = minirt::spawn(async move { rx.await.expect("sent") });
    minirt::spawn(async move { tx.send("between tasks".to_string()).expect("receiver alive") });
    assert_eq!(must_complete("receiver", receiver).await.expect("task"), "between tasks");

    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        tx.send(99).expect("receiver alive");
    });
    assert_eq!(must_complete("from a thread", rx).await, Ok(99));
    sender.join().expect("sender thread");

    // A dropped sender is reported to the receiver.
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    minirt::spawn(async move { drop(tx) });
    assert!(must_complete("dropped sender", rx).await.is_err());
}

/// A tokio `Mutex` held across `.await` points by 10 tasks: increments are not lost and no
/// two tasks are ever inside at once.
#[minirt::test]
async fn tokio_mutex_held_across_awaits() {
    let _watchdog = watchdog("tokio_mutex_held_across_awaits");
    let counter = Arc::new(tokio::sync::Mutex::new(0u64));
    let inside = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let counter = counter.clone();
            let inside = inside.clone();
            minirt::spawn(async move {
                for _ in 0..100 {
                    let mut guard = counter.lock().await;
                    assert!(!inside.swap(true, Ordering::SeqCst), "two tasks inside the lock");
                    let seen = *guard;
                    minirt::task::yield_now().await;
                    *guard = seen + 1;
                    inside.store(false, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for handle in handles {
        must_complete("locker", handle).await.expect("no panic");
    }
    assert_eq!(*counter.lock().await, 1000);
}

/// `Notify`: `notify_one` wakes a waiting task, a stored permit is consumed by a later wait,
/// `notify_waiters` wakes all waiters, and a std thread can notify a parked runtime.
#[minirt::test]
async fn tokio_notify_wakes_waiting_tasks() {
    let _watchdog = watchdog("tokio_notify_wakes_waiting_tasks");
    let notify = Arc::new(tokio::sync::Notify::new());
    let woken = Arc::new(AtomicUsize::new(0));
    let waiter = |notify: Arc<tokio::sync::Notify>, woken: Arc<AtomicUsize>| {
        minirt::spawn(async move {
            notify.notified().await;
            woken.fetch_add(1, Ordering::SeqCst);
        })
    };

    let one = waiter(notify.clone(), woken.clone());
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 0, "nobody notified yet");
    notify.notify_one();
    must_complete("notify_one", one).await.expect("waiter");
    assert_eq!(woken.load(Ordering::SeqCst), 1);

    // A permit stored before anyone waits is consumed by the next wait.
    notify.notify_one();
    must_complete("stored permit", notify.notified()).await;

    let all: Vec<_> = (0..5).map(|_| waiter(notify.clone(), woken.clone())).collect();
    settle().await;
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    notify.notify_waiters();
    for handle in all {
        must_complete("notify_waiters", handle).await.expect("waiter");
    }
    assert_eq!(woken.load(Ordering::SeqCst), 6);

    let from_thread = waiter(notify.clone(), woken.clone());
    settle().await;
    let remote = notify.clone();
    let notifier = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        remote.notify_one();
    });
    must_complete("notified from a thread", from_thread).await.expect("waiter");
    notifier.join().expect("notifier thread");
    assert_eq!(woken.load(Ordering::SeqCst), 7);
}

/// A `Semaphore` bounds concurrency across tasks, and `watch` delivers the latest value.
#[minirt::test]
async fn tokio_semaphore_and_watch() {
    let _watchdog = watchdog("tokio_semaphore_and_watch");
    let semaphore = Arc::new(tokio::sync::Semaphore::new(3));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let (semaphore, running, peak) = (semaphore.clone(), running.clone(), peak.clone());
            minirt::spawn(async move {
                let _permit = semaphore.acquire().await.expect("open");
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                for _ in 0..3 {
                    minirt::task::yield_now().await;
                }
                running.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for handle in handles {
        must_complete("permit holder", handle).await.expect("no panic");
    }
    assert_eq!(peak.load(Ordering::SeqCst), 3, "at most (and, here, exactly) 3 at once");

    let (tx, mut rx) = tokio::sync::watch::channel(0u32);
    let watcher = minirt::spawn(async move {
        let mut seen = Vec::new();
        while rx.changed().await.is_ok() {
            let value = *rx.borrow_and_update();
            seen.push(value);
            if value == 10 {
                break;
            }
        }
        seen
    });
    for i in 1..=10 {
        tx.send(i).expect("watcher alive");
        settle().await;
    }
    let seen = must_complete("watcher", watcher).await.expect("watcher");
    assert_eq!(seen.last(), Some(&10));
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "values arrive in order: {seen:?}");
}

/// futures-util's `BufReader` + `lines` and `copy` over minirt sockets: a line-echo server
/// written for the `futures` ecosystem runs as is.
#[minirt::test]
async fn futures_io_ecosystem_over_minirt_sockets() -> io::Result<()> {
    let _watchdog = watchdog("futures_io_ecosystem_over_minirt_sockets");
    let (mut client, server) = connected_pair().await?;
    let server_task = minirt::spawn(async move {
        let (read_half, mut write_half) = server.into_split();
        let mut lines = BufReader::new(read_half).lines();
        let mut count = 0;
        while let Some(line) = lines.next().await {
            let line = line?;
            write_half.write_all(line.to_uppercase().as_bytes()).await?;
            write_half.write_all(b"\n").await?;
            count += 1;
        }
        Ok::<_, io::Error>(count)
    });
    let mut request = String::new();
    for i in 0..500 {
        request.push_str(&format!("line number {i}\n"));
    }
    client.write_all(request.as_bytes()).await?;
    client.shutdown().await?;
    let mut reader = BufReader::new(&mut client);
    let mut got = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = must_complete("read_line", reader.read_line(&mut line)).await?;
        if n == 0 {
            break;
        }
        got.push(line.trim_end().to_string());
    }
    assert_eq!(got.len(), 500);
    assert_eq!(got[0], "LINE NUMBER 0");
    assert_eq!(got[499], "LINE NUMBER 499");
    assert_eq!(must_complete("server", server_task).await??, 500);

    // futures_util::io::copy from one minirt socket into another.
    let data = pattern(5, 1 << 20);
    let (mut source, mut sink, feeder, drain) = feed_and_drain(data.clone()).await?;
    let copied = must_complete("copy", futures_util::io::copy(&mut source, &mut sink)).await?;
    assert_eq!(copied, data.len() as u64);
    sink.shutdown().await?;
    must_complete("feeder", feeder).await??;
    assert_bytes_eq(&must_complete("drain", drain).await??, &data, "futures_util::io::copy");
    Ok(())
}
