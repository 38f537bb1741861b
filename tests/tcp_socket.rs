//! TCP socket set-up: the errors of `connect` and `bind` keep their errno (issue 9 item 6).

mod common;

use std::io;

use common::{must_complete, watchdog};
use minirt::net::{TcpListener, TcpStream};

/// A connect to a port nobody listens on fails with the OS error itself: `ECONNREFUSED`, so
/// code that matches `raw_os_error()` (as tokio programs do) keeps working.
#[minirt::test]
async fn connect_to_a_closed_port_keeps_econnrefused() -> io::Result<()> {
    let _watchdog = watchdog("connect_to_a_closed_port_keeps_econnrefused");
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        listener.local_addr()?
    }; // closed: the port refuses connections now
    let err = must_complete("connect", TcpStream::connect(addr)).await.expect_err("refused");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err:?}");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    Ok(())
}

/// A bind to an address in use fails with `EADDRINUSE` as the OS reported it.
#[minirt::test]
async fn bind_to_an_address_in_use_keeps_eaddrinuse() -> io::Result<()> {
    let _watchdog = watchdog("bind_to_an_address_in_use_keeps_eaddrinuse");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let err = TcpListener::bind(listener.local_addr()?).await.expect_err("in use");
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE), "{err:?}");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    Ok(())
}
