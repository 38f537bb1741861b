//! Child processes: [`Command`] spawns one, [`Child`] waits for it, kills it, and talks to it
//! through async pipes. Tokio's `tokio::process`.
//!
//! ```text
//!  Command::spawn ─ std::process::Command::spawn (fork/exec; a missing program is NotFound)
//!                 ├─ pidfd_open(pid)                               (pidfd.rs)
//!                 └─ stdin/stdout/stderr pipes: O_NONBLOCK, AsyncFd   (pipes.rs)
//!  Child::wait    ─ drop stdin (so a child reading it can finish), then
//!                   waitpid(WNOHANG) → status, or wait for the pidfd's EPOLLIN and try again
//!  drop(Child)    ─ kill_on_drop? SIGKILL. Not reaped yet? a reaper task (or the orphan
//!                   list) reaps it when it exits: no zombies
//! ```
//!
//! The exit is detected through a pidfd registered with epoll, so minirt installs no SIGCHLD
//! handler on Linux 5.3 and later; older kernels fall back to one (see `pidfd.rs`).
//!
//! Writing to a child that has closed its stdin fails with `BrokenPipe`. It also raises
//! SIGPIPE, which kills the process unless ignored: Rust's `main` ignores it by default, so
//! this only matters to programs that restored the default disposition.

mod pidfd;
mod pipes;

use std::ffi::OsStr;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use pidfd::force_sigchld_fallback;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};

use futures_io::AsyncRead;
use pidfd::Process;

/// A process builder: `std::process::Command`'s methods, with an async [`spawn`](Self::spawn)
/// result, [`status`](Self::status), [`output`](Self::output) and
/// [`kill_on_drop`](Self::kill_on_drop).
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    // Whether the user chose each stdio, so `output` can apply std's defaults to the others.
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

/// Declares builder methods that only pass their arguments on to the std builder's method of
/// the same name.
macro_rules! std_builder {
    ($(
        $(#[$doc:meta])* fn $name:ident$(<$($g:ident: $bound:path),+>)?($($arg:ident: $ty:ty),*);
    )*) => {$(
        $(#[$doc])*
        pub fn $name$(<$($g: $bound),+>)?(&mut self, $($arg: $ty),*) -> &mut Command {
            self.std.$name($($arg),*);
            self
        }
    )*};
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` if it has no `/`), with no
    /// arguments, the parent's environment and working directory, and inherited stdio.
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// The std builder inside, for what this one does not wrap (`pre_exec`, say).
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std builder inside, mutable.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Gives back the std builder (`kill_on_drop` is lost).
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    std_builder! {
        /// Adds one argument.
        fn arg<S: AsRef<OsStr>>(arg: S);
        /// Sets the child's `argv[0]` (by default, the program as given).
        fn arg0<S: AsRef<OsStr>>(arg0: S);
        /// Sets one environment variable for the child.
        fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(key: K, val: V);
        /// Removes one variable from the child's environment.
        fn env_remove<K: AsRef<OsStr>>(key: K);
        /// Starts the child with an empty environment (plus what `env` adds afterwards).
        fn env_clear();
        /// The child's working directory.
        fn current_dir<P: AsRef<Path>>(dir: P);
        /// The child's user id (`setuid` before `exec`).
        fn uid(id: u32);
        /// The child's group id (`setgid` before `exec`).
        fn gid(id: u32);
        /// Puts the child in process group `pgroup` (0: a new group led by the child).
        fn process_group(pgroup: i32);
    }

    /// Adds several arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// The child's stdin: `Stdio::piped()` makes [`Child::stdin`] a [`ChildStdin`].
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's stdout: `Stdio::piped()` makes [`Child::stdout`] a [`ChildStdout`].
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// The child's stderr: `Stdio::piped()` makes [`Child::stderr`] a [`ChildStderr`].
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Whether dropping the [`Child`] before it exits sends it SIGKILL (default `false`: the
    /// child runs on, and is reaped in the background when it exits).
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The `kill_on_drop` setting.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Starts the child. Its piped stdio are registered with the current runtime.
    ///
    /// # Errors
    /// What `fork`/`exec` report: `NotFound` for a missing program, `PermissionDenied` for a
    /// file that is not executable, ...
    ///
    /// # Panics
    /// Outside a minirt runtime.
    pub fn spawn(&mut self) -> io::Result<Child> {
        pidfd::reap_orphans();
        let mut std = self.std.spawn()?;
        let stdio = (std.stdin.take(), std.stdout.take(), std.stderr.take());
        let process = match Process::new(std) {
            Ok(process) => process,
            Err((e, mut std)) => {
                // We could not watch it: do not leave it running unwatched.
                let _ = std.kill();
                let _ = std.wait();
                return Err(e);
            }
        };
        let mut child = Child {
            process: Some(process),
            kill_on_drop: self.kill_on_drop,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        // If wrapping a pipe fails, `child` drops here and is killed (if asked) and reaped.
        child.stdin = stdio.0.map(ChildStdin::from_std).transpose()?;
        child.stdout = stdio.1.map(ChildStdout::from_std).transpose()?;
        child.stderr = stdio.2.map(ChildStderr::from_std).transpose()?;
        Ok(child)
    }

    /// Spawns the child (now) and returns a future of its exit status. Piped stdio are closed
    /// at once; the others are inherited by default.
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> {
        let child = self.spawn();
        async move {
            let mut child = child?;
            drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
            child.wait().await
        }
    }

    /// Spawns the child (now) and returns a future of everything it printed and its status.
    /// As in std: stdout and stderr are captured, and stdin is `/dev/null`, unless set.
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> {
        if !self.stdin_set {
            self.std.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.std.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.std.stderr(Stdio::piped());
        }
        let child = self.spawn();
        // Back to the defaults `spawn` and `status` use, for the next run of this builder.
        for (set, reset) in [
            (self.stdin_set, std::process::Command::stdin as fn(&mut _, Stdio) -> &mut _),
            (self.stdout_set, std::process::Command::stdout),
            (self.stderr_set, std::process::Command::stderr),
        ] {
            if !set {
                reset(&mut self.std, Stdio::inherit());
            }
        }
        async move { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command { std, kill_on_drop: false, stdin_set: false, stdout_set: false, stderr_set: false }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("std", &self.std)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

/// A spawned child process.
///
/// Dropping it does not wait: the child runs on (unless `kill_on_drop` was set, then it gets
/// SIGKILL) and is reaped in the background once it exits.
pub struct Child {
    // `None` only inside `drop`.
    process: Option<Process>,
    kill_on_drop: bool,
    /// The child's stdin, if it was `Stdio::piped()` (take it to write to the child).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
}

fn gone() -> io::Error {
    io::Error::other("the child process was handed to the reaper")
}

impl Child {
    fn process(&mut self) -> io::Result<&mut Process> {
        self.process.as_mut().ok_or_else(gone)
    }

    /// The OS process id, or `None` once the child's exit has been seen (its pid may then
    /// belong to another process).
    pub fn id(&self) -> Option<u32> {
        self.process.as_ref().and_then(Process::id)
    }

    /// Sends SIGKILL without waiting. `Ok` also if the child has already been reaped.
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.process()?.start_kill()
    }

    /// Sends SIGKILL and waits until the child is gone.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Waits for the child to exit and returns its status; later calls return the same status.
    /// Closes [`Child::stdin`] first, so a child that reads until EOF can finish.
    ///
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let process = self.process()?;
        poll_fn(|cx| process.poll_wait(cx)).await
    }

    /// The exit status if the child has exited (reaping it), `None` if it still runs. Never
    /// waits.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.process()?.try_wait()
    }

    /// Closes stdin, reads stdout and stderr to the end (those that are piped) while waiting
    /// for the exit, and returns all three.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout = ReadAll::new(self.stdout.take());
        let mut stderr = ReadAll::new(self.stderr.take());
        let process = self.process()?;
        let mut status = None;
        poll_fn(|cx| {
            stdout.poll(cx)?;
            stderr.poll(cx)?;
            if status.is_none() {
                if let Poll::Ready(result) = process.poll_wait(cx) {
                    status = Some(result?);
                }
            }
            match status {
                Some(_) if stdout.done && stderr.done => Poll::Ready(Ok::<_, io::Error>(())),
                _ => Poll::Pending,
            }
        })
        .await?;
        let status = status.ok_or_else(|| io::Error::other("no exit status"))?;
        Ok(Output { status, stdout: stdout.buf, stderr: stderr.buf })
    }
}

/// Reads one pipe to EOF, a poll at a time.
struct ReadAll<R> {
    reader: Option<R>,
    buf: Vec<u8>,
    done: bool,
}

impl<R: AsyncRead + Unpin> ReadAll<R> {
    fn new(reader: Option<R>) -> ReadAll<R> {
        let done = reader.is_none();
        ReadAll { reader, buf: Vec::new(), done }
    }

    /// Reads until EOF (then `done`) or `Pending`.
    fn poll(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(reader) = self.reader.as_mut() else { return Ok(()) };
        let mut chunk = [0u8; 8192];
        loop {
            match Pin::new(&mut *reader).poll_read(cx, &mut chunk) {
                Poll::Ready(Ok(0)) => {
                    self.done = true;
                    self.reader = None;
                    return Ok(());
                }
                Poll::Ready(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => return Ok(()),
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut process) = self.process.take() else { return };
        if process.status().is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = process.start_kill();
        }
        process.reap_in_background();
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}
