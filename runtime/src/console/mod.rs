//! The live console: `MINIRT_CONSOLE=127.0.0.1:6669` (or
//! [`Builder::console`](crate::runtime::Builder::console)) serves a page and JSON that show
//! the runtime from inside, refreshed every second, from a thread of its own, so it still
//! answers while every worker is blocked.
//!
//! ```text
//!  hooks (slow_poll/)           Task::new, wakes, Task::run, Task::complete, a worker's
//!                               steals/parks/driver: counters in each task's TABLE entry
//!                               (filled in place, no lock: slow_poll/table.rs), its state
//!                               word (state, polls) and each thread's Slot (with its share
//!                               of the histograms); exact counts, times sampled (about one
//!                               poll in `slow_poll::SAMPLE`)
//!  watchdog (slow_poll/)        a thread of its own: marks the polls that run past a tick,
//!                               keeps the coarse clock that ages use
//!  runtimes.rs                  every runtime built while the console is on, held weakly
//!  snapshot.rs                  on each request: the tasks (state word, reference count,
//!                               counters), the threads, per runtime the reactor's fds and
//!                               their waiting tasks, timers, blocking pool, queues; warnings
//!  json.rs                      that snapshot as JSON
//!  http.rs                      std::net::TcpListener: GET / (page.html), GET /api/...
//! ```
//!
//! Busy time, time queued and the histograms are estimates scaled from the sampled polls,
//! and the JSON and the page say so (`"sample": 32`, "≈"); a poll longer than the watchdog's
//! tick is always timed (see `slow_poll`'s "Exact and sampled").
//!
//! Off (the default) nothing here runs, and the hooks are a branch or two per poll.
//! The console is process-wide, as the variable is: the first address set wins; every
//! runtime built after it is turned on is shown.

mod fds;
mod http;
mod json;
mod runtimes;
mod snapshot;

use std::net::SocketAddr;
use std::sync::Once;

use crate::scheduler::Handle;
use crate::slow_poll;

/// Called by `Builder::build` before it starts any thread: turns the console on if `addr`
/// (the builder's) or `MINIRT_CONSOLE` asks for it, so the new workers are seen from their
/// start.
pub(crate) fn enable(addr: Option<SocketAddr>) {
    if let Some(addr) = addr.or_else(from_env) {
        start(addr);
    }
}

/// Called by `Builder::build` for every runtime it built: shows `handle` if the console is on.
pub(crate) fn runtime_built(handle: &Handle) {
    if slow_poll::console_enabled() {
        runtimes::add(handle);
    }
}

/// `MINIRT_CONSOLE`, read once per process.
fn from_env() -> Option<SocketAddr> {
    static ADDR: std::sync::OnceLock<Option<SocketAddr>> = std::sync::OnceLock::new();
    *ADDR.get_or_init(|| {
        let value = std::env::var_os("MINIRT_CONSOLE")?;
        let parsed = value.to_str().and_then(|text| text.trim().parse::<SocketAddr>().ok());
        if parsed.is_none() {
            eprintln!(
                "minirt: MINIRT_CONSOLE={value:?} is not an address (say 127.0.0.1:6669): \
                 the console stays off"
            );
        }
        parsed
    })
}

/// Binds `addr` and starts the console's thread (once per process).
fn start(addr: SocketAddr) {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| match std::net::TcpListener::bind(addr) {
        Ok(listener) => {
            let bound = listener.local_addr().unwrap_or(addr);
            let started = std::thread::Builder::new()
                .name("minirt-console".into())
                .spawn(move || http::serve(listener));
            match started {
                Ok(_) => {
                    slow_poll::enable_console();
                    eprintln!("minirt: console listening on http://{bound}/");
                }
                Err(e) => eprintln!("minirt: console: cannot start its thread ({e})"),
            }
        }
        Err(e) => {
            eprintln!("minirt: console: cannot listen on {addr} ({e}): the console stays off")
        }
    });
}
