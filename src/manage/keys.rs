//! contract.fit API keys: `{prefix}/auth/api-key` (create, list), `.../{key}` (get, change
//! `active`/`expire_at`, delete) and `.../inbox/{inbox_id}` (create and list inside one inbox,
//! for callers whose rights are limited to it).
//!
//! A key is never broader than its user: each of its role entries lies within one of the
//! user's. The token is returned once, at creation; only its SHA-256 is stored. `{key}` is the
//! key's id or, as contract.fit's own API names keys, the token itself (the route marks the path
//! secret, so logs show the template).

use crate::incoming::Incoming;
use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::Body;
use crate::manage::reply::{
    Refusal, Style, audit, check_tag, commit, if_match, no_content, read_as, read_json, refuse,
    respond, tagged,
};
use crate::manage::roles::check_refs;
use crate::manage::{Call, Ctx};
use crate::registry::instant;
use crate::registry::state::{ApiKey, RoleRef, etag, new_id};
use crate::registry::{Index, State};

const CF: Style = Style::ContractFit;

/// A key as shown (never its token or digest).
fn show(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "user": k.user,
        "active": k.active,
        "roles": k.roles,
        "expire_at": k.expire_at,
        "created_at": k.created_at,
    })
}

/// `GET /auth/api-key` (every key) or `GET /auth/api-key/inbox/{inbox}` (keys with an entry
/// in that inbox).
pub fn list(cx: &Ctx<'_>, inbox: Option<&str>) -> Response<Body> {
    let keys: Vec<Value> =
        cx.s.managed
            .state
            .api_keys
            .iter()
            .filter(|k| inbox.is_none_or(|i| k.roles.iter().any(|r| r.inbox.as_deref() == Some(i))))
            .map(show)
            .collect();
    respond(StatusCode::OK, &Value::Array(keys))
}

/// Position of the key `param` names: by id, else by token.
fn position(ix: &Index, param: &str) -> Option<usize> {
    ix.key_position(param)
        .or_else(|| ix.key_position_by_token(param))
}

/// Position of the key `param` names in a state being changed.
fn position_in(state: &State, param: &str) -> Option<usize> {
    let digest = hex::encode(crate::identity::digest(param));
    state
        .api_keys
        .iter()
        .position(|k| k.id == param || k.sha256 == digest)
}

fn not_found() -> Refusal {
    refuse(StatusCode::NOT_FOUND, "API key does not exist")
}

/// `GET /auth/api-key/{key}`.
pub fn get(cx: &Ctx<'_>, call: &Call<'_>) -> Response<Body> {
    let ix = &cx.s.managed;
    match position(ix, call.param("key")) {
        Some(i) => {
            let k = &ix.state.api_keys[i];
            tagged(StatusCode::OK, &show(k), &etag(k))
        }
        None => not_found().into_response(CF),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    user: String,
    roles: Vec<RoleRef>,
    active: Option<bool>,
    expire_at: Option<String>,
}

/// Check that every entry of a new key lies within its user's roles (403 naming the first that
/// does not) and, on the inbox endpoint, inside that inbox.
fn check_within(state: &State, key: &mut ApiKey, inbox: Option<&str>) -> Result<(), Refusal> {
    let Some(user) = state.users.iter().find(|u| u.id == key.user) else {
        return Err(refuse(StatusCode::NOT_ACCEPTABLE, "User does not exist"));
    };
    if let Some(inbox) = inbox {
        for (n, r) in key.roles.iter_mut().enumerate() {
            match &r.inbox {
                None => r.inbox = Some(inbox.to_owned()),
                Some(i) if i == inbox => {}
                Some(_) => {
                    return Err(refuse(
                        StatusCode::FORBIDDEN,
                        format!("roles[{n}] names another inbox than {inbox}"),
                    ));
                }
            }
        }
    }
    check_refs(&state.roles, &key.roles)?;
    for (n, r) in key.roles.iter().enumerate() {
        if !user.roles.iter().any(|outer| r.within(outer)) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "roles[{n}] ({}) is broader than the user's roles",
                    serde_json::to_string(r).unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

/// `POST /auth/api-key` or `POST /auth/api-key/inbox/{inbox}` `{user, roles, active?,
/// expire_at?}` → 201 with the token, shown this once.
pub async fn create(
    cx: &Ctx<'_>,
    call: &Call<'_>,
    inbox: Option<&str>,
    incoming: Incoming,
) -> Response<Body> {
    let new: NewKey = match read_as(incoming).await {
        Ok(n) => n,
        Err(r) => return r.into_response(CF),
    };
    if new.roles.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "roles must name at least one role")
            .into_response(CF);
    }
    if let Some(t) = &new.expire_at
        && instant::parse(t).is_none()
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("expire_at `{t}` is not a date and time"),
        )
        .into_response(CF);
    }
    let token = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    };
    let key = ApiKey {
        id: new_id(),
        sha256: hex::encode(crate::identity::digest(&token)),
        user: new.user,
        active: new.active.unwrap_or(true),
        roles: new.roles,
        expire_at: new.expire_at,
        created_at: instant::format(cx.now),
    };
    let inbox = inbox.map(str::to_owned);
    let done = commit(cx, call, CF, "api_key.create", move |m| {
        let mut key = key;
        check_within(&m.registry, &mut key, inbox.as_deref())?;
        m.registry.api_keys.push(key.clone());
        Ok(key)
    })
    .await;
    match done {
        Ok(key) => {
            audit(cx, call, "api_key.create", &key.id, "created");
            let mut shown = show(&key);
            shown["token"] = Value::String(token);
            tagged(StatusCode::CREATED, &shown, &etag(&key))
        }
        Err(r) => r,
    }
}

/// `PATCH /auth/api-key/{key}`: `active` and `expire_at` only. Roles are never changed: a key
/// with other roles is a new key.
pub async fn update(
    cx: &Ctx<'_>,
    call: &Call<'_>,
    parts: &http::request::Parts,
    incoming: Incoming,
) -> Response<Body> {
    let wanted = match if_match(&parts.headers) {
        Ok(w) => w,
        Err(r) => return r.into_response(CF),
    };
    let body = match read_json(incoming).await {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return refuse(StatusCode::BAD_REQUEST, "expected a JSON object").into_response(CF);
        }
        Err(r) => return r.into_response(CF),
    };
    let mut active = None;
    let mut expire_at: Option<Option<String>> = None;
    for (name, v) in &body {
        match (name.as_str(), v) {
            ("roles", _) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "the roles of a key cannot be changed: create a new key and delete the old one",
                )
                .into_response(CF);
            }
            ("active", Value::Bool(b)) => active = Some(*b),
            ("expire_at", Value::Null) => expire_at = Some(None),
            ("expire_at", Value::String(t)) if instant::parse(t).is_some() => {
                expire_at = Some(Some(t.clone()))
            }
            ("active" | "expire_at", _) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("{name} has an invalid value"),
                )
                .into_response(CF);
            }
            _ => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("unknown field `{name}`: only active and expire_at can change"),
                )
                .into_response(CF);
            }
        }
    }
    let param = call.param("key").to_owned();
    let done = commit(cx, call, CF, "api_key.update", move |m| {
        let i = position_in(&m.registry, &param).ok_or_else(not_found)?;
        let k = &mut m.registry.api_keys[i];
        check_tag(&wanted, &etag(&*k))?;
        if let Some(a) = active {
            k.active = a;
        }
        if let Some(e) = expire_at {
            k.expire_at = e;
        }
        Ok(k.clone())
    })
    .await;
    match done {
        Ok(k) => {
            audit(cx, call, "api_key.update", &k.id, "updated");
            tagged(StatusCode::OK, &show(&k), &etag(&k))
        }
        Err(r) => r,
    }
}

/// `DELETE /auth/api-key/{key}` → 204; the key is refused from the next request on.
pub async fn delete(cx: &Ctx<'_>, call: &Call<'_>, parts: &http::request::Parts) -> Response<Body> {
    let wanted = match if_match(&parts.headers) {
        Ok(w) => w,
        Err(r) => return r.into_response(CF),
    };
    let param = call.param("key").to_owned();
    let done = commit(cx, call, CF, "api_key.delete", move |m| {
        let i = position_in(&m.registry, &param).ok_or_else(not_found)?;
        check_tag(&wanted, &etag(&m.registry.api_keys[i]))?;
        Ok(m.registry.api_keys.remove(i).id)
    })
    .await;
    match done {
        Ok(id) => {
            audit(cx, call, "api_key.delete", &id, "deleted");
            no_content()
        }
        Err(r) => r,
    }
}
