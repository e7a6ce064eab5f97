//! Tests of `locate`.
use super::*;
use proptest::prelude::*;

fn p(segs: &[Seg]) -> JsonPath {
    JsonPath(segs.to_vec())
}

fn k(s: &str) -> Seg {
    Seg::Key(s.to_owned())
}

const DOC: &str = r#"{
  "version": 1,
  "routes": [
    {"path": "/a", "module": "x"},
    {
      "path": "/b",
      "module": "y",
      "tags": [1, 2.5e-3, [true, null], {"deep": false}]
    }
  ],
  "keys": {}
}"#;

#[test]
fn display_uses_dots_brackets_and_quotes() {
    let path = JsonPath::root().key("routes").index(3).key("module");
    assert_eq!(path.to_string(), "$.routes[3].module");
    assert_eq!(JsonPath::root().to_string(), "$");
    let odd = JsonPath::root().key("a b").key("").key("9x").key("q\"");
    assert_eq!(odd.to_string(), r#"$["a b"][""]["9x"]["q\""]"#);
}

#[test]
fn root_is_first_value() {
    assert_eq!(locate("  \n  [1]", &JsonPath::root()), Some((2, 3)));
}

#[test]
fn key_position_for_members() {
    assert_eq!(locate(DOC, &p(&[k("version")])), Some((2, 3)));
    assert_eq!(locate(DOC, &p(&[k("keys")])), Some((11, 3)));
}

#[test]
fn value_position_for_elements() {
    assert_eq!(locate(DOC, &p(&[k("routes"), Seg::Index(0)])), Some((4, 5)));
    assert_eq!(locate(DOC, &p(&[k("routes"), Seg::Index(1)])), Some((5, 5)));
}

#[test]
fn nested_objects_and_arrays() {
    let module = p(&[k("routes"), Seg::Index(1), k("module")]);
    assert_eq!(locate(DOC, &module), Some((7, 7)));
    let first = p(&[k("routes"), Seg::Index(0), k("module")]);
    assert_eq!(locate(DOC, &first), Some((4, 20)));
    let tags = [k("routes"), Seg::Index(1), k("tags")];
    let null = p(&[&tags[..], &[Seg::Index(2), Seg::Index(1)]].concat());
    assert_eq!(locate(DOC, &null), Some((8, 34)));
    let deep = p(&[&tags[..], &[Seg::Index(3), k("deep")]].concat());
    assert_eq!(locate(DOC, &deep), Some((8, 42)));
}

#[test]
fn missing_path_gives_deepest_ancestor() {
    let route = p(&[k("routes"), Seg::Index(1)]);
    assert_eq!(locate(DOC, &route.key("nope").key("more")), Some((5, 5)));
    assert_eq!(locate(DOC, &route.index(0)), Some((5, 5)));
    assert_eq!(locate(DOC, &p(&[k("routes"), Seg::Index(9)])), Some((3, 3)));
    assert_eq!(locate(DOC, &p(&[k("keys"), k("abc")])), Some((11, 3)));
    assert_eq!(locate(DOC, &p(&[k("version"), k("x")])), Some((2, 3)));
    assert_eq!(locate(DOC, &p(&[k("zzz")])), Some((1, 1)));
}

#[test]
fn keys_with_escapes_match_decoded() {
    let text = r#"{"a\"b": 1, "\u00e9\n": 2, "\ud83d\ude00": 3, "\/": 4}"#;
    assert_eq!(locate(text, &p(&[k("a\"b")])), Some((1, 2)));
    assert_eq!(locate(text, &p(&[k("é\n")])), Some((1, 13)));
    assert_eq!(locate(text, &p(&[k("😀")])), Some((1, 28)));
    assert_eq!(locate(text, &p(&[k("/")])), Some((1, 47)));
}

#[test]
fn columns_count_characters() {
    let text = "{\"ключ\": \"значение\", \"😀\": [\"é\", 7]}";
    assert_eq!(locate(text, &p(&[k("😀")])), Some((1, 22)));
    assert_eq!(locate(text, &p(&[k("😀"), Seg::Index(1)])), Some((1, 33)));
}

#[test]
fn invalid_json_before_target_is_none() {
    assert_eq!(locate("", &JsonPath::root()), None);
    assert_eq!(locate("   ", &JsonPath::root()), None);
    assert_eq!(locate("{\"a\": tru, \"b\": 1}", &p(&[k("b")])), None);
    assert_eq!(locate("{\"a\": [1, 2", &p(&[k("a"), Seg::Index(5)])), None);
    assert_eq!(locate("{\"a\": \"x\ny\", \"b\": 1}", &p(&[k("b")])), None);
    assert_eq!(locate("[01, 2]", &p(&[Seg::Index(1)])), None);
}

#[test]
fn invalid_json_after_target_is_fine() {
    assert_eq!(locate("{\"a\": 1, \"b\": ???", &p(&[k("a")])), Some((1, 2)));
}

#[test]
fn deep_nesting_does_not_overflow() {
    let deep = format!("[{}{}, 5]", "[".repeat(200_000), "]".repeat(200_000));
    assert_eq!(locate(&deep, &p(&[Seg::Index(1)])), Some((1, 400_004)));
}

/// Where `serde_position` puts the error of parsing `text` as a `T`.
fn serde_at<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) -> (usize, usize) {
    serde_position(text, &serde_json::from_str::<T>(text).unwrap_err())
}

#[test]
fn serde_positions_point_at_the_token_in_characters() {
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialized")]
    struct S {
        id: Option<String>,
        n: Option<u32>,
        mode: Option<Mode>,
    }
    #[derive(Debug, serde::Deserialize)]
    enum Mode {
        On,
    }
    type Map = std::collections::BTreeMap<String, serde_json::Value>;
    assert_eq!(serde_at::<Map>("{\n  \"a\": [1, 2],\n}\n"), (2, 14));
    assert_eq!(serde_at::<Vec<u8>>("[1,\n 2 ,\n\n ]"), (2, 4));
    assert_eq!(
        serde_at::<S>("{\"id\": \"\u{e9}t\u{e9}\", \"nn\": 1}"),
        (1, 15)
    );
    assert_eq!(serde_at::<S>("{\"id\": \"x\", \"n\\\"q\": 1}"), (1, 13));
    assert_eq!(serde_at::<S>("{\"id\": \"x\",\n \"id\": \"y\"}"), (2, 2));
    assert_eq!(serde_at::<S>("{\"mode\": \"\u{e9}Off\"}"), (1, 10));
    assert_eq!(serde_at::<S>("{\"n\": \"7\"}"), (1, 7));
    let bad_type = "{\"id\": \"\u{e9}\", \"n\": true}";
    let e = serde_json::from_str::<S>(bad_type).unwrap_err();
    assert_eq!(e.column(), 22, "serde_json counts bytes");
    assert_eq!(serde_position(bad_type, &e), (1, 21));
    assert_eq!(serde_at::<Map>("{\n  \"k\u{e9}\": 5 x }"), (2, 11));
    assert_eq!(
        serde_at::<Map>("{\n  \"a\" \"b\"}"),
        (2, 7),
        "a syntax error stays put"
    );
    assert_eq!(serde_at::<Map>(""), (1, 1));
    assert_eq!(serde_at::<Map>("{"), (1, 1));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in ".*", keys in proptest::collection::vec("[a-z]{0,2}", 0..4)) {
        let path = JsonPath(keys.into_iter().map(Seg::Key).collect());
        let _ = locate(&text, &path);
        let _ = locate(&text, &path.index(0));
    }

    #[test]
    fn never_panics_on_jsonish_text(text in r#"[\[\]{}":,\\ \nu0-9a-fe.+\-tnrl]{0,64}"#, idx in 0usize..3) {
        let _ = locate(&text, &JsonPath::root().index(idx).key("a"));
        let _ = locate(&text, &JsonPath::root().key("a").index(idx));
    }

    #[test]

    #[test]
    fn finds_every_key_of_generated_objects(keys in proptest::collection::btree_set("[a-zé😀 \"]{1,5}", 1..6)) {
        let map: serde_json::Map<String, serde_json::Value> =
            keys.iter().map(|k| (k.clone(), serde_json::json!([1, {"x": null}]))).collect();
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap();
        for key in &keys {
            let (line, col) = locate(&text, &JsonPath::root().key(key)).unwrap();
            let line_text = text.lines().nth(line - 1).unwrap();
            let rest: String = line_text.chars().skip(col - 1).collect();
            prop_assert!(rest.starts_with(&serde_json::to_string(key).unwrap()));
        }
    }
}
