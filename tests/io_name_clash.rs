//! The import clash of a tokio port, and its fixes (see PORTING.md, "Name clashes").
//!
//! `futures::prelude::*` brings futures' own `AsyncReadExt`/`AsyncWriteExt` into scope
//! (anonymously); next to `minirt::io::{AsyncReadExt, AsyncWriteExt}` every method both
//! traits have (`read`, `write_all`, `flush`, ...) is ambiguous (E0034). The forms below are
//! the fixes; the clash itself is a `compile_fail` doctest in PORTING.md.

/// Fix 1 (the one-line fix): import what you use from futures instead of its prelude.
mod fix_import_what_you_use {
    use futures::{FutureExt, StreamExt};
    use minirt::io::{AsyncReadExt, AsyncWriteExt};

    pub async fn run() -> std::io::Result<Vec<u8>> {
        let (mut a, mut b) = minirt::io::duplex(64);
        a.write_all(b"ping").await?;
        a.shutdown().await?;
        let mut got = Vec::new();
        b.read_to_end(&mut got).await?;
        // futures' other traits still work.
        let n = futures::stream::iter([1, 2]).map(|x| x * 2).collect::<Vec<_>>().now_or_never();
        assert_eq!(n, Some(vec![2, 4]));
        Ok(got)
    }
}

/// Fix 2: keep `futures::prelude::*` and name the trait at the call sites that clash.
mod fix_qualified_calls {
    use futures::prelude::*;
    use minirt::io::{AsyncReadExt, AsyncWriteExt};

    pub async fn run() -> std::io::Result<Vec<u8>> {
        let (mut a, mut b) = minirt::io::duplex(64);
        AsyncWriteExt::write_all(&mut a, b"pi").await?;
        // Methods only one of the traits has need no qualification: `write_u8` and `shutdown`
        // are minirt's, `close` is futures'.
        a.write_u8(b'n').await?;
        a.write_u8(b'g').await?;
        a.shutdown().await?;
        a.close().await?;
        let mut got = Vec::new();
        AsyncReadExt::read_to_end(&mut b, &mut got).await?;
        Ok(got)
    }
}

/// Fix 3: use futures' io traits only (`shutdown` is `close` there).
mod fix_futures_only {
    use futures::prelude::*;

    pub async fn run() -> std::io::Result<Vec<u8>> {
        let (mut a, mut b) = minirt::io::duplex(64);
        a.write_all(b"ping").await?;
        a.close().await?;
        let mut got = Vec::new();
        b.read_to_end(&mut got).await?;
        Ok(got)
    }
}

#[minirt::test]
async fn every_fixed_form_compiles_and_runs() {
    assert_eq!(fix_import_what_you_use::run().await.unwrap(), b"ping");
    assert_eq!(fix_qualified_calls::run().await.unwrap(), b"ping");
    assert_eq!(fix_futures_only::run().await.unwrap(), b"ping");
}
