//! The docs cite the code, and a citation that stopped being true fails here instead of
//! misleading a reader.
//!
//! - docs/CONCEPTS.md cites code as `Type::method` (`path/to/file.rs`): the file must define
//!   the last segment (`fn`, `const`, `struct`, ...) and each segment before it (a type it
//!   defines or implements, or a `mod`). A test or example function is cited as its file
//!   followed by its name, `tests/concepts.rs` `fill`: the file must define that `fn`. No
//!   citation may carry a line number.
//! - README.md, BENCHMARKS.md, docs/CONCEPTS.md, tests/README.md and every module doc (`//!`)
//!   of the four crates: each file or folder they name in backticks or link to exists, and each
//!   `--test`, `--example` or `--bench` target they name is one cargo can build.
//!
//! Plain text scanning, no parser: good enough for the way these docs are written, and each
//! test also counts what it checked, so a change in the docs' format cannot make it pass by
//! finding nothing.

use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The crates whose module docs are checked, by source folder.
const CRATE_SOURCES: [&str; 4] = ["src", "runtime/src", "os/src", "macros/src"];

/// The markdown pages whose file references are checked. Not docs/BENCHMARKS-notebook.md: a
/// record of past runs, which names the files as they were then.
const PAGES: [&str; 4] = ["README.md", "BENCHMARKS.md", "docs/CONCEPTS.md", "tests/README.md"];

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every file under `dir`, recursively, skipping build output and hidden folders.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The repository's files, as paths relative to the root with `/` separators.
fn repo_files() -> Vec<String> {
    let mut files = Vec::new();
    walk(Path::new(ROOT), &mut files);
    files
        .iter()
        .map(|path| path.strip_prefix(ROOT).expect("under the root").to_string_lossy().into_owned())
        .collect()
}

/// The text between each pair of backticks, with the byte offsets of its opening and closing
/// backtick. A fenced code block (```) is skipped whole.
fn code_spans(text: &str) -> Vec<(usize, usize, &str)> {
    let mut spans = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find('`').map(|i| rest + i) {
        if text[open..].starts_with("```") {
            let Some(close) = text[open + 3..].find("```") else { break };
            rest = open + 3 + close + 3;
            continue;
        }
        let Some(close) = text[open + 1..].find('`').map(|i| open + 1 + i) else { break };
        spans.push((open, close, &text[open + 1..close]));
        rest = close + 1;
    }
    spans
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_ident_char) && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// The byte offsets where `word` occurs in `text` as a whole identifier.
fn word_positions<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    text.match_indices(word).map(|(at, _)| at).filter(move |&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident_char) && !after.is_some_and(is_ident_char)
    })
}

/// Whether `source` defines `name`: `fn name`, `struct name`, `const name`, ...
fn defines(source: &str, name: &str) -> bool {
    const KEYWORDS: [&str; 10] = [
        "fn",
        "struct",
        "enum",
        "union",
        "trait",
        "type",
        "const",
        "static",
        "mod",
        "macro_rules!",
    ];
    word_positions(source, name).any(|at| {
        let before = source[..at].trim_end();
        KEYWORDS.iter().any(|keyword| {
            before.strip_suffix(keyword).is_some_and(|head| !head.ends_with(is_ident_char))
        })
    })
}

/// Whether `source` has an `impl` block for `name` (inherent or of a trait).
fn implements(source: &str, name: &str) -> bool {
    source.lines().map(str::trim_start).any(|line| {
        (line.starts_with("impl ") || line.starts_with("impl<") || line.starts_with("unsafe impl"))
            && word_positions(line, name).next().is_some()
    })
}

/// Checks `symbol` (`A::B::c`) against `source`, the text of `file`; an error message if it
/// does not hold.
fn check_symbol(symbol: &str, file: &str, source: &str) -> Result<(), String> {
    let segments: Vec<&str> = symbol.split("::").collect();
    if !segments.iter().all(|s| is_ident(s)) {
        return Err(format!("`{symbol}` (`{file}`): not a symbol path"));
    }
    let (last, path) = segments.split_last().expect("split yields one segment at least");
    for segment in path {
        if !defines(source, segment) && !implements(source, segment) {
            return Err(format!("`{symbol}`: `{file}` neither defines nor implements `{segment}`"));
        }
    }
    if !defines(source, last) {
        return Err(format!("`{symbol}`: `{file}` does not define `{last}`"));
    }
    Ok(())
}

/// Whether `path` names a file of the repository by its path (`tests/net/tcp.rs`, `Cargo.toml`) or
/// a folder (`examples/kv/`), and so must exist.
fn looks_like_path(s: &str) -> bool {
    const EXTENSIONS: [&str; 9] =
        [".rs", ".md", ".sh", ".toml", ".c", ".py", ".lua", ".conf", ".supp"];
    let plain = s.chars().all(|c| is_ident_char(c) || matches!(c, '/' | '.' | '-'));
    plain
        && !s.starts_with('/')
        && (EXTENSIONS.iter().any(|ext| s.ends_with(ext) && s.len() > ext.len())
            || (s.ends_with('/') && s.trim_end_matches('/').contains('/')))
}

/// Whether `cited` exists: relative to the root, to `base` (the citing file's folder or its
/// crate's `src`), or, for a name given without its folders (`cell.rs` in `task/mod.rs`), as
/// the end of some path in the repository.
fn path_exists(cited: &str, bases: &[&Path], files: &[String]) -> bool {
    let root = Path::new(ROOT);
    if root.join(cited).exists() || bases.iter().any(|base| base.join(cited).exists()) {
        return true;
    }
    let tail = format!("/{cited}");
    files
        .iter()
        .any(|file| format!("/{file}").ends_with(&tail) || format!("/{file}").contains(&tail))
}

#[test]
fn concepts_cites_symbols_that_exist_in_the_files_it_names() {
    let page = read(&Path::new(ROOT).join("docs/CONCEPTS.md"));
    let spans = code_spans(&page);
    let mut errors = Vec::new();
    let (mut symbols, mut functions) = (0, 0);

    for (i, &(_, close, content)) in spans.iter().enumerate() {
        if let Some(colon) = content.rfind(".rs:") {
            if content[colon + 4..].starts_with(|c: char| c.is_ascii_digit()) {
                errors.push(format!("`{content}`: a line number; cite the symbol instead"));
            }
        }
        // `Symbol::path` (`file.rs`
        if let Some(&(open, _, file)) = spans.get(i + 1) {
            let symbol_like = content.split("::").all(is_ident);
            if &page[close + 1..open] == " (" && file.ends_with(".rs") && symbol_like {
                symbols += 1;
                match fs::read_to_string(Path::new(ROOT).join(file)) {
                    Ok(source) => {
                        if let Err(e) = check_symbol(content, file, &source) {
                            errors.push(e);
                        }
                    }
                    Err(e) => errors.push(format!("`{content}` (`{file}`): {e}")),
                }
                continue;
            }
        }
        // `file.rs` `function` / `function`, ...
        if content.ends_with(".rs") && content.contains('/') {
            let Ok(source) = fs::read_to_string(Path::new(ROOT).join(content)) else {
                errors.push(format!("`{content}`: no such file"));
                continue;
            };
            let mut end = close;
            for &(open, next_close, name) in &spans[i + 1..] {
                let between = &page[end + 1..open];
                let separator =
                    between.split_whitespace().all(|w| matches!(w, "," | "/" | "and" | "or"));
                if !separator || !is_ident(name) || name.chars().any(|c| c.is_ascii_uppercase()) {
                    break;
                }
                functions += 1;
                if !defines(&source, name) {
                    errors.push(format!("`{content}` `{name}`: no `fn {name}` in that file"));
                }
                end = next_close;
            }
        }
    }

    assert!(errors.is_empty(), "docs/CONCEPTS.md cites what is not there:\n{}", errors.join("\n"));
    // The page cites some 50 symbols and 25 functions: finding far fewer means the format
    // changed and this test stopped reading it.
    assert!(symbols >= 40, "only {symbols} `Symbol` (`file`) citations found");
    assert!(functions >= 20, "only {functions} `file` `function` citations found");
}

/// What a page or a module doc names.
enum Cited {
    /// A file or folder in backticks, `runtime/src/sys.rs`.
    Path(String),
    /// The target of a markdown link, relative to the page.
    Link(String),
    /// A cargo target, `--test NAME`.
    Target(&'static str, String),
}

/// The files, folders and cargo targets named by the pages and module docs: `(where, what)`.
fn references() -> Vec<(String, Cited)> {
    let root = Path::new(ROOT);
    let mut texts: Vec<(String, String)> =
        PAGES.iter().map(|page| (read(&root.join(page)), page.to_string())).collect();
    for source in CRATE_SOURCES {
        let mut files = Vec::new();
        walk(&root.join(source), &mut files);
        for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
            let docs: String = read(&file)
                .lines()
                .filter_map(|line| line.trim_start().strip_prefix("//!"))
                .map(|line| format!("{line}\n"))
                .collect();
            let name = file.strip_prefix(root).expect("under the root").to_string_lossy();
            texts.push((docs, name.into_owned()));
        }
    }

    let mut cited = Vec::new();
    for (text, place) in &texts {
        for (_, _, span) in code_spans(text) {
            if looks_like_path(span) {
                cited.push((place.clone(), Cited::Path(span.to_string())));
            }
        }
        // Markdown links in the pages: [text](target), without an anchor or a URL. (A module
        // doc's links are rustdoc's, which `cargo doc -D warnings` checks.)
        let links =
            if place.ends_with(".md") { text.match_indices("](").collect() } else { vec![] };
        for (at, _) in links {
            let target = &text[at + 2..];
            let Some(end) = target.find(')') else { continue };
            let target = target[..end].split('#').next().unwrap_or_default();
            if !target.is_empty() && !target.contains("://") {
                cited.push((place.clone(), Cited::Link(target.to_string())));
            }
        }
        // Cargo targets, in commands and code blocks alike.
        for kind in ["--test", "--example", "--bench"] {
            for (at, _) in text.match_indices(&format!("{kind} ")) {
                let name: String =
                    text[at + kind.len() + 1..].chars().take_while(|&c| is_ident_char(c)).collect();
                // `--test NAME` is a placeholder, not a target.
                if !name.is_empty() && !name.chars().any(|c| c.is_ascii_uppercase()) {
                    cited.push((place.clone(), Cited::Target(kind, name)));
                }
            }
        }
    }
    cited
}

/// Whether cargo has a target `kind name` in the `minirt` package.
fn target_exists(kind: &str, name: &str) -> bool {
    let root = Path::new(ROOT);
    let dir = match kind {
        "--test" => "tests",
        "--example" => "examples",
        _ => "benches",
    };
    root.join(dir).join(format!("{name}.rs")).exists()
        || root.join(dir).join(name).join("main.rs").exists()
}

#[test]
fn every_file_the_docs_name_exists() {
    let root = Path::new(ROOT);
    let files = repo_files();
    let references = references();
    let mut errors = Vec::new();
    for (place, cited) in &references {
        let here = root.join(place);
        let folder = here.parent().expect("a file has a folder");
        match cited {
            Cited::Target(kind, name) => {
                if !target_exists(kind, name) {
                    errors.push(format!("{place}: `{kind} {name}`: no such cargo target"));
                }
            }
            Cited::Link(target) => {
                if !folder.join(target).exists() {
                    errors.push(format!("{place}: the link to `{target}` leads nowhere"));
                }
            }
            Cited::Path(path) => {
                let crate_src = CRATE_SOURCES
                    .iter()
                    .map(|src| root.join(src))
                    .find(|src| here.starts_with(src));
                let mut bases = vec![folder];
                if let Some(src) = &crate_src {
                    bases.push(src);
                }
                if !path_exists(path, &bases, &files) {
                    errors.push(format!("{place}: `{path}` does not exist"));
                }
            }
        }
    }
    assert!(errors.is_empty(), "the docs name what is not there:\n{}", errors.join("\n"));
    assert!(references.len() >= 100, "only {} references found", references.len());
}

#[test]
fn the_checks_catch_a_wrong_citation() {
    let source =
        "pub struct Ready(u8);\nimpl Ready {\n    pub const ERROR: Ready = Ready(1);\n    \
                  pub(crate) fn from_epoll(bits: u32) -> Ready { todo!() }\n}\n\
                  impl Wake for Task { fn wake(self: Arc<Self>) {} }\nmod tests {}\n";
    assert_eq!(check_symbol("Ready::from_epoll", "f.rs", source), Ok(()));
    assert_eq!(check_symbol("Ready::ERROR", "f.rs", source), Ok(()));
    assert_eq!(check_symbol("Task::wake", "f.rs", source), Ok(()));
    assert_eq!(check_symbol("tests::Ready", "f.rs", source), Ok(()));
    assert!(check_symbol("Ready::to_epoll", "f.rs", source).is_err());
    assert!(check_symbol("Interest::from_epoll", "f.rs", source).is_err());
    assert!(check_symbol("Ready::from_epoll (x)", "f.rs", source).is_err());
    assert!(!defines("let from_epoll = 1;", "from_epoll"));
    assert!(!defines("fn from_epoll_slow() {}", "from_epoll"));

    let spans = code_spans("a `b` c\n```\n`not` this\n```\n`d`");
    let contents: Vec<&str> = spans.iter().map(|&(_, _, s)| s).collect();
    assert_eq!(contents, ["b", "d"]);

    assert!(looks_like_path("runtime/src/reactor.rs"));
    assert!(looks_like_path("examples/kv/"));
    assert!(!looks_like_path("io::AsyncRead"));
    assert!(!looks_like_path("a.b"));
    assert!(!looks_like_path("/proc/PID/stat"));
}
