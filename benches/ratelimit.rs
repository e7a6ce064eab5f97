//! Criterion bench of the rate-limit step's backend: nanoseconds per `check` with one principal
//! and with 1,000,000 tracked principals, next to a baseline measured in the same run (hashing
//! the principal id into its bucket, which every check pays), and the memory each tracked
//! principal costs (resident set growth while a million buckets are filled, divided by a
//! million). Nothing is asserted about time.
//!
//! Run with `cargo bench --bench ratelimit`.
#![expect(clippy::print_stdout, reason = "a bench reports its numbers")]

use std::hint::black_box;

use criterion::Criterion;
use portcullis::grant::RateLimit;
use portcullis::ratelimit::{Backend, Bucket, Local, Scope};

/// High enough never to refuse: the bench times the bookkeeping, not the refusals.
const LIMIT: RateLimit = RateLimit {
    requests: 1_000_000_000,
    per_s: 1,
    burst: 1_000_000_000,
};

const MANY: usize = 1_000_000;

/// Resident set size in bytes (Linux `/proc/self/statm`), 0 where unknown.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn main() {
    let mut c = Criterion::default().sample_size(50).configure_from_args();
    let ids: Vec<String> = (0..MANY).map(|i| format!("key-{i:07}")).collect();
    let one = Local::default();
    let before = rss();
    let many = Local::default();
    let buckets: Vec<Bucket> = ids
        .iter()
        .map(|id| Bucket::of(Scope::Principal(id)))
        .collect();
    for b in &buckets {
        many.check(*b, LIMIT);
    }
    let grown = rss().saturating_sub(before);
    let mut g = c.benchmark_group("ratelimit");
    g.bench_function("baseline_bucket_digest", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % MANY;
            black_box(Bucket::of(Scope::Principal(&ids[i])))
        })
    });
    g.bench_function("check_1_principal", |b| {
        b.iter(|| black_box(one.check(Bucket::of(Scope::Principal(&ids[0])), LIMIT)))
    });
    g.bench_function("check_1m_principals", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % MANY;
            black_box(many.check(Bucket::of(Scope::Principal(&ids[i])), LIMIT))
        })
    });
    g.finish();
    c.final_summary();
    // The same cases interleaved (so load from other processes hits them alike), as ratios.
    let time = |f: &mut dyn FnMut(usize)| {
        let n = 2_000_000;
        let t = std::time::Instant::now();
        for i in 0..n {
            f(i % MANY);
        }
        t.elapsed().as_nanos() as f64 / n as f64
    };
    let mut rounds: Vec<[f64; 3]> = Vec::new();
    for _ in 0..5 {
        rounds.push([
            time(&mut |i| {
                black_box(Bucket::of(Scope::Principal(&ids[i])));
            }),
            time(&mut |_| {
                black_box(one.check(Bucket::of(Scope::Principal(&ids[0])), LIMIT));
            }),
            time(&mut |i| {
                black_box(many.check(Bucket::of(Scope::Principal(&ids[i])), LIMIT));
            }),
        ]);
    }
    let median = |k: usize| {
        let mut v: Vec<f64> = rounds.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (base, one_p, many_p) = (median(0), median(1), median(2));
    println!("\ninterleaved passes (median of 5), ns per check:");
    println!("baseline (bucket digest) {base:.1}");
    println!(
        "1 principal              {one_p:.1}  ({:.2}x baseline)",
        one_p / base
    );
    println!(
        "1,000,000 principals     {many_p:.1}  ({:.2}x baseline, {:.2}x one)",
        many_p / base,
        many_p / one_p
    );
    println!(
        "\ntracked buckets: {}; resident set grew {:.1} MiB while filling them: {:.0} bytes per tracked principal",
        many.tracked(),
        grown as f64 / (1 << 20) as f64,
        grown as f64 / MANY as f64
    );
}
