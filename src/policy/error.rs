//! Policy problems: every compile error (and warning) with its file, JSON path and line/column.
//!
//! The compiler collects all of them instead of stopping at the first; `Display` prints one line
//! each, `file:line:column: $.json.path: message`, the shape editors and CI logs understand.

use std::fmt;
use std::path::PathBuf;

use crate::policy::locate::JsonPath;

/// One thing wrong (or worth a warning) in the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Where in that file's JSON.
    pub path: JsonPath,
    /// 1-based line, 0 when the file could not be read.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.path,
            self.message
        )
    }
}

/// Every error found while compiling a policy. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileErrors(pub Vec<Problem>);

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "policy has {n} error{}", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}
