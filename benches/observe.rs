//! Criterion bench of what the gateway records per request, next to the decision it follows:
//! `Metrics::request` (per-route atomic counters and two histograms) and one access-log line
//! (the twenty fields the gateway writes, built into one buffer and committed to a worker's
//! batch; the writer thread writes to `io::sink()`). Same 1,000-route, 10-key workload as the
//! decision bench (`scenario`), allowed requests.
//!
//! A last case decides each request a second time under a shadow policy (`shadow::compare`).
//!
//! Run with `cargo bench --bench observe`. Nothing is asserted about time.
#![expect(clippy::print_stdout, reason = "a bench reports its numbers")]

#[expect(
    dead_code,
    reason = "the decision bench's workload; this bench uses the allowed mix only"
)]
mod scenario;

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use http::StatusCode;
use portcullis::access_log::{AccessLog, Destination, Format, Writer, key};
use portcullis::decision::{self, Head, Presenting, Trace};
use portcullis::gateway::Limits;
use portcullis::metrics::{self, Metrics};
use portcullis::policy::Policy;
use scenario::{ALL_KEYS, Fixture, Mix, NOW, Req};

/// What is recorded besides the decision.
#[derive(Clone, Copy)]
struct With<'a> {
    metrics: Option<&'a Metrics>,
    log: Option<&'a Writer>,
    /// A shadow policy decided beside the live one (here: the same policy, so they agree).
    shadow: Option<(&'a Policy, &'a Metrics)>,
}

/// Decide `req`, then (if asked) count it, write its access line, decide it under a shadow.
fn observe(fx: &Fixture, req: &Req, with: With<'_>) -> bool {
    let With {
        metrics: m,
        log,
        shadow,
    } = with;
    let snapshot = fx.policy.current().expect("policy");
    let s = &*snapshot;
    let parts = &req.parts;
    let Ok(target) = portcullis::gateway::canonicalize(&parts.uri, &Limits::default()) else {
        return false;
    };
    let host = scenario::request_host(parts).ok().flatten();
    let head = Head {
        method: &parts.method,
        host: host.as_deref(),
        headers: &parts.headers,
        target: &target,
        client_certificate: None,
    };
    let mut trace = Trace::default();
    let result = decision::authorize(s, &head, Presenting::Request, NOW, &mut trace);
    if let Some((p, m)) = shadow {
        let (route, u) = (trace.route, StatusCode::NOT_FOUND);
        portcullis::shadow::compare(p, m, &head, NOW, &result, route, u, "bench");
    }
    let reason = result
        .as_ref()
        .err()
        .map(|r| r.mapping(StatusCode::NOT_FOUND).code);
    if let Some(m) = m {
        m.request(&metrics::Request {
            snapshot: Some(s),
            route: trace.route,
            reason,
            status: StatusCode::OK,
            total: Duration::from_micros(250),
            upstream: Some(Duration::from_micros(200)),
        });
    }
    if let Some(w) = log {
        let mut l = w.line();
        l.now(key!("time"));
        l.str(key!("request_id"), "0123456789abcdef0123456789abcdef");
        l.str(key!("listener"), "proxy");
        l.str(key!("method"), parts.method.as_str());
        l.str(key!("client"), &std::net::Ipv4Addr::LOCALHOST.to_string());
        match &result {
            Ok(p) => {
                l.opt_str(key!("module"), p.route().module());
                l.opt_str(key!("action"), p.route().action());
                l.str(key!("credential_kind"), "api_key");
                l.opt_str(key!("credential_id"), p.principal().map(|p| p.id()));
                l.opt_str(key!("user"), p.principal().and_then(|p| p.user()));
            }
            Err(_) => {
                for k in [
                    key!("module"),
                    key!("action"),
                    key!("credential_kind"),
                    key!("credential_id"),
                    key!("user"),
                ] {
                    l.null(k);
                }
            }
        }
        l.str(key!("path"), parts.uri.path());
        l.opt_str(key!("route"), trace.route.map(|r| r.id.as_str()));
        l.str(
            key!("decision"),
            if reason.is_none() { "allow" } else { "deny" },
        );
        l.opt_str(key!("reason"), reason);
        l.num(key!("status"), 200);
        l.opt_num(key!("upstream_us"), Some(200));
        l.num(key!("generation"), s.generation);
        l.num(key!("bytes_in"), 0);
        l.num(key!("bytes_out"), 19);
        l.num(key!("total_us"), 250);
        w.commit(l);
    }
    result.is_ok()
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    let fx = scenario::fixture(10);
    let reqs = scenario::workload(&fx, Mix::Allowed, ALL_KEYS);
    let m = Metrics::default();
    let log = AccessLog::start(Format::Json, Destination::Writer(Box::new(std::io::sink())))
        .expect("access log");
    let w = log.writer();
    let text = AccessLog::start(Format::Text, Destination::Writer(Box::new(std::io::sink())))
        .expect("access log");
    let tw = text.writer();
    let none = With {
        metrics: None,
        log: None,
        shadow: None,
    };
    let cases = [
        ("decide", none),
        (
            "decide+metrics",
            With {
                metrics: Some(&m),
                ..none
            },
        ),
        (
            "decide+json_log",
            With {
                log: Some(&w),
                ..none
            },
        ),
        (
            "decide+text_log",
            With {
                log: Some(&tw),
                ..none
            },
        ),
        (
            "decide+metrics+json_log",
            With {
                metrics: Some(&m),
                log: Some(&w),
                ..none
            },
        ),
        (
            "decide+shadow",
            With {
                shadow: Some((&fx.policy, &m)),
                ..none
            },
        ),
    ];
    let mut g = c.benchmark_group("observe");
    for (name, with) in cases {
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                black_box(observe(&fx, &reqs[i], with))
            })
        });
    }
    g.finish();
    c.final_summary();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test") {
        interleaved(&fx, &reqs, &cases);
    }
}

/// Rounds of the interleaved pass.
const ROUNDS: usize = 300;

/// The cases alternate, one pass over every request each per round, so load from other
/// processes hits them alike; prints the median ns per request of each and its difference from
/// `decide` (the cost of what it adds).
fn interleaved(fx: &Fixture, reqs: &[Req], cases: &[(&str, With<'_>)]) {
    let mut per_case: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for _ in 0..ROUNDS {
        for (i, (_, with)) in cases.iter().enumerate() {
            let t = std::time::Instant::now();
            for r in reqs {
                black_box(observe(fx, r, *with));
            }
            per_case[i].push(t.elapsed().as_nanos() as f64 / reqs.len() as f64);
        }
    }
    let medians: Vec<f64> = per_case.iter_mut().map(|v| scenario::median(v)).collect();
    println!(
        "\ninterleaved: {ROUNDS} rounds of {} requests per case, medians",
        reqs.len()
    );
    println!("| case | ns per request | added to `decide` (ns) | ratio to `decide` |");
    println!("|---|---:|---:|---:|");
    for ((name, _), m) in cases.iter().zip(&medians) {
        println!(
            "| {name} | {m:.0} | {:.0} | {:.2} |",
            m - medians[0],
            m / medians[0]
        );
    }
}
