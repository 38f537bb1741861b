//! A Unix-socket echo server: a local daemon's shape. Every byte a client sends comes back,
//! and each connection is logged with the client's process id and user (`SO_PEERCRED`), which
//! a real daemon would check before serving.
//!
//! ```text
//! cargo run --release --example unix_echo -- [PATH | @NAME] [--threads N | --current-thread]
//! # another terminal:
//! nc -U /tmp/minirt-echo.sock
//! ```
//!
//! The address is a socket path: the argument, else the `ADDR` environment variable, else
//! `/tmp/minirt-echo.sock` (`support/args.rs`). A socket file left by an earlier run is
//! replaced, any other file is refused. A name starting with `@` binds in Linux's abstract
//! namespace instead (no file): `cargo run --example unix_echo -- @minirt-echo`.
//!
//! The first line on stdout is `unix_echo: listening on /tmp/minirt-echo.sock (current-thread)`.
//! On Ctrl-C or SIGTERM it stops accepting, lets the open connections finish (for up to 5 s,
//! `support/shutdown.rs`), removes its socket file (if it is still the one it bound), prints
//! `unix_echo: shut down (N connections cut)` and exits with status 0.

use std::convert::Infallible;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use minirt::io::{AsyncReadExt, AsyncWriteExt};
use minirt::net::{UnixListener, UnixStream};

#[path = "support/accept.rs"]
mod accept;

#[path = "support/args.rs"]
mod args;
use args::Args;

#[path = "support/shutdown.rs"]
pub mod shutdown;
use shutdown::{StopSignals, Tracker};

fn main() -> io::Result<()> {
    run_program(std::env::args().skip(1))
}

/// The whole program, from its arguments to its end (`tests/examples/` runs it in a child
/// process).
pub fn run_program(argv: impl Iterator<Item = String>) -> io::Result<()> {
    let args = Args::from_argv(argv, "/tmp/minirt-echo.sock", 0)?;
    args.minirt_runtime()?.block_on(run_main(args))
}

async fn run_main(args: Args) -> io::Result<()> {
    // Listen for the signals before saying we are up: a client that reads the start-up line
    // may signal at once.
    let mut stop = StopSignals::listen()?;
    let (listener, _socket_file) = match args.addr.strip_prefix('@') {
        Some(name) => (UnixListener::bind(format!("\0{name}"))?, None),
        None => {
            let path = PathBuf::from(&args.addr);
            remove_stale_socket(&path)?;
            let listener = UnixListener::bind(&path)?;
            // Removed when this guard drops: at the end of `run_main`, on an error too.
            let file = SocketFile::new(path)?;
            (listener, Some(file))
        }
    };
    println!("unix_echo: listening on {} ({})", args.addr, args.flavor());
    let tracker = Tracker::default();
    let signal = match stop.run_until(accept_loop(listener, tracker.clone())).await {
        Ok(never) => match never {},
        Err(signal) => signal,
    };
    // The accept loop, and with it the listener, is gone: connecting now fails (ECONNREFUSED
    // while the file exists).
    println!("unix_echo: {signal}: stopped accepting; {} connections open", tracker.active());
    let cut = stop.shut_down(&tracker, shutdown::GRACE).await;
    println!("unix_echo: shut down ({cut} connections cut)");
    Ok(())
}

/// Accepts connections forever, each echoed by its own task.
async fn accept_loop(listener: UnixListener, tracker: Tracker) -> Infallible {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("unix_echo: accept failed: {e}");
                // Out of fds: pause instead of spinning; open connections keep working.
                if accept::is_out_of_resources(&e) {
                    minirt::time::sleep(accept::ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        match stream.peer_cred() {
            Ok(cred) => println!("unix_echo: client pid {:?} uid {}", cred.pid(), cred.uid()),
            Err(e) => eprintln!("unix_echo: peer_cred: {e}"),
        }
        let in_flight = tracker.enter();
        minirt::spawn(async move {
            let _in_flight = in_flight;
            echo(stream).await
        });
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

/// The socket file this server bound; removed on drop, unless another file has taken its
/// place since (a second server started on the same path, say).
struct SocketFile {
    path: PathBuf,
    /// The file's device and inode when it was bound.
    id: (u64, u64),
}

impl SocketFile {
    fn new(path: PathBuf) -> io::Result<SocketFile> {
        let meta = std::fs::symlink_metadata(&path)?;
        Ok(SocketFile { path, id: (meta.dev(), meta.ino()) })
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.id);
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                eprintln!("unix_echo: remove {}: {e}", self.path.display());
            }
        }
    }
}

/// A socket file left by an earlier run makes `bind` fail with `EADDRINUSE`. Remove it, but
/// only if it is a socket nobody is listening on (never delete another file, or a live
/// server's socket).
fn remove_stale_socket(path: &Path) -> io::Result<()> {
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
