//! Criterion bench of the decision path: nanoseconds per decision for allowed and denied
//! requests against a 1,000-route policy with 10 and with 100,000 API keys, next to a baseline
//! (canonicalize + one SHA-256) measured in the same run.
//!
//! Run with `cargo bench --bench decision`. After the measurements it prints, from criterion's
//! own estimates, each case as a ratio to the baseline and the 100k-key / 10-key ratio (the
//! decision must not grow with the number of keys), then the same table from an interleaved
//! pass (cases alternate, so load from other processes hits them alike; medians). Requests walk through the keys, so the
//! 100k-key cases also pay for cache misses on a large index; one more 100k case uses only ten
//! keys, which leaves the algorithmic cost alone. Nothing is asserted about time. Heap
//! allocations per decision are counted by `benches/alloc` (a counting global allocator needs
//! `unsafe impl GlobalAlloc`, which this crate's `unsafe_code = "forbid"` refuses in every
//! target). The workload itself is in `scenario`.
#![expect(clippy::print_stdout, reason = "a bench reports its numbers")]

mod scenario;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkId, Criterion};
use scenario::{ALL_KEYS, Fixture, Kind, Mix, Req};

/// Key counts compared.
const KEY_COUNTS: [usize; 2] = [10, 100_000];

/// Distinct keys used in the "hot" case against the large index.
const HOT_KEYS: usize = 10;

/// The criterion group every case is in (and its directory under `target/criterion`).
const GROUP: &str = "decision";

/// One measured case: criterion id `decision/<name>/<param>`.
struct Case<'a> {
    name: &'static str,
    param: String,
    fx: &'a Fixture,
    reqs: Vec<Req>,
}

/// The parameter of the hot case: the large index, `HOT_KEYS` of its keys used.
fn hot_param() -> String {
    format!("{}_keys_{HOT_KEYS}_used", KEY_COUNTS[1])
}

fn main() {
    let started = SystemTime::now();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    let fixtures: Vec<Fixture> = KEY_COUNTS.iter().map(|&n| scenario::fixture(n)).collect();
    let cases = cases(&fixtures);
    describe(&cases[0].reqs);
    measure(&mut c, &cases);
    c.final_summary();
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--bench") && !has("--test") && !has("--list") {
        report_ratios(started);
        interleaved(&cases);
    }
}

/// Every mix against every key count (requests spread over the keys), plus the hot case.
fn cases(fixtures: &[Fixture]) -> Vec<Case<'_>> {
    let mut cases: Vec<Case> = Mix::ALL
        .iter()
        .flat_map(|&mix| fixtures.iter().map(move |fx| (mix, fx)))
        .map(|(mix, fx)| Case {
            name: mix.name(),
            param: format!("{}_keys", fx.keys),
            fx,
            reqs: scenario::workload(fx, mix, ALL_KEYS),
        })
        .collect();
    // The index is as large, but only HOT_KEYS keys are used: what remains is the algorithm's
    // cost without the cache misses of touching a different key every time.
    let large = &fixtures[1];
    cases.push(Case {
        name: Mix::Allowed.name(),
        param: hot_param(),
        fx: large,
        reqs: scenario::workload(large, Mix::Allowed, HOT_KEYS),
    });
    cases
}

/// The baseline, then every case; each iteration decides the next request, round robin.
fn measure(c: &mut Criterion, cases: &[Case<'_>]) {
    let mut group = c.benchmark_group(GROUP);
    group.bench_function("baseline", |b| {
        let reqs = &cases[0].reqs;
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % reqs.len();
            black_box(scenario::baseline(black_box(&reqs[i])))
        })
    });
    for case in cases {
        group.bench_function(BenchmarkId::new(case.name, &case.param), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % case.reqs.len();
                let parts = black_box(&case.reqs[i].parts);
                black_box(scenario::decide(&case.fx.policy, parts))
            })
        });
    }
    group.finish();
}

/// Say what one workload holds, so the numbers can be read.
fn describe(reqs: &[Req]) {
    let per_kind: Vec<String> = Kind::ALL
        .iter()
        .map(|k| {
            format!(
                "{} {}",
                reqs.iter().filter(|r| r.kind == *k).count(),
                k.name()
            )
        })
        .collect();
    println!(
        "workload: {} routes, {} requests per case ({}), carriers rotate Bearer / X-API-Key / ?api_key",
        scenario::ROUTES,
        reqs.len(),
        per_kind.join(", ")
    );
}

/// Print criterion's estimates written since `started` (this run) as ratios.
fn report_ratios(started: SystemTime) {
    let Some(dir) = criterion_dir() else {
        println!("ratios: criterion output directory not found");
        return;
    };
    print_table("criterion estimates (slope), ns per decision", |id| {
        estimate_ns(&dir.join(GROUP).join(id), started)
    });
}

/// Print each case against the baseline and 100k keys against 10 keys; `ns` gives the time of
/// a case by id (`baseline` or `<name>/<param>`).
fn print_table(title: &str, ns: impl Fn(&str) -> Option<f64>) {
    let Some(base) = ns("baseline") else {
        println!("{title}: no baseline measured");
        return;
    };
    println!("\n{title}, and ratios within this run:");
    println!(
        "{:<20} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "case", "10 keys", "100k keys", "100k/10", "10/base", "100k/base"
    );
    println!("{:<20} {:>10.1}", "baseline", base);
    let hot = Some((format!("allowed, {HOT_KEYS} used"), "allowed", hot_param()));
    let rows = Mix::ALL
        .iter()
        .map(|m| {
            (
                m.name().to_owned(),
                m.name(),
                format!("{}_keys", KEY_COUNTS[1]),
            )
        })
        .chain(hot);
    for (label, name, large) in rows {
        let few = ns(&format!("{name}/{}_keys", KEY_COUNTS[0]));
        let (Some(few), Some(many)) = (few, ns(&format!("{name}/{large}"))) else {
            continue;
        };
        println!(
            "{label:<20} {few:>10.1} {many:>10.1} {:>8.3} {:>8.2} {:>8.2}",
            many / few,
            few / base,
            many / base
        );
    }
}

/// Rounds of the interleaved pass.
const ROUNDS: usize = 200;

/// A second measurement robust to other load on the machine: every round times one pass over
/// each case's requests, cases in rotating order, so background load hits all cases alike;
/// each case's figure is its median pass, per decision. Printed with `print_table`.
fn interleaved(cases: &[Case<'_>]) {
    let base_reqs = &cases[0].reqs;
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); cases.len() + 1];
    for round in 0..ROUNDS {
        for slot in (0..=cases.len()).map(|n| (n + round) % (cases.len() + 1)) {
            let ns = match cases.get(slot) {
                Some(case) => pass(&case.reqs, |r| {
                    black_box(scenario::decide(&case.fx.policy, black_box(&r.parts))).is_ok()
                }),
                None => pass(base_reqs, |r| {
                    black_box(scenario::baseline(black_box(r))).is_ok()
                }),
            };
            times[slot].push(ns);
        }
    }
    let medians: Vec<f64> = times.iter_mut().map(|t| scenario::median(t)).collect();
    print_table("interleaved passes (median), ns per decision", |id| {
        if id == "baseline" {
            return medians.last().copied();
        }
        let i = cases
            .iter()
            .position(|c| format!("{}/{}", c.name, c.param) == id)?;
        Some(medians[i])
    });
}

/// Time one pass of `f` over `reqs`; ns per request.
fn pass(reqs: &[Req], mut f: impl FnMut(&Req) -> bool) -> f64 {
    let started = Instant::now();
    for r in reqs {
        black_box(f(r));
    }
    started.elapsed().as_nanos() as f64 / reqs.len() as f64
}

/// Criterion's output directory, resolved as criterion does: `CRITERION_HOME`, then
/// `$CARGO_TARGET_DIR/criterion`, then `<target>/criterion` from this binary's path
/// (`<target>/release/deps/decision-…`).
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.ancestors().nth(3)?.join("criterion"))
}

/// The typical time of one bench (criterion's slope estimate, else its mean), in ns, if it was
/// written since `started`.
fn estimate_ns(bench_dir: &Path, started: SystemTime) -> Option<f64> {
    let file = bench_dir.join("new").join("estimates.json");
    if std::fs::metadata(&file).ok()?.modified().ok()? < started {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let pick = |name: &str| v.get(name)?.get("point_estimate")?.as_f64();
    pick("slope").or_else(|| pick("mean"))
}
