//! `minirt::io::{stdin, stdout, stderr}`: stdin over each kind of fd 0 (a pipe and a socket,
//! read through epoll; a regular file and /dev/null, read on the blocking pool), the `lines`
//! example's line reader run in-process over a pipe, fd 0's flags left untouched, and the
//! `lines` example run end to end with piped stdin when its binary has been built.
//! Ported in part from tokio's io_stdio / process tests of piped standard streams.

mod common;

use std::io::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Command, Stdio};
use std::thread;

use common::{must_complete, watchdog};
use minirt::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../examples/support/lines.rs"]
mod lines;

/// Puts `fd` on fd 0 for the duration of `body`, then puts the original stdin back. Only the
/// single test below touches fd 0, so the swap races with nothing in this binary.
fn with_stdin<T>(fd: &impl AsRawFd, body: impl FnOnce() -> T) -> T {
    // SAFETY: dup of fd 0 (the harness's stdin, open or closed): a new fd or -1.
    let saved = unsafe { libc::dup(0) };
    // SAFETY: `fd` is open for the whole call; dup2 atomically replaces fd 0.
    assert!(unsafe { libc::dup2(fd.as_raw_fd(), 0) } == 0, "dup2 onto fd 0");
    let out = body();
    if saved >= 0 {
        // SAFETY: `saved` is the dup made above, still open.
        unsafe {
            libc::dup2(saved, 0);
            libc::close(saved);
        }
    }
    out
}

fn flags(fd: RawFd) -> i32 {
    // SAFETY: F_GETFL has no memory effects; a closed fd gives -1.
    unsafe { libc::fcntl(fd, libc::F_GETFL) }
}

fn pipe() -> (OwnedFd, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid out array of two ints.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0, "pipe2");
    // SAFETY: both fds were just made by pipe2 and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) }
}

fn runtime() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

#[test]
fn stdin_over_every_kind_of_fd() {
    let _watchdog = watchdog("stdin_over_every_kind_of_fd");

    // A pipe: read through epoll, the writer feeding it slowly from another thread, so the
    // reader really waits for readiness between lines.
    let (read_end, mut write_end) = pipe();
    let before = flags(read_end.as_raw_fd());
    let out = with_stdin(&read_end, || {
        let writer = thread::spawn(move || {
            for i in 0..50 {
                write_end.write_all(format!("line {i}\n").as_bytes()).expect("write");
                if i % 10 == 0 {
                    thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            write_end.write_all(b"last, without newline").expect("write");
        });
        let out = runtime().block_on(async {
            let stdin = minirt::io::stdin();
            let mut out = Vec::new();
            let n = must_complete("lines over a pipe", lines::number_lines(stdin, &mut out))
                .await
                .expect("number_lines");
            assert_eq!(n, 51);
            out
        });
        writer.join().expect("writer");
        out
    });
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.starts_with("1: line 0\n2: line 1\n"), "{text}");
    assert!(text.ends_with("51: last, without newline\n"), "{text}");
    // O_NONBLOCK was set on our own reopened description only, never on the shared one.
    assert_eq!(flags(read_end.as_raw_fd()), before, "fd 0's flags changed");
    assert_eq!(before & libc::O_NONBLOCK, 0);

    // A pipe goes through epoll (the reopened description), not the pool.
    let (read_end, mut write_end) = pipe();
    with_stdin(&read_end, || {
        runtime().block_on(async {
            let mut stdin = minirt::io::stdin();
            write_end.write_all(b"x").expect("write");
            let mut buf = [0u8; 8];
            assert_eq!(must_complete("pipe read", stdin.read(&mut buf)).await.expect("read"), 1);
            assert!(format!("{stdin:?}").contains("epoll"), "{stdin:?}");
        });
    });

    // A socket: a dup in epoll, recv(MSG_DONTWAIT); flags untouched.
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let before = flags(ours.as_raw_fd());
    with_stdin(&ours, || {
        let mut theirs = theirs;
        runtime().block_on(async {
            let mut stdin = minirt::io::stdin();
            theirs.write_all(b"over a socket").expect("write");
            let mut buf = [0u8; 64];
            let n = must_complete("socket read", stdin.read(&mut buf)).await.expect("read");
            assert_eq!(&buf[..n], b"over a socket");
            assert!(format!("{stdin:?}").contains("epoll"), "{stdin:?}");
            drop(theirs);
            let n = must_complete("socket EOF", stdin.read(&mut buf)).await.expect("read");
            assert_eq!(n, 0);
        });
    });
    assert_eq!(flags(ours.as_raw_fd()), before, "socket flags changed");

    // A regular file (epoll refuses it): the blocking pool.
    let path = std::env::temp_dir().join(format!("minirt-stdio-{}", std::process::id()));
    std::fs::write(&path, "one\ntwo\n").expect("write");
    let file = std::fs::File::open(&path).expect("open");
    with_stdin(&file, || {
        runtime().block_on(async {
            let mut out = Vec::new();
            let n = must_complete(
                "lines over a file",
                lines::number_lines(minirt::io::stdin(), &mut out),
            )
            .await
            .expect("number_lines");
            assert_eq!(n, 2);
            assert_eq!(out, b"1: one\n2: two\n");
        });
    });
    let _ = std::fs::remove_file(&path);

    // /dev/null: EOF at once.
    let null = std::fs::File::open("/dev/null").expect("open /dev/null");
    with_stdin(&null, || {
        runtime().block_on(async {
            let mut buf = Vec::new();
            let mut stdin = minirt::io::stdin();
            let n =
                must_complete("read /dev/null", stdin.read_to_end(&mut buf)).await.expect("read");
            assert_eq!(n, 0);
            assert!(format!("{stdin:?}").contains("blocking pool"), "{stdin:?}");
        });
    });
}

#[minirt::test]
async fn stdout_and_stderr_write_and_flush() {
    let _watchdog = watchdog("stdout_and_stderr_write_and_flush");
    let mut stdout = minirt::io::stdout();
    stdout.write_all(b"").await.expect("empty write");
    stdout.flush().await.expect("flush");
    let mut stderr = minirt::io::stderr();
    stderr.write_all(b"stdio test: a line on stderr\n").await.expect("write");
    stderr.flush().await.expect("flush");
    assert_eq!(stderr.as_raw_fd(), 2);
    assert_eq!(stdout.as_raw_fd(), 1);
    assert!(format!("{:?}", minirt::io::stdin()).contains("Stdin"));
}

/// End to end: the `lines` example with a pipe on stdin and one on stdout, when `cargo test`
/// built it (it does when examples are built with the tests; `--test stdio` alone does not).
#[test]
fn lines_example_end_to_end() {
    let _watchdog = watchdog("lines_example_end_to_end");
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/stdio-<hash> -> target/<profile>/examples/lines
    let Some(example) =
        exe.parent().and_then(|deps| deps.parent()).map(|p| p.join("examples/lines"))
    else {
        return;
    };
    if !example.exists() {
        eprintln!("skipped: {} not built (cargo build --example lines)", example.display());
        return;
    }
    let mut child = Command::new(&example)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lines");
    let mut stdin = child.stdin.take().expect("stdin");
    let input: String = (0..1000).map(|i| format!("row {i}\n")).collect();
    let feeder = thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("wait");
    feeder.join().expect("feeder").expect("write stdin");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let expected: String = (0..1000).map(|i| format!("{}: row {i}\n", i + 1)).collect();
    assert_eq!(text, expected);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "1000 lines\n");
}
