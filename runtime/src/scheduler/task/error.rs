//! [`JoinError`]: why a task did not return its output.

use std::any::Any;
use std::fmt;
use std::sync::Mutex;

use super::Id;

/// Why a task did not return its output. Tokio's `JoinError`.
pub struct JoinError {
    repr: Repr,
    id: Id,
}

enum Repr {
    Cancelled,
    // A Mutex only to make the error Sync, as `io::Error` and `Box<dyn Error + Sync>` want.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError { repr: Repr::Cancelled, id }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError { repr: Repr::Panic(Mutex::new(payload)), id }
    }

    /// The task was aborted, or its runtime shut down before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked (while running, or while its future was dropped).
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The panic payload, to resume it with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is not a panic (at the caller's location, as tokio).
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        // A `match`, not `unwrap_or_else`: `#[track_caller]` does not reach into a closure.
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(_) => panic!("`JoinError` reason is not a panic"),
        }
    }

    /// The panic payload, or the error itself if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload.into_inner().unwrap_or_else(|p| p.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(payload) = &self.repr else { return None };
        let payload = payload.lock().unwrap_or_else(|p| p.into_inner());
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.id;
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => write!(f, "task {id} was cancelled"),
            (Repr::Panic(_), Some(message)) => {
                write!(f, "task {id} panicked with message {message:?}")
            }
            (Repr::Panic(_), None) => write!(f, "task {id} panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.id;
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => write!(f, "JoinError::Cancelled({id:?})"),
            (Repr::Panic(_), Some(message)) => {
                write!(f, "JoinError::Panic({id:?}, {message:?}, ...)")
            }
            (Repr::Panic(_), None) => write!(f, "JoinError::Panic({id:?}, ...)"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}
