//! The issuer: SeaTable-compatible token endpoints answered by the gateway itself.
//!
//! Each endpoint is a built-in route (`builtin::SEATABLE`): the pipeline has already matched it,
//! extracted and validated the credential and decided, and hands `serve` the `Permit` with
//! everything else the endpoint needs in `Ctx`. The endpoints never see the pipeline. `login`
//! checks a password, the link endpoint a link token in the path; the others act for the
//! permit's principal (an account token's user, an API token or a temporary token), narrow by
//! base, mint signed tokens with the policy's key ring, and answer in SeaTable's JSON shapes.
//! `api_tokens` persists through `managed`.

pub mod api_tokens;
pub mod form;
pub mod last_access;
pub mod login;
pub mod mint;
pub mod throttle;

use std::net::IpAddr;
use std::sync::Arc;

use crate::incoming::Incoming;
use http::{HeaderValue, Response, StatusCode, header};

use crate::authz::Permit;
use crate::body::{self, Body};
use crate::builtin::Endpoint;
use crate::managed::Store;
use crate::policy::Snapshot;
use crate::token::Claims;
use crate::token::directory::SeaTable;

/// State of the token endpoints that outlives snapshots.
#[derive(Debug, Default)]
pub struct State {
    /// Failed-login throttle, shared by every worker of the process.
    pub throttle: Arc<throttle::Throttle>,
    /// Where API token changes are written (`None`: management endpoints answer 503).
    pub store: Option<Arc<Store>>,
    /// When each API token last obtained a base token, shared by every worker of the process.
    pub last_access: Arc<last_access::LastAccess>,
}

/// Path parameters of a call, read from the permit's resource values.
#[derive(Debug, Default)]
pub struct Call<'a> {
    /// Workspace id.
    pub ws: Option<&'a str>,
    /// Base name.
    pub name: Option<&'a str>,
    /// Link token.
    pub token: Option<&'a str>,
    /// App name.
    pub app: Option<&'a str>,
}

impl<'a> Call<'a> {
    fn of(permit: &Permit<'a>) -> Self {
        let mut call = Call::default();
        for &(name, value) in permit.route().resources() {
            match name {
                "ws" => call.ws = Some(value),
                "name" => call.name = Some(value),
                "token" => call.token = Some(value),
                "app" => call.app = Some(value),
                _ => {}
            }
        }
        call
    }
}

/// Everything an endpoint needs besides the request.
pub struct Ctx<'a> {
    /// The current snapshot.
    pub s: &'a Snapshot,
    /// The SeaTable settings.
    pub st: &'a SeaTable,
    /// This request's id, for error log lines.
    pub request_id: &'a str,
    /// State that outlives snapshots.
    pub state: &'a State,
    /// Unix seconds now.
    pub now: i64,
    /// The client's address (after trusted-proxy resolution), for the login throttle.
    pub client: IpAddr,
}

/// Answer a permitted call of `endpoint`.
pub async fn serve(
    cx: Ctx<'_>,
    endpoint: Endpoint,
    permit: Permit<'_>,
    parts: http::request::Parts,
    incoming: Incoming,
) -> Response<Body> {
    let call = Call::of(&permit);
    let who = permit.principal();
    // The account-token endpoints accept only account tokens, so their permits carry a user.
    let user = who.and_then(|p| p.user());
    use Endpoint::*;
    match (endpoint, user) {
        (Login, _) => login::login(&cx, &parts, incoming).await,
        (LinkAccessToken, _) => mint::link_access_token(&cx, &call),
        (AppAccessToken, _) => match who {
            Some(p) => mint::app_access_token(&cx, p),
            None => error_msg(StatusCode::FORBIDDEN, "Permission denied."),
        },
        (TempToken, Some(u)) => mint::temp_token(&cx, &call, u),
        (AccessToken, Some(u)) => mint::access_token(&cx, &call, u),
        (ListApiTokens, Some(u)) => api_tokens::list(&cx, &call, u),
        (CreateApiToken, Some(u)) => api_tokens::create(&cx, &parts, &call, u, incoming).await,
        (UpdateApiToken, Some(u)) => api_tokens::update(&cx, &parts, &call, u, incoming).await,
        (DeleteApiToken, Some(u)) => api_tokens::delete(&cx, &call, u).await,
        (
            TempToken | AccessToken | ListApiTokens | CreateApiToken | UpdateApiToken
            | DeleteApiToken,
            None,
        ) => invalid_token(),
        // The gateway hands management endpoints to `manage`, never here.
        (Manage(_), _) => error_msg(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
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

/// Sign `claims`, or a 500 that names no secret.
pub fn sign(cx: &Ctx<'_>, claims: &Claims) -> Result<String, Box<Response<Body>>> {
    signed(cx, claims, cx.s.directory.keys.sign(claims))
}

/// Sign base-token `claims` in SeaTable's shape for a base owned by `owner`, or a 500.
pub fn sign_seatable(
    cx: &Ctx<'_>,
    claims: &Claims,
    owner: &str,
) -> Result<String, Box<Response<Body>>> {
    signed(cx, claims, cx.s.directory.keys.sign_seatable(claims, owner))
}

fn signed(
    cx: &Ctx<'_>,
    claims: &Claims,
    result: Result<String, crate::token::TokenError>,
) -> Result<String, Box<Response<Body>>> {
    result.map_err(|e| {
        tracing::error!(request_id = %cx.request_id, kind = ?claims.kind, error = %e, "cannot sign token");
        Box::new(error_msg(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        ))
    })
}
