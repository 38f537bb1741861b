//! `minirt::fs::File` and `OpenOptions`: reads, writes, seeks and their ordering (a write is
//! flushed before a read or seek; read-ahead is given back before a write or seek), error
//! paths (missing file, directory, read-only descriptor, `/dev/full`), drop with a pending
//! write, and the tokio edge cases of fs_file.rs and fs_open_options.rs.

mod common;

use std::io::{ErrorKind, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{must_complete, watchdog};
use futures_util::io::{AsyncSeekExt, BufReader};
use minirt::fs::{File, OpenOptions};
use minirt::io::{AsyncReadExt, AsyncWriteExt};

const HELLO: &[u8] = b"hello world...";

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("minirt-fs-file-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bytes that differ at every offset, to catch misplaced chunks.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ (i / 251) as u8).collect()
}

fn read_std(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("std read")
}

/// tokio: fs_file.rs basic_read.
#[minirt::test]
async fn basic_read() {
    let _watchdog = watchdog("basic_read");
    let dir = TempDir::new("basic_read");
    std::fs::write(dir.file("f"), HELLO).expect("write");
    let mut file = File::open(dir.file("f")).await.expect("open");
    let mut buf = [0; 1024];
    let n = file.read(&mut buf).await.expect("read");
    assert_eq!(n, HELLO.len());
    assert_eq!(&buf[..n], HELLO);
    // Past the end: 0, and again.
    assert_eq!(file.read(&mut buf).await.expect("read at EOF"), 0);
    assert_eq!(file.read(&mut buf).await.expect("read at EOF again"), 0);
    // An empty buffer reads nothing (tokio: empty_read).
    assert_eq!(file.read(&mut []).await.expect("empty read"), 0);
}

/// tokio: fs_file.rs basic_write, basic_write_and_shutdown, write_vectored.
#[minirt::test]
async fn basic_write() {
    let _watchdog = watchdog("basic_write");
    let dir = TempDir::new("basic_write");
    let mut file = File::create(dir.file("f")).await.expect("create");
    file.write_all(HELLO).await.expect("write");
    file.flush().await.expect("flush");
    assert_eq!(read_std(&dir.file("f")), HELLO);

    let mut file = File::create(dir.file("g")).await.expect("create");
    file.write_all(HELLO).await.expect("write");
    file.shutdown().await.expect("shutdown");
    assert_eq!(read_std(&dir.file("g")), HELLO);

    let mut file = File::create(dir.file("h")).await.expect("create");
    let bufs = [std::io::IoSlice::new(HELLO), std::io::IoSlice::new(HELLO)];
    let mut written = 0;
    while written < HELLO.len() {
        written += futures_util::io::AsyncWriteExt::write_vectored(&mut file, &bufs)
            .await
            .expect("write_vectored");
    }
    file.flush().await.expect("flush");
    assert_eq!(read_std(&dir.file("h")).len(), written);
}

/// Many small writes, then many more than one chunk: the write-behind queue keeps their order.
#[minirt::test]
async fn sequential_writes_keep_order() {
    let _watchdog = watchdog("sequential_writes_keep_order");
    let dir = TempDir::new("seq_write");
    let data = pattern(9 * 1024 * 1024 + 17);
    let mut file = File::create(dir.file("f")).await.expect("create");
    for chunk in data.chunks(64 * 1024 - 3) {
        file.write_all(chunk).await.expect("write");
    }
    for chunk in b"tail".chunks(1) {
        file.write_all(chunk).await.expect("write");
    }
    file.flush().await.expect("flush");
    let got = read_std(&dir.file("f"));
    assert_eq!(got.len(), data.len() + 4);
    assert!(got[..data.len()] == data[..], "content differs");
    assert_eq!(&got[data.len()..], b"tail");
}

/// Reads of odd sizes across several read-ahead chunks, with seeks in between.
#[minirt::test]
async fn sequential_reads_and_seeks() {
    let _watchdog = watchdog("sequential_reads_and_seeks");
    let dir = TempDir::new("seq_read");
    let data = pattern(7 * 1024 * 1024 + 5);
    std::fs::write(dir.file("f"), &data).expect("write");
    let mut file = File::open(dir.file("f")).await.expect("open");
    let mut got = Vec::new();
    let mut buf = vec![0; 65_531];
    loop {
        let n = file.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == data, "sequential read differs");

    // Seek relative to the logical position while read-ahead is buffered.
    // The second read of 10 asks the kernel for 20 (read-ahead doubles): 10 stay buffered.
    let mut file = File::open(dir.file("f")).await.expect("open");
    let mut small = [0u8; 10];
    file.read_exact(&mut small).await.expect("read");
    assert_eq!(small[..], data[..10]);
    file.read_exact(&mut small).await.expect("read");
    assert_eq!(small[..], data[10..20]);
    assert_eq!(file.seek(SeekFrom::Current(5)).await.expect("seek"), 25);
    file.read_exact(&mut small).await.expect("read");
    assert_eq!(small[..], data[25..35]);
    file.read_exact(&mut small).await.expect("read");
    assert_eq!(file.stream_position().await.expect("position"), 45);
    assert_eq!(file.seek(SeekFrom::End(-3)).await.expect("seek end"), data.len() as u64 - 3);
    let mut rest = Vec::new();
    file.read_to_end(&mut rest).await.expect("read_to_end");
    assert_eq!(rest[..], data[data.len() - 3..]);
    // Past the end: seeking there is fine, reading gives 0.
    file.seek(SeekFrom::Start(data.len() as u64 + 100)).await.expect("seek past end");
    assert_eq!(file.read(&mut small).await.expect("read past end"), 0);
    // Before the start: EINVAL, and the file still works.
    let err =
        file.seek(SeekFrom::Current(-(data.len() as i64) - 1000)).await.expect_err("seek < 0");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    assert_eq!(file.seek(SeekFrom::Start(1)).await.expect("seek"), 1);
    file.read_exact(&mut small).await.expect("read");
    assert_eq!(small[..], data[1..11]);
}

/// A write after a read lands at the logical position, not after the read-ahead.
#[minirt::test]
async fn write_after_read_gives_back_read_ahead() {
    let _watchdog = watchdog("write_after_read_gives_back_read_ahead");
    let dir = TempDir::new("rw_order");
    let data = pattern(300_000);
    std::fs::write(dir.file("f"), &data).expect("write");
    let mut file =
        OpenOptions::new().read(true).write(true).open(dir.file("f")).await.expect("open");
    // Two reads of 100: the second asks for 200, so 100 bytes of read-ahead are buffered.
    let mut buf = [0u8; 100];
    file.read_exact(&mut buf).await.expect("read");
    file.read_exact(&mut buf).await.expect("read");
    assert_eq!(buf[..], data[100..200]);
    file.write_all(b"XYZ").await.expect("write");
    // A read right after the write waits for it (the write is flushed first).
    file.read_exact(&mut buf[..2]).await.expect("read after write");
    assert_eq!(buf[..2], data[203..205]);
    file.flush().await.expect("flush");
    let got = read_std(&dir.file("f"));
    assert_eq!(&got[200..203], b"XYZ");
    assert_eq!(got.len(), data.len());
    assert_eq!(got[203..], data[203..]);
    assert_eq!(got[..200], data[..200]);
}

/// tokio: fs_file.rs rewind_seek_position.
#[minirt::test]
async fn rewind_seek_position() {
    let _watchdog = watchdog("rewind_seek_position");
    let dir = TempDir::new("rewind");
    let mut file = File::create(dir.file("f")).await.expect("create");
    file.seek(SeekFrom::Current(10)).await.expect("seek");
    file.seek(SeekFrom::Start(0)).await.expect("rewind");
    assert_eq!(file.stream_position().await.expect("position"), 0);
}

/// tokio: fs_file.rs buf_reader_seek_after_write.
#[minirt::test]
async fn buf_reader_seek_after_write() {
    let _watchdog = watchdog("buf_reader_seek_after_write");
    let dir = TempDir::new("bufreader");
    for (seek, expected) in [
        (SeekFrom::Start(0), 0),
        (SeekFrom::End(-2), HELLO.len() - 2),
        (SeekFrom::Current(-2), HELLO.len() - 2),
    ] {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.file("f"))
            .await
            .expect("open");
        let mut reader = BufReader::new(file);
        futures_util::io::AsyncWriteExt::write_all(&mut reader, HELLO).await.expect("write");
        assert_eq!(reader.seek(seek).await.expect("seek"), expected as u64);
        let mut contents = Vec::new();
        futures_util::io::AsyncReadExt::read_to_end(&mut reader, &mut contents)
            .await
            .expect("read");
        assert_eq!(contents, &HELLO[expected..]);
    }
}

/// tokio: fs_file.rs write_to_clone, write_into_std, write_into_std_immediate,
/// read_file_from_std, unix_fd_is_valid, read_file_from_unix_fd.
#[minirt::test]
async fn clone_and_std_conversions() {
    let _watchdog = watchdog("clone_and_std_conversions");
    let dir = TempDir::new("conv");
    let file = File::create(dir.file("a")).await.expect("create");
    let mut clone = file.try_clone().await.expect("try_clone");
    clone.write_all(HELLO).await.expect("write");
    clone.flush().await.expect("flush");
    assert_eq!(read_std(&dir.file("a")), HELLO);

    let mut file = File::create(dir.file("b")).await.expect("create");
    file.write_all(HELLO).await.expect("write");
    let std_file = file.into_std().await;
    drop(std_file);
    assert_eq!(read_std(&dir.file("b")), HELLO);

    let file = File::create(dir.file("c")).await.expect("create");
    let std_file = file.try_into_std().expect("no operation in flight");
    drop(std_file);
    let mut file = File::create(dir.file("c")).await.expect("create");
    file.write_all(HELLO).await.expect("write");
    let file = file.try_into_std().expect_err("a write in flight");
    drop(file);

    std::fs::write(dir.file("d"), HELLO).expect("write");
    let std_file = std::fs::File::open(dir.file("d")).expect("open");
    let mut file = File::from_std(std_file);
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).await.expect("read");
    assert_eq!(buf, HELLO);
    assert!(file.as_raw_fd() >= 0);

    // Read-ahead is given back on into_std: the std file continues at the logical position.
    let mut file = File::open(dir.file("d")).await.expect("open");
    let mut two = [0u8; 2];
    file.read_exact(&mut two).await.expect("read");
    let mut std_file = file.into_std().await;
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut std_file, &mut rest).expect("std read");
    assert_eq!(rest, &HELLO[2..]);

    let fd = std::fs::File::open(dir.file("d")).expect("open").into_raw_fd();
    // SAFETY: `fd` was just opened and its ownership is handed over.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).await.expect("read");
    assert_eq!(buf, HELLO);
    assert!(format!("{file:?}").starts_with("File { std: File { fd:"));
}

/// tokio: fs_file.rs set_max_buf_size_read / _write / _panics_on_zero.
#[minirt::test]
async fn set_max_buf_size() {
    let _watchdog = watchdog("set_max_buf_size");
    let dir = TempDir::new("max_buf");
    std::fs::write(dir.file("f"), HELLO).expect("write");
    let mut file = File::open(dir.file("f")).await.expect("open");
    assert_eq!(file.max_buf_size(), 2 * 1024 * 1024);
    file.set_max_buf_size(1);
    let mut buf = [0; 1024];
    assert_eq!(file.read(&mut buf).await.expect("read"), 1);
    assert_eq!(file.read(&mut buf).await.expect("read"), 1);

    let mut file = File::create(dir.file("g")).await.expect("create");
    file.set_max_buf_size(1);
    assert_eq!(file.write(HELLO).await.expect("write"), 1);
    file.flush().await.expect("flush");

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        file.set_max_buf_size(0);
    }));
    assert!(result.is_err(), "set_max_buf_size(0) must panic");
}

#[minirt::test]
async fn open_errors() {
    let _watchdog = watchdog("open_errors");
    let dir = TempDir::new("open_errors");
    let err = File::open(dir.file("missing")).await.expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    // A directory where a file is expected: opening for write fails, reading fails.
    let err = File::create(&dir.0).await.expect_err("create a directory");
    assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
    let mut file = File::open(&dir.0).await.expect("a directory opens read-only");
    let err = file.read(&mut [0; 16]).await.expect_err("read a directory");
    assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
    // create_new on an existing file.
    std::fs::write(dir.file("f"), b"x").expect("write");
    let err = File::create_new(dir.file("f")).await.expect_err("exists");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let mut file = File::create_new(dir.file("new")).await.expect("create_new");
    file.write_all(b"ok").await.expect("write");
    file.flush().await.expect("flush");
    // No access mode at all.
    let err = OpenOptions::new().open(dir.file("f")).await.expect_err("no mode");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// A write to a file opened read-only: the kernel refuses it (EBADF) for root too. The write
/// itself returns Ok (its bytes were taken); flush reports the error, as tokio.
#[minirt::test]
async fn write_to_read_only_file_is_reported_by_flush() {
    let _watchdog = watchdog("write_to_read_only_file_is_reported_by_flush");
    let dir = TempDir::new("ro");
    std::fs::write(dir.file("f"), HELLO).expect("write");
    let mut file = File::open(dir.file("f")).await.expect("open");
    file.write_all(b"nope").await.expect("the write is accepted");
    let err = file.flush().await.expect_err("flush reports the failed write");
    assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    // Reported once; the file still reads.
    file.flush().await.expect("second flush");
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).await.expect("read");
    assert_eq!(buf, HELLO);
}

/// `/dev/full` fails every write with ENOSPC, root or not: the error reaches flush, or the next
/// write, and one found by a read is kept for the next write.
#[minirt::test]
async fn write_errors_from_dev_full() {
    let _watchdog = watchdog("write_errors_from_dev_full");
    let mut file = OpenOptions::new().write(true).open("/dev/full").await.expect("open /dev/full");
    file.write_all(HELLO).await.expect("accepted");
    let err = file.flush().await.expect_err("ENOSPC");
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));

    // Many writes: one of the later writes (or the flush) reports the failure.
    let mut failed = false;
    for _ in 0..100 {
        if let Err(err) = file.write_all(&[0; 65536]).await {
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
            failed = true;
            break;
        }
    }
    if !failed {
        assert_eq!(file.flush().await.expect_err("ENOSPC").raw_os_error(), Some(libc::ENOSPC));
    }

    // A read (of a write-only file) finds the write error first and keeps it for the write.
    let mut file = OpenOptions::new().write(true).open("/dev/full").await.expect("open");
    file.write_all(HELLO).await.expect("accepted");
    let err = file.read(&mut [0; 4]).await.expect_err("read of a write-only fd");
    assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    let err = file.write_all(HELLO).await.expect_err("the kept write error");
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
}

/// Dropping a File with accepted, unflushed writes completes them in the background.
#[minirt::test]
async fn drop_completes_pending_writes() {
    let _watchdog = watchdog("drop_completes_pending_writes");
    let dir = TempDir::new("drop");
    let data = pattern(5 * 1024 * 1024);
    let mut file = File::create(dir.file("f")).await.expect("create");
    for chunk in data.chunks(64 * 1024) {
        file.write_all(chunk).await.expect("write");
    }
    drop(file);
    let path = dir.file("f");
    let expected = data.len() as u64;
    must_complete("background write", async {
        loop {
            if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) == expected {
                break;
            }
            minirt::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(read_std(&path) == data);
}

/// sync_all, sync_data, set_len, metadata, set_permissions.
#[minirt::test]
async fn file_methods() {
    let _watchdog = watchdog("file_methods");
    let dir = TempDir::new("methods");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.file("f"))
        .await
        .expect("open");
    file.write_all(HELLO).await.expect("write");
    // set_len waits for the write first.
    file.set_len(5).await.expect("set_len");
    assert_eq!(file.metadata().await.expect("metadata").len(), 5);
    file.sync_all().await.expect("sync_all");
    file.sync_data().await.expect("sync_data");
    file.set_len(100).await.expect("extend");
    assert_eq!(read_std(&dir.file("f")).len(), 100);
    file.set_permissions(std::fs::Permissions::from_mode(0o600)).await.expect("chmod");
    assert_eq!(file.metadata().await.expect("metadata").permissions().mode() & 0o777, 0o600);
    // set_len on a read-only descriptor: EINVAL (or EBADF), for root too.
    let ro = File::open(dir.file("f")).await.expect("open");
    let err = ro.set_len(1).await.expect_err("set_len read-only");
    assert!(matches!(err.raw_os_error(), Some(libc::EINVAL) | Some(libc::EBADF)), "{err:?}");
}

/// tokio: fs_open_options.rs, with the Unix extensions.
#[minirt::test]
async fn open_options() {
    let _watchdog = watchdog("open_options");
    let dir = TempDir::new("options");
    let path = dir.file("f");
    let mut file =
        File::options().write(true).create(true).mode(0o640).open(&path).await.expect("open");
    file.write_all(b"one").await.expect("write");
    file.flush().await.expect("flush");
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    // The umask may clear bits, never add them.
    assert_eq!(mode & !0o640, 0);
    let mut file = OpenOptions::new().append(true).open(&path).await.expect("append");
    file.write_all(b"two").await.expect("write");
    file.flush().await.expect("flush");
    assert_eq!(read_std(&path), b"onetwo");
    let file = OpenOptions::new().write(true).truncate(true).open(&path).await.expect("truncate");
    drop(file);
    assert!(read_std(&path).is_empty());
    std::os::unix::fs::symlink(&path, dir.file("link")).expect("symlink");
    let err = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.file("link"))
        .await
        .expect_err("O_NOFOLLOW on a link");
    assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
    assert!(format!("{:?}", OpenOptions::new()).contains("OpenOptions"));
}

/// Many files at once on the multi-thread runtime.
#[test]
fn concurrent_files_multi_thread() {
    let _watchdog = watchdog("concurrent_files_multi_thread");
    let dir = TempDir::new("concurrent");
    let rt = minirt::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let path = dir.file(&format!("f{i}"));
                minirt::spawn(async move {
                    let data = pattern(1_000_000 + i);
                    let mut file = File::create(&path).await.expect("create");
                    for chunk in data.chunks(10_000) {
                        file.write_all(chunk).await.expect("write");
                    }
                    file.flush().await.expect("flush");
                    let mut file = File::open(&path).await.expect("open");
                    let mut got = Vec::new();
                    file.read_to_end(&mut got).await.expect("read");
                    assert!(got == data);
                })
            })
            .collect();
        for task in tasks {
            must_complete("task", task).await.expect("join");
        }
    });
}

/// A read cancelled after its pool job started: the bytes it read stay unread (the next read
/// returns them), and a write after it lands at the logical position, as in tokio.
#[minirt::test]
async fn cancelled_read_keeps_its_bytes() {
    use futures_util::FutureExt;
    /// Polls one read once and drops it: how many bytes it returned (0: it was cancelled, its
    /// job still running; a fast pool thread may finish it within the poll).
    fn read_once(file: &mut File, buf: &mut [u8]) -> usize {
        file.read(buf).now_or_never().map_or(0, |r| r.expect("read"))
    }
    let _watchdog = watchdog("cancelled_read_keeps_its_bytes");
    let dir = TempDir::new("cancelled_read");
    std::fs::write(dir.file("f"), HELLO).expect("write");
    let mut file =
        OpenOptions::new().read(true).write(true).open(dir.file("f")).await.expect("open");
    let mut buf = [0u8; 5];
    let at = read_once(&mut file, &mut buf);
    file.write_all(b"XY").await.expect("write");
    file.flush().await.expect("flush");
    let mut expected = HELLO.to_vec();
    expected[at..at + 2].copy_from_slice(b"XY");
    assert_eq!(read_std(&dir.file("f")), expected);

    let mut file = File::open(dir.file("f")).await.expect("open");
    let at = read_once(&mut file, &mut buf);
    file.read_exact(&mut buf).await.expect("read");
    assert_eq!(buf[..], expected[at..at + 5]);

    // into_std sees the position the caller saw.
    let mut file = File::open(dir.file("f")).await.expect("open");
    let at = read_once(&mut file, &mut buf);
    let mut std_file = file.into_std().await;
    let mut all = Vec::new();
    std::io::Read::read_to_end(&mut std_file, &mut all).expect("read");
    assert_eq!(all, expected[at..]);
}
