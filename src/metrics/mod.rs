//! Metrics: the counters, gauges and histograms the admin listener serves at `/metrics` in the
//! Prometheus text format (prometheus-client's encoder).
//!
//! One `Metrics` handle is shared by every worker, the admin listener and the reloader. Recording
//! a request (`Metrics::request`) takes no lock and allocates nothing: per-route atomic cells
//! (`requests`) and atomic histograms (`histogram`). The rarer events — upstream errors,
//! connections opened, reloads, token-endpoint and management outcomes — go through
//! prometheus-client families. Labels are bounded by the policy and the settings: decisions,
//! reason codes, route ids, upstream names, listener addresses; never a key id, user or path.
//! `render` (`render.rs`) encodes it all, with the policy generation and SHA-256 of the moment.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::policy::{Snapshot, Status};
use crate::route::Route;

pub mod histogram;
mod render;
pub mod requests;

pub use requests::Decision;

use histogram::Histogram;
use requests::Requests;

/// Label pairs of the families recorded off the hot path.
type Labels = Vec<(&'static str, String)>;

/// Latency of requests, by decision, and of upstream answers.
#[derive(Debug, Default)]
pub struct Latency {
    /// Time to the response head, by `Decision` (allow, deny, error).
    pub total: [Histogram; 3],
    /// Time from sending upstream to the upstream's response head.
    pub upstream: Histogram,
}

/// What the gateway records about one request, once its response head is ready.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The snapshot the request was decided under, if one was loaded.
    pub snapshot: Option<&'a Snapshot>,
    /// The route it matched, if any.
    pub route: Option<&'a Route>,
    /// The reason code of a refusal (`None`: allowed).
    pub reason: Option<&'static str>,
    /// The status answered.
    pub status: StatusCode,
    /// Time from arrival to the response head.
    pub total: Duration,
    /// Time the upstream took to answer its head, when the request was forwarded.
    pub upstream: Option<Duration>,
}

/// The metrics of one gateway process.
#[derive(Debug)]
pub struct Metrics {
    /// Everything but the policy's own gauges, for `render`.
    registry: Registry,
    /// Requests by decision, reason, route and status class.
    requests: Arc<Requests>,
    /// Latency histograms.
    latency: Arc<Latency>,
    /// Upstream failures by upstream and kind.
    upstream_errors: Family<Labels, Counter>,
    /// Open downstream connections by listener and protocol.
    connections: Family<Labels, Gauge>,
    /// Policy reloads by outcome.
    reloads: Family<Labels, Counter>,
    /// Token-endpoint answers by route and outcome.
    token_endpoints: Family<Labels, Counter>,
    /// Management writes by outcome.
    management_writes: Family<Labels, Counter>,
    /// Requests the shadow policy decided.
    shadow_decisions: Counter,
    /// Shadow disagreements by route and (live, shadow) outcome.
    shadow_disagreements: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Arc::new(Requests::default());
        let latency = Arc::new(Latency::default());
        registry.register_collector(Box::new(render::Live {
            requests: Arc::clone(&requests),
            latency: Arc::clone(&latency),
        }));
        let m = Self {
            registry,
            requests,
            latency,
            upstream_errors: Family::default(),
            connections: Family::default(),
            reloads: Family::default(),
            token_endpoints: Family::default(),
            management_writes: Family::default(),
            shadow_decisions: Counter::default(),
            shadow_disagreements: Family::default(),
        };
        let mut m = m;
        let r = &mut m.registry;
        r.register(
            "portcullis_upstream_errors",
            "Upstream failures by upstream and kind (connect, timeout, failed)",
            m.upstream_errors.clone(),
        );
        r.register(
            "portcullis_open_connections",
            "Open downstream connections by listener and protocol",
            m.connections.clone(),
        );
        r.register(
            "portcullis_reloads",
            "Policy reloads by outcome (applied, unchanged, rejected)",
            m.reloads.clone(),
        );
        r.register(
            "portcullis_token_endpoint_requests",
            "Answers of the built-in token endpoints by route and outcome (issued, refused, failed)",
            m.token_endpoints.clone(),
        );
        r.register(
            "portcullis_management_writes",
            "Writes through the management APIs by outcome",
            m.management_writes.clone(),
        );
        r.register(
            "portcullis_shadow_decisions",
            "Requests the shadow policy decided too",
            m.shadow_decisions.clone(),
        );
        r.register(
            "portcullis_shadow_disagreements",
            "Requests the shadow policy would decide otherwise, by route and by live and shadow \
             outcome (allow or the reason code)",
            m.shadow_disagreements.clone(),
        );
        m
    }
}

/// Status class of `status`: 1 for 1xx ... 5 for 5xx.
pub fn class(status: StatusCode) -> u8 {
    (status.as_u16() / 100).clamp(1, 5) as u8
}

impl Metrics {
    /// A fresh set of metrics, shared behind an `Arc`.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Count one request and its latency. Lock-free and allocation-free.
    pub fn request(&self, r: &Request<'_>) {
        let class = class(r.status);
        let decision = match (r.reason, class) {
            (None, _) => Decision::Allow,
            (Some(_), 5) => Decision::Error,
            (Some(_), _) => Decision::Deny,
        };
        self.requests.record(r.snapshot, r.route, r.reason, class);
        self.latency.total[decision as usize].observe(r.total);
        if let Some(up) = r.upstream {
            self.latency.upstream.observe(up);
        }
    }

    /// Count an upstream failure of `kind` (`connect`, `timeout`, `failed`).
    pub fn upstream_error(&self, upstream: &str, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&vec![
                ("upstream", upstream.to_owned()),
                ("kind", kind.into()),
            ])
            .inc();
    }

    /// Count a connection open on `listener` speaking `protocol` (`http1`, `h2`) until the
    /// returned guard drops.
    pub fn connection(&self, listener: &str, protocol: &'static str) -> OpenConnection {
        let gauge = self
            .connections
            .get_or_create(&vec![
                ("listener", listener.to_owned()),
                ("protocol", protocol.into()),
            ])
            .clone();
        gauge.inc();
        OpenConnection(gauge)
    }

    /// Count a reload outcome (`applied`, `unchanged`, `rejected`).
    pub fn reload(&self, outcome: &'static str) {
        self.reloads
            .get_or_create(&vec![("outcome", outcome.into())])
            .inc();
    }

    /// Count a token-endpoint answer on `route` (`issued`, `refused`, `failed`).
    pub fn token_endpoint(&self, route: &str, outcome: &'static str) {
        self.token_endpoints
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("outcome", outcome.into()),
            ])
            .inc();
    }

    /// Count a management write (`applied`, `refused`, `failed`, or another outcome the
    /// management API names).
    pub fn management_write(&self, outcome: &'static str) {
        self.management_writes
            .get_or_create(&vec![("outcome", outcome.into())])
            .inc();
    }

    /// Count a request the shadow policy decided too.
    pub fn shadow_decided(&self) {
        self.shadow_decisions.inc();
    }

    /// Count a request the shadow policy decides otherwise: `live` and `shadow` are `allow` or a
    /// reason code.
    pub fn shadow_disagreement(&self, route: &str, live: &'static str, shadow: &'static str) {
        self.shadow_disagreements
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("live", live.into()),
                ("shadow", shadow.into()),
            ])
            .inc();
    }

    /// The Prometheus text exposition of every metric, with `policy`'s generation and SHA-256.
    pub fn render(&self, policy: &Status) -> String {
        render::render(&self.registry, policy)
    }
}

/// An open connection, counted until dropped.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}
