//! Reading the site's Markdown pages: locating a page and parsing the rows of its reference tables.

use std::path::PathBuf;

/// The text of `docs/site/src/content/docs/<rel>`.
pub fn page(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("docs/site/src/content/docs")
        .join(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the docs page {}: {e}", path.display()))
}

/// The body rows of the first Markdown table whose header row starts with `| <first_header> |`,
/// each row split into trimmed cells. Panics when the page has no such table.
pub fn table(text: &str, first_header: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let start = lines
        .iter()
        .position(|l| cells(l).first().is_some_and(|c| c == first_header))
        .unwrap_or_else(|| panic!("no table with a `{first_header}` column"));
    lines[start + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .map(|l| cells(l))
        .collect()
}

/// The cells of one table row; `\|` inside a cell is a literal bar.
fn cells(line: &str) -> Vec<String> {
    if !line.starts_with('|') {
        return Vec::new();
    }
    let inner = line.trim_start_matches('|').trim_end_matches('|');
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut cell).trim().to_string()),
            _ => cell.push(c),
        }
    }
    out.push(cell.trim().to_string());
    out
}

/// The text of the first code span of a cell (`` `x` `` gives `x`), or `None` when it has none.
pub fn code(cell: &str) -> Option<&str> {
    let start = cell.find('`')? + 1;
    let len = cell[start..].find('`')?;
    Some(&cell[start..start + len])
}

#[test]
fn tables_parse_cells_and_escaped_bars() {
    let text = "intro\n\n| key | b |\n| --- | --- |\n| `a\\|b` | two |\n| `c` | |\n\nafter\n";
    let rows = table(text, "key");
    assert_eq!(rows, vec![vec!["`a|b`", "two"], vec!["`c`", ""]]);
    assert_eq!(code(&rows[0][0]), Some("a|b"));
    assert_eq!(code("no code"), None);
}
