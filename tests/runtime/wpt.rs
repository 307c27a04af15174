//! WPT's URL data sets (URL parsing, URL setters, URLPattern) run through `wpt/harness.js` in each engine; each set
//! must reach its floor, and the counts are printed (`cargo test --test runtime -- wpt --nocapture`).

use crate::harness::{eval_json_with, Rt};
use nano::core::Limits;

const HARNESS: &str = include_str!("wpt/harness.js");
const URL_DATA: &str = include_str!("wpt/urltestdata.json");
const SETTER_DATA: &str = include_str!("wpt/setters_tests.json");
const PATTERN_DATA: &str = include_str!("wpt/urlpatterntestdata.json");

/// The least each set must pass: all of it on both engines, above Node 20 (876 of 891 parsed, 264 of 278 set) and
/// Deno (361 of 369 URLPatterns).
const FLOORS: [(&str, u64, u64); 3] = [
    ("URL parsing", 891, 891),
    ("URL setters", 278, 278),
    ("URLPattern", 369, 369),
];

pub async fn wpt_url_data_sets(rt: &Rt) {
    let body = format!(
        "{HARNESS}\nreturn wptRun({URL_DATA}, {SETTER_DATA}, {PATTERN_DATA})
          .map((t) => ({{ name: t.name, pass: t.pass, total: t.total, failed: t.failed }}));"
    );
    let limits = Limits {
        cpu_ms: 30_000,
        startup_cpu_ms: 10_000,
        ..Limits::default()
    };
    let got = eval_json_with(rt, &body, limits).await;
    let sets = got.as_array().expect("one tally per data set");
    assert_eq!(sets.len(), FLOORS.len());
    // One print, so that the engines' reports do not interleave.
    let mut report = String::new();
    for (set, (name, _, _)) in sets.iter().zip(FLOORS) {
        report += &format!("{name}: {}/{}\n", set["pass"], set["total"]);
        for failed in set["failed"].as_array().unwrap() {
            report += &format!("  {}\n", failed.as_str().unwrap());
        }
    }
    print!("{report}");
    for (set, (name, floor, total)) in sets.iter().zip(FLOORS) {
        let pass = set["pass"].as_u64().unwrap();
        assert_eq!(set["name"], name);
        assert_eq!(set["total"], total, "{name}: the data set changed");
        assert!(pass >= floor, "{name}: {pass}/{total}, below {floor}");
    }
}
