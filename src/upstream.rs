//! Upstreams: the compiled form of an upstream application — where requests go and how long
//! the gateway waits for an answer.
//!
//! `policy::compile` builds them; `forward::send` uses them. `builtin:echo` is the in-process
//! demo upstream (`echo`), so the shipped configuration serves something with no other process.

use std::time::Duration;

use http::uri::{Authority, Scheme};

/// Where an upstream lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The in-process echo upstream.
    Echo,
    /// An HTTP server.
    Http {
        /// Always `http` for now.
        scheme: Scheme,
        /// host:port.
        authority: Authority,
        /// Path prefix prepended to the forwarded path (no trailing slash; may be empty).
        base_path: String,
    },
}

/// One upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Its name in the policy.
    pub name: String,
    /// Where it lives.
    pub target: Target,
    /// How long to wait for the response head.
    pub timeout: Duration,
    /// The `Host` to send instead of the client's.
    pub host: Option<http::HeaderValue>,
}

/// Parse an upstream URL; the error says what was expected.
pub fn parse_target(url: &str) -> Result<Target, String> {
    if url == "builtin:echo" {
        return Ok(Target::Echo);
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("expected an http:// or https:// URL or builtin:echo ({e})"))?;
    let scheme = match uri.scheme() {
        Some(s) if *s == Scheme::HTTP || *s == Scheme::HTTPS => s.clone(),
        _ => return Err("expected an http:// or https:// URL or builtin:echo".into()),
    };
    let authority = uri
        .authority()
        .cloned()
        .ok_or("expected a host in the URL")?;
    if uri.query().is_some() {
        return Err("an upstream URL takes no query".into());
    }
    let base_path = uri.path().trim_end_matches('/').to_owned();
    Ok(Target::Http {
        scheme,
        authority,
        base_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("builtin:echo"), Ok(Target::Echo));
        let Ok(Target::Http {
            authority,
            base_path,
            ..
        }) = parse_target("http://127.0.0.1:8081/app/")
        else {
            panic!("expected http target")
        };
        assert_eq!(authority.as_str(), "127.0.0.1:8081");
        assert_eq!(base_path, "/app");
        assert!(matches!(
            parse_target("https://x"),
            Ok(Target::Http { scheme, .. }) if scheme == Scheme::HTTPS
        ));
        assert!(parse_target("ftp://x").is_err());
        assert!(parse_target("http://x/?a=1").is_err());
        assert!(parse_target("nonsense").is_err());
    }
}
