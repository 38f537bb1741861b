//! [`Ready`] and [`Interest`]: the readiness bits the reactor reports and the directions an
//! owner asks for. Public (re-exported by `io`); they live here because the reactor is built
//! on them and sits below `io`.

use std::fmt;
use std::ops;

/// Readiness of an I/O resource, as reported by the reactor. Tokio's `Ready`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready(pub(super) u8);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// Reading will not block (`EPOLLIN`).
    pub const READABLE: Ready = Ready(1);
    /// Writing will not block (`EPOLLOUT`).
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// The peer closed its write half, or the fd hung up (`EPOLLRDHUP`, `EPOLLHUP`).
    pub const READ_CLOSED: Ready = Ready(1 << 2);
    /// The fd hung up: writes will fail (`EPOLLHUP`).
    pub const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// An error is pending on the fd (`EPOLLERR`); the next operation returns it.
    pub const ERROR: Ready = Ready(1 << 4);
    /// Priority (out-of-band) data is available (`EPOLLPRI`); needs [`Interest::PRIORITY`].
    pub const PRIORITY: Ready = Ready(1 << 5);
    /// Every readiness bit.
    pub const ALL: Ready = Ready(0b11_1111);

    /// Readiness that lets a read make progress, successful or not.
    pub(super) const READ_SIDE: Ready =
        Ready(Self::READABLE.0 | Self::READ_CLOSED.0 | Self::ERROR.0);
    /// Readiness that lets a write make progress, successful or not.
    pub(super) const WRITE_SIDE: Ready =
        Ready(Self::WRITABLE.0 | Self::WRITE_CLOSED.0 | Self::ERROR.0);
    /// Readiness that lets a priority read make progress, successful or not.
    pub(super) const PRIORITY_SIDE: Ready =
        Ready(Self::PRIORITY.0 | Self::READ_CLOSED.0 | Self::ERROR.0);
    /// Bits that stay set once seen: a closed half does not reopen.
    pub(super) const CLOSED: Ready = Ready(Self::READ_CLOSED.0 | Self::WRITE_CLOSED.0);

    /// No bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// `READABLE` is set.
    pub fn is_readable(self) -> bool {
        self.contains(Self::READABLE)
    }
    /// `WRITABLE` is set.
    pub fn is_writable(self) -> bool {
        self.contains(Self::WRITABLE)
    }
    /// `READ_CLOSED` is set: reads return EOF (or the pending error).
    pub fn is_read_closed(self) -> bool {
        self.contains(Self::READ_CLOSED)
    }
    /// `WRITE_CLOSED` is set: writes fail.
    pub fn is_write_closed(self) -> bool {
        self.contains(Self::WRITE_CLOSED)
    }
    /// `ERROR` is set: an error is pending (`SO_ERROR`).
    pub fn is_error(self) -> bool {
        self.contains(Self::ERROR)
    }
    /// `PRIORITY` is set: out-of-band data is waiting.
    pub fn is_priority(self) -> bool {
        self.contains(Self::PRIORITY)
    }
    pub(super) fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }
    pub(super) fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// Translates an epoll event mask. `EPOLLHUP` closes both halves; `EPOLLERR` is reported as
    /// `ERROR`, which satisfies every interest (see `Interest::mask`).
    pub(super) fn from_epoll(events: u32) -> Ready {
        let has = |flag: libc::c_int| events & flag as u32 != 0;
        let mut ready = Ready::EMPTY;
        if has(libc::EPOLLIN) {
            ready |= Ready::READABLE;
        }
        if has(libc::EPOLLPRI) {
            // As mio does: priority data is also something a plain read can act on.
            ready |= Ready::READABLE | Ready::PRIORITY;
        }
        if has(libc::EPOLLOUT) {
            ready |= Ready::WRITABLE;
        }
        if has(libc::EPOLLRDHUP) {
            ready |= Ready::READ_CLOSED;
        }
        if has(libc::EPOLLHUP) {
            ready |= Ready::READ_CLOSED | Ready::WRITE_CLOSED;
        }
        if has(libc::EPOLLERR) {
            ready |= Ready::ERROR;
        }
        ready
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    fn sub(self, rhs: Ready) -> Ready {
        Ready(self.0 & !rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("is_readable", &self.is_readable())
            .field("is_writable", &self.is_writable())
            .field("is_read_closed", &self.is_read_closed())
            .field("is_write_closed", &self.is_write_closed())
            .field("is_error", &self.is_error())
            .field("is_priority", &self.is_priority())
            .finish()
    }
}

/// What an operation waits for, and what an fd is registered for. Tokio's `Interest`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(pub(super) u8);

impl Interest {
    /// Readable (or its read half closed, or an error pending).
    pub const READABLE: Interest = Interest(1);
    /// Writable (or its write half closed, or an error pending).
    pub const WRITABLE: Interest = Interest(1 << 1);
    /// Priority (out-of-band) data available (`EPOLLPRI`): TCP urgent data, a pty's packet
    /// mode, `/proc/self/mounts` changing, a cgroup event file...
    pub const PRIORITY: Interest = Interest(1 << 2);
    /// An error pending (`EPOLLERR`). The kernel always reports errors, so registering for
    /// `ERROR` alone adds no epoll flag; waiting for it wakes only on an error.
    pub const ERROR: Interest = Interest(1 << 3);

    /// Includes `READABLE`.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }
    /// Includes `WRITABLE`.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
    /// Includes `PRIORITY`.
    pub const fn is_priority(self) -> bool {
        self.0 & Self::PRIORITY.0 != 0
    }
    /// Includes `ERROR`.
    pub const fn is_error(self) -> bool {
        self.0 & Self::ERROR.0 != 0
    }
    /// Both interests: `Interest::READABLE.add(Interest::WRITABLE)`.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
    /// This interest without `other`'s; `None` if nothing is left (an empty interest cannot
    /// exist, as in tokio).
    pub const fn remove(self, other: Interest) -> Option<Interest> {
        let left = self.0 & !other.0;
        if left == 0 {
            None
        } else {
            Some(Interest(left))
        }
    }

    /// The readiness bits that satisfy this interest. An error satisfies every interest: the
    /// operation then returns it. A table lookup: this runs on every readiness check.
    #[inline]
    pub(crate) fn mask(self) -> Ready {
        INTEREST_MASKS[(self.0 & 0xf) as usize]
    }

    /// `mask`, computed (for the table).
    pub(super) const fn compute_mask(bits: u8) -> Ready {
        let mut mask = Ready::ERROR.0;
        if bits & Self::READABLE.0 != 0 {
            mask |= Ready::READ_SIDE.0;
        }
        if bits & Self::WRITABLE.0 != 0 {
            mask |= Ready::WRITE_SIDE.0;
        }
        if bits & Self::PRIORITY.0 != 0 {
            mask |= Ready::PRIORITY_SIDE.0;
        }
        Ready(mask)
    }

    /// The readiness bits whose arrival wakes a waiter with this interest: its `mask`, and for
    /// writers any hang-up too (a send to a peer that went away reports `EPIPE`/`ECONNRESET`
    /// instead of waiting for space; the writer re-checks and sees no `WRITABLE`).
    pub(super) fn wake_mask(self) -> Ready {
        let mut mask = self.mask();
        if self.is_writable() {
            mask |= Ready::READ_CLOSED;
        }
        mask
    }

    /// The epoll flags to register for this interest (edge-triggered; `EPOLLERR` and
    /// `EPOLLHUP` are always reported).
    pub(super) fn epoll_events(self) -> u32 {
        let mut events = libc::EPOLLET;
        if self.is_readable() {
            events |= libc::EPOLLIN | libc::EPOLLRDHUP;
        }
        if self.is_writable() {
            events |= libc::EPOLLOUT;
        }
        if self.is_priority() {
            events |= libc::EPOLLPRI;
        }
        events as u32
    }
}

/// `Interest::mask` for each of the 16 interest bit patterns.
pub(super) const INTEREST_MASKS: [Ready; 16] = {
    let mut table = [Ready::EMPTY; 16];
    let mut bits = 0;
    while bits < 16 {
        table[bits] = Interest::compute_mask(bits as u8);
        bits += 1;
    }
    table
};

impl ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
    }
}

impl ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, rhs: Interest) {
        *self = self.add(rhs);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.is_readable(), "READABLE"),
            (self.is_writable(), "WRITABLE"),
            (self.is_priority(), "PRIORITY"),
            (self.is_error(), "ERROR"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(set, _)| *set) {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        Ok(())
    }
}
