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

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

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

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

struct Options {
    flavor: Flavor,
    /// The value, spanned at the user's literal so a type error would point there.
    worker_threads: Option<Literal>,
    /// `name = "..."`: the runtime's name, the user's string literal as written.
    name: Option<Literal>,
    /// `start_paused = true`: the runtime's clock starts paused.
    start_paused: bool,
    /// The path the runtime is reached through, `::minirt` unless `crate = "..."` says otherwise,
    /// and the span of the user's literal for it, which the path to `Builder` borrows so that
    /// "could not find `runtime`" underlines that literal rather than the whole attribute.
    krate: (TokenStream, Span),
}

fn parse_options(kind: Kind, args: TokenStream, errors: &mut Vec<Error>) -> Options {
    let mut flavor = None;
    let mut worker_threads: Option<(Literal, Span)> = None;
    let mut runtime_name: Option<Literal> = None;
    let mut start_paused: Option<(bool, Span, Span)> = None;
    let mut krate = None;
    let mut seen: Vec<String> = Vec::new();

    for option in split_commas(args) {
        let mut tokens = option.into_iter();
        let name = match tokens.next() {
            Some(TokenTree::Ident(name)) => name,
            Some(other) => {
                errors.push(Error::new(
                    other.span(),
                    "expected an option, like `flavor = \"current_thread\"`",
                ));
                continue;
            }
            // An empty slot between commas, or a trailing comma.
            None => continue,
        };
        let key = name.to_string();
        if !["flavor", "worker_threads", "start_paused", "name", "crate"].contains(&key.as_str()) {
            errors.push(Error::new(
                name.span(),
                format!(
                    "unknown option `{key}`; expected one of `flavor`, `worker_threads`, \
                     `start_paused`, `name`, `crate`"
                ),
            ));
            continue;
        }
        if seen.contains(&key) {
            errors.push(Error::new(name.span(), format!("duplicate option `{key}`")));
            continue;
        }
        seen.push(key.clone());

        let first = match (tokens.next(), tokens.next()) {
            (Some(TokenTree::Punct(eq)), Some(first)) if eq.as_char() == '=' => first,
            (Some(TokenTree::Punct(eq)), None) if eq.as_char() == '=' => {
                errors.push(Error::spanning(
                    name.span(),
                    eq.span(),
                    format!("expected a value after `{key} =`"),
                ));
                continue;
            }
            _ => {
                errors.push(Error::new(name.span(), format!("expected `{key} = <value>`")));
                continue;
            }
        };
        // A value is one token. Anything longer (`-1`, `a::b`) is a bad value for this option,
        // reported across all of it; `None` below stands for it.
        let rest: Vec<TokenTree> = tokens.collect();
        let start = first.span();
        let end = rest.last().map_or(start, TokenTree::span);
        let value = rest.is_empty().then(|| unwrap_none_group(first));
        let bad_value = |message: &str| Error::spanning(start, end, message);

        match key.as_str() {
            "flavor" => match value.as_ref().and_then(string_value).as_deref() {
                Some("current_thread") => flavor = Some(Flavor::CurrentThread),
                Some("multi_thread") => flavor = Some(Flavor::MultiThread),
                Some("local") => flavor = Some(Flavor::Local),
                Some(other) => errors.push(bad_value(&format!(
                    "unknown flavor `{other}`; expected \"current_thread\", \"multi_thread\" \
                     or \"local\""
                ))),
                None => errors.push(bad_value(
                    "`flavor` expects a string: \"current_thread\", \"multi_thread\" or \"local\"",
                )),
            },
            "worker_threads" => match value.as_ref().and_then(integer_value) {
                Some(0) => errors.push(bad_value("`worker_threads` must be greater than 0")),
                Some(n) => {
                    let mut literal = Literal::usize_unsuffixed(n);
                    literal.set_span(start);
                    worker_threads = Some((literal, name.span()));
                }
                None => errors.push(bad_value(
                    "`worker_threads` expects a positive integer literal, like `worker_threads = 4`",
                )),
            },
            "start_paused" => match value.as_ref().and_then(bool_value) {
                Some(paused) => start_paused = Some((paused, name.span(), end)),
                None => errors.push(bad_value(
                    "`start_paused` expects a boolean, like `start_paused = true`",
                )),
            },
            "name" => match (value.as_ref().and_then(string_value), &value) {
                (Some(text), _) if text.trim().is_empty() => {
                    errors.push(bad_value("`name` must not be empty"))
                }
                (Some(_), Some(TokenTree::Literal(literal))) => runtime_name = Some(literal.clone()),
                _ => errors.push(bad_value("`name` expects a string, like `name = \"my-runtime\"`")),
            },
            _ => match value.as_ref().and_then(string_value).and_then(|s| parse_path(&s, start)) {
                Some(path) => krate = Some((path, start)),
                None => errors.push(bad_value(
                    "`crate` expects a string holding a path, like `crate = \"::minirt\"`",
                )),
            },
        }
    }

    let flavor_given = flavor.is_some();
    let flavor = flavor.unwrap_or(kind.default_flavor());
    if let (Flavor::CurrentThread | Flavor::Local, Some((literal, name_span))) =
        (flavor, &worker_threads)
    {
        let message = if flavor_given {
            let name = if flavor == Flavor::Local { "local" } else { "current_thread" };
            format!(
                "`worker_threads` cannot be used with the {name} flavor, which runs everything \
                 on the calling thread; use `flavor = \"multi_thread\"`"
            )
        } else {
            format!(
                "`worker_threads` requires the multi_thread flavor, and `#[minirt::{}]` defaults \
                 to current_thread; add `flavor = \"multi_thread\"`",
                kind.name()
            )
        };
        errors.push(Error::spanning(*name_span, literal.span(), message));
    }
    if let (Flavor::MultiThread, Some((true, name_span, end))) = (flavor, start_paused) {
        let message = if flavor_given {
            "`start_paused` requires the current_thread flavor: time can be paused only where \
             one thread runs every task; use `flavor = \"current_thread\"`"
                .to_string()
        } else {
            format!(
                "`start_paused` requires the current_thread flavor, and `#[minirt::{}]` \
                 defaults to multi_thread; add `flavor = \"current_thread\"`",
                kind.name()
            )
        };
        errors.push(Error::spanning(name_span, end, message));
    }

    Options {
        flavor,
        worker_threads: worker_threads.map(|(literal, _)| literal),
        name: runtime_name,
        start_paused: start_paused.is_some_and(|(paused, _, _)| paused),
        krate: krate.unwrap_or_else(|| {
            let path = path_tokens(&["", "minirt"], Span::call_site());
            (path.into_iter().collect(), Span::call_site())
        }),
    }
}

/// Splits the attribute's arguments at top-level commas (commas inside groups are not ours).
fn split_commas(args: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut options = vec![Vec::new()];
    for token in args {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => options.push(Vec::new()),
            _ => {
                if let Some(last) = options.last_mut() {
                    last.push(token)
                }
            }
        }
    }
    options
}

/// A `macro_rules!` fragment such as `$flavor:literal` arrives wrapped in an invisible group.
fn unwrap_none_group(token: TokenTree) -> TokenTree {
    if let TokenTree::Group(group) = &token {
        if group.delimiter() == Delimiter::None {
            let mut inner = group.stream().into_iter();
            if let (Some(only), None) = (inner.next(), inner.next()) {
                return unwrap_none_group(only);
            }
        }
    }
    token
}

/// The contents of a plain or raw string literal. Escapes are left alone: none of our valid
/// values contains one, so a string with escapes simply fails to match.
fn string_value(token: &TokenTree) -> Option<String> {
    let TokenTree::Literal(literal) = token else {
        return None;
    };
    let text = literal.to_string();
    let (unprefixed, hashes) = match text.strip_prefix('r') {
        Some(raw) => (raw, raw.len() - raw.trim_start_matches('#').len()),
        None => (text.as_str(), 0),
    };
    let quoted = unprefixed.get(hashes..unprefixed.len().checked_sub(hashes)?)?;
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.to_string())
}

/// `true` or `false`.
fn bool_value(token: &TokenTree) -> Option<bool> {
    match token {
        TokenTree::Ident(ident) if ident.to_string() == "true" => Some(true),
        TokenTree::Ident(ident) if ident.to_string() == "false" => Some(false),
        _ => None,
    }
}

/// A decimal integer literal, with `_` separators and an optional `usize` suffix.
fn integer_value(token: &TokenTree) -> Option<usize> {
    let TokenTree::Literal(literal) = token else {
        return None;
    };
    let text = literal.to_string().replace('_', "");
    let digits = text.strip_suffix("usize").unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses `[::]ident(::ident)*`, giving every token `span` so that a wrong path is reported at
/// the user's `crate = "..."` literal.
fn parse_path(text: &str, span: Span) -> Option<TokenStream> {
    let tokens: Vec<TokenTree> = text.parse::<TokenStream>().ok()?.into_iter().collect();
    let mut expect_ident = true;
    let mut i = 0;
    if is_path_sep(&tokens, 0) {
        i = 2;
    }
    while i < tokens.len() {
        if expect_ident {
            if !matches!(tokens[i], TokenTree::Ident(_)) {
                return None;
            }
            i += 1;
        } else {
            if !is_path_sep(&tokens, i) {
                return None;
            }
            i += 2;
        }
        expect_ident = !expect_ident;
    }
    // Empty, `::`, or ending in `::`.
    if expect_ident {
        return None;
    }
    Some(
        tokens
            .into_iter()
            .map(|mut token| {
                token.set_span(span);
                token
            })
            .collect(),
    )
}

fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    match (tokens.get(i), tokens.get(i + 1)) {
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) => {
            a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The function
// ---------------------------------------------------------------------------------------------

/// The pieces of the user's function, each kept as its original tokens (and so its spans).
struct Function {
    /// `#[...]` attributes and doc comments, as `#` and `[...]` pairs.
    attrs: Vec<TokenTree>,
    /// `pub`, `pub(crate)`, ... or nothing.
    vis: Vec<TokenTree>,
    /// The `async` keyword, or `None` when it is missing (already reported).
    async_token: Option<Ident>,
    fn_token: Ident,
    name: Ident,
    /// `<...>`, empty unless there is an error to report.
    generics: Vec<TokenTree>,
    params: Group,
    /// `-> R`, or empty for `()`.
    ret: Vec<TokenTree>,
    /// `where ...`, empty unless there is an error to report.
    where_clause: Vec<TokenTree>,
    body: Group,
    /// The signature cannot be called from the wrapper (it has parameters or generics).
    uncallable: bool,
    /// The user already wrote `#[test]`; adding ours would run the test twice.
    has_test_attr: bool,
}

/// Parses the item as a function. `None` when it is not one, with the reason in `errors`.
/// A fragment a `macro_rules!` macro passed on (`$body:block`, `$name:ident`) arrives wrapped
/// in an invisible group (`Delimiter::None`); its tokens are what the function is made of.
fn unwrap_invisible(token: TokenTree) -> Vec<TokenTree> {
    match token {
        TokenTree::Group(group) if group.delimiter() == Delimiter::None => {
            group.stream().into_iter().flat_map(unwrap_invisible).collect()
        }
        token => vec![token],
    }
}

fn parse_fn(kind: Kind, item: TokenStream, errors: &mut Vec<Error>) -> Option<Function> {
    let tokens: Vec<TokenTree> = item.into_iter().flat_map(unwrap_invisible).collect();
    let not_a_fn = |span: Span| {
        Error::new(
            span,
            format!(
                "the `#[minirt::{}]` attribute can only be applied to an `async fn`",
                kind.name()
            ),
        )
    };
    let mut i = 0;

    let mut attrs = Vec::new();
    let mut has_test_attr = false;
    while let (Some(TokenTree::Punct(hash)), Some(TokenTree::Group(group))) =
        (tokens.get(i), tokens.get(i + 1))
    {
        if hash.as_char() != '#' || group.delimiter() != Delimiter::Bracket {
            break;
        }
        if kind == Kind::Test && is_test_attr(group) {
            has_test_attr = true;
            errors.push(Error::spanning(
                hash.span(),
                group.span(),
                "second test attribute is supplied; `#[minirt::test]` already makes this a test, \
                 so remove the `#[test]`",
            ));
        }
        attrs.extend_from_slice(&tokens[i..i + 2]);
        i += 2;
    }

    let mut vis = Vec::new();
    if let Some(TokenTree::Ident(ident)) = tokens.get(i) {
        if ident.to_string() == "pub" {
            vis.push(tokens[i].clone());
            i += 1;
            if let Some(TokenTree::Group(group)) = tokens.get(i) {
                if group.delimiter() == Delimiter::Parenthesis {
                    vis.push(tokens[i].clone());
                    i += 1;
                }
            }
        }
    }

    let mut async_token = None;
    let fn_token = loop {
        let Some(TokenTree::Ident(ident)) = tokens.get(i) else {
            let span = tokens.get(i).map_or(Span::call_site(), TokenTree::span);
            errors.push(not_a_fn(span));
            return None;
        };
        i += 1;
        match ident.to_string().as_str() {
            "fn" => break ident.clone(),
            "async" => async_token = Some(ident.clone()),
            // Dropped from the expansion after the error: the wrapper could not honour them.
            qualifier @ ("const" | "unsafe" | "extern") => {
                let mut end = ident.span();
                if qualifier == "extern" {
                    if let Some(TokenTree::Literal(abi)) = tokens.get(i) {
                        end = abi.span();
                        i += 1;
                    }
                }
                errors.push(Error::spanning(
                    ident.span(),
                    end,
                    format!("the {} function cannot be `{qualifier}`", kind.name()),
                ));
            }
            _ => {
                errors.push(not_a_fn(ident.span()));
                return None;
            }
        }
    };
    if async_token.is_none() {
        errors.push(Error::new(
            fn_token.span(),
            "the `async` keyword is missing from the function declaration",
        ));
    }

    let Some(TokenTree::Ident(name)) = tokens.get(i) else {
        errors.push(not_a_fn(fn_token.span()));
        return None;
    };
    let name = name.clone();
    i += 1;

    let mut generics = Vec::new();
    if is_punct(tokens.get(i), '<') {
        let start = i;
        let mut depth = 0usize;
        loop {
            match tokens.get(i) {
                Some(TokenTree::Punct(p)) if p.as_char() == '<' => depth += 1,
                // The `>` of `->` (in `F: Fn() -> T`) closes nothing.
                Some(TokenTree::Punct(p)) if p.as_char() == '>' && !follows_minus(&tokens, i) => {
                    depth -= 1
                }
                Some(_) => {}
                None => {
                    errors.push(not_a_fn(name.span()));
                    return None;
                }
            }
            i += 1;
            if depth == 0 {
                break;
            }
        }
        generics.extend_from_slice(&tokens[start..i]);
        errors.push(Error::spanning(
            tokens[start].span(),
            tokens[i - 1].span(),
            format!("the {} function cannot have generic parameters", kind.name()),
        ));
    }

    let params = match tokens.get(i) {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {
            group.clone()
        }
        _ => {
            errors.push(not_a_fn(name.span()));
            return None;
        }
    };
    i += 1;
    if !params.stream().is_empty() {
        errors.push(Error::new(
            params.span(),
            format!("the {} function cannot accept arguments", kind.name()),
        ));
    }

    // Everything between the parameters and the body is `-> R` and/or `where ...`. The body is
    // the last token rather than the first brace group: a return type may hold braces of its
    // own, as in `-> Array<{ N }>`.
    let body = match tokens.last() {
        Some(TokenTree::Group(group))
            if group.delimiter() == Delimiter::Brace && i < tokens.len() =>
        {
            group.clone()
        }
        _ => {
            let span = tokens.last().map_or(name.span(), TokenTree::span);
            errors.push(Error::new(span, format!("the {} function must have a body", kind.name())));
            return None;
        }
    };
    let rest = &tokens[i..tokens.len() - 1];
    let where_at = rest
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(ident) if ident.to_string() == "where"))
        .unwrap_or(rest.len());
    let (ret, where_clause) = rest.split_at(where_at);
    let is_return_type = |ret: &[TokenTree]| {
        ret.len() > 2 && is_punct(ret.first(), '-') && is_punct(ret.get(1), '>')
    };
    if let Some(first) = ret.first() {
        if !is_return_type(ret) {
            errors.push(not_a_fn(first.span()));
            return None;
        }
    }
    if let (Some(first), Some(last)) = (where_clause.first(), where_clause.last()) {
        errors.push(Error::spanning(
            first.span(),
            last.span(),
            format!("the {} function cannot have a `where` clause", kind.name()),
        ));
    }

    Some(Function {
        attrs,
        vis,
        async_token,
        fn_token,
        name,
        uncallable: !generics.is_empty() || !params.stream().is_empty(),
        generics,
        params,
        ret: ret.to_vec(),
        where_clause: where_clause.to_vec(),
        body,
        has_test_attr,
    })
}

/// `#[test]`, `#[core::prelude::v1::test]`, `#[::std::prelude::rust_2021::test]`, ...
fn is_test_attr(attr: &Group) -> bool {
    let mut idents = Vec::new();
    for token in attr.stream() {
        match token {
            TokenTree::Ident(ident) => idents.push(ident.to_string()),
            TokenTree::Punct(p) if p.as_char() == ':' => {}
            _ => return false,
        }
    }
    match idents.as_slice() {
        [only] => only == "test",
        [first, .., last] => last == "test" && (first == "core" || first == "std"),
        [] => false,
    }
}

fn is_punct(token: Option<&TokenTree>, ch: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == ch)
}

fn follows_minus(tokens: &[TokenTree], i: usize) -> bool {
    i > 0
        && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '-' && p.spacing() == Spacing::Joint)
}

impl Function {
    fn expand(self, kind: Kind, options: &Options) -> TokenStream {
        let mut out: Vec<TokenTree> = Vec::new();
        if kind == Kind::Test && !self.has_test_attr {
            let mut attr = Group::new(
                Delimiter::Bracket,
                path_tokens(&["", "core", "prelude", "v1", "test"], Span::call_site())
                    .into_iter()
                    .collect(),
            );
            attr.set_span(Span::call_site());
            out.push(punct('#', Spacing::Alone, Span::call_site()));
            out.push(attr.into());
        }
        out.extend(self.attrs);
        out.extend(self.vis);
        out.push(self.fn_token.clone().into());
        out.push(self.name.clone().into());
        let mut no_params = Group::new(Delimiter::Parenthesis, TokenStream::new());
        no_params.set_span(self.params.span());
        out.push(no_params.into());
        out.extend(self.ret.iter().cloned());

        // The inner function carries the user's spans (its `async fn` is the user's `async fn`),
        // so a diagnostic about the signature, such as "this function should return `Result`
        // to accept `?`", underlines the line the user wrote.
        let mut inner: Vec<TokenTree> = Vec::new();
        if self.uncallable {
            // Kept so the body is still checked, but the wrapper cannot call it.
            inner.push(punct('#', Spacing::Alone, Span::call_site()));
            inner.push(Group::new(Delimiter::Bracket, parse("allow(dead_code)")).into());
        }
        let async_span = self.async_token.map_or(self.fn_token.span(), |t| t.span());
        inner.push(Ident::new("async", async_span).into());
        inner.push(self.fn_token.into());
        let inner_name = Ident::new(kind.inner_fn(), self.name.span());
        inner.push(inner_name.into());
        inner.extend(self.generics);
        inner.push(self.params.into());
        inner.extend(self.ret);
        inner.extend(self.where_clause);
        inner.push(self.body.into());

        let mut body: TokenStream = inner.into_iter().collect();
        if self.uncallable {
            // The compile error beside this one says why; this only keeps the fn well-formed.
            body.extend(parse("::core::unreachable!()"));
        } else {
            let (krate, krate_span) = &options.krate;
            let constructor = match options.flavor {
                Flavor::CurrentThread | Flavor::Local => "new_current_thread",
                Flavor::MultiThread => "new_multi_thread",
            };
            body.extend(krate.clone());
            body.extend(path_tokens(&["", "runtime", "Builder", constructor], *krate_span));
            body.extend(parse("()"));
            if let Some(n) = &options.worker_threads {
                body.extend(parse(".worker_threads"));
                body.extend(TokenStream::from(TokenTree::from(Group::new(
                    Delimiter::Parenthesis,
                    TokenStream::from(TokenTree::from(n.clone())),
                ))));
            }
            if options.start_paused {
                body.extend(parse(".start_paused(true)"));
            }
            if let Some(name) = &options.name {
                body.extend(parse(".name"));
                body.extend(TokenStream::from(TokenTree::from(Group::new(
                    Delimiter::Parenthesis,
                    TokenStream::from(TokenTree::from(name.clone())),
                ))));
            }
            if options.flavor == Flavor::Local {
                body.extend(parse(".build_local"));
                let mut options_path = krate.clone();
                options_path
                    .extend(path_tokens(&["", "runtime", "LocalOptions", "default"], *krate_span));
                options_path.extend(parse("()"));
                body.extend(TokenStream::from(TokenTree::from(Group::new(
                    Delimiter::Parenthesis,
                    options_path,
                ))));
            } else {
                body.extend(parse(".build()"));
            }
            body.extend(parse(&format!(
                ".expect(\"minirt: failed to build the runtime\").block_on({}())",
                kind.inner_fn()
            )));
        }
        out.push(Group::new(Delimiter::Brace, body).into());
        out.into_iter().collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Token helpers
// ---------------------------------------------------------------------------------------------

/// Parses one of this file's own fixed snippets. They are valid Rust, so this cannot fail on
/// anything a user writes; an empty stream would only surface as a compile error, never a panic.
fn parse(code: &str) -> TokenStream {
    code.parse().unwrap_or_default()
}

fn punct(ch: char, spacing: Spacing, span: Span) -> TokenTree {
    let mut p = Punct::new(ch, spacing);
    p.set_span(span);
    p.into()
}

/// `a::b::c`, or `::a::b` when the first segment is `""`.
fn path_tokens(segments: &[&str], span: Span) -> Vec<TokenTree> {
    let mut tokens = Vec::new();
    for (n, segment) in segments.iter().enumerate() {
        if n > 0 {
            tokens.push(punct(':', Spacing::Joint, span));
            tokens.push(punct(':', Spacing::Alone, span));
        }
        if !segment.is_empty() {
            tokens.push(Ident::new(segment, span).into());
        }
    }
    tokens
}
