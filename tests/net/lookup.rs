//! Name resolution: `net::lookup_host`, and host names given to `TcpStream::connect` /
//! `TcpListener::bind`, resolve on the blocking pool; literal addresses never leave the task.

use crate::common;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::{must_complete, watchdog};
use minirt::net::{lookup_host, TcpListener, TcpStream};
use minirt::runtime::{Builder, Handle};

#[minirt::test]
async fn literal_addresses_resolve_without_a_thread() -> io::Result<()> {
    let _watchdog = watchdog("literal_addresses_resolve_without_a_thread");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let port = addr.port();
    drop(TcpStream::connect(addr).await?);
    drop(TcpStream::connect(&addr).await?);
    drop(TcpStream::connect(("127.0.0.1", port)).await?);
    drop(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?);
    drop(TcpStream::connect(format!("127.0.0.1:{port}")).await?);
    let found: Vec<_> = lookup_host((IpAddr::V4(Ipv4Addr::LOCALHOST), 80)).await?.collect();
    assert_eq!(found, vec![SocketAddr::from(([127, 0, 0, 1], 80))]);
    assert_eq!(Handle::current().metrics().num_blocking_threads(), 0, "no lookup thread");
    Ok(())
}

#[minirt::test]
async fn a_host_name_resolves_on_the_blocking_pool() -> io::Result<()> {
    let _watchdog = watchdog("a_host_name_resolves_on_the_blocking_pool");
    let found: Vec<_> = must_complete("lookup", lookup_host("localhost:8080")).await?.collect();
    assert!(!found.is_empty() && found.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
    assert_eq!(Handle::current().metrics().num_blocking_threads(), 1, "looked up on the pool");
    Ok(())
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_bind_by_host_name() -> io::Result<()> {
    let _watchdog = watchdog("connect_and_bind_by_host_name");
    let listener = TcpListener::bind(("localhost", 0)).await?;
    let port = listener.local_addr()?.port();
    let host = if listener.local_addr()?.is_ipv4() { "localhost" } else { "ip6-localhost" };
    let accept = minirt::spawn(async move { listener.accept().await.map(|_| ()) });
    let stream = must_complete("connect", TcpStream::connect(format!("{host}:{port}"))).await;
    drop(stream?);
    must_complete("accept", accept).await??;
    Ok(())
}

#[minirt::test]
async fn a_bad_address_is_an_error_not_a_panic() {
    let _watchdog = watchdog("a_bad_address_is_an_error_not_a_panic");
    // No port: getaddrinfo is never reached, std refuses it on the pool.
    assert!(lookup_host("no-port-here").await.is_err());
    assert!(TcpStream::connect("no-port-here").await.is_err());
    let empty: &[SocketAddr] = &[];
    let err = TcpStream::connect(empty).await.expect_err("nothing to connect to");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

/// A lookup on a runtime that shuts down is an error for the caller, not a hang.
#[test]
fn a_lookup_after_shutdown_fails() {
    let _watchdog = watchdog("a_lookup_after_shutdown_fails");
    let rt = Builder::new_current_thread().build().expect("runtime");
    let handle = rt.handle().clone();
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    let looked_up = handle.block_on(async { lookup_host("localhost:80").await.map(|_| ()) });
    assert!(looked_up.is_err());
}
