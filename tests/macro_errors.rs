//! Misuse of `#[minirt::main]` and `#[minirt::test]`: each case must fail to compile with the
//! macro's own message, pointing at the offending line.
//!
//! Each case is compiled by `rustc` directly against the `minirt-macros` proc-macro library that
//! cargo built for this test (found beside the test binary), under the crate name `minirt`, so
//! `#[minirt::main]` resolves to it. The macro rejects each case before anything else of
//! minirt is needed, so a case takes a fraction of a second and nothing else is built.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (what, source, the line the error must point at, the message).
const CASES: &[(&str, &str, u32, &str)] = &[
    (
        "empty runtime name",
        "#[minirt::main(name = \"  \")]\nasync fn main() {}\n",
        1,
        "`name` must not be empty",
    ),
    (
        "main not async",
        "#[minirt::main]\nfn main() {}\n",
        2,
        "the `async` keyword is missing from the function declaration",
    ),
    (
        "test not async",
        "#[minirt::test]\nfn not_async() {}\n",
        2,
        "the `async` keyword is missing from the function declaration",
    ),
    (
        "main with arguments",
        "#[minirt::main]\nasync fn main(args: Vec<String>) {\n    let _ = args;\n}\n",
        2,
        "the main function cannot accept arguments",
    ),
    (
        "test with arguments",
        "#[minirt::test]\nasync fn takes_an_argument(n: u32) {\n    let _ = n;\n}\n",
        2,
        "the test function cannot accept arguments",
    ),
    (
        "generic main",
        "#[minirt::main]\nasync fn main<T: Default>() {\n    let _ = T::default();\n}\n",
        2,
        "the main function cannot have generic parameters",
    ),
    (
        "main with a where clause",
        "#[minirt::main]\nasync fn main()\nwhere\n    u8: Copy,\n{\n}\n",
        3,
        "the main function cannot have a `where` clause",
    ),
    (
        "unsafe main",
        "#[minirt::main]\nasync unsafe fn main() {}\n",
        2,
        "the main function cannot be `unsafe`",
    ),
    (
        "not a function",
        "#[minirt::main]\nstruct Server;\n\nfn main() {}\n",
        2,
        "the `#[minirt::main]` attribute can only be applied to an `async fn`",
    ),
    (
        "unknown option",
        "#[minirt::main(foo = 1)]\nasync fn main() {}\n",
        1,
        "unknown option `foo`; expected one of `flavor`, `worker_threads`, `start_paused`, \
         `name`, `crate`",
    ),
    (
        "start_paused on a default main",
        "#[minirt::main(start_paused = true)]\nasync fn main() {}\n",
        1,
        "`start_paused` requires the current_thread flavor, and `#[minirt::main]` defaults to \
         multi_thread; add `flavor = \"current_thread\"`",
    ),
    (
        "start_paused on multi_thread",
        "#[minirt::test(flavor = \"multi_thread\", start_paused = true)]\nasync fn t() {}\n",
        1,
        "`start_paused` requires the current_thread flavor: time can be paused only where one \
         thread runs every task; use `flavor = \"current_thread\"`",
    ),
    (
        "start_paused not a boolean",
        "#[minirt::test(start_paused = \"yes\")]\nasync fn t() {}\n",
        1,
        "`start_paused` expects a boolean, like `start_paused = true`",
    ),
    (
        "unknown flavor",
        "#[minirt::main(flavor = \"single_thread\")]\nasync fn main() {}\n",
        1,
        "unknown flavor `single_thread`; expected \"current_thread\", \"multi_thread\" or \"local\"",
    ),
    (
        "flavor not a string",
        "#[minirt::main(flavor = current_thread)]\nasync fn main() {}\n",
        1,
        "`flavor` expects a string: \"current_thread\", \"multi_thread\" or \"local\"",
    ),
    (
        "flavor without a value",
        "#[minirt::main(flavor)]\nasync fn main() {}\n",
        1,
        "expected `flavor = <value>`",
    ),
    (
        "worker_threads on current_thread",
        "#[minirt::main(flavor = \"current_thread\", worker_threads = 2)]\nasync fn main() {}\n",
        1,
        "`worker_threads` cannot be used with the current_thread flavor",
    ),
    (
        "worker_threads on local",
        "#[minirt::main(flavor = \"local\", worker_threads = 2)]\nasync fn main() {}\n",
        1,
        "`worker_threads` cannot be used with the local flavor",
    ),
    (
        "worker_threads on a default test",
        "#[minirt::test(worker_threads = 2)]\nasync fn needs_a_flavor() {}\n",
        1,
        "`worker_threads` requires the multi_thread flavor, and `#[minirt::test]` defaults to \
         current_thread; add `flavor = \"multi_thread\"`",
    ),
    (
        "zero workers",
        "#[minirt::main(worker_threads = 0)]\nasync fn main() {}\n",
        1,
        "`worker_threads` must be greater than 0",
    ),
    (
        "workers as a string",
        "#[minirt::main(worker_threads = \"4\")]\nasync fn main() {}\n",
        1,
        "`worker_threads` expects a positive integer literal, like `worker_threads = 4`",
    ),
    (
        "negative workers",
        "#[minirt::main(worker_threads = -1)]\nasync fn main() {}\n",
        1,
        "`worker_threads` expects a positive integer literal, like `worker_threads = 4`",
    ),
    (
        "duplicate option",
        "#[minirt::main(flavor = \"multi_thread\", flavor = \"current_thread\")]\nasync fn main() {}\n",
        1,
        "duplicate option `flavor`",
    ),
    (
        "crate not a path",
        "#[minirt::main(crate = \"not a path\")]\nasync fn main() {}\n",
        1,
        "`crate` expects a string holding a path, like `crate = \"::minirt\"`",
    ),
    (
        "test attribute twice",
        "#[minirt::test]\n#[test]\nasync fn twice() {}\n",
        2,
        "second test attribute is supplied; `#[minirt::test]` already makes this a test, so \
         remove the `#[test]`",
    ),
];

/// The newest `libminirt_macros-*.so` beside this test binary (cargo builds it as a
/// dependency of the facade, into the same `deps` folder).
fn proc_macro_library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the deps folder");
    std::fs::read_dir(deps)
        .expect("read the deps folder")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("libminirt_macros-") && name.ends_with(".so")
        })
        .max_by_key(|path| path.metadata().and_then(|m| m.modified()).ok())
        .expect("cargo built libminirt_macros-*.so beside this test")
}

fn compile(library: &Path, dir: &Path, name: &str, source: &str) -> (bool, String) {
    let file = dir.join(format!("{}.rs", name.replace(' ', "_")));
    std::fs::write(&file, source).expect("write the case");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(rustc)
        .args(["--edition", "2021", "--test", "--error-format", "short", "-o"])
        .arg(dir.join("out"))
        .arg("--extern")
        .arg(format!("minirt={}", library.display()))
        .arg(&file)
        .output()
        .expect("run rustc");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn every_misuse_is_refused_with_its_own_message_at_the_offending_line() {
    let library = proc_macro_library();
    let dir = std::env::temp_dir().join(format!("minirt-macro-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let mut failures = Vec::new();
    for &(name, source, line, message) in CASES {
        let (compiled, stderr) = compile(&library, &dir, name, source);
        // Short format: `file.rs:LINE:COL: error: MESSAGE`; the macro's error comes first.
        let first = stderr.lines().find(|l| l.contains(": error")).unwrap_or("");
        let at_line = first.split(':').nth(1).and_then(|l| l.parse::<u32>().ok());
        if compiled || !first.contains(message) || at_line != Some(line) {
            failures.push(format!(
                "{name}: expected line {line} `{message}`, got (compiled: {compiled}):\n{stderr}"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The harness itself: a correct program compiles, so a failure above is the macro's doing.
#[test]
fn a_correct_test_compiles_against_the_macro_alone() {
    let library = proc_macro_library();
    let dir = std::env::temp_dir().join(format!("minirt-macro-ok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    // Expands to code that names the runtime, which this harness does not link, so rustc then
    // fails to resolve `minirt::runtime` (an error with a code, E0433). The check is that the
    // *macro* accepts it: no `compile_error!` (an error without a code) is among them.
    let (_, stderr) = compile(&library, &dir, "accepted", "#[minirt::test]\nasync fn ok() {}\n");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(stderr.contains("error[E0433]"), "the expansion names the runtime:\n{stderr}");
    assert!(
        !stderr.lines().any(|l| l.contains(": error: ")),
        "the macro refused a correct test:\n{stderr}"
    );
}
