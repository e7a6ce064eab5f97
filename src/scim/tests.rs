//! Table tests for the SCIM filter evaluator, on the Python client's exact strings (the syntax
//! and error tables are in `parse_tests.rs`).
//!
//! What the `trivoreid-extension` 1.0.9 PyPI client (`trivoreid/utils/criteria.py`, class
//! `Filter`, method `generate`) sends, exactly:
//!
//! - comparison: `attr + " eq " + '"' + str(value) + '"'`, e.g. `nsCode eq "root"`; the same
//!   for ` ne `, ` co `, ` sw `, ` ew `, ` gt `, ` ge `, ` lt `, ` le `. Only an `int` goes
//!   unquoted (`count gt 5`); everything else is `str()`-ed and quoted: `price gt "1.5"`,
//!   `revoked eq "True"`, `revokedAt eq "None"`, a `datetime` as
//!   `validTo lt "2022-05-23 13:03:21.711000"` (space, no offset; `+00:00` when aware), a
//!   `date` as `meta.created ge "2019-10-25"`. Quotes inside are NOT escaped
//!   (`author eq "say "hi""`, which we refuse).
//! - present: `attr + " pr "`, with a trailing space: `subject.value pr `.
//! - `and_filters(a, b)`: `"({a})  and  ({b})"` (two spaces each side), e.g.
//!   `(nsCode eq "root")  and  (subject.value pr )`; `or_filters`: `({a})  or  ({b})`; nested:
//!   `((nsCode eq "root")  and  (subject.value pr ))  or  (validTo lt "2019-10-25T12:00:31Z")`.
//! - There is no `not` in the client. `Filter(None, None, f)` generates `f` unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::eval::{Instant, parse_instant};
use super::{AUTHORISATION_ALIASES, Filter, parse};

/// The client's exact strings and their canonical (`Display`) form.
const CLIENT: &[(&str, &str)] = &[
    (r#"nsCode eq "root""#, r#"nsCode eq "root""#),
    (
        r#"subject.value eq "58cfb7353874e103fc81ec5f""#,
        r#"subject.value eq "58cfb7353874e103fc81ec5f""#,
    ),
    (r#"authType ne "employment""#, r#"authType ne "employment""#),
    (r#"author co "Tool""#, r#"author co "Tool""#),
    (r#"nsCode sw "ro""#, r#"nsCode sw "ro""#),
    (r#"nsCode ew "ot""#, r#"nsCode ew "ot""#),
    ("subject.value pr ", "subject.value pr"),
    ("count gt 5", "count gt 5"),
    (r#"price gt "1.5""#, r#"price gt "1.5""#),
    (r#"revoked eq "True""#, r#"revoked eq "True""#),
    (r#"revokedAt eq "None""#, r#"revokedAt eq "None""#),
    (
        r#"validFrom gt "2022-05-23T13:03:21.711Z""#,
        r#"validFrom gt "2022-05-23T13:03:21.711Z""#,
    ),
    (
        r#"validTo lt "2022-05-23 13:03:21.711000""#,
        r#"validTo lt "2022-05-23 13:03:21.711000""#,
    ),
    (
        r#"validTo lt "2022-05-23 13:03:21.711000+00:00""#,
        r#"validTo lt "2022-05-23 13:03:21.711000+00:00""#,
    ),
    (
        r#"meta.created ge "2019-10-25""#,
        r#"meta.created ge "2019-10-25""#,
    ),
    (
        r#"meta.created le "2019-10-25T12:00:31Z""#,
        r#"meta.created le "2019-10-25T12:00:31Z""#,
    ),
    (
        r#"(nsCode eq "root")  and  (subject.value pr )"#,
        r#"nsCode eq "root" and subject.value pr"#,
    ),
    (
        r#"(authType eq "employment")  or  (authType eq "guardian")"#,
        r#"authType eq "employment" or authType eq "guardian""#,
    ),
    (
        r#"((nsCode eq "root")  and  (subject.value pr ))  or  (validTo lt "2019-10-25T12:00:31Z")"#,
        r#"nsCode eq "root" and subject.value pr or validTo lt "2019-10-25T12:00:31Z""#,
    ),
    (
        r#"((nsCode eq "root")  and  (subject.value pr ))  and  (authType eq "employment")"#,
        r#"(nsCode eq "root" and subject.value pr) and authType eq "employment""#,
    ),
];

pub(super) fn record_a() -> Value {
    json!({"id": "a1", "nsCode": "root", "type": "employment", "source": "hr", "author": "Admin Tool",
        "subject": {"type": "User", "value": "58cfb7353874e103fc81ec5f"},
        "object": {"type": "Group", "value": "5f1e"},
        "validFrom": "2022-05-23T13:03:21.711Z", "validTo": "2023-05-23T13:03:21Z",
        "revoked": false, "count": 5, "price": 2.5, "tags": ["blue", "green"], "empty": "", "none": null,
        "meta": {"created": "2019-10-25T12:00:31Z", "lastModified": "2022-05-23T15:03:21.711+02:00"}})
}

pub(super) fn record_b() -> Value {
    json!({"id": "b2", "nsCode": "other", "type": "guardian", "author": "script",
        "subject": {"type": "String"}, "validFrom": "2021-01-01T00:00:00+01:00", "validTo": null,
        "revoked": true, "revokedAt": "2022-06-01T00:00:00Z", "count": 12, "price": "0.5", "tags": [],
        "meta": {"created": "2021-01-01T00:00:00.5+01:00"}})
}

/// (filter, matches record A, matches record B), with [`AUTHORISATION_ALIASES`].
const MATCHES: &[(&str, bool, bool)] = &[
    // The client's strings.
    (r#"nsCode eq "root""#, true, false),
    (
        r#"subject.value eq "58cfb7353874e103fc81ec5f""#,
        true,
        false,
    ),
    (r#"authType ne "employment""#, false, true),
    (r#"author co "Tool""#, true, false),
    (r#"nsCode sw "ro""#, true, false),
    (r#"nsCode ew "ot""#, true, false),
    ("subject.value pr ", true, false),
    ("count gt 5", false, true),
    (r#"price gt "1.5""#, true, false),
    (r#"revoked eq "True""#, false, true),
    (r#"revokedAt eq "None""#, false, false),
    (r#"validFrom gt "2022-05-23T13:03:21.711Z""#, false, false),
    (r#"validFrom lt "2022-05-23 13:03:21.711001""#, true, true),
    (
        r#"validFrom ge "2022-05-23 13:03:21.711000+00:00""#,
        true,
        false,
    ),
    (r#"meta.created ge "2019-10-25""#, true, true),
    (r#"meta.created le "2019-10-25T12:00:31Z""#, true, false),
    (
        r#"(nsCode eq "root")  and  (subject.value pr )"#,
        true,
        false,
    ),
    (
        r#"(authType eq "employment")  or  (authType eq "guardian")"#,
        true,
        true,
    ),
    (
        r#"((nsCode eq "other")  and  (subject.value pr ))  or  (validTo lt "2023-05-23T13:03:22Z")"#,
        true,
        false,
    ),
    // onePortal documentation examples.
    (r#"authType eq "employment""#, true, false),
    // Case: strings and attribute names are case-sensitive, keywords are not.
    (r#"nsCode eq "ROOT""#, false, false),
    (r#"NSCODE eq "root""#, false, false),
    (r#"NSCODE ne "root""#, true, true),
    (r#"nsCode EQ "root" AND NOT (revoked Eq TRUE)"#, true, false),
    // Aliases and direct paths.
    (r#"type eq "employment""#, true, false),
    ("authSource pr", true, false),
    ("authSource eq null", false, true),
    ("authSource ne null", true, false),
    ("subject.value eq null", false, true),
    (r#"subject.value ne "x""#, true, true),
    (
        r#"subject.type eq "User" and subject.value eq "58cfb7353874e103fc81ec5f""#,
        true,
        false,
    ),
    (r#"object.value sw "5f""#, true, false),
    // pr: null, empty string, empty array are not present.
    ("validTo pr", true, false),
    ("empty pr", false, false),
    ("none pr", false, false),
    ("tags pr", true, false),
    ("meta pr", true, true),
    // Strings.
    (r#"author co "tool""#, false, false),
    (r#"author sw "Admin""#, true, false),
    (r#"author ew "ipt""#, false, true),
    (r#"nsCode gt "p""#, true, false),
    (r#"id eq 5"#, false, false),
    (r#"id ne 5"#, true, true),
    ("nsCode eq null", false, false),
    // Numbers (a string holding a number counts when the other side is a number).
    ("count ge 5", true, true),
    ("count lt 10", true, false),
    ("count le 5.0", true, false),
    ("count eq 5.0", true, false),
    (r#"count eq "5""#, true, false),
    ("price lt 1", false, true),
    ("count gt -1e3", true, true),
    // Booleans: eq/ne only.
    ("revoked eq true", false, true),
    ("revoked eq false", true, false),
    ("revoked ne true", true, false),
    ("revoked gt false", false, false),
    (r#"revoked eq "yes""#, false, false),
    // Arrays: any element.
    (r#"tags eq "green""#, true, false),
    (r#"tags ne "green""#, false, true),
    (r#"tags sw "bl""#, true, false),
    // Instants compare as instants (offsets, fraction lengths).
    (
        r#"validFrom eq "2022-05-23T15:03:21.711+02:00""#,
        true,
        false,
    ),
    (
        r#"validFrom eq "2022-05-23T13:03:21.711000000Z""#,
        true,
        false,
    ),
    (r#"validFrom gt "2022-05-23T13:03:21.7109Z""#, true, false),
    (r#"validFrom lt "2022-05-23T13:03:21.7111Z""#, true, true),
    (
        r#"meta.lastModified lt "2022-05-23T14:00:00Z""#,
        true,
        false,
    ),
    (
        r#"meta.created eq "2020-12-31T23:00:00.500000Z""#,
        false,
        true,
    ),
    (r#"validFrom gt "2021-06-01T00:00:00Z""#, true, false),
    (r#"validFrom lt "2020-12-31T23:30:00Z""#, false, true),
    // Logic and precedence.
    (r#"not (nsCode eq "root")"#, false, true),
    (r#"not(not(nsCode eq "root"))"#, true, false),
    (r#"nsCode eq "root" or nsCode eq "other""#, true, true),
    (
        r#"nsCode eq "root" and authType eq "guardian" or revoked eq true"#,
        false,
        true,
    ),
    (
        r#"nsCode eq "root" and (authType eq "guardian" or revoked eq false)"#,
        true,
        false,
    ),
    (
        r#"revoked eq true or nsCode eq "root" and authType eq "guardian""#,
        false,
        true,
    ),
    ("not (subject.value pr) and revoked eq true", false, true),
    ("\t( nsCode  pr )and(count gt 6)\r\n", false, true),
];

#[test]
fn client_strings_parse_to_their_canonical_form() {
    for (input, canonical) in CLIENT {
        let filter = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(filter.to_string(), *canonical, "{input:?}");
        round_trip(input);
    }
}

#[test]
fn matches_records() {
    let (a, b) = (record_a(), record_b());
    for (input, in_a, in_b) in MATCHES {
        let filter = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(
            filter.matches(&a, AUTHORISATION_ALIASES),
            *in_a,
            "{input:?} on A"
        );
        assert_eq!(
            filter.matches(&b, AUTHORISATION_ALIASES),
            *in_b,
            "{input:?} on B"
        );
        round_trip(input);
    }
}

#[test]
fn instants() {
    let at = |s: &str| parse_instant(s).unwrap_or_else(|| panic!("{s:?}"));
    let cases = [
        (
            "2022-05-23T13:03:21.711Z",
            "2022-05-23T13:03:21.711000Z",
            Ordering::Equal,
        ),
        (
            "2022-05-23T13:03:21.711Z",
            "2022-05-23T15:03:21.711+02:00",
            Ordering::Equal,
        ),
        (
            "2022-05-23T13:03:21.711Z",
            "2022-05-23 13:03:21.711000",
            Ordering::Equal,
        ),
        (
            "2022-05-23T13:03:21.711Z",
            "2022-05-23t10:33:21.7110-0230",
            Ordering::Equal,
        ),
        (
            "2019-10-25T12:00:31Z",
            "2019-10-25T12:00:31.000000001Z",
            Ordering::Less,
        ),
        (
            "2019-10-25T12:00:31Z",
            "2019-10-25T12:00:31.0000000009999Z",
            Ordering::Equal,
        ),
        (
            "2019-10-25T12:00:31Z",
            "2019-10-25T14:00:30+0200",
            Ordering::Greater,
        ),
        (
            "2019-12-31T23:00:00-01:00",
            "2020-01-01T00:00:00Z",
            Ordering::Equal,
        ),
    ];
    for (a, b, ordering) in cases {
        assert_eq!(at(a).cmp(&at(b)), ordering, "{a} vs {b}");
    }
    let unix = [
        ("1970-01-01T00:00:00Z", 0, 0),
        ("1969-12-31T23:59:59Z", -1, 0),
        ("2000-03-01T00:00:00Z", 951_868_800, 0),
        ("2022-05-23T13:03:21.711Z", 1_653_311_001, 711_000_000),
        ("0001-01-01T00:00:00Z", -62_135_596_800, 0),
        (
            "9999-12-31T23:59:59.999999999Z",
            253_402_300_799,
            999_999_999,
        ),
        ("2020-02-29T00:00:00Z", 1_582_934_400, 0),
    ];
    for (s, secs, nanos) in unix {
        assert_eq!(at(s), Instant { secs, nanos }, "{s}");
    }
    for s in [
        "2019-10-25",
        "2019-02-29T00:00:00Z",
        "2019-13-01T00:00:00Z",
        "2019-10-25T24:00:00Z",
        "2019-10-25T12:60:00Z",
        "2019-10-25T12:00:31.Z",
        "2019-10-25T12:00:31Zjunk",
        "2019-10-25T12:00:31+2:00",
        "2019-10-25T12:00:31+24:00",
        "2019-10-25X12:00:31Z",
        "2019-1-25T12:00:31Z",
        "+019-10-25T12:00:31Z",
        "2019-10-25T12:00:31 Z",
        "",
        "é",
    ] {
        assert_eq!(parse_instant(s), None, "{s:?}");
    }
}

#[test]
fn attributes_list_and_allow_list() {
    let f = parse(
        r#"(nsCode eq "root")  and  (subject.value pr ) or not (nsCode ne "x" and authType pr)"#,
    )
    .unwrap();
    assert_eq!(f.attributes(), ["nsCode", "subject.value", "authType"]);
    assert_eq!(
        f.unknown_attribute(&["nsCode", "subject.value"]),
        Some("authType")
    );
    assert_eq!(
        f.unknown_attribute(&["authType", "nsCode", "subject.value"]),
        None
    );
}

#[test]
fn custom_resolver() {
    let f = parse(r#"owner eq "me" and level gt 2"#).unwrap();
    let (me, three) = (json!("me"), json!(3));
    let resolve = |name: &str| match name {
        "owner" => Some(&me),
        "level" => Some(&three),
        _ => None,
    };
    assert!(f.matches_with(&resolve));
    assert!(!f.matches_with(&|_: &str| None));
    assert_eq!(
        r#"owner eq "me""#.parse::<Filter>().unwrap().to_string(),
        r#"owner eq "me""#
    );
}

/// Parse, print, parse again: equal filters, and printing is a fixed point.
pub(super) fn round_trip(input: &str) {
    let first = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    let printed = first.to_string();
    let second = parse(&printed).unwrap_or_else(|e| panic!("{printed:?} (from {input:?}): {e}"));
    assert_eq!(first, second, "{input:?} printed as {printed:?}");
    assert_eq!(second.to_string(), printed);
}
