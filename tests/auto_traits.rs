//! The public types can cross threads the way tokio's do: a runtime, its handle, join handles
//! and sockets are `Send + Sync`, and wakers built by the runtime are `Send + Sync` by type; the
//! locks of `minirt::sync` and their guards are `Send`/`Sync` for exactly the value types that
//! make tokio's so (checked in both directions: a missing and a surplus impl are both errors);
//! and the time futures are `Unpin` exactly where tokio's are (`Sleep` and `Timeout` are not).

use std::os::fd::OwnedFd;

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<minirt::runtime::Runtime>();
    send_sync::<minirt::runtime::Handle>();
    send_sync::<minirt::task::JoinHandle<Vec<u8>>>();
    send_sync::<minirt::task::JoinError>();
    send_sync::<minirt::net::TcpListener>();
    send_sync::<minirt::net::TcpStream>();
    send_sync::<minirt::net::tcp::OwnedReadHalf>();
    send_sync::<minirt::net::tcp::OwnedWriteHalf>();
    send_sync::<minirt::io::AsyncFd<OwnedFd>>();
}

// Negative assertions: `<T as AmbiguousIfSend<_>>::some_item` names one method when `T` is not
// `Send` (only the `()` impl applies) and is ambiguous, a compile error, when it is.
trait AmbiguousIfSend<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

trait AmbiguousIfSync<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

fn require_send<T: ?Sized + Send>() {}
fn require_sync<T: ?Sized + Sync>() {}

/// `check!(Type => Send: yes, Sync: no)`: fails to compile unless `Type` is exactly that.
macro_rules! check {
    ($t:ty => Send: $send:ident, Sync: $sync:ident) => {{
        check!(@Send $send, $t);
        check!(@Sync $sync, $t);
    }};
    (@Send yes, $t:ty) => { require_send::<$t>() };
    (@Send no, $t:ty) => { let _ = <$t as AmbiguousIfSend<_>>::some_item; };
    (@Sync yes, $t:ty) => { require_sync::<$t>() };
    (@Sync no, $t:ty) => { let _ = <$t as AmbiguousIfSync<_>>::some_item; };
}

// One value type for each combination of the two traits.
type Both = u8;
type SendOnly = std::cell::Cell<u8>;
/// `Sync` but not `Send`: a guard whose unlock must run on the locking thread.
type SyncOnly = std::sync::MutexGuard<'static, u8>;
type Neither = std::rc::Rc<u8>;

trait AmbiguousIfUnpin<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
impl<T: ?Sized + Unpin> AmbiguousIfUnpin<u8> for T {}

fn require_unpin<T: ?Sized + Unpin>() {}

/// `check_unpin!(Type => no)`: fails to compile unless `Type` is exactly that.
macro_rules! check_unpin {
    ($t:ty => yes) => {
        require_unpin::<$t>()
    };
    ($t:ty => no) => {
        let _ = <$t as AmbiguousIfUnpin<_>>::some_item;
    };
}

/// The time futures against tokio's `tests/async_send_sync.rs`: `Sleep` and `Timeout` are
/// `!Unpin` (a `Timeout` even around an `Unpin` future), `Interval` is `Unpin` (it boxes its
/// sleep), all three `Send + Sync`. Checked against minirt and against tokio, as above.
macro_rules! time_traits {
    () => {{
        check_unpin!(time::Sleep => no);
        check_unpin!(time::Timeout<std::future::Ready<()>> => no);
        check_unpin!(time::Interval => yes);
        check!(time::Sleep => Send: yes, Sync: yes);
        check!(time::Timeout<std::future::Ready<()>> => Send: yes, Sync: yes);
        check!(time::Interval => Send: yes, Sync: yes);
    }};
}

#[test]
fn time_futures_are_unpin_exactly_as_tokios() {
    use minirt::time;
    time_traits!();
}

/// The time table, read against tokio itself.
#[test]
fn the_time_table_is_tokios() {
    use tokio::time;
    time_traits!();
}

/// The lock and guard types of `sync::{Mutex, RwLock}` against tokio's bounds (read from its
/// `unsafe impl`s and fields), for every combination of `Send` and `Sync` of the value `T` (and
/// of the mapped part `U` where a guard has one). The same table is checked against minirt's
/// types and against tokio's, so a difference from tokio is a compile error on one side.
macro_rules! lock_guard_traits {
    () => {{
        // Mutex<T>: Send and Sync if T: Send.
        check!(sync::Mutex<Both> => Send: yes, Sync: yes);
        check!(sync::Mutex<SendOnly> => Send: yes, Sync: yes);
        check!(sync::Mutex<SyncOnly> => Send: no, Sync: no);
        check!(sync::Mutex<Neither> => Send: no, Sync: no);

        // MutexGuard<T>: Send if T: Send; Sync if T: Send + Sync.
        check!(sync::MutexGuard<'static, Both> => Send: yes, Sync: yes);
        check!(sync::MutexGuard<'static, SendOnly> => Send: yes, Sync: no);
        check!(sync::MutexGuard<'static, SyncOnly> => Send: no, Sync: no);
        check!(sync::MutexGuard<'static, Neither> => Send: no, Sync: no);

        // OwnedMutexGuard<T>: Send if T: Send; Sync if T: Send + Sync.
        check!(sync::OwnedMutexGuard<Both> => Send: yes, Sync: yes);
        check!(sync::OwnedMutexGuard<SendOnly> => Send: yes, Sync: no);
        check!(sync::OwnedMutexGuard<SyncOnly> => Send: no, Sync: no);
        check!(sync::OwnedMutexGuard<Neither> => Send: no, Sync: no);

        // MappedMutexGuard<T>: Send if T: Send; Sync if T: Sync.
        check!(sync::MappedMutexGuard<'static, Both> => Send: yes, Sync: yes);
        check!(sync::MappedMutexGuard<'static, SendOnly> => Send: yes, Sync: no);
        check!(sync::MappedMutexGuard<'static, SyncOnly> => Send: no, Sync: yes);
        check!(sync::MappedMutexGuard<'static, Neither> => Send: no, Sync: no);

        // RwLock<T>: Send if T: Send; Sync if T: Send + Sync.
        check!(sync::RwLock<Both> => Send: yes, Sync: yes);
        check!(sync::RwLock<SendOnly> => Send: yes, Sync: no);
        check!(sync::RwLock<SyncOnly> => Send: no, Sync: no);
        check!(sync::RwLock<Neither> => Send: no, Sync: no);

        // RwLockReadGuard<T>: Send if T: Sync; Sync if T: Send + Sync.
        check!(sync::RwLockReadGuard<'static, Both> => Send: yes, Sync: yes);
        check!(sync::RwLockReadGuard<'static, SendOnly> => Send: no, Sync: no);
        check!(sync::RwLockReadGuard<'static, SyncOnly> => Send: yes, Sync: no);
        check!(sync::RwLockReadGuard<'static, Neither> => Send: no, Sync: no);

        // RwLockWriteGuard<T> and RwLockMappedWriteGuard<T>: Send and Sync if T: Send + Sync.
        check!(sync::RwLockWriteGuard<'static, Both> => Send: yes, Sync: yes);
        check!(sync::RwLockWriteGuard<'static, SendOnly> => Send: no, Sync: no);
        check!(sync::RwLockWriteGuard<'static, SyncOnly> => Send: no, Sync: no);
        check!(sync::RwLockWriteGuard<'static, Neither> => Send: no, Sync: no);
        check!(sync::RwLockMappedWriteGuard<'static, Both> => Send: yes, Sync: yes);
        check!(sync::RwLockMappedWriteGuard<'static, SendOnly> => Send: no, Sync: no);
        check!(sync::RwLockMappedWriteGuard<'static, SyncOnly> => Send: no, Sync: no);
        check!(sync::RwLockMappedWriteGuard<'static, Neither> => Send: no, Sync: no);

        // OwnedRwLockWriteGuard<T>: Send and Sync if T: Send + Sync.
        check!(sync::OwnedRwLockWriteGuard<Both> => Send: yes, Sync: yes);
        check!(sync::OwnedRwLockWriteGuard<SendOnly> => Send: no, Sync: no);
        check!(sync::OwnedRwLockWriteGuard<SyncOnly> => Send: no, Sync: no);
        check!(sync::OwnedRwLockWriteGuard<Neither> => Send: no, Sync: no);

        // OwnedRwLockReadGuard<T, U>: Send if T: Send + Sync and U: Sync; Sync if both are
        // Send + Sync.
        check!(sync::OwnedRwLockReadGuard<Both, Both> => Send: yes, Sync: yes);
        check!(sync::OwnedRwLockReadGuard<SendOnly, Both> => Send: no, Sync: no);
        check!(sync::OwnedRwLockReadGuard<SyncOnly, Both> => Send: no, Sync: no);
        check!(sync::OwnedRwLockReadGuard<Neither, Both> => Send: no, Sync: no);
        check!(sync::OwnedRwLockReadGuard<Both, SendOnly> => Send: no, Sync: no);
        check!(sync::OwnedRwLockReadGuard<Both, SyncOnly> => Send: yes, Sync: no);
        check!(sync::OwnedRwLockReadGuard<Both, Neither> => Send: no, Sync: no);

        // OwnedRwLockMappedWriteGuard<T, U>: Send and Sync if both are Send + Sync.
        check!(sync::OwnedRwLockMappedWriteGuard<Both, Both> => Send: yes, Sync: yes);
        check!(sync::OwnedRwLockMappedWriteGuard<SendOnly, Both> => Send: no, Sync: no);
        check!(sync::OwnedRwLockMappedWriteGuard<SyncOnly, Both> => Send: no, Sync: no);
        check!(sync::OwnedRwLockMappedWriteGuard<Neither, Both> => Send: no, Sync: no);
        check!(sync::OwnedRwLockMappedWriteGuard<Both, SendOnly> => Send: no, Sync: no);
        check!(sync::OwnedRwLockMappedWriteGuard<Both, SyncOnly> => Send: no, Sync: no);
        check!(sync::OwnedRwLockMappedWriteGuard<Both, Neither> => Send: no, Sync: no);
    }};
}

#[test]
fn lock_guards_are_send_and_sync_exactly_as_tokios() {
    use minirt::sync;
    lock_guard_traits!();
}

/// The table above, read against tokio itself: if tokio's bounds change, this says so.
#[test]
fn the_table_is_tokios() {
    use tokio::sync;
    lock_guard_traits!();
}

/// The mpsc receivers against tokio's: `Send` and `Sync` if `T: Send` (the receiver's own
/// buffer of values must not change that), and `Unpin` whatever `T` is (tokio-stream's
/// `ReceiverStream` polls one through `Pin<&mut Self>`).
macro_rules! mpsc_receiver_traits {
    () => {{
        check!(sync::mpsc::Receiver<Both> => Send: yes, Sync: yes);
        check!(sync::mpsc::Receiver<SendOnly> => Send: yes, Sync: yes);
        check!(sync::mpsc::Receiver<SyncOnly> => Send: no, Sync: no);
        check!(sync::mpsc::Receiver<Neither> => Send: no, Sync: no);
        check!(sync::mpsc::UnboundedReceiver<Both> => Send: yes, Sync: yes);
        check!(sync::mpsc::UnboundedReceiver<SendOnly> => Send: yes, Sync: yes);
        check!(sync::mpsc::UnboundedReceiver<SyncOnly> => Send: no, Sync: no);
        check!(sync::mpsc::UnboundedReceiver<Neither> => Send: no, Sync: no);
        check_unpin!(sync::mpsc::Receiver<std::marker::PhantomPinned> => yes);
        check_unpin!(sync::mpsc::UnboundedReceiver<std::marker::PhantomPinned> => yes);
    }};
}

/// `broadcast`'s handles against tokio's `tests/async_send_sync.rs`: `Send + Sync` when the
/// value is `Send` (receivers clone a value one at a time, so it need not be `Sync`), neither
/// otherwise. Checked against minirt and against tokio, as above.
macro_rules! broadcast_traits {
    () => {{
        check!(broadcast::Sender<Both> => Send: yes, Sync: yes);
        check!(broadcast::Sender<SendOnly> => Send: yes, Sync: yes);
        check!(broadcast::Sender<SyncOnly> => Send: no, Sync: no);
        check!(broadcast::Sender<Neither> => Send: no, Sync: no);
        check!(broadcast::WeakSender<Both> => Send: yes, Sync: yes);
        check!(broadcast::WeakSender<SendOnly> => Send: yes, Sync: yes);
        check!(broadcast::WeakSender<SyncOnly> => Send: no, Sync: no);
        check!(broadcast::WeakSender<Neither> => Send: no, Sync: no);
        check!(broadcast::Receiver<Both> => Send: yes, Sync: yes);
        check!(broadcast::Receiver<SendOnly> => Send: yes, Sync: yes);
        check!(broadcast::Receiver<SyncOnly> => Send: no, Sync: no);
        check!(broadcast::Receiver<Neither> => Send: no, Sync: no);

        // `recv`'s future, for every `Send` value type (it has no name to check `no` with).
        #[allow(dead_code)]
        fn recv_is_send_sync<T: Clone + Send>(rx: &mut broadcast::Receiver<T>) {
            fn send_sync_value<V: Send + Sync>(_: &V) {}
            send_sync_value(&rx.recv());
        }
    }};
}

#[test]
fn mpsc_receivers_have_tokios_auto_traits() {
    use minirt::sync;
    mpsc_receiver_traits!();
}

/// The mpsc receiver table, read against tokio itself.
#[test]
fn the_mpsc_receiver_table_is_tokios() {
    use tokio::sync;
    mpsc_receiver_traits!();
}

#[test]
fn broadcast_is_send_and_sync_exactly_as_tokios() {
    use minirt::sync::broadcast;
    broadcast_traits!();
}

/// The broadcast table, read against tokio itself.
#[test]
fn the_broadcast_table_is_tokios() {
    use tokio::sync::broadcast;
    broadcast_traits!();
}
