//! What `#[minirt::main]` and `#[minirt::test]` accept, checked by doctests: the valid programs
//! below must build and run. What they reject is checked, message and line, by
//! `tests/macro_errors.rs`.
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
//! Every misuse of the attributes (not `async`, arguments, generics, `unsafe`, not a function,
//! unknown or malformed options, a second `#[test]`) is refused by the macro's own
//! `compile_error!`, pointing at the offending token. `tests/macro_errors.rs` lists each case
//! with its exact message and line, and checks them with `rustc`.
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
