//! Rendering: the request counters and histograms as a prometheus-client `Collector`, and the
//! policy's generation and SHA-256 (read at scrape time), encoded in the Prometheus text format.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::Latency;
use super::histogram::Histogram;
use super::requests::{Decision, Requests};
use crate::policy::Status;

/// Status-class label values.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The hot-path metrics, read at scrape time.
#[derive(Debug)]
pub(super) struct Live {
    /// Request counters.
    pub requests: Arc<Requests>,
    /// Latency histograms.
    pub latency: Arc<Latency>,
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut e = encoder.encode_descriptor(
            "portcullis_requests",
            "Requests by decision (allow, deny, error), reason code, route id and status class",
            None,
            MetricType::Counter,
        )?;
        let (unrouted, cells) = self.requests.cells();
        for cell in std::iter::once(unrouted).chain(cells.iter().map(|c| &**c)) {
            for (decision, reason, class, n) in cell.read() {
                let labels = [
                    ("decision", decision.label()),
                    ("reason", reason),
                    ("route", &*cell.id),
                    ("status_class", CLASSES[usize::from(class - 1)]),
                ];
                ConstCounter::new(n).encode(e.encode_family(&labels)?)?;
            }
        }
        let mut e = encoder.encode_descriptor(
            "portcullis_request_duration_seconds",
            "Time from a request's arrival to its response head, by decision",
            None,
            MetricType::Histogram,
        )?;
        for d in [Decision::Allow, Decision::Deny, Decision::Error] {
            let labels = [("decision", d.label())];
            histogram(&self.latency.total[d as usize], e.encode_family(&labels)?)?;
        }
        let e = encoder.encode_descriptor(
            "portcullis_upstream_duration_seconds",
            "Time from sending a request upstream to the upstream's response head",
            None,
            MetricType::Histogram,
        )?;
        histogram(&self.latency.upstream, e)
    }
}

fn histogram(
    h: &Histogram,
    mut e: prometheus_client::encoding::MetricEncoder<'_>,
) -> Result<(), std::fmt::Error> {
    let (sum, count, buckets) = h.read();
    e.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
}

/// The policy's generation and SHA-256 at scrape time.
#[derive(Debug)]
struct PolicyGauges {
    generation: u64,
    sha256: Option<String>,
    failing: bool,
}

impl Collector for PolicyGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = encoder.encode_descriptor(
            "portcullis_policy_generation",
            "Generation of the running policy (0: none loaded)",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(self.generation as i64).encode(e)?;
        let e = encoder.encode_descriptor(
            "portcullis_policy_last_reload_failed",
            "1 while the last reload attempt was rejected (the running policy stays)",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(i64::from(self.failing)).encode(e)?;
        if let Some(sha) = &self.sha256 {
            let e = encoder.encode_descriptor(
                "portcullis_policy",
                "The running policy's SHA-256 (compare across a fleet)",
                None,
                MetricType::Info,
            )?;
            Info::new(vec![("sha256", sha.as_str())]).encode(e)?;
        }
        Ok(())
    }
}

/// Encode `registry` and the policy gauges of `policy`.
pub(super) fn render(registry: &Registry, policy: &Status) -> String {
    let mut out = String::with_capacity(8192);
    let mut gauges = Registry::default();
    gauges.register_collector(Box::new(PolicyGauges {
        generation: policy.generation,
        sha256: policy.sha256.clone(),
        failing: policy.last_error.is_some(),
    }));
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &gauges);
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}
