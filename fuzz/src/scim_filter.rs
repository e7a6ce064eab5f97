//! SCIM filters (Trivore listing): bytes (UTF-8) → `scim::parse`, then `Filter::matches` on two
//! sample authorisation records.
//!
//! What must hold: no panic, whatever the input (deep nesting, long words, broken escapes, huge
//! numbers); an error's offset lies within the input, counted in characters, and its `Display`
//! is `at character N: ...`; an accepted filter's canonical form (`Display`) parses back to an
//! equal `Filter`, prints the same again, names the same attributes, and matches the same
//! records.

use portcullis::scim::{self, AUTHORISATION_ALIASES};
use serde_json::{Value, json};

/// Two authorisation records as the gateway would judge them: one with every attribute the
/// client filters on, one with absent, null and differently typed ones.
fn records() -> [Value; 2] {
    [
        json!({"id": "a1", "nsCode": "root", "type": "employment", "source": "hr",
            "subject": {"type": "User", "value": "58cfb7353874e103fc81ec5f"},
            "validFrom": "2022-05-23T13:03:21.711Z", "validTo": "2023-05-23T13:03:21+02:00",
            "revoked": false, "count": 5, "tags": ["blue", "green"],
            "meta": {"created": "2019-10-25T12:00:31Z"}}),
        json!({"id": "b2", "nsCode": "other", "type": "guardian", "subject": {"type": "String"},
            "validFrom": "2021-01-01 00:00:00", "validTo": null, "revoked": true,
            "count": "12", "tags": [], "meta": {}}),
    ]
}

/// Check one input.
pub fn run(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let filter = match scim::parse(input) {
        Ok(filter) => filter,
        Err(e) => {
            assert!(
                e.offset() <= input.chars().count(),
                "error offset {} past the end of {input:?}",
                e.offset()
            );
            assert_eq!(
                e.to_string(),
                format!("at character {}: {}", e.offset(), e.message())
            );
            return;
        }
    };
    let printed = filter.to_string();
    let again = match scim::parse(&printed) {
        Ok(again) => again,
        Err(e) => panic!("canonical form {printed:?} of {input:?} does not parse: {e}"),
    };
    assert_eq!(filter, again, "{input:?} printed as {printed:?}");
    assert_eq!(
        again.to_string(),
        printed,
        "printing is not stable for {input:?}"
    );
    assert_eq!(filter.attributes(), again.attributes());
    for record in &records() {
        for aliases in [AUTHORISATION_ALIASES, &[]] {
            assert_eq!(
                filter.matches(record, aliases),
                again.matches(record, aliases),
                "{input:?} and {printed:?} disagree"
            );
        }
    }
}
