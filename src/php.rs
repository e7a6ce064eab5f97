//! How a PHP upstream would see request parameters.
//!
//! Owns: PHP 8's parameter-name mangling (`php_register_variable_ex` in
//! php-src `main/php_variables.c`) and the selector checks built on it:
//! [`single_value`] (the one scalar value of a selector such as `module`,
//! refusing every spelling PHP would fold into it) and [`mentions`] (whether
//! any spelling of a name occurs at all, e.g. in a form body that PHP's
//! `$_REQUEST` would let override the query).
//!
//! Does not own: splitting or percent-decoding query strings and bodies
//! (that is [`crate::canonical`], whose decoded pairs are this module's
//! input), nor deciding what a rejection means for the request (the gateway).
//!
//! The PHP 8 rules reproduced by [`php_name`], applied to the decoded name:
//! 1. leading spaces (`' '` only, not tabs) are dropped;
//! 2. the name ends at the first NUL byte (C strings);
//! 3. before the first `[`, every `' '` and `.` becomes `_`;
//! 4. if that `[` has a `]` anywhere after it, the name is an array whose
//!    base is the part before the `[` (`a[b]`, `a[]`, `a[x]junk` all → `a`);
//! 5. otherwise that `[` becomes `_` and so does every later `' '`, `.` and
//!    `[` (PHP 8; PHP 7 left the later ones alone): `a[b.c` → `a_b_c`;
//! 6. an empty base (`""`, `"   "`, `"[x]"`, `"[x"`) is dropped by PHP.

use std::borrow::Cow;

/// The variable a raw (already percent-decoded) parameter name registers as in PHP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpName<'a> {
    /// The top-level key in `$_GET`/`$_POST` after mangling; empty when PHP drops the parameter.
    pub base: Cow<'a, str>,
    /// True when PHP stores the value inside an array under `base` (`name[]`, `name[key]`).
    pub is_array: bool,
}

/// Why a selector parameter cannot be trusted to mean what PHP will see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// The selector appears more than once (PHP keeps the last, a naive reader the first).
    #[error("expected the parameter at most once")]
    Repeated,
    /// The selector is sent as an array (`name[]=` or `name[key]=`).
    #[error("expected a scalar parameter, not an array")]
    Array,
    /// The selector is spelled differently from its PHP name (` name`, `na.me`, `na me`, `na[me`).
    #[error("expected the parameter under its exact name, not a spelling php mangles into it")]
    Mangled,
}

impl ParamError {
    /// A stable snake_case reason for logs and error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Repeated => "repeated_parameter",
            Self::Array => "array_parameter",
            Self::Mangled => "mangled_parameter",
        }
    }
}

/// How PHP 8 would register the decoded parameter name `raw` (see the module docs for the rules).
pub fn php_name(raw: &str) -> PhpName<'_> {
    let name = raw.trim_start_matches(' ');
    // Searched as bytes: a search for a `char` costs several times more on names this short.
    let name = match name.bytes().position(|b| b == 0) {
        Some(nul) => &name[..nul],
        None => name,
    };
    let Some(open) = name.bytes().position(|b| b == b'[') else {
        return PhpName {
            base: replace_bytes(name, b" ."),
            is_array: false,
        };
    };
    let (head, rest) = name.split_at(open);
    if head.is_empty() {
        return dropped();
    }
    if rest[1..].contains(']') {
        PhpName {
            base: replace_bytes(head, b" ."),
            is_array: true,
        }
    } else {
        // Unmatched `[`: PHP 8 turns it and every later ' ', '.', '[' into '_'.
        PhpName {
            base: replace_bytes(name, b" .["),
            is_array: false,
        }
    }
}

/// The name PHP drops entirely.
fn dropped() -> PhpName<'static> {
    PhpName {
        base: Cow::Borrowed(""),
        is_array: false,
    }
}

/// `s` with every ASCII byte in `from` replaced by `_`, borrowing when nothing changes.
fn replace_bytes<'a>(s: &'a str, from: &[u8]) -> Cow<'a, str> {
    if !s.bytes().any(|b| from.contains(&b)) {
        return Cow::Borrowed(s);
    }
    let mangled = s
        .chars()
        .map(|c| {
            if c.is_ascii() && from.contains(&(c as u8)) {
                '_'
            } else {
                c
            }
        })
        .collect();
    Cow::Owned(mangled)
}

/// The single scalar value of selector parameter `name` in `pairs`, or `None` if absent.
///
/// `name` is itself taken in its PHP form (a configured `mod.ule` means PHP's
/// `mod_ule`). Errs when any pair PHP registers under that base is an array,
/// is spelled differently from the base, or when the exact spelling repeats.
pub fn single_value<'a, N: AsRef<str>, V: AsRef<str>>(
    pairs: &'a [(N, V)],
    name: &str,
) -> Result<Option<&'a str>, ParamError> {
    let target = php_name(name).base;
    if target.is_empty() {
        return Ok(None);
    }
    let mut found = None;
    for (raw, value) in pairs {
        let (raw, value) = (raw.as_ref(), value.as_ref());
        let php = php_name(raw);
        if php.base != target {
            continue;
        }
        if php.is_array {
            return Err(ParamError::Array);
        }
        if raw != target {
            return Err(ParamError::Mangled);
        }
        if found.replace(value).is_some() {
            return Err(ParamError::Repeated);
        }
    }
    Ok(found)
}

/// True if any pair's PHP name (base, array or not) equals the PHP form of `name`.
pub fn mentions<N: AsRef<str>, V>(pairs: &[(N, V)], name: &str) -> bool {
    let target = php_name(name).base;
    !target.is_empty()
        && pairs
            .iter()
            .any(|(raw, _)| php_name(raw.as_ref()).base == target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn php_name_table() {
        let table: &[(&str, &str, bool)] = &[
            ("module", "module", false),
            (" module", "module", false),
            ("   module", "module", false),
            ("\tmodule", "\tmodule", false),
            ("mod.ule", "mod_ule", false),
            ("mod ule", "mod_ule", false),
            ("mod_ule", "mod_ule", false),
            ("module ", "module_", false),
            ("module[]", "module", true),
            ("module[a]", "module", true),
            ("module[a][b]", "module", true),
            ("module[a]junk", "module", true),
            ("module[ ]", "module", true),
            ("module[", "module_", false),
            ("mod[ule", "mod_ule", false),
            ("a[b.c d[e", "a_b_c_d_e", false),
            ("a.b[c]", "a_b", true),
            ("a]b", "a]b", false),
            ("a][b", "a]_b", false),
            ("a[b[c]", "a", true),
            ("module\0x", "module", false),
            ("caf\u{e9}.x", "caf\u{e9}_x", false),
            ("", "", false),
            ("   ", "", false),
            ("[x]", "", false),
            ("[x", "", false),
            (" [x]", "", false),
            (".", "_", false),
        ];
        for (raw, base, is_array) in table {
            let got = php_name(raw);
            assert_eq!(got.base, *base, "base of {raw:?}");
            assert_eq!(got.is_array, *is_array, "is_array of {raw:?}");
        }
    }

    #[test]
    fn php_name_borrows_when_unchanged() {
        assert!(matches!(php_name("module").base, Cow::Borrowed(_)));
        assert!(matches!(php_name("module[x]").base, Cow::Borrowed(_)));
    }

    #[test]
    fn single_value_table() {
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            &'a str,
            Result<Option<&'a str>, ParamError>,
        );
        let table: &[Case] = &[
            (&[("module", "a")], "module", Ok(Some("a"))),
            (&[("module", "")], "module", Ok(Some(""))),
            (&[], "module", Ok(None)),
            (&[("other", "x")], "module", Ok(None)),
            (&[("modules", "x"), ("modul", "y")], "module", Ok(None)),
            (&[("Module", "x")], "module", Ok(None)),
            (&[("module", "a"), ("x", "1")], "module", Ok(Some("a"))),
            (
                &[("module", "a"), ("module", "b")],
                "module",
                Err(ParamError::Repeated),
            ),
            (
                &[("module", "a"), ("module", "a")],
                "module",
                Err(ParamError::Repeated),
            ),
            (&[("module[]", "a")], "module", Err(ParamError::Array)),
            (&[("module[x]", "a")], "module", Err(ParamError::Array)),
            (
                &[("module", "a"), ("module[]", "b")],
                "module",
                Err(ParamError::Array),
            ),
            (&[(" module", "a")], "module", Err(ParamError::Mangled)),
            (
                &[("module", "a"), (" module", "b")],
                "module",
                Err(ParamError::Mangled),
            ),
            (&[("mod.ule", "a")], "mod_ule", Err(ParamError::Mangled)),
            (&[("mod ule", "a")], "mod_ule", Err(ParamError::Mangled)),
            (&[("mod[ule", "a")], "mod_ule", Err(ParamError::Mangled)),
            (&[("mod_ule", "a")], "mod_ule", Ok(Some("a"))),
            (&[("module\0", "a")], "module", Err(ParamError::Mangled)),
            // A configured name is read in its PHP form.
            (&[("mod.ule", "a")], "mod.ule", Err(ParamError::Mangled)),
            (&[("mod_ule", "a")], "mod.ule", Ok(Some("a"))),
            // Parameters PHP drops never match.
            (&[("[module]", "a")], "module", Ok(None)),
            (&[("", "a")], "", Ok(None)),
        ];
        for (list, name, want) in table {
            let list = pairs(list);
            assert_eq!(single_value(&list, name), *want, "{list:?} / {name:?}");
        }
    }

    #[test]
    fn mentions_table() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, bool);
        let table: &[Case] = &[
            (&[("module", "a")], "module", true),
            (&[(" module", "a")], "module", true),
            (&[("module[]", "a")], "module", true),
            (&[("module[x]", "a")], "module", true),
            (&[("mod.ule", "a")], "mod_ule", true),
            (&[("mod[ule", "a")], "mod_ule", true),
            (&[("x", "module")], "module", false),
            (&[("modules", "a")], "module", false),
            (&[], "module", false),
            (&[("", "a")], "", false),
        ];
        for (list, name, want) in table {
            let list = pairs(list);
            assert_eq!(mentions(&list, name), *want, "{list:?} / {name:?}");
        }
    }

    #[test]
    fn error_codes() {
        assert_eq!(ParamError::Repeated.code(), "repeated_parameter");
        assert_eq!(ParamError::Array.code(), "array_parameter");
        assert_eq!(ParamError::Mangled.code(), "mangled_parameter");
    }

    proptest! {
        #[test]
        fn php_base_never_contains_space_dot_or_open_bracket(raw in "[ .\\[\\]a-z_\u{e9}\0]{0,12}") {
            let php = php_name(&raw);
            prop_assert!(!php.base.contains([' ', '.', '[', '\0']));
        }

        #[test]
        fn php_name_is_idempotent_on_scalars(raw in "[ .\\[\\]a-z_]{0,12}") {
            let php = php_name(&raw);
            if !php.is_array {
                let again = php_name(&php.base);
                prop_assert_eq!(&again.base, &php.base);
                prop_assert!(!again.is_array);
            }
        }

        #[test]
        fn mangled_spellings_never_pass_single_value(raw in "[ .]{0,2}[a-z][ .\\[\\]a-z_]{0,10}", value in "[a-z]{0,4}") {
            let base = php_name(&raw).base.into_owned();
            prop_assume!(!base.is_empty());
            let list = vec![(raw.clone(), value.clone())];
            let got = single_value(&list, &base);
            if raw == base {
                prop_assert_eq!(got, Ok(Some(value.as_str())));
            } else {
                prop_assert!(got.is_err());
            }
            prop_assert!(mentions(&list, &base));
        }
    }
}
