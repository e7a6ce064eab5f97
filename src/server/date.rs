//! The `Date` field of the plain HTTP/1.1 server's responses: formatted once a second per
//! worker thread, as hyper does, instead of once a response.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// The second last formatted, and its text.
    static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Call `f` with the current date as an HTTP date (`Tue, 01 Dec 2026 21:48:51 GMT`).
pub(super) fn with<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != second {
            *c = (second, httpdate::fmt_http_date(now));
        }
        f(c.1.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_an_http_date_of_now() {
        let text = with(|d| String::from_utf8(d.to_vec()).unwrap());
        let parsed = httpdate::parse_http_date(&text).unwrap();
        let off = SystemTime::now().duration_since(parsed).unwrap();
        assert!(off.as_secs() <= 1, "{text}");
        assert!(text.ends_with(" GMT") && text.len() == 29, "{text}");
    }
}
