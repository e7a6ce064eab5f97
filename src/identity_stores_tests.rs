//! Tests of the key index.
use super::*;
use crate::identity::KeyColumns;

fn key(id: &str, secret: &str, status: &str) -> Key {
    Key {
        id: id.into(),
        digest: crate::identity::digest(secret),
        grants: Arc::new(Grants::default()),
        status: status.into(),
        not_before: None,
        expires_at: Some(5),
        disabled: false,
    }
}

#[test]
fn keys_are_found_by_digest_and_id_and_refused_twice() {
    let mut ix = KeyIndex::default();
    for i in 0..1000 {
        let status = if i % 2 == 0 { "P" } else { "D" };
        assert_eq!(
            ix.insert(key(&format!("k{i}"), &format!("s{i}"), status)),
            Ok(i)
        );
    }
    ix.finish();
    assert_eq!(ix.len(), 1000);
    let k = ix.by_digest(&crate::identity::digest("s517")).unwrap();
    assert_eq!((k.id(), k.status(), k.position()), ("k517", "D", 517));
    assert_eq!((k.not_before(), k.expires_at()), (None, Some(5)));
    assert_eq!(
        ix.by_id("k0").unwrap().digest(),
        &crate::identity::digest("s0")
    );
    assert_eq!(ix.by_id("k999").unwrap().id(), "k999");
    assert!(ix.by_id("k1000").is_none());
    assert!(ix.by_digest(&crate::identity::digest("s1000")).is_none());
    assert_eq!(ix.insert(key("k3", "new", "P")), Err(Taken::Id(3)));
    assert_eq!(ix.insert(key("new", "s4", "P")), Err(Taken::Digest(4)));
    let ids: Vec<&str> = ix.iter().take(3).map(|k| k.id()).collect();
    assert_eq!(ids, ["k0", "k1", "k2"]);
    assert_eq!(ix.statuses.len(), 2);
}

#[test]
fn certificates_stand_for_one_key() {
    let mut ix = KeyIndex::default();
    ix.insert(key("a", "1", "P")).unwrap();
    ix.insert(key("b", "2", "P")).unwrap();
    assert_eq!(ix.bind_certificate([7; 32], 1), Ok(()));
    assert_eq!(ix.bind_certificate([7; 32], 0), Err(1));
    assert_eq!(ix.by_certificate(&[7; 32]).unwrap().id(), "b");
}

fn details(grants: GrantsId, status: &str) -> Details<'_> {
    Details {
        grants,
        status,
        not_before: Some(1),
        expires_at: None,
        disabled: false,
    }
}

#[test]
fn appended_keys_are_found_once_settled_and_taken_ones_never() {
    let mut ix = KeyIndex::default();
    ix.insert(key("first", "s0", "P")).unwrap();
    let mut cols = KeyColumns::default();
    for (id, secret) in [
        ("a", "s1"),
        ("first", "s2"),
        ("b", "s0"),
        ("c", "bad"),
        ("d", "s3"),
    ] {
        cols.push(id, crate::identity::digest(secret)).unwrap();
    }
    ix.append(cols).unwrap();
    assert!(
        ix.by_id("a").is_none(),
        "an appended key is not found before it is settled"
    );
    assert_eq!(ix.len(), 1);
    assert_eq!(
        ix.insert(key("x", "s9", "P")),
        Err(Taken::Full),
        "no insert while appended keys wait"
    );
    let plain = ix.add_grants(Arc::new(Grants::default())).unwrap();
    let read_only = Grants {
        read_only: true,
        ..Grants::default()
    };
    let read_only = ix.add_grants(Arc::new(read_only)).unwrap();
    assert_eq!(ix.settle(details(plain, "P"), true), Ok(1));
    assert_eq!(ix.settle(details(plain, "D"), true), Err(Taken::Id(0)));
    assert_eq!(ix.settle(details(plain, "P"), true), Err(Taken::Digest(0)));
    assert_eq!(ix.settle(details(plain, "P"), false), Ok(4));
    assert_eq!(ix.settle(details(read_only, "P"), true), Ok(5));
    assert_eq!(ix.settle(details(plain, "P"), true), Err(Taken::Full));
    ix.finish();
    assert_eq!(ix.len(), 6);
    let a = ix.by_digest(&crate::identity::digest("s1")).unwrap();
    assert_eq!((a.id(), a.position(), a.not_before()), ("a", 1, Some(1)));
    assert_eq!(ix.by_id("first").unwrap().position(), 0);
    assert!(ix.by_id("b").is_none() && ix.by_id("c").is_none());
    assert!(ix.by_digest(&crate::identity::digest("bad")).is_none());
    assert_eq!(
        ix.by_id("d").unwrap().digest(),
        &crate::identity::digest("s3")
    );
    assert_eq!(ix.get(2).unwrap().status(), "D");
    // Each key has the grants it was settled with, by number.
    assert!(ix.get(5).unwrap().grants().read_only);
    assert!(!ix.get(1).unwrap().grants().read_only);
    assert_eq!(ix.insert(key("e", "s4", "P")), Ok(6));
}

#[test]
fn a_slot_is_eight_bytes() {
    assert_eq!(std::mem::size_of::<Slot>(), 8);
}
