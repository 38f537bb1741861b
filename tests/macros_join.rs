//! join!, try_join! and pin!, ported from tokio's tests/macros_join.rs, macros_try_join.rs and
//! macros_pin.rs (`tokio` renamed to `minirt`, tokio's oneshot replaced by futures-channel's).
//! Left out: the struct-size tests (our layout differs). The coop-budget starvation tests run
//! on `minirt::sync::Semaphore`.

#![allow(clippy::disallowed_names)]

use std::convert::Infallible;
use std::sync::Arc;

use futures_channel::oneshot;

macro_rules! assert_pending {
    ($e:expr) => {
        assert!($e.is_pending(), "expected Pending")
    };
}

macro_rules! assert_ready {
    ($e:expr) => {
        match $e {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("expected Ready"),
        }
    };
}

/// tokio-test's `task::spawn`, reduced: polls a future by hand with a waker that records wakes.
mod mock_task {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    pub struct Spawn<F> {
        future: Pin<Box<F>>,
        flag: Arc<Flag>,
    }

    pub fn spawn<F: Future>(future: F) -> Spawn<F> {
        Spawn { future: Box::pin(future), flag: Arc::new(Flag(AtomicBool::new(false))) }
    }

    impl<F: Future> Spawn<F> {
        pub fn poll(&mut self) -> Poll<F::Output> {
            self.flag.0.store(false, Ordering::SeqCst);
            let waker = Waker::from(self.flag.clone());
            self.future.as_mut().poll(&mut Context::from_waker(&waker))
        }

        pub fn is_woken(&self) -> bool {
            self.flag.0.load(Ordering::SeqCst)
        }
    }
}

fn ok<T>(val: T) -> Result<T, ()> {
    Ok(val)
}

mod join {
    use super::*;
    use mock_task as task;

    #[minirt::test]
    async fn sync_one_lit_expr_comma() {
        let foo = minirt::join!(async { 1 },);
        assert_eq!(foo, (1,));

        let foo = minirt::join!(biased; async { 1 },);
        assert_eq!(foo, (1,));
    }

    #[minirt::test]
    async fn sync_one_lit_expr_no_comma() {
        let foo = minirt::join!(async { 1 });
        assert_eq!(foo, (1,));

        let foo = minirt::join!(biased; async { 1 });
        assert_eq!(foo, (1,));
    }

    #[minirt::test]
    async fn sync_two_lit_expr_comma() {
        let foo = minirt::join!(async { 1 }, async { 2 },);
        assert_eq!(foo, (1, 2));

        let foo = minirt::join!(biased; async { 1 }, async { 2 },);
        assert_eq!(foo, (1, 2));
    }

    #[minirt::test]
    async fn sync_two_lit_expr_no_comma() {
        let foo = minirt::join!(async { 1 }, async { 2 });
        assert_eq!(foo, (1, 2));

        let foo = minirt::join!(biased; async { 1 }, async { 2 });
        assert_eq!(foo, (1, 2));
    }

    #[minirt::test]
    async fn two_await() {
        let (tx1, rx1) = oneshot::channel::<&str>();
        let (tx2, rx2) = oneshot::channel::<u32>();

        let mut join = task::spawn(async {
            minirt::join!(async { rx1.await.unwrap() }, async { rx2.await.unwrap() })
        });

        assert_pending!(join.poll());

        tx2.send(123).unwrap();
        assert!(join.is_woken());
        assert_pending!(join.poll());

        tx1.send("hello").unwrap();
        assert!(join.is_woken());
        let res = assert_ready!(join.poll());

        assert_eq!(("hello", 123), res);
    }

    #[minirt::test]
    async fn a_different_future_is_polled_first_every_time_poll_fn_is_polled() {
        let poll_order = Arc::new(std::sync::Mutex::new(vec![]));

        let fut = |x, poll_order: Arc<std::sync::Mutex<Vec<i32>>>| async move {
            for _ in 0..4 {
                {
                    let mut guard = poll_order.lock().unwrap();

                    guard.push(x);
                }

                minirt::task::yield_now().await;
            }
        };

        minirt::join!(
            fut(1, Arc::clone(&poll_order)),
            fut(2, Arc::clone(&poll_order)),
            fut(3, Arc::clone(&poll_order)),
        );

        // Each time the future created by join! is polled, it should start
        // by polling a different future first.
        assert_eq!(vec![1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 2, 3], *poll_order.lock().unwrap());
    }

    #[minirt::test]
    async fn futures_are_polled_in_order_in_biased_mode() {
        let poll_order = Arc::new(std::sync::Mutex::new(vec![]));

        let fut = |x, poll_order: Arc<std::sync::Mutex<Vec<i32>>>| async move {
            for _ in 0..4 {
                {
                    let mut guard = poll_order.lock().unwrap();

                    guard.push(x);
                }

                minirt::task::yield_now().await;
            }
        };

        minirt::join!(
            biased;
            fut(1, Arc::clone(&poll_order)),
            fut(2, Arc::clone(&poll_order)),
            fut(3, Arc::clone(&poll_order)),
        );

        // Each time the future created by join! is polled, it should start
        // by polling in the order as declared in the macro inputs.
        assert_eq!(vec![1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3], *poll_order.lock().unwrap());
    }

    #[minirt::test]
    #[allow(clippy::unit_cmp)]
    async fn empty_join() {
        assert_eq!(minirt::join!(), ());
        assert_eq!(minirt::join!(biased;), ());
    }

    #[minirt::test]
    async fn join_into_future() {
        struct NotAFuture;
        impl std::future::IntoFuture for NotAFuture {
            type Output = ();
            type IntoFuture = std::future::Ready<()>;

            fn into_future(self) -> Self::IntoFuture {
                std::future::ready(())
            }
        }

        minirt::join!(NotAFuture);
    }

    // Regression test for: https://github.com/tokio-rs/tokio/issues/7637
    // We want to make sure that the `const COUNT: u32` declaration
    // inside the macro body doesn't leak to the caller to cause compiler failures
    // or variable shadowing.
    #[minirt::test]
    async fn caller_names_const_count() {
        let (tx, rx) = oneshot::channel::<u32>();

        const COUNT: u32 = 2;

        let mut join = task::spawn(async { minirt::join!(async { tx.send(COUNT).unwrap() }) });
        assert_ready!(join.poll());

        let res = rx.await.unwrap();

        // This passing demonstrates that the const in the macro is
        // not shadowing the caller-specified COUNT value
        assert_eq!(2, res);
    }

    // Regression test for: https://github.com/tokio-rs/tokio/issues/7031
    // An uninhabited output type must not trigger `unreachable_code` in the caller.
    #[deny(unreachable_code)]
    #[minirt::test]
    async fn uninhabited_output_type() {
        use std::convert::Infallible;
        use std::future::pending;

        let mut join = task::spawn(async { minirt::join!(pending::<Infallible>(), async { 1 }) });
        assert_pending!(join.poll());

        let mut join =
            task::spawn(async { minirt::join!(biased; pending::<Infallible>(), async { 1 }) });
        assert_pending!(join.poll());

        let mut join = task::spawn(async { minirt::join!(async { 1 }, pending::<Infallible>()) });
        assert_pending!(join.poll());

        let mut join =
            task::spawn(async { minirt::join!(biased; async { 1 }, pending::<Infallible>()) });
        assert_pending!(join.poll());

        let mut join = task::spawn(async { minirt::join!(pending::<Infallible>()) });
        assert_pending!(join.poll());
    }
}

mod try_join {
    use super::*;
    use mock_task as task;

    #[minirt::test]
    async fn sync_one_lit_expr_comma() {
        let foo = minirt::try_join!(async { ok(1) },);
        assert_eq!(foo, Ok((1,)));

        let foo = minirt::try_join!(biased; async { ok(1) },);
        assert_eq!(foo, Ok((1,)));
    }

    #[minirt::test]
    async fn sync_one_lit_expr_no_comma() {
        let foo = minirt::try_join!(async { ok(1) });
        assert_eq!(foo, Ok((1,)));

        let foo = minirt::try_join!(biased; async { ok(1) });
        assert_eq!(foo, Ok((1,)));
    }

    #[minirt::test]
    async fn sync_two_lit_expr_comma() {
        let foo = minirt::try_join!(async { ok(1) }, async { ok(2) },);
        assert_eq!(foo, Ok((1, 2)));

        let foo = minirt::try_join!(biased;async { ok(1) }, async { ok(2) },);
        assert_eq!(foo, Ok((1, 2)));
    }

    #[minirt::test]
    async fn sync_two_lit_expr_no_comma() {
        let foo = minirt::try_join!(async { ok(1) }, async { ok(2) });
        assert_eq!(foo, Ok((1, 2)));

        let foo = minirt::try_join!(biased; async { ok(1) }, async { ok(2) });
        assert_eq!(foo, Ok((1, 2)));
    }

    #[minirt::test]
    async fn two_await() {
        let (tx1, rx1) = oneshot::channel::<&str>();
        let (tx2, rx2) = oneshot::channel::<u32>();

        let mut join = task::spawn(async { minirt::try_join!(rx1, rx2) });

        assert_pending!(join.poll());

        tx2.send(123).unwrap();
        assert!(join.is_woken());
        assert_pending!(join.poll());

        tx1.send("hello").unwrap();
        assert!(join.is_woken());
        let res: Result<(&str, u32), _> = assert_ready!(join.poll());

        assert_eq!(Ok(("hello", 123)), res);
    }

    #[minirt::test]
    async fn err_abort_early() {
        let (tx1, rx1) = oneshot::channel::<&str>();
        let (tx2, rx2) = oneshot::channel::<u32>();
        let (_tx3, rx3) = oneshot::channel::<u32>();

        let mut join = task::spawn(async { minirt::try_join!(rx1, rx2, rx3) });

        assert_pending!(join.poll());

        tx2.send(123).unwrap();
        assert!(join.is_woken());
        assert_pending!(join.poll());

        drop(tx1);
        assert!(join.is_woken());

        let res = assert_ready!(join.poll());

        assert!(res.is_err());
    }

    #[minirt::test]
    async fn a_different_future_is_polled_first_every_time_poll_fn_is_polled() {
        let poll_order = Arc::new(std::sync::Mutex::new(vec![]));

        let fut = |x, poll_order: Arc<std::sync::Mutex<Vec<i32>>>| async move {
            for _ in 0..4 {
                {
                    let mut guard = poll_order.lock().unwrap();

                    guard.push(x);
                }

                minirt::task::yield_now().await;
            }
            Ok::<(), Infallible>(())
        };

        minirt::try_join!(
            fut(1, Arc::clone(&poll_order)),
            fut(2, Arc::clone(&poll_order)),
            fut(3, Arc::clone(&poll_order)),
        )
        .unwrap();

        // Each time the future created by join! is polled, it should start
        // by polling a different future first.
        assert_eq!(vec![1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 2, 3], *poll_order.lock().unwrap());
    }

    #[minirt::test]
    async fn futures_are_polled_in_order_in_biased_mode() {
        let poll_order = Arc::new(std::sync::Mutex::new(vec![]));

        let fut = |x, poll_order: Arc<std::sync::Mutex<Vec<i32>>>| async move {
            for _ in 0..4 {
                {
                    let mut guard = poll_order.lock().unwrap();

                    guard.push(x);
                }

                minirt::task::yield_now().await;
            }
            Ok::<(), Infallible>(())
        };

        minirt::try_join!(
            biased;
            fut(1, Arc::clone(&poll_order)),
            fut(2, Arc::clone(&poll_order)),
            fut(3, Arc::clone(&poll_order)),
        )
        .unwrap();

        // Each time the future created by join! is polled, it should start
        // by polling in the order as declared in the macro inputs.
        assert_eq!(vec![1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3], *poll_order.lock().unwrap());
    }

    #[minirt::test]
    async fn empty_try_join() {
        assert_eq!(minirt::try_join!() as Result<_, ()>, Ok(()));
        assert_eq!(minirt::try_join!(biased;) as Result<_, ()>, Ok(()));
    }

    // Regression test for: https://github.com/tokio-rs/tokio/issues/7637
    // We want to make sure that the `const COUNT: u32` declaration
    // inside the macro body doesn't leak to the caller to cause compiler failures
    // or variable shadowing.
    #[minirt::test]
    async fn caller_names_const_count() {
        let (tx, rx) = oneshot::channel::<u32>();

        const COUNT: u32 = 2;

        let mut try_join = task::spawn(async { minirt::try_join!(async { tx.send(COUNT) }) });
        assert_ready!(try_join.poll()).unwrap();

        let res = rx.await.unwrap();

        // This passing demonstrates that the const in the macro is
        // not shadowing the caller-specified COUNT value
        assert_eq!(2, res);
    }

    // Regression test for: https://github.com/tokio-rs/tokio/issues/7031
    // An uninhabited `Ok` or error type must not trigger `unreachable_code`
    // in the caller.
    #[deny(unreachable_code)]
    #[minirt::test]
    async fn uninhabited_ok_type() {
        let res = minirt::try_join!(async { Err::<Infallible, _>(1) }, async { Ok(2) });
        assert_eq!(res, Err(1));

        let res = minirt::try_join!(biased; async { Err::<Infallible, _>(1) }, async { Ok(2) });
        assert_eq!(res, Err(1));

        let res = minirt::try_join!(async { Ok::<_, i32>(1) }, async { Err::<Infallible, _>(2) });
        assert_eq!(res, Err(2));

        let res =
            minirt::try_join!(biased; async { Ok::<_, i32>(1) }, async { Err::<Infallible, _>(2) });
        assert_eq!(res, Err(2));

        let res = minirt::try_join!(async { Err::<Infallible, i32>(1) });
        assert_eq!(res, Err(1));
    }

    #[deny(unreachable_code)]
    #[minirt::test]
    async fn uninhabited_err_type() {
        let res = minirt::try_join!(async { Ok::<_, Infallible>(1) }, async { Ok(2) });
        assert_eq!(res, Ok((1, 2)));

        let res = minirt::try_join!(biased; async { Ok::<_, Infallible>(1) }, async { Ok(2) });
        assert_eq!(res, Ok((1, 2)));

        let res = minirt::try_join!(async { Ok::<_, Infallible>(1) });
        assert_eq!(res, Ok((1,)));
    }
}

mod pin {
    async fn one() {}
    async fn two() {}

    #[minirt::test]
    async fn multi_pin() {
        minirt::pin! {
            let f1 = one();
            let f2 = two();
        }
        (&mut f1).await;
        (&mut f2).await;
    }

    #[minirt::test]
    async fn pin_idents_in_place() {
        let a = async { 1 };
        let b = async { 2 };
        minirt::pin!(a, b);
        assert_eq!((&mut a).await + (&mut b).await, 3);
    }
}

#[minirt::test]
async fn join_many_and_across_tasks() {
    let (tx, rx) = oneshot::channel::<u32>();
    let sender = minirt::spawn(async move {
        minirt::task::yield_now().await;
        tx.send(5).unwrap();
    });
    let (a, b, c) = minirt::join!(rx, async { 2 }, sender);
    assert_eq!((a.unwrap(), b), (5, 2));
    c.unwrap();
}

/// tokio's `join_does_not_allow_tasks_to_starve` and `try_join_does_not_allow_tasks_to_starve`:
/// a future that acquires permits in a tight loop spends its task's budget and yields, so the
/// other future of the join gets to run.
mod starvation {
    use std::sync::Arc;

    use minirt::sync::Semaphore;

    async fn non_cooperative_task(permits: Arc<Semaphore>) -> usize {
        let mut exceeded_budget = 0;
        for _ in 0..5 {
            // Another task should run after this task uses its whole budget
            for _ in 0..128 {
                let _permit = permits.clone().acquire_owned().await.unwrap();
            }
            exceeded_budget += 1;
        }
        exceeded_budget
    }

    async fn poor_little_task(permits: Arc<Semaphore>) -> usize {
        let mut how_many_times_i_got_to_run = 0;
        for _ in 0..5 {
            let _permit = permits.clone().acquire_owned().await.unwrap();
            how_many_times_i_got_to_run += 1;
        }
        how_many_times_i_got_to_run
    }

    #[minirt::test]
    async fn join_does_not_allow_tasks_to_starve() {
        let permits = Arc::new(Semaphore::new(1));
        // non_cooperative_task should yield after its budget is exceeded and then
        // poor_little_task should run.
        let (non_cooperative_result, little_task_result) =
            minirt::join!(non_cooperative_task(Arc::clone(&permits)), poor_little_task(permits));
        assert_eq!(5, non_cooperative_result);
        assert_eq!(5, little_task_result);
    }

    #[minirt::test]
    async fn try_join_does_not_allow_tasks_to_starve() {
        let permits = Arc::new(Semaphore::new(10));
        let mine = Arc::clone(&permits);
        let result = minirt::try_join!(
            async move { Ok::<_, String>(non_cooperative_task(mine).await) },
            async move { Ok::<_, String>(poor_little_task(permits).await) }
        );
        let (non_cooperative_result, little_task_result) = result.unwrap();
        assert_eq!(5, non_cooperative_result);
        assert_eq!(5, little_task_result);
    }
}

/// tokio's `join_size`: a `join!` future holds its futures, one pointer each and the rotation,
/// nothing more (the sizes are tokio's).
#[test]
#[cfg(target_pointer_width = "64")]
fn join_size() {
    use futures_util::future;
    use std::mem;

    let fut = async {
        let ready = future::ready(0i32);
        minirt::join!(ready)
    };
    assert_eq!(mem::size_of_val(&fut), 32);

    let fut = async {
        let ready1 = future::ready(0i32);
        let ready2 = future::ready(0i32);
        minirt::join!(ready1, ready2)
    };
    assert_eq!(mem::size_of_val(&fut), 48);
}
