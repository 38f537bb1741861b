//! The `tokio` this crate is built against is minirt: cargo resolves `tokio` to compat/tokio,
//! and a `#[tokio::test]` runs inside a minirt runtime (minirt's own `Handle::try_current`
//! sees it). On the real tokio both checks fail.

#[test]
fn cargo_resolves_tokio_to_compat() {
    // `cargo tree -i tokio` fails if the graph has two packages named tokio, and names the
    // one it has with its source: a path here, not the registry.
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal,dev", "-i", "tokio", "--depth", "0"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "cargo tree -i tokio failed: {out:?}");
    let line = stdout.lines().next().unwrap_or_default();
    let compat = concat!(env!("CARGO_MANIFEST_DIR"), "/../tokio");
    let compat = std::fs::canonicalize(compat).expect("compat/tokio exists");
    assert_eq!(line, format!("tokio v1.54.1 ({})", compat.display()), "tokio resolves elsewhere");
}

#[tokio::test]
async fn tokio_test_runs_on_a_minirt_runtime() {
    assert!(
        minirt::runtime::Handle::try_current().is_ok(),
        "no minirt runtime around #[tokio::test]"
    );
    // A task spawned through the patched tokio is a minirt task.
    let id = tokio::spawn(async { minirt::task::try_id() }).await.expect("task");
    assert!(id.is_some());
}
