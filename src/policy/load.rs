//! Loading: reads the policy files and what they import, and parses each into raw types.
//!
//! Every syntax or shape error is collected with its file, JSON path and line/column; nothing is
//! checked for meaning here (that is `compile`). The result, `Input`, also fingerprints exactly
//! the bytes it read, so `reload` can skip a policy it has already loaded.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::policy::error::{CompileErrors, Problem};
use crate::policy::locate::{self, JsonPath, Seg};
use crate::policy::raw::{ImportFormat, Linea21Entry, RawPolicy, SecretRef};
use crate::policy::raw_keys;
use crate::policy::raw_managed::{RawManagedFile, is_managed};
use crate::policy::source::{self, Fingerprinted, SourceFile};
use crate::policy::split_keys;

/// A parsed Linea21 file.
#[derive(Debug)]
pub struct Imported {
    /// Index (into `Input::files`) of the file that imports it.
    pub from: usize,
    /// JSON path of the import entry in that file.
    pub at: JsonPath,
    /// Index of the imported file itself.
    pub file: usize,
    /// token → entry.
    pub entries: BTreeMap<String, Linea21Entry>,
}

/// Everything read and parsed, ready for `compile`.
#[derive(Debug)]
pub struct Input {
    /// Every file read: the policy files in name order, then imported files.
    pub files: Vec<SourceFile>,
    /// (file index, parsed policy) for each policy file.
    pub policies: Vec<(usize, RawPolicy)>,
    /// Imported foreign files.
    pub imports: Vec<Imported>,
    /// Secret material referenced by the policy, resolved: (file index, JSON path) → bytes or
    /// why it could not be read. Never displayed.
    pub secrets: HashMap<(usize, String), Result<Vec<u8>, String>>,
    /// The registry section of the managed file (file index, state), when there is one.
    pub registry: Option<(usize, crate::registry::State)>,
    /// Files secret references (`{"file": ...}`) were read from.
    pub secret_files: Vec<std::path::PathBuf>,
    /// See `fingerprint`; computed before the texts are released.
    fingerprint: String,
}

impl Input {
    /// SHA-256 over every file read and every secret resolved (so rotating a key file reloads).
    ///
    /// The managed file counts by its SeaTable API tokens only: its registry section is compiled
    /// apart, and a management write to it must not look like a policy edit.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    fn compute_fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let managed = self.registry.as_ref().map(|(f, _)| *f);
        // No tokens is the same input as no managed file.
        let tokens = managed
            .and_then(|f| self.policies.iter().find(|(i, _)| *i == f))
            .map(|(_, p)| p.api_tokens.as_slice())
            .unwrap_or_default();
        let tokens = match tokens {
            [] => None,
            t => Some(serde_json::to_string(t).unwrap_or_default()),
        };
        let files = self.files.iter().enumerate().filter_map(|(i, f)| {
            if Some(i) != managed {
                Some(Fingerprinted::File(f))
            } else {
                tokens.as_deref().map(|t| Fingerprinted::Text(&f.path, t))
            }
        });
        let files = source::fingerprint(files);
        h.update(files.as_bytes());
        let mut keys: Vec<_> = self.secrets.keys().collect();
        keys.sort();
        for k in keys {
            h.update(k.1.as_bytes());
            if let Ok(v) = &self.secrets[k] {
                h.update(Sha256::digest(v));
            }
        }
        hex::encode(h.finalize())
    }

    /// The resolved secret at `path` of `file`.
    pub fn secret(&self, file: usize, path: &JsonPath) -> Option<&Result<Vec<u8>, String>> {
        self.secrets.get(&(file, path.to_string()))
    }
}

/// Where `{"env": NAME}` secret references are looked up. `main` passes the process
/// environment; everything else gets what it is given.
pub type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Send + Sync);

/// An environment with nothing in it.
pub fn no_env(_: &str) -> Option<String> {
    None
}

/// Read and parse the policy at `path` with no environment.
pub fn load(path: &Path) -> Result<Input, CompileErrors> {
    load_with(path, &no_env)
}

/// How policy files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Each file whole into memory, then parsed with serde, every key in full.
    Whole,
    /// Each policy file parsed as it is read (`split_keys`: each key from a slice of its own,
    /// keys alike but for their digest read once), never held whole: no copy of the text beside
    /// a running snapshot, and faster than `Whole` on many keys (`benches/compile.rs`). What the
    /// gateway and its tools use. A file that does not parse is read again whole, so its problem
    /// is reported exactly as with `Whole`.
    Streamed,
}

/// Read and parse the policy at `path` (a file or a directory of `*.json`), resolving secret
/// references through `env` and the file system.
pub fn load_with(path: &Path, env: Env<'_>) -> Result<Input, CompileErrors> {
    load_reading(path, env, Reading::Streamed)
}

/// `load_with`, reading policy files as `reading` says.
pub fn load_reading(path: &Path, env: Env<'_>, reading: Reading) -> Result<Input, CompileErrors> {
    let unreadable = |e: source::ReadError| {
        CompileErrors(vec![Problem {
            file: path.to_owned(),
            path: JsonPath::root(),
            line: 0,
            column: 0,
            message: e.to_string(),
        }])
    };
    let names = source::list(path).map_err(unreadable)?;
    let mut input = Input {
        files: Vec::with_capacity(names.len()),
        policies: Vec::new(),
        imports: Vec::new(),
        secrets: HashMap::new(),
        registry: None,
        secret_files: Vec::new(),
        fingerprint: String::new(),
    };
    let mut problems = Vec::new();
    let is_dir = path.is_dir();
    // The gateway's own file is no policy: a directory holding only it (a policy file deleted
    // and not yet recreated, a symlink mid-swap) must not load as an empty policy.
    if is_dir && names.iter().all(|f| is_managed(f)) {
        return Err(CompileErrors(vec![Problem {
            file: path.to_owned(),
            path: JsonPath::root(),
            line: 0,
            column: 0,
            message: format!(
                "{} holds no *.json policy file besides the gateway's own portcullis-managed.json",
                path.display()
            ),
        }]));
    }
    for name in &names {
        let i = input.files.len();
        if is_dir && is_managed(name) {
            input
                .files
                .push(source::read_file(name).map_err(unreadable)?);
            match parse::<RawManagedFile>(&input.files[i]) {
                Ok(m) => {
                    input.policies.push((
                        i,
                        RawPolicy {
                            api_tokens: m.api_tokens,
                            ..RawPolicy::default()
                        },
                    ));
                    input.registry = Some((i, m.registry));
                }
                Err(e) => problems.push(e),
            }
            continue;
        }
        let (file, parsed) = match reading {
            // A pipe (`check <(generate)`) can be read once: whole, so a problem is located.
            Reading::Streamed if std::fs::metadata(name).is_ok_and(|m| m.is_file()) => {
                let (file, parsed) =
                    source::stream(name, |r, len| split_keys::parse(r, len)).map_err(unreadable)?;
                match parsed {
                    Some(p) => (file, Ok(p)),
                    None => {
                        let file = source::read_file(name).map_err(unreadable)?;
                        let parsed = parse_policy(&file);
                        (file, parsed)
                    }
                }
            }
            Reading::Streamed | Reading::Whole => {
                let file = source::read_file(name).map_err(unreadable)?;
                let parsed = parse_policy(&file);
                (file, parsed)
            }
        };
        input.files.push(file);
        match parsed {
            Ok(p) => input.policies.push((i, p)),
            Err(e) => problems.push(e),
        }
    }
    let wanted: Vec<(usize, usize, String)> = input
        .policies
        .iter()
        .flat_map(|(f, p)| {
            p.imports.iter().enumerate().map(move |(n, imp)| {
                let ImportFormat::Linea21 = imp.format;
                (*f, n, imp.path.clone())
            })
        })
        .collect();
    for (from, n, rel) in wanted {
        let at = JsonPath::root().key("imports").index(n);
        let base = input.files[from].path.parent().unwrap_or(Path::new("."));
        let file = match source::read_file(&base.join(&rel)) {
            Ok(f) => f,
            Err(e) => {
                problems.push(problem(&input.files[from], at.key("path"), e.to_string()));
                continue;
            }
        };
        input.files.push(file);
        let idx = input.files.len() - 1;
        match parse(&input.files[idx]) {
            Ok(entries) => input.imports.push(Imported {
                from,
                at,
                file: idx,
                entries,
            }),
            Err(mut e) => {
                // A Linea21 file's object keys are its tokens: never show one.
                if let Some(Seg::Key(k)) = e.path.0.first_mut() {
                    *k = "<token>".into();
                }
                problems.push(e)
            }
        }
    }
    resolve_secrets(&mut input, env);
    if problems.is_empty() {
        input.fingerprint = input.compute_fingerprint();
        // Parsed: what compile finds wrong is located in the text read again.
        input.files.iter_mut().for_each(SourceFile::release);
        Ok(input)
    } else {
        Err(CompileErrors(problems))
    }
}

/// Read every secret reference (signing keys, TOTP secrets) now, so `compile` stays pure.
fn resolve_secrets(input: &mut Input, env: Env<'_>) {
    let mut refs: Vec<(usize, JsonPath, SecretRef)> = Vec::new();
    for (file, p) in &input.policies {
        for (kid, k) in &p.signing_keys {
            let at = JsonPath::root().key("signing_keys").key(kid);
            let fields = [
                ("secret", &k.secret),
                ("private_key", &k.private_key),
                ("public_key", &k.public_key),
            ];
            for (field, r) in fields {
                if let Some(r) = r {
                    refs.push((*file, at.key(field), r.clone()));
                }
            }
        }
        for (name, u) in &p.users {
            if let Some(r) = &u.totp_secret {
                let at = JsonPath::root().key("users").key(name).key("totp_secret");
                refs.push((*file, at, r.clone()));
            }
        }
    }
    for (file, at, r) in refs {
        let value = match &r {
            SecretRef::Inline(v) => Ok(v.clone().into_bytes()),
            SecretRef::Env(name) => env(name)
                .map(String::into_bytes)
                .ok_or_else(|| format!("environment variable `{name}` is not set")),
            SecretRef::File(rel) => {
                let base = input.files[file].path.parent().unwrap_or(Path::new("."));
                let path = base.join(rel);
                input.secret_files.push(path.clone());
                std::fs::read(&path)
                    .map(|mut b| {
                        while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                            b.pop();
                        }
                        b
                    })
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
        };
        input.secrets.insert((file, at.to_string()), value);
    }
}

/// A problem at `path` in `file`, located to its line and column.
pub fn problem(file: &SourceFile, path: JsonPath, message: String) -> Problem {
    // A streamed file's text is not kept: read it again, as compile does, to locate the problem.
    let text = file.text_as_read();
    problem_in(&file.path, text.as_deref(), path, message)
}

/// A problem at `path` in the file at `file` whose text is `text`, located to its line and column
/// (0:0 when the text is not known).
pub fn problem_in(file: &Path, text: Option<&str>, path: JsonPath, message: String) -> Problem {
    let (line, column) = text
        .and_then(|t| locate::locate(t, &path))
        .unwrap_or((0, 0));
    Problem {
        file: file.to_owned(),
        path,
        line,
        column,
        message,
    }
}

/// Parse a policy file, its `keys` sized by the file's length.
fn parse_policy(file: &SourceFile) -> Result<RawPolicy, Problem> {
    raw_keys::sized_by(file.text.len() as u64, || parse::<RawPolicy>(file))
}

/// Parse `file` as `T`, with the JSON path and line/column of the first error.
fn parse<T: DeserializeOwned>(file: &SourceFile) -> Result<T, Problem> {
    // Tracking the path costs a fifth of a large policy's parse; only a failure needs it.
    let mut de = serde_json::Deserializer::from_str(&file.text);
    if let Ok(value) = T::deserialize(&mut de)
        && de.end().is_ok()
    {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(&file.text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = json_path(e.path());
        json_problem(file, path, &e.into_inner())
    })?;
    de.end()
        .map_err(|e| json_problem(file, JsonPath::root(), &e))?;
    Ok(value)
}

fn json_problem(file: &SourceFile, path: JsonPath, e: &serde_json::Error) -> Problem {
    // serde_json counts bytes and stops past the token at fault; point at the token, in characters.
    let (line, column) = locate::serde_position(&file.text, e);
    Problem {
        file: file.path.clone(),
        path,
        line,
        column,
        message: strip_position(&e.to_string()),
    }
}

fn json_path(p: &serde_path_to_error::Path) -> JsonPath {
    use serde_path_to_error::Segment;
    let mut out = JsonPath::root();
    for seg in p {
        out = match seg {
            Segment::Seq { index } => out.index(*index),
            Segment::Map { key } => out.key(key),
            Segment::Enum { .. } | Segment::Unknown => out,
        };
    }
    out
}

/// serde_json appends " at line L column C"; the problem carries those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}
