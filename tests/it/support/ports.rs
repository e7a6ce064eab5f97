//! Ports for the servers tests start as processes (a gateway, PostgreSQL, Redis, HAProxy), which
//! must be told a port before they bind it.
//!
//! A port found free by binding port 0 comes from the kernel's ephemeral range, which every
//! outgoing connection and every other port-0 bind of the parallel tests draws from as well: in
//! the moment between the check and the child's bind, one of them can take it ("Address already
//! in use"). So ports are handed out from below that range instead, each at most once per test
//! run, and each checked free before it is handed out.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port handed out; the load scripts use ports from 20000.
const FIRST: u32 = 21000;

/// A port no other test was given, free a moment ago, below the ephemeral range.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let below = ephemeral_low().max(FIRST + 1000);
    // Runs of the test binary started close together begin at different places.
    let start = std::process::id() % 1000 * 7;
    for _ in 0..(below - FIRST) {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + (start + n) % (below - FIRST);
        if let Ok(port) = u16::try_from(port)
            && TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {below}");
}

/// The first port of the kernel's ephemeral range (32768 when it cannot be read).
fn ephemeral_low() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}
