//! select!, ported from tokio's tests/macros_select.rs (`tokio` renamed to `minirt`; tokio's
//! oneshot/mpsc replaced by futures-channel's, tokio-test's mock task by a small one below).
//! Left out: the struct-size tests (our layout differs) and the RNG-seed tests (no seeded RNG).

#![allow(clippy::disallowed_names)]

use futures_channel::oneshot;

use std::future::poll_fn;
use std::task::Poll::Ready;

macro_rules! assert_ok {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => panic!("assertion failed: Err({:?})", e),
        }
    };
}

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

#[minirt::test]
async fn sync_one_lit_expr_comma() {
    let foo = minirt::select! {
        foo = async { 1 } => foo,
    };

    assert_eq!(foo, 1);
}

#[minirt::test]
async fn no_branch_else_only() {
    let foo = minirt::select! {
        else => 1,
    };

    assert_eq!(foo, 1);
}

#[minirt::test]
async fn no_branch_else_only_biased() {
    let foo = minirt::select! {
        biased;
        else => 1,
    };

    assert_eq!(foo, 1);
}

#[minirt::test]
async fn nested_one() {
    let foo = minirt::select! {
        foo = async { 1 } => minirt::select! {
            bar = async { foo } => bar,
        },
    };

    assert_eq!(foo, 1);
}

#[minirt::test]
async fn sync_one_lit_expr_no_comma() {
    let foo = minirt::select! {
        foo = async { 1 } => foo
    };

    assert_eq!(foo, 1);
}

#[minirt::test]
async fn sync_one_lit_expr_block() {
    let foo = minirt::select! {
        foo = async { 1 } => { foo }
    };

    assert_eq!(foo, 1);
}

#[minirt::test]
async fn sync_one_await() {
    let foo = minirt::select! {
        foo = one() => foo,
    };

    assert_eq!(foo, 1);
}

#[minirt::test]
async fn sync_one_ident() {
    let one = one();

    let foo = minirt::select! {
        foo = one => foo,
    };

    assert_eq!(foo, 1);
}

#[minirt::test]
async fn sync_two() {
    use std::cell::Cell;

    let cnt = Cell::new(0);

    let res = minirt::select! {
        foo = async {
            cnt.set(cnt.get() + 1);
            1
        } => foo,
        bar = async {
            cnt.set(cnt.get() + 1);
            2
        } => bar,
    };

    assert_eq!(1, cnt.get());
    assert!(res == 1 || res == 2);
}

#[minirt::test]
async fn drop_in_fut() {
    let s = "hello".to_string();

    let res = minirt::select! {
        foo = async {
            let v = one().await;
            drop(s);
            v
        } => foo
    };

    assert_eq!(res, 1);
}

#[minirt::test]
async fn one_ready() {
    let (tx1, rx1) = oneshot::channel::<i32>();
    let (_tx2, rx2) = oneshot::channel::<i32>();

    tx1.send(1).unwrap();

    let v = minirt::select! {
        res = rx1 => {
            assert_ok!(res)
        },
        _ = rx2 => unreachable!(),
    };

    assert_eq!(1, v);
}

#[minirt::test]
async fn select_streams() {
    use futures_channel::mpsc;
    use futures_util::StreamExt;

    let (tx1, mut rx1) = mpsc::unbounded::<i32>();
    let (tx2, mut rx2) = mpsc::unbounded::<i32>();

    minirt::spawn(async move {
        assert_ok!(tx2.unbounded_send(1));
        minirt::task::yield_now().await;

        assert_ok!(tx1.unbounded_send(2));
        minirt::task::yield_now().await;

        assert_ok!(tx2.unbounded_send(3));
        minirt::task::yield_now().await;

        drop((tx1, tx2));
    });

    let mut rem = true;
    let mut msgs = vec![];

    while rem {
        minirt::select! {
            Some(x) = rx1.next() => {
                msgs.push(x);
            }
            Some(y) = rx2.next() => {
                msgs.push(y);
            }
            else => {
                rem = false;
            }
        }
    }

    msgs.sort_unstable();
    assert_eq!(&msgs[..], &[1, 2, 3]);
}

#[minirt::test]
async fn move_uncompleted_futures() {
    let (tx1, mut rx1) = oneshot::channel::<i32>();
    let (tx2, mut rx2) = oneshot::channel::<i32>();

    tx1.send(1).unwrap();
    tx2.send(2).unwrap();

    let ran;

    minirt::select! {
        res = &mut rx1 => {
            assert_eq!(1, assert_ok!(res));
            assert_eq!(2, assert_ok!(rx2.await));
            ran = true;
        },
        res = &mut rx2 => {
            assert_eq!(2, assert_ok!(res));
            assert_eq!(1, assert_ok!(rx1.await));
            ran = true;
        },
    }

    assert!(ran);
}

#[minirt::test]
async fn nested() {
    let res = minirt::select! {
        x = async { 1 } => {
            minirt::select! {
                y = async { 2 } => x + y,
            }
        }
    };

    assert_eq!(res, 3);
}

#[minirt::test]
async fn mutable_borrowing_future_with_same_borrow_in_block() {
    let mut value = 234;

    minirt::select! {
        _ = require_mutable(&mut value) => { },
        _ = async_noop() => {
            value += 5;
        },
    }

    assert!(value >= 234);
}

#[minirt::test]
async fn mutable_borrowing_future_with_same_borrow_in_block_and_else() {
    let mut value = 234;

    minirt::select! {
        _ = require_mutable(&mut value) => { },
        _ = async_noop() => {
            value += 5;
        },
        else => {
            value += 27;
        },
    }

    assert!(value >= 234);
}

#[minirt::test]
async fn future_panics_after_poll() {
    use mock_task as task;

    let (tx, rx) = oneshot::channel();

    let mut polled = false;

    let f = poll_fn(|_| {
        assert!(!polled);
        polled = true;
        Ready(None::<()>)
    });

    let mut f = task::spawn(async {
        minirt::select! {
            Some(_) = f => unreachable!(),
            ret = rx => ret.unwrap(),
        }
    });

    assert_pending!(f.poll());
    assert_pending!(f.poll());

    assert_ok!(tx.send(1));

    let res = assert_ready!(f.poll());
    assert_eq!(1, res);
}

#[minirt::test]
async fn disable_with_if() {
    use mock_task as task;

    let f = poll_fn(|_| panic!());
    let (tx, rx) = oneshot::channel();

    let mut f = task::spawn(async {
        minirt::select! {
            _ = f, if false => unreachable!(),
            _ = rx => (),
        }
    });

    assert_pending!(f.poll());

    assert_ok!(tx.send(()));
    assert!(f.is_woken());

    assert_ready!(f.poll());
}

#[minirt::test]
async fn join_with_select() {
    use mock_task as task;

    let (tx1, mut rx1) = oneshot::channel();
    let (tx2, mut rx2) = oneshot::channel();

    let mut f = task::spawn(async {
        let mut a = None;
        let mut b = None;

        while a.is_none() || b.is_none() {
            minirt::select! {
                v1 = &mut rx1, if a.is_none() => a = Some(assert_ok!(v1)),
                v2 = &mut rx2, if b.is_none() => b = Some(assert_ok!(v2))
            }
        }

        (a.unwrap(), b.unwrap())
    });

    assert_pending!(f.poll());

    assert_ok!(tx1.send(123));
    assert!(f.is_woken());
    assert_pending!(f.poll());

    assert_ok!(tx2.send(456));
    assert!(f.is_woken());
    let (a, b) = assert_ready!(f.poll());

    assert_eq!(a, 123);
    assert_eq!(b, 456);
}

#[minirt::test]
async fn use_future_in_if_condition() {
    use minirt::time::{self, Duration};

    minirt::select! {
        _ = time::sleep(Duration::from_millis(10)), if false => {
            panic!("if condition ignored")
        }
        _ = async { 1u32 } => {
        }
    }
}

#[minirt::test]
async fn use_future_in_if_condition_biased() {
    use minirt::time::{self, Duration};

    minirt::select! {
        biased;
        _ = time::sleep(Duration::from_millis(10)), if false => {
            panic!("if condition ignored")
        }
        _ = async { 1u32 } => {
        }
    }
}

#[minirt::test]
async fn many_branches() {
    let num = minirt::select! {
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
        x = async { 1 } => x,
    };

    assert_eq!(1, num);
}

#[minirt::test]
async fn never_branch_no_warnings() {
    let t = minirt::select! {
        _ = async_never() => 0,
        one_async_ready = one() => one_async_ready,
    };
    assert_eq!(t, 1);
}

async fn one() -> usize {
    1
}

async fn require_mutable(_: &mut i32) {}
async fn async_noop() {}

async fn async_never() -> ! {
    std::future::pending().await
}

// From https://github.com/tokio-rs/tokio/issues/2857
#[minirt::test]
async fn mut_on_left_hand_side() {
    let v = async move {
        let ok = async { 1 };
        minirt::pin!(ok);
        minirt::select! {
            mut a = &mut ok => {
                a += 1;
                a
            }
        }
    }
    .await;
    assert_eq!(v, 2);
}

#[minirt::test]
async fn biased_one_not_ready() {
    let (_tx1, rx1) = oneshot::channel::<i32>();
    let (tx2, rx2) = oneshot::channel::<i32>();
    let (tx3, rx3) = oneshot::channel::<i32>();

    tx2.send(2).unwrap();
    tx3.send(3).unwrap();

    let v = minirt::select! {
        biased;

        _ = rx1 => unreachable!(),
        res = rx2 => {
            assert_ok!(res)
        },
        _ = rx3 => {
            panic!("This branch should never be activated because `rx2` should be polled before `rx3` due to `biased;`.")
        }
    };

    assert_eq!(2, v);
}

#[minirt::test]
async fn biased_eventually_ready() {
    use minirt::task::yield_now;

    let one = async {};
    let two = async { yield_now().await };
    let three = async { yield_now().await };

    let mut count = 0u8;

    minirt::pin!(one, two, three);

    loop {
        minirt::select! {
            biased;

            _ = &mut two, if count < 2 => {
                count += 1;
                assert_eq!(count, 2);
            }
            _ = &mut three, if count < 3 => {
                count += 1;
                assert_eq!(count, 3);
            }
            _ = &mut one, if count < 1 => {
                count += 1;
                assert_eq!(count, 1);
            }
            else => break,
        }
    }

    assert_eq!(count, 3);
}

// https://github.com/tokio-rs/tokio/issues/3830
// https://github.com/rust-lang/rust-clippy/issues/7304
#[warn(clippy::default_numeric_fallback)]
pub async fn default_numeric_fallback() {
    minirt::select! {
        _ = async {} => (),
        else => (),
    }
}

// https://github.com/tokio-rs/tokio/issues/4182
#[minirt::test]
async fn mut_ref_patterns() {
    minirt::select! {
        Some(mut foo) = async { Some("1".to_string()) } => {
            assert_eq!(foo, "1");
            foo = "2".to_string();
            assert_eq!(foo, "2");
        },
    };

    minirt::select! {
        Some(ref foo) = async { Some("1".to_string()) } => {
            assert_eq!(*foo, "1");
        },
    };

    minirt::select! {
        Some(ref mut foo) = async { Some("1".to_string()) } => {
            assert_eq!(*foo, "1");
            *foo = "2".to_string();
            assert_eq!(*foo, "2");
        },
    };
}

#[minirt::test]
async fn select_into_future() {
    struct NotAFuture;
    impl std::future::IntoFuture for NotAFuture {
        type Output = ();
        type IntoFuture = std::future::Ready<()>;

        fn into_future(self) -> Self::IntoFuture {
            std::future::ready(())
        }
    }

    minirt::select! {
        () = NotAFuture => {},
    }
}

// regression test for https://github.com/tokio-rs/tokio/issues/6721
#[minirt::test]
async fn temporary_lifetime_extension() {
    minirt::select! {
        () = &mut std::future::ready(()) => {},
    }
}

#[minirt::test]
async fn sixty_four_branches_and_disabled_by_pattern() {
    // Every branch but the last completes with a value its pattern refuses: each is disabled in
    // turn and the last one wins, whatever the random start.
    let v = minirt::select! {
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x, Some(x) = async { None::<u32> } => x,
        Some(x) = async { None::<u32> } => x,
        Some(x) = async { Some(64u32) } => x,
    };
    assert_eq!(v, 64);
}

#[minirt::test]
async fn all_disabled_goes_to_else() {
    let v = minirt::select! {
        Some(x) = async { None::<u8> } => x,
        _ = std::future::pending::<()>(), if false => 1,
        else => 99,
    };
    assert_eq!(v, 99);
}

#[test]
#[should_panic(expected = "all branches are disabled and there is no else branch")]
fn all_disabled_without_else_panics() {
    let rt = minirt::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        minirt::select! {
            Some(x) = async { None::<u8> } => x,
        }
    });
}

#[minirt::test]
async fn unbiased_start_is_random_and_fair() {
    let mut wins = [0u32; 4];
    for _ in 0..400 {
        let i = minirt::select! {
            x = async { 0 } => x,
            x = async { 1 } => x,
            x = async { 2 } => x,
            x = async { 3 } => x,
        };
        wins[i] += 1;
    }
    assert!(wins.iter().all(|&w| w > 0), "every branch wins sometimes: {wins:?}");
}

#[minirt::test]
async fn biased_always_takes_the_first_ready() {
    for _ in 0..100 {
        let i = minirt::select! {
            biased;
            x = async { 0 } => x,
            x = async { 1 } => x,
        };
        assert_eq!(i, 0);
    }
}

#[minirt::test]
async fn break_continue_and_question_mark_in_handlers() {
    async fn run() -> Result<u32, &'static str> {
        let mut n = 0;
        loop {
            minirt::select! {
                v = async { n } => {
                    n += 1;
                    if v < 3 {
                        continue;
                    }
                    if v == 5 {
                        break;
                    }
                },
            }
            if n > 4 {
                Err("stop")?;
            }
        }
        Ok(n)
    }
    assert_eq!(run().await, Err("stop"));
}

#[minirt::test]
async fn sleep_and_timeout_branches() {
    use std::time::Duration;
    let (_tx, rx) = oneshot::channel::<()>();
    let woke = minirt::select! {
        _ = rx => false,
        _ = minirt::time::sleep(Duration::from_millis(5)) => true,
    };
    assert!(woke);
}

/// tokio's `select_is_budget_aware`: once the task's budget is spent, `select!` yields before
/// polling its branches, even one that is always ready.
#[minirt::test]
async fn select_is_budget_aware() {
    const BUDGET: usize = 128;

    let task = || {
        Box::pin(async move {
            minirt::select! {
                biased;

                () = minirt::task::coop::consume_budget() => {},
                () = std::future::ready(()) => {}
            }
        })
    };

    // `futures::poll!`: one poll with this task's context.
    async fn poll_once<F: std::future::Future + Unpin>(
        future: &mut F,
    ) -> std::task::Poll<F::Output> {
        poll_fn(|cx| Ready(std::pin::Pin::new(&mut *future).as_mut().poll(cx))).await
    }

    for _ in 0..BUDGET {
        let poll = poll_once(&mut task()).await;
        assert!(poll.is_ready());
    }

    let poll = poll_once(&mut task()).await;
    assert!(poll.is_pending());
}

/// tokio's `struct_size_1`; with more branches minirt's `select!` holds one pointer per
/// branch more than tokio's (it pins each branch in place instead of projecting a pinned
/// tuple with `unsafe`): 48 and 64 bytes where tokio's are 40 and 48.
#[test]
#[cfg(target_pointer_width = "64")]
fn struct_size() {
    use futures_util::future;
    use std::mem;

    let fut = async {
        let ready = future::ready(0i32);
        minirt::select! { _ = ready => {}, }
    };
    assert_eq!(mem::size_of_val(&fut), 32);

    let fut = async {
        let ready1 = future::ready(0i32);
        let ready2 = future::ready(0i32);
        minirt::select! { _ = ready1 => {}, _ = ready2 => {}, }
    };
    assert_eq!(mem::size_of_val(&fut), 48);

    let fut = async {
        let ready1 = future::ready(0i32);
        let ready2 = future::ready(0i32);
        let ready3 = future::ready(0i32);
        minirt::select! { _ = ready1 => {}, _ = ready2 => {}, _ = ready3 => {}, }
    };
    assert_eq!(mem::size_of_val(&fut), 64);
}
