//! `#[minirt::test]` and `#[minirt::main]` end to end: each function below is expanded by the
//! macro and run on a real minirt runtime. A test binary already has a `main`, so
//! `#[minirt::main]` is exercised on functions with other names (allowed, as with tokio) and
//! called from plain tests. The misuse cases are `compile_fail` doctests in
//! `src/macro_errors.rs`.

use std::io;
use std::thread;

/// A future that is pending once before it completes, so the runtime must really poll twice
/// (and handle the wake) rather than finish on the first poll.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

async fn parse_port(text: &str) -> io::Result<u16> {
    yield_once().await;
    text.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

#[minirt::test]
async fn unit_return() {
    yield_once().await;
    assert_eq!(1 + 1, 2);
}

#[minirt::test]
async fn io_result_with_question_mark() -> io::Result<()> {
    let port = parse_port("7000").await?;
    assert_eq!(port, 7000);
    Ok(())
}

#[minirt::test]
async fn boxed_error_return() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    Ok(())
}

#[minirt::test]
async fn early_return() -> io::Result<()> {
    for i in 0.. {
        yield_once().await;
        if i == 3 {
            return Ok(());
        }
    }
    unreachable!("the loop returns at i == 3")
}

#[minirt::test]
async fn early_return_unit() {
    if std::hint::black_box(true) {
        return;
    }
    panic!("the body ran past its `return`");
}

#[minirt::test]
async fn current_thread_runs_on_the_test_thread() {
    let caller = thread::current().id();
    yield_once().await;
    assert_eq!(thread::current().id(), caller);
}

#[minirt::test(flavor = "current_thread")]
async fn explicit_current_thread() {
    yield_once().await;
}

#[minirt::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_two_workers() -> io::Result<()> {
    assert_eq!(parse_port("80").await?, 80);
    Ok(())
}

#[minirt::test(flavor = "multi_thread")]
async fn multi_thread_default_workers() {
    yield_once().await;
}

/// `start_paused = true`: the runtime's clock is frozen from the start, and an hour's sleep
/// takes no real time but shows an hour passed.
#[minirt::test(start_paused = true)]
async fn start_paused_freezes_the_clock() {
    use minirt::time::{sleep, Duration, Instant};
    let start = Instant::now();
    thread::sleep(Duration::from_millis(2));
    assert_eq!(Instant::now(), start, "the clock moved while paused");
    let real = std::time::Instant::now();
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
    assert!(real.elapsed() < Duration::from_secs(600), "slept in real time");
}

#[minirt::test(flavor = "current_thread", start_paused = false)]
async fn start_paused_false_leaves_the_clock_running() {
    let start = minirt::time::Instant::now();
    thread::sleep(std::time::Duration::from_millis(2));
    assert!(start.elapsed() >= std::time::Duration::from_millis(2));
}

#[minirt::main(flavor = "current_thread", start_paused = true)]
async fn main_start_paused() -> std::time::Duration {
    let start = minirt::time::Instant::now();
    minirt::time::sleep(std::time::Duration::from_secs(60)).await;
    start.elapsed()
}

#[test]
fn main_with_start_paused() {
    assert_eq!(main_start_paused(), std::time::Duration::from_secs(60));
}

#[minirt::test]
#[should_panic(expected = "boom")]
async fn should_panic_is_preserved() {
    yield_once().await;
    panic!("boom");
}

#[minirt::test]
#[ignore = "checks that #[ignore] survives the expansion; never run"]
async fn ignore_is_preserved() {
    panic!("an ignored test ran");
}

/// Doc comments and lint attributes stay on the generated function.
#[minirt::test]
#[allow(clippy::bool_assert_comparison)]
async fn attributes_are_preserved() {
    assert_eq!(true, true);
}

#[minirt::test(crate = "::minirt")]
async fn explicit_crate_path() {
    yield_once().await;
}

mod nested {
    // Visibility, and a test inside a module that reaches its parent's items.
    #[minirt::test]
    pub(crate) async fn in_a_module() -> std::io::Result<()> {
        super::yield_once().await;
        Ok(())
    }
}

/// `#[minirt::main]` keeps the name, the return type and the value the body returns.
#[minirt::main]
async fn main_multi_thread() -> io::Result<u16> {
    let port = parse_port("8080").await?;
    Ok(port)
}

#[minirt::main(flavor = "current_thread")]
async fn main_current_thread() -> u32 {
    yield_once().await;
    if std::hint::black_box(true) {
        return 7;
    }
    0
}

#[minirt::main(worker_threads = 2)]
async fn main_error() -> Result<(), Box<dyn std::error::Error>> {
    parse_port("port 80").await?;
    Ok(())
}

#[test]
fn main_expansion_runs_the_body() {
    assert_eq!(main_multi_thread().unwrap(), 8080);
    assert_eq!(main_current_thread(), 7);
    let err = main_error().unwrap_err();
    assert!(err.to_string().contains("invalid digit"), "{err}");
}

/// The attributes inside a `macro_rules!` macro: the fragments it passes on (`$name:ident`,
/// `$ret:ty`, `$body:block`) reach them wrapped in invisible groups, as with tokio's.
macro_rules! test_on_both_flavors {
    ($name:ident() -> $ret:ty $body:block) => {
        mod $name {
            #[minirt::test]
            async fn current_thread() -> $ret $body

            #[minirt::test(flavor = "multi_thread", worker_threads = 2)]
            async fn multi_thread() -> $ret $body
        }
    };
}

test_on_both_flavors!(fragments_from_macro_rules() -> Result<(), String> {
    let answer = minirt::spawn(async { 6 * 7 }).await.map_err(|e| e.to_string())?;
    if answer == 42 { Ok(()) } else { Err(format!("spawned task returned {answer}")) }
});

/// tokio's `test_macro_should_handle_the_name_if_provided`.
#[minirt::test(name = "a valid runtime name")]
async fn test_macro_should_handle_the_name_if_provided() {
    let handle = minirt::runtime::Handle::current();
    assert_eq!("a valid runtime name", handle.name().unwrap());
}

/// `flavor = "local"` (tokio's): a `LocalRuntime`, where `spawn_local` needs no `LocalSet`.
#[minirt::test(flavor = "local")]
async fn local_flavor_runs_spawn_local() {
    let shared = std::rc::Rc::new(std::cell::Cell::new(0));
    let task = minirt::task::spawn_local({
        let shared = shared.clone();
        async move {
            minirt::task::yield_now().await;
            shared.set(7);
        }
    });
    task.await.expect("the local task completes");
    assert_eq!(shared.get(), 7);
}

#[minirt::test(flavor = "local", start_paused = true)]
async fn local_flavor_with_paused_clock() {
    let start = minirt::time::Instant::now();
    minirt::time::sleep(std::time::Duration::from_secs(3600)).await;
    assert!(start.elapsed() >= std::time::Duration::from_secs(3600));
}
