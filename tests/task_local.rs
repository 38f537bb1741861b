//! task_local!, ported from tokio's tests/task_local.rs (`tokio` renamed to `minirt`, tokio's
//! oneshot replaced by futures-channel's), plus sync_scope, nesting, panics and isolation
//! between tasks on one thread.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::oneshot;

#[minirt::test(flavor = "multi_thread")]
async fn local() {
    minirt::task_local! {
        static REQ_ID: u32;
        pub static FOO: bool;
    }

    let j1 = minirt::spawn(REQ_ID.scope(1, async move {
        assert_eq!(REQ_ID.get(), 1);
        assert_eq!(REQ_ID.get(), 1);
    }));

    let j2 = minirt::spawn(REQ_ID.scope(2, async move {
        REQ_ID.with(|v| {
            assert_eq!(REQ_ID.get(), 2);
            assert_eq!(*v, 2);
        });

        minirt::time::sleep(std::time::Duration::from_millis(10)).await;

        assert_eq!(REQ_ID.get(), 2);
    }));

    let j3 = minirt::spawn(FOO.scope(true, async move {
        assert!(FOO.get());
    }));

    j1.await.unwrap();
    j2.await.unwrap();
    j3.await.unwrap();
}

#[minirt::test]
async fn task_local_available_on_abort() {
    minirt::task_local! {
        static KEY: u32;
    }

    struct MyFuture {
        tx_poll: Option<oneshot::Sender<()>>,
        tx_drop: Option<oneshot::Sender<u32>>,
    }
    impl Future for MyFuture {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            if let Some(tx_poll) = self.tx_poll.take() {
                let _ = tx_poll.send(());
            }
            Poll::Pending
        }
    }
    impl Drop for MyFuture {
        fn drop(&mut self) {
            let _ = self.tx_drop.take().unwrap().send(KEY.get());
        }
    }

    let (tx_drop, rx_drop) = oneshot::channel();
    let (tx_poll, rx_poll) = oneshot::channel();

    let h =
        minirt::spawn(KEY.scope(42, MyFuture { tx_poll: Some(tx_poll), tx_drop: Some(tx_drop) }));

    rx_poll.await.unwrap();
    h.abort();
    assert_eq!(rx_drop.await.unwrap(), 42);

    let err = h.await.unwrap_err();
    if !err.is_cancelled() {
        if let Ok(panic) = err.try_into_panic() {
            std::panic::resume_unwind(panic);
        } else {
            panic!();
        }
    }
}

#[minirt::test]
async fn task_local_available_on_completion_drop() {
    minirt::task_local! {
        static KEY: u32;
    }

    struct MyFuture {
        tx: Option<oneshot::Sender<u32>>,
    }
    impl Future for MyFuture {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }
    impl Drop for MyFuture {
        fn drop(&mut self) {
            let _ = self.tx.take().unwrap().send(KEY.get());
        }
    }

    let (tx, rx) = oneshot::channel();

    let h = minirt::spawn(KEY.scope(42, MyFuture { tx: Some(tx) }));

    assert_eq!(rx.await.unwrap(), 42);
    h.await.unwrap();
}

#[minirt::test]
async fn take_value() {
    minirt::task_local! {
        static KEY: u32
    }
    let fut = KEY.scope(1, async {});
    let mut pinned = Box::pin(fut);
    assert_eq!(pinned.as_mut().take_value(), Some(1));
    assert_eq!(pinned.as_mut().take_value(), None);
}

#[minirt::test]
async fn poll_after_take_value_should_fail() {
    minirt::task_local! {
        static KEY: u32
    }
    let fut = KEY.scope(1, async {
        let result = KEY.try_with(|_| {});
        // The task local value no longer exists.
        assert!(result.is_err());
    });
    let mut fut = Box::pin(fut);
    fut.as_mut().take_value();

    // Poll the future after `take_value` has been called
    fut.await;
}

#[minirt::test]
async fn get_value() {
    minirt::task_local! {
        static KEY: u32
    }

    KEY.scope(1, async {
        assert_eq!(KEY.get(), 1);
        assert_eq!(KEY.try_get().unwrap(), 1);
    })
    .await;

    let fut = KEY.scope(1, async {
        let result = KEY.try_get();
        // The task local value no longer exists.
        assert!(result.is_err());
    });
    let mut fut = Box::pin(fut);
    fut.as_mut().take_value();

    // Poll the future after `take_value` has been called
    fut.await;
}

#[test]
fn sync_scope_and_nesting() {
    minirt::task_local! {
        static DEPTH: u32;
    }
    assert!(DEPTH.try_with(|_| ()).is_err());
    DEPTH.sync_scope(1, || {
        assert_eq!(DEPTH.get(), 1);
        DEPTH.sync_scope(2, || assert_eq!(DEPTH.get(), 2));
        assert_eq!(DEPTH.get(), 1, "the outer value is back after the inner scope");
    });
    assert!(DEPTH.try_get().is_err());
}

#[test]
fn value_is_restored_when_the_scope_panics() {
    minirt::task_local! {
        static KEY: &'static str;
    }
    KEY.sync_scope("outer", || {
        let caught = std::panic::catch_unwind(|| KEY.sync_scope("inner", || panic!("boom")));
        assert!(caught.is_err());
        assert_eq!(KEY.get(), "outer");
    });
    let rt = minirt::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let fut = KEY.scope("task", async {
            assert_eq!(KEY.get(), "task");
            panic!("boom in poll");
        });
        let caught = minirt::spawn(fut).await;
        assert!(caught.is_err());
        assert!(KEY.try_get().is_err(), "nothing leaks out of a panicked scope");
    });
}

#[test]
#[should_panic(expected = "cannot access a task-local storage value without setting it first")]
fn with_outside_a_scope_panics() {
    minirt::task_local! {
        static KEY: u32;
    }
    KEY.with(|_| ());
}

#[test]
#[should_panic(
    expected = "cannot enter a task-local scope while the task-local storage is borrowed"
)]
fn scope_inside_with_panics() {
    minirt::task_local! {
        static KEY: u32;
    }
    KEY.sync_scope(1, || KEY.with(|_| KEY.sync_scope(2, || ())));
}

#[minirt::test]
async fn tasks_on_one_thread_do_not_see_each_other() {
    minirt::task_local! {
        static ID: u32;
    }
    let mut handles = Vec::new();
    for id in 0..10 {
        handles.push(minirt::spawn(ID.scope(id, async move {
            for _ in 0..5 {
                assert_eq!(ID.get(), id);
                minirt::task::yield_now().await;
            }
        })));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert!(ID.try_get().is_err());
}
