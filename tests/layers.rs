//! The layering of the crates' sources, checked: reads every module path (`crate::…`,
//! `super::…`, `self::…`, and a file's own `mod child;` names) in the sources of [`CRATES`],
//! resolves each to the file that defines the item (following `pub use` re-exports), and fails
//!
//! - on an edge between top-level modules that the crate's layer map (the `## Layers` block
//!   of its `lib.rs` module doc) does not allow: a module may use only modules on lines below
//!   its own;
//! - on any import cycle between the files of the first crate (the runtime), or between the
//!   entries (files and sub-folders) of any of its folders;
//! - on a path from another crate into the runtime through something that is not its public
//!   API (a `#[doc(hidden)]` module).
//!
//! Inline `mod tests { … }` blocks are skipped: unit tests may use any module. Every check
//! here also runs on a planted source (`planted_*`) to show that it can fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose sources are checked: source folder (relative to the workspace root) and
/// the name other crates use it by. The first is the runtime, whose files must form no cycle.
const CRATES: &[(&str, &str)] = &[("runtime/src", "minirt_runtime"), ("os/src", "minirt_os")];

type ModPath = Vec<String>;

/// One crate's sources: module path → file (relative to the source folder) and its text.
struct Crate {
    files: BTreeMap<ModPath, (String, String)>,
}

impl Crate {
    fn read(dir: &Path) -> Crate {
        let mut files = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {d:?}: {e}")) {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let rel =
                        path.strip_prefix(dir).expect("under dir").to_string_lossy().into_owned();
                    let text = std::fs::read_to_string(&path).expect("read source");
                    files.insert(module_of(&rel), (rel, text));
                }
            }
        }
        Crate { files }
    }

    fn from_sources(sources: &[(&str, &str)]) -> Crate {
        let files = sources
            .iter()
            .map(|(rel, text)| (module_of(rel), (rel.to_string(), text.to_string())))
            .collect();
        Crate { files }
    }

    /// `pub use` re-exports of each file: name → the module path it stands for.
    fn reexports(&self) -> BTreeMap<ModPath, BTreeMap<String, ModPath>> {
        let mut all = BTreeMap::new();
        for (module, (_, text)) in &self.files {
            let mut names = BTreeMap::new();
            for reference in scan(module, text) {
                if let Some(name) = reference.reexported_as {
                    names.insert(name, reference.path);
                }
            }
            all.insert(module.clone(), names);
        }
        all
    }

    /// The file (its module path) that defines the item `path` names.
    fn resolve(
        &self,
        path: &[String],
        reexports: &BTreeMap<ModPath, BTreeMap<String, ModPath>>,
        depth: usize,
    ) -> Option<ModPath> {
        (0..=path.len()).rev().find_map(|n| {
            let module = &path[..n];
            if !self.files.contains_key(module) {
                return None;
            }
            if n < path.len() && depth < 16 {
                if let Some(target) = reexports.get(module).and_then(|r| r.get(&path[n])) {
                    let mut next = target.clone();
                    next.extend_from_slice(&path[n + 1..]);
                    if let Some(found) = self.resolve(&next, reexports, depth + 1) {
                        return Some(found);
                    }
                }
            }
            Some(module.to_vec())
        })
    }

    /// Every file-to-file edge: (from, to) module paths, with a sample path that makes it.
    fn edges(&self) -> BTreeMap<(ModPath, ModPath), String> {
        let reexports = self.reexports();
        let mut edges = BTreeMap::new();
        for (module, (_, text)) in &self.files {
            for reference in scan(module, text) {
                let Some(to) = self.resolve(&reference.path, &reexports, 0) else { continue };
                if &to != module && !to.is_empty() {
                    edges
                        .entry((module.clone(), to))
                        .or_insert_with(|| format!("crate::{}", reference.path.join("::")));
                }
            }
        }
        edges
    }

    fn file_name(&self, module: &ModPath) -> String {
        self.files.get(module).map_or_else(|| module.join("/"), |(rel, _)| rel.clone())
    }
}

/// `foo/bar.rs` and `foo/bar/mod.rs` → `[foo, bar]`; `lib.rs` → `[]`.
fn module_of(rel: &str) -> ModPath {
    let mut parts: Vec<String> =
        rel.trim_end_matches(".rs").split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// One module path found in a file.
struct Reference {
    /// Absolute, from the crate root.
    path: ModPath,
    /// `Some(name)` when the path is a `pub use` re-export, visible as `name` in the file.
    reexported_as: Option<String>,
}

/// The source without comments, string and char literals (their text replaced by spaces), so
/// that a path in a doc comment or a message is not read as an import.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if b[i] == b'"'
            || (b[i] == b'r' && (b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#")))
        {
            // Raw strings: r"…", r#"…"#; plain strings with escapes.
            if b[i] == b'r' {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let close: Vec<u8> =
                    std::iter::once(b'"').chain(std::iter::repeat(b'#').take(hashes)).collect();
                i += 2 + hashes;
                while i < b.len() && !b[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
            } else {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}'), or a lifetime ('a), which is kept.
            let rest = &b[i + 1..];
            let len = if rest.first() == Some(&b'\\') {
                rest.iter().position(|&c| c == b'\'').map(|p| p + 1)
            } else {
                let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (rest.get(ch) == Some(&b'\'')).then_some(ch + 1)
            };
            match len {
                Some(len) => {
                    out.push_str("' '");
                    i += 1 + len;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = text[i..].chars().next().expect("char boundary");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every module path in `text`, the file of module `file_module`.
fn scan(file_module: &ModPath, text: &str) -> Vec<Reference> {
    let code = code_only(text);
    let chars: Vec<char> = code.chars().collect();
    // `mod child;` declarations: a bare `child::…` path in this file starts there.
    let mut children = BTreeSet::new();
    // The inline `mod name { … }` blocks open at the cursor, with the brace depth they close at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut refs = Vec::new();
    let mut i = 0;
    let words = |from: usize| -> (String, usize) {
        let mut j = from;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let start = j;
        while j < chars.len() && is_ident(chars[j]) {
            j += 1;
        }
        (chars[start..j].iter().collect(), j)
    };
    // First pass for the child modules, which may be declared after their first use.
    {
        let mut k = 0;
        while k < chars.len() {
            if is_ident(chars[k]) && (k == 0 || !is_ident(chars[k - 1])) {
                let (w, end) = words(k);
                if w == "mod" {
                    let (name, end2) = words(end);
                    let mut e = end2;
                    while e < chars.len() && chars[e].is_whitespace() {
                        e += 1;
                    }
                    if chars.get(e) == Some(&';') {
                        children.insert(name);
                    }
                }
                k = end.max(k + 1);
            } else {
                k += 1;
            }
        }
    }
    let mut pending_pub_use = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        if c == ';' {
            pending_pub_use = false;
        }
        if !is_ident(c) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == '$')) {
            i += 1;
            continue;
        }
        let (word, end) = words(i);
        if word == "pub" {
            // `pub use`, `pub(crate) use`: a re-export.
            let mut j = end;
            if chars.get(j) == Some(&'(') {
                while j < chars.len() && chars[j] != ')' {
                    j += 1;
                }
                j += 1;
            }
            let (next, _) = words(j);
            pending_pub_use = next == "use";
            i = end;
            continue;
        }
        if word == "mod" {
            let (name, end2) = words(end);
            let mut e = end2;
            while e < chars.len() && chars[e].is_whitespace() {
                e += 1;
            }
            if chars.get(e) == Some(&'{') {
                if name == "tests" {
                    // Unit tests may use any module: not part of the layering.
                    let mut open = 0usize;
                    let mut k = e;
                    while k < chars.len() {
                        match chars[k] {
                            '{' => open += 1,
                            '}' => {
                                open -= 1;
                                if open == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        k += 1;
                    }
                    i = k + 1;
                    continue;
                }
                inline.push((name, depth + 1));
            }
            i = end2;
            continue;
        }
        let preceded_by_path = i >= 2 && chars[i - 1] == ':' && chars[i - 2] == ':';
        let starts_path = matches!(word.as_str(), "crate" | "super" | "self")
            || (children.contains(&word) && inline.is_empty());
        let then_path = chars.get(end) == Some(&':') && chars.get(end + 1) == Some(&':');
        if preceded_by_path || !starts_path || !then_path {
            i = end;
            continue;
        }
        let mut here = file_module.clone();
        here.extend(inline.iter().map(|(n, _)| n.clone()));
        let base: ModPath = match word.as_str() {
            "crate" => Vec::new(),
            "self" => here.clone(),
            "super" => here[..here.len().saturating_sub(1)].to_vec(),
            child => {
                let mut b = here.clone();
                b.push(child.to_string());
                b
            }
        };
        let (paths, after) = parse_tree(&chars, end, base);
        for (path, alias) in paths {
            let reexported_as = if pending_pub_use && inline.is_empty() {
                alias.or_else(|| path.last().cloned())
            } else {
                None
            };
            refs.push(Reference { path, reexported_as });
        }
        i = after;
    }
    refs
}

/// Parses `::a::b`, `::a::{b, c::{d as e}}` after a path's first word; returns the absolute
/// paths (with `super` segments applied) and their `as` aliases, and where parsing stopped.
fn parse_tree(
    chars: &[char],
    mut i: usize,
    base: ModPath,
) -> (Vec<(ModPath, Option<String>)>, usize) {
    let mut path = base;
    let skip_ws = |mut i: usize| {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        let j = skip_ws(i);
        if !(chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':')) {
            break;
        }
        let k = skip_ws(j + 2);
        if chars.get(k) == Some(&'{') {
            let mut out = Vec::new();
            let mut m = k + 1;
            loop {
                m = skip_ws(m);
                match chars.get(m) {
                    None => return (out, m),
                    Some('}') => return (out, m + 1),
                    Some(',') => m += 1,
                    Some(_) => {
                        let start = m;
                        while m < chars.len() && is_ident(chars[m]) {
                            m += 1;
                        }
                        if m == start {
                            // `*` or something else: not a module path.
                            m += 1;
                            continue;
                        }
                        let word: String = chars[start..m].iter().collect();
                        let mut sub = path.clone();
                        match word.as_str() {
                            "self" => {}
                            "super" => {
                                sub.pop();
                            }
                            w => sub.push(w.to_string()),
                        }
                        let (inner, after) = parse_tree(chars, m, sub);
                        out.extend(inner);
                        m = after;
                    }
                }
            }
        }
        let start = k;
        let mut e = k;
        while e < chars.len() && is_ident(chars[e]) {
            e += 1;
        }
        if e == start {
            break;
        }
        let word: String = chars[start..e].iter().collect();
        if word == "super" {
            path.pop();
        } else {
            path.push(word);
        }
        i = e;
    }
    // `as alias`
    let j = skip_ws(i);
    let rest: String = chars[j..chars.len().min(j + 3)].iter().collect();
    if rest == "as " {
        let a = skip_ws(j + 3);
        let mut e = a;
        while e < chars.len() && is_ident(chars[e]) {
            e += 1;
        }
        return (vec![(path, Some(chars[a..e].iter().collect()))], e);
    }
    (vec![(path, None)], i)
}

/// The layer map: the lines of the `## Layers` block of `lib.rs`, top first; each line's
/// modules are the words before its `|`.
fn layer_map(lib: &str) -> Option<Vec<BTreeSet<String>>> {
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let start = doc.iter().position(|l| l.trim() == "## Layers")?;
    let fence = start + doc[start..].iter().position(|l| l.starts_with("```"))?;
    let mut layers = Vec::new();
    for line in &doc[fence + 1..] {
        if line.starts_with("```") {
            return Some(layers);
        }
        let modules = line.split('|').next().unwrap_or("");
        let set: BTreeSet<String> = modules
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        if !set.is_empty() {
            layers.push(set);
        }
    }
    None
}

/// The edges between top-level modules the map forbids, one line each.
fn forbidden_edges(krate: &Crate, layers: &[BTreeSet<String>]) -> Vec<String> {
    let layer_of = |name: &str| layers.iter().position(|l| l.contains(name));
    let mut bad = Vec::new();
    for ((from, to), sample) in krate.edges() {
        let (Some(a), Some(b)) = (from.first(), to.first()) else { continue };
        if a == b {
            continue;
        }
        match (layer_of(a), layer_of(b)) {
            // Lines are listed top first: a module may use only a line below (a larger index).
            (Some(la), Some(lb)) if lb > la => {}
            (la, lb) => bad.push(format!(
                "{} -> {} (`{sample}`): {}",
                krate.file_name(&from),
                krate.file_name(&to),
                match (la, lb) {
                    (None, _) => format!("`{a}` is not in the layer map"),
                    (_, None) => format!("`{b}` is not in the layer map"),
                    _ => format!("`{a}` may not use `{b}`"),
                }
            )),
        }
    }
    bad
}

/// Strongly connected components of more than one node (Tarjan).
fn cycles<N: Ord + Clone>(nodes: &BTreeSet<N>, edges: &BTreeSet<(N, N)>) -> Vec<Vec<N>> {
    let index: BTreeMap<&N, usize> = nodes.iter().enumerate().map(|(i, n)| (n, i)).collect();
    let list: Vec<&N> = nodes.iter().collect();
    let mut adj = vec![Vec::new(); list.len()];
    for (a, b) in edges {
        if let (Some(&x), Some(&y)) = (index.get(a), index.get(b)) {
            adj[x].push(y);
        }
    }
    struct State {
        idx: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, adj: &[Vec<usize>], s: &mut State) {
        s.idx[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on[v] = true;
        for &w in &adj[v] {
            match s.idx[w] {
                None => {
                    visit(w, adj, s);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.idx[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let n = list.len();
    let mut s = State {
        idx: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.idx[v].is_none() {
            visit(v, &adj, &mut s);
        }
    }
    s.out
        .into_iter()
        .map(|c| {
            let mut names: Vec<N> = c.into_iter().map(|i| list[i].clone()).collect();
            names.sort();
            names
        })
        .collect()
}

/// Import cycles between files, and between the entries (files, sub-folders) of each folder.
fn import_cycles(krate: &Crate) -> Vec<String> {
    let edges = krate.edges();
    let mut found = Vec::new();
    let nodes: BTreeSet<ModPath> = krate.files.keys().cloned().collect();
    let file_edges: BTreeSet<(ModPath, ModPath)> = edges.keys().cloned().collect();
    for cycle in cycles(&nodes, &file_edges) {
        let names: Vec<String> = cycle.iter().map(|m| krate.file_name(m)).collect();
        found.push(format!("files import each other: {}", names.join(", ")));
    }
    // Folder level: inside each folder, an entry is a file or a whole sub-folder.
    let folders: BTreeSet<ModPath> =
        nodes.iter().filter(|m| !m.is_empty()).map(|m| m[..m.len() - 1].to_vec()).collect();
    for folder in folders {
        let entry = |m: &ModPath| -> Option<String> {
            (m.len() > folder.len() && m[..folder.len()] == folder[..])
                .then(|| m[folder.len()].clone())
        };
        let mut entry_edges = BTreeSet::new();
        let mut entries = BTreeSet::new();
        for (from, to) in &file_edges {
            if let (Some(a), Some(b)) = (entry(from), entry(to)) {
                entries.insert(a.clone());
                entries.insert(b.clone());
                if a != b {
                    entry_edges.insert((a, b));
                }
            }
        }
        for cycle in cycles(&entries, &entry_edges) {
            let at =
                if folder.is_empty() { "the crate root".to_string() } else { folder.join("/") };
            // A cycle of plain files is already reported above; report those with a folder.
            if cycle.iter().any(|e| {
                let mut m = folder.clone();
                m.push(e.clone());
                krate.files.keys().any(|k| k.len() > m.len() && k[..m.len()] == m[..])
            }) {
                found.push(format!("entries of {at} import each other: {}", cycle.join(", ")));
            }
        }
    }
    found
}

/// Paths from other crates into the runtime that do not go through its public API.
fn hidden_uses(runtime: &Crate, runtime_name: &str, other: &Crate) -> Vec<String> {
    let lib = &runtime.files[&Vec::new()].1;
    let mut hidden = BTreeSet::new();
    let mut doc_hidden = false;
    for line in lib.lines() {
        let line = line.trim();
        if line.starts_with("#[doc(hidden)]") {
            doc_hidden = true;
            continue;
        }
        if let Some(name) = line.strip_prefix("pub mod ").map(|n| n.trim_end_matches(';')) {
            if doc_hidden {
                hidden.insert(name.to_string());
            }
        }
        doc_hidden = false;
    }
    let needle = format!("{runtime_name}::");
    let mut bad = Vec::new();
    for (rel, text) in other.files.values() {
        let code = code_only(text);
        for (at, _) in code.match_indices(&needle) {
            let rest = &code[at + needle.len()..];
            let first: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            if hidden.contains(&first) {
                bad.push(format!("{rel} uses {runtime_name}::{first}, which is not public API"));
            }
        }
    }
    bad
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn imports_follow_the_layer_maps() {
    let mut bad = Vec::new();
    for (i, (dir, _)) in CRATES.iter().enumerate() {
        let krate = Crate::read(&root().join(dir));
        let lib = &krate.files.get(&Vec::new()).unwrap_or_else(|| panic!("{dir}/lib.rs")).1;
        match layer_map(lib) {
            Some(layers) => bad.extend(
                forbidden_edges(&krate, &layers).into_iter().map(|b| format!("{dir}: {b}")),
            ),
            None if i == 0 => panic!("{dir}/lib.rs has no `## Layers` block in its module doc"),
            None => {}
        }
    }
    assert!(bad.is_empty(), "imports a layer map does not allow:\n{}", bad.join("\n"));
}

#[test]
fn runtime_has_no_import_cycles() {
    let krate = Crate::read(&root().join(CRATES[0].0));
    let found = import_cycles(&krate);
    assert!(found.is_empty(), "import cycles in {}:\n{}", CRATES[0].0, found.join("\n"));
}

#[test]
fn other_crates_use_the_runtime_through_its_public_api() {
    let runtime = Crate::read(&root().join(CRATES[0].0));
    let mut bad = Vec::new();
    for (dir, _) in &CRATES[1..] {
        bad.extend(hidden_uses(&runtime, CRATES[0].1, &Crate::read(&root().join(dir))));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The size rule of the house: a file a reader can hold in mind. Every `.rs` file of the
/// libraries (runtime, os, macros, the facade) stays at or under `MAX_LINES` lines, tests and
/// comments included.
const MAX_LINES: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {dir:?}: {e}")) {
        let path = entry.unwrap_or_else(|e| panic!("read {dir:?}: {e}")).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_800_lines() {
    let mut files = Vec::new();
    for dir in ["runtime/src", "os/src", "macros/src", "src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            let lines = text.lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(!files.is_empty(), "no sources found under {:?}", root());
    assert!(long.is_empty(), "source files over {MAX_LINES} lines:\n{}", long.join("\n"));
}

/// A small crate with a map, for the planted failures below.
const PLANTED_LIB: &str = "//! ## Layers\n//!\n//! ```text\n//! api | top\n//! core | middle\n//! sys | leaf\n//! ```\nmod api;\nmod core;\nmod sys;\n";

#[test]
fn planted_edges_are_read_through_groups_aliases_and_reexports() {
    let krate = Crate::from_sources(&[
        ("lib.rs", PLANTED_LIB),
        ("api.rs", "use crate::{core::{self as c, Thing}, sys::raw as r};\n// crate::api::nothing\nfn f() { let _ = \"crate::sys\"; }\n"),
        ("core/mod.rs", "mod thing;\npub(crate) use thing::Thing;\n"),
        ("core/thing.rs", "pub(crate) struct Thing(super::super::sys::Fd);\n"),
        ("sys.rs", "pub(crate) struct Fd;\npub(crate) fn raw() {}\nmod tests { use crate::api; }\n"),
    ]);
    let edges: BTreeSet<(String, String)> = krate
        .edges()
        .into_keys()
        .map(|(a, b)| (krate.file_name(&a), krate.file_name(&b)))
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("api.rs", "core/mod.rs"),
        ("api.rs", "core/thing.rs"),
        ("api.rs", "sys.rs"),
        ("core/mod.rs", "core/thing.rs"),
        ("core/thing.rs", "sys.rs"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(edges, want);
    let layers = layer_map(PLANTED_LIB).expect("map");
    assert!(forbidden_edges(&krate, &layers).is_empty());
    assert!(import_cycles(&krate).is_empty());
}

#[test]
fn planted_upward_edge_and_cycles_fail() {
    let krate = Crate::from_sources(&[
        ("lib.rs", PLANTED_LIB),
        ("api.rs", "use crate::core::a::A;\n"),
        ("core/mod.rs", "mod a;\nmod b;\npub(crate) use a::A;\n"),
        // a ↔ b: a file cycle; b → api: an upward edge, and a folder cycle at the root.
        ("core/a.rs", "pub(crate) struct A(super::b::B);\n"),
        ("core/b.rs", "pub(crate) struct B(Box<crate::core::a::A>, crate::api::Unknown);\n"),
        ("sys.rs", ""),
    ]);
    let layers = layer_map(PLANTED_LIB).expect("map");
    let bad = forbidden_edges(&krate, &layers);
    assert_eq!(bad, ["core/b.rs -> api.rs (`crate::api::Unknown`): `core` may not use `api`"]);
    let found = import_cycles(&krate);
    assert!(
        found.iter().any(|c| c == "files import each other: api.rs, core/a.rs, core/b.rs"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|c| c == "entries of the crate root import each other: api, core"),
        "{found:?}"
    );
}
