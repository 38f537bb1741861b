//! Graceful shutdown for the minirt example servers: on SIGINT (Ctrl-C) or SIGTERM, stop
//! accepting, give the connections in flight a bounded time to finish, then return from `main`
//! (exit status 0). Connections still open after the grace period are cut when the runtime
//! drops their tasks.
//!
//! ```text
//!  StopSignals::listen()       SIGINT + SIGTERM listeners, made before the start-up line is
//!                              printed: whoever reads that line may signal at once
//!  stop.run_until(accept loop) the accept loop runs until a signal: then it is dropped (and
//!                              with it the listener: new connections are refused)
//!  tracker.enter()             one guard per connection task: counts what is in flight
//!  stop.shut_down(&tracker, GRACE)
//!                              marks "closing" (servers stop keeping connections alive, and
//!                              `tracker.closing()` completes for those that wait on it) and
//!                              waits until the count is 0, the grace period ends, or a second
//!                              stop signal arrives
//! ```
//!
//! Per connection this costs one atomic increment and decrement; nothing on the read/write path.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use minirt::signal::unix::{signal, Signal, SignalKind};
use minirt::sync::watch;

/// How long the connections in flight get to finish after a stop signal.
pub const GRACE: Duration = Duration::from_secs(5);

/// Listeners for the two signals that ask a server to stop.
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    /// Starts listening for SIGINT and SIGTERM: from now on they no longer kill the process.
    pub fn listen() -> io::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Runs `fut` until it completes (`Ok` with its output) or a stop signal arrives (`Err` with
    /// the signal's name; `fut` is dropped).
    pub async fn run_until<F: Future>(&mut self, fut: F) -> Result<F::Output, &'static str> {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            if let Poll::Ready(output) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(output));
            }
            if self.interrupt.poll_recv(cx).is_ready() {
                return Poll::Ready(Err("SIGINT"));
            }
            if self.terminate.poll_recv(cx).is_ready() {
                return Poll::Ready(Err("SIGTERM"));
            }
            Poll::Pending
        })
        .await
    }

    /// `tracker.shut_down(grace)`, cut short by a second stop signal: whoever presses Ctrl-C
    /// twice wants out now, not after the grace period (which otherwise swallows the second
    /// signal, so the exit at its end looks as if the second signal had been needed).
    pub async fn shut_down(&mut self, tracker: &Tracker, grace: Duration) -> usize {
        match self.run_until(tracker.shut_down(grace)).await {
            Ok(cut) => cut,
            Err(signal) => {
                eprintln!("{signal} again: not waiting for the connections in flight");
                tracker.active()
            }
        }
    }
}

/// Counts the connections in flight, and tells them when the server is closing.
#[derive(Clone, Default)]
pub struct Tracker {
    inner: Arc<Inner>,
}

struct Inner {
    active: AtomicUsize,
    /// `true` once `shut_down` has begun; `closing()` waits for it.
    closing: watch::Sender<bool>,
    /// The task waiting in `shut_down`, woken when `active` drops to 0.
    drained: Mutex<Option<Waker>>,
}

impl Default for Inner {
    fn default() -> Inner {
        Inner {
            active: AtomicUsize::new(0),
            closing: watch::Sender::new(false),
            drained: Mutex::new(None),
        }
    }
}

/// Held by a connection task while it runs.
pub struct Guard {
    inner: Arc<Inner>,
}

impl Tracker {
    /// Counts one more connection until the returned guard drops.
    pub fn enter(&self) -> Guard {
        self.inner.active.fetch_add(1, Ordering::SeqCst);
        Guard { inner: self.inner.clone() }
    }

    /// Connections in flight.
    pub fn active(&self) -> usize {
        self.inner.active.load(Ordering::SeqCst)
    }

    /// Whether `shut_down` has begun: a connection should finish its current request, then
    /// close instead of waiting for another.
    pub fn is_closing(&self) -> bool {
        *self.inner.closing.borrow()
    }

    /// Completes once `shut_down` has begun (at once if it has): for a task that waits on
    /// something else between requests (a chat client, a datagram socket, a hyper connection)
    /// and must hear of the shutdown while it waits.
    pub async fn closing(&self) {
        // `wait_for` looks at the current value before it waits, so a shutdown that began
        // before this call is seen.
        let mut closing = self.inner.closing.subscribe();
        let _ = closing.wait_for(|closing| *closing).await;
    }

    /// Marks the server closing and waits until no connection is in flight, for at most
    /// `grace`. Returns how many were still in flight (0: all finished).
    pub async fn shut_down(&self, grace: Duration) -> usize {
        // `send_replace` stores the value even when nobody is subscribed yet.
        self.inner.closing.send_replace(true);
        let drained = poll_fn(|cx| {
            // Store the waker before checking the count: a guard dropping after the check
            // finds it and wakes us.
            let fresh = cx.waker().clone();
            let old = self.inner.drained.lock().unwrap_or_else(|p| p.into_inner()).replace(fresh);
            drop(old);
            if self.active() == 0 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        let _ = minirt::time::timeout(grace, drained).await;
        self.active()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.inner.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            let waker = self.inner.drained.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}
