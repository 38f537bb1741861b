//! The runtimes the console shows: every runtime built while it is on, held weakly, so the
//! console never keeps a runtime alive.

use std::sync::{Arc, Mutex, Weak};

use crate::loom::lock;
use crate::scheduler::{current_thread, multi_thread, Handle};

/// A runtime the console shows, held weakly: the console never keeps a runtime alive.
enum WeakRuntime {
    CurrentThread(Weak<current_thread::Shared>),
    MultiThread(Weak<multi_thread::Shared>),
}

impl WeakRuntime {
    fn upgrade(&self) -> Option<Handle> {
        match self {
            WeakRuntime::CurrentThread(weak) => weak.upgrade().map(Handle::CurrentThread),
            WeakRuntime::MultiThread(weak) => weak.upgrade().map(Handle::MultiThread),
        }
    }
}

static RUNTIMES: Mutex<Vec<WeakRuntime>> = Mutex::new(Vec::new());

/// The runtimes still alive, in the order they were built.
pub(super) fn alive() -> Vec<Handle> {
    let mut runtimes = lock(&RUNTIMES);
    runtimes.retain(|rt| rt.upgrade().is_some());
    runtimes.iter().filter_map(WeakRuntime::upgrade).collect()
}

/// Shows `handle` from now on.
pub(super) fn add(handle: &Handle) {
    let weak = match handle {
        Handle::CurrentThread(shared) => WeakRuntime::CurrentThread(Arc::downgrade(shared)),
        Handle::MultiThread(shared) => WeakRuntime::MultiThread(Arc::downgrade(shared)),
    };
    lock(&RUNTIMES).push(weak);
}
