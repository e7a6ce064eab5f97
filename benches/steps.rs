//! Criterion bench of three steps of a request, each on its own and next to the least any design
//! pays for the same job, measured in the same run:
//!
//! - `canonicalize`: the gateway's canonical form of the target (`gateway::canonicalize`), next to
//!   copying the target's bytes into a `String`;
//! - `key_lookup/{10,100000,1000000}_keys`: `identity::validate` of an API key in `X-API-Key`
//!   against indexes of 10, 100,000 and 1,000,000 keys (requests walk the index), next to the one
//!   SHA-256 of the secret it cannot skip;
//! - `rewrite_head`: the upstream request's head (the client's fields through hygiene and the
//!   forwarded fields, the identity fields of the permit, the request line and framing:
//!   `forward_fields::write`, `vouch::insert`, `upstream_wire::request_head`), next to writing the
//!   client's request line and fields unchanged.
//!
//! Run with `cargo bench --bench steps`. After criterion's figures it prints, from an interleaved
//! pass (each round times one pass over the requests for every case in turn; medians), each
//! case's nanoseconds and its ratio to its baseline. Nothing is asserted about time. The
//! requests and policies are `scenario`'s (the decision bench's).
#![expect(clippy::print_stdout, reason = "a bench reports its numbers")]

#[expect(
    dead_code,
    reason = "the decision bench's workload; this bench uses part of it"
)]
mod scenario;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::Criterion;
use portcullis::authz::Permit;
use portcullis::canonical::Canonical;
use portcullis::credential::Carrier;
use portcullis::decision::{self, Head, Presenting, Trace};
use portcullis::fields::Lines;
use portcullis::gateway::Limits;
use portcullis::kinds::CredentialKind;
use portcullis::policy::Snapshot;
use portcullis::{body, forward_fields, identity, upstream_wire, vouch};
use scenario::{ALL_KEYS, Fixture, Mix, NOW, Req};

/// Key counts of the lookup cases.
const KEY_COUNTS: [usize; 3] = [10, 100_000, 1_000_000];

/// A request id as the gateway makes them (32 hex digits).
const REQUEST_ID: &str = "5f0c3a9e2b7d41c8a6e09f1d3b2c4a58";

/// One case: a name and one request's work, by index into its requests.
struct Case<'a> {
    name: String,
    /// The index of the case it is compared with.
    baseline: Option<usize>,
    run: Box<dyn Fn(usize) -> usize + 'a>,
    requests: usize,
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    let fixtures: Vec<Fixture> = KEY_COUNTS.iter().map(|&n| scenario::fixture(n)).collect();
    let small = &fixtures[0];
    let reqs = scenario::workload(small, Mix::Allowed, ALL_KEYS);
    let snapshot = small.policy.current().expect("published");
    let targets: Vec<Canonical<'_>> = reqs.iter().map(canonical).collect();
    let permits: Vec<(Permit<'_>, Option<Carrier<'_>>)> = reqs
        .iter()
        .zip(&targets)
        .map(|(r, t)| permit(&snapshot, r, t))
        .collect();
    let snapshots: Vec<_> = fixtures
        .iter()
        .map(|fx| fx.policy.current().expect("published"))
        .collect();
    let secrets: Vec<Vec<String>> = fixtures
        .iter()
        .map(|fx| {
            (0..scenario::REQUESTS)
                .map(|j| scenario::secret((j * 7_919) % fx.keys))
                .collect()
        })
        .collect();

    let mut cases = vec![
        Case {
            name: "copy_target".into(),
            baseline: None,
            run: Box::new(|i| copy_target(&reqs[i])),
            requests: reqs.len(),
        },
        Case {
            name: "canonicalize".into(),
            baseline: Some(0),
            run: Box::new(|i| {
                let limits = Limits::default();
                portcullis::gateway::canonicalize(&reqs[i].parts.uri, &limits)
                    .map_or(0, |t| t.path.len())
            }),
            requests: reqs.len(),
        },
        Case {
            name: "sha256".into(),
            baseline: None,
            run: Box::new(|i| black_box(identity::digest(&secrets[0][i])).len()),
            requests: scenario::REQUESTS,
        },
    ];
    for (n, (s, keys)) in snapshots.iter().zip(&secrets).enumerate() {
        cases.push(Case {
            name: format!("key_lookup/{}_keys", fixtures[n].keys),
            baseline: Some(2),
            run: Box::new(move |i| lookup(s, &keys[i])),
            requests: keys.len(),
        });
    }
    let verbatim = cases.len();
    cases.push(Case {
        name: "copy_head".into(),
        baseline: None,
        run: Box::new(|i| copy_head(&reqs[i])),
        requests: reqs.len(),
    });
    cases.push(Case {
        name: "rewrite_head".into(),
        baseline: Some(verbatim),
        run: Box::new(|i| {
            let (permit, carrier) = &permits[i];
            rewrite_head(&snapshot, &reqs[i], &targets[i], permit, *carrier)
        }),
        requests: reqs.len(),
    });

    // Every case does its whole job on every request before anything is timed: a lookup finds
    // its key, a head is written (a step that failed early would time nothing).
    for case in &cases {
        for i in 0..case.requests {
            assert!(
                (case.run)(i) > 0,
                "{} did nothing for request {i}",
                case.name
            );
        }
    }
    let mut g = c.benchmark_group("steps");
    for case in &cases {
        let mut i = 0;
        g.bench_function(&case.name, |b| {
            b.iter(|| {
                i = (i + 1) % case.requests;
                black_box((case.run)(black_box(i)))
            })
        });
    }
    g.finish();
    c.final_summary();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test") {
        interleaved(&cases);
    }
}

/// The canonical target of an allowed request.
fn canonical(r: &Req) -> Canonical<'_> {
    portcullis::gateway::canonicalize(&r.parts.uri, &Limits::default()).expect("canonical")
}

/// The permit of an allowed request and where its credential came, made once before any timing.
fn permit<'s: 'r, 'r>(
    s: &'s Snapshot,
    r: &'r Req,
    target: &'r Canonical<'r>,
) -> (Permit<'r>, Option<Carrier<'r>>) {
    let host = scenario::request_host(&r.parts).expect("host");
    let head = Head {
        method: &r.parts.method,
        host: host.as_deref(),
        headers: &r.parts.headers,
        target,
        client_certificate: None,
    };
    let mut trace = Trace::default();
    let permit =
        decision::authorize(s, &head, Presenting::Request, NOW, &mut trace).expect("allowed");
    (permit, trace.carrier)
}

/// The least a canonical form costs: the target's bytes, copied.
fn copy_target(r: &Req) -> usize {
    let pq = r.parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    black_box(String::from(pq)).len()
}

/// An API key's lookup, as a route accepting API keys does it.
fn lookup(s: &Snapshot, secret: &str) -> usize {
    let sources = decision::sources(s);
    let found = identity::validate(
        sources,
        Carrier::ApiKeyHeader,
        secret,
        &[CredentialKind::ApiKey],
        NOW,
    );
    usize::from(found.is_ok())
}

/// What a proxy that changes nothing writes: the request line and every field as received.
fn copy_head(r: &Req) -> usize {
    let mut out = Vec::with_capacity(1024);
    let pq = r.parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(r.parts.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(pq.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &r.parts.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    black_box(out).len()
}

/// The upstream head the gateway writes for an allowed request (credential withheld, as routes
/// do by default; the client is not a trusted proxy).
fn rewrite_head(
    s: &Snapshot,
    r: &Req,
    target: &Canonical<'_>,
    permit: &Permit<'_>,
    carrier: Option<Carrier<'_>>,
) -> usize {
    let parts = &r.parts;
    let client = forward_fields::Client {
        headers: &parts.headers,
        host: Some(scenario::HOST),
        withheld: carrier,
        peer: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        trusted: false,
        never_forward: &s.never_forward,
        scheme: "http",
    };
    let mut lines = Lines::with_capacity(1024);
    let written = forward_fields::write(&client, &s.upstreams[0], &mut lines)
        .and_then(|()| vouch::insert(&mut lines, permit, REQUEST_ID));
    if written.is_err() {
        return 0;
    }
    // A credential in the query is taken out of it, as the gateway does.
    let query = match carrier {
        Some(Carrier::Query(name)) => target.query_without(&[name]),
        _ => target.raw_query.map(str::to_owned),
    };
    let origin = match query {
        Some(q) => format!("{}?{q}", target.raw_path),
        None => target.raw_path.to_owned(),
    };
    let mut out = Vec::with_capacity(1024);
    upstream_wire::request_head(parts, &origin, &body::empty(), &lines, &mut out);
    black_box(out).len()
}

/// Rounds of the interleaved pass.
const ROUNDS: usize = 200;

/// Every case in turn, one pass over its requests per round; prints medians and each case's
/// ratio to its baseline.
fn interleaved(cases: &[Case<'_>]) {
    let mut per_case: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for _ in 0..ROUNDS {
        for (case, times) in cases.iter().zip(per_case.iter_mut()) {
            let t = Instant::now();
            for i in 0..case.requests {
                black_box((case.run)(i));
            }
            times.push(t.elapsed().as_nanos() as f64 / case.requests as f64);
        }
    }
    let medians: Vec<f64> = per_case.iter_mut().map(|v| scenario::median(v)).collect();
    println!("\ninterleaved: {ROUNDS} rounds, one pass over the requests per case, medians");
    println!("| case | ns | baseline | ns | ratio |");
    println!("|---|---:|---|---:|---:|");
    for (case, m) in cases.iter().zip(&medians) {
        match case.baseline {
            Some(b) => println!(
                "| {} | {m:.0} | {} | {:.0} | {:.2} |",
                case.name,
                cases[b].name,
                medians[b],
                m / medians[b]
            ),
            None => println!("| {} | {m:.0} | (baseline) | | |", case.name),
        }
    }
}
