//! `select!`, `join!`, `try_join!` and `pin!`, tokio's macros, written with `macro_rules!` only
//! (no proc-macro, no syn).
//!
//! How `select!` works. A muncher, `__select_parse!`, takes one branch per step (so 64
//! branches stay well inside the default recursion limit) and gives each branch an identifier
//! and an index from a fixed list `(_0 0) (_1 1) ... (_63 63)`. The final step expands to:
//!
//! 1. an enum with one variant per branch (`_0(T0)`, `_1(T1)`, ...) and `Disabled`, declared
//!    inside the expansion so its type parameters are exactly the branch output types;
//! 2. a `u64` mask of disabled branches, seeded from the `, if` preconditions;
//! 3. every future, pinned on the stack (`core::pin::pin!`), then a `poll_fn` that polls the
//!    enabled ones starting from a random branch (from `biased;`: the first), disables a
//!    branch when it completes, and returns its output only if it matches the branch pattern
//!    (otherwise the others keep going); all disabled -> `Disabled`;
//! 4. a `match` of that output onto the branch patterns and handlers, after the futures are
//!    dropped, so a handler can use what the futures borrowed, and `break`/`continue`/`return`/
//!    `?` in a handler act on the code around `select!`.
//!
//! The one departure from tokio: tokio strips `mut`/`ref` out of a pattern (with a proc-macro)
//! to test it against a reference to the output. Here a pattern is tested as written, against
//! `&output`, which covers every pattern without binding modes; `mut x`, `Some(mut x)`,
//! `Ok(mut x)`, `Some(ref x)`, `Some(ref mut x)` and the like (a path, then one `mut`/`ref`/`ref mut`
//! binding) are
//! recognised and tested as `_` / `Some(_)`. Other patterns with `mut` inside, such as
//! `(mut a, b)`, do not compile on a non-`Copy` output: bind without `mut` and rebind in the
//! handler (`let mut a = a;`).

/// Waits on several futures at once and runs the handler of the first one to complete (whose
/// output matches its pattern); the other futures are dropped. tokio's `select!`:
///
/// ```text
/// select! {
///     [biased;]
///     <pattern> = <future> [, if <precondition>] => <handler>,
///     ...
///     [else => <expression>]
/// }
/// ```
///
/// - Branches are polled in a random order each time (fairness), or in the written order
///   after `biased;`.
/// - A branch whose precondition is false, or whose output does not match its pattern, is
///   disabled for the rest of this `select!`; the others keep going.
/// - When every branch is disabled, the `else` expression is the result; without `else`,
///   `select!` panics with "all branches are disabled and there is no else branch".
/// - Up to 64 branches.
///
/// # Misuse
///
/// Each of these is a compile error with a message naming the problem:
///
/// ```compile_fail
/// // "select! requires at least one branch"
/// async fn f() { minirt::select! {} }
/// ```
///
/// ```compile_fail
/// // "select!: expected a branch `<pattern> = <future> ... => <handler>,` ..., found: `async { 1 } => 1`"
/// async fn f() { minirt::select! { async { 1 } => 1 } }
/// ```
///
/// ```compile_fail
/// // "select!: the `else` branch must come last"
/// async fn f() { minirt::select! { else => 0, x = async { 1 } => x } }
/// ```
///
/// ```compile_fail
/// // a handler is required
/// async fn f() { minirt::select! { x = async { 1 }, } }
/// ```
///
/// ```compile_fail
/// // "join!: expected futures separated by commas"
/// async fn f() { minirt::join!(async { 1 }; async { 2 }) }
/// ```
///
/// ```compile_fail
/// // select! is used in async code only: `.await` outside an async fn
/// fn f() { minirt::select! { x = async { 1 } => x } ; }
/// ```
///
/// ```
/// use std::time::Duration;
///
/// #[minirt::main(flavor = "current_thread")]
/// async fn main() {
///     let (tx, mut rx) = futures_channel::mpsc::unbounded::<u32>();
///     tx.unbounded_send(7).unwrap();
///     drop(tx);
///     let mut got = Vec::new();
///     loop {
///         minirt::select! {
///             // `None` (the channel closed) does not match: the branch is disabled, and with
///             // every branch disabled, `else` runs.
///             Some(n) = futures_util::StreamExt::next(&mut rx) => got.push(n),
///             else => break,
///         }
///     }
///     assert_eq!(got, [7]);
///
///     let answer = minirt::select! {
///         v = async { 42 } => v,
///         _ = minirt::time::sleep(Duration::from_secs(5)) => panic!("timed out"),
///     };
///     assert_eq!(answer, 42);
/// }
/// ```
#[macro_export]
macro_rules! select {
    () => {
        ::core::compile_error!("select! requires at least one branch: `<pattern> = <future> => <handler>,`")
    };
    (biased; $($rest:tt)*) => {
        $crate::__select_parse!(@ true; [] [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63)] $($rest)*)
    };
    ($($rest:tt)*) => {
        $crate::__select_parse!(@ false; [] [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63)] $($rest)*)
    };
}

/// The branch muncher of [`select!`]; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // The end, with or without `else`.
    (@ $biased:tt; [$($done:tt)+] [$($ids:tt)*] else => $else:expr $(,)?) => {
        $crate::__select_expand!($biased; [$($done)+] ($else))
    };
    (@ $biased:tt; [$($done:tt)+] [$($ids:tt)*]) => {
        $crate::__select_expand!($biased; [$($done)+]
            (::core::panic!("all branches are disabled and there is no else branch")))
    };
    // Only an else branch.
    (@ $biased:tt; [] [$($ids:tt)*] else => $else:expr $(,)?) => {
        $else
    };
    (@ $biased:tt; [$($done:tt)*] [$($ids:tt)*] else => $else:expr, $($rest:tt)+) => {
        ::core::compile_error!("select!: the `else` branch must come last")
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (mut $x:ident) = $f:expr $(, if $c:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (mut $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (mut $x:ident) = $f:expr $(, if $c:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (mut $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (mut $x:ident) = $f:expr $(, if $c:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (mut $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (mut $x:ident) = $f:expr $(, if $c:expr)? => $h:expr) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (mut $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] )
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (ref mut $x:ident) = $f:expr $(, if $c:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (ref mut $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (ref mut $x:ident) = $f:expr $(, if $c:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (ref mut $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (ref mut $x:ident) = $f:expr $(, if $c:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (ref mut $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (ref mut $x:ident) = $f:expr $(, if $c:expr)? => $h:expr) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (ref mut $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] )
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (ref $x:ident) = $f:expr $(, if $c:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (ref $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (ref $x:ident) = $f:expr $(, if $c:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (ref $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (ref $x:ident) = $f:expr $(, if $c:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (ref $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $($path:ident)::+ (ref $x:ident) = $f:expr $(, if $c:expr)? => $h:expr) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$($path)::+ (_)] [$($path)::+ (ref $x)] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] )
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        mut $x:ident = $f:expr $(, if $c:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [_] [mut $x] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        mut $x:ident = $f:expr $(, if $c:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [_] [mut $x] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        mut $x:ident = $f:expr $(, if $c:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [_] [mut $x] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        mut $x:ident = $f:expr $(, if $c:expr)? => $h:expr) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [_] [mut $x] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] )
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $p:pat = $f:expr $(, if $c:expr)? => $h:block, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$p] [$p] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $p:pat = $f:expr $(, if $c:expr)? => $h:block $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$p] [$p] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $p:pat = $f:expr $(, if $c:expr)? => $h:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$p] [$p] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] $($rest)*)
    };
    (@ $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*]
        $p:pat = $f:expr $(, if $c:expr)? => $h:expr) => {
        $crate::__select_parse!(@ $biased; [$($done)* ($id $n [$p] [$p] ($f) ({ true $(&& $c)? }) ($h))]
            [$($ids)*] )
    };
    (@ $biased:tt; [$($done:tt)*] [] $($rest:tt)+) => {
        ::core::compile_error!("select! supports at most 64 branches")
    };
    (@ $biased:tt; [$($done:tt)*] [$($ids:tt)*] $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected a branch `<pattern> = <future> [, if <condition>] => <handler>,` \
             or `else => <expression>`, found: `",
            ::core::stringify!($($rest)+),
            "`"
        ))
    };
}

/// The expansion of [`select!`] once every branch is parsed; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_expand {
    ($biased:tt; [$( ($id:ident $n:tt [$($check:tt)*] [$($pat:tt)*] ($fut:expr) ($cond:expr) ($h:expr)) )+] ($else:expr)) => {{
        #[allow(non_camel_case_types, dead_code)]
        enum __SelectOut<$($id,)+> {
            $($id($id),)+
            Disabled,
        }
        let mut __disabled: u64 = 0;
        $(
            if !$cond {
                __disabled |= 1u64 << $n;
            }
        )+
        #[allow(unused_mut)]
        let mut __output = {
            // One tuple first: temporaries borrowed by the futures (`&mut ready(())`) then live
            // to the end of the block (temporary lifetime extension), as in tokio.
            let ($($id,)+) = ($($fut,)+);
            $(
                let mut $id = ::core::pin::pin!(::core::future::IntoFuture::into_future($id));
            )+
            // `move`: the closure owns the pinned references and the mask, and the branch count
            // is a constant, so the future holds each branch once plus a pointer to it, not
            // pointers to the locals as well (tokio's sizes for one branch).
            ::core::future::poll_fn(move |__cx| {
                const __BRANCHES: u32 = [$($n),+].len() as u32;
                // A task whose budget is spent yields here: its budget-aware branches would
                // yield anyway, and the others must not run on without cooperating (tokio).
                if $crate::__private::poll_budget_available(__cx).is_pending() {
                    return ::core::task::Poll::Pending;
                }
                let __start: u32 = if $biased { 0 } else { $crate::__private::thread_rng_n(__BRANCHES) };
                let mut __pending = false;
                for __i in 0..__BRANCHES {
                    #[allow(clippy::modulo_one)]
                    let __branch = (__start + __i) % __BRANCHES;
                    match __branch {
                        $(
                            #[allow(unreachable_code)]
                            $n => {
                                if __disabled & (1u64 << $n) != 0 {
                                    continue;
                                }
                                let __value = match ::core::future::Future::poll($id.as_mut(), __cx) {
                                    ::core::task::Poll::Ready(__value) => __value,
                                    ::core::task::Poll::Pending => {
                                        __pending = true;
                                        continue;
                                    }
                                };
                                __disabled |= 1u64 << $n;
                                #[allow(unused_variables, unreachable_patterns)]
                                match &__value {
                                    $($check)* => {}
                                    _ => continue,
                                }
                                return ::core::task::Poll::Ready(__SelectOut::$id(__value));
                            }
                        )+
                        _ => ::core::unreachable!("select!: branch index out of range"),
                    }
                }
                if __pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(__SelectOut::Disabled)
                }
            })
            .await
        };
        #[allow(unreachable_patterns, unused_variables, unreachable_code)]
        match __output {
            $( __SelectOut::$id($($pat)*) => $h, )+
            __SelectOut::Disabled => $else,
            _ => ::core::unreachable!("select!: the output matched its pattern a moment ago"),
        }
    }};
}

/// Runs several futures concurrently and waits for all of them; the result is the tuple of
/// their outputs, in order. tokio's `join!`: each time it is polled it starts with the next
/// future in turn (so none can starve the others), or always with the first after `biased;`.
///
/// ```
/// #[minirt::main(flavor = "current_thread")]
/// async fn main() {
///     let (a, b) = minirt::join!(async { 1 }, async { "two" });
///     assert_eq!((a, b), (1, "two"));
/// }
/// ```
#[macro_export]
macro_rules! join {
    ($(biased;)?) => {
        async {}.await
    };
    (biased; $($fut:expr),+ $(,)?) => {
        $crate::__join_parse!(join true; [] [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63)] $($fut,)+)
    };
    ($($fut:expr),+ $(,)?) => {
        $crate::__join_parse!(join false; [] [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63)] $($fut,)+)
    };
    ($($rest:tt)*) => {
        ::core::compile_error!("join!: expected futures separated by commas: `join!(a, b, c)`")
    };
}

/// Runs several futures of `Result`s concurrently until all are `Ok` (the result is `Ok` of
/// the tuple of values) or one is `Err` (the result is that error; the others are dropped).
/// tokio's `try_join!`, with the same polling order as [`join!`] (and `biased;`).
///
/// ```
/// #[minirt::main(flavor = "current_thread")]
/// async fn main() {
///     let ok: Result<(u8, u16), &str> = minirt::try_join!(async { Ok(1) }, async { Ok(2) });
///     assert_eq!(ok, Ok((1, 2)));
///     let err: Result<(u8, u16), &str> =
///         minirt::try_join!(async { Ok(1) }, async { Err("no") });
///     assert_eq!(err, Err("no"));
/// }
/// ```
#[macro_export]
macro_rules! try_join {
    ($(biased;)?) => {
        async { ::core::result::Result::Ok(()) }.await
    };
    (biased; $($fut:expr),+ $(,)?) => {
        $crate::__join_parse!(try_join true; [] [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63)] $($fut,)+)
    };
    ($($fut:expr),+ $(,)?) => {
        $crate::__join_parse!(try_join false; [] [(_0 0) (_1 1) (_2 2) (_3 3) (_4 4) (_5 5) (_6 6) (_7 7) (_8 8) (_9 9) (_10 10) (_11 11) (_12 12) (_13 13) (_14 14) (_15 15) (_16 16) (_17 17) (_18 18) (_19 19) (_20 20) (_21 21) (_22 22) (_23 23) (_24 24) (_25 25) (_26 26) (_27 27) (_28 28) (_29 29) (_30 30) (_31 31) (_32 32) (_33 33) (_34 34) (_35 35) (_36 36) (_37 37) (_38 38) (_39 39) (_40 40) (_41 41) (_42 42) (_43 43) (_44 44) (_45 45) (_46 46) (_47 47) (_48 48) (_49 49) (_50 50) (_51 51) (_52 52) (_53 53) (_54 54) (_55 55) (_56 56) (_57 57) (_58 58) (_59 59) (_60 60) (_61 61) (_62 62) (_63 63)] $($fut,)+)
    };
    ($($rest:tt)*) => {
        ::core::compile_error!("try_join!: expected futures separated by commas: `try_join!(a, b, c)`")
    };
}

/// Names each future of [`join!`]/[`try_join!`]; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_parse {
    ($kind:ident $biased:tt; [$($done:tt)*] [($id:ident $n:tt) $($ids:tt)*] $fut:expr, $($rest:tt)*) => {
        $crate::__join_parse!($kind $biased; [$($done)* ($id $n $fut)] [$($ids)*] $($rest)*)
    };
    ($kind:ident $biased:tt; [$($done:tt)*] [] $($rest:tt)+) => {
        ::core::compile_error!("join!/try_join! support at most 64 futures")
    };
    ($kind:ident $biased:tt; [$(($id:ident $n:tt $fut:expr))+] [$($ids:tt)*]) => {{
        let ($($id,)+) = ($($fut,)+);
        $(
            let mut $id = ::core::pin::pin!($crate::__private::MaybeDone::new(
                ::core::future::IntoFuture::into_future($id),
            ));
        )+
        let mut __next_start: u32 = 0;
        // `move`, with the count a constant: the closure owns the pinned references and the
        // rotation, so the future holds no pointers to its own locals (see `select!`).
        #[allow(unreachable_code, clippy::modulo_one)]
        let __joined = ::core::future::poll_fn(move |__cx| {
            const __COUNT: u32 = [$($n),+].len() as u32;
            let __start = __next_start;
            if !$biased {
                __next_start = (__next_start + 1) % __COUNT;
            }
            let mut __done = true;
            for __i in 0..__COUNT {
                match (__start + __i) % __COUNT {
                    $(
                        $n => {
                            if ::core::future::Future::poll($id.as_mut(), __cx).is_pending() {
                                __done = false;
                            } else {
                                $crate::__join_check!($kind $id);
                            }
                        }
                    )+
                    _ => ::core::unreachable!("join!: index out of range"),
                }
            }
            if __done {
                ::core::task::Poll::Ready($crate::__join_output!($kind $($id)+))
            } else {
                ::core::task::Poll::Pending
            }
        });
        __joined.await
    }};
}

/// `try_join!` returns at the first `Err`; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_check {
    (join $id:ident) => {};
    (try_join $id:ident) => {
        if $id.is_err() {
            if let ::core::option::Option::Some(::core::result::Result::Err(__e)) =
                $id.as_mut().take_output()
            {
                return ::core::task::Poll::Ready(::core::result::Result::Err(__e));
            }
        }
    };
}

/// The output tuple of `join!` / `try_join!`; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_output {
    (join $($id:ident)+) => {
        ($(
            match $id.as_mut().take_output() {
                ::core::option::Option::Some(__v) => __v,
                ::core::option::Option::None => ::core::unreachable!("join!: output taken twice"),
            },
        )+)
    };
    (try_join $($id:ident)+) => {
        ::core::result::Result::Ok(($(
            match $id.as_mut().take_output() {
                ::core::option::Option::Some(::core::result::Result::Ok(__v)) => __v,
                _ => ::core::unreachable!("try_join!: output taken twice"),
            },
        )+))
    };
}

/// Pins values on the stack: `pin!(fut)` turns the local `fut` into a `Pin<&mut _>` of
/// itself, and `pin! { let a = expr; }` declares pinned locals. tokio's `pin!`, built on
/// `core::pin::pin!` (no `unsafe`).
///
/// ```
/// #[minirt::main(flavor = "current_thread")]
/// async fn main() {
///     let fut = async { 5 };
///     minirt::pin!(fut);
///     assert_eq!((&mut fut).await, 5);
///     minirt::pin! {
///         let sleep = minirt::time::sleep(std::time::Duration::from_millis(1));
///     }
///     (&mut sleep).await;
/// }
/// ```
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => {
        $(
            let mut $x = ::core::pin::pin!($x);
        )*
    };
    ($(let $x:ident = $init:expr;)*) => {
        $(
            let mut $x = ::core::pin::pin!($init);
        )*
    };
}
