//! Tests of `registry::index`.
use super::*;
use crate::registry::state::{ApiKey, Role, User};

fn rr(role: &str, inbox: Option<&str>, doc: Option<&str>) -> RoleRef {
    RoleRef {
        role: role.into(),
        inbox: inbox.map(Into::into),
        document_id: doc.map(Into::into),
    }
}

const R: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
const U: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";

fn state(key_roles: Vec<RoleRef>, permissions: &[&str]) -> State {
    State {
        roles: vec![Role {
            id: R.into(),
            name: "reader".into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        }],
        users: vec![User {
            id: U.into(),
            username: "shared".into(),
            active: true,
            password_phc: String::new(),
            roles: vec![rr(R, Some("i1"), None)],
            confirmed_at: String::new(),
        }],
        api_keys: vec![ApiKey {
            id: "cccccccccccccccccccccccc".into(),
            sha256: hex::encode(crate::identity::digest("tok")),
            user: U.into(),
            active: true,
            roles: key_roles,
            expire_at: None,
            created_at: String::new(),
        }],
        authorisations: Vec::new(),
    }
}

fn build(s: State) -> Result<Index, Vec<Fault>> {
    let bindings = HashMap::new();
    let permission = |n: &str| {
        (n == "reader_role").then(|| {
            let mut g = Grants::default();
            g.add("document", &crate::grant::Actions::All);
            g
        })
    };
    Index::build(
        Arc::new(s),
        &Rules {
            permission: &permission,
            bindings: &bindings,
        },
    )
}

#[test]
fn references_are_checked_with_their_place() {
    let ok = build(state(vec![rr(R, Some("i1"), Some("d1"))], &["reader_role"])).unwrap();
    let key = ok.key_by_digest(&crate::identity::digest("tok")).unwrap();
    assert_eq!(ok.key_user(key), U);
    let faults = |s| build(s).unwrap_err();
    let f = faults(state(vec![rr(R, None, None)], &["reader_role"]));
    assert_eq!(f[0].path, "api_keys[0].roles[0]");
    assert!(f[0].message.contains("broader"));
    let f = faults(state(vec![rr(R, None, Some("d1"))], &["reader_role"]));
    assert!(f[0].message.contains("inbox"), "{f:?}");
    let f = faults(state(vec![rr(R, Some("i1"), None)], &["nope"]));
    assert_eq!(f[0].path, "roles[0].permissions[0]");
    let f = faults(state(
        vec![rr("dddddddddddddddddddddddd", Some("i1"), None)],
        &["x:y"],
    ));
    assert_eq!(f[0].message, "Role does not exist");
}

#[test]
fn scoped_entries_need_the_captured_resource() {
    let mut g = Grants::default();
    g.add("document", &crate::grant::Actions::All);
    let doc = Scoped {
        grants: g.clone(),
        inbox: Some("i1".into()),
        document: Some("d1".into()),
    };
    assert!(doc.allows("document", "view", &[("document", "d1")]));
    assert!(doc.allows("document", "view", &[("inbox", "i1"), ("document", "d1")]));
    assert!(!doc.allows("document", "view", &[("inbox", "i2"), ("document", "d1")]));
    assert!(!doc.allows("document", "view", &[("inbox", "i1")]));
    assert!(!doc.allows("inbox", "view", &[("document", "d1")]));
    let inbox = Scoped {
        grants: g,
        inbox: Some("i1".into()),
        document: None,
    };
    assert!(inbox.allows("document", "x", &[("inbox", "i1"), ("document", "any")]));
    assert!(!inbox.allows("document", "x", &[("document", "any")]));
}
