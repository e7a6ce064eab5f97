//! Minting: temporary tokens and base tokens, from account tokens, API tokens, temporary tokens
//! and external link tokens.
//!
//! A base token carries the base uuid and `rw`/`r`; `identity` turns it into a base authority and
//! `authz` checks it against the route's `base` resource. Tokens minted from an API token or a
//! link carry its id in `src`, so disabling or deleting it revokes them on the next reload, and
//! an API token changed to `r` makes them read-only (`token::directory`). A base whose
//! `token_shape` is `seatable` gets its base tokens in SeaTable's shape (`token::seatable`), for
//! a real dtable-server behind the gateway. Each exchange of an API token is recorded as its
//! `last_access` (`issuer::last_access`).

use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::body::Body;
use crate::identity::{self, Authority, Principal};
use crate::issuer::{Call, Ctx, error_msg, sign, sign_seatable};
use crate::kinds::{CredentialKind, KeyUse, TokenShape};
use crate::token::Claims;
use crate::token::directory::{Base, Perm};

const DENIED: &str = "Permission denied.";

/// `GET .../temp-api-token/`, for an account token's `user`.
pub fn temp_token(cx: &Ctx<'_>, call: &Call<'_>, user: &str) -> Response<Body> {
    let base = match user_base(cx, call, user) {
        Ok((b, _)) => b,
        Err(r) => return *r,
    };
    let mut c = Claims::new(
        KeyUse::Temporary,
        user,
        cx.now,
        cx.st.temporary_ttl.as_secs(),
    );
    c.dtable_uuid = Some(base.uuid.clone());
    match sign(cx, &c) {
        Ok(t) => super::json(StatusCode::OK, json!({ "api_token": t })),
        Err(r) => *r,
    }
}

/// `GET /api/v2.1/dtable/app-access-token/`, for an API token or a temporary token (the route
/// accepts no other kind; the pipeline has verified it, expiry and revocation included).
pub fn app_access_token(cx: &Ctx<'_>, who: &Principal<'_>) -> Response<Body> {
    let d = &cx.s.directory;
    let Authority::Base { uuid, .. } = who.authority() else {
        return error_msg(StatusCode::FORBIDDEN, DENIED);
    };
    let Some(base) = d.bases.get(uuid) else {
        return error_msg(StatusCode::FORBIDDEN, DENIED);
    };
    match who.kind() {
        CredentialKind::Temporary => {
            let Some((user, perm)) = who
                .user()
                .and_then(|u| base.permission_of(u).map(|p| (u, p)))
            else {
                return error_msg(StatusCode::FORBIDDEN, DENIED);
            };
            let mut c = base_claims(cx, base, perm, user);
            c.username = Some(user.to_owned());
            respond(cx, base, &c, None)
        }
        CredentialKind::ApiToken => {
            let Some(tok) = d.api_token_by_id(who.id()) else {
                return error_msg(StatusCode::FORBIDDEN, DENIED);
            };
            let mut c = base_claims(cx, base, tok.permission, &format!("app:{}", tok.app_name));
            c.app_name = Some(tok.app_name.clone());
            c.username = Some(String::new());
            c.src = Some(format!("api:{}", tok.id));
            let resp = respond(cx, base, &c, Some(&tok.app_name));
            if resp.status() == StatusCode::OK {
                cx.state.last_access.record(&tok.id, cx.now);
            }
            resp
        }
        CredentialKind::ApiKey
        | CredentialKind::Account
        | CredentialKind::Base
        | CredentialKind::ClientCertificate
        | CredentialKind::ManagementClient => error_msg(StatusCode::FORBIDDEN, DENIED),
    }
}

/// `GET .../access-token/`, for an account token's `user`.
pub fn access_token(cx: &Ctx<'_>, call: &Call<'_>, user: &str) -> Response<Body> {
    let (base, perm) = match user_base(cx, call, user) {
        Ok(bp) => bp,
        Err(r) => return *r,
    };
    let mut c = base_claims(cx, base, perm, user);
    c.username = Some(user.to_owned());
    respond(cx, base, &c, None)
}

/// `GET /api/v2.1/external-link-tokens/{token}/access-token/`: read-only.
pub fn link_access_token(cx: &Ctx<'_>, call: &Call<'_>) -> Response<Body> {
    let d = &cx.s.directory;
    let link = call
        .token
        .map(identity::digest)
        .and_then(|dg| d.links.get(&dg))
        .filter(|l| !l.disabled);
    let Some(link) = link else {
        return error_msg(StatusCode::NOT_FOUND, "Link not found.");
    };
    let Some(base) = d.bases.get(&link.base) else {
        return error_msg(StatusCode::NOT_FOUND, "Link not found.");
    };
    let mut c = base_claims(cx, base, Perm::Read, &format!("link:{}", link.id));
    c.username = Some(String::new());
    c.src = Some(format!("link:{}", link.id));
    respond(cx, base, &c, None)
}

/// The base a workspace/name call names, and `user`'s permission on it.
fn user_base<'a>(
    cx: &'a Ctx<'_>,
    call: &Call<'_>,
    user: &str,
) -> Result<(&'a Base, Perm), Box<Response<Body>>> {
    let name = call.name.unwrap_or("");
    let ws = call.ws.and_then(|w| w.parse::<u64>().ok());
    let base = ws.and_then(|ws| cx.s.directory.base_by_name(ws, name));
    let Some(base) = base else {
        return Err(Box::new(error_msg(
            StatusCode::NOT_FOUND,
            &format!("dtable {name} not found."),
        )));
    };
    match base.permission_of(user) {
        Some(p) => Ok((base, p)),
        None => Err(Box::new(error_msg(StatusCode::FORBIDDEN, DENIED))),
    }
}

fn base_claims(cx: &Ctx<'_>, base: &Base, perm: Perm, sub: &str) -> Claims {
    let mut c = Claims::new(KeyUse::Base, sub, cx.now, cx.st.base_ttl.as_secs());
    c.dtable_uuid = Some(base.uuid.clone());
    c.permission = Some(perm.as_str().to_owned());
    c
}

/// SeaTable's access-token answer. `dtable_db` is a string or absent, never null;
/// `use_api_gateway` appears when the base is configured for it.
fn respond(cx: &Ctx<'_>, base: &Base, claims: &Claims, app_name: Option<&str>) -> Response<Body> {
    let signed = match base.token_shape {
        TokenShape::Portcullis => sign(cx, claims),
        TokenShape::Seatable => sign_seatable(cx, claims, &base.owner),
    };
    let token = match signed {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut v = json!({
        "access_token": token,
        "dtable_uuid": base.uuid,
        "dtable_server": base.dtable_server,
        "dtable_socket": base.dtable_socket,
        "workspace_id": base.workspace_id,
        "dtable_name": base.name,
    });
    let obj = v.as_object_mut().expect("json! object");
    if let Some(app) = app_name {
        obj.insert("app_name".into(), Value::from(app));
    }
    if let Some(db) = &base.dtable_db {
        obj.insert("dtable_db".into(), Value::from(db.as_str()));
    }
    if base.use_api_gateway {
        obj.insert("use_api_gateway".into(), Value::from(true));
    }
    super::json(StatusCode::OK, v)
}
