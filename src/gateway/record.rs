//! What the gateway records about each request: its metrics, counted once the response head is
//! ready, and its access-log line, committed when the response body ends (so it carries the
//! bytes sent and the whole time).
//!
//! A `Record` follows the request through `handle` and `pipeline`: the head's facts go in
//! first, the permit's (module, action, credential id, user) when there is one, the outcome
//! last. It writes credential ids and route templates, never a credential or a secret path.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Frame, SizeHint};
use tokio::time::Instant;

use crate::access_log::{Line, Writer, key};
use crate::authz::Permit;
use crate::body::{Body, BoxError};
use crate::credential;
use crate::decision::Head;
use crate::identity;
use crate::policy::Snapshot;
use crate::reject::Rejection;
use crate::vouch;

use super::observe::Answered;

/// One request's record.
#[derive(Debug, Default)]
pub struct Record {
    /// The access-log line, when the log is on.
    pub line: Option<Line>,
    /// The credential is in the line already (from the permit).
    pub credential_logged: bool,
    /// The permit had no principal: `user` is written with the answer (a login names one).
    pub user_pending: bool,
    /// Time the upstream took to answer (or fail), when the request was forwarded.
    pub upstream: Option<Duration>,
    /// Request body bytes passed upstream, counted as they stream.
    pub bytes_in: Option<Arc<AtomicU64>>,
    /// The id of a refused credential (expired, disabled...), for the recent denials.
    pub refused_id: Option<String>,
}

impl Record {
    /// A record whose line (if `log` is on) starts with what is known on arrival.
    pub fn start(log: Option<&Writer>, request_id: &str, role: &str, method: &str) -> Self {
        let line = log.map(|w| {
            let mut l = w.line();
            l.now(key!("time"));
            l.str(key!("request_id"), request_id);
            l.str(key!("listener"), role);
            l.str(key!("method"), method);
            l
        });
        Self {
            line,
            ..Self::default()
        }
    }

    /// Write what the permit knows: module, action, credential kind and id, user.
    pub fn permit(&mut self, permit: &Permit<'_>) {
        let Some(l) = &mut self.line else { return };
        let m = permit.route();
        l.opt_str(key!("module"), m.module());
        l.opt_str(key!("action"), m.action());
        let p = permit.principal();
        l.opt_str(
            key!("credential_kind"),
            p.map(|p| vouch::kind_name(p.kind())),
        );
        l.opt_str(key!("credential_id"), p.map(|p| p.id()));
        match p {
            Some(p) => l.opt_str(key!("user"), p.user()),
            None => self.user_pending = true,
        }
        self.credential_logged = true;
    }

    /// Write the credential a refusal names (`kind`, `id`), if any; the permit's fields stay
    /// empty.
    pub fn refused(&mut self, named: Option<(&'static str, &str)>) {
        self.refused_id = named.map(|n| n.1.to_owned());
        let Some(l) = &mut self.line else { return };
        l.null(key!("module"));
        l.null(key!("action"));
        l.opt_str(key!("credential_kind"), named.map(|n| n.0));
        l.opt_str(key!("credential_id"), named.map(|n| n.1));
        l.null(key!("user"));
        self.credential_logged = true;
    }

    /// Write what the request was answered with: path (a route's template when its path holds
    /// a secret), route, the principal when no permit or refusal named the credential,
    /// decision, reason, status, upstream time, generation.
    pub fn answered(&mut self, a: &Answered<'_>) {
        let Some(l) = &mut self.line else { return };
        // A secret in the path (a link token, a contract.fit key) is never logged, also when no
        // route matched (a mistyped or wrong-method call naming one).
        let path = match a.snapshot {
            Some(s) => s.routes.loggable_path(a.route, a.path),
            None => a.path,
        };
        l.str(key!("path"), path);
        l.opt_str(key!("route"), a.route.map(|r| r.id.as_str()));
        if !self.credential_logged {
            l.null(key!("module"));
            l.null(key!("action"));
            l.null(key!("credential_kind"));
            l.opt_str(key!("credential_id"), a.principal);
            l.opt_str(key!("user"), a.login_user);
        } else if self.user_pending {
            l.opt_str(key!("user"), a.login_user);
        }
        l.str(key!("decision"), a.decision());
        l.opt_str(key!("reason"), a.reason);
        l.num(key!("status"), u64::from(a.status.as_u16()));
        l.opt_num(
            key!("upstream_us"),
            self.upstream.map(|d| d.as_micros() as u64),
        );
        l.num(key!("generation"), a.snapshot.map_or(0, |s| s.generation));
    }

    /// Count the request body as it streams upstream.
    pub fn count_body(&mut self, body: Body) -> Body {
        if body.is_end_stream() || self.line.is_none() {
            return body;
        }
        let n = Arc::new(AtomicU64::new(0));
        self.bytes_in = Some(Arc::clone(&n));
        body.map_frame(move |f| {
            if let Some(d) = f.data_ref() {
                n.fetch_add(d.len() as u64, Relaxed);
            }
            f
        })
        .boxed()
    }

    /// Hand the line to `body`: it is committed to `log` when the body ends or is dropped, with
    /// the bytes sent and the time since `started`.
    pub fn finish(self, body: Body, log: Option<&Arc<Writer>>, started: Instant) -> Body {
        let (Some(line), Some(log)) = (self.line, log) else {
            return body;
        };
        Finishing {
            inner: body,
            open: Some(Open {
                line,
                log: Arc::clone(log),
                started,
                bytes_in: self.bytes_in,
            }),
            bytes_out: 0,
        }
        .boxed()
    }
}

/// A line waiting for its body to end.
struct Open {
    line: Line,
    log: Arc<Writer>,
    started: Instant,
    bytes_in: Option<Arc<AtomicU64>>,
}

/// The response body, counting what it sends and committing the line at its end.
struct Finishing {
    inner: Body,
    open: Option<Open>,
    bytes_out: u64,
}

impl Finishing {
    fn commit(&mut self) {
        let Some(Open {
            mut line,
            log,
            started,
            bytes_in,
        }) = self.open.take()
        else {
            return;
        };
        line.num(key!("bytes_in"), bytes_in.map_or(0, |n| n.load(Relaxed)));
        line.num(key!("bytes_out"), self.bytes_out);
        line.num(key!("total_us"), started.elapsed().as_micros() as u64);
        log.commit(line);
    }
}

impl hyper::body::Body for Finishing {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    this.bytes_out += d.len() as u64;
                }
            }
            Poll::Ready(None | Some(Err(_))) => this.commit(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Finishing {
    fn drop(&mut self) {
        self.commit();
    }
}

/// Refusals of a credential the policy knows (its secret matched, its state did not): the log
/// names it by id.
pub fn names_a_credential(r: &Rejection) -> bool {
    matches!(
        r,
        Rejection::CredentialExpired
            | Rejection::CredentialNotYetValid
            | Rejection::CredentialDisabled
            | Rejection::CredentialRevoked
            | Rejection::WrongTokenKind
    )
}

/// The kind and id of the key or API token whose secret `head` presents, found by digest (one
/// SHA-256, on refused requests only). Signed tokens are not looked into.
pub fn refused_credential<'s>(
    s: &'s Snapshot,
    head: &Head<'_, '_>,
) -> Option<(&'static str, &'s str)> {
    let forms = credential::Forms::default();
    let presented =
        credential::extract(head.headers, head.target, &s.credential_query_params, forms)
            .ok()
            .flatten()?;
    let d = identity::digest(presented.secret);
    if let Some(k) = s.keys.by_digest(&d) {
        return Some(("api_key", k.id()));
    }
    if let Some(k) = s.managed.key_by_digest(&d) {
        return Some(("api_key", k.id.as_str()));
    }
    s.directory
        .api_token(&d)
        .map(|t| ("api_token", t.id.as_str()))
}
