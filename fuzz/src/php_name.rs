//! PHP parameter-name mangling: the bytes, as a form body, are split into pairs whose names go
//! through `php::php_name`, `single_value` and `mentions`. The mangled base never holds a space or
//! a `.` (PHP turns them into `_`), and `single_value` never returns a value for a name that
//! `mentions` does not see.

use portcullis::canonical::parse_pairs;
use portcullis::php::{mentions, php_name, single_value};

/// Check one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let name = php_name(text);
    assert!(
        !name.base.contains([' ', '.']),
        "unmangled base {:?}",
        name.base
    );
    assert!(!name.base.contains('\0'), "NUL in base {:?}", name.base);
    let Ok(pairs) = parse_pairs(text) else {
        return;
    };
    for selector in ["module", "action", "mod.ule", "token"] {
        if let Ok(Some(_)) = single_value(&pairs, selector) {
            assert!(
                mentions(&pairs, selector),
                "{selector} found but not mentioned"
            );
        }
    }
}
