//! Trivore authorisation records: create, get, update (PUT), delete and revoke
//! (`{prefix}/api/rest/v1/authorisation[/{id}[/revoke]]`), in onePortal's JSON shapes.
//!
//! Callers are management clients, and see and write only the namespaces (`nsCode`) their
//! policy entry names; a record of another namespace is "not found". Written records take effect
//! on the very next proxied request: an active record grants its subject the role its type is
//! bound to, on its object (`authz`).
//!
//! The real onePortal client is older than the documentation: it sends the type as `authType`
//! and every read-only field (`id`, `meta`, `creator`, `revoked`...) as `null`. `authType` is
//! read as the type; read-only fields are ignored, and `null` is always "absent", never "clear".

use crate::incoming::Incoming;
use http::{Response, StatusCode};
use serde_json::{Map, Value};

use crate::body::Body;
use crate::manage::reply::{
    Refusal, Style, audit, check_tag, commit, if_match, no_content, read_json, refuse, tagged,
};
use crate::manage::{Call, Ctx};
use crate::registry::instant;
use crate::registry::state::{Creator, Meta, Party, Record, etag, new_id};

const TV: Style = Style::Trivore;

/// Fields the server owns: ignored when a client sends them.
const READ_ONLY: &[&str] = &[
    "id",
    "meta",
    "creator",
    "revoked",
    "revokedAt",
    "revocationDetails",
    "effectiveValidTo",
    "active",
    "createdAt",
];

/// A record as shown at `now`: the stored fields, `authType` beside `type`, and the computed
/// `effectiveValidTo` and `active`.
pub fn show(r: &Record, now: i64) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    let from = r.valid_from.as_deref().and_then(instant::parse);
    let to = r.valid_to.as_deref().and_then(instant::parse);
    let revoked_at = r.revoked_at.as_deref().and_then(instant::parse);
    let effective = match (revoked_at.filter(|_| r.revoked), to) {
        (Some(rv), Some(t)) if rv < t => r.revoked_at.clone(),
        (Some(_), None) => r.revoked_at.clone(),
        _ => r.valid_to.clone(),
    };
    let active = !r.revoked && from.is_none_or(|f| now >= f) && to.is_none_or(|t| now < t);
    if let Value::Object(o) = &mut v {
        o.insert("authType".into(), Value::String(r.kind.clone()));
        o.insert(
            "authSource".into(),
            r.source.clone().map_or(Value::Null, Value::String),
        );
        o.insert(
            "effectiveValidTo".into(),
            effective.map_or(Value::Null, Value::String),
        );
        o.insert("active".into(), Value::Bool(active));
    }
    v
}

/// The namespaces the caller may use; the first is its default.
pub fn namespaces<'a>(cx: &'a Ctx<'_>, call: &Call<'_>) -> &'a [String] {
    call.who
        .and_then(|p| cx.s.management.clients.get(p.id()))
        .map_or(&[], |c| c.namespaces.as_slice())
}

/// What a create or update body says (absent and `null` alike are `None`).
#[derive(Debug, Default)]
struct Fields {
    kind: Option<String>,
    subject: Option<Party>,
    object: Option<Party>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    ns_code: Option<String>,
    source: Option<String>,
    author: Option<String>,
}

fn bad(msg: impl Into<String>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, msg)
}

fn text(name: &str, v: &Value) -> Result<Option<String>, Refusal> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(bad(format!("{name} must be a string"))),
    }
}

fn party(name: &str, v: &Value) -> Result<Option<Party>, Refusal> {
    let o = match v {
        Value::Null => return Ok(None),
        Value::Object(o) => o,
        _ => return Err(bad(format!("{name} must be an object {{type, value}}"))),
    };
    let field = |f: &str| {
        o.get(f)
            .map_or(Ok(None), |v| text(&format!("{name}.{f}"), v))
    };
    if let Some(k) = o.keys().find(|k| *k != "type" && *k != "value") {
        return Err(bad(format!("{name}.{k} is not a field of {name}")));
    }
    match (field("type")?, field("value")?) {
        (Some(kind), Some(value)) if !kind.is_empty() && !value.is_empty() => {
            Ok(Some(Party { kind, value }))
        }
        _ => Err(bad(format!("{name} needs a type and a value"))),
    }
}

fn time(name: &str, v: &Value) -> Result<Option<String>, Refusal> {
    match text(name, v)? {
        Some(t) if instant::parse(&t).is_none() => Err(bad(format!(
            "{name} `{t}` cannot be parsed as a date and time"
        ))),
        other => Ok(other),
    }
}

fn fields(body: &Map<String, Value>) -> Result<Fields, Refusal> {
    let mut f = Fields::default();
    for (name, v) in body {
        match name.as_str() {
            "type" | "authType" => {
                let t = text(name, v)?;
                if t.is_some() && f.kind.is_some() && t != f.kind {
                    return Err(bad("type and authType differ"));
                }
                f.kind = f.kind.or(t);
            }
            "subject" => f.subject = party(name, v)?,
            "object" => f.object = party(name, v)?,
            "validFrom" => f.valid_from = time(name, v)?,
            "validTo" => f.valid_to = time(name, v)?,
            "nsCode" => f.ns_code = text(name, v)?,
            "authSource" | "source" => f.source = text(name, v)?,
            "author" => f.author = text(name, v)?,
            n if READ_ONLY.contains(&n) => {}
            n => return Err(bad(format!("unknown field `{n}`"))),
        }
    }
    if let (Some(a), Some(b)) = (&f.valid_from, &f.valid_to)
        && instant::parse(a) > instant::parse(b)
    {
        return Err(bad("validFrom is after validTo"));
    }
    Ok(f)
}

async fn object_body(incoming: Incoming, optional: bool) -> Result<Map<String, Value>, Refusal> {
    match read_json(incoming).await? {
        Value::Object(o) => Ok(o),
        Value::Null if optional => Ok(Map::new()),
        _ => Err(bad("expected a JSON object")),
    }
}

fn not_found() -> Refusal {
    refuse(StatusCode::NOT_FOUND, "Authorisation not found")
}

/// Position of record `id` in `records` if the caller's namespaces hold it.
fn find(records: &[Record], id: &str, ns: &[String]) -> Result<usize, Refusal> {
    records
        .iter()
        .position(|r| r.id == id && ns.contains(&r.ns_code))
        .ok_or_else(not_found)
}

/// `POST /authorisation` → 201 with the record.
pub async fn create(cx: &Ctx<'_>, call: &Call<'_>, incoming: Incoming) -> Response<Body> {
    let made = async {
        let f = fields(&object_body(incoming, false).await?)?;
        let ns = namespaces(cx, call);
        let ns_code = match f.ns_code {
            Some(n) if ns.contains(&n) => n,
            Some(n) => {
                return Err(refuse(
                    StatusCode::FORBIDDEN,
                    format!("namespace `{n}` is not accessible to this client"),
                ));
            }
            None => ns
                .first()
                .cloned()
                .ok_or_else(|| refuse(StatusCode::FORBIDDEN, "this client has no namespace"))?,
        };
        let (Some(kind), Some(subject), Some(object)) = (f.kind, f.subject, f.object) else {
            return Err(bad("type (or authType), subject and object are required"));
        };
        let now = instant::format(cx.now);
        Ok(Record {
            id: new_id(),
            kind,
            subject,
            object,
            valid_from: f.valid_from,
            valid_to: f.valid_to,
            ns_code,
            source: f.source,
            author: f.author,
            meta: Meta {
                created: now.clone(),
                last_modified: now,
            },
            creator: Creator {
                kind: "ManagementApiClient".into(),
                id: call.who.map_or("", |p| p.id()).to_owned(),
            },
            revoked: false,
            revoked_at: None,
            revocation_details: None,
        })
    }
    .await;
    let record = match made {
        Ok(r) => r,
        Err(r) => return r.into_response(TV),
    };
    let stored = record.clone();
    let done = commit(cx, call, TV, "authorisation.create", move |m| {
        m.registry.authorisations.push(stored);
        Ok(())
    })
    .await;
    match done {
        Ok(()) => {
            audit(cx, call, "authorisation.create", &record.id, "created");
            tagged(StatusCode::CREATED, &show(&record, cx.now), &etag(&record))
        }
        Err(r) => r,
    }
}

/// `GET /authorisation/{id}`.
pub fn get(cx: &Ctx<'_>, call: &Call<'_>) -> Response<Body> {
    let records = &cx.s.managed.state.authorisations;
    match find(records, call.param("id"), namespaces(cx, call)) {
        Ok(i) => tagged(
            StatusCode::OK,
            &show(&records[i], cx.now),
            &etag(&records[i]),
        ),
        Err(r) => r.into_response(TV),
    }
}

/// Change record `{id}` with `edit` under the store lock, after the `If-Match` check.
async fn change(
    cx: &Ctx<'_>,
    call: &Call<'_>,
    parts: &http::request::Parts,
    action: &'static str,
    edit: impl FnOnce(&mut Record, &str) -> Result<(), Refusal> + Send + 'static,
) -> Response<Body> {
    let wanted = match if_match(&parts.headers) {
        Ok(w) => w,
        Err(r) => return r.into_response(TV),
    };
    let id = call.param("id").to_owned();
    let ns = namespaces(cx, call).to_vec();
    let now = instant::format(cx.now);
    let done = commit(cx, call, TV, action, move |m| {
        let i = find(&m.registry.authorisations, &id, &ns)?;
        let r = &mut m.registry.authorisations[i];
        check_tag(&wanted, &etag(&*r))?;
        if !ns.contains(&r.ns_code) {
            return Err(not_found());
        }
        edit(r, &now)?;
        if !ns.contains(&r.ns_code) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "namespace is not accessible to this client",
            ));
        }
        Ok(r.clone())
    })
    .await;
    match done {
        Ok(r) => {
            audit(cx, call, action, &r.id, "changed");
            tagged(StatusCode::OK, &show(&r, cx.now), &etag(&r))
        }
        Err(r) => r,
    }
}

/// `PUT /authorisation/{id}`: the writable fields the body gives replace the record's.
pub async fn update(
    cx: &Ctx<'_>,
    call: &Call<'_>,
    parts: &http::request::Parts,
    incoming: Incoming,
) -> Response<Body> {
    let f = match object_body(incoming, false).await.and_then(|b| fields(&b)) {
        Ok(f) => f,
        Err(r) => return r.into_response(TV),
    };
    change(cx, call, parts, "authorisation.update", move |r, now| {
        if let Some(k) = f.kind {
            r.kind = k;
        }
        if let Some(s) = f.subject {
            r.subject = s;
        }
        if let Some(o) = f.object {
            r.object = o;
        }
        if f.valid_from.is_some() {
            r.valid_from = f.valid_from;
        }
        if f.valid_to.is_some() {
            r.valid_to = f.valid_to;
        }
        if let Some(n) = f.ns_code {
            r.ns_code = n;
        }
        if f.source.is_some() {
            r.source = f.source;
        }
        if f.author.is_some() {
            r.author = f.author;
        }
        let from = r.valid_from.as_deref().and_then(instant::parse);
        let to = r.valid_to.as_deref().and_then(instant::parse);
        if let (Some(a), Some(b)) = (from, to)
            && a > b
        {
            return Err(bad("validFrom is after validTo"));
        }
        r.meta.last_modified = now.to_owned();
        Ok(())
    })
    .await
}

/// `POST /authorisation/{id}/revoke` with `{"cause": ...}` or no body → 200, revoked.
pub async fn revoke(
    cx: &Ctx<'_>,
    call: &Call<'_>,
    parts: &http::request::Parts,
    incoming: Incoming,
) -> Response<Body> {
    let details = match object_body(incoming, true).await {
        Ok(b) if b.is_empty() => None,
        Ok(b) => Some(Value::Object(b)),
        Err(r) => return r.into_response(TV),
    };
    change(cx, call, parts, "authorisation.revoke", move |r, now| {
        if !r.revoked {
            r.revoked = true;
            r.revoked_at = Some(now.to_owned());
            r.revocation_details = details;
            r.meta.last_modified = now.to_owned();
        }
        Ok(())
    })
    .await
}

/// `DELETE /authorisation/{id}` → 204.
pub async fn delete(cx: &Ctx<'_>, call: &Call<'_>, parts: &http::request::Parts) -> Response<Body> {
    let wanted = match if_match(&parts.headers) {
        Ok(w) => w,
        Err(r) => return r.into_response(TV),
    };
    let id = call.param("id").to_owned();
    let ns = namespaces(cx, call).to_vec();
    let done = commit(cx, call, TV, "authorisation.delete", move |m| {
        let i = find(&m.registry.authorisations, &id, &ns)?;
        check_tag(&wanted, &etag(&m.registry.authorisations[i]))?;
        m.registry.authorisations.remove(i);
        Ok(())
    })
    .await;
    match done {
        Ok(()) => {
            audit(
                cx,
                call,
                "authorisation.delete",
                call.param("id"),
                "deleted",
            );
            no_content()
        }
        Err(r) => r,
    }
}
