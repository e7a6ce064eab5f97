//! Listing Trivore authorisation records: `GET {prefix}/api/rest/v1/authorisation` with a SCIM
//! `filter`, and the records delegated to one subject, `GET|POST
//! {prefix}/api/rest/v1/user/{id}/authorisation/subject` (the `POST` form filters by a JSON
//! object such as `{"active": true}`). Pages are 0-based: `startIndex`, `count` →
//! `{totalResults, startIndex, itemsPerPage, resources}`. Only the caller's namespaces are
//! listed.

use crate::incoming::Incoming;
use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::body::Body;
use crate::canonical;
use crate::manage::records::{namespaces, show};
use crate::manage::reply::{Refusal, Style, read_json, refuse, respond};
use crate::manage::{Call, Ctx};

const TV: Style = Style::Trivore;

/// Page size when the request names none.
pub const DEFAULT_COUNT: usize = 20;
/// Largest page.
pub const MAX_COUNT: usize = 1000;

use crate::scim::AUTHORISATION_ALIASES as ALIASES;

/// Attributes a filter may name.
const FILTERABLE: &[&str] = &[
    "id",
    "type",
    "authType",
    "authSource",
    "source",
    "nsCode",
    "subject.type",
    "subject.value",
    "object.type",
    "object.value",
    "validFrom",
    "validTo",
    "effectiveValidTo",
    "revoked",
    "revokedAt",
    "active",
    "meta.created",
    "meta.lastModified",
    "creator.type",
    "creator.id",
    "author",
];

struct Query {
    filter: Option<crate::scim::Filter>,
    start: usize,
    count: usize,
}

fn query(parts: &http::request::Parts) -> Result<Query, Refusal> {
    let pairs = canonical::parse_pairs(parts.uri.query().unwrap_or(""))
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "the query string is malformed"))?;
    let mut q = Query {
        filter: None,
        start: 0,
        count: DEFAULT_COUNT,
    };
    let number = |name: &str, v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, format!("{name} must be a number")))
    };
    for (name, value) in &pairs {
        match name.as_ref() {
            "filter" if !value.trim().is_empty() => {
                let f = crate::scim::parse(value)
                    .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("invalid filter: {e}")))?;
                if let Some(a) = f.unknown_attribute(FILTERABLE) {
                    return Err(refuse(
                        StatusCode::BAD_REQUEST,
                        format!("invalid filter: `{a}` is not a filterable attribute"),
                    ));
                }
                q.filter = Some(f);
            }
            "startIndex" => q.start = number(name, value)?,
            "count" => q.count = number(name, value)?.min(MAX_COUNT),
            _ => {}
        }
    }
    Ok(q)
}

fn page(shown: Vec<Value>, q: &Query) -> Response<Body> {
    let total = shown.len();
    let resources: Vec<Value> = shown.into_iter().skip(q.start).take(q.count).collect();
    respond(
        StatusCode::OK,
        &json!({
            "totalResults": total,
            "startIndex": q.start,
            "itemsPerPage": q.count,
            "resources": resources,
        }),
    )
}

/// The caller's records, shown at now, that `keep` keeps.
fn visible(cx: &Ctx<'_>, call: &Call<'_>, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    let ns = namespaces(cx, call);
    cx.s.managed
        .state
        .authorisations
        .iter()
        .filter(|r| ns.contains(&r.ns_code))
        .map(|r| show(r, cx.now))
        .filter(|v| keep(v))
        .collect()
}

/// `GET /authorisation?filter=...&startIndex=...&count=...`.
pub fn list(cx: &Ctx<'_>, call: &Call<'_>, parts: &http::request::Parts) -> Response<Body> {
    let q = match query(parts) {
        Ok(q) => q,
        Err(r) => return r.into_response(TV),
    };
    let shown = visible(cx, call, |v| {
        q.filter.as_ref().is_none_or(|f| f.matches(v, ALIASES))
    });
    page(shown, &q)
}

/// `GET|POST /user/{user}/authorisation/subject`: the records whose subject is `{user}`; a
/// `POST` body is a JSON object of field values every listed record must have.
pub async fn of_subject(
    cx: &Ctx<'_>,
    call: &Call<'_>,
    parts: &http::request::Parts,
    incoming: Incoming,
) -> Response<Body> {
    let q = match query(parts) {
        Ok(q) => q,
        Err(r) => return r.into_response(TV),
    };
    let wanted = match read_json(incoming).await {
        Ok(Value::Null) => serde_json::Map::new(),
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return refuse(StatusCode::BAD_REQUEST, "the filter must be a JSON object")
                .into_response(TV);
        }
        Err(r) => return r.into_response(TV),
    };
    if let Some(k) = wanted.keys().find(|k| !FILTERABLE.contains(&k.as_str())) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("`{k}` is not a filterable field"),
        )
        .into_response(TV);
    }
    let user = call.param("user");
    let shown = visible(cx, call, |v| {
        v.pointer("/subject/value").and_then(Value::as_str) == Some(user)
            && wanted.iter().all(|(k, want)| lookup(v, k) == Some(want))
            && q.filter.as_ref().is_none_or(|f| f.matches(v, ALIASES))
    });
    page(shown, &q)
}

/// The value at dotted path `name` (SCIM aliases resolved).
fn lookup<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    let name = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, real)| real);
    crate::scim::resolve_path(v, name)
}
