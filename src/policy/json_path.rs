//! JSON paths: the path every policy diagnostic carries, displayed as `$.routes[3].module`
//! (keys that are not identifiers as `$["a b"]`). `locate` maps one back to a line and column.

use std::fmt;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// An object member, by key.
    Key(String),
    /// An array element, by 0-based index.
    Index(usize),
}

/// A JSON path, displayed as `$.routes[3].module` (keys that are not
/// identifiers as `$["a b"]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct JsonPath(pub Vec<Seg>);

impl JsonPath {
    /// The empty path, pointing at the whole document.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by the object member `k`.
    pub fn key(&self, k: &str) -> Self {
        self.with(Seg::Key(k.to_owned()))
    }

    /// This path extended by the array element `i`.
    pub fn index(&self, i: usize) -> Self {
        self.with(Seg::Index(i))
    }

    fn with(&self, seg: Seg) -> Self {
        let mut segs = self.0.clone();
        segs.push(seg);
        Self(segs)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) if is_identifier(k) => write!(f, ".{k}")?,
                Seg::Key(k) => write!(f, "[{}]", quote(k))?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`: keys that can be shown after a dot unquoted.
fn is_identifier(k: &str) -> bool {
    let mut chars = k.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A key as a JSON string literal (quotes and escapes included).
fn quote(k: &str) -> String {
    serde_json::to_string(k).unwrap_or_else(|_| format!("\"{k}\""))
}
