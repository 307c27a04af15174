//! The benchmarks page against the harness: it describes every scenario `bench/harness.py` runs, and no other.

use crate::pages::{page, table};

#[test]
fn benchmarks_page_lists_every_scenario_the_harness_runs() {
    let harness = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/harness.py"),
    )
    .unwrap();
    let start = harness
        .find("SCENARIOS = {")
        .expect("the harness has a SCENARIOS table");
    let block = &harness[start..start + harness[start..].find('}').unwrap()];
    let run: Vec<String> = block
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"'))
        .filter_map(|l| l.split('"').next())
        .map(str::to_string)
        .collect();
    assert!(run.len() >= 7, "{run:?}");
    let listed: Vec<String> = table(&page("benchmarks.mdx"), "scenario")
        .iter()
        .map(|row| row[0].trim_matches('`').to_string())
        .collect();
    assert_eq!(
        listed, run,
        "the benchmarks page's scenarios, in the harness's order"
    );
}
