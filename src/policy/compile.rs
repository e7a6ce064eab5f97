//! Compilation: raw policy → `Snapshot`, collecting every error instead of stopping at the first.
//!
//! Pure: it reads only its `Input` and builds every index the request path needs (route routers,
//! key digests, grants). Sections spread over several files are merged here; a setting given
//! twice, or a name defined twice, is an error naming both places. Keys and roles are compiled
//! in `keys`, routes in `routes`, Linea21 imports in `linea21`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::policy::error::{CompileErrors, Problem};
use crate::policy::load::{Input, problem_in};
use crate::policy::locate::{JsonPath, Seg};
use crate::policy::raw::Mode;
use crate::policy::source::SourceFile;
use crate::policy::{
    Compiled, Snapshot, builtin_routes, keys, linea21, management, rate_limits, routes, tokens,
};
use crate::upstream::{self, Upstream};

/// Default time allowed for an upstream's response head.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// Query parameters that carry a credential when the policy names none.
pub const DEFAULT_CREDENTIAL_QUERY_PARAMS: &[&str] = &[];

/// The compiler's context: the files (to locate problems) and what was found.
pub struct Cx<'a> {
    files: &'a [SourceFile],
    /// Texts read again to locate problems (`load` released them), by file.
    texts: Vec<Option<Option<String>>>,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    /// Object keys that are secrets (Linea21 tokens) → what to show instead. A problem's line and
    /// column are found with the real path; its shown path never holds a secret.
    redact: HashMap<String, String>,
}

impl<'a> Cx<'a> {
    fn new(input: &'a Input) -> Self {
        Self {
            files: &input.files,
            texts: vec![None; input.files.len()],
            errors: Vec::new(),
            warnings: Vec::new(),
            redact: HashMap::new(),
        }
    }

    /// Record an error at `path` in file `file`.
    pub fn error(&mut self, file: usize, path: JsonPath, message: impl Into<String>) {
        let p = self.located(file, path, message.into());
        self.errors.push(p);
    }

    /// Record a warning at `path` in file `file`.
    pub fn warn(&mut self, file: usize, path: JsonPath, message: impl Into<String>) {
        let p = self.located(file, path, message.into());
        self.warnings.push(p);
    }

    /// Errors recorded so far.
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// Never show `secret` in a problem's path; show `shown` instead.
    pub fn redact(&mut self, secret: &str, shown: String) {
        self.redact.insert(secret.to_owned(), shown);
    }

    /// The text of `file` as loaded, read again once if released.
    fn text(&mut self, file: usize) -> Option<&str> {
        let f = &self.files[file];
        if f.kept() {
            return Some(&f.text);
        }
        let slot = &mut self.texts[file];
        slot.get_or_insert_with(|| f.text_as_read().map(|t| t.into_owned()))
            .as_deref()
    }

    fn located(&mut self, file: usize, path: JsonPath, message: String) -> Problem {
        let name = self.files[file].path.clone();
        let mut p = problem_in(&name, self.text(file), path, message);
        for seg in &mut p.path.0 {
            if let Seg::Key(k) = seg
                && let Some(shown) = self.redact.get(k)
            {
                *k = shown.clone();
            }
        }
        p
    }

    /// "file:line:column" of `path` in `file`, to name the other place of a duplicate.
    pub fn place(&mut self, file: usize, path: &JsonPath) -> String {
        let name = self.files[file].path.clone();
        let p = problem_in(&name, self.text(file), path.clone(), String::new());
        format!("{}:{}:{}", p.file.display(), p.line, p.column)
    }
}

/// Compile `input` into a snapshot (generation 0; `Policy::publish` numbers it). The keys as
/// read move into the snapshot's key index, so `input` is consumed.
pub fn compile(mut input: Input) -> Result<Snapshot, CompileErrors> {
    let key_lists: Vec<_> = input
        .policies
        .iter_mut()
        .map(|(file, p)| (*file, std::mem::take(&mut p.keys)))
        .collect();
    let input = &input;
    let mut cx = Cx::new(input);
    let mode = single(&mut cx, input, "mode", |p| p.mode).unwrap_or(Mode::LimitedAccess);
    let unmapped_status = unmapped(&mut cx, input);
    let credential_query_params = single(&mut cx, input, "credential_query_params", |p| {
        p.credential_query_params.clone()
    })
    .unwrap_or_else(|| {
        DEFAULT_CREDENTIAL_QUERY_PARAMS
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    check_query_params(&mut cx, input);
    let allowed_methods = allowed_methods(&mut cx, input);
    let never_forward = single(&mut cx, input, "never_forward", |p| p.never_forward.clone())
        .unwrap_or_default()
        .iter()
        .map(|n| crate::headers::normalized(n))
        .collect();
    let forward_auth_max_age_s = single(&mut cx, input, "forward_auth", |p| p.forward_auth)
        .and_then(|f| f.cache_max_age_s)
        .unwrap_or(0);
    let (upstreams, upstream_ix) = compile_upstreams(&mut cx, input);
    let roles = keys::roles(&mut cx, input);
    let (rate_limits, role_limits) = rate_limits::section(&mut cx, input, &roles);
    let mut places = keys::Places::default();
    let mut keys = keys::compile(&mut cx, key_lists, &roles, &role_limits, &mut places);
    linea21::import(&mut cx, input, &mut keys, &mut places);
    drop(places);
    let mut directory = tokens::compile(&mut cx, input, &roles);
    rate_limits::users(&mut cx, input, &role_limits, &mut directory);
    // The keys' grants are final now: store equal ones once.
    keys.finish();
    let mut builtins = Vec::new();
    if let Some(st) = &directory.seatable {
        // Built-in endpoints are routes: they share the table, so a policy route that conflicts
        // with one is a load error naming both.
        let file = input
            .policies
            .iter()
            .find(|(_, p)| p.seatable.is_some())
            .map_or(0, |(f, _)| *f);
        builtins.push(builtin_routes::Builtins {
            specs: &crate::builtin::SEATABLE,
            prefix: &st.prefix,
            place: (file, JsonPath::root().key("seatable")),
        });
    }
    let management = management::compile(&mut cx, input, &roles);
    let place = (management.file, JsonPath::root().key("management"));
    if let Some(cf) = &management.contractfit {
        builtins.push(builtin_routes::Builtins {
            specs: &crate::builtin::CONTRACTFIT,
            prefix: &cf.prefix,
            place: (place.0, place.1.key("contractfit")),
        });
    }
    if let Some(prefix) = &management.trivore {
        builtins.push(builtin_routes::Builtins {
            specs: &crate::builtin::TRIVORE,
            prefix,
            place: (place.0, place.1.key("trivore")),
        });
    }
    let routes = routes::compile(&mut cx, input, &upstream_ix, &builtins);
    let registry = management::registry(&mut cx, input, &management);
    if !cx.errors.is_empty() {
        return Err(CompileErrors(cx.errors));
    }
    let compiled = Compiled {
        sha256: input.fingerprint(),
        mode,
        unmapped_status,
        credential_query_params,
        forward_auth_max_age_s,
        rate_limits,
        allowed_methods,
        never_forward,
        routes,
        keys,
        upstreams,
        directory,
        sources: input
            .files
            .iter()
            .map(|f| f.path.clone())
            .chain(input.secret_files.iter().cloned())
            .collect(),
        warnings: cx.warnings,
        management,
    };
    Ok(Snapshot {
        generation: 0,
        compiled: Arc::new(compiled),
        managed: Arc::new(registry),
    })
}

/// Recompile only the registry of `input` beside `current`'s compiled policy (whose input must
/// be the same); `None` when the registry is what `current` runs.
pub fn registry_only(input: &Input, current: &Snapshot) -> Result<Option<Snapshot>, CompileErrors> {
    let state = input
        .registry
        .as_ref()
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    if crate::registry::index::fingerprint(&state) == current.managed.sha256 {
        return Ok(None);
    }
    let mut cx = Cx::new(input);
    let registry = management::registry(&mut cx, input, &current.management);
    if !cx.errors.is_empty() {
        return Err(CompileErrors(cx.errors));
    }
    Ok(Some(Snapshot {
        generation: 0,
        compiled: Arc::clone(&current.compiled),
        managed: Arc::new(registry),
    }))
}

/// The methods the gateway accepts before routing: the policy's list or the default.
fn allowed_methods(cx: &mut Cx<'_>, input: &Input) -> Vec<http::Method> {
    let Some(list) = single(cx, input, "allowed_methods", |p| p.allowed_methods.clone()) else {
        return crate::kinds::DEFAULT_METHODS.to_vec();
    };
    let file = input
        .policies
        .iter()
        .find(|(_, p)| p.allowed_methods.is_some())
        .map_or(0, |(f, _)| *f);
    let mut out = Vec::new();
    for (n, m) in list.iter().enumerate() {
        let ok = !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase());
        match http::Method::from_bytes(m.as_bytes()) {
            Ok(method) if ok => out.push(method),
            _ => cx.error(
                file,
                JsonPath::root().key("allowed_methods").index(n),
                format!("expected an upper-case HTTP method such as GET, got `{m}`"),
            ),
        }
    }
    out
}

/// A setting that at most one file may give.
fn single<T>(
    cx: &mut Cx<'_>,
    input: &Input,
    name: &str,
    get: impl Fn(&crate::policy::raw::RawPolicy) -> Option<T>,
) -> Option<T> {
    let mut found: Option<(usize, T)> = None;
    for (file, p) in &input.policies {
        let Some(v) = get(p) else { continue };
        if let Some((first, _)) = &found {
            let other = cx.place(*first, &JsonPath::root().key(name));
            cx.error(
                *file,
                JsonPath::root().key(name),
                format!("`{name}` is already set at {other}"),
            );
            continue;
        }
        found = Some((*file, v));
    }
    found.map(|(_, v)| v)
}

fn unmapped(cx: &mut Cx<'_>, input: &Input) -> StatusCode {
    let code = single(cx, input, "unmapped_status", |p| p.unmapped_status).unwrap_or(404);
    match code {
        404 => StatusCode::NOT_FOUND,
        403 => StatusCode::FORBIDDEN,
        _ => {
            let (file, _) = input
                .policies
                .iter()
                .find(|(_, p)| p.unmapped_status.is_some())
                .map(|(f, p)| (*f, p))
                .unwrap_or((0, &input.policies[0].1));
            cx.error(
                file,
                JsonPath::root().key("unmapped_status"),
                format!("expected 404 or 403, got {code}"),
            );
            StatusCode::NOT_FOUND
        }
    }
}

/// Credential query parameters must be distinct, non-empty names.
fn check_query_params(cx: &mut Cx<'_>, input: &Input) {
    for (file, p) in &input.policies {
        let Some(names) = &p.credential_query_params else {
            continue;
        };
        for (n, name) in names.iter().enumerate() {
            let at = JsonPath::root().key("credential_query_params").index(n);
            if name.is_empty() {
                cx.error(*file, at, "expected a parameter name");
            } else if names[..n].contains(name) {
                cx.error(*file, at, format!("`{name}` is listed twice"));
            }
        }
    }
}

fn compile_upstreams(cx: &mut Cx<'_>, input: &Input) -> (Vec<Upstream>, HashMap<String, usize>) {
    let mut list = Vec::new();
    let mut index: HashMap<String, (usize, usize)> = HashMap::new();
    for (file, p) in &input.policies {
        for (name, raw) in &p.upstreams {
            let at = JsonPath::root().key("upstreams").key(name);
            if let Some((other, _)) = index.get(name) {
                let other = cx.place(*other, &JsonPath::root().key("upstreams").key(name));
                cx.error(
                    *file,
                    at,
                    format!("upstream `{name}` is already defined at {other}"),
                );
                continue;
            }
            let target = match upstream::parse_target(&raw.url) {
                Ok(t) => t,
                Err(e) => {
                    cx.error(*file, at.key("url"), e);
                    continue;
                }
            };
            let timeout = raw
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_UPSTREAM_TIMEOUT);
            let host = match &raw.host {
                Some(h) => match http::HeaderValue::from_str(h) {
                    Ok(v) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()) => Some(v),
                    _ => {
                        cx.error(
                            *file,
                            at.key("host"),
                            "expected a host name, e.g. `app.internal`",
                        );
                        continue;
                    }
                },
                None => None,
            };
            index.insert(name.clone(), (*file, list.len()));
            list.push(Upstream {
                name: name.clone(),
                target,
                timeout,
                host,
            });
        }
    }
    let index = index.into_iter().map(|(k, (_, i))| (k, i)).collect();
    (list, index)
}
