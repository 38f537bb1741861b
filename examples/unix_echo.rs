//! A Unix-socket echo server: a local daemon's shape. Every byte a client sends comes back,
//! and each connection is logged with the client's process id and user (`SO_PEERCRED`), which
//! a real daemon would check before serving.
//!
//! ```text
//! cargo run --release --example unix_echo -- /tmp/minirt-echo.sock
//! # another terminal:
//! nc -U /tmp/minirt-echo.sock
//! ```
//!
//! A path starting with `@` binds in Linux's abstract namespace instead (no file):
//! `cargo run --example unix_echo -- @minirt-echo`.

use std::io;
use std::path::PathBuf;

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{UnixListener, UnixStream};

#[minirt::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "/tmp/minirt-echo.sock".to_string());
    let path = match arg.strip_prefix('@') {
        Some(name) => PathBuf::from(format!("\0{name}")),
        None => {
            remove_stale_socket(&PathBuf::from(&arg))?;
            PathBuf::from(&arg)
        }
    };
    let listener = UnixListener::bind(&path)?;
    println!("unix_echo: listening on {:?}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("unix_echo: accept failed: {e}");
                // Out of fds: pause instead of spinning; open connections keep working.
                minirt::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        match stream.peer_cred() {
            Ok(cred) => println!("unix_echo: client pid {:?} uid {}", cred.pid(), cred.uid()),
            Err(e) => eprintln!("unix_echo: peer_cred: {e}"),
        }
        minirt::spawn(echo(stream));
    }
}

/// Sends back every byte it reads, until the client closes.
async fn echo(mut stream: UnixStream) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A socket file left by an earlier run makes `bind` fail with `EADDRINUSE`. Remove it, but
/// only if it is a socket nobody is listening on (never delete another file, or a live
/// server's socket).
fn remove_stale_socket(path: &PathBuf) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_err() {
                std::fs::remove_file(path)?;
            }
            Ok(())
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
