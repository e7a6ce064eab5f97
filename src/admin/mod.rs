//! The admin listener (loopback by default, its own port): `/healthz`, `/readyz`, `/status`,
//! `POST /reload`, `/metrics` (Prometheus text), `POST /logs/reopen` (the access-log file, for
//! logrotate), the read-only views of `views`: `/routes`, `/keys`, `/users`, `/denials` and
//! `POST /decide`, and `/dashboard`, a page over all of them (`dashboard.html`, embedded).
//!
//! `/readyz` answers 200 only while a valid policy is loaded. `/status` shows the generation,
//! the policy's SHA-256, when it was loaded and the last reload error, so drift across a fleet
//! shows, and each TLS listener's last certificate reload error (`tls`). It never shows a
//! secret: the policy status holds digests and ids only, a certificate error file paths.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use crate::access_log::AccessLog;
use crate::body::{self, Body};
use crate::denials::Denials;
use crate::metrics::Metrics;
use crate::policy::Snapshot;
use crate::ratelimit::RateLimiter;
use crate::reload::{Outcome, Reloader};
use crate::tls::reload::ListenerStatus;

mod views;

/// `GET /limits`: tracked buckets and failure windows, and each key quota's usage and what is left
/// (key ids only, never a secret).
fn limits_report(limits: &RateLimiter, s: Option<&Snapshot>, now: i64) -> serde_json::Value {
    let mut quotas = serde_json::Map::new();
    for key in s.iter().flat_map(|s| s.keys.iter()) {
        let Some(q) = key.grants().quota else {
            continue;
        };
        let used = limits.quotas.usage(key.id(), now);
        quotas.insert(
            key.id().to_owned(),
            serde_json::json!({
                "total": q.total,
                "per_day": q.per_day,
                "used_total": used.total,
                "used_today": used.today,
                "remaining_total": q.total.map(|t| t.saturating_sub(used.total)),
                "remaining_today": q.per_day.map(|d| d.saturating_sub(used.today)),
            }),
        );
    }
    serde_json::json!({
        "tracked_buckets": limits.backend.tracked(),
        "failure_windows": limits.failures.tracked(),
        "quotas": quotas,
    })
}

/// Most open connections on the admin listener.
pub const ADMIN_MAX_CONNECTIONS: usize = 64;

/// What the admin endpoints report on.
#[derive(Debug)]
pub struct Admin {
    /// The policy and its reloads.
    pub reloader: Arc<Reloader>,
    /// Rate-limit buckets and quotas.
    pub limits: Arc<RateLimiter>,
    /// Each TLS listener's certificate state.
    pub tls: Arc<[ListenerStatus]>,
    /// Set when shutdown began: `/readyz` answers 503 so load balancers stop sending.
    pub draining: Arc<AtomicBool>,
    /// What `/metrics` serves.
    pub metrics: Arc<Metrics>,
    /// The access log `POST /logs/reopen` reopens, when it is on.
    pub access_log: Option<Arc<AccessLog>>,
    /// The shadow policy's reloader, when one is configured (`/status` shows it).
    pub shadow: Option<Arc<Reloader>>,
    /// Recent denials, recorded by the gateway.
    pub denials: Arc<Denials>,
    /// The shared store's state, when the store is PostgreSQL: `/readyz` waits for its first
    /// read, `/status` and `/metrics` show its revision and age.
    pub store: Option<Arc<crate::store::Status>>,
}

/// Serve the admin endpoints on `listener` until `shutdown` resolves.
pub async fn run(listener: TcpListener, admin: Arc<Admin>, shutdown: impl Future<Output = ()>) {
    // A few operators and scrapers, never thousands: bounded like the public listeners.
    let slots = Arc::new(tokio::sync::Semaphore::new(ADMIN_MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => return,
            },
            () = &mut shutdown => return,
        };
        let (stream, _) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off, never spin.
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let admin = Arc::clone(&admin);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let admin = Arc::clone(&admin);
                async move { Ok::<_, Infallible>(route(&admin, req).await) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

async fn route(admin: &Admin, req: Request<Incoming>) -> Response<Body> {
    let (reloader, limits, tls) = (&admin.reloader, &*admin.limits, &*admin.tls);
    let policy = &reloader.policy;
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/limits") => json(
            StatusCode::OK,
            limits_report(limits, policy.current().as_deref(), reloader.clock.now()),
        ),
        (&Method::GET, "/healthz") => json(StatusCode::OK, serde_json::json!({"status": "ok"})),
        (&Method::GET, "/readyz") if admin.draining.load(Ordering::Relaxed) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"ready": false, "draining": true}),
        ),
        (&Method::GET, "/readyz") => match policy.current() {
            Some(_) if store_waits(admin).is_some() => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"ready": false, "store": store_waits(admin)}),
            ),
            Some(s) => json(
                StatusCode::OK,
                serde_json::json!({"ready": true, "generation": s.generation}),
            ),
            None => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"ready": false}),
            ),
        },
        (&Method::GET, "/status") => {
            let mut v = status(reloader, tls);
            v["store"] = match &admin.store {
                Some(s) => s.report(),
                None => serde_json::json!({"kind": "file"}),
            };
            if let Some(shadow) = &admin.shadow {
                let s = status(shadow, &[]);
                v["shadow"] = serde_json::json!({
                    "generation": s["generation"],
                    "sha256": s["sha256"],
                    "loaded_at": s["loaded_at"],
                    "errors": s["errors"],
                    "policy_path": s["policy_path"],
                });
            }
            json(StatusCode::OK, v)
        }
        (&Method::POST, "/reload") => match reloader.reload_async().await {
            Outcome::Applied { generation } => json(
                StatusCode::OK,
                serde_json::json!({"outcome": "applied", "generation": generation}),
            ),
            Outcome::Unchanged => json(StatusCode::OK, serde_json::json!({"outcome": "unchanged"})),
            Outcome::Rejected(e) => json(
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({
                    "outcome": "rejected",
                    "errors": e.0.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                }),
            ),
        },
        (&Method::GET, "/metrics") => {
            let mut text = admin.metrics.render(&policy.status());
            // Before the OpenMetrics terminator, when there is one.
            let at = text.rfind("# EOF").unwrap_or(text.len());
            if let Some(errors) = limits.backend.errors() {
                text.insert_str(
                    at,
                    &format!(
                        "# HELP portcullis_ratelimit_backend_errors Rate-limit checks the shared backend did not answer in time (decided by its fail mode).\n\
                         # TYPE portcullis_ratelimit_backend_errors counter\n\
                         portcullis_ratelimit_backend_errors_total {errors}\n"
                    ),
                );
            }
            if let Some(store) = &admin.store {
                let at = text.rfind("# EOF").unwrap_or(text.len());
                text.insert_str(at, &store.metrics());
            }
            let mut resp = Response::new(body::full(text));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static(
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                ),
            );
            resp
        }
        (&Method::POST, "/logs/reopen") => reopen(admin.access_log.clone()).await,
        (&Method::GET, "/" | "/dashboard") => dashboard(),
        (&Method::GET, "/denials") => json(StatusCode::OK, views::denials(&admin.denials)),
        (&Method::GET, "/routes" | "/keys" | "/users") => {
            let Some(s) = policy.current() else {
                return json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    serde_json::json!({"error": "no_policy"}),
                );
            };
            let v = match req.uri().path() {
                "/routes" => views::routes(&s),
                "/keys" => views::keys(&s, reloader.clock.now()),
                _ => views::users(&s),
            };
            json(StatusCode::OK, v)
        }
        (&Method::POST, "/decide") => decide(admin, req).await,
        (
            _,
            "/healthz" | "/readyz" | "/status" | "/reload" | "/limits" | "/metrics"
            | "/logs/reopen" | "/routes" | "/keys" | "/users" | "/denials" | "/decide"
            | "/dashboard",
        ) => json(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"error": "method_not_allowed"}),
        ),
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "not_found"}),
        ),
    }
}

/// `GET /status`: the policy's generation, SHA-256 and load time, the last reload's errors (the
/// shape `POST /reload` answers), warnings, and each TLS listener's certificate state. Times are
/// RFC 3339.
fn status(reloader: &Reloader, tls: &[ListenerStatus]) -> serde_json::Value {
    let policy = &reloader.policy;
    let status = policy.status();
    let warnings: Vec<String> = policy
        .current()
        .map(|s| s.warnings.iter().map(|w| w.to_string()).collect())
        .unwrap_or_default();
    serde_json::json!({
        "generation": status.generation,
        "sha256": status.sha256,
        "loaded_at": status.loaded_at.map(rfc3339),
        "errors": reloader.errors(),
        "last_error_at": status.last_error_at.map(rfc3339),
        "policy_path": reloader.path.display().to_string(),
        "warnings": warnings,
        "tls": tls.iter().map(ListenerStatus::report).collect::<Vec<_>>(),
    })
}

/// Why the shared store keeps the node from being ready (it has not read the state yet).
fn store_waits(admin: &Admin) -> Option<String> {
    admin.store.as_ref().and_then(|s| s.ready().err())
}

use views::rfc3339;

/// The dashboard: one page, embedded in the binary, no external assets; its script reads the
/// other admin endpoints.
const DASHBOARD: &str = include_str!("dashboard.html");

fn dashboard() -> Response<Body> {
    let mut resp = Response::new(body::full(DASHBOARD));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        http::HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    resp
}

/// `POST /decide`: explain a hypothetical request (JSON body, at most 64 KiB).
async fn decide(admin: &Admin, req: Request<Incoming>) -> Response<Body> {
    use http_body_util::BodyExt;
    let bad = |e: String| json(StatusCode::BAD_REQUEST, serde_json::json!({"error": e}));
    let bytes = match http_body_util::Limited::new(req.into_body(), 64 << 10)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => return bad("expected a JSON body of at most 64 KiB".into()),
    };
    let h: views::Hypothetical = match serde_json::from_slice(&bytes) {
        Ok(h) => h,
        Err(e) => {
            return bad(format!(
                "expected {{\"method\", \"path\", \"host\", \"key_id\"}}: {e}"
            ));
        }
    };
    let Some(s) = admin.reloader.policy.current() else {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"error": "no_policy"}),
        );
    };
    match views::decide(&s, &h, admin.reloader.clock.now()) {
        Ok(v) => json(StatusCode::OK, v),
        Err(e) => bad(e.into()),
    }
}

/// `POST /logs/reopen`: flush the access log and reopen its file.
async fn reopen(log: Option<Arc<AccessLog>>) -> Response<Body> {
    let Some(log) = log else {
        return json(
            StatusCode::CONFLICT,
            serde_json::json!({"error": "access_log_off"}),
        );
    };
    match tokio::task::spawn_blocking(move || log.reopen()).await {
        Ok(Ok(())) => {
            tracing::info!("access log reopened");
            json(StatusCode::OK, serde_json::json!({"reopened": true}))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot reopen the access log");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"error": "reopen_failed"}),
            )
        }
        Err(_) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": "reopen_failed"}),
        ),
    }
}

fn json(status: StatusCode, v: serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(body::full(format!("{v:#}\n")));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}
