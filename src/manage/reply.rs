//! What the management endpoints share: their two error shapes (contract.fit's
//! `{"message"}`, onePortal's `{"errorMessage"}`), JSON bodies read under a limit, entity tags
//! and `If-Match`, the audit line, and `commit`, which runs one change through the store.

use crate::incoming::Incoming;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::body::{self, Body};
use crate::field;
use crate::manage::{Call, Ctx};
use crate::managed::{Managed, ManagedError};

/// Largest JSON body a management endpoint reads.
pub const MAX_BODY: usize = 1024 * 1024;

/// How long a body may pause between bytes.
const BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Whose error shape a response takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `{"message": ...}`.
    ContractFit,
    /// `{"errorMessage": ...}`.
    Trivore,
}

/// A refused call: its status and what to tell the caller (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status.
    pub status: StatusCode,
    /// Why.
    pub message: String,
}

/// A refusal with `status` and `message`.
pub fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

impl Refusal {
    /// As a response in `style`.
    pub fn into_response(self, style: Style) -> Response<Body> {
        let body = match style {
            Style::ContractFit => json!({ "message": self.message }),
            Style::Trivore => json!({ "errorMessage": self.message }),
        };
        respond(self.status, &body)
    }
}

/// A JSON response.
pub fn respond(status: StatusCode, v: &Value) -> Response<Body> {
    crate::issuer::json(status, v.clone())
}

/// A JSON response carrying `etag`.
pub fn tagged(status: StatusCode, v: &Value, etag: &str) -> Response<Body> {
    let mut r = respond(status, v);
    if let Ok(t) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, t);
    }
    r
}

/// 204 No Content.
pub fn no_content() -> Response<Body> {
    let mut r = Response::new(body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// Read the body as JSON; an empty body is `Null`. Anything unreadable is a 400.
pub async fn read_json(incoming: Incoming) -> Result<Value, Refusal> {
    let bytes = body::limited(incoming, MAX_BODY, BODY_IDLE)
        .collect()
        .await
        .map_err(|_| refuse(StatusCode::PAYLOAD_TOO_LARGE, "the body is too large"))?
        .to_bytes();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

/// Read the body as `T` (unknown fields refused where `T` says so).
pub async fn read_as<T: serde::de::DeserializeOwned>(incoming: Incoming) -> Result<T, Refusal> {
    let v = read_json(incoming).await?;
    serde_json::from_value(v).map_err(|e| refuse(StatusCode::BAD_REQUEST, e.to_string()))
}

/// The `If-Match` tags of a request (`None`: no precondition). Unreadable: 400.
pub fn if_match(headers: &HeaderMap) -> Result<Option<Vec<String>>, Refusal> {
    let value = field::single(headers, header::IF_MATCH)
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "If-Match is unreadable"))?;
    Ok(value.map(|v| v.split(',').map(|t| t.trim().to_owned()).collect()))
}

/// Check a precondition against the current tag: a stale tag is 412, so a concurrent change is
/// never overwritten.
pub fn check_tag(wanted: &Option<Vec<String>>, current: &str) -> Result<(), Refusal> {
    match wanted {
        Some(tags) if !tags.iter().any(|t| t == "*" || t == current) => Err(refuse(
            StatusCode::PRECONDITION_FAILED,
            "the record was changed since it was read (stale If-Match)",
        )),
        _ => Ok(()),
    }
}

/// One audit line: who did what to which id, and how it ended. Never a secret.
pub fn audit(cx: &Ctx<'_>, call: &Call<'_>, action: &str, id: &str, outcome: &str) {
    tracing::info!(
        target: "portcullis::audit",
        request_id = %cx.request_id,
        caller = %call.caller(),
        action,
        id,
        outcome,
        "management"
    );
}

/// Run `change` through the store: durable and live when it returns `Ok`; a refusal, a state
/// that does not compile or a storage failure is the response to send (and is audited).
pub async fn commit<T: Send + 'static>(
    cx: &Ctx<'_>,
    call: &Call<'_>,
    style: Style,
    action: &str,
    change: impl FnOnce(&mut Managed) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Response<Body>> {
    let Some(store) = cx.store else {
        audit(cx, call, action, "-", "unavailable");
        return Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "management writes need a policy directory",
        )
        .into_response(style));
    };
    match store.update(change).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(r)) => {
            audit(cx, call, action, "-", "refused");
            Err(r.into_response(style))
        }
        Err(ManagedError::Refused(faults)) => {
            audit(cx, call, action, "-", "refused");
            let msg = faults
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            Err(refuse(StatusCode::BAD_REQUEST, msg).into_response(style))
        }
        Err(ManagedError::NotADirectory) => {
            audit(cx, call, action, "-", "unavailable");
            Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "management writes need a policy directory",
            )
            .into_response(style))
        }
        Err(ManagedError::Unavailable(why)) => {
            audit(cx, call, action, "-", "unavailable");
            tracing::warn!(request_id = %cx.request_id, error = %why, "management write refused: store unavailable");
            Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the shared store is unavailable; nothing was changed, retry later",
            )
            .into_response(style))
        }
        Err(e) => {
            audit(cx, call, action, "-", "failed");
            tracing::error!(request_id = %cx.request_id, error = %e, "management write failed");
            Err(refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the change could not be stored",
            )
            .into_response(style))
        }
    }
}
