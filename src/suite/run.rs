//! Running policy tests: each case is canonicalized with the gateway's limits and decided by
//! `decision::authorize` — the function the proxy, forward-auth and `explain` call — and its
//! outcome compared with the expectation.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::decision::{self, Head, Presenting, Trace};
use crate::gateway::{self, Limits};
use crate::kinds::KeyUse;
use crate::policy::Snapshot;
use crate::policy::json_path::JsonPath;
use crate::policy::load::Input;
use crate::policy::locate;
use crate::route::Target;
use crate::suite::raw::{RawCase, RawExpect, RawSuite};
use crate::token::Claims;

/// Why a test file could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a test file (with its line and column).
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was expected.
        message: String,
    },
}

/// What became of one case.
#[derive(Debug)]
pub struct Outcome {
    /// The test file.
    pub file: PathBuf,
    /// The line the case starts on.
    pub line: usize,
    /// The case's name.
    pub name: String,
    /// What the decision did.
    pub actual: String,
    /// `None`: passed; else expected versus actual.
    pub failure: Option<String>,
}

/// What no case exercised.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Route ids no case matched (built-in endpoints excluded).
    pub routes: Vec<String>,
    /// Key ids no case used.
    pub keys: Vec<String>,
    /// Roles held by no key or user a case used.
    pub roles: Vec<String>,
}

/// Run every case of `files` against `s` (compiled from `input`); `now` is the default time.
pub fn run_files(
    s: &Snapshot,
    input: &Input,
    files: &[PathBuf],
    now: i64,
) -> Result<(Vec<Outcome>, Coverage), SuiteError> {
    let mut out = Vec::new();
    let mut routes = HashSet::new();
    let mut principals = HashSet::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
            path: path.clone(),
            source,
        })?;
        let suite: RawSuite = serde_json::from_str(&text).map_err(|e| {
            let (line, column) = locate::serde_position(&text, &e);
            SuiteError::Invalid {
                path: path.clone(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        for (i, case) in suite.cases.iter().enumerate() {
            let at = JsonPath::root().key("cases").index(i);
            let line = locate::locate(&text, &at).map_or(0, |(l, _)| l);
            let run = run_case(s, case, now, &mut routes, &mut principals);
            let (actual, failure) = match run {
                Ok(r) => r,
                Err(message) => ("not run".to_owned(), Some(message)),
            };
            out.push(Outcome {
                file: path.clone(),
                line,
                name: case.name.clone(),
                actual,
                failure,
            });
        }
    }
    Ok((out, coverage(s, input, &routes, &principals)))
}

/// Decide one case; (what happened, the mismatch if any), or why it could not run.
fn run_case(
    s: &Snapshot,
    case: &RawCase,
    default_now: i64,
    routes: &mut HashSet<String>,
    principals: &mut HashSet<String>,
) -> Result<(String, Option<String>), String> {
    let r = &case.request;
    let now = match &r.at {
        Some(at) => OffsetDateTime::parse(at, &Rfc3339)
            .map_err(|e| format!("`at` is not an RFC 3339 time: {e}"))?
            .unix_timestamp(),
        None => default_now,
    };
    let method = Method::from_bytes(r.method.as_deref().unwrap_or("GET").as_bytes())
        .map_err(|_| "`method` is not an HTTP method".to_owned())?;
    let mut headers = HeaderMap::new();
    for (k, v) in &r.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("bad header `{k}`"))?;
        let value = HeaderValue::from_str(v).map_err(|_| format!("bad value of `{k}`"))?;
        headers.append(name, value);
    }
    let bearer = match (&r.secret, &r.user) {
        (Some(secret), None) => Some(secret.clone()),
        (None, Some(user)) => Some(
            s.directory
                .keys
                .sign(&Claims::new(KeyUse::Account, user, now, 3600))
                .map_err(|e| format!("cannot mint an account token for `{user}`: {e}"))?,
        ),
        (None, None) => None,
        (Some(_), Some(_)) => return Err("give `secret` or `user`, not both".to_owned()),
    };
    if let Some(b) = bearer {
        let v = HeaderValue::from_str(&format!("Bearer {b}"))
            .map_err(|_| "the secret is not a header value".to_owned())?;
        headers.insert(AUTHORIZATION, v);
    }
    let presenting = match &r.key_id {
        Some(id) => Presenting::KeyId(id),
        None => Presenting::Request,
    };
    let uri: Uri = r
        .path
        .parse()
        .map_err(|_| format!("`{}` is not a request target", r.path))?;
    let host = r.host.as_deref().map(gateway::normalize_host);
    let mut trace = Trace::default();
    let decided = gateway::canonicalize(&uri, &Limits::default()).and_then(|target| {
        let head = Head {
            method: &method,
            host: host.as_deref(),
            headers: &headers,
            target: &target,
            client_certificate: None,
        };
        decision::authorize(s, &head, presenting, now, &mut trace).map(|p| {
            let route = p.route();
            let upstream = match route.route().target {
                Target::Upstream(u) => s.upstreams[u].name.clone(),
                Target::Builtin(_) => "builtin".to_owned(),
            };
            let resources: Vec<(String, String)> = route
                .resources()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            Found {
                module: route.module().map(str::to_owned),
                action: route.action().map(str::to_owned),
                resources,
                upstream,
            }
        })
    });
    if let Some(route) = trace.route {
        routes.insert(route.id.clone());
    }
    if let Some(p) = &trace.principal {
        principals.insert(p.to_string());
    }
    let route_id = trace.route.map(|r| r.id.as_str());
    let actual = match &decided {
        Ok(f) => format!(
            "allow (route {}, {}/{}, upstream {})",
            route_id.unwrap_or("-"),
            f.module.as_deref().unwrap_or("-"),
            f.action.as_deref().unwrap_or("-"),
            f.upstream
        ),
        Err(rej) => {
            let m = rej.mapping(s.unmapped_status);
            format!(
                "deny {} {} (route {})",
                m.status.as_u16(),
                m.code,
                route_id.unwrap_or("-")
            )
        }
    };
    let failure = compare(&case.expect, &decided, route_id, s);
    Ok((actual, failure))
}

/// What an allowed decision found.
struct Found {
    module: Option<String>,
    action: Option<String>,
    resources: Vec<(String, String)>,
    upstream: String,
}

/// The mismatches between `want` and what was decided, if any.
fn compare(
    want: &RawExpect,
    got: &Result<Found, crate::reject::Rejection>,
    route: Option<&str>,
    s: &Snapshot,
) -> Option<String> {
    let mut wrong = Vec::new();
    let want_allow = want.allow.unwrap_or(want.reason.is_none());
    match (want_allow, got) {
        (true, Err(r)) => wrong.push(format!(
            "expected allow, got deny {}",
            r.mapping(s.unmapped_status).code
        )),
        (false, Ok(_)) => wrong.push(format!(
            "expected deny {}, got allow",
            want.reason.as_deref().unwrap_or("")
        )),
        (false, Err(r)) => {
            let code = r.mapping(s.unmapped_status).code;
            if let Some(reason) = &want.reason
                && reason != code
            {
                wrong.push(format!("expected reason {reason}, got {code}"));
            }
        }
        (true, Ok(_)) => {}
    }
    if let Some(w) = &want.route
        && Some(w.as_str()) != route
    {
        wrong.push(format!(
            "expected route {w}, got {}",
            route.unwrap_or("none")
        ));
    }
    if let Ok(f) = got {
        let mut check = |what: &str, want: &Option<String>, got: &Option<String>| {
            if let Some(w) = want
                && Some(w) != got.as_ref()
            {
                wrong.push(format!(
                    "expected {what} {w}, got {}",
                    got.as_deref().unwrap_or("none")
                ));
            }
        };
        check("module", &want.module, &f.module);
        check("action", &want.action, &f.action);
        check("upstream", &want.upstream, &Some(f.upstream.clone()));
        if let Some(res) = &want.resources {
            let got: BTreeSet<(String, String)> = f.resources.iter().cloned().collect();
            let want: BTreeSet<(String, String)> =
                res.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            if got != want {
                wrong.push(format!("expected resources {want:?}, got {got:?}"));
            }
        }
    }
    (!wrong.is_empty()).then(|| wrong.join("; "))
}

/// Routes, keys and roles no case touched.
fn coverage(
    s: &Snapshot,
    input: &Input,
    routes: &HashSet<String>,
    principals: &HashSet<String>,
) -> Coverage {
    let mut c = Coverage::default();
    for r in &s.routes.routes {
        if !matches!(r.target, Target::Builtin(_)) && !routes.contains(&r.id) {
            c.routes.push(r.id.clone());
        }
    }
    for k in s.keys.iter() {
        if !principals.contains(k.id()) {
            c.keys.push(k.id().to_owned());
        }
    }
    let mut held = HashSet::new();
    let mut all = BTreeSet::new();
    for (_, p) in &input.policies {
        all.extend(p.roles.keys().cloned());
        for (at, &shape) in p.keys.shape_of.iter().enumerate() {
            if principals.contains(p.keys.columns.id(at)) {
                held.extend(p.keys.shapes[shape as usize].roles.iter().cloned());
            }
        }
        for (name, u) in &p.users {
            if principals.contains(&format!("user:{name}")) {
                held.extend(u.roles.iter().cloned());
            }
        }
    }
    c.roles = all.into_iter().filter(|r| !held.contains(r)).collect();
    c
}

/// Whether `path` is a test file to run from a directory listing (`*.json`).
pub fn is_test_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}
