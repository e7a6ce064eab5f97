//! Printing a diff: grouped by credential for people, JSON for tools, and a summary count.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::diff::access::Access;
use crate::diff::compare::{Change, Diff};

fn show(a: &Access) -> String {
    match a {
        Access::Allow { read_only, scoped } => {
            let mut s = "allow".to_owned();
            if *read_only {
                s.push_str(" (read-only)");
            }
            if *scoped {
                s.push_str(" (scoped)");
            }
            s
        }
        Access::Deny(code) => format!("deny {code}"),
        Access::ByGrants => "by the request's module/action and the grants".to_owned(),
    }
}

/// The human report.
pub fn text(d: &Diff) -> String {
    let mut out = String::new();
    let list = |out: &mut String, what: &str, items: &[String]| {
        if !items.is_empty() {
            let _ = writeln!(out, "{what}: {}", items.join(", "));
        }
    };
    if let Some((a, b)) = &d.mode {
        let _ = writeln!(out, "mode: {a} -> {b}");
    }
    list(&mut out, "credentials added", &d.credentials_added);
    list(&mut out, "credentials removed", &d.credentials_removed);
    list(&mut out, "routes added", &d.routes_added);
    list(&mut out, "routes removed", &d.routes_removed);
    for (id, what) in &d.routes_changed {
        let _ = writeln!(out, "route {id}: {}", what.join("; "));
    }
    let mut by: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in &d.access {
        by.entry(&c.credential).or_default().push(c);
    }
    let ids: std::collections::BTreeSet<&str> = by
        .keys()
        .copied()
        .chain(d.credentials_changed.keys().map(String::as_str))
        .collect();
    for id in ids {
        let _ = writeln!(out, "{id}:");
        if let Some(what) = d.credentials_changed.get(id) {
            for w in what {
                let _ = writeln!(out, "  {w}");
            }
        }
        for c in by.get(id).into_iter().flatten() {
            let mark = if c.widening { "+" } else { "-" };
            let _ = writeln!(
                out,
                "  {mark} {}: {} -> {}",
                c.route,
                show(&c.old),
                show(&c.new)
            );
        }
    }
    let wider = d.access.iter().filter(|c| c.widening).count();
    let _ = writeln!(
        out,
        "{} access change(s): {wider} widening, {} narrowing; {} credential(s) and {} route(s) changed, {} added, {} removed",
        d.access.len(),
        d.access.len() - wider,
        d.credentials_changed.len(),
        d.routes_changed.len(),
        d.credentials_added.len() + d.routes_added.len(),
        d.credentials_removed.len() + d.routes_removed.len(),
    );
    out
}

/// The JSON report.
pub fn json(d: &Diff) -> String {
    serde_json::to_string_pretty(d).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
