//! The public types can cross threads the way tokio's do: a runtime, its handle, join handles
//! and sockets are `Send + Sync`, and wakers built by the runtime are `Send + Sync` by type.

use std::os::fd::OwnedFd;

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<minirt::runtime::Runtime>();
    send_sync::<minirt::runtime::Handle>();
    send_sync::<minirt::task::JoinHandle<Vec<u8>>>();
    send_sync::<minirt::task::JoinError>();
    send_sync::<minirt::net::TcpListener>();
    send_sync::<minirt::net::TcpStream>();
    send_sync::<minirt::net::tcp::OwnedReadHalf>();
    send_sync::<minirt::net::tcp::OwnedWriteHalf>();
    send_sync::<minirt::io::AsyncFd<OwnedFd>>();
}
