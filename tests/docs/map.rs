//! The code map (`docs/architecture.md`) against the source tree: it names every module, and the paths it names exist.
//!
//! The rule, with "named" meaning written as a Markdown code span (`` `like this` ``):
//! - every folder under `src/` has a section: a heading whose first code span is the folder's path, `src/<folder>`;
//!   a section runs to the next heading;
//! - every `.rs` file under `src/` (each `mod.rs` included) is named either by its path from the repository root
//!   anywhere in the map (`src/adapters/http/router.rs`), or by its path relative to its folder within that
//!   folder's section (`router.rs` in the `src/adapters/http` section);
//! - every code span that starts with a top-level folder of the repository (`src/`, `tests/`, `bench/`, `benches/`,
//!   `docs/`, `scripts/`, `migrations/`, `examples/`) names a file or folder that exists;
//! - within a folder's section, every other code span ending in `.rs` is a path relative to that folder, and exists.

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const MAP: &str = "docs/architecture.md";

/// Code spans starting with one of these name a path from the repository root.
const ROOTS: [&str; 8] = [
    "src/",
    "tests/",
    "bench/",
    "benches/",
    "docs/",
    "scripts/",
    "migrations/",
    "examples/",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every folder and `.rs` file under `<root>/src`, as paths from the repository root (`src/core`, `src/lib.rs`).
fn source_tree(root: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut dirs, mut files) = (BTreeSet::new(), BTreeSet::new());
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                dirs.insert(rel);
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.insert(rel);
            }
        }
    }
    (dirs, files)
}

/// One stretch of the map from a heading to the next: the folder it is about (when its heading's first code span
/// is `src/<folder>`) and the code spans in it, heading included.
struct Section {
    folder: Option<String>,
    spans: Vec<String>,
}

fn sections(map: &str) -> Vec<Section> {
    let span = Regex::new(r"`([^`]+)`").unwrap();
    let mut texts: Vec<String> = vec![String::new()];
    let mut fenced = false;
    for line in map.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced && line.starts_with('#') {
            texts.push(String::new());
        }
        if !fenced {
            let text = texts.last_mut().unwrap();
            text.push_str(line);
            text.push('\n');
        }
    }
    texts
        .into_iter()
        .map(|text| {
            let heading = text.lines().next().filter(|l| l.starts_with('#'));
            let folder = heading
                .and_then(|h| span.captures(h))
                .map(|c| c[1].trim_end_matches('/').to_string())
                .filter(|f| f.starts_with("src/"));
            let spans = span
                .captures_iter(&text)
                .map(|c| c[1].replace('\n', " "))
                .collect();
            Section { folder, spans }
        })
        .collect()
}

/// What the map at `map` gets wrong about the tree at `root`, one line per problem.
fn problems(map: &str, root: &Path) -> Vec<String> {
    let (dirs, files) = source_tree(root);
    let sections = sections(map);
    let mut problems = Vec::new();
    let mut named = BTreeSet::new();
    let mut with_section = BTreeSet::new();
    for section in &sections {
        if let Some(folder) = &section.folder {
            with_section.insert(folder.clone());
        }
        for span in &section.spans {
            if ROOTS.iter().any(|r| span.starts_with(r)) {
                if !root.join(span).exists() {
                    problems.push(format!("`{span}` does not exist"));
                }
                named.insert(span.trim_end_matches('/').to_string());
            } else if let Some(folder) = &section.folder {
                if span.ends_with(".rs") {
                    let path = format!("{folder}/{span}");
                    if !root.join(&path).exists() {
                        problems.push(format!(
                            "`{span}` in the `{folder}` section: {path} does not exist"
                        ));
                    }
                    named.insert(path);
                }
            }
        }
    }
    for dir in &dirs {
        if !with_section.contains(dir) {
            problems.push(format!(
                "folder {dir} has no section (a heading naming `{dir}`)"
            ));
        }
    }
    for file in &files {
        if !named.contains(file) {
            let (folder, name) = file.rsplit_once('/').unwrap();
            problems.push(format!(
                "{file} is not named: write `{file}`, or `{name}` in the `{folder}` section"
            ));
        }
    }
    problems
}

#[test]
fn the_code_map_names_every_module_and_only_paths_that_exist() {
    let map = std::fs::read_to_string(root().join(MAP)).expect("the code map");
    let problems = problems(&map, &root());
    assert!(
        problems.is_empty(),
        "{MAP} disagrees with the source tree:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_rule_catches_missing_modules_and_stale_paths() {
    let map =
        "# Map\n\n`src/lib.rs` and `src/gone.rs`.\n\n### `src/core`\n\n`names.rs`, `nowhere.rs`.\n";
    let found = problems(map, &root());
    let has = |needle: &str| found.iter().any(|p| p.contains(needle));
    assert!(has("`src/gone.rs` does not exist"), "{found:#?}");
    assert!(has("src/core/nowhere.rs does not exist"), "{found:#?}");
    assert!(has("folder src/ports has no section"), "{found:#?}");
    assert!(has("src/core/scope.rs is not named"), "{found:#?}");
    assert!(!has("src/core/names.rs"), "{found:#?}");
    assert!(!has("src/lib.rs"), "{found:#?}");
    assert!(!has("folder src/core "), "{found:#?}");
}
