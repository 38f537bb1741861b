//! A channel for one value, from one [`Sender`] to one [`Receiver`]. tokio's `oneshot`.
//!
//! Both halves share an `Arc` of one lock around: the value (once sent), whether the sender
//! is gone, whether the receiver closed, and one waker slot per side (the receiver waits for
//! the value, the sender in [`Sender::closed`] waits for the receiver to go away). Each side
//! wakes the other after releasing the lock; a value the receiver never takes is dropped after
//! the lock too.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{lock, store_waker};
use crate::loom::sync::{Arc, Mutex};

/// The errors of [`Receiver`].
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// The sender was dropped without sending.
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub struct RecvError(pub(super) ());

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub enum TryRecvError {
        /// No value yet; the sender is still alive.
        Empty,
        /// The sender was dropped without sending, or the value was already taken.
        Closed,
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(fmt, "channel closed")
        }
    }

    impl Error for RecvError {}

    impl fmt::Display for TryRecvError {
        fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => write!(fmt, "channel empty"),
                TryRecvError::Closed => write!(fmt, "channel closed"),
            }
        }
    }

    impl Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

struct State<T> {
    value: Option<T>,
    /// The sender sent or was dropped: no value will come after `value`.
    complete: bool,
    /// The receiver closed or was dropped: a send now fails.
    rx_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

type Inner<T> = Mutex<State<T>>;

/// Sends the value. tokio's `oneshot::Sender`.
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the value: `.await` it, or [`try_recv`](Receiver::try_recv). tokio's
/// `oneshot::Receiver`.
pub struct Receiver<T> {
    inner: Option<Arc<Inner<T>>>,
}

/// A new oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Mutex::new(State {
        value: None,
        complete: false,
        rx_closed: false,
        rx_waker: None,
        tx_waker: None,
    }));
    (Sender { inner: Some(inner.clone()) }, Receiver { inner: Some(inner) })
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is gone (or closed).
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a Sender is only consumed once");
        let mut state = lock(&inner);
        if state.rx_closed {
            drop(state);
            return Err(value);
        }
        state.value = Some(value);
        state.complete = true;
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Waits until the receiver is dropped or closed. Cancel-safe.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        match self.inner.as_ref() {
            Some(inner) => lock(inner).rx_closed,
            None => true,
        }
    }

    /// `Ready` once the receiver is dropped or closed; otherwise stores the waker.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if crate::scheduler::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let Some(inner) = self.inner.as_ref() else {
            return Poll::Ready(());
        };
        let mut new_waker = None;
        loop {
            let mut state = lock(inner);
            if state.rx_closed {
                return Poll::Ready(());
            }
            match store_waker(&mut state.tx_waker, cx.waker(), &mut new_waker) {
                Ok(old) => {
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
                Err(()) => {
                    drop(state);
                    new_waker = Some(cx.waker().clone());
                }
            }
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut state = lock(&inner);
        state.complete = true;
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Stops the channel: a later `send` fails (and gives its value back). A value sent
    /// before can still be received.
    pub fn close(&mut self) {
        let Some(inner) = self.inner.as_ref() else {
            return;
        };
        let mut state = lock(inner);
        state.rx_closed = true;
        let waker = state.tx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The value if it was sent; [`TryRecvError::Empty`] if not yet;
    /// [`TryRecvError::Closed`] if it never will be (or was already taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = self.inner.as_ref() else {
            return Err(TryRecvError::Closed);
        };
        let mut state = lock(inner);
        if let Some(value) = state.value.take() {
            drop(state);
            self.inner = None;
            return Ok(value);
        }
        if state.complete || state.rx_closed {
            drop(state);
            self.inner = None;
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// Waits for the value from a thread outside any runtime, parking it.
    ///
    /// # Panics
    /// When called from inside a runtime.
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        super::block_on(self)
    }

    /// Whether the value was received (or the channel found closed) by this receiver.
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether there is no value to receive right now.
    pub fn is_empty(&self) -> bool {
        match self.inner.as_ref() {
            Some(inner) => lock(inner).value.is_none(),
            None => true,
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if crate::scheduler::poll_budget(cx).is_pending() {
            return Poll::Pending;
        }
        let inner = this.inner.as_ref().expect("called after complete");
        let mut new_waker = None;
        loop {
            let mut state = lock(inner);
            if let Some(value) = state.value.take() {
                drop(state);
                this.inner = None;
                return Poll::Ready(Ok(value));
            }
            if state.complete || state.rx_closed {
                drop(state);
                this.inner = None;
                return Poll::Ready(Err(RecvError(())));
            }
            match store_waker(&mut state.rx_waker, cx.waker(), &mut new_waker) {
                Ok(old) => {
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
                Err(()) => {
                    drop(state);
                    new_waker = Some(cx.waker().clone());
                }
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut state = lock(&inner);
        state.rx_closed = true;
        let value = state.value.take();
        let tx_waker = state.tx_waker.take();
        let rx_waker = state.rx_waker.take();
        drop(state);
        drop(value);
        drop(rx_waker);
        if let Some(waker) = tx_waker {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
