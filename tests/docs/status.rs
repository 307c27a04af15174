//! What the site says works, against the code: the home page's status table against the source tree and the
//! command line, the runtime page's Web API table against what the engines give a script (`typeof` through
//! `nano repl`), every `nano <command> --flag` the pages and the README show against `nano --help`, and no page
//! giving a benchmark figure that `bench/RESULTS.md` does not hold or an "is not yet" claim no test checks.

use crate::pages::{code, page, table};
use regex::Regex;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every page of the site (relative to its docs folder) and its text, plus the README as `README.md`.
fn pages() -> Vec<(String, String)> {
    let docs = root().join("docs/site/src/content/docs");
    let mut out = Vec::new();
    let mut stack = vec![docs.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md" || e == "mdx") {
                let rel = path.strip_prefix(&docs).unwrap().display().to_string();
                out.push((rel.clone(), page(&rel)));
            }
        }
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    out.push(("README.md".into(), readme));
    out.sort();
    out
}

/// `nano <args>`'s standard output.
fn nano(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nano"))
        .args(args)
        .output()
        .expect("nano runs");
    assert!(out.status.success(), "nano {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands `nano --help` lists, each with the long flags its own `--help` lists.
fn commands() -> BTreeMap<String, Vec<String>> {
    let help = nano(&["--help"]);
    let listed = help
        .split("Commands:")
        .nth(1)
        .expect("`nano --help` lists commands")
        .split("Options:")
        .next()
        .unwrap();
    let flag = Regex::new(r"--[a-z][a-z-]*").unwrap();
    listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(|c| {
            let flags = flag
                .find_iter(&nano(&[c, "--help"]))
                .map(|m| m.as_str().to_string())
                .collect();
            (c.to_string(), flags)
        })
        .collect()
}

/// The code of a Markdown text: each line of its fenced blocks up to a comment, and each inline code span elsewhere.
fn code_text(text: &str) -> Vec<String> {
    let span = Regex::new(r"`([^`]+)`").unwrap();
    let comment = Regex::new(r"(?:^|\s)(?:#|//)\s").unwrap();
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            // A comment is prose.
            let end = comment.find(line).map_or(line.len(), |m| m.start());
            out.push(line[..end].to_string());
        } else {
            out.extend(span.captures_iter(line).map(|c| c[1].to_string()));
        }
    }
    out
}

#[test]
fn commands_and_flags_the_pages_show_exist() {
    let commands = commands();
    assert!(
        ["run", "config", "repl", "new"]
            .iter()
            .all(|c| commands.contains_key(*c)),
        "{commands:?}"
    );
    // `nano <word> …` or `cargo run -- <word> …` in code, up to its end (`hyper-nano …` is another program).
    let shown =
        Regex::new(r"(?:(?:^|[^-\w])nano|cargo run(?: --quiet)? --) ([a-z][a-z-]*)([^`\n]*)")
            .unwrap();
    let flag = Regex::new(r"(?:^|[\s\[(|])(--[a-z][a-z-]*)").unwrap();
    let mut problems = Vec::new();
    for (name, text) in pages() {
        for m in code_text(&text).iter().flat_map(|c| shown.captures_iter(c)) {
            let (word, rest) = (&m[1], &m[2]);
            let Some(flags) = commands.get(word) else {
                problems.push(format!("{name}: `nano {word}` is not a command of nano"));
                continue;
            };
            for f in flag.captures_iter(rest) {
                let f = &f[1];
                if !flags.iter().any(|x| x == f) && f != "--help" && f != "--version" {
                    problems.push(format!("{name}: `nano {word}` has no flag {f}"));
                }
            }
        }
    }
    let cli = page("reference/cli.md");
    for command in commands.keys() {
        if !cli.contains(&format!("`nano {command}")) {
            problems.push(format!(
                "reference/cli.md does not document `nano {command}`"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn home_page_status_rows_hold_in_the_code() {
    let commands = commands();
    let mut problems = Vec::new();
    let rows = table(&page("index.md"), "part");
    assert!(rows.len() >= 5, "{rows:?}");
    for row in rows {
        let [part, status, evidence, ..] = row.as_slice() else {
            problems.push(format!("row {row:?}: needs part, status and where"));
            continue;
        };
        let available = if status.starts_with("available") {
            true
        } else if status.starts_with("not available") {
            false
        } else {
            problems.push(format!(
                "{part}: the status must start with `available` or `not available`"
            ));
            continue;
        };
        let spans: Vec<&str> = evidence.split(", ").filter_map(code).collect();
        if spans.is_empty() {
            problems.push(format!(
                "{part}: the where column names no path or command in backticks"
            ));
        }
        for span in spans {
            let exists = match span.strip_prefix("nano ") {
                Some(command) => commands.contains_key(command),
                None => root().join(span).exists(),
            };
            if exists != available {
                problems.push(format!(
                    "{part}: says {status:?} but `{span}` {}",
                    if exists { "exists" } else { "does not exist" }
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/site/src/content/docs/index.md:\n  {}",
        problems.join("\n  ")
    );
}

/// `typeof <expr>` for each expression, in `nano repl` on `engine`: `'function'`, `'object'`, `'undefined'`...
fn typeofs(engine: &str, exprs: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nano"))
        .args(["repl", "--engine", engine, "--data-dir"])
        .arg(dir.path())
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nano repl starts");
    let input: String = exprs.iter().map(|e| format!("typeof {e}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_matches('\'').to_string())
        .collect();
    assert_eq!(lines.len(), exprs.len(), "{engine}: {out:?}");
    lines
}

#[test]
fn runtime_page_web_apis_are_what_each_engine_provides() {
    let rows = table(&page("runtime.md"), "API");
    let apis: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let api = code(&r[0]).unwrap_or_else(|| panic!("{r:?}: API in backticks"));
            (api.to_string(), r[2].clone())
        })
        .collect();
    let exprs: Vec<String> = apis.iter().map(|(a, _)| a.clone()).collect();
    let v8 = typeofs("v8", &exprs);
    let quickjs = typeofs("quickjs", &exprs);
    let mut problems = Vec::new();
    for (i, (api, status)) in apis.iter().enumerate() {
        let has = |on: &Vec<String>| on[i] != "undefined";
        // `done`: on every engine; `done on V8; …`: on V8 only; `not available…`: on none.
        let expected = if status == "done" {
            (true, true)
        } else if status.starts_with("done on V8") {
            (true, false)
        } else if status.starts_with("not available") {
            (false, false)
        } else {
            problems.push(format!(
                "`{api}`: status {status:?} must be `done`, `done on V8; …` or `not available …`"
            ));
            continue;
        };
        if (has(&v8), has(&quickjs)) != expected {
            problems.push(format!(
                "`{api}` is {status:?} on the page, but typeof is {} on V8 and {} on QuickJS",
                v8[i], quickjs[i]
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/site/src/content/docs/runtime.md:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn pages_give_only_recorded_figures_and_no_unchecked_not_yet() {
    let results = std::fs::read_to_string(root().join("bench/RESULTS.md")).unwrap_or_default();
    let figure =
        Regex::new(r"(\d[\d,.]*)\s*(?:requests/s|req/s|MB/s|jobs/s|x faster|times faster)")
            .unwrap();
    let not_yet = Regex::new(
        r"(?i)not yet (?:available|built|supported|implemented)|no results yet|coming soon",
    )
    .unwrap();
    let mut problems = Vec::new();
    for (name, text) in pages() {
        for m in figure.captures_iter(&text) {
            if !results.contains(&m[1]) {
                problems.push(format!(
                    "{name}: `{}` is not a figure of bench/RESULTS.md",
                    &m[0]
                ));
            }
        }
        for m in not_yet.find_iter(&text) {
            problems.push(format!(
                "{name}: \"{}\": say what is missing in the home page's status table, where tests/docs checks it",
                m.as_str()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
