//! Failed-login throttling: past the per-user quota the user is locked out from every address,
//! past the per-address quota the address is locked out for every user, with 429 and
//! `Retry-After`; other users and addresses are unaffected, successes do not count, and the lock
//! ends.

use std::net::IpAddr;

use serde_json::json;

use crate::support::seatable::*;

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

fn limits(per_user: u32, per_address: u32) -> impl FnOnce(&mut serde_json::Value) {
    move |p| {
        p["seatable"] = json!({
            "login_failures_per_user_per_minute": per_user,
            "login_failures_per_address_per_minute": per_address,
        });
    }
}

/// Assert a 429 with a `Retry-After` of whole seconds within the minute; returns it.
fn throttled(r: &Resp) -> u64 {
    r.expect(429);
    let secs: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    let detail = r.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("throttled"), "{detail}");
    secs
}

/// Fail logging in from `from`, cycling through `users`, until refused with 429; returns how
/// many failures (400) came first and the `Retry-After`.
async fn fail_until_locked(gw: &Gw, from: Option<IpAddr>, users: &[&str]) -> (usize, u64) {
    for n in 0..100 {
        let r = gw
            .login_from(from, users[n % users.len()], "guess", None)
            .await;
        if r.status == 429 {
            return (n, throttled(&r));
        }
        r.expect(400);
    }
    panic!("never locked after 100 failures");
}

#[tokio::test]
async fn user_is_locked_after_exactly_n_failures() {
    let gw = Gw::start_with(limits(3, 100)).await;
    let (failures, _) = fail_until_locked(&gw, None, &[ALICE]).await;
    assert_eq!(failures, 3, "failed logins allowed per user per minute: 3");
}

#[tokio::test]
async fn address_is_locked_after_exactly_n_failures() {
    let gw = Gw::start_with(limits(100, 3)).await;
    let (failures, _) = fail_until_locked(&gw, ip("127.0.0.3"), &[ALICE, CAROL, MALLORY]).await;
    assert_eq!(
        failures, 3,
        "failed logins allowed per address per minute: 3"
    );
}

#[tokio::test]
async fn locked_user_is_refused_everywhere_and_others_are_not() {
    let gw = Gw::start_with(limits(3, 100)).await;
    let (failures, _) = fail_until_locked(&gw, None, &[ALICE]).await;
    assert!(
        (3..=4).contains(&failures),
        "locked after {failures} failures, quota 3"
    );
    // Refused before the password is checked, right or wrong, from any address.
    throttled(&gw.login(ALICE, ALICE_PW, None).await);
    throttled(&gw.login_from(ip("127.0.0.2"), ALICE, ALICE_PW, None).await);
    // Another user from the same address is not affected.
    gw.login(BOB, BOB_PW, None).await.expect(200);
}

#[tokio::test]
async fn locked_address_is_refused_for_everyone_and_others_are_not() {
    let gw = Gw::start_with(limits(100, 3)).await;
    let attacker = ip("127.0.0.3");
    let (failures, _) = fail_until_locked(&gw, attacker, &[ALICE, CAROL, MALLORY]).await;
    assert!(
        (3..=4).contains(&failures),
        "locked after {failures} failures, quota 3"
    );
    throttled(&gw.login_from(attacker, BOB, BOB_PW, None).await);
    gw.login_from(ip("127.0.0.4"), BOB, BOB_PW, None)
        .await
        .expect(200);
    gw.login(ALICE, ALICE_PW, None).await.expect(200);
}

#[tokio::test]
async fn successes_do_not_count_and_the_lock_ends() {
    let gw = Gw::start_with(limits(60, 1000)).await;
    for _ in 0..10 {
        gw.login(BOB, BOB_PW, None).await.expect(200);
    }
    // 60 a minute is one a second: a burst of 60, then a lock of about a second.
    let (failures, wait) = fail_until_locked(&gw, None, &[BOB]).await;
    assert!(failures >= 60, "locked after {failures} failures, quota 60");
    tokio::time::sleep(std::time::Duration::from_secs(wait + 1)).await;
    gw.login(BOB, BOB_PW, None).await.expect(200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_its_own_address() {
    let gw = Gw::start_behind(&["127.0.0.0/8"], limits(100, 3)).await;
    let attacker = [("x-forwarded-for", "203.0.113.66")];
    for user in [ALICE, CAROL, MALLORY, ALICE] {
        gw.login_with(None, &attacker, user, "guess", None).await;
    }
    throttled(&gw.login_with(None, &attacker, BOB, BOB_PW, None).await);
    let someone_else = [("x-forwarded-for", "198.51.100.7")];
    gw.login_with(None, &someone_else, BOB, BOB_PW, None)
        .await
        .expect(200);
}
