//! Parsing: the attribute's options (`flavor = "..."`, `worker_threads = N`, ...) into
//! [`Options`], and the annotated item into a [`Function`], whose pieces keep the user's own
//! tokens (and so their spans). Every misuse becomes an [`Error`] pushed onto the caller's list;
//! nothing here panics on user input.

use proc_macro::{Delimiter, Group, Ident, Literal, Spacing, Span, TokenStream, TokenTree};

use crate::expand::path_tokens;
use crate::{Error, Flavor, Kind};

pub(crate) struct Options {
    pub(crate) flavor: Flavor,
    /// The value, spanned at the user's literal so a type error would point there.
    pub(crate) worker_threads: Option<Literal>,
    /// `name = "..."`: the runtime's name, the user's string literal as written.
    pub(crate) name: Option<Literal>,
    /// `start_paused = true`: the runtime's clock starts paused.
    pub(crate) start_paused: bool,
    /// The path the runtime is reached through, `::minirt` unless `crate = "..."` says otherwise,
    /// and the span of the user's literal for it, which the path to `Builder` borrows so that
    /// "could not find `runtime`" underlines that literal rather than the whole attribute.
    pub(crate) krate: (TokenStream, Span),
}

pub(crate) fn parse_options(kind: Kind, args: TokenStream, errors: &mut Vec<Error>) -> Options {
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

/// The pieces of the user's function, each kept as its original tokens (and so its spans).
pub(crate) struct Function {
    /// `#[...]` attributes and doc comments, as `#` and `[...]` pairs.
    pub(crate) attrs: Vec<TokenTree>,
    /// `pub`, `pub(crate)`, ... or nothing.
    pub(crate) vis: Vec<TokenTree>,
    /// The `async` keyword, or `None` when it is missing (already reported).
    pub(crate) async_token: Option<Ident>,
    pub(crate) fn_token: Ident,
    pub(crate) name: Ident,
    /// `<...>`, empty unless there is an error to report.
    pub(crate) generics: Vec<TokenTree>,
    pub(crate) params: Group,
    /// `-> R`, or empty for `()`.
    pub(crate) ret: Vec<TokenTree>,
    /// `where ...`, empty unless there is an error to report.
    pub(crate) where_clause: Vec<TokenTree>,
    pub(crate) body: Group,
    /// The signature cannot be called from the wrapper (it has parameters or generics).
    pub(crate) uncallable: bool,
    /// The user already wrote `#[test]`; adding ours would run the test twice.
    pub(crate) has_test_attr: bool,
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

pub(crate) fn parse_fn(kind: Kind, item: TokenStream, errors: &mut Vec<Error>) -> Option<Function> {
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
