//! SeaTable base uuids: their canonical form, and where SeaTable's URLs put them.
//!
//! A base uuid is canonical as 36 lowercase characters, `8-4-4-4-12` hex digits with dashes (the
//! form the policy's `bases` and the access-token answers use). dtable-web may also write the 32
//! digits without dashes; `canonical` accepts both for tokens. In a request path only the
//! canonical form is recognized, so the value a route captures is a slice of the path and equals
//! a token's base byte for byte. `token::seatable` reads tokens with it; `route` finds the uuid in
//! a catch-all capture with `in_path`.

/// The SeaTable path shapes whose next segment is the base uuid.
pub const PATH_SHAPES: [&str; 3] = ["api/v1/dtables/", "api/v2/dtables/", "dtables/"];

/// Whether `s` is a base uuid in canonical form.
pub fn is_canonical(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// The canonical form of a uuid written with or without dashes, in either case.
pub fn canonical(s: &str) -> Option<String> {
    let hex: String = match s.len() {
        36 if is_canonical(&s.to_ascii_lowercase()) => s.replace('-', ""),
        32 => s.to_owned(),
        _ => return None,
    };
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// The base uuid of a SeaTable path (`api/v1/dtables/{uuid}/…`, `api/v2/dtables/{uuid}/…` or
/// `dtables/{uuid}/…`, leading `/` optional): the segment right after the shape's prefix, which
/// must be a canonical uuid followed by `/` or the end. Anything else has none.
pub fn in_path(path: &str) -> Option<&str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    PATH_SHAPES.iter().find_map(|shape| {
        let rest = path.strip_prefix(shape)?;
        let (uuid, after) = rest.split_at_checked(36)?;
        (is_canonical(uuid) && (after.is_empty() || after.starts_with('/'))).then_some(uuid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "5a1e5000-0000-4000-8000-000000000001";

    #[test]
    fn uuids_in_seatable_paths() {
        let cases = [
            (format!("api/v1/dtables/{U}/rows/"), Some(U)),
            (format!("/api/v2/dtables/{U}/rows/"), Some(U)),
            (format!("dtables/{U}"), Some(U)),
            (format!("dtables/{U}/"), Some(U)),
            (format!("api/v1/dtables/{U}x/rows/"), None),
            (format!("api/v1/dtables/{}/rows/", U.to_uppercase()), None),
            (format!("api/v1/other/{U}/rows/"), None),
            (format!("x/api/v1/dtables/{U}/"), None),
            ("api/v1/dtables/".to_owned(), None),
            ("ping/".to_owned(), None),
            (String::new(), None),
        ];
        for (path, want) in cases {
            assert_eq!(in_path(&path), want, "{path}");
        }
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical(U).as_deref(), Some(U));
        assert_eq!(canonical(&U.to_uppercase()).as_deref(), Some(U));
        assert_eq!(canonical(&U.replace('-', "")).as_deref(), Some(U));
        assert_eq!(canonical("5a1e5000-0000-4000-8000-00000000000g"), None);
        assert_eq!(canonical("5a1e50000-000-4000-8000-000000000001"), None);
        assert_eq!(canonical(""), None);
        assert_eq!(canonical("../../etc"), None);
    }
}
