//! `#[minirt::main]` and `#[minirt::test]`: run an `async fn` on a fresh minirt runtime.
//!
//! These are the two attributes that turn
//!
//! ```ignore
//! #[minirt::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = minirt::net::TcpListener::bind("127.0.0.1:7000").await?;
//!     // ...
//!     Ok(())
//! }
//! ```
//!
//! into an ordinary synchronous `fn main`, the way `#[tokio::main]` does. The expansion is
//!
//! ```ignore
//! fn main() -> std::io::Result<()> {
//!     async fn __minirt_main() -> std::io::Result<()> {
//!         let listener = minirt::net::TcpListener::bind("127.0.0.1:7000").await?;
//!         // ...
//!         Ok(())
//!     }
//!     ::minirt::runtime::Builder::new_multi_thread()
//!         .build()
//!         .expect("minirt: failed to build the runtime")
//!         .block_on(__minirt_main())
//! }
//! ```
//!
//! The user's attributes, doc comments, visibility, name and return type stay on the outer
//! `fn`; `#[minirt::test]` adds `#[::core::prelude::v1::test]` to it and names the inner function
//! `__minirt_test`, so `#[ignore]` and `#[should_panic]` keep working.
//!
//! # Why an inner `async fn` rather than an `async` block
//!
//! An `async { body }` block has no declared output type: the compiler has to infer it from the
//! body, and a `?` inside needs that type to pick the error conversion, so `?` followed by a
//! plain `Ok(())` fails to infer. An `async fn` with the user's own return type pins the output,
//! so `?` and `return` mean exactly what they meant in the function the user wrote. The body and
//! return type are spliced in as the user's original token trees, never re-parsed from a string,
//! so every error inside them points at the user's code.
//!
//! # Options
//!
//! Comma separated inside the attribute, each at most once:
//!
//! - `flavor = "current_thread"`: one thread, the caller's; the default for `#[minirt::test]`.
//! - `flavor = "multi_thread"`: the default for `#[minirt::main]`, through
//!   `Builder::new_multi_thread`: a work-stealing pool of worker threads (one per CPU unless
//!   `worker_threads` says otherwise).
//! - `flavor = "local"`: a `LocalRuntime` (`Builder::build_local`): one thread, the caller's,
//!   where `task::spawn_local` works without a `LocalSet`.
//! - `worker_threads = N`: the number of workers asked for, an integer literal greater than 0;
//!   only valid with the multi_thread flavor (so `#[minirt::test]` needs
//!   `flavor = "multi_thread"` beside it).
//! - `start_paused = true`: the runtime starts with its clock paused (`Builder::start_paused`,
//!   `minirt::time::pause`): sleeps and timeouts take no real time. Only valid with the
//!   current_thread flavor (so `#[minirt::main]` needs `flavor = "current_thread"` beside it).
//! - `name = "..."`: the runtime's name (`Builder::name`, read back with `Handle::name`); not
//!   empty.
//! - `crate = "path"`: where the runtime lives when it is not `::minirt`, e.g. after a rename
//!   in `Cargo.toml` or from inside minirt itself (`crate = "crate"`).
//!
//! # Errors
//!
//! This crate parses with `proc_macro` alone (no `syn`), and it never panics on user input:
//! every misuse (a missing `async`, arguments, generics, an unknown option, a bad value) becomes
//! a `compile_error!` spanned at the offending tokens. Where the function itself is sound, the
//! expansion is still emitted beside the error, so the user sees that one error rather than a
//! cascade (such as "`main` function not found").

#![forbid(unsafe_code)]

mod expand;
mod parse;

use proc_macro::{Delimiter, Group, Literal, Spacing, Span, TokenStream, TokenTree};

use expand::{path_tokens, punct};
use parse::{parse_fn, parse_options};

/// Marks the `async fn main` of a program: it runs on a new minirt runtime.
///
/// See the [crate docs](crate) for the options and the expansion.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args, item)
}

/// Marks an `async fn` test: each test runs on its own new minirt runtime.
///
/// See the [crate docs](crate) for the options and the expansion.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args, item)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "main",
            Kind::Test => "test",
        }
    }

    fn inner_fn(self) -> &'static str {
        match self {
            Kind::Main => "__minirt_main",
            Kind::Test => "__minirt_test",
        }
    }

    /// tokio's defaults: a program wants all cores, a test wants determinism and a cheap setup.
    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    CurrentThread,
    MultiThread,
    /// A `LocalRuntime`: current-thread, with `spawn_local` working without a `LocalSet`.
    Local,
}

/// A `compile_error!` to be, covering the tokens from `start` to `end`.
struct Error {
    start: Span,
    end: Span,
    message: String,
}

impl Error {
    fn new(span: Span, message: impl Into<String>) -> Error {
        Error::spanning(span, span, message)
    }

    fn spanning(start: Span, end: Span, message: impl Into<String>) -> Error {
        Error { start, end, message: message.into() }
    }

    /// `::core::compile_error! { "message" }`. Stable `proc_macro` cannot join two spans, but
    /// rustc reports a macro call from its first token to its last: giving the first tokens
    /// `start` and the braces `end` underlines the whole range (the trick `syn` uses too).
    fn to_tokens(&self) -> TokenStream {
        let mut message = Literal::string(&self.message);
        message.set_span(self.end);
        let mut body = Group::new(Delimiter::Brace, TokenStream::from(TokenTree::from(message)));
        body.set_span(self.end);
        let mut tokens = path_tokens(&["", "core", "compile_error"], self.start);
        tokens.push(punct('!', Spacing::Alone, self.start));
        tokens.push(body.into());
        tokens.into_iter().collect()
    }
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Vec::new();
    let options = parse_options(kind, args, &mut errors);
    let mut out = match parse_fn(kind, item.clone(), &mut errors) {
        Some(function) => function.expand(kind, &options),
        // Not a function we can wrap: hand the item back untouched, so the only new error is ours.
        None => item,
    };
    out.extend(errors.iter().map(Error::to_tokens));
    out
}
