//! The waiter queue every primitive parks its tasks in: a FIFO list threaded through a slab.
//!
//! A waiting future owns one *key*: the index of its node in the slab. The node holds the
//! task's waker, the primitive's per-waiter data (permits still needed, whether it was
//! notified, ...) and the `prev`/`next` keys that link it into the queue. Everything is reached
//! through the primitive's one lock; there is no `unsafe` here.
//!
//! Two rules make cancellation sound without pinning:
//!
//! - Only the future that owns a key frees its slot ([`WaitList::remove`]). A notifier that
//!   picks a waiter only *unlinks* it and marks it in its data, so a key is never reused while
//!   its owner may still look at it (no ABA, no stale key). The one exception is a primitive
//!   that tells a served waiter so *outside* the list, through an atomic the waiter reads
//!   before it would look at its key: then the server may remove the node itself, and the
//!   owner, once told, forgets its key without locking. The semaphore does this (a ticket per
//!   waiter and one `served` counter, see `semaphore.rs`), which spares its woken waiter a
//!   lock round trip.
//! - A future dropped while unlinked-and-marked still owns what it was given (a notification,
//!   permits) and hands it on under the same lock, to the next waiter in line.
//!
//! Removing any node is O(1) (unlink by its neighbours), so thousands of waiters cancelled in
//! random order cost nothing more than thousands served in order. A freed slot is reused by the
//! next waiter, so in the steady state waiting allocates nothing.

use std::task::Waker;

use slab::Slab;

/// "No node": the end of the list.
const NIL: usize = usize::MAX;

/// One waiting future: its waker, its data and its place in line.
#[derive(Debug)]
pub(crate) struct Node<T> {
    prev: usize,
    next: usize,
    queued: bool,
    /// The task to wake. Taken (and woken after the lock is released) by whoever serves it.
    pub(crate) waker: Option<Waker>,
    /// What the primitive records per waiter.
    pub(crate) data: T,
}

/// A FIFO of waiters in a slab; see the module docs.
#[derive(Debug)]
pub(crate) struct WaitList<T> {
    nodes: Slab<Node<T>>,
    head: usize,
    tail: usize,
    queued: usize,
}

impl<T> WaitList<T> {
    pub(crate) const fn new() -> WaitList<T> {
        WaitList { nodes: Slab::new(), head: NIL, tail: NIL, queued: 0 }
    }

    /// Whether no waiter is in line (marked-but-not-yet-removed nodes do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Queues a new waiter at the back; returns its key.
    pub(crate) fn push_back(&mut self, data: T, waker: Option<Waker>) -> usize {
        let key = self.nodes.insert(Node { prev: self.tail, next: NIL, queued: true, waker, data });
        match self.tail {
            NIL => self.head = key,
            tail => self.nodes[tail].next = key,
        }
        self.tail = key;
        self.queued += 1;
        key
    }

    /// The key of the first waiter in line.
    pub(crate) fn front(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head)
    }

    /// The key of the last waiter in line.
    pub(crate) fn back(&self) -> Option<usize> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// Whether `key` is still in line.
    pub(crate) fn is_queued(&self, key: usize) -> bool {
        self.nodes[key].queued
    }

    pub(crate) fn node_mut(&mut self, key: usize) -> &mut Node<T> {
        &mut self.nodes[key]
    }

    /// Takes `key` out of line, keeping its slot for its owner; returns its waker to wake.
    pub(crate) fn unlink(&mut self, key: usize) -> Option<Waker> {
        let node = &mut self.nodes[key];
        if !node.queued {
            return None;
        }
        node.queued = false;
        let (prev, next) = (node.prev, node.next);
        let waker = node.waker.take();
        match prev {
            NIL => self.head = next,
            prev => self.nodes[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.nodes[next].prev = prev,
        }
        self.queued -= 1;
        waker
    }

    /// Frees `key`'s slot (unlinking it first if it is in line). Its owner calls this, or a
    /// server that tells the owner outside the list (see the module docs). The returned
    /// node's waker must be woken or dropped after the lock is released.
    pub(crate) fn remove(&mut self, key: usize) -> Node<T> {
        let waker = self.unlink(key);
        let mut node = self.nodes.remove(key);
        if node.waker.is_none() {
            node.waker = waker;
        }
        node
    }

    /// Whether `key` already holds a waker that wakes the same task as `waker`.
    pub(crate) fn will_wake(&self, key: usize, waker: &Waker) -> bool {
        self.nodes[key].waker.as_ref().is_some_and(|w| w.will_wake(waker))
    }

    /// Stores `waker` for `key`; returns the old one, to drop after the lock is released.
    pub(crate) fn set_waker(&mut self, key: usize, waker: Waker) -> Option<Waker> {
        self.nodes[key].waker.replace(waker)
    }
}

/// Stores `waker` in a single-waiter `slot` (a channel's receiver, a oneshot's sender) under
/// the primitive's lock, without cloning it there.
///
/// Returns `Ok(old)` once done (drop `old` after the lock), or `Err(())` if a clone is needed:
/// the caller releases the lock, clones `waker` into `new`, and tries again (re-checking its
/// condition first, since it may have changed meanwhile).
pub(crate) fn store_waker(
    slot: &mut Option<Waker>,
    waker: &Waker,
    new: &mut Option<Waker>,
) -> Result<Option<Waker>, ()> {
    if slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        return Ok(None);
    }
    match new.take() {
        Some(new) => Ok(slot.replace(new)),
        None => Err(()),
    }
}

/// Wakers collected under a lock, woken after it is released.
///
/// The first few live inline, so the common case (one waiter served) allocates nothing.
#[derive(Default)]
pub(crate) struct WakeList {
    inline: [Option<Waker>; 4],
    len: usize,
    spill: Vec<Waker>,
}

impl WakeList {
    pub(crate) fn new() -> WakeList {
        WakeList::default()
    }

    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.len < self.inline.len() {
            self.inline[self.len] = Some(waker);
            self.len += 1;
        } else {
            self.spill.push(waker);
        }
    }

    /// Wakes every collected waker. Call with no lock held.
    pub(crate) fn wake_all(self) {
        let WakeList { inline, spill, .. } = self;
        for waker in inline.into_iter().flatten() {
            waker.wake();
        }
        for waker in spill {
            waker.wake();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    fn keys<T>(list: &WaitList<T>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = list.head;
        while at != NIL {
            out.push(at);
            at = list.nodes[at].next;
        }
        out
    }

    #[test]
    fn unlink_anywhere_keeps_order_and_slots() {
        let mut list = WaitList::new();
        let k: Vec<usize> =
            (0..5).map(|i| list.push_back(i, Some(Waker::noop().clone()))).collect();
        list.unlink(k[2]);
        list.unlink(k[0]);
        list.unlink(k[4]);
        assert_eq!(keys(&list), vec![k[1], k[3]]);
        assert_eq!(list.back(), Some(k[3]));
        assert!(!list.is_queued(k[0]));
        assert_eq!(list.remove(k[0]).data, 0);
        list.remove(k[1]);
        list.remove(k[3]);
        assert!(list.is_empty());
        assert_eq!(list.front(), None);
        // A freed slot is reused: no allocation in the steady state.
        let again = list.push_back(9, Some(Waker::noop().clone()));
        assert!(k.contains(&again));
    }
}
