//! `ReadBuf`: a byte buffer that may be partly uninitialised, with tokio's API.
//!
//! Three regions, front to back: filled (bytes a read put there), initialised but unfilled
//! (bytes that are known to hold *some* value, so they can be handed out as `&mut [u8]`), and
//! uninitialised. `initialize_unfilled` zeroes only the uninitialised region, once: one
//! `ReadBuf` reused across reads is zeroed at most once over its whole life. (hyper-util makes
//! a fresh `ReadBuf::uninit` for each read, so minirt's sockets skip `initialize_unfilled` and
//! `recv(2)` into the uninitialised part directly: io/bridge.rs.)

use std::fmt;
use std::mem::MaybeUninit;

/// A wrapper around a byte buffer that is incrementally filled and initialised.
pub struct ReadBuf<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    filled: usize,
    initialized: usize,
}

impl<'a> ReadBuf<'a> {
    /// A buffer over fully initialised memory.
    #[inline]
    pub fn new(buf: &'a mut [u8]) -> ReadBuf<'a> {
        let initialized = buf.len();
        // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and this buffer is only
        // ever written initialised bytes (every write path copies `u8`s or marks nothing).
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        ReadBuf { buf, filled: 0, initialized }
    }

    /// A buffer over possibly uninitialised memory.
    #[inline]
    pub fn uninit(buf: &'a mut [MaybeUninit<u8>]) -> ReadBuf<'a> {
        ReadBuf { buf, filled: 0, initialized: 0 }
    }

    /// The total capacity of the buffer.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The filled part of the buffer.
    #[inline]
    pub fn filled(&self) -> &[u8] {
        let slice = &self.buf[..self.filled];
        // SAFETY: `filled <= initialized`, so this prefix is initialised.
        unsafe { &*(slice as *const [MaybeUninit<u8>] as *const [u8]) }
    }

    /// The filled part of the buffer, mutably.
    #[inline]
    pub fn filled_mut(&mut self) -> &mut [u8] {
        let slice = &mut self.buf[..self.filled];
        // SAFETY: `filled <= initialized`, so this prefix is initialised.
        unsafe { &mut *(slice as *mut [MaybeUninit<u8>] as *mut [u8]) }
    }

    /// A new `ReadBuf` over the first `n` bytes of the unfilled part.
    #[inline]
    pub fn take(&mut self, n: usize) -> ReadBuf<'_> {
        let max = n.min(self.remaining());
        let initialized = self.initialized.saturating_sub(self.filled).min(max);
        let buf = &mut self.buf[self.filled..self.filled + max];
        ReadBuf { buf, filled: 0, initialized }
    }

    /// The initialised part of the buffer (filled, then initialised but unfilled).
    #[inline]
    pub fn initialized(&self) -> &[u8] {
        let slice = &self.buf[..self.initialized];
        // SAFETY: the first `initialized` bytes are initialised.
        unsafe { &*(slice as *const [MaybeUninit<u8>] as *const [u8]) }
    }

    /// The initialised part of the buffer, mutably.
    #[inline]
    pub fn initialized_mut(&mut self) -> &mut [u8] {
        let slice = &mut self.buf[..self.initialized];
        // SAFETY: the first `initialized` bytes are initialised.
        unsafe { &mut *(slice as *mut [MaybeUninit<u8>] as *mut [u8]) }
    }

    /// The whole buffer, possibly uninitialised.
    ///
    /// # Safety
    ///
    /// The caller must not de-initialise any initialised byte.
    #[inline]
    pub unsafe fn inner_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        self.buf
    }

    /// The unfilled part of the buffer, possibly uninitialised.
    ///
    /// # Safety
    ///
    /// The caller must not de-initialise any initialised byte.
    #[inline]
    pub unsafe fn unfilled_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        &mut self.buf[self.filled..]
    }

    /// The unfilled part, initialised first (zeroing only bytes never initialised before).
    #[inline]
    pub fn initialize_unfilled(&mut self) -> &mut [u8] {
        self.initialize_unfilled_to(self.remaining())
    }

    /// The first `n` unfilled bytes, initialised first.
    ///
    /// # Panics
    ///
    /// If `n` is more than `remaining()`.
    #[inline]
    #[track_caller]
    pub fn initialize_unfilled_to(&mut self, n: usize) -> &mut [u8] {
        assert!(self.remaining() >= n, "n overflows remaining");
        let end = self.filled + n;
        if self.initialized < end {
            for byte in &mut self.buf[self.initialized..end] {
                byte.write(0);
            }
            self.initialized = end;
        }
        let slice = &mut self.buf[self.filled..end];
        // SAFETY: `[filled, end)` was just made initialised (or already was).
        unsafe { &mut *(slice as *mut [MaybeUninit<u8>] as *mut [u8]) }
    }

    /// How many bytes are unfilled.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.capacity() - self.filled
    }

    /// Empties the filled part (keeps what is initialised).
    #[inline]
    pub fn clear(&mut self) {
        self.filled = 0;
    }

    /// Marks `n` more bytes as filled.
    ///
    /// # Panics
    ///
    /// If the filled part would then pass the initialised part.
    #[inline]
    #[track_caller]
    pub fn advance(&mut self, n: usize) {
        let new = self.filled.checked_add(n).expect("filled overflow");
        self.set_filled(new);
    }

    /// Sets the filled length.
    ///
    /// # Panics
    ///
    /// If `n` is more than the initialised part.
    #[inline]
    #[track_caller]
    pub fn set_filled(&mut self, n: usize) {
        assert!(n <= self.initialized, "filled must not become larger than initialized");
        self.filled = n;
    }

    /// Asserts that the first `n` unfilled bytes are initialised.
    ///
    /// # Safety
    ///
    /// Those bytes must really be initialised.
    #[inline]
    pub unsafe fn assume_init(&mut self, n: usize) {
        let new = self.filled + n;
        if new > self.initialized {
            self.initialized = new;
        }
    }

    /// Appends `buf` to the filled part.
    ///
    /// # Panics
    ///
    /// If there is not enough room.
    #[inline]
    #[track_caller]
    pub fn put_slice(&mut self, buf: &[u8]) {
        assert!(
            self.remaining() >= buf.len(),
            "buf.len() must fit in remaining(); buf.len() = {}, remaining() = {}",
            buf.len(),
            self.remaining()
        );
        let amt = buf.len();
        let end = self.filled + amt;
        for (dst, src) in self.buf[self.filled..end].iter_mut().zip(buf) {
            dst.write(*src);
        }
        if self.initialized < end {
            self.initialized = end;
        }
        self.filled = end;
    }
}

impl fmt::Debug for ReadBuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadBuf")
            .field("filled", &self.filled)
            .field("initialized", &self.initialized)
            .field("capacity", &self.capacity())
            .finish()
    }
}

// SAFETY: `BufMut`'s contract: `chunk_mut` returns the unfilled part and `advance_mut(n)` is only
// called after `n` bytes of it were written, so those bytes are initialised.
unsafe impl bytes_dep::BufMut for ReadBuf<'_> {
    fn remaining_mut(&self) -> usize {
        self.remaining()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller wrote `cnt` bytes (BufMut's contract).
        unsafe { self.assume_init(cnt) };
        self.advance(cnt);
    }

    fn chunk_mut(&mut self) -> &mut bytes_dep::buf::UninitSlice {
        // SAFETY: only written to, never de-initialised.
        let unfilled = unsafe { self.unfilled_mut() };
        bytes_dep::buf::UninitSlice::uninit(unfilled)
    }
}
