//! `POST {prefix}/auth` (contract.fit): `{"username", "password"}` of a policy user → 200
//! `{"authentication_token": <account token>}`; wrong credentials → 401. The password check and
//! its throttle are the SeaTable login's (`issuer::login::verify`), so one throttle counts the
//! failures of both.

use crate::incoming::Incoming;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::body::Body;
use crate::issuer::form;
use crate::issuer::login::{Failure, Gate, verify};
use crate::kinds::KeyUse;
use crate::manage::Ctx;
use crate::manage::reply::{Style, refuse, respond};
use crate::token::Claims;

/// Log in.
pub async fn login(
    cx: &Ctx<'_>,
    parts: &http::request::Parts,
    incoming: Incoming,
) -> Response<Body> {
    let Some(cf) = &cx.s.management.contractfit else {
        return bad();
    };
    let Ok(fields) = form::read(&parts.headers, incoming).await else {
        return malformed();
    };
    let (Some(username), Some(password)) = (
        form::field(&fields, "username"),
        form::field(&fields, "password"),
    ) else {
        return malformed();
    };
    let resp = attempt(cx, parts, cf, username, password).await;
    crate::issuer::login::named(resp, &cx.s.directory.users, username)
}

fn bad() -> Response<Body> {
    refuse(StatusCode::UNAUTHORIZED, "Invalid username or password")
        .into_response(Style::ContractFit)
}

fn malformed() -> Response<Body> {
    refuse(
        StatusCode::BAD_REQUEST,
        "expected {\"username\", \"password\"}",
    )
    .into_response(Style::ContractFit)
}

async fn attempt(
    cx: &Ctx<'_>,
    parts: &http::request::Parts,
    cf: &crate::policy::management::ContractFit,
    username: &str,
    password: &str,
) -> Response<Body> {
    let gate = Gate {
        users: &cx.s.directory.users,
        throttle: cx.throttle,
        per_user: cf.failures_per_user,
        per_address: cf.failures_per_address,
        client: cx.client,
        now: cx.now,
    };
    let user = match verify(&gate, &parts.headers, username, password).await {
        Ok(u) => u,
        Err(Failure::Throttled(secs)) => {
            let mut r = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed logins; retry in {secs} seconds"),
            )
            .into_response(Style::ContractFit);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Err(Failure::Bad | Failure::OtpMissing | Failure::OtpInvalid) => return bad(),
    };
    let claims = Claims::new(KeyUse::Account, &user.name, cx.now, cf.token_ttl.as_secs());
    match cx.s.directory.keys.sign(&claims) {
        Ok(token) => respond(StatusCode::OK, &json!({ "authentication_token": token })),
        Err(e) => {
            tracing::error!(request_id = %cx.request_id, error = %e, "cannot sign token");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                .into_response(Style::ContractFit)
        }
    }
}
