//! Expansion: a parsed [`Function`] and its [`Options`] into the synchronous wrapper that
//! builds the runtime and blocks on the user's `async fn`, kept inside it under a fixed name;
//! and the small token builders the expansion and the errors share.

use proc_macro::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};

use crate::parse::{Function, Options};
use crate::{Flavor, Kind};

impl Function {
    pub(crate) fn expand(self, kind: Kind, options: &Options) -> TokenStream {
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

/// Parses one of this file's own fixed snippets. They are valid Rust, so this cannot fail on
/// anything a user writes; an empty stream would only surface as a compile error, never a panic.
pub(crate) fn parse(code: &str) -> TokenStream {
    code.parse().unwrap_or_default()
}

pub(crate) fn punct(ch: char, spacing: Spacing, span: Span) -> TokenTree {
    let mut p = Punct::new(ch, spacing);
    p.set_span(span);
    p.into()
}

/// `a::b::c`, or `::a::b` when the first segment is `""`.
pub(crate) fn path_tokens(segments: &[&str], span: Span) -> Vec<TokenTree> {
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
