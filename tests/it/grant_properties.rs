//! Properties of the decision over generated grants and requests: adding a grant never turns an
//! allow into a deny, removing one never turns a deny into an allow, and `decision::authorize`
//! (ending in `authz::decide`) agrees with a deliberately naive reference: allow exactly when
//! the key's permissions list the request's action, or `all`, under its module.

use std::collections::BTreeMap;

use http::{HeaderMap, Method};
use portcullis::canonical::canonicalize;
use portcullis::decision::{self, Head, Presenting, Trace};
use portcullis::policy::Snapshot;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::policy::{compile, now};

const MODULES: [&str; 3] = ["indicator", "level", "documents"];
const ACTIONS: [&str; 4] = ["list", "info", "delete", "all"];
/// The key the generated policy gives the generated permissions.
const KEY: &str = "gen";

/// module → actions (possibly `all`).
pub(crate) type Perms = BTreeMap<String, Vec<String>>;

pub(crate) fn perms() -> impl Strategy<Value = Perms> {
    let actions = prop::sample::subsequence(ACTIONS.to_vec(), 1..=ACTIONS.len())
        .prop_map(|a| a.into_iter().map(str::to_owned).collect::<Vec<_>>());
    prop::collection::btree_map(
        prop::sample::select(MODULES.to_vec()).prop_map(str::to_owned),
        actions,
        0..=3,
    )
}

/// (method, module, action): actions include ones no grant names.
pub(crate) fn request() -> impl Strategy<Value = (Method, String, String)> {
    (
        prop::sample::select(vec![Method::GET, Method::POST]),
        prop::sample::select(MODULES.to_vec()),
        prop::sample::select(vec!["list", "info", "delete", "update"]),
    )
        .prop_map(|(m, module, action)| (m, module.to_owned(), action.to_owned()))
}

pub(crate) fn policy(perms: &Perms) -> Value {
    json!({
        "mode": "limited-access",
        "upstreams": { "app": { "url": "builtin:echo" } },
        "routes": [{
            "id": "api", "methods": ["GET", "POST"], "path": "/api/",
            "module": { "query": "module" }, "action": { "query": "action" }, "upstream": "app"
        }],
        "keys": { KEY: { "sha256": "ab".repeat(32), "permissions": perms } }
    })
}

/// Whether the snapshot allows the request for the generated key.
pub(crate) fn allows(s: &Snapshot, (method, module, action): &(Method, String, String)) -> bool {
    let uri: http::Uri = format!("/api/?module={module}&action={action}")
        .parse()
        .expect("uri");
    let target = canonicalize(&uri).expect("canonical");
    let headers = HeaderMap::new();
    let head = Head {
        method,
        host: None,
        headers: &headers,
        target: &target,
        client_certificate: None,
    };
    decision::authorize(
        s,
        &head,
        Presenting::KeyId(KEY),
        now(),
        &mut Trace::default(),
    )
    .is_ok()
}

/// The naive reference: the module's list names the action or `all`.
pub(crate) fn reference(perms: &Perms, (_, module, action): &(Method, String, String)) -> bool {
    perms
        .get(module)
        .is_some_and(|a| a.iter().any(|x| x == action || x == "all"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn decide_agrees_with_the_naive_reference(p in perms(), reqs in prop::collection::vec(request(), 1..8)) {
        let s = compile(&policy(&p)).expect("generated policy compiles");
        for r in &reqs {
            prop_assert_eq!(allows(&s, r), reference(&p, r), "{:?} under {:?}", r, p);
        }
    }

    #[test]
    fn more_grants_never_deny_more(p in perms(), extra in perms(), reqs in prop::collection::vec(request(), 1..8)) {
        let mut more = p.clone();
        for (module, actions) in extra {
            more.entry(module).or_default().extend(actions);
        }
        let fewer = compile(&policy(&p)).expect("policy compiles");
        let wider = compile(&policy(&more)).expect("widened policy compiles");
        for r in &reqs {
            // Adding grants: allow stays allow. Removing them (wider → fewer): deny stays deny.
            prop_assert!(!allows(&fewer, r) || allows(&wider, r), "{:?}: {:?} ⊂ {:?}", r, p, more);
        }
    }
}
