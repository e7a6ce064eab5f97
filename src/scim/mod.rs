//! SCIM filters (RFC 7644 §3.4.2.2) for onePortal-compatible authorisation listings.
//!
//! [`parse()`] reads the `filter` query parameter into a [`Filter`]; [`Filter::matches`] (or
//! [`Filter::matches_with`], with a resolver of its own) judges one JSON record;
//! [`Filter::attributes`] and [`Filter::unknown_attribute`] let the caller refuse filters that
//! name attributes outside an allow-list. A [`Filter`] prints (`Display`) in a canonical form
//! that parses back to an equal [`Filter`].
//!
//! # Grammar
//!
//! ```text
//! filter  = or
//! or      = and *( "or" and )
//! and     = factor *( "and" factor )
//! factor  = "(" or ")" / "not" "(" or ")" / path "pr" / path op value
//! op      = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "ge" / "lt" / "le"
//! value   = JSON string / JSON number / "true" / "false" / "null"
//! path    = name *( "." name ) ; name = (ALPHA / "_" / "$") *(ALPHA / DIGIT / "_" / "-" / "$")
//! ```
//!
//! Operators, `and`, `or`, `not`, `true`, `false` and `null` are case-insensitive; attribute
//! names are case-sensitive. `not` binds tighter than `and`, `and` tighter than `or`. Any
//! amount of whitespace (space, tab, CR, LF) may stand between tokens, before and after: the
//! Python client sends `(nsCode eq "root")  and  (subject.value pr )`. Strings take JSON's
//! escapes (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX` with surrogate pairs); a
//! raw control character in a string is refused. Parentheses and `not` nest at most
//! [`MAX_DEPTH`] deep. Not supported (refused with a message): value paths
//! (`emails[type eq "work"]`), URN-qualified attribute names, and attributes named like a
//! keyword or operator (`and`, `or`, `not`, `eq`, `pr`, ...).
//!
//! Errors ([`FilterError`]) carry the 0-based offset, in characters (Unicode scalar values),
//! of the token that is wrong or of the end of input where something is missing, and print as
//! `at character 14: unknown operator `eqq``. Parsing never panics.
//!
//! # Evaluation
//!
//! An attribute resolves to a JSON value through the resolver (by default a dotted path through
//! objects, after [`AUTHORISATION_ALIASES`]-style renames). A JSON `null` counts as absent.
//!
//! - **Absent attribute**: every operator is false except `ne`, which is true, and `eq null`,
//!   which is true (`ne null` is false).
//! - **`pr`**: present, not null, and not an empty string, array or object.
//! - **`eq` / `ne`**: strings compare *case-sensitively* (SCIM leaves `caseExact` to the
//!   schema; onePortal's ids, codes and types are exact values, and a case-insensitive match
//!   would widen what a filter selects). Two strings that are both instants (below) compare as
//!   instants, so `2022-05-23T13:03:21.711Z` equals `2022-05-23T13:03:21.711000Z` and
//!   `2022-05-23T15:03:21.711+02:00`. Numbers compare numerically (`1` equals `1.0`). Booleans
//!   equal booleans, and also the strings `"true"`/`"false"` in any case (the Python client
//!   sends `revoked eq "True"`). A number equals a string holding that JSON number (the client
//!   quotes floats). `ne` is exactly `not eq`. Other type pairs are unequal.
//! - **`co` / `sw` / `ew`**: string containment, prefix, suffix; case-sensitive; strings only.
//! - **`gt` / `ge` / `lt` / `le`**: if both sides are instants, as instants; else if both are
//!   numbers (or one a number and the other a string holding a JSON number), numerically; else
//!   if both are strings, lexicographically by code point; anything else (booleans, null) is
//!   false.
//! - **Arrays**: a multi-valued attribute matches if any element does (`ne`: if none equals).
//!   A path does not descend through arrays.
//!
//! An *instant* is an RFC 3339 / ISO 8601 date-time: `YYYY-MM-DD`, `T` (or `t` or a space),
//! `hh:mm:ss`, an optional fraction of any length (nanosecond precision, digits past the ninth
//! ignored), and `Z`, `±hh:mm`, `±hhmm` or nothing. Without an offset it is read as UTC
//! (onePortal's times are UTC, and Python's `str(datetime)` prints none). A bare date is not an
//! instant (it compares as a string).
//!
//! # Example
//!
//! ```
//! use portcullis::scim::{self, AUTHORISATION_ALIASES};
//!
//! // What the trivoreid Python client sends for `and_filters(eq, pr)`:
//! let filter = scim::parse(r#"(nsCode eq "root")  and  (subject.value pr )"#)?;
//! assert_eq!(filter.to_string(), r#"nsCode eq "root" and subject.value pr"#);
//! assert_eq!(filter.unknown_attribute(&["nsCode", "authType", "subject.value"]), None);
//!
//! let record = serde_json::json!({"nsCode": "root", "type": "employment", "subject": {"value": "58cf"}});
//! assert!(filter.matches(&record, AUTHORISATION_ALIASES));
//! assert!(scim::parse(r#"authType eq "employment""#)?.matches(&record, AUTHORISATION_ALIASES));
//!
//! let err = scim::parse(r#"subject.value eqq "x""#).unwrap_err();
//! assert_eq!(err.to_string(), "at character 14: unknown operator `eqq`");
//! # Ok::<(), scim::FilterError>(())
//! ```

mod eval;
mod lex;
mod parse;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;

pub use parse::parse;

/// The deepest nesting of parentheses and `not` that [`parse()`] accepts.
pub const MAX_DEPTH: usize = 64;

/// The renames onePortal's authorisation filters need: the filter names the attribute on the
/// left, the record holds it at the dotted path on the right. For [`Filter::matches`].
pub const AUTHORISATION_ALIASES: &[(&str, &str)] =
    &[("authType", "type"), ("authSource", "source")];

/// A parsed filter. Built only by [`parse()`] (or `str::parse`), so it is always well-formed:
/// its `Display` form parses back to an equal `Filter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    expr: Expr,
}

/// One node of a filter. `And` and `Or` hold at least two operands, in the order written;
/// parentheses leave no node of their own.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All operands hold.
    And(Vec<Expr>),
    /// At least one operand holds.
    Or(Vec<Expr>),
    /// `not (...)`.
    Not(Box<Expr>),
    /// `attr pr`.
    Present(String),
    /// `attr op value`.
    Compare {
        /// The attribute path as written (case-sensitive).
        attr: String,
        /// The operator.
        op: CompareOp,
        /// The value on the right.
        value: Literal,
    },
}

/// A comparison operator (every attribute operator but `pr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co`
    Co,
    /// `sw`
    Sw,
    /// `ew`
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

/// The value on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string, escapes decoded.
    String(String),
    /// A JSON number.
    Number(serde_json::Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// Why a filter did not parse: where (0-based, in characters) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    offset: usize,
    message: String,
}

impl FilterError {
    /// 0-based offset, in characters, of the offending token (or of the end of the input).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for FilterError {}

impl std::str::FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

impl Filter {
    /// The root of the filter.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Every attribute path the filter names, once each, in the order they first appear.
    pub fn attributes(&self) -> Vec<&str> {
        let mut out = Vec::new();
        collect_attributes(&self.expr, &mut HashSet::new(), &mut out);
        out
    }

    /// The first attribute the filter names that is not in `allowed` (compared exactly), if
    /// any: a caller refuses the filter (400) when this is `Some`.
    pub fn unknown_attribute(&self, allowed: &[&str]) -> Option<&str> {
        self.attributes().into_iter().find(|a| !allowed.contains(a))
    }

    /// Whether `record` matches. An attribute named on the left of an `aliases` pair resolves
    /// to the dotted path on its right (e.g. [`AUTHORISATION_ALIASES`]); every other attribute
    /// resolves as its own dotted path ([`resolve_path`]).
    pub fn matches(&self, record: &serde_json::Value, aliases: &[(&str, &str)]) -> bool {
        let resolve = |name: &str| {
            let path = aliases
                .iter()
                .find(|(alias, _)| *alias == name)
                .map_or(name, |(_, path)| *path);
            resolve_path(record, path)
        };
        self.matches_with(&resolve)
    }

    /// Whether the record behind `resolve` matches: `resolve` maps an attribute path as written
    /// in the filter to its value, `None` when absent.
    pub fn matches_with<'v>(
        &self,
        resolve: &dyn Fn(&str) -> Option<&'v serde_json::Value>,
    ) -> bool {
        eval::eval(&self.expr, resolve)
    }
}

/// The value at dotted `path` in `record`, through objects only (case-sensitive keys).
pub fn resolve_path<'v>(
    record: &'v serde_json::Value,
    path: &str,
) -> Option<&'v serde_json::Value> {
    path.split('.')
        .try_fold(record, |value, key| value.get(key))
}

fn collect_attributes<'a>(expr: &'a Expr, seen: &mut HashSet<&'a str>, out: &mut Vec<&'a str>) {
    match expr {
        Expr::And(operands) | Expr::Or(operands) => {
            for e in operands {
                collect_attributes(e, seen, out);
            }
        }
        Expr::Not(inner) => collect_attributes(inner, seen, out),
        Expr::Present(attr) | Expr::Compare { attr, .. } => {
            if seen.insert(attr) {
                out.push(attr);
            }
        }
    }
}

impl CompareOp {
    /// The operator as the canonical form writes it (lowercase).
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write_json_string(f, s),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

/// `s` as a JSON string literal: `"` and `\` escaped, control characters as escapes.
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if u32::from(c) < 0x20 || c == '\u{7f}' => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// Canonical form: single spaces, lowercase keywords and operators, `not (...)`, and
/// parentheses exactly where an `and`/`or` operand is itself an `and`/`or` that would otherwise
/// merge (`and` inside `and`, any `or` inside `and` or `or`).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(operands) => write_joined(f, operands, " and ", |e| {
                matches!(e, Expr::And(_) | Expr::Or(_))
            }),
            Expr::Or(operands) => write_joined(f, operands, " or ", |e| matches!(e, Expr::Or(_))),
            Expr::Not(inner) => write!(f, "not ({inner})"),
            Expr::Present(attr) => write!(f, "{attr} pr"),
            Expr::Compare { attr, op, value } => write!(f, "{attr} {op} {value}"),
        }
    }
}

fn write_joined(
    f: &mut fmt::Formatter<'_>,
    operands: &[Expr],
    sep: &str,
    wrap: fn(&Expr) -> bool,
) -> fmt::Result {
    for (i, e) in operands.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if wrap(e) {
            write!(f, "({e})")?;
        } else {
            write!(f, "{e}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}
