//! `minirt::fs` free functions and `read_dir`: every function's success and error paths
//! (missing file, a directory where a file is expected, a file where a directory is expected,
//! permission checks root cannot bypass). Ported in part from tokio's fs.rs, fs_dir.rs,
//! fs_copy.rs, fs_link.rs, fs_remove_*.rs, fs_rename.rs, fs_try_exists.rs, fs_write.rs,
//! fs_canonicalize_dir.rs, fs_open_options.rs.

mod common;

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{must_complete, watchdog};
use minirt::fs;

/// A fresh directory under the system temp dir, removed (with its contents) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("minirt-fs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Give back permissions a test may have taken, so the removal works.
        if let Ok(entries) = std::fs::read_dir(&self.0) {
            for entry in entries.flatten() {
                let _ =
                    std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o755));
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[minirt::test]
async fn read_write_and_read_to_string() {
    let _watchdog = watchdog("read_write_and_read_to_string");
    let dir = TempDir::new("rw");
    let path = dir.path().join("foo.txt");
    must_complete("write", fs::write(&path, "bar")).await.expect("write");
    assert_eq!(fs::read(&path).await.expect("read"), b"bar");
    assert_eq!(fs::read_to_string(&path).await.expect("read_to_string"), "bar");
    // write truncates.
    fs::write(&path, b"x").await.expect("rewrite");
    assert_eq!(fs::read(&path).await.expect("read"), b"x");
    // An empty file.
    fs::write(&path, b"").await.expect("write empty");
    assert!(fs::read(&path).await.expect("read").is_empty());
    // A file larger than one 2 MiB chunk, byte-exact.
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&path, &big).await.expect("write big");
    assert_eq!(fs::read(&path).await.expect("read big"), big);
}

#[minirt::test]
async fn read_errors() {
    let _watchdog = watchdog("read_errors");
    let dir = TempDir::new("read_errors");
    let missing = dir.path().join("missing");
    let err = fs::read(&missing).await.expect_err("missing file");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(
        fs::read_to_string(&missing).await.expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    // A directory where a file is expected.
    let err = fs::read(dir.path()).await.expect_err("read a directory");
    assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
    // A write through a missing directory, and into a directory.
    let err = fs::write(dir.path().join("no/such/file"), b"x").await.expect_err("no parent");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = fs::write(dir.path(), b"x").await.expect_err("write a directory");
    assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
    // Invalid UTF-8.
    fs::write(dir.path().join("bin"), [0xff, 0xfe]).await.expect("write");
    let err = fs::read_to_string(dir.path().join("bin")).await.expect_err("not utf-8");
    assert_eq!(err.kind(), ErrorKind::InvalidData);
}

/// `/proc/version` refuses writes from everyone, root included, so this check holds when the
/// tests run as root (the errno depends on the kernel: EACCES, EPERM, EROFS, or EIO under
/// gVisor-like sandboxes; the point is that it is the OS's error, kept).
#[minirt::test]
async fn write_denied_even_to_root() {
    let _watchdog = watchdog("write_denied_even_to_root");
    let err = fs::write("/proc/version", b"x").await.expect_err("write to /proc/version");
    assert!(err.raw_os_error().is_some(), "{err:?}");
    let err = fs::create_dir("/proc/minirt-test").await.expect_err("mkdir in /proc");
    assert!(err.raw_os_error().is_some(), "{err:?}");
}

#[minirt::test]
async fn permission_denied_by_mode() {
    let _watchdog = watchdog("permission_denied_by_mode");
    if is_root() {
        eprintln!(
            "skipped: running as root, which bypasses file modes (see write_denied_even_to_root)"
        );
        return;
    }
    let dir = TempDir::new("mode");
    let path = dir.path().join("ro");
    fs::write(&path, b"x").await.expect("write");
    fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).await.expect("chmod");
    let err = fs::write(&path, b"y").await.expect_err("write to a 0400 file");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

/// tokio: fs_try_exists.rs; the permission part only when not root.
#[minirt::test]
async fn try_exists() {
    let _watchdog = watchdog("try_exists");
    let dir = TempDir::new("try_exists");
    let existing = dir.path().join("foo.txt");
    fs::write(&existing, b"Hello File!").await.expect("write");
    assert!(fs::try_exists(&existing).await.expect("exists"));
    assert!(!fs::try_exists(dir.path().join("bar.txt")).await.expect("does not exist"));
    // A file used as a directory: ENOTDIR, which try_exists reports as "no" (std's rule).
    assert!(!fs::try_exists(existing.join("x")).await.unwrap_or(false));
    if is_root() {
        eprintln!("try_exists: permission part skipped: root may search any directory");
        return;
    }
    let denied = dir.path().join("baz");
    fs::create_dir(&denied).await.expect("mkdir");
    fs::write(denied.join("baz.txt"), b"x").await.expect("write");
    fs::set_permissions(&denied, std::fs::Permissions::from_mode(0o244)).await.expect("chmod");
    let err = fs::try_exists(denied.join("baz.txt")).await.expect_err("not searchable");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

/// tokio: fs_dir.rs create_dir / create_all / build_dir / remove / read_inherent.
#[minirt::test]
async fn directories() {
    let _watchdog = watchdog("directories");
    let dir = TempDir::new("dirs");
    let new = dir.path().join("foo");
    fs::create_dir(&new).await.expect("create_dir");
    assert!(std::fs::metadata(&new).expect("stat").is_dir());
    // Already exists; missing parent.
    assert_eq!(fs::create_dir(&new).await.expect_err("exists").kind(), ErrorKind::AlreadyExists);
    let deep = dir.path().join("a/b/c");
    assert_eq!(fs::create_dir(&deep).await.expect_err("no parent").kind(), ErrorKind::NotFound);
    fs::create_dir_all(&deep).await.expect("create_dir_all");
    fs::create_dir_all(&deep).await.expect("create_dir_all on an existing dir is fine");
    assert!(std::fs::metadata(&deep).expect("stat").is_dir());
    // A file in the way.
    fs::write(dir.path().join("file"), b"x").await.expect("write");
    let err = fs::create_dir_all(dir.path().join("file/sub")).await.expect_err("file in the way");
    assert!(err.raw_os_error().is_some(), "{err:?}");
    // remove_dir: not empty, then empty; a file is not a directory.
    let err = fs::remove_dir(dir.path().join("a")).await.expect_err("not empty");
    assert_eq!(err.raw_os_error(), Some(libc::ENOTEMPTY));
    fs::remove_dir(&deep).await.expect("remove_dir");
    assert!(!deep.exists());
    let err = fs::remove_dir(dir.path().join("file")).await.expect_err("a file");
    assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
    assert_eq!(
        fs::remove_dir(dir.path().join("missing")).await.expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    // remove_dir_all (tokio: fs_remove_dir_all.rs).
    fs::write(dir.path().join("a/b/f"), b"x").await.expect("write");
    fs::remove_dir_all(dir.path().join("a")).await.expect("remove_dir_all");
    assert!(!dir.path().join("a").exists());
    assert_eq!(
        fs::remove_dir_all(dir.path().join("a")).await.expect_err("gone").kind(),
        ErrorKind::NotFound
    );
}

/// tokio: fs_remove_file.rs, fs_rename.rs, fs_copy.rs.
#[minirt::test]
async fn files_remove_rename_copy() {
    let _watchdog = watchdog("files_remove_rename_copy");
    let dir = TempDir::new("files");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    fs::write(&a, b"Hello").await.expect("write");
    fs::rename(&a, &b).await.expect("rename");
    assert!(!a.exists());
    assert_eq!(fs::read(&b).await.expect("read"), b"Hello");
    assert_eq!(fs::rename(&a, &b).await.expect_err("missing").kind(), ErrorKind::NotFound);
    // copy keeps the mode.
    fs::set_permissions(&b, std::fs::Permissions::from_mode(0o640)).await.expect("chmod");
    assert_eq!(fs::copy(&b, &a).await.expect("copy"), 5);
    assert_eq!(fs::read(&a).await.expect("read"), b"Hello");
    let mode = fs::metadata(&a).await.expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    assert_eq!(
        fs::copy(dir.path().join("nope"), &a).await.expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    assert!(fs::copy(dir.path(), &a).await.is_err(), "copying a directory fails");
    fs::remove_file(&a).await.expect("remove_file");
    assert!(!a.exists());
    assert_eq!(fs::remove_file(&a).await.expect_err("gone").kind(), ErrorKind::NotFound);
    let err = fs::remove_file(dir.path()).await.expect_err("a directory");
    assert!(matches!(err.raw_os_error(), Some(libc::EISDIR) | Some(libc::EPERM)), "{err:?}");
}

/// tokio: fs_link.rs, fs_canonicalize_dir.rs.
#[minirt::test]
async fn links_metadata_canonicalize() {
    let _watchdog = watchdog("links_metadata_canonicalize");
    let dir = TempDir::new("links");
    let src = dir.path().join("src.txt");
    let hard = dir.path().join("hard.txt");
    let soft = dir.path().join("soft.txt");
    fs::write(&src, b"hello").await.expect("write");
    fs::hard_link(&src, &hard).await.expect("hard_link");
    assert_eq!(fs::read(&hard).await.expect("read"), b"hello");
    assert_eq!(
        fs::hard_link(&src, &hard).await.expect_err("exists").kind(),
        ErrorKind::AlreadyExists
    );
    fs::symlink(&src, &soft).await.expect("symlink");
    assert_eq!(fs::read_link(&soft).await.expect("read_link"), src);
    assert_eq!(fs::read(&soft).await.expect("read through link"), b"hello");
    let err = fs::read_link(&src).await.expect_err("not a link");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    assert!(fs::symlink_metadata(&soft).await.expect("lstat").file_type().is_symlink());
    let meta = fs::metadata(&soft).await.expect("stat");
    assert!(meta.is_file());
    assert_eq!(meta.len(), 5);
    assert_eq!(
        fs::metadata(dir.path().join("x")).await.expect_err("missing").kind(),
        ErrorKind::NotFound
    );
    // A dangling link: lstat works, stat does not.
    fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling")).await.expect("symlink");
    assert!(fs::symlink_metadata(dir.path().join("dangling")).await.is_ok());
    assert_eq!(
        fs::metadata(dir.path().join("dangling")).await.expect_err("dangling").kind(),
        ErrorKind::NotFound
    );
    // Error paths of the link functions and set_permissions.
    let missing = dir.path().join("missing");
    let err = fs::hard_link(&missing, dir.path().join("h2")).await.expect_err("no src");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = fs::symlink(&src, &soft).await.expect_err("dst exists");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(fs::read_link(&missing).await.expect_err("missing").kind(), ErrorKind::NotFound);
    let err = fs::symlink_metadata(&missing).await.expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o600))
        .await
        .expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let canon =
        fs::canonicalize(dir.path().join("./links/../soft.txt").join("..").join("soft.txt")).await;
    assert!(canon.is_err(), "a path through a file (soft.txt/..) is not a directory");
    let canon =
        fs::canonicalize(dir.path().join(".").join("soft.txt")).await.expect("canonicalize");
    assert_eq!(canon, std::fs::canonicalize(&src).expect("std canonicalize"));
    assert_eq!(
        fs::canonicalize(dir.path().join("nope")).await.expect_err("missing").kind(),
        ErrorKind::NotFound
    );
}

/// tokio: fs_dir.rs read_inherent / read_dir_entry_info, plus more entries than several
/// batches hold.
#[minirt::test]
async fn read_dir_entries() {
    let _watchdog = watchdog("read_dir_entries");
    let dir = TempDir::new("read_dir");
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).await.expect("mkdir");
    let mut entries = fs::read_dir(&empty).await.expect("read_dir");
    assert!(entries.next_entry().await.expect("next").is_none());
    assert!(entries.next_entry().await.expect("next after the end").is_none());

    let many = dir.path().join("many");
    fs::create_dir(&many).await.expect("mkdir");
    let mut expected = BTreeSet::new();
    for i in 0..1000 {
        let name = format!("f{i}");
        std::fs::write(many.join(&name), b"").expect("write");
        expected.insert(name);
    }
    std::fs::create_dir(many.join("sub")).expect("mkdir");
    expected.insert("sub".to_string());
    let mut seen = BTreeSet::new();
    let mut entries = must_complete("read_dir", fs::read_dir(&many)).await.expect("read_dir");
    while let Some(entry) = entries.next_entry().await.expect("next_entry") {
        let name = entry.file_name().into_string().expect("utf-8");
        assert_eq!(entry.path(), many.join(&name));
        let ty = entry.file_type().await.expect("file_type");
        assert_eq!(ty.is_dir(), name == "sub");
        assert_eq!(entry.metadata().await.expect("metadata").is_dir(), name == "sub");
        assert!(entry.ino() > 0);
        assert!(seen.insert(name), "an entry came twice");
    }
    assert_eq!(seen, expected);

    let err = fs::read_dir(dir.path().join("missing")).await.expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = fs::read_dir(many.join("f1")).await.expect_err("a file");
    assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
}

/// The work runs on the blocking pool on both flavors (the current-thread loop never blocks).
#[test]
fn works_on_both_flavors() {
    let _watchdog = watchdog("works_on_both_flavors");
    let dir = TempDir::new("flavors");
    for rt in [
        minirt::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"),
        minirt::runtime::Runtime::new().expect("runtime"),
    ] {
        let path = dir.path().join("x");
        rt.block_on(async {
            let tasks: Vec<_> = (0..16)
                .map(|i| {
                    let path = path.with_extension(i.to_string());
                    minirt::spawn(async move {
                        fs::write(&path, i.to_string()).await.expect("write");
                        fs::read_to_string(&path).await.expect("read")
                    })
                })
                .collect();
            for (i, task) in tasks.into_iter().enumerate() {
                assert_eq!(must_complete("task", task).await.expect("join"), i.to_string());
            }
        });
    }
}
