//! Evaluation of a parsed filter against one record, and the instant parser it compares
//! date-times with. The semantics are documented on the module (`mod.rs`, "Evaluation").

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::lex::json_number;
use super::{CompareOp, Expr, Literal};

/// Whether the record behind `resolve` satisfies `expr`.
pub(super) fn eval<'v>(expr: &Expr, resolve: &dyn Fn(&str) -> Option<&'v Value>) -> bool {
    match expr {
        Expr::And(operands) => operands.iter().all(|e| eval(e, resolve)),
        Expr::Or(operands) => operands.iter().any(|e| eval(e, resolve)),
        Expr::Not(inner) => !eval(inner, resolve),
        Expr::Present(attr) => resolve(attr).is_some_and(is_present),
        Expr::Compare { attr, op, value } => compare(resolve(attr), *op, value),
    }
}

/// `pr`: not null, and not an empty string, array or object.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare(found: Option<&Value>, op: CompareOp, literal: &Literal) -> bool {
    let Some(value) = found.filter(|v| !v.is_null()) else {
        // Absent (or null): only `ne` holds, and `eq null` (absent is null).
        return match op {
            CompareOp::Eq => *literal == Literal::Null,
            CompareOp::Ne => *literal != Literal::Null,
            _ => false,
        };
    };
    match op {
        CompareOp::Eq => equals(value, literal),
        CompareOp::Ne => !equals(value, literal),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => any(value, |v| text(v, op, literal)),
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => any(value, |v| {
            order(v, literal).is_some_and(|o| match op {
                CompareOp::Gt => o == Ordering::Greater,
                CompareOp::Ge => o != Ordering::Less,
                CompareOp::Lt => o == Ordering::Less,
                _ => o != Ordering::Greater,
            })
        }),
    }
}

/// `test` on `value`, or on any element of it if it is an array (one level).
fn any(value: &Value, test: impl Fn(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(test),
        v => test(v),
    }
}

/// `eq` on a present, non-null value.
fn equals(value: &Value, literal: &Literal) -> bool {
    any(value, |v| match (v, literal) {
        (Value::String(a), Literal::String(b)) => match (parse_instant(a), parse_instant(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        (Value::Bool(a), Literal::Bool(b)) => a == b,
        (Value::Bool(a), Literal::String(b)) => bool_text(b) == Some(*a),
        _ => numbers(v, literal)
            .is_some_and(|(x, y)| compare_numbers(&x, &y) == Some(Ordering::Equal)),
    })
}

/// `co`, `sw`, `ew`: strings only, case-sensitive.
fn text(value: &Value, op: CompareOp, literal: &Literal) -> bool {
    let (Value::String(a), Literal::String(b)) = (value, literal) else {
        return false;
    };
    match op {
        CompareOp::Co => a.contains(b.as_str()),
        CompareOp::Sw => a.starts_with(b.as_str()),
        _ => a.ends_with(b.as_str()),
    }
}

/// How `value` orders against `literal`: instants, then numbers, then strings; else none.
fn order(value: &Value, literal: &Literal) -> Option<Ordering> {
    if let (Value::String(a), Literal::String(b)) = (value, literal) {
        return Some(match (parse_instant(a), parse_instant(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.as_str().cmp(b.as_str()),
        });
    }
    let (x, y) = numbers(value, literal)?;
    compare_numbers(&x, &y)
}

/// Both sides as numbers, when at least one is a JSON number and the other is a number or a
/// string holding a JSON number.
fn numbers(value: &Value, literal: &Literal) -> Option<(Number, Number)> {
    let from_text = json_number;
    match (value, literal) {
        (Value::Number(a), Literal::Number(b)) => Some((a.clone(), b.clone())),
        (Value::Number(a), Literal::String(b)) => Some((a.clone(), from_text(b)?)),
        (Value::String(a), Literal::Number(b)) => Some((from_text(a)?, b.clone())),
        _ => None,
    }
}

/// Integers exactly; anything else as `f64`.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// `"true"` / `"false"` in any case.
fn bool_text(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An instant: seconds since the Unix epoch and nanoseconds, ordered as time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Instant {
    pub(super) secs: i64,
    pub(super) nanos: u32,
}

/// An RFC 3339 / ISO 8601 date-time (see the module docs for what is accepted), or `None`.
pub(super) fn parse_instant(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let byte = |i: usize| b.get(i).copied();
    if byte(4) != Some(b'-') || byte(7) != Some(b'-') || byte(13) != Some(b':') {
        return None;
    }
    if !matches!(byte(10), Some(b'T' | b't' | b' ')) || byte(16) != Some(b':') {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if byte(i) == Some(b'.') || byte(i) == Some(b',') {
        i += 1;
        let start = i;
        while let Some(d) = byte(i).filter(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset = match byte(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = num(i + 1, 2)?;
            let (minutes, len) = match byte(i + 3) {
                Some(b':') => (num(i + 4, 2)?, 6),
                _ => (num(i + 3, 2)?, 5),
            };
            if i + len != b.len() || hours > 23 || minutes > 59 {
                return None;
            }
            let secs = hours * 3600 + minutes * 60;
            if sign == b'+' { secs } else { -secs }
        }
        Some(_) => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(Instant { secs, nanos })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
