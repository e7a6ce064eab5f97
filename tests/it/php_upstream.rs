//! What the gateway decided is what PHP sees: the same checks as `php_params` and
//! `owned_headers`, against a real PHP application (`php -S`, `tests/fixtures/php/index.php`)
//! instead of the Rust recording upstream.
//!
//! PHP runs in two configurations (`support::php::Ini`): PHP's built-in defaults (no php.ini:
//! `$_REQUEST` in "EGPCS" order, cookies win) and the shipped php.ini values (`request_order=GP`)
//! plus the legacy `arg_separator.input = "&;"`. For every request the verdict is one of two:
//! refused by the gateway with 400 (and PHP served nothing), or forwarded with PHP's `$_GET` and
//! `$_REQUEST` holding exactly the module and action the gateway put in `X-Portcullis-Module` /
//! `-Action` (rawurldecoded, as the gateway percent-encodes what a header cannot carry). Attacks
//! use two values the key holds (`indicator`, `level`), so a gateway that read one and let PHP
//! read the other would show up as a forwarded mismatch, not hide behind a 403.

use std::fmt::Write as _;

use http::Method;
use serde_json::{Value, json};

use crate::support::Harness;
use crate::support::client::{self, Resp, full, request};
use crate::support::php::{self, Ini, PhpApp, View};
use crate::support::policy::{self, ADMIN, READER};

/// Holds modules whose names need encoding: `my module`, `a+b`, `café`, plus `indicator`/`level`.
const ODD: &str = "odd-s3cret-4f2a9e7d1c3b5a60";

/// Both PHP configurations.
const BOTH: [Ini; 2] = [Ini::Builtin, Ini::Shipped];

/// The standard policy forwarding to PHP, plus `/legacy/` (module from `mod_ule`, action from
/// `do`) and the `odd` key.
fn php_policy(php: &PhpApp) -> Value {
    let mut p = policy::standard(&php.url());
    p["routes"].as_array_mut().expect("routes").push(json!({
        "id": "legacy", "methods": ["GET", "POST"], "path": "/legacy/",
        "module": { "query": "mod_ule" }, "action": { "query": "do" }, "upstream": "app"
    }));
    p["keys"]["odd"] = policy::key(
        ODD,
        json!({
            "indicator": ["all"], "level": ["all"], "my module": ["all"],
            "a+b": ["all"], "caf\u{e9}": ["all"]
        }),
        json!({}),
    );
    p
}

/// PHP in configuration `ini`, and a gateway in front of it.
async fn start(ini: Ini) -> (PhpApp, Harness) {
    let php = PhpApp::start(ini).await;
    let gw = Harness::start(&php_policy(&php)).await;
    (php, gw)
}

/// Where a route takes its selectors from.
#[derive(Debug, Clone, Copy)]
enum Sel {
    /// From the query parameters with these names.
    Query(&'static str, &'static str),
    /// From path segments 3 and 4 (`/api/v1/{module}/{action}`).
    Path,
}

/// The selectors of the route `target` goes to: `/legacy/` reads `mod_ule` and `do`,
/// `/api/v1/{module}/{action}` the path, `/api/` `module` and `action`.
fn selectors(target: &str) -> Sel {
    if target.starts_with("/legacy/") {
        Sel::Query("mod_ule", "do")
    } else if target.starts_with("/api/v1/") {
        Sel::Path
    } else {
        Sel::Query("module", "action")
    }
}

/// One request.
#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    target: String,
    /// Raw header lines: bytes as sent, obs-text and invalid UTF-8 included.
    headers: Vec<Vec<u8>>,
    body: Option<Vec<u8>>,
}

impl Case {
    fn get(target: impl Into<String>) -> Self {
        Self {
            method: "GET",
            target: target.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn post(target: &str, ctype: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: "POST",
            headers: vec![format!("Content-Type: {ctype}").into_bytes()],
            body: Some(body.into()),
            ..Self::get(target)
        }
    }

    fn header(self, h: &str) -> Self {
        self.raw_header(h.as_bytes())
    }

    fn raw_header(mut self, h: &[u8]) -> Self {
        self.headers.push(h.to_vec());
        self
    }

    async fn send(&self, base: &str, key: &str) -> Resp {
        let mut headers = vec![format!("X-API-Key: {key}").into_bytes()];
        headers.extend(self.headers.iter().cloned());
        let url = format!("{base}{}", self.target);
        php::send(self.method, &url, &headers, self.body.as_deref()).await
    }
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target: String = self.target.chars().take(120).collect();
        let headers: Vec<_> = self
            .headers
            .iter()
            .map(|h| String::from_utf8_lossy(h))
            .collect();
        write!(f, "{} {target} {headers:?}", self.method)?;
        if let Some(body) = &self.body {
            write!(f, " body {:?}", String::from_utf8_lossy(body))?;
        }
        Ok(())
    }
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// The gateway answered 400 with this reason code, and PHP served nothing.
    Refused(String),
    /// PHP served it, and saw this (module, action), the same the gateway decided.
    Agreed(String, String),
}

/// Must be refused with `code`.
fn refused(code: &str) -> Option<Verdict> {
    Some(Verdict::Refused(code.to_owned()))
}

/// Must be forwarded, PHP and the gateway agreeing on (`module`, `action`).
fn agreed(module: &str, action: &str) -> Option<Verdict> {
    Some(Verdict::Agreed(module.to_owned(), action.to_owned()))
}

/// Send `case` through the gateway with `key` and judge it: `Err` describes a violation.
async fn judge(gw: &Harness, php: &PhpApp, key: &str, case: &Case) -> Result<Verdict, String> {
    let before = php.count();
    let resp = case.send(&gw.url(""), key).await;
    let reached = php.count() - before;
    match resp.status {
        400 => {
            let code = resp.json()["error"].as_str().unwrap_or_default().to_owned();
            if code.is_empty() || resp.header("x-request-id").is_none() {
                return Err(format!("400 is not the gateway's: {}", resp.text()));
            }
            if reached != 0 {
                return Err(format!("refused ({code}) but PHP served it"));
            }
            Ok(Verdict::Refused(code))
        }
        200 if reached == 1 => agreement(&View::of(&resp), selectors(&case.target)),
        200 => Err(format!("200 but PHP served {reached} requests")),
        other => Err(format!("neither 400 nor 200 but {other}: {}", resp.text())),
    }
}

/// Whether PHP's parameters hold exactly the (module, action) the gateway's headers announce.
fn agreement(view: &View, sel: Sel) -> Result<Verdict, String> {
    let (Some(module), Some(action)) = (view.decided_module(), view.decided_action()) else {
        return Err(format!("no X-Portcullis-Module/-Action in PHP: {}", view.0));
    };
    let mut bad = String::new();
    match sel {
        Sel::Query(m, a) => {
            for (name, said) in [(m, module), (a, action)] {
                let said = Value::from(said);
                for (array, got) in [("_GET", view.get(name)), ("_REQUEST", view.request(name))] {
                    if *got != said {
                        let _ = write!(bad, " ${array}[{name}]={got} but the header says {said};");
                    }
                }
            }
        }
        Sel::Path => {
            for (i, said) in [(3, module), (4, action)] {
                if view.segment(i) != Some(said) {
                    let got = view.segment(i);
                    let _ = write!(bad, " segment {i} is {got:?} but the header says {said:?};");
                }
            }
        }
    }
    if bad.is_empty() {
        Ok(Verdict::Agreed(module.to_owned(), action.to_owned()))
    } else {
        Err(format!("PHP disagrees:{bad} PHP saw {}", view.0))
    }
}

/// Run `cases` (each with the verdict it must get; `None`: refused or agreed, either is fine)
/// against both PHP configurations with `key`; panic listing every violation.
async fn run_table(key: &str, cases: &[(Case, Option<Verdict>)]) {
    let mut failures = String::new();
    for ini in BOTH {
        let (php, gw) = start(ini).await;
        for (case, want) in cases {
            match judge(&gw, &php, key, case).await {
                Ok(got) if want.as_ref().is_none_or(|w| *w == got) => {}
                Ok(got) => {
                    let _ = writeln!(failures, "[{ini:?}] {case}: got {got:?}, want {want:?}");
                }
                Err(e) => {
                    let _ = writeln!(failures, "[{ini:?}] {case}: {e}");
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

const FORM: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data; boundary=XyZ";

/// A multipart body with one field per (Content-Disposition parameters, value).
fn multipart(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = String::new();
    for (disposition, value) in fields {
        let _ = write!(
            out,
            "--XyZ\r\nContent-Disposition: form-data; {disposition}\r\n\r\n{value}\r\n"
        );
    }
    out.push_str("--XyZ--\r\n");
    out.into_bytes()
}

/// `n` junk parameters `j0=1&j1=1&...`.
fn junk(n: usize) -> String {
    (0..n)
        .map(|i| format!("j{i}=1"))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_selectors_reach_php_as_decided() {
    #[rustfmt::skip]
    let gets: &[(&str, &str, &str)] = &[
        // (target, module and action both sides must see)
        ("/api/?module=indicator&action=list", "indicator", "list"),
        ("/api/?action=list&module=level", "level", "list"),
        // A percent-encoded name that decodes to the selector is the same parameter for PHP.
        ("/api/?%6Dodule=indicator&%61ction=list", "indicator", "list"),
        ("/api/?module=ind%69cator&action=l%69st", "indicator", "list"),
        ("/api/?modules=1&module=indicator&xmodule=2&module_=3&Module=4&action=list&x=module",
         "indicator", "list"),
        ("/api/?module=my+module&action=list+all", "my module", "list all"),
        ("/api/?module=my%20module&action=a%2Bb", "my module", "a+b"),
        ("/api/?module=a%2Bb&action=x%26y%3Dz", "a+b", "x&y=z"),
        ("/api/?module=caf%C3%A9&action=%E4%B8%AD%E6%96%87", "caf\u{e9}", "\u{4e2d}\u{6587}"),
        ("/api/?module=indicator&action=list%20", "indicator", "list "),
        ("/api/?module=indicator&action=", "indicator", ""),
        ("/api/?module=indicator&action", "indicator", ""),
        // `%3B` is data, even where PHP splits the query on ';' (Ini::Shipped).
        ("/api/?module=indicator&action=list&x=1%3Bmodule%3Dlevel", "indicator", "list"),
        ("/api/?&&module=indicator&&action=list&", "indicator", "list"),
        ("/legacy/?mod_ule=indicator&do=list", "indicator", "list"),
        ("/legacy/?mod%5Fule=level&do=info", "level", "info"),
        ("/api/v1/indicator/list", "indicator", "list"),
        ("/api/v1/ind%69cator/%6Cist", "indicator", "list"),
        ("/api/v1/my%20module/list", "my module", "list"),
        ("/api/v1/a+b/list", "a+b", "list"),
        ("/api/v1/caf%C3%A9/%E4%B8%AD%E6%96%87", "caf\u{e9}", "\u{4e2d}\u{6587}"),
    ];
    let mut cases: Vec<(Case, Option<Verdict>)> = gets
        .iter()
        .map(|(target, m, a)| (Case::get(*target), agreed(m, a)))
        .collect();
    let q = "/api/?module=indicator&action=list";
    cases.extend([
        // max_input_vars = 1000: PHP reads all of exactly 1000 parameters.
        (
            Case::get(format!("/api/?{}&module=level&action=list", junk(998))),
            agreed("level", "list"),
        ),
        (
            Case::post(q, FORM, "title=hello+world&modules=2&x=module"),
            agreed("indicator", "list"),
        ),
        (
            Case::post(
                q,
                MULTIPART,
                multipart(&[("name=\"title\"", "x"), ("name=\"modules\"", "2")]),
            ),
            agreed("indicator", "list"),
        ),
        (
            Case::post(q, "application/json", r#"{"module":"level"}"#),
            agreed("indicator", "list"),
        ),
    ]);
    run_table(ODD, &cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selector_attacks_are_refused_or_agree_with_php() {
    #[rustfmt::skip]
    let gets: &[(&str, &str)] = &[
        // The same parameter twice: PHP keeps the last.
        ("/api/?module=indicator&module=level&action=list", "repeated_parameter"),
        ("/api/?module=indicator&action=list&action=info", "repeated_parameter"),
        ("/api/?module=indicator&%6Dodule=level&action=list", "repeated_parameter"),
        ("/legacy/?mod_ule=indicator&do=list&d%6F=info", "repeated_parameter"),
        // Arrays.
        ("/api/?module[]=indicator&action=list", "array_parameter"),
        ("/api/?module=indicator&action=list&module[]=level", "array_parameter"),
        ("/api/?module[x]=level&action=list", "array_parameter"),
        ("/api/?module=indicator&module%5Bx%5D=level&action=list", "array_parameter"),
        // Names PHP mangles into the selector: leading spaces go, ' ' '.' '[' become '_'.
        ("/api/?module=indicator&%20module=level&action=list", "mangled_parameter"),
        ("/api/?module=indicator&+module=level&action=list", "mangled_parameter"),
        ("/legacy/?mod_ule=indicator&mod.ule=level&do=list", "mangled_parameter"),
        ("/legacy/?mod.ule=level&do=list", "mangled_parameter"),
        ("/legacy/?mod_ule=indicator&mod+ule=level&do=list", "mangled_parameter"),
        ("/legacy/?mod_ule=indicator&mod%20ule=level&do=list", "mangled_parameter"),
        ("/legacy/?mod_ule=indicator&mod[ule=level&do=list", "mangled_parameter"),
        // NUL: PHP ends the name there.
        ("/api/?module=indicator&module%00x=level&action=list", "control_byte"),
        ("/api/?module=indicator%00level&action=list", "control_byte"),
        // ';', which PHP splits on where arg_separator.input says so.
        ("/api/?module=indicator&action=list;module=level", "semicolon"),
        ("/api/?module=indicator;module=level&action=list", "semicolon"),
    ];
    let mut cases: Vec<(Case, Option<Verdict>)> = gets
        .iter()
        .map(|(target, code)| (Case::get(*target), refused(code)))
        .collect();
    // max_input_vars = 1000: PHP drops every parameter after the 1000th.
    cases.extend([
        (
            Case::get(format!("/api/?{}&module=level&action=list", junk(999))),
            refused("too_many_parameters"),
        ),
        (
            Case::get(format!(
                "/api/?module=indicator&action=list&{}&module=level",
                junk(998)
            )),
            refused("too_many_parameters"),
        ),
    ]);

    // Bodies PHP reads into $_POST, and so into $_REQUEST.
    let q = "/api/?module=indicator&action=list";
    let overrides = || refused("body_overrides_parameter");
    let ok = || agreed("indicator", "list");
    cases.extend([
        (Case::post(q, FORM, "module=level"), overrides()),
        (Case::post(q, FORM, "title=x&action=info"), overrides()),
        (Case::post(q, FORM, "%20module=level"), overrides()),
        (Case::post(q, FORM, "x=1&mod%75le=level"), overrides()),
        (Case::post(q, FORM, "module[]=level"), overrides()),
        (
            Case::post(q, "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "module=level"),
            overrides(),
        ),
        (
            Case::post("/legacy/?mod_ule=indicator&do=list", FORM, "mod.ule=level"),
            overrides(),
        ),
        (
            Case::post(q, MULTIPART, multipart(&[("name=\"module\"", "level")])),
            overrides(),
        ),
        (
            Case::post(
                q,
                MULTIPART,
                multipart(&[("name=\"x\"", "1"), ("name=\"action[]\"", "info")]),
            ),
            overrides(),
        ),
        (
            Case::post(
                q,
                "Multipart/Form-Data; boundary=XyZ",
                "--XyZ\r\nContent-Disposition: form-data;name=\"module\"\r\n\r\nlevel\r\n--XyZ--\r\n",
            ),
            overrides(),
        ),
        // PHP splits POST bodies on '&' only, whatever arg_separator.input says.
        (Case::post(q, FORM, "a=1;module=level"), ok()),
        // Bodies PHP does not parse; PHP reads the first of two Content-Types, like the gateway.
        (Case::post(q, "text/plain", "module=level"), ok()),
        (
            Case::post(q, "text/plain", "module=level").header(&format!("Content-Type: {FORM}")),
            None,
        ),
        (
            Case::post(q, FORM, "module=level").header("Content-Type: text/plain"),
            None,
        ),
    ]);

    // Cookies: with variables_order EGPCS and no request_order they win in $_REQUEST.
    let cookie = |c: &str| Case::get(q).header(&format!("Cookie: {c}"));
    let overrides = || refused("cookie_overrides_parameter");
    cases.extend([
        (cookie("module=level"), overrides()),
        (cookie("session=1; action=info"), overrides()),
        (cookie("module[]=level"), overrides()),
        (
            Case::get("/legacy/?mod_ule=indicator&do=list").header("Cookie: mod.ule=level"),
            overrides(),
        ),
        // PHP splits cookies on ';' only, joins repeated headers with ", ", and (since 8.1.11)
        // no longer decodes cookie names: none of these is a `module` cookie for PHP.
        (cookie("a=1, module=level"), None),
        (cookie("a=1").header("Cookie: module=level"), None),
        (cookie("%6Dodule=level"), None),
    ]);
    cases.extend(unreadable_header_cases(q));
    run_table(ADMIN, &cases).await;
}

/// Header values with bytes the gateway cannot read (obs-text, invalid UTF-8), in every header
/// the guards and the credential step look at, first and second of two, at the start and end of
/// a value: refused, never read as absent while PHP reads the raw bytes.
fn unreadable_header_cases(q: &str) -> Vec<(Case, Option<Verdict>)> {
    let unreadable = || refused("unreadable_header");
    let get = || Case::get(q);
    let post = |ctype: &[u8]| {
        let mut line = b"Content-Type: ".to_vec();
        line.extend_from_slice(ctype);
        Case {
            method: "POST",
            headers: vec![line],
            body: Some(b"module=level".to_vec()),
            ..Case::get(q)
        }
    };
    let mut cases = Vec::new();
    for bad in [&b"\xe9"[..], b"\x80", b"\xff", b"\xc3\xa9"] {
        let with = |prefix: &[u8], suffix: &[u8]| [prefix, bad, suffix].concat();
        cases.extend([
            // Cookie: PHP still reads `module=level` beside the unreadable byte.
            (
                get().raw_header(&with(b"Cookie: x=", b"; module=level")),
                unreadable(),
            ),
            (
                get().raw_header(&with(b"Cookie: module=level; x=", b"")),
                unreadable(),
            ),
            (
                get()
                    .raw_header(&with(b"Cookie: x=", b""))
                    .header("Cookie: module=level"),
                unreadable(),
            ),
            (
                get()
                    .header("Cookie: module=level")
                    .raw_header(&with(b"Cookie: x=", b"")),
                unreadable(),
            ),
            // Content-Type: PHP parses the body as a form whatever the charset says.
            (
                post(&with(b"application/x-www-form-urlencoded; charset=", b"")),
                unreadable(),
            ),
            (
                post(&with(b"", b"application/x-www-form-urlencoded")),
                unreadable(),
            ),
            (
                post(&with(b"multipart/form-data; boundary=XyZ", b"")),
                unreadable(),
            ),
            // Credentials: an unreadable one is not skipped in favour of the other.
            (
                get().raw_header(&with(b"Authorization: Bearer ", b"")),
                unreadable(),
            ),
            (
                get().raw_header(&with(b"Authorization: Basic ", b"")),
                unreadable(),
            ),
            (get().raw_header(&with(b"X-API-Key: ", b"")), unreadable()),
            // The host routes are matched on.
            (
                get().raw_header(&with(b"Host: a", b".example")),
                unreadable(),
            ),
        ]);
    }
    cases.extend([
        // A second Content-Type: which one PHP reads is its business; refused.
        (
            post(b"text/plain").header("Content-Type: application/x-www-form-urlencoded"),
            refused("repeated_header"),
        ),
    ]);
    cases
}

/// The attacks are real: sent to PHP directly (no gateway), each makes PHP see another module
/// than a reader of the first `module` would decide on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_gateway_php_is_fooled() {
    #[rustfmt::skip]
    let gets: &[(Ini, &str, &str, &str)] = &[
        // (ini, target, extra header, parameter PHP's $_REQUEST holds as `level`)
        (Ini::Builtin, "/api/?module=indicator&module=level", "", "module"),
        (Ini::Builtin, "/api/?module=indicator&%20module=level", "", "module"),
        (Ini::Builtin, "/legacy/?mod_ule=indicator&mod.ule=level", "", "mod_ule"),
        (Ini::Builtin, "/api/?module=indicator&module%00x=level", "", "module"),
        (Ini::Builtin, "/api/?module=indicator", "Cookie: module=level", "module"),
        (Ini::Builtin, "/api/?module=indicator", "Cookie: x=1;\tmodule=level", "module"),
        (Ini::Shipped, "/api/?module=indicator;module=level", "", "module"),
        (Ini::Shipped, &format!("/api/?module=level&{}&module=indicator", junk(999)), "", "module"),
    ];
    #[rustfmt::skip]
    let bodies: &[&[u8]] = &[
        b"--XyZ\r\nContent-Disposition: form-data; name=module\r\n\r\nlevel\r\n--XyZ--\r\n",
        b"--XyZ\r\nContent-Disposition: form-data; NAME=\"module\"\r\n\r\nlevel\r\n--XyZ--\r\n",
        b"--XyZ\r\nContent-Disposition: form-data; name='module'\r\n\r\nlevel\r\n--XyZ--\r\n",
        b"--XyZ\r\nContent-Disposition: form-data;\r\n name=\"module\"\r\n\r\nlevel\r\n--XyZ--\r\n",
    ];
    let level = Value::from("level");
    for ini in BOTH {
        let php = PhpApp::start(ini).await;
        for (_, target, header, name) in gets.iter().filter(|c| c.0 == ini) {
            let headers: Vec<String> = Some(header.to_string())
                .filter(|h| !h.is_empty())
                .into_iter()
                .collect();
            let view = View::of(&php::send("GET", &php.url_for(target), &headers, None).await);
            assert_eq!(
                view.request(name),
                &level,
                "[{ini:?}] {target} {header}: {}",
                view.0
            );
        }
        // A byte the gateway cannot read does not stop PHP from reading the rest.
        let url = php.url_for("/api/?module=indicator");
        if ini == Ini::Builtin {
            let cookie: &[u8] = b"Cookie: x=\xe9; module=level";
            let view = View::of(&php::send("GET", &url, &[cookie], None).await);
            assert_eq!(
                view.request("module"),
                &level,
                "[{ini:?}] cookie: {}",
                view.0
            );
        }
        let ctype: &[u8] = b"Content-Type: application/x-www-form-urlencoded; charset=\xe9";
        let view = View::of(&php::send("POST", &url, &[ctype], Some(b"module=level")).await);
        assert_eq!(
            view.post("module"),
            &level,
            "[{ini:?}] content-type: {}",
            view.0
        );
        for body in bodies {
            let url = php.url_for("/api/?module=indicator");
            let ctype = [format!("Content-Type: {MULTIPART}")];
            let view = View::of(&php::send("POST", &url, &ctype, Some(body)).await);
            let why = format!("[{ini:?}] {:?}: {}", String::from_utf8_lossy(body), view.0);
            assert_eq!(view.post("module"), &level, "{why}");
            assert_eq!(view.request("module"), &level, "{why}");
        }
    }
}

/// Forged identity headers in every spelling PHP folds into `HTTP_X_PORTCULLIS_*`.
const FORGED: &[(&str, &str)] = &[
    ("X-Portcullis-Key-Id", "admin"),
    ("X_Portcullis_Key_Id", "admin"),
    ("x.portcullis.key-id", "admin"),
    ("X-PORTCULLIS-MODULE", "all"),
    ("x_portcullis_action", "all"),
    ("X-Portcullis-Status", "all"),
    ("X-Portcullis-Credential", "account"),
    ("X-Portcullis-User", "root"),
    ("X.Portcullis.Request-Id", "forged"),
    ("X-Portcullis-Resource-Inbox", "evil"),
    ("X_PORTCULLIS_RESOURCE_INBOX", "evil"),
    ("X-Forwarded-For", "6.6.6.6"),
];

/// Headers that must not reach PHP under any spelling.
const GONE: [&str; 5] = [
    "x-foo",
    "proxy",
    "proxy-authorization",
    "keep-alive",
    "x-api-key",
];

/// PHP's `$_SERVER` holds exactly the gateway's identity headers, with the gateway's values, and
/// PHP received no other spelling of them and none of `GONE`.
fn assert_only_gateway_values(view: &View, resp: &Resp, how: &str) {
    let want = [
        ("HTTP_X_PORTCULLIS_ACTION", "list"),
        ("HTTP_X_PORTCULLIS_CREDENTIAL", "api_key"),
        ("HTTP_X_PORTCULLIS_KEY_ID", "reader"),
        ("HTTP_X_PORTCULLIS_MODULE", "indicator"),
        (
            "HTTP_X_PORTCULLIS_REQUEST_ID",
            resp.header("x-request-id").expect("request id"),
        ),
        ("HTTP_X_PORTCULLIS_STATUS", "P"),
    ];
    let got: Vec<(String, String)> = view
        .server_keys()
        .into_iter()
        .filter(|k| k.starts_with("HTTP_X_PORTCULLIS"))
        .map(|k| (k.clone(), view.server(&k).unwrap_or_default().to_owned()))
        .collect();
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want, "{how}: {}", view.0);
    assert_eq!(
        view.server("HTTP_X_FORWARDED_FOR"),
        Some("127.0.0.1"),
        "{how}"
    );
    assert_eq!(
        view.server("HTTP_ACCEPT"),
        Some("text/csv"),
        "{how}: others pass"
    );
    for (name, _) in view.headers() {
        let folded: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let forged = folded.starts_with("x-portcullis-") && name != folded;
        assert!(!forged, "{how}: client header {name} reached PHP");
        assert!(
            !GONE.contains(&folded.as_str()),
            "{how}: {name} reached PHP"
        );
    }
    for gone in [
        "HTTP_X_FOO",
        "HTTP_PROXY",
        "HTTP_X_API_KEY",
        "HTTP_AUTHORIZATION",
    ] {
        assert_eq!(
            view.server(gone),
            None,
            "{how}: {gone} in $_SERVER: {}",
            view.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_headers_reach_php_only_as_the_gateway_set_them() {
    let (php, gw) = start(Ini::Builtin).await;
    let target = "/api/?module=indicator&action=list";

    // HTTP/1.1, with hop-by-hop headers and a header named in Connection.
    let mut headers: Vec<String> = FORGED.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    headers.extend(
        [
            format!("X-API-Key: {READER}"),
            "Connection: x-foo".into(),
            "X-Foo: 1".into(),
            "Keep-Alive: timeout=5".into(),
            "Proxy-Authorization: Basic c2VjcmV0".into(),
            "Proxy: http://evil.example:8080".into(),
            "Accept: text/csv".into(),
        ]
        .into_iter(),
    );
    let resp = php::send("GET", &gw.url(target), &headers, None).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_only_gateway_values(&View::of(&resp), &resp, "HTTP/1.1");

    // HTTP/2 (h2c) downstream: the forgeries travel as lowercase h2 fields.
    let mut h2: Vec<(&str, &str)> = FORGED.to_vec();
    h2.extend([
        ("x-api-key", READER),
        ("proxy", "http://evil.example:8080"),
        ("accept", "text/csv"),
    ]);
    let resp = client::send(
        &client::h2(),
        request(Method::GET, &gw.url(target), &h2, full("")),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_only_gateway_values(&View::of(&resp), &resp, "HTTP/2");

    // Deny path: nothing reaches PHP, whatever the headers claim.
    let before = php.count();
    let denied = gw.url("/api/?module=indicator&action=delete");
    let resp = php::send("GET", &denied, &headers, None).await;
    client::assert_rejected(&resp, 403, "permission_denied");
    assert_eq!(php.count(), before, "a denied request reached PHP");
}

/// httpoxy (CVE-2016-5385): CGI and FastCGI SAPIs turn a `Proxy` request header into
/// `HTTP_PROXY`, which HTTP libraries (Guzzle, ...) read as their outgoing proxy. `php -S` itself
/// keeps it out of `$_SERVER` (asserted below, so a change shows), so the test looks at what PHP
/// received at all: `getallheaders()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn httpoxy_proxy_header_never_reaches_php() {
    let (php, gw) = start(Ini::Builtin).await;
    let target = "/api/?module=indicator&action=list";
    let direct = View::of(
        &php::send(
            "GET",
            &php.url_for(target),
            &["Proxy: http://evil.example:8080"],
            None,
        )
        .await,
    );
    assert_eq!(
        direct.header("proxy").as_deref(),
        Some("http://evil.example:8080"),
        "without the gateway PHP receives it: {}",
        direct.0
    );
    assert_eq!(direct.server("HTTP_PROXY"), None, "php -S's own mitigation");
    for spelling in ["Proxy", "proxy", "PROXY"] {
        let headers = [
            format!("X-API-Key: {READER}"),
            format!("{spelling}: http://evil.example:8080"),
        ];
        let resp = php::send("GET", &gw.url(target), &headers, None).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        let view = View::of(&resp);
        assert_eq!(view.header("proxy"), None, "{spelling}: {}", view.0);
        assert_eq!(view.server("HTTP_PROXY"), None, "{spelling}: {}", view.0);
    }
    let resp = client::send(
        &client::h2(),
        request(
            Method::GET,
            &gw.url(target),
            &[("x-api-key", READER), ("proxy", "http://evil.example:8080")],
            full(""),
        ),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(View::of(&resp).header("proxy"), None, "HTTP/2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_credential_never_reaches_php_and_the_rest_is_byte_identical() {
    let (php, gw) = start(Ini::Builtin).await;
    let t = READER;
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!(
                "/api/?module=indicator&token={t}&action=list&q=a%20b+c%2B%C3%A9&e=&flag&x=%2F%3F"
            ),
            "/api/",
            "module=indicator&action=list&q=a%20b+c%2B%C3%A9&e=&flag&x=%2F%3F",
        ),
        (
            format!("/api/?token={t}&module=indicator&action=list"),
            "/api/",
            "module=indicator&action=list",
        ),
        (
            format!("/api/?module=indicator&action=list&token={t}"),
            "/api/",
            "module=indicator&action=list",
        ),
        (
            format!("/api/?module=indicator&tok%65n={t}&action=list&tokens=1&xtoken=2"),
            "/api/",
            "module=indicator&action=list&tokens=1&xtoken=2",
        ),
        (
            format!("/api/v1/indicator/list?a=%2F&token={t}&b=1+2&c=%E4%B8%AD"),
            "/api/v1/indicator/list",
            "a=%2F&b=1+2&c=%E4%B8%AD",
        ),
        (
            format!("/api/v1/level/list?token={t}"),
            "/api/v1/level/list",
            "",
        ),
    ];
    for (target, path, query) in &cases {
        let resp = php::send("GET", &gw.url(target), &[] as &[&str], None).await;
        assert_eq!(resp.status, 200, "{target}: {}", resp.text());
        let view = View::of(&resp);
        assert!(
            !resp.text().contains(t),
            "{target}: the secret reached PHP: {}",
            view.0
        );
        assert_eq!(view.get("token"), &Value::Null, "{target}");
        assert_eq!(view.request("token"), &Value::Null, "{target}");
        assert_eq!(
            view.server("HTTP_X_PORTCULLIS_KEY_ID"),
            Some("reader"),
            "{target}"
        );
        assert_eq!(
            view.server("QUERY_STRING").unwrap_or_default(),
            *query,
            "{target}"
        );
        let uri = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        assert_eq!(view.server("REQUEST_URI"), Some(uri.as_str()), "{target}");
    }
    assert_eq!(php.count(), cases.len());
    assert!(
        php.requests().iter().all(|uri| !uri.contains(t)),
        "{:?}",
        php.requests()
    );
    // The check can see a credential: a route that keeps it hands it to PHP.
    let resp = php::send(
        "GET",
        &gw.url(&format!("/keep/list?token={ADMIN}&x=1")),
        &[] as &[&str],
        None,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(View::of(&resp).get("token"), &Value::from(ADMIN));
}

/// Send `case` with `key` through a gateway in front of PHP configured with `ini`, and require
/// that it is refused or agrees.
async fn must_not_mismatch(ini: Ini, key: &str, cases: &[Case]) {
    let (php, gw) = start(ini).await;
    let mut failures = String::new();
    for case in cases {
        if let Err(e) = judge(&gw, &php, key, case).await {
            let _ = writeln!(failures, "[{ini:?}] {case}: {e}");
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

/// PHP strips every leading `isspace()` byte from a cookie name (`php_default_treat_data`), the
/// gateway's cookie guard only `' '`: `Cookie: x=1;<TAB>module=level` is forwarded, and with PHP's
/// built-in `variables_order` (EGPCS) `$_REQUEST['module']` is `level` while the gateway decided
/// `indicator`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_name_after_a_tab_is_checked_like_php_reads_it() {
    let q = "/api/?module=indicator&action=list";
    must_not_mismatch(
        Ini::Builtin,
        ADMIN,
        &[
            Case::get(q).header("Cookie: x=1;\tmodule=level"),
            Case::get(q).header("Cookie: x=1; \taction=info"),
        ],
    )
    .await;
}

/// PHP's multipart parser (`rfc1867.c`) takes the field name from a `name` parameter matched
/// case-insensitively, quoted with `"` or `'` or not quoted at all, and reads folded header
/// lines; the gateway's `multipart_names` only sees a lowercase `name="…"` on the
/// `Content-Disposition` line itself. Each body below sets `$_POST['module']` (and so
/// `$_REQUEST['module']`) to `level` while the gateway decided `indicator`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_multipart_field_name_php_reads_is_checked() {
    let q = "/api/?module=indicator&action=list";
    let post = |body: &[u8]| Case::post(q, MULTIPART, body);
    must_not_mismatch(
        Ini::Shipped,
        ADMIN,
        &[
            post(&multipart(&[("name=module", "level")])),
            post(&multipart(&[("NAME=\"module\"", "level")])),
            post(&multipart(&[("name='module'", "level")])),
            post(
                b"--XyZ\r\nContent-Disposition: form-data;\r\n name=\"module\"\r\n\r\nlevel\r\n--XyZ--\r\n",
            ),
        ],
    )
    .await;
}

/// A selector value with a leading space (`action=%20list`) is decided as ` list`, but the
/// gateway writes it into `X-Portcullis-Action` unencoded, and leading whitespace is not part of
/// an HTTP field value: PHP's `HTTP_X_PORTCULLIS_ACTION` is `list` while `$_GET['action']` is
/// ` list`. (PHP happens to keep trailing spaces; other servers strip them too.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_with_a_leading_space_is_announced_as_decided() {
    must_not_mismatch(
        Ini::Builtin,
        ODD,
        &[
            Case::get("/api/?module=indicator&action=%20list"),
            Case::get("/api/?module=indicator&action=+list"),
            Case::get("/api/v1/indicator/%20list"),
        ],
    )
    .await;
}

/// HTTP/2 clients may split `Cookie` into one field per cookie (RFC 9113 §8.2.3); forwarded
/// over HTTP/1.1 they must be joined with "; ", or PHP, which joins repeated headers with ", ",
/// reads `a=1, b=2` as one cookie `a`. Not a bypass (the cookie guard reads every field, and PHP
/// sees fewer cookies, not more), but PHP does not see the cookies the client sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_split_over_http2_reach_php_as_separate_cookies() {
    let (_php, gw) = start(Ini::Builtin).await;
    let h2 = |cookies: &[&'static str]| {
        let mut headers = vec![("x-api-key", READER)];
        headers.extend(cookies.iter().map(|c| ("cookie", *c)));
        request(
            Method::GET,
            &gw.url("/api/?module=indicator&action=list"),
            &headers,
            full(""),
        )
    };
    let resp = client::send(&client::h2(), h2(&["a=1", "b=2"])).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let view = View::of(&resp);
    assert_eq!(view.cookie("a"), &Value::from("1"), "{}", view.0);
    assert_eq!(view.cookie("b"), &Value::from("2"), "{}", view.0);
    let resp = client::send(&client::h2(), h2(&["a=1", "module=level"])).await;
    client::assert_rejected(&resp, 400, "cookie_overrides_parameter");
}

/// Method and URL override headers, client-address headers from an untrusted peer, and a
/// `_method` parameter: PHP sees none of them, in any spelling it would read as the same
/// `$_SERVER` key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_and_address_headers_never_reach_php() {
    let php = PhpApp::start(Ini::Builtin).await;
    let gw = Harness::start(&php_policy(&php)).await;
    let key = format!("X-API-Key: {ADMIN}");
    let headers = [
        key.as_str(),
        "X-HTTP-Method-Override: DELETE",
        "X_HTTP_METHOD_OVERRIDE: DELETE",
        "X-Method-Override: DELETE",
        "X-HTTP-Method: DELETE",
        "X-Original-URL: /admin/",
        "X-Rewrite-URL: /admin/",
        "X-Real-IP: 10.6.6.6",
        "X-Forwarded-Prefix: /evil",
        "X-Forwarded-Port: 1",
        "True-Client-IP: 10.6.6.6",
        "X-Client-IP: 10.6.6.6",
    ];
    let resp = php::send(
        "GET",
        &gw.url("/api/?module=indicator&action=list"),
        &headers,
        None,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let view = View::of(&resp);
    for key in view.server_keys() {
        for bad in [
            "OVERRIDE",
            "HTTP_X_HTTP_METHOD",
            "ORIGINAL_URL",
            "REWRITE_URL",
            "PREFIX",
            "FORWARDED_PORT",
            "TRUE_CLIENT",
            "CLIENT_IP",
        ] {
            assert!(!key.contains(bad), "PHP saw {key}: {}", view.0);
        }
    }
    assert_eq!(
        view.server("HTTP_X_REAL_IP"),
        Some("127.0.0.1"),
        "{}",
        view.0
    );
    assert_eq!(view.server("REQUEST_METHOD"), Some("GET"));
    // `_method` in the query never reaches PHP.
    let resp = php::send(
        "GET",
        &gw.url("/api/?module=indicator&action=list&_method=DELETE"),
        &[key.as_str()],
        None,
    )
    .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
}

/// Framing a proxy would have to guess at never reaches PHP: `Transfer-Encoding` other than
/// exactly `chunked` is refused, and a malformed chunked body is the client's 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_tricks_never_reach_php() {
    let php = PhpApp::start(Ini::Builtin).await;
    let gw = Harness::start(&php_policy(&php)).await;
    let before = php.count();
    for (te, body) in [
        ("gzip, chunked", "5\r\nhello\r\n0\r\n\r\n"),
        ("chunked, chunked", "5\r\nhello\r\n0\r\n\r\n"),
        ("chunked", "zz\r\nhello\r\n0\r\n\r\n"),
    ] {
        let req = format!(
            "POST /api/?module=indicator&action=list HTTP/1.1\r\nHost: a\r\nX-API-Key: {ADMIN}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: {te}\r\n\
             Connection: close\r\n\r\n{body}"
        );
        let raw = client::raw(gw.addr, req.as_bytes()).await;
        let resp = client::parse_response(&raw);
        assert_eq!(resp.status, 400, "{te}: {}", resp.text());
    }
    assert_eq!(php.count(), before, "a framing trick reached PHP");
}
