//! Splitting a [`UnixStream`] into a read half and a write half: the halves `crate::stream`
//! gives every stream.

use super::UnixStream;
use crate::stream::stream_halves;

stream_halves!(UnixStream, super::SocketAddr);
