//! Per-base API tokens: list, create, update, delete (SeaTable's `.../api-tokens/` endpoints).
//!
//! Only the base's owner manages them, with an account token. A created token is shown once in
//! the 201 answer; only its digest is stored, in the gateway's own file (`managed`), and it works
//! as soon as the reload that follows the write is applied. `last_access` is when the token last
//! obtained a base token on this node (`issuer::last_access`).

use crate::incoming::Incoming;
use http::{Response, StatusCode};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::body::Body;
use crate::identity;
use crate::issuer::{Call, Ctx, error_msg, form, json as respond_json};
use crate::managed::ManagedError;
use crate::policy::raw::RawApiToken;
use crate::token::directory::{Base, Perm};

/// Longest app name accepted.
pub const MAX_APP_NAME: usize = 255;

/// `GET .../api-tokens/`. Tokens are stored as digests, so the list cannot show them.
pub fn list(cx: &Ctx<'_>, call: &Call<'_>, user: &str) -> Response<Body> {
    let base = match owned_base(cx, call, user) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let tokens: Vec<_> =
        cx.s.directory
            .api_tokens
            .iter()
            .filter(|t| t.base == base.uuid)
            .map(|t| {
                described(
                    &t.app_name,
                    &t.generated_by,
                    &t.generated_at,
                    &last_access(cx, &t.id, &t.generated_at),
                    t.permission.as_str(),
                )
            })
            .collect();
    respond_json(StatusCode::OK, json!({ "api_tokens": tokens }))
}

/// `POST .../api-tokens/` with form `app_name`, `permission`.
pub async fn create(
    cx: &Ctx<'_>,
    parts: &http::request::Parts,
    call: &Call<'_>,
    user: &str,
    incoming: Incoming,
) -> Response<Body> {
    let (base, fields) = match owned_base_with_form(cx, parts, call, user, incoming).await {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let app = form::field(&fields, "app_name")
        .unwrap_or("")
        .trim()
        .to_owned();
    if app.is_empty() || app.len() > MAX_APP_NAME {
        return error_msg(StatusCode::BAD_REQUEST, "app_name invalid.");
    }
    let Some(perm) = form::field(&fields, "permission").and_then(Perm::parse) else {
        return error_msg(StatusCode::BAD_REQUEST, "permission invalid.");
    };
    let secret = hex::encode(rand::random::<[u8; 20]>());
    let now = OffsetDateTime::from_unix_timestamp(cx.now).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let record = RawApiToken {
        base: base.uuid.clone(),
        app_name: app.clone(),
        sha256: hex::encode(identity::digest(&secret)),
        permission: perm.as_str().to_owned(),
        generated_by: user.to_owned(),
        generated_at: now.format(&Rfc3339).unwrap_or_default(),
        disabled: false,
    };
    let shown = json!({
        "app_name": app,
        "api_token": secret,
        "generated_by": record.generated_by,
        "generated_at": record.generated_at,
        "last_access": record.generated_at,
        "permission": record.permission,
    });
    let exists =
        cx.s.directory
            .api_tokens
            .iter()
            .any(|t| t.base == base.uuid && t.app_name == app);
    if exists {
        return error_msg(StatusCode::BAD_REQUEST, &format!("api token {app} exists."));
    }
    let Some(store) = &cx.state.store else {
        return unavailable();
    };
    let uuid = base.uuid.clone();
    let u = uuid.clone();
    let added = store
        .update(move |m| {
            if m.api_tokens
                .iter()
                .any(|t| t.base == u && t.app_name == record.app_name)
            {
                return Err(());
            }
            m.api_tokens.push(record);
            Ok(())
        })
        .await;
    match added {
        Ok(Ok(())) => {
            tracing::info!(user = %user, base = %uuid, app = %app, "API credential created");
            respond_json(StatusCode::CREATED, shown)
        }
        Ok(Err(())) => error_msg(StatusCode::BAD_REQUEST, &format!("api token {app} exists.")),
        Err(e) => failed(cx, e),
    }
}

/// `PUT .../api-tokens/{app_name}/` with form `permission`.
pub async fn update(
    cx: &Ctx<'_>,
    parts: &http::request::Parts,
    call: &Call<'_>,
    user: &str,
    incoming: Incoming,
) -> Response<Body> {
    let (base, fields) = match owned_base_with_form(cx, parts, call, user, incoming).await {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let Some(perm) = form::field(&fields, "permission").and_then(Perm::parse) else {
        return error_msg(StatusCode::BAD_REQUEST, "permission invalid.");
    };
    let app = call.app.unwrap_or("").to_owned();
    let Some(store) = &cx.state.store else {
        return unavailable();
    };
    let uuid = base.uuid.clone();
    let (u, a) = (uuid.clone(), app.clone());
    let updated = store
        .update(move |m| {
            let t = m
                .api_tokens
                .iter_mut()
                .find(|t| t.base == u && t.app_name == a)
                .ok_or(())?;
            t.permission = perm.as_str().to_owned();
            Ok(t.clone())
        })
        .await;
    match updated {
        Ok(Ok(t)) => {
            tracing::info!(user = %user, base = %uuid, app = %app, "API credential updated");
            respond_json(
                StatusCode::OK,
                described(
                    &t.app_name,
                    &t.generated_by,
                    &t.generated_at,
                    &last_access(cx, &api_id(&t.sha256), &t.generated_at),
                    &t.permission,
                ),
            )
        }
        Ok(Err(())) => error_msg(
            StatusCode::NOT_FOUND,
            &format!("api token {app} not found."),
        ),
        Err(e) => failed(cx, e),
    }
}

/// `DELETE .../api-tokens/{app_name}/`.
pub async fn delete(cx: &Ctx<'_>, call: &Call<'_>, user: &str) -> Response<Body> {
    let base = match owned_base(cx, call, user) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let app = call.app.unwrap_or("").to_owned();
    let Some(store) = &cx.state.store else {
        return unavailable();
    };
    let uuid = base.uuid.clone();
    let (u, a) = (uuid.clone(), app.clone());
    let removed = store
        .update(move |m| {
            let before = m.api_tokens.len();
            m.api_tokens.retain(|t| !(t.base == u && t.app_name == a));
            if m.api_tokens.len() < before {
                Ok(())
            } else {
                Err(())
            }
        })
        .await;
    match removed {
        Ok(Ok(())) => {
            tracing::info!(user = %user, base = %uuid, app = %app, "API credential deleted");
            respond_json(StatusCode::OK, json!({ "success": true }))
        }
        Ok(Err(())) => error_msg(
            StatusCode::NOT_FOUND,
            &format!("api token {app} not found."),
        ),
        Err(e) => failed(cx, e),
    }
}

/// The base the call names (if `user` owns it), and the request's form.
async fn owned_base_with_form<'a>(
    cx: &'a Ctx<'_>,
    parts: &http::request::Parts,
    call: &Call<'_>,
    user: &str,
    incoming: Incoming,
) -> Result<(&'a Base, Vec<(String, String)>), Box<Response<Body>>> {
    let base = owned_base(cx, call, user)?;
    let fields = form::read(&parts.headers, incoming)
        .await
        .map_err(|_| Box::new(error_msg(StatusCode::BAD_REQUEST, "Invalid form.")))?;
    Ok((base, fields))
}

/// The base the call names, if `user` owns it.
fn owned_base<'a>(
    cx: &'a Ctx<'_>,
    call: &Call<'_>,
    user: &str,
) -> Result<&'a Base, Box<Response<Body>>> {
    let name = call.name.unwrap_or("");
    let base = call
        .ws
        .and_then(|w| w.parse::<u64>().ok())
        .and_then(|ws| cx.s.directory.base_by_name(ws, name));
    let Some(base) = base else {
        return Err(Box::new(error_msg(
            StatusCode::NOT_FOUND,
            &format!("dtable {name} not found."),
        )));
    };
    if base.owner != user {
        return Err(Box::new(error_msg(
            StatusCode::FORBIDDEN,
            "Permission denied.",
        )));
    }
    Ok(base)
}

/// The id of the API token whose digest is the hex `sha256` (as `policy::tokens` names it).
fn api_id(sha256: &str) -> String {
    format!(
        "api-{}",
        sha256.get(..12).unwrap_or("").to_ascii_lowercase()
    )
}

/// RFC 3339 time API token `id` last obtained a base token on this node; its creation time if
/// it has not since this node started.
fn last_access(cx: &Ctx<'_>, id: &str, generated_at: &str) -> String {
    cx.state
        .last_access
        .get(id)
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| generated_at.to_owned())
}

/// SeaTable's description of an API token (without the token itself).
fn described(app: &str, by: &str, at: &str, last: &str, permission: &str) -> serde_json::Value {
    json!({
        "app_name": app,
        "generated_by": by,
        "generated_at": at,
        "last_access": last,
        "permission": permission,
    })
}

fn unavailable() -> Response<Body> {
    error_msg(
        StatusCode::SERVICE_UNAVAILABLE,
        "API token management is not available on this node.",
    )
}

fn failed(cx: &Ctx<'_>, e: ManagedError) -> Response<Body> {
    if let ManagedError::NotADirectory = e {
        return unavailable();
    }
    if let ManagedError::Unavailable(_) = e {
        tracing::warn!(request_id = %cx.request_id, error = %e, "API credential change refused");
        return error_msg(
            StatusCode::SERVICE_UNAVAILABLE,
            "The shared store is unavailable; nothing was changed, retry later.",
        );
    }
    tracing::error!(request_id = %cx.request_id, error = %e, "API credential change failed");
    error_msg(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}
