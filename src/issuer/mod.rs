//! The issuer: SeaTable-compatible token endpoints answered by the gateway itself.
//!
//! `gateway` asks `resolve` right after canonicalizing; a request for one of these paths (under
//! the policy's `seatable.prefix`) is answered here and never routed or forwarded. Each endpoint
//! checks its own credential (`login` a password, the others an account token, an API token, a
//! temporary token or a link token), mints signed tokens with the policy's key ring, and answers
//! with SeaTable's JSON shapes and error bodies. `api_tokens` persists through `managed`.

pub mod api_tokens;
pub mod form;
pub mod login;
pub mod mint;
pub mod throttle;

use std::sync::LazyLock;

use http::{HeaderValue, Method, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::body::{self, Body};
use crate::canonical::Canonical;
use crate::gateway::{Conn, Gateway};
use crate::policy::Snapshot;
use crate::policy::raw::KeyUse;
use crate::token::Claims;
use crate::token::directory::SeaTable;

/// The endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /api2/auth-token/`: account token from username and password.
    Login,
    /// `GET .../temp-api-token/`: temporary token from an account token.
    TempToken,
    /// `GET /api/v2.1/dtable/app-access-token/`: base token from an API or temporary token.
    AppAccessToken,
    /// `GET .../access-token/`: base token from an account token.
    AccessToken,
    /// `GET /api/v2.1/external-link-tokens/{token}/access-token/`: read-only base token.
    LinkAccessToken,
    /// `GET/POST .../api-tokens/`: list or create API tokens.
    ApiTokens,
    /// `PUT/DELETE .../api-tokens/{app_name}/`: update or delete one.
    ApiToken,
}

impl Endpoint {
    /// A name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Login => "issuer:auth-token",
            Endpoint::TempToken => "issuer:temp-api-token",
            Endpoint::AppAccessToken => "issuer:app-access-token",
            Endpoint::AccessToken => "issuer:access-token",
            Endpoint::LinkAccessToken => "issuer:external-link-access-token",
            Endpoint::ApiTokens => "issuer:api-tokens",
            Endpoint::ApiToken => "issuer:api-token",
        }
    }
}

static ROUTER: LazyLock<matchit::Router<Endpoint>> = LazyLock::new(|| {
    let mut r = matchit::Router::new();
    let ws = "/api/v2.1/workspace/{ws}/dtable/{name}";
    let table = [
        ("/api2/auth-token/".to_owned(), Endpoint::Login),
        (format!("{ws}/temp-api-token/"), Endpoint::TempToken),
        (
            "/api/v2.1/dtable/app-access-token/".to_owned(),
            Endpoint::AppAccessToken,
        ),
        (format!("{ws}/access-token/"), Endpoint::AccessToken),
        (
            "/api/v2.1/external-link-tokens/{token}/access-token/".to_owned(),
            Endpoint::LinkAccessToken,
        ),
        (format!("{ws}/api-tokens/"), Endpoint::ApiTokens),
        (format!("{ws}/api-tokens/{{app}}/"), Endpoint::ApiToken),
    ];
    for (path, ep) in table {
        // The table is fixed and conflict-free; a failure here is a bug caught by the tests.
        let _ = r.insert(path, ep);
    }
    r
});

/// A matched endpoint with its path parameters.
#[derive(Debug)]
pub struct Call<'a> {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// Workspace id.
    pub ws: Option<&'a str>,
    /// Base name.
    pub name: Option<&'a str>,
    /// Link token.
    pub token: Option<&'a str>,
    /// App name.
    pub app: Option<&'a str>,
}

/// The endpoint `path` names, if the SeaTable endpoints are enabled and it is one.
pub fn resolve<'a>(st: &SeaTable, path: &'a str) -> Option<Call<'a>> {
    let rest = path.strip_prefix(st.prefix.as_str())?;
    let m = ROUTER.at(rest).ok()?;
    Some(Call {
        endpoint: *m.value,
        ws: m.params.get("ws"),
        name: m.params.get("name"),
        token: m.params.get("token"),
        app: m.params.get("app"),
    })
}

/// Everything an endpoint needs.
pub struct Ctx<'a> {
    /// The gateway (clock, throttle, managed store).
    pub gw: &'a Gateway,
    /// The current snapshot.
    pub s: &'a Snapshot,
    /// The SeaTable settings.
    pub st: &'a SeaTable,
    /// The connection.
    pub conn: Conn,
}

/// Answer the call.
pub async fn serve(
    cx: Ctx<'_>,
    call: Call<'_>,
    parts: http::request::Parts,
    incoming: Incoming,
    target: &Canonical<'_>,
) -> Response<Body> {
    let m = &parts.method;
    use Endpoint::*;
    match (call.endpoint, m) {
        (Login, &Method::POST) => login::login(&cx, &parts, incoming).await,
        (TempToken, &Method::GET) => mint::temp_token(&cx, &parts, &call),
        (AppAccessToken, &Method::GET) => mint::app_access_token(&cx, &parts, target),
        (AccessToken, &Method::GET) => mint::access_token(&cx, &parts, &call),
        (LinkAccessToken, &Method::GET) => mint::link_access_token(&cx, &call),
        (ApiTokens, &Method::GET) => api_tokens::list(&cx, &parts, &call),
        (ApiTokens, &Method::POST) => api_tokens::create(&cx, &parts, &call, incoming).await,
        (ApiToken, &Method::PUT) => api_tokens::update(&cx, &parts, &call, incoming).await,
        (ApiToken, &Method::DELETE) => api_tokens::delete(&cx, &parts, &call).await,
        _ => json(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"detail": format!("Method \"{m}\" not allowed.")}),
        ),
    }
}

/// A JSON response.
pub fn json(status: StatusCode, v: serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(body::full(v.to_string()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// SeaTable's `{"error_msg": ...}` error.
pub fn error_msg(status: StatusCode, msg: &str) -> Response<Body> {
    json(status, serde_json::json!({ "error_msg": msg }))
}

/// SeaTable's answer to a missing or bad account token.
pub fn invalid_token() -> Response<Body> {
    let mut r = json(
        StatusCode::UNAUTHORIZED,
        serde_json::json!({"detail": "Invalid token"}),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"portcullis\", error=\"invalid_token\""),
    );
    r
}

/// The `Token`/`Bearer` credential of the request.
pub fn bearer(parts: &http::request::Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    let ok = scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer");
    ok.then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The user behind the request's account token, or SeaTable's 401.
pub fn account_user<'a>(
    cx: &'a Ctx<'_>,
    parts: &http::request::Parts,
) -> Result<&'a str, Box<Response<Body>>> {
    let token = bearer(parts).ok_or_else(|| Box::new(invalid_token()))?;
    let claims =
        cx.s.directory
            .verify(token, &[KeyUse::Account], cx.gw.clock.now())
            .map_err(|_| Box::new(invalid_token()))?;
    cx.s.directory
        .users
        .get_key_value(&claims.sub)
        .map(|(name, _)| name.as_str())
        .ok_or_else(|| Box::new(invalid_token()))
}

/// Sign `claims`, or a 500 that names no secret.
pub fn sign(cx: &Ctx<'_>, claims: &Claims) -> Result<String, Box<Response<Body>>> {
    cx.s.directory.keys.sign(claims).map_err(|e| {
        tracing::error!(kind = ?claims.kind, error = %e, "cannot sign token");
        Box::new(error_msg(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        ))
    })
}
