//! Tests of `split_keys`: whatever the blocks, splitting gives what a parse of the whole text
//! gives.
use super::*;

const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// What a parse of the whole text gives, as text (a policy has no `PartialEq`).
fn whole(doc: &str) -> Option<String> {
    let policy: RawPolicy = serde_json::from_str(doc).ok()?;
    Some(format!("{policy:?}"))
}

/// What the splitter gives, in blocks of every size from 1 byte to the whole text.
fn split(doc: &str) -> Option<String> {
    let mut out: Option<Option<String>> = None;
    for block in [1, 2, 3, 7, 64, doc.len().max(1)] {
        let reader = std::io::BufReader::with_capacity(block, doc.as_bytes());
        let got = parse(reader, doc.len() as u64).map(|p| format!("{p:?}"));
        if let Some(before) = &out {
            assert_eq!(&got, before, "blocks of {block} bytes: {doc}");
        }
        out = Some(got);
    }
    out.flatten()
}

fn key(extra: &str) -> String {
    format!(r#"{{"sha256": "{DIGEST}"{extra}}}"#)
}

#[test]
fn documents_that_parse_give_what_the_whole_text_gives() {
    let k = key("");
    let docs = [
        r#"{}"#.to_owned(),
        r#"{"keys": {}}"#.to_owned(),
        format!(r#"{{"keys": {{"a": {k}}}}}"#),
        format!(" {{ \"keys\" :\n{{ \"a\" :\t{k} , \"b\":{k}\n}} , \"upstreams\": {{}} }} "),
        // Ids and values whose strings hold the characters the splitter acts on.
        format!(
            r#"{{"keys": {{"a\"}},{{b": {}, "c\\": {}}}}}"#,
            key(r#", "description": "}, ] { [ \" , :""#),
            key(r#", "permissions": {"m": ["x", "y"]}, "scope": {"r": ["1"]}"#)
        ),
        // `keys` spelled with an escape is parsed with the rest, as it stands.
        format!(r#"{{"k\u0065ys": {{"a": {k}}}}}"#),
        // "keys" as a value, and as a name deeper down, is not the keys.
        format!(r#"{{"roles": {{"keys": {{"m": ["keys"]}}}}, "keys": {{"a": {k}}}}}"#),
        format!(
            r#"{{"keys": {{"a": {}}}}}"#,
            key(r#", "status": ["P", "D"], "disabled": true"#)
        ),
    ];
    for doc in &docs {
        let want = whole(doc);
        assert!(want.is_some(), "the sample must parse: {doc}");
        assert_eq!(split(doc), want, "{doc}");
    }
}

#[test]
fn documents_that_do_not_parse_give_none() {
    let k = key("");
    let docs = [
        String::new(),
        r#"{"keys": {"#.to_owned(),
        format!(r#"{{"keys": {{"a": {k},}}}}"#),
        format!(r#"{{"keys": {{"a": {k} "b": {k}}}}}"#),
        format!(r#"{{"keys": {{"a": {k}}}"#),
        format!(r#"{{"keys": {{"a": {k}}}, "keys": {{}}}}"#),
        format!(r#"{{"keys": {{"a": {k}}}, "k\u0065ys": {{}}}}"#),
        format!(r#"{{"keys": {{"a": {}}}}}"#, key(r#", "unknown": 1"#)),
        format!(r#"{{"keys": {{"a" {k}}}}}"#),
        r#"{"keys": {"a": }}"#.to_owned(),
        format!(r#"{{"keys": {{"a": {k}]}}}}"#),
        format!(r#"{{"keys": {{a: {k}}}}}"#),
        r#"{"keys": null}"#.to_owned(),
        r#"{"keys": []}"#.to_owned(),
        format!(r#"{{"keys": {{"a": {k}}}}} trailing"#),
        format!(r#"{{"keys": {{"a\u12": {k}}}}}"#),
        format!(r#"{{"nope": 1, "keys": {{"a": {k}}}}}"#),
    ];
    for doc in &docs {
        assert_eq!(whole(doc), None, "the sample must not parse: {doc}");
        assert_eq!(split(doc), None, "{doc}");
    }
}

proptest::proptest! {
    #[test]
    fn generated_policies_give_what_the_whole_text_gives(
        keys in proptest::collection::vec(("[a-z\"\\{}\\[\\],:é😀 ]{1,6}", "[a-z\"\\{}\\[\\],: ]{0,6}", proptest::bool::ANY), 0..6),
        pretty in proptest::bool::ANY,
    ) {
        let keys: serde_json::Map<String, serde_json::Value> = keys
            .into_iter()
            .map(|(id, note, off)| (id, serde_json::json!({
                "sha256": DIGEST, "description": note, "disabled": off,
                "permissions": {note.clone(): [note]},
            })))
            .collect();
        let doc = serde_json::json!({"mode": "limited-access", "keys": keys, "roles": {}});
        let doc = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) }.unwrap();
        proptest::prop_assert_eq!(split(&doc), whole(&doc));
    }

    #[test]
    fn arbitrary_text_gives_what_the_whole_text_gives(
        head in r#"[\[\]{}":,\\ a-z0-9]{0,12}"#,
        body in r#"[\[\]{}":,\\ a-z0-9]{0,24}"#,
    ) {
        let doc = format!(r#"{{"keys": {{"a": {{"sha256": "{DIGEST}"}}{head}{body}"#);
        proptest::prop_assert_eq!(split(&doc), whole(&doc));
        let doc = format!(r#"{{{head}"keys"{body}"#);
        proptest::prop_assert_eq!(split(&doc), whole(&doc));
    }
}

/// Rests after a key's digest, alike or not, plain or not: some parse, some do not.
const RESTS: [&str; 9] = [
    "}",
    r#", "permissions": {"m": ["a"]}}"#,
    r#" ,"permissions": {"m": ["a"]} }"#,
    r#", "permissions": {"m": ["a"]}, "disabled": true}"#,
    r#", "roles": ["r"], "read_only": true, "scope": {"s": ["1"]}}"#,
    r#", "expires_at": "2030-01-01T00:00:00Z"}"#,
    r#", "description": "\u00e9\"}"}"#,
    r#", "sha256": "00"}"#,
    r#", "nope": 1}"#,
];

proptest::proptest! {
    #[test]
    fn keys_alike_but_for_their_digest_give_what_the_whole_text_gives(
        keys in proptest::collection::vec((0..RESTS.len(), 0..4u8, "[a-z\\\\\"é]{1,3}"), 0..12),
    ) {
        let entries: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(n, (rest, digest, id))| {
                let digest = match digest {
                    0 => format!("{n:064x}"),
                    1 => format!("{n:064X}"),
                    2 => format!("{n:063x}"),
                    _ => format!("{n:063x}g"),
                };
                let id = serde_json::to_string(&format!("{id}{n}")).unwrap();
                format!(r#"{id}: {{"sha256": "{digest}"{}"#, RESTS[*rest])
            })
            .collect();
        let doc = format!(r#"{{"roles": {{"r": {{}}}}, "keys": {{{}}}}}"#, entries.join(", "));
        proptest::prop_assert_eq!(split(&doc), whole(&doc));
    }
}
