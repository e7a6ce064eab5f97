//! `POST /api2/auth-token/`: an account token for a username and password, sent as a form or
//! as a JSON object (and the `X-SEAFILE-OTP` code when the user has 2FA).
//!
//! The password check runs argon2id on a blocking thread, never on the async runtime, and runs
//! for unknown users too (against a fixed hash) so timing does not tell which users exist.
//! Failures are throttled per username and per client address (`throttle`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use crate::incoming::Incoming;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use http::{HeaderValue, Response, StatusCode, header};

use crate::body::Body;
use crate::field;
use crate::issuer::throttle::Throttle;
use crate::issuer::{Ctx, form, json, sign};
use crate::kinds::KeyUse;
use crate::token::Claims;
use crate::token::directory::User;

/// The header SeaTable clients send the 2FA code in.
pub const OTP_HEADER: &str = "x-seafile-otp";

const BAD_LOGIN: &str = "Unable to login with provided credentials.";

/// A hash of a random password, verified for unknown users so they cost the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let pw = hex::encode(rand::random::<[u8; 16]>());
    argon2::Argon2::default()
        .hash_password(pw.as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Log in.
pub async fn login(
    cx: &Ctx<'_>,
    parts: &http::request::Parts,
    incoming: Incoming,
) -> Response<Body> {
    let fields = match form::read(&parts.headers, incoming).await {
        Ok(f) => f,
        Err(_) => return non_field(BAD_LOGIN),
    };
    let (Some(username), Some(password)) = (
        form::field(&fields, "username"),
        form::field(&fields, "password"),
    ) else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"non_field_errors": ["Must include \"username\" and \"password\"."]}),
        );
    };
    let resp = attempt(cx, parts, username, password).await;
    named(resp, &cx.s.directory.users, username)
}

/// A response extension naming the user a login attempt named, when that user exists (a
/// password typed into the username field is never named): the access log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUser(pub String);

/// `resp`, naming `username` for the access log if it is a user.
pub fn named(
    mut resp: Response<Body>,
    users: &HashMap<String, User>,
    username: &str,
) -> Response<Body> {
    if users.contains_key(username) {
        resp.extensions_mut().insert(LoginUser(username.to_owned()));
    }
    resp
}

async fn attempt(
    cx: &Ctx<'_>,
    parts: &http::request::Parts,
    username: &str,
    password: &str,
) -> Response<Body> {
    let gate = Gate {
        users: &cx.s.directory.users,
        throttle: &cx.state.throttle,
        per_user: cx.st.failures_per_user,
        per_address: cx.st.failures_per_address,
        client: cx.client,
        now: cx.now,
    };
    let user = match verify(&gate, &parts.headers, username, password).await {
        Ok(u) => u,
        Err(Failure::Throttled(secs)) => return throttled(secs),
        Err(Failure::Bad) => return non_field(BAD_LOGIN),
        Err(Failure::OtpMissing) => {
            let mut r = non_field("Two factor auth token is missing.");
            r.headers_mut()
                .insert("x-seafile-otp", HeaderValue::from_static("required"));
            return r;
        }
        Err(Failure::OtpInvalid) => return non_field("Two factor auth token is invalid."),
    };
    let claims = Claims::new(
        KeyUse::Account,
        &user.name,
        cx.now,
        cx.st.account_ttl.as_secs(),
    );
    match sign(cx, &claims) {
        Ok(token) => json(StatusCode::OK, serde_json::json!({ "token": token })),
        Err(r) => *r,
    }
}

/// What a password check needs: the users, the shared throttle and its limits, who asks, when.
pub struct Gate<'a> {
    /// Users by login name.
    pub users: &'a HashMap<String, User>,
    /// Failed-login throttle.
    pub throttle: &'a Throttle,
    /// Failures per username per minute before throttling.
    pub per_user: u32,
    /// Failures per client address per minute before throttling.
    pub per_address: u32,
    /// The client's address.
    pub client: IpAddr,
    /// Unix seconds now.
    pub now: i64,
}

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Too many failures: retry after this many seconds.
    Throttled(u64),
    /// Unknown user, wrong password or disabled user (indistinguishable on purpose).
    Bad,
    /// The user has 2FA and no code was sent.
    OtpMissing,
    /// The 2FA code is wrong or already used.
    OtpInvalid,
}

/// Check `username` and `password` (and the `X-SEAFILE-OTP` code of a 2FA user), throttled per
/// username and per client address. Logs the outcome (never the password).
pub async fn verify<'u>(
    gate: &Gate<'u>,
    headers: &http::HeaderMap,
    username: &str,
    password: &str,
) -> Result<&'u User, Failure> {
    let (addr, throttle) = (gate.client, gate.throttle);
    if let Some(wait) = throttle.locked_for(username, addr) {
        // Round up, so a client that obeys Retry-After is not still locked out.
        return Err(Failure::Throttled(
            wait.as_millis().div_ceil(1000).max(1) as u64
        ));
    }
    let user = gate.users.get(username);
    let phc = user.map_or_else(|| DUMMY_HASH.clone(), |u| u.password_phc.clone());
    let pw = password.to_owned();
    let verified = tokio::task::spawn_blocking(move || {
        argon2::Argon2::default()
            .verify_password(pw.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false);
    let fail = || throttle.failed(username, addr, gate.per_user, gate.per_address);
    let Some(user) = user.filter(|u| verified && !u.disabled) else {
        fail();
        // An unknown name is not logged: it is often a password typed into the wrong field.
        match user {
            Some(u) => tracing::info!(user = %u.name, "login failed"),
            None => tracing::info!("login failed: unknown user"),
        }
        return Err(Failure::Bad);
    };
    if let Some(totp) = &user.totp {
        // An unreadable code is no code: the login fails closed either way.
        let code = field::single(headers, OTP_HEADER)
            .ok()
            .flatten()
            .map(str::trim);
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            return Err(Failure::OtpMissing);
        };
        let step = totp.check(code, gate.now.max(0) as u64);
        if !step.is_some_and(|s| throttle.used_codes.claim(&user.name, s)) {
            fail();
            tracing::info!(user = %username, "login failed: bad 2FA code");
            return Err(Failure::OtpInvalid);
        }
    }
    tracing::info!(user = %username, "login succeeded");
    Ok(user)
}

/// The argon2id PHC string of `password` (for `portcullis user hash-password`).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
}

/// A new TOTP secret (base32) and its `otpauth://` URI for `user`.
pub fn new_totp(user: &str) -> Result<(String, String), totp_rs::TotpError> {
    let secret = totp_rs::Secret::generate();
    let totp = totp_rs::Builder::new()
        .with_secret(secret.clone())
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_account_name(user)
        .with_issuer(Some("Portcullis"))
        .build()?;
    Ok((secret.to_base32(), totp.to_url()?))
}

fn non_field(msg: &str) -> Response<Body> {
    json(
        StatusCode::BAD_REQUEST,
        serde_json::json!({ "non_field_errors": [msg] }),
    )
}

fn throttled(secs: u64) -> Response<Body> {
    let mut r = json(
        StatusCode::TOO_MANY_REQUESTS,
        serde_json::json!({"detail": format!("Request was throttled. Expected available in {secs} seconds.")}),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}
