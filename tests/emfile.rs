//! Out of file descriptors: `accept` returns the `EMFILE` error (it neither panics, nor spins,
//! nor waits forever), and the listener works again once fds are free.
//!
//! The test lowers the process's `RLIMIT_NOFILE`, which would break any other test running in
//! the same process, so this binary holds this one test only.

mod common;

use std::io;

use common::{must_complete, watchdog};
use minirt::net::TcpListener;

fn nofile_limit() -> libc::rlimit {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill.
    let ret = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(ret, 0, "getrlimit: {}", io::Error::last_os_error());
    limit
}

fn set_nofile_limit(limit: &libc::rlimit) {
    // SAFETY: `limit` is a valid rlimit; lowering the soft limit, or raising it back up to the
    // unchanged hard limit, needs no privilege.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, limit) };
    assert_eq!(ret, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// Restores the fd limit when dropped, also if the test fails.
struct RestoreLimit(libc::rlimit);

impl Drop for RestoreLimit {
    fn drop(&mut self) {
        set_nofile_limit(&self.0);
    }
}

#[minirt::test]
async fn accept_out_of_fds_returns_the_error_and_recovers() -> io::Result<()> {
    let _watchdog = watchdog("accept_out_of_fds_returns_the_error_and_recovers");
    const CLIENTS: usize = 3;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // Blocking std connects complete in the kernel's accept queue, no accept needed.
    let clients =
        (0..CLIENTS).map(|_| std::net::TcpStream::connect(addr)).collect::<io::Result<Vec<_>>>()?;

    let original = nofile_limit();
    let restore = RestoreLimit(original);
    // Cap the fd table just above the fds open now, then take every free slot left below the
    // cap, so that no new fd can be created.
    let highest_fd = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<libc::rlim_t>().ok())
        .max()
        .expect("some fds are open");
    set_nofile_limit(&libc::rlimit { rlim_cur: highest_fd + 1, rlim_max: original.rlim_max });
    let mut fillers = Vec::new();
    let exhausted = loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => fillers.push(file),
            Err(e) => break e,
        }
        assert!(fillers.len() < 10_000, "the fd limit is not enforced");
    };
    assert_eq!(exhausted.raw_os_error(), Some(libc::EMFILE), "{exhausted}");

    for attempt in 0..3 {
        let err = must_complete("accept without fds", listener.accept())
            .await
            .expect_err("no fd is available for the accepted connection");
        assert!(
            err.raw_os_error() == Some(libc::EMFILE)
                || err.to_string().contains("Too many open files"),
            "attempt {attempt}: expected EMFILE, got {err}"
        );
    }

    drop(fillers);
    drop(restore);
    let mut accepted = Vec::new();
    for _ in 0..CLIENTS {
        let (_stream, peer) = must_complete("accept after fds are back", listener.accept()).await?;
        accepted.push(peer);
    }
    let mut connected = clients.iter().map(|c| c.local_addr()).collect::<io::Result<Vec<_>>>()?;
    connected.sort();
    accepted.sort();
    assert_eq!(accepted, connected, "the queued connections were all kept and accepted");
    Ok(())
}
