//! Form bodies for the token endpoints: `application/x-www-form-urlencoded`,
//! `multipart/form-data` (SeaTable's `PUT .../api-tokens/{app}/` sends multipart) and a JSON
//! object (SeaTable's login also takes `{"username", "password"}`), read whole under a small
//! limit. Only text fields are kept (JSON: top-level string values).

use crate::incoming::Incoming;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use http_body_util::BodyExt;

use crate::body;
use crate::canonical;
use crate::field;

/// Largest form body the endpoints read.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Why a form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// Larger than `MAX_FORM_BYTES`.
    #[error("the form is too large")]
    TooLarge,
    /// Not a form this endpoint can read.
    #[error("the form is malformed")]
    Malformed,
}

/// How long a login or API-token form may pause between bytes.
const FORM_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Read the body as form fields (name, value).
pub async fn read(
    headers: &HeaderMap,
    incoming: Incoming,
) -> Result<Vec<(String, String)>, FormError> {
    let bytes = body::limited(incoming, MAX_FORM_BYTES, FORM_IDLE)
        .collect()
        .await
        .map_err(|_| FormError::TooLarge)?
        .to_bytes();
    let ctype = field::single(headers, CONTENT_TYPE)
        .map_err(|_| FormError::Malformed)?
        .unwrap_or("");
    let text = std::str::from_utf8(&bytes).map_err(|_| FormError::Malformed)?;
    if is_json(ctype) {
        return json_fields(text);
    }
    match boundary(ctype) {
        Some(b) => multipart(text, &b),
        None => canonical::parse_pairs(text)
            .map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect()
            })
            .map_err(|_| FormError::Malformed),
    }
}

/// Whether the content type is `application/json` (parameters ignored).
fn is_json(ctype: &str) -> bool {
    ctype
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The string members of a JSON object; anything but an object is malformed.
fn json_fields(text: &str) -> Result<Vec<(String, String)>, FormError> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| FormError::Malformed)?;
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            _ => None,
        })
        .collect())
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(ctype: &str) -> Option<String> {
    let mut parts = ctype.split(';');
    if !parts
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return None;
    }
    parts
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .next()
}

/// Text fields of a multipart body.
fn multipart(text: &str, boundary: &str) -> Result<Vec<(String, String)>, FormError> {
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    for part in text.split(delim.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let (head, value) = part.split_once("\r\n\r\n").ok_or(FormError::Malformed)?;
        let name = head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .flat_map(|l| l.split(';'))
            .filter_map(|p| p.trim().strip_prefix("name="))
            .map(|n| n.trim_matches('"').to_owned())
            .next()
            .ok_or(FormError::Malformed)?;
        out.push((name, value.strip_suffix("\r\n").unwrap_or(value).to_owned()));
    }
    Ok(out)
}

/// The value of field `name`.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_fields() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"permission\"\r\n\r\nr\r\n--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n";
        let f = multipart(body, "XyZ").unwrap();
        assert_eq!(field(&f, "permission"), Some("r"));
        assert_eq!(field(&f, "x"), Some("line1\r\nline2"));
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
    }

    #[test]
    fn json_objects_give_their_string_members() {
        assert!(is_json("application/json; charset=utf-8"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        let f = json_fields(r#"{"username":"a","password":"p","n":1,"o":{"x":"y"}}"#).unwrap();
        assert_eq!(field(&f, "username"), Some("a"));
        assert_eq!(field(&f, "password"), Some("p"));
        assert_eq!((field(&f, "n"), field(&f, "o")), (None, None));
        assert_eq!(json_fields(r#"["a"]"#), Err(FormError::Malformed));
        assert_eq!(json_fields("username=a"), Err(FormError::Malformed));
    }
}
