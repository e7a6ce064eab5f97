//! Criterion bench of compiling a policy with 1,000, 100,000 and 1,000,000 API keys (the decision
//! bench's generated policy: 1,000 routes, keys holding SHA-256 digests), next to the least any
//! design pays for the same file measured in the same run: reading it and checking it is JSON
//! (`serde_json` into `IgnoredAny`, which builds nothing).
//!
//! - `parse_only/N_keys`: the baseline;
//! - `whole/N_keys`: `policy::load_reading` with the whole file read first and every key parsed by
//!   serde (`Reading::Whole`), then `policy::compile`;
//! - `streamed/N_keys`: the same with the file parsed as it is read, keys alike but for their
//!   digest read once (`Reading::Streamed`, what the gateway does at start-up and on reloads).
//!
//! The compiled snapshot is dropped outside the timing (a reload frees the old one on a
//! background thread). Run with `cargo bench --bench compile` (about 3 minutes); after
//! criterion's figures it prints medians of an interleaved pass and each case's ratio to its
//! baseline. Nothing is asserted about time.
#![expect(clippy::print_stdout, reason = "a bench reports its numbers")]

#[expect(
    dead_code,
    reason = "the decision bench's workload; this bench uses its policy only"
)]
mod scenario;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode};
use portcullis::policy::{self, Reading, Snapshot};

/// Key counts compiled.
const KEY_COUNTS: [usize; 3] = [1_000, 100_000, 1_000_000];

/// Rounds of the interleaved pass.
const ROUNDS: usize = 5;

/// What a case does with a policy directory; returns something to drop outside the timing.
#[derive(Clone, Copy)]
enum Job {
    ParseOnly,
    Compile(Reading),
}

impl Job {
    const ALL: [(Job, &'static str); 3] = [
        (Job::ParseOnly, "parse_only"),
        (Job::Compile(Reading::Whole), "whole"),
        (Job::Compile(Reading::Streamed), "streamed"),
    ];

    fn run(self, dir: &Path) -> Option<Snapshot> {
        match self {
            Job::ParseOnly => {
                let text = std::fs::read(dir.join("policy.json")).expect("read policy");
                let parsed: serde_json::Result<serde::de::IgnoredAny> =
                    serde_json::from_slice(&text);
                black_box(parsed.expect("policy is JSON"));
                None
            }
            Job::Compile(reading) => {
                let input = policy::load_reading(dir, &policy::no_env, reading)
                    .unwrap_or_else(|e| panic!("policy does not load: {e}"));
                let snapshot =
                    policy::compile(input).unwrap_or_else(|e| panic!("does not compile: {e}"));
                Some(snapshot)
            }
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .sample_size(10)
        .configure_from_args();
    let dirs: Vec<(usize, PathBuf)> = KEY_COUNTS
        .iter()
        .map(|&n| (n, scenario::policy_dir(n)))
        .collect();
    for (n, dir) in &dirs {
        let snapshot = Job::Compile(Reading::Whole).run(dir).expect("compiled");
        assert_eq!(snapshot.keys.len(), *n);
    }
    let mut g = c.benchmark_group("compile");
    g.sampling_mode(SamplingMode::Flat);
    for (n, dir) in &dirs {
        for (job, name) in Job::ALL {
            g.bench_function(BenchmarkId::new(name, format!("{n}_keys")), |b| {
                b.iter_with_large_drop(|| job.run(dir))
            });
        }
    }
    g.finish();
    c.final_summary();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test") {
        interleaved(&dirs);
    }
    for (_, dir) in &dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Every case in turn per round; prints medians in milliseconds and each ratio to `parse_only`.
fn interleaved(dirs: &[(usize, PathBuf)]) {
    println!("\ninterleaved: {ROUNDS} rounds, medians");
    println!(
        "| keys | parse_only ms | whole ms | whole / parse_only | streamed ms | streamed / parse_only |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for (n, dir) in dirs {
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); Job::ALL.len()];
        for _ in 0..ROUNDS {
            for ((job, _), t) in Job::ALL.iter().zip(times.iter_mut()) {
                let start = Instant::now();
                let out = job.run(dir);
                t.push(start.elapsed().as_secs_f64() * 1e3);
                drop(out);
            }
        }
        let m: Vec<f64> = times.iter_mut().map(|v| scenario::median(v)).collect();
        println!(
            "| {n} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} |",
            m[0],
            m[1],
            m[1] / m[0],
            m[2],
            m[2] / m[0]
        );
    }
}
