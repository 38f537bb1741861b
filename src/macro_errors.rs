//! What `#[minirt::main]` and `#[minirt::test]` accept and what they reject, checked by
//! doctests: the valid program below must build and run, and every `compile_fail` block must be
//! refused by the macro's own `compile_error!` (the message each one gets is quoted above it).
//!
//! # Accepted
//!
//! An `async fn` with no arguments and any return type; `?` and `return` work as in any fn:
//!
//! ```
//! use std::io;
//!
//! async fn read_port(text: &str) -> io::Result<u16> {
//!     text.parse()
//!         .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
//! }
//!
//! /// Doc comments and attributes stay on the generated `fn main`.
//! #[minirt::main]
//! #[allow(unreachable_code)]
//! async fn main() -> io::Result<()> {
//!     let port = read_port("7000").await?;
//!     assert_eq!(port, 7000);
//!     if port != 0 {
//!         return Ok(());
//!     }
//!     unreachable!()
//! }
//! ```
//!
//! Options, tokio's names:
//!
//! ```
//! #[minirt::main(flavor = "multi_thread", worker_threads = 2, crate = "::minirt")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let n: u32 = "42".parse()?;
//!     assert_eq!(n, 42);
//!     Ok(())
//! }
//! ```
//!
//! # Rejected
//!
//! "the `async` keyword is missing from the function declaration":
//!
//! ```compile_fail
//! #[minirt::main]
//! fn main() {}
//! ```
//!
//! ```compile_fail
//! #[minirt::test]
//! fn not_async() {}
//! ```
//!
//! "the main function cannot accept arguments" (and "the test function ..."):
//!
//! ```compile_fail
//! #[minirt::main]
//! async fn main(args: Vec<String>) {
//!     let _ = args;
//! }
//! ```
//!
//! ```compile_fail
//! #[minirt::test]
//! async fn takes_an_argument(n: u32) {
//!     let _ = n;
//! }
//! ```
//!
//! "the main function cannot have generic parameters", "... cannot have a `where` clause":
//!
//! ```compile_fail
//! #[minirt::main]
//! async fn main<T: Default>() {
//!     let _ = T::default();
//! }
//! ```
//!
//! ```compile_fail
//! #[minirt::main]
//! async fn main()
//! where
//!     u8: Copy,
//! {
//! }
//! ```
//!
//! "the main function cannot be `unsafe`" (likewise `const` and `extern`):
//!
//! ```compile_fail
//! #[minirt::main]
//! async unsafe fn main() {}
//! ```
//!
//! "the `#[minirt::main]` attribute can only be applied to an `async fn`":
//!
//! ```compile_fail
//! #[minirt::main]
//! struct Server;
//!
//! fn main() {}
//! ```
//!
//! "unknown option `foo`; expected one of `flavor`, `worker_threads`, `crate`":
//!
//! ```compile_fail
//! #[minirt::main(foo = 1)]
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[minirt::test(start_paused = true)]
//! async fn tokio_only_option() {}
//! ```
//!
//! "unknown flavor `single_thread`; expected \"current_thread\" or \"multi_thread\"":
//!
//! ```compile_fail
//! #[minirt::main(flavor = "single_thread")]
//! async fn main() {}
//! ```
//!
//! "`flavor` expects a string: \"current_thread\" or \"multi_thread\"":
//!
//! ```compile_fail
//! #[minirt::main(flavor = current_thread)]
//! async fn main() {}
//! ```
//!
//! "expected `flavor = <value>`":
//!
//! ```compile_fail
//! #[minirt::main(flavor)]
//! async fn main() {}
//! ```
//!
//! "`worker_threads` cannot be used with the current_thread flavor, ...":
//!
//! ```compile_fail
//! #[minirt::main(flavor = "current_thread", worker_threads = 2)]
//! async fn main() {}
//! ```
//!
//! "`worker_threads` requires the multi_thread flavor, and `#[minirt::test]` defaults to
//! current_thread; ...":
//!
//! ```compile_fail
//! #[minirt::test(worker_threads = 2)]
//! async fn needs_a_flavor() {}
//! ```
//!
//! "`worker_threads` must be greater than 0":
//!
//! ```compile_fail
//! #[minirt::main(worker_threads = 0)]
//! async fn main() {}
//! ```
//!
//! "`worker_threads` expects a positive integer literal, like `worker_threads = 4`":
//!
//! ```compile_fail
//! #[minirt::main(worker_threads = "4")]
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[minirt::main(worker_threads = -1)]
//! async fn main() {}
//! ```
//!
//! "duplicate option `flavor`":
//!
//! ```compile_fail
//! #[minirt::main(flavor = "multi_thread", flavor = "current_thread")]
//! async fn main() {}
//! ```
//!
//! "`crate` expects a string holding a path, like `crate = \"::minirt\"`":
//!
//! ```compile_fail
//! #[minirt::main(crate = "not a path")]
//! async fn main() {}
//! ```
//!
//! "second test attribute is supplied; ...":
//!
//! ```compile_fail
//! #[minirt::test]
//! #[test]
//! async fn twice() {}
//! ```
//!
//! Errors inside the body are the compiler's own, at the user's code: here, `?` on an
//! `io::Result` in a function that returns `()`.
//!
//! ```compile_fail
//! #[minirt::main]
//! async fn main() {
//!     std::fs::read("config.toml")?;
//! }
//! ```
