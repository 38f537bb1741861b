//! Small helpers shared by the modules.

use std::ops::DerefMut;
use std::pin::Pin;

/// `Pin<&mut Pin<P>>` to `Pin<&mut P::Target>` (what `Pin::as_deref_mut` does on newer Rust).
pub(crate) fn pin_as_deref_mut<P: DerefMut>(pin: Pin<&mut Pin<P>>) -> Pin<&mut P::Target> {
    // SAFETY: the outer pin guarantees the inner `Pin<P>` is never moved; re-pinning its
    // target is what `Pin::as_mut` does, reached through the outer reference.
    unsafe { pin.get_unchecked_mut() }.as_mut()
}
