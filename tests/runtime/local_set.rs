//! `LocalSet`: `!Send` futures stay on the set's thread whoever wakes, aborts or joins them.

use crate::common;

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use common::{must_complete, watchdog};
use minirt::task::{self, LocalSet};

/// Records the thread its drop ran on; holds an `Rc`, so it is not `Send`.
struct DropsOn {
    _not_send: Rc<()>,
    dropped_on: Arc<Mutex<Option<ThreadId>>>,
}

impl Drop for DropsOn {
    fn drop(&mut self) {
        *self.dropped_on.lock().unwrap() = Some(thread::current().id());
    }
}

#[test]
fn woken_and_aborted_from_other_threads_a_local_future_stays_on_its_thread() {
    let _watchdog = watchdog("local_future_stays_on_its_thread");
    let rt = minirt::runtime::Builder::new_current_thread().build().expect("runtime");
    let local = LocalSet::new();
    let here = thread::current().id();
    let dropped_on = Arc::new(Mutex::new(None));
    local.block_on(&rt, async {
        // Woken from a std thread: it still runs here.
        let (tx, rx) = minirt::sync::oneshot::channel::<()>();
        let ran_on = task::spawn_local(async move {
            let rc = Rc::new(5);
            rx.await.expect("sent");
            (*rc, thread::current().id())
        });
        thread::spawn(move || tx.send(()).expect("receiver alive"));
        let (five, ran_on) = must_complete("local task", ran_on).await.expect("no panic");
        assert_eq!((five, ran_on), (5, here));

        // Aborted from a std thread: its future is dropped here.
        let guard = DropsOn { _not_send: Rc::new(()), dropped_on: dropped_on.clone() };
        let pending = task::spawn_local(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        minirt::task::yield_now().await;
        let abort = pending.abort_handle();
        thread::spawn(move || abort.abort()).join().expect("aborter");
        assert!(must_complete("aborted", pending).await.expect_err("aborted").is_cancelled());
    });
    assert_eq!(*dropped_on.lock().unwrap(), Some(here), "dropped on the set's thread");
}

#[test]
fn dropping_the_set_drops_its_futures_on_its_thread() {
    let _watchdog = watchdog("dropping_the_set_drops_its_futures_on_its_thread");
    let rt = minirt::runtime::Builder::new_current_thread().build().expect("runtime");
    let local = LocalSet::new();
    let dropped_on = Arc::new(Mutex::new(None));
    let started = Arc::new(AtomicBool::new(false));
    let guard = DropsOn { _not_send: Rc::new(()), dropped_on: dropped_on.clone() };
    let flag = started.clone();
    let handle = local.spawn_local(async move {
        let _guard = guard;
        flag.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await
    });
    local.block_on(&rt, common::settle());
    assert!(started.load(Ordering::SeqCst));
    drop(local);
    assert_eq!(*dropped_on.lock().unwrap(), Some(thread::current().id()));
    assert!(rt.block_on(handle).expect_err("cancelled").is_cancelled());
}

#[test]
#[should_panic(expected = "`spawn_local` called from outside of a `task::LocalSet`")]
fn spawn_local_outside_a_set_panics_with_tokios_message() {
    let rt = minirt::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(async {
        drop(task::spawn_local(async {}));
    });
}
