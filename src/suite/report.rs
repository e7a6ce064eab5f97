//! Reporting policy tests: one line per failure (file:line, case, expected versus actual), a
//! summary, what no case exercised, and a JUnit XML report for CI systems.

use std::fmt::Write as _;

use crate::suite::run::{Coverage, Outcome};

/// The human report.
pub fn text(outcomes: &[Outcome], coverage: &Coverage) -> String {
    let mut out = String::new();
    for o in outcomes {
        if let Some(f) = &o.failure {
            let _ = writeln!(out, "FAIL {}:{}: {}: {f}", o.file.display(), o.line, o.name);
        }
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let _ = writeln!(out, "{} passed, {} failed", outcomes.len() - failed, failed);
    let mut uncovered = |what: &str, list: &[String]| {
        if !list.is_empty() {
            let _ = writeln!(out, "not exercised: {what} {}", list.join(", "));
        }
    };
    uncovered("routes", &coverage.routes);
    uncovered("keys", &coverage.keys);
    uncovered("roles", &coverage.roles);
    out
}

/// A JUnit XML report: one test suite, one test case per case, a `<failure>` per failure.
pub fn junit(outcomes: &[Outcome]) -> String {
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"portcullis policy\" tests=\"{}\" failures=\"{failed}\">",
        outcomes.len()
    );
    for o in outcomes {
        let class = xml(&o.file.display().to_string());
        let name = xml(&o.name);
        match &o.failure {
            None => {
                let _ = writeln!(out, "  <testcase classname=\"{class}\" name=\"{name}\"/>");
            }
            Some(f) => {
                let _ = writeln!(
                    out,
                    "  <testcase classname=\"{class}\" name=\"{name}\">\n    <failure message=\"{}\">line {}: {}</failure>\n  </testcase>",
                    xml(f),
                    o.line,
                    xml(&o.actual)
                );
            }
        }
    }
    out.push_str("</testsuite>\n");
    out
}

/// Escape text for XML attributes and content.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
