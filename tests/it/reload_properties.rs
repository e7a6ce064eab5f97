//! Random edits through the reloader itself: a generated sequence of edits, each either valid (a
//! new permission map for the key) or a valid edit spoiled in one of several ways (a JSON syntax
//! error, an unknown field, a wrong type, an unknown upstream, a duplicate route id, a role that
//! does not exist, a truncated file), written in place or by rename, picked up by an explicit
//! reload (what the watcher triggers) or by the periodic check (which stats, and must notice a
//! renamed file).
//!
//! Every valid edit lands: a new generation, or `Unchanged` when it is the running policy
//! again, and decisions then follow the naive reference for its permissions. Every invalid edit
//! is rejected with the file named, the generation stays, and decisions still follow the last
//! valid edit.

use std::sync::Arc;

use portcullis::clock::ManualClock;
use portcullis::policy::Policy;
use portcullis::reload::{Outcome, Reloader};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::grant_properties::{Perms, allows, perms, policy, reference, request};
use crate::support::tmp::TempDir;

/// How a valid edit is spoiled.
#[derive(Debug, Clone, Copy)]
enum Spoil {
    Syntax,
    UnknownField,
    WrongType,
    UnknownUpstream,
    DuplicateRoute,
    UnknownRole,
    Truncated,
}

fn spoil() -> impl Strategy<Value = Option<Spoil>> {
    prop_oneof![
        3 => Just(None),
        1 => prop::sample::select(vec![
            Spoil::Syntax,
            Spoil::UnknownField,
            Spoil::WrongType,
            Spoil::UnknownUpstream,
            Spoil::DuplicateRoute,
            Spoil::UnknownRole,
            Spoil::Truncated,
        ])
        .prop_map(Some),
    ]
}

/// The file text of `perms`, spoiled as asked.
fn text(perms: &Perms, spoil: Option<Spoil>) -> String {
    let mut p: Value = policy(perms);
    match spoil {
        None | Some(Spoil::Syntax | Spoil::Truncated) => {}
        Some(Spoil::UnknownField) => p["routes"][0]["colour"] = json!("red"),
        Some(Spoil::WrongType) => p["routes"][0]["methods"] = json!("GET"),
        Some(Spoil::UnknownUpstream) => p["routes"][0]["upstream"] = json!("nowhere"),
        Some(Spoil::DuplicateRoute) => {
            let r = p["routes"][0].clone();
            p["routes"].as_array_mut().expect("routes").push(r);
        }
        Some(Spoil::UnknownRole) => {
            let key = p["keys"].as_object_mut().expect("keys").values_mut();
            for k in key {
                k["roles"] = json!(["no-such-role"]);
            }
        }
    }
    let text = serde_json::to_string_pretty(&p).expect("json");
    match spoil {
        Some(Spoil::Syntax) => text.replacen("\"routes\":", "\"routes\" ", 1),
        Some(Spoil::Truncated) => text[..text.len() / 2].to_owned(),
        _ => text,
    }
}

/// One edit: new permissions, perhaps spoiled, written by rename or in place, picked up by the
/// periodic check (renamed files only: a new inode) or by a reload.
fn edit() -> impl Strategy<Value = (Perms, Option<Spoil>, bool, bool)> {
    (perms(), spoil(), any::<bool>(), any::<bool>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn valid_edits_always_land_and_invalid_ones_never_do(
        first in perms(),
        edits in prop::collection::vec(edit(), 1..12),
        reqs in prop::collection::vec(request(), 4..8),
    ) {
        let dir = TempDir::new("reload-props");
        let path = dir.join("policy.json");
        std::fs::write(&path, text(&first, None)).expect("write");
        let live = Policy::new();
        let reloader = Reloader::new(dir.path().to_path_buf(), Arc::clone(&live), Arc::new(ManualClock::new(0)));
        prop_assert_eq!(reloader.reload(), Outcome::Applied { generation: 1 });
        let (mut running, mut generation) = (first, 1);
        for (i, (perms, spoil, rename, by_check)) in edits.into_iter().enumerate() {
            let body = text(&perms, spoil);
            if rename {
                let tmp = dir.join(&format!(".edit-{i}.tmp"));
                std::fs::write(&tmp, &body).expect("write");
                std::fs::rename(&tmp, &path).expect("rename");
            } else {
                std::fs::write(&path, &body).expect("write");
            }
            let outcome = if rename && by_check { reloader.check() } else { reloader.reload() };
            match spoil {
                None if perms == running => prop_assert_eq!(outcome, Outcome::Unchanged),
                None => {
                    generation += 1;
                    prop_assert_eq!(outcome, Outcome::Applied { generation });
                    running = perms;
                }
                Some(how) => {
                    let Outcome::Rejected(errors) = outcome else {
                        return Err(TestCaseError::fail(format!("{how:?} was not rejected: {outcome:?}")));
                    };
                    let shown = errors.to_string();
                    prop_assert!(shown.contains("policy.json"), "{:?}: {}", how, shown);
                    prop_assert!(!reloader.errors().is_empty());
                }
            }
            let s = live.current().expect("a policy runs");
            prop_assert_eq!(s.generation, generation);
            for r in &reqs {
                prop_assert_eq!(allows(&s, r), reference(&running, r), "{:?} after edit {} ({:?})", r, i, spoil);
            }
        }
    }
}
