//! The code's floors, checked from its `use` paths: in `src/emulator`,
//! `src/controller`, `src/ecs` and `src/api` no file imports a file that
//! imports it back (directly or round a longer loop), no file imports from
//! the `mod.rs` of a folder it sits in (that facade stands above it), and the
//! emulator's folders import only downwards:
//! `mod.rs → console → admin → server → api → agent → sim → rules → state → wire, docker, clock, timings`,
//! with no `api/` file importing another (`api/mod.rs` alone names them all).
//!
//! Test code (`mod tests` blocks and `tests.rs` files) is left out: it sets
//! its floor up from anywhere. The check reads the source as text: paths are
//! taken from `use` trees and from inline `crate::`/`super::`/`self::` paths
//! outside comments and strings, and resolved to the deepest module file
//! they name.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::repo;

/// The roots checked, as module paths under `src/`.
const ROOTS: [&str; 4] = ["emulator", "controller", "ecs", "api"];

/// The emulator's floors, lowest first; a file's floor is its first folder
/// under `src/emulator` (or the file itself for top-level files).
const EMULATOR_FLOORS: [&[&str]; 11] = [
    &["clock", "timings"],
    &["wire", "docker"],
    &["state"],
    &["rules"],
    &["sim"],
    &["agent"],
    &["api"],
    &["server"],
    &["admin"],
    &["console"],
    &["", "fuzzing"],
];

/// One module file: its module path (`["emulator", "sim", "pass"]`) and what
/// it imports, each with the line that says so.
struct File {
    path: PathBuf,
    module: Vec<String>,
    imports: Vec<Import>,
}

/// One import: its path, its line, and how many inline `mod x { … }` blocks
/// it sits in (a `super` there names the block's parent first).
struct Import {
    path: Vec<String>,
    line: usize,
    inline_depth: usize,
}

/// The module path of a file under `src/` (`a/b/mod.rs` is `a::b`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments, string and char literals blanked (newlines
/// kept, so line numbers hold).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |s: &[u8], out: &mut String| {
        for &c in s {
            out.push(if c == b'\n' { '\n' } else { ' ' });
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&rest[..end], &mut out);
            i += end;
        } else if rest.starts_with(b"/*") {
            let end = src[i + 2..].find("*/").map_or(rest.len(), |e| e + 4);
            blank(&rest[..end], &mut out);
            i += end;
        } else if rest.starts_with(b"r#\"") || rest.starts_with(b"r\"") {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let start = 2 + hashes;
            let end = src[i + start..].find(&close).map_or(rest.len(), |e| start + e + close.len());
            blank(&rest[..end], &mut out);
            i += end;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            blank(&rest[..end], &mut out);
            i += end;
        } else if rest[0] == b'\'' && rest.len() > 2 && (rest[2] == b'\'' || rest[1] == b'\\') {
            // A char literal ('x' or '\n', '\''); lifetimes have no closing quote.
            let end =
                if rest[1] == b'\\' { rest[2..].iter().position(|&c| c == b'\'').map_or(3, |p| p + 3) } else { 3 };
            blank(&rest[..end], &mut out);
            i += end;
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Blanks `#[cfg(test)]` modules written inline (`mod tests { … }`).
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_owned();
    let mut from = 0;
    while let Some(at) = out[from..].find("#[cfg(test)]") {
        let start = from + at;
        let after = &out[start + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_inline_mod = (trimmed.starts_with("mod ") || trimmed.starts_with("pub mod "))
            && trimmed.find(['{', ';']).is_some_and(|p| trimmed.as_bytes()[p] == b'{');
        if !is_inline_mod {
            from = start + 1;
            continue;
        }
        let open = start + out[start..].find('{').unwrap_or(0);
        let end = block_end(&out, open);
        let blanked: String = out[start..end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        out.replace_range(start..end, &blanked);
        from = start + 1;
    }
    out
}

/// The byte ranges of inline module blocks (`mod x { … }`).
fn inline_modules(code: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut at = 0;
    while let Some(k) = code[at..].find("mod ") {
        let start = at + k;
        at = start + 4;
        let word_start = start == 0 || !code.as_bytes()[start - 1].is_ascii_alphanumeric();
        let rest = &code[start + 4..];
        let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if !word_start || name_len == 0 || !rest[name_len..].trim_start().starts_with('{') {
            continue;
        }
        let open = start + 4 + name_len + rest[name_len..].find('{').unwrap_or(0);
        ranges.push(open..block_end(code, open));
    }
    ranges
}

/// Just past the `}` that closes the `{` at `open` (the end of the code when
/// none does).
fn block_end(code: &str, open: usize) -> usize {
    let mut depth = 0;
    for (n, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + n + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into full paths.
fn expand(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let head: Vec<String> =
            tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let mut base = prefix.to_vec();
        base.extend(head);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut start = 0;
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..k], &base, out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &base, out);
        return;
    }
    let tree = tree.split(" as ").next().unwrap_or(tree);
    let mut path = prefix.to_vec();
    path.extend(tree.split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned));
    out.push(path);
}

/// The import paths of one file's code, with their lines.
fn imports(code: &str) -> Vec<Import> {
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let blocks = inline_modules(code);
    let depth_at = |at: usize| blocks.iter().filter(|r| r.contains(&at)).count();
    let mut found = Vec::new();
    let mut uses = Vec::new();
    // `use` items (also `pub use`, `pub(crate) use`).
    let bytes = code.as_bytes();
    let mut at = 0;
    while let Some(k) = code[at..].find("use ") {
        let start = at + k;
        at = start + 4;
        let word_start = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !word_start {
            continue;
        }
        let Some(end) = code[start..].find(';') else { break };
        let mut paths = Vec::new();
        expand(&code[start + 4..start + end], &[], &mut paths);
        for path in paths {
            found.push(Import { path, line: line_of(start), inline_depth: depth_at(start) });
        }
        uses.push(start..start + end);
    }
    // Inline paths elsewhere.
    for anchor in ["crate::", "super::", "self::"] {
        let mut at = 0;
        while let Some(k) = code[at..].find(anchor) {
            let start = at + k;
            at = start + anchor.len();
            let word_start = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
            let prev_colon = start >= 2 && &code[start - 2..start] == "::";
            if !word_start || prev_colon || uses.iter().any(|r| r.contains(&start)) {
                continue;
            }
            let len = code[start..]
                .char_indices()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len() - start, |(n, _)| n);
            let path: Vec<String> =
                code[start..start + len].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
            found.push(Import { path, line: line_of(start), inline_depth: depth_at(start) });
        }
    }
    found
}

/// Resolves an import of `from` to the module file it names, if inside the
/// crate: the deepest module path that is a file.
fn resolve(from: &File, import: &Import, modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut path = import.path.as_slice();
    if import.inline_depth > 0 {
        match path.first().map(String::as_str) {
            Some("crate") => {}
            Some("super") => {
                // Inside an inline block, `super` first climbs out of the blocks.
                let climbed = path.iter().take_while(|s| *s == "super").count();
                if climbed <= import.inline_depth {
                    let mut own = vec!["self".to_owned()];
                    own.extend(path[climbed..].iter().cloned());
                    return resolve(from, &Import { path: own, line: import.line, inline_depth: 0 }, modules);
                }
                path = &path[import.inline_depth..];
            }
            _ => return None,
        }
    }
    let mut full: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => path[1..].to_vec(),
        Some("super") => {
            let mut base = from.module.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            base
        }
        Some("self") => from.module.iter().chain(&path[1..]).cloned().collect(),
        Some(first) => {
            // A relative path names a child module of the file, or nothing of ours.
            let mut child = from.module.clone();
            child.push(first.to_owned());
            if !modules.contains(&child) {
                return None;
            }
            from.module.iter().chain(path).cloned().collect()
        }
        None => return None,
    };
    while !full.is_empty() {
        if modules.contains(&full) {
            return Some(full);
        }
        full.pop();
    }
    None
}

fn floor_of(module: &[String]) -> Option<usize> {
    if module.first().map(String::as_str) != Some("emulator") {
        return None;
    }
    let name = module.get(1).map_or("", String::as_str);
    EMULATOR_FLOORS.iter().position(|floor| floor.contains(&name))
}

fn display(module: &[String]) -> String {
    module.join("::")
}

/// Who imports whom: importing module → imported module → the line that says so.
type Edges = BTreeMap<Vec<String>, BTreeMap<Vec<String>, usize>>;

/// Every file of the checked roots, with imports resolved to module files.
fn graph() -> (BTreeMap<Vec<String>, File>, Edges) {
    let src = repo().join("src");
    let mut paths = Vec::new();
    for root in ROOTS {
        rust_files(&src.join(root), &mut paths);
    }
    let mut files = BTreeMap::new();
    for path in paths {
        let rel = path.strip_prefix(&src).expect("under src").to_path_buf();
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("readable source");
        let code = without_test_modules(&code_only(&text));
        let module = module_of(&rel);
        files.insert(module.clone(), File { path: rel, module, imports: imports(&code) });
    }
    // Every module of the crate, so paths into other roots resolve too.
    let mut all = Vec::new();
    rust_files(&src, &mut all);
    let modules: BTreeSet<Vec<String>> =
        all.iter().map(|p| module_of(p.strip_prefix(&src).expect("under src"))).collect();
    let mut edges: Edges = BTreeMap::new();
    for file in files.values() {
        for import in &file.imports {
            if let Some(target) = resolve(file, import, &modules)
                && target != file.module
                && files.contains_key(&target)
            {
                edges.entry(file.module.clone()).or_default().entry(target).or_insert(import.line);
            }
        }
    }
    (files, edges)
}

/// Breaks of the floor rules, one line each, naming the import.
fn violations() -> Vec<String> {
    let (files, edges) = graph();
    let mut problems = Vec::new();
    let at = |from: &Vec<String>, line: usize| format!("{}:{line}", files[from].path.display());
    for (from, targets) in &edges {
        for (to, &line) in targets {
            // A folder's facade stands above the files in it.
            let is_facade_above = to.len() < from.len()
                && from.starts_with(to)
                && files[to].path.file_name().is_some_and(|n| n == "mod.rs");
            if is_facade_above {
                problems.push(format!(
                    "{} imports `{}`, the mod.rs of a folder it is in (import from the file that defines the item)",
                    at(from, line),
                    display(to)
                ));
            }
            if let (Some(f), Some(t)) = (floor_of(from), floor_of(to))
                && t > f
            {
                problems.push(format!("{} imports `{}` from a higher floor", at(from, line), display(to)));
            }
            let in_api = |m: &Vec<String>| m.len() == 3 && m[0] == "emulator" && m[1] == "api";
            if in_api(from) && in_api(to) {
                problems.push(format!("{} imports another api file, `{}`", at(from, line), display(to)));
            }
        }
    }
    // Loops: a depth-first search reporting each cycle once by its members.
    let mut reported = BTreeSet::new();
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, trail)) = stack.pop() {
            for next in edges.get(&node).map(|t| t.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                if &next == start {
                    let members: BTreeSet<Vec<String>> = trail.iter().cloned().collect();
                    if reported.insert(members) {
                        let mut hops = Vec::new();
                        for pair in trail.iter().chain(std::iter::once(start)).collect::<Vec<_>>().windows(2) {
                            let line = edges[pair[0]][pair[1]];
                            hops.push(format!("{} → `{}`", at(pair[0], line), display(pair[1])));
                        }
                        let kind = if trail.len() == 2 { "two files import each other" } else { "an import loop" };
                        problems.push(format!("{kind}: {}", hops.join(", ")));
                    }
                } else if next > *start && !trail.contains(&next) && trail.len() < 12 {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next, longer));
                }
            }
        }
    }
    problems
}

#[test]
fn files_import_only_from_lower_floors_and_never_in_a_loop() {
    let problems = violations();
    assert!(problems.is_empty(), "{} break(s) of the floor rules:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_checker_sees_use_trees_inline_paths_and_nothing_in_comments() {
    let code = code_only(
        "use crate::a::{b, c::{d, e as f}};\n// use crate::x::y;\nlet s = \"crate::z::w\";\nlet v = super::g::h(1);\n",
    );
    let paths: Vec<String> = imports(&code).into_iter().map(|i| i.path.join("::")).collect();
    assert_eq!(paths, ["crate::a::b", "crate::a::c::d", "crate::a::c::e", "super::g::h"]);
    let stripped = without_test_modules("fn a() {}\n#[cfg(test)]\nmod tests {\n    use crate::q::r;\n}\n");
    assert!(!stripped.contains("crate::q"), "{stripped}");
    // The rules bite: the emulator's real tree has files on every floor.
    let (files, edges) = graph();
    assert!(files.keys().filter_map(|m| floor_of(m)).collect::<BTreeSet<_>>().len() >= 8, "floors found");
    assert!(edges.values().map(BTreeMap::len).sum::<usize>() > 100, "imports found");
}
