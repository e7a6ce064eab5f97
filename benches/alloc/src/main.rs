//! Heap allocations per decision, counted by a global allocator wrapper (`stats_alloc`).
//!
//! Runs the same workload as `benches/decision.rs` (the shared `scenario` module): every request
//! of a workload is decided once to warm up, then once more while the allocator counts. Prints
//! allocations (and reallocations, and bytes) per decision for each mix with 10 and 100,000 keys,
//! the baseline (canonicalize + one SHA-256), and, for allowed requests, a breakdown by step and
//! by route shape, so the allocating step is named. Counts are reported, never asserted.
#![expect(clippy::print_stdout, reason = "a measurement tool prints its numbers")]

#[path = "../../scenario/mod.rs"]
mod scenario;

use std::alloc::System;

use portcullis::{authz, credential, decision, identity, route};
use scenario::{ALL_KEYS, Fixture, Kind, Mix, NOW, Req};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Key counts compared (as in `benches/decision.rs`).
const KEY_COUNTS: [usize; 2] = [10, 100_000];

fn main() {
    let fixtures: Vec<Fixture> = KEY_COUNTS.iter().map(|&n| scenario::fixture(n)).collect();
    println!(
        "heap allocations per decision ({} requests per case, {} routes)\n",
        scenario::REQUESTS,
        scenario::ROUTES
    );
    println!(
        "{:<32} {:>8} {:>8} {:>10}",
        "case", "allocs", "reallocs", "bytes"
    );
    let reqs = scenario::workload(&fixtures[0], Mix::Allowed, ALL_KEYS);
    row(
        "baseline",
        &count(&reqs, |r| {
            let _ = std::hint::black_box(scenario::baseline(r));
        }),
        reqs.len(),
    );
    for mix in Mix::ALL {
        for fx in &fixtures {
            let reqs = scenario::workload(fx, mix, ALL_KEYS);
            let total = count(&reqs, |r| {
                let _ = std::hint::black_box(scenario::decide(&fx.policy, &r.parts));
            });
            row(
                &format!("{}/{}_keys", mix.name(), fx.keys),
                &total,
                reqs.len(),
            );
        }
    }
    let reqs = scenario::workload(&fixtures[0], Mix::Allowed, ALL_KEYS);
    println!("\nallowed, 10 keys, by route shape:");
    for kind in Kind::ALL {
        let some: Vec<&Req> = reqs.iter().filter(|r| r.kind == kind).collect();
        let total = count(&some, |r| {
            let _ = std::hint::black_box(scenario::decide(&fixtures[0].policy, &r.parts));
        });
        row(kind.name(), &total, some.len());
    }
    println!("\nallowed, 10 keys, by step (sum of steps = decide):");
    let mut per_step = [Stats::default(); STEPS.len()];
    for r in &reqs {
        steps(&fixtures[0], r, &mut per_step);
    }
    for (name, s) in STEPS.iter().zip(&per_step) {
        row(name, s, reqs.len());
    }
}

/// Allocator activity over one counted pass of `f` on every request, after one warm pass.
fn count<R>(reqs: &[R], mut f: impl FnMut(&R)) -> Stats {
    reqs.iter().for_each(&mut f);
    let region = Region::new(GLOBAL);
    reqs.iter().for_each(&mut f);
    region.change()
}

fn row(name: &str, s: &Stats, n: usize) {
    let per = |v: usize| v as f64 / n as f64;
    println!(
        "{:<32} {:>8.2} {:>8.2} {:>10.1}",
        name,
        per(s.allocations),
        per(s.reallocations),
        per(s.bytes_allocated)
    );
}

/// The steps of `scenario::decide`, in order.
const STEPS: [&str; 7] = [
    "policy.current",
    "canonicalize",
    "request_host",
    "route::resolve",
    "credential::extract",
    "identity::validate",
    "authz::decide",
];

/// `scenario::decide` for one allowed request, adding each step's allocator activity to `out`.
fn steps(fx: &Fixture, r: &Req, out: &mut [Stats; STEPS.len()]) {
    let mut n = 0;
    let mut region = Region::new(GLOBAL);
    let mut mark = |region: &mut Region<'_, System>| {
        add(&mut out[n], region.change_and_reset());
        n += 1;
    };
    let snapshot = fx.policy.current().expect("published");
    mark(&mut region);
    let s = &*snapshot;
    let target = scenario::canonicalize(&r.parts).expect("canonical");
    mark(&mut region);
    let host = scenario::request_host(&r.parts).expect("readable host");
    mark(&mut region);
    let matched =
        route::resolve(&s.routes, &r.parts.method, host.as_deref(), &target).expect("routed");
    mark(&mut region);
    let forms = credential::Forms {
        basic: false,
        bare: false,
    };
    let presented =
        credential::extract(&r.parts.headers, &target, &s.credential_query_params, forms)
            .expect("one credential")
            .expect("a credential");
    mark(&mut region);
    let accept = &matched.route().accept;
    let sources = decision::sources(s);
    let principal = identity::validate(sources, presented.carrier, presented.secret, accept, NOW)
        .expect("valid");
    mark(&mut region);
    let delegated = authz::Delegated {
        registry: &s.managed,
        now: NOW,
    };
    let permit = authz::decide(matched, Some(principal), &r.parts.method, s.mode, delegated)
        .expect("allowed");
    mark(&mut region);
    std::hint::black_box(permit);
}

/// `into += s` (`Stats` has `-` but no `+`).
fn add(into: &mut Stats, s: Stats) {
    into.allocations += s.allocations;
    into.deallocations += s.deallocations;
    into.reallocations += s.reallocations;
    into.bytes_allocated += s.bytes_allocated;
    into.bytes_deallocated += s.bytes_deallocated;
    into.bytes_reallocated += s.bytes_reallocated;
}
