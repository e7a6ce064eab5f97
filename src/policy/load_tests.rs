//! Reading a policy whole or streamed (`load::Reading`) must make no difference to what loads,
//! to its fingerprint, or to where a problem is reported.

use std::path::{Path, PathBuf};

use crate::policy::load::{Reading, load_reading, no_env};
use crate::policy::{CompileErrors, Input, compile};

struct Dir(PathBuf);

impl Dir {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "pc-load-{}",
            hex::encode(rand::random::<[u8; 6]>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        Self(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn both(path: &Path) -> [Result<Input, CompileErrors>; 2] {
    [Reading::Whole, Reading::Streamed].map(|r| load_reading(path, &no_env, r))
}

fn shown(e: &CompileErrors) -> Vec<String> {
    e.0.iter().map(|p| p.to_string()).collect()
}

const KEY: &str = r#""k": {"sha256": "abababababababababababababababababababababababababababababababab",
    "permissions": {"m": ["a"]}}"#;

#[test]
fn both_readings_load_the_same_policy_with_the_same_fingerprint() {
    let dir = Dir::new(&[
        (
            "10-main.json",
            &format!(r#"{{"upstreams": {{"app": {{"url": "builtin:echo"}}}}, "keys": {{{KEY}}}}}"#),
        ),
        ("20-more.json", r#"{"roles": {"r": {"m": ["b"]}}}"#),
    ]);
    let [whole, streamed] = both(&dir.0);
    let (whole, streamed) = (whole.unwrap(), streamed.unwrap());
    assert_eq!(whole.fingerprint(), streamed.fingerprint());
    assert_eq!(whole.files.len(), 2);
    let whole_sha = whole.fingerprint();
    for input in [whole, streamed] {
        assert!(
            input.files.iter().all(|f| !f.kept()),
            "texts are released once parsed"
        );
        let s = compile(input).unwrap();
        assert_eq!(s.keys.len(), 1);
    }
    std::fs::write(
        dir.0.join("20-more.json"),
        r#"{"roles": {"r": {"m": ["c"]}}}"#,
    )
    .unwrap();
    let [again, _] = both(&dir.0);
    assert_ne!(again.unwrap().fingerprint(), whole_sha);
}

#[test]
fn a_file_that_does_not_parse_is_reported_the_same_either_way() {
    for text in [
        "{\"keys\": {\"k\": {\"sha256\": 1}}}",
        "{\"keys\": {}} trailing",
        "{\"mode\": \"open\"}",
        "{\"keys\": {\"k\": {\"sha256\": \"\u{e9}\", \"oops\": true}}}",
        "",
        // Parses, but an import is missing: located in the text read again (once 0:0 streamed).
        "{\"keys\": {},\n \"imports\": [{\"format\": \"linea21\", \"path\": \"gone.json\"}]}",
    ] {
        let dir = Dir::new(&[("policy.json", text)]);
        let [whole, streamed] = both(&dir.0.join("policy.json"));
        let (whole, streamed) = (whole.unwrap_err(), streamed.unwrap_err());
        assert_eq!(shown(&whole), shown(&streamed), "{text:?}");
        assert!(whole.0.iter().all(|p| p.line > 0), "{:?}", shown(&whole));
    }
    // Bytes that are not UTF-8, inside a string and outside one.
    for bytes in [&b"{\"mode\": \"\xff\"}"[..], &b"{\xff}"[..]] {
        let dir = Dir::new(&[]);
        let path = dir.0.join("policy.json");
        std::fs::write(&path, bytes).unwrap();
        let [whole, streamed] = both(&path);
        let (whole, streamed) = (whole.unwrap_err(), streamed.unwrap_err());
        assert_eq!(shown(&whole), shown(&streamed));
    }
}

#[test]
fn a_compile_problem_is_located_in_the_text_read_again_unless_it_changed() {
    let text = format!("{{\"keys\": {{\n  {KEY},\n  \"k2\": {{\"sha256\": \"zz\"}}}}}}");
    let dir = Dir::new(&[("policy.json", &text)]);
    let path = dir.0.join("policy.json");
    for reading in [Reading::Whole, Reading::Streamed] {
        let input = load_reading(&path, &no_env, reading).unwrap();
        let problems = compile(input).unwrap_err();
        let p = &problems.0[0];
        assert_eq!((p.path.to_string(), p.line), ("$.keys.k2.sha256".into(), 4));
    }
    let input = load_reading(&path, &no_env, Reading::Streamed).unwrap();
    std::fs::write(&path, format!("\n\n{text}")).unwrap();
    let problems = compile(input).unwrap_err();
    assert_eq!(
        (problems.0[0].path.to_string(), problems.0[0].line),
        ("$.keys.k2.sha256".into(), 0),
        "a changed file is not used to locate a problem of the text that was loaded"
    );
}

#[test]
fn a_policy_from_a_pipe_is_read_once_and_its_problem_located() {
    // `portcullis check <(generate-policy)`: the path is a pipe, which gives its text once.
    let text = "{\"keys\": {}} trailing";
    let regular = Dir::new(&[("policy.json", text)]);
    let expected = load_reading(&regular.0.join("policy.json"), &no_env, Reading::Whole);
    let dir = Dir::new(&[]);
    let fifo = dir.0.join("policy.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success(), "mkfifo");
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(&fifo, text))
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(load_reading(&fifo, &no_env, Reading::Streamed));
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("read once: opening the pipe again would wait for a writer forever");
    writer.join().unwrap().unwrap();
    let at = |e: CompileErrors| {
        e.0.into_iter()
            .map(|p| (p.line, p.column, p.message))
            .collect::<Vec<_>>()
    };
    let (got, expected) = (at(got.unwrap_err()), at(expected.unwrap_err()));
    assert_eq!(got, expected);
    assert!(got[0].0 > 0, "{got:?}");
}
