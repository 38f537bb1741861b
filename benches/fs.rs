//! File system benchmarks: `minirt::fs` beside `tokio::fs`, both on a current-thread runtime
//! with its blocking pool, in one run.
//!
//! | group            | what one iteration does                                  |
//! |------------------|----------------------------------------------------------|
//! | `fs_seq_read`    | read a 256 MiB file to the end with 64 KiB `read`s        |
//! | `fs_seq_write`   | write a 256 MiB file with 64 KiB `write_all`s, then flush |
//! |                  | (over the previous iteration's file, not truncating it:   |
//! |                  | freeing and reallocating 65,536 page-cache pages per      |
//! |                  | iteration would dominate and hide the runtime's cost)     |
//! | `fs_read_small`  | `fs::read` 10,000 small files, one after the other        |
//! | `fs_read_dir`    | `read_dir` + `next_entry` over a 10,000-entry directory    |
//!
//! The sequential groups also time `std_blocking`, the same loop with std's blocking calls on
//! the bench thread: the ceiling, what the kernel and the disk allow without any runtime.
//!
//! The data is made under the system temp dir at the start (named with the pid) and removed
//! at the end. The sequential groups move 256 MiB per iteration: run them with few samples.
//!
//! ```text
//! cargo bench --bench fs -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench fs -- fs_read_dir             # one group
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput};

/// Size of the sequential read/write file.
const BIG_FILE: usize = 256 * 1024 * 1024;
/// The application's read/write size in the sequential groups.
const CHUNK: usize = 64 * 1024;
/// Files read by one `fs_read_small` iteration, and their size.
const SMALL_FILES: usize = 10_000;
const SMALL_FILE_SIZE: usize = 256;
/// Entries of the `fs_read_dir` directory.
const DIR_ENTRIES: usize = 10_000;

struct Data {
    root: PathBuf,
}

impl Data {
    fn create() -> Data {
        let root = std::env::temp_dir().join(format!("minirt-bench-fs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("small")).expect("mkdir");
        std::fs::create_dir_all(root.join("dir")).expect("mkdir");
        let big: Vec<u8> = (0..BIG_FILE).map(|i| i as u8).collect();
        std::fs::write(root.join("big"), big).expect("write big");
        for i in 0..SMALL_FILES {
            std::fs::write(root.join("small").join(i.to_string()), [i as u8; SMALL_FILE_SIZE])
                .expect("write small");
        }
        for i in 0..DIR_ENTRIES {
            std::fs::write(root.join("dir").join(format!("entry-{i}")), b"").expect("write");
        }
        Data { root }
    }

    fn big(&self) -> PathBuf {
        self.root.join("big")
    }

    fn small(&self, i: usize) -> PathBuf {
        self.root.join("small").join(i.to_string())
    }

    fn dir(&self) -> PathBuf {
        self.root.join("dir")
    }

    fn out(&self, who: &str) -> PathBuf {
        self.root.join(format!("out-{who}"))
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn minirt_rt() -> minirt::runtime::Runtime {
    minirt::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

async fn minirt_seq_read(path: &Path) -> usize {
    use minirt::io::AsyncReadExt;
    let mut file = minirt::fs::File::open(path).await.expect("open");
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        let n = file.read(&mut buf).await.expect("read");
        if n == 0 {
            return total;
        }
        total += n;
    }
}

async fn tokio_seq_read(path: &Path) -> usize {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await.expect("open");
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    loop {
        let n = file.read(&mut buf).await.expect("read");
        if n == 0 {
            return total;
        }
        total += n;
    }
}

async fn minirt_seq_write(path: &Path) {
    use minirt::io::AsyncWriteExt;
    let mut file = minirt::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .await
        .expect("open");
    let buf = vec![7u8; CHUNK];
    for _ in 0..BIG_FILE / CHUNK {
        file.write_all(&buf).await.expect("write");
    }
    file.flush().await.expect("flush");
}

async fn tokio_seq_write(path: &Path) {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .await
        .expect("open");
    let buf = vec![7u8; CHUNK];
    for _ in 0..BIG_FILE / CHUNK {
        file.write_all(&buf).await.expect("write");
    }
    file.flush().await.expect("flush");
}

fn sequential(c: &mut Criterion, data: &Data) {
    let (mrt, trt) = (minirt_rt(), tokio_rt());
    let mut group = c.benchmark_group("fs_seq_read");
    group.sample_size(10).throughput(Throughput::Bytes(BIG_FILE as u64));
    group.bench_function("minirt", |b| {
        b.iter(|| assert_eq!(mrt.block_on(minirt_seq_read(&data.big())), BIG_FILE))
    });
    group.bench_function("tokio", |b| {
        b.iter(|| assert_eq!(trt.block_on(tokio_seq_read(&data.big())), BIG_FILE))
    });
    group.bench_function("std_blocking", |b| {
        b.iter(|| {
            let mut file = std::fs::File::open(data.big()).expect("open");
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0;
            loop {
                let n = std::io::Read::read(&mut file, &mut buf).expect("read");
                if n == 0 {
                    break;
                }
                total += n;
            }
            assert_eq!(total, BIG_FILE);
        })
    });
    group.finish();

    let mut group = c.benchmark_group("fs_seq_write");
    group.sample_size(10).throughput(Throughput::Bytes(BIG_FILE as u64));
    group.bench_function("minirt", |b| b.iter(|| mrt.block_on(minirt_seq_write(&data.out("m")))));
    group.bench_function("tokio", |b| b.iter(|| trt.block_on(tokio_seq_write(&data.out("t")))));
    group.bench_function("std_blocking", |b| {
        b.iter(|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(data.out("s"))
                .expect("open");
            let buf = vec![7u8; CHUNK];
            for _ in 0..BIG_FILE / CHUNK {
                std::io::Write::write_all(&mut file, &buf).expect("write");
            }
        })
    });
    group.finish();
    let _ = std::fs::remove_file(data.out("s"));
    let _ = std::fs::remove_file(data.out("m"));
    let _ = std::fs::remove_file(data.out("t"));
}

fn small_files(c: &mut Criterion, data: &Data) {
    let (mrt, trt) = (minirt_rt(), tokio_rt());
    let mut group = c.benchmark_group("fs_read_small");
    group.sample_size(10).throughput(Throughput::Elements(SMALL_FILES as u64));
    group.bench_function("minirt", |b| {
        b.iter(|| {
            mrt.block_on(async {
                for i in 0..SMALL_FILES {
                    let bytes = minirt::fs::read(data.small(i)).await.expect("read");
                    assert_eq!(bytes.len(), SMALL_FILE_SIZE);
                }
            })
        })
    });
    group.bench_function("tokio", |b| {
        b.iter(|| {
            trt.block_on(async {
                for i in 0..SMALL_FILES {
                    let bytes = tokio::fs::read(data.small(i)).await.expect("read");
                    assert_eq!(bytes.len(), SMALL_FILE_SIZE);
                }
            })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("fs_read_dir");
    group.sample_size(10).throughput(Throughput::Elements(DIR_ENTRIES as u64));
    group.bench_function("minirt", |b| {
        b.iter(|| {
            mrt.block_on(async {
                let mut entries = minirt::fs::read_dir(data.dir()).await.expect("read_dir");
                let mut n = 0;
                while let Some(entry) = entries.next_entry().await.expect("next") {
                    std::hint::black_box(entry.file_name());
                    n += 1;
                }
                assert_eq!(n, DIR_ENTRIES);
            })
        })
    });
    group.bench_function("tokio", |b| {
        b.iter(|| {
            trt.block_on(async {
                let mut entries = tokio::fs::read_dir(data.dir()).await.expect("read_dir");
                let mut n = 0;
                while let Some(entry) = entries.next_entry().await.expect("next") {
                    std::hint::black_box(entry.file_name());
                    n += 1;
                }
                assert_eq!(n, DIR_ENTRIES);
            })
        })
    });
    group.finish();
}

fn main() {
    let data = Data::create();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    sequential(&mut c, &data);
    small_files(&mut c, &data);
    c.final_summary();
}
