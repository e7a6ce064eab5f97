//! Built-in endpoints as routes: a `builtin::Spec` below its family's prefix becomes a `Route`
//! of the same table as the policy's routes (`policy::routes` adds them first, so a conflicting
//! policy route is reported at the policy route, naming the built-in one).

use http::Method;

use crate::builtin::Spec;
use crate::policy::locate::JsonPath;
use crate::route::{Route, Target, ValueSource};

/// Built-in endpoints to add to the table: their specs, the path prefix they live under, and the
/// policy place that turned them on (named in conflict errors).
pub struct Builtins<'a> {
    /// The endpoints.
    pub specs: &'a [Spec],
    /// Prefix of every template (may be empty).
    pub prefix: &'a str,
    /// File index and JSON path of the section that enabled them.
    pub place: (usize, JsonPath),
}

/// The route of a built-in endpoint. Its path parameters are its resources, which is how the
/// endpoint reads them from the permit.
pub(super) fn builtin(spec: &Spec, prefix: &str) -> Route {
    let resources = spec
        .template
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| (name.to_owned(), ValueSource::Path(name.to_owned())))
        .collect();
    Route {
        id: spec.id.to_owned(),
        index: 0,
        methods: vec![Method::from_bytes(spec.method.as_bytes()).expect("a standard method")],
        query: Vec::new(),
        module: Some(ValueSource::Literal(spec.module.to_owned())),
        action: Some(ValueSource::Literal(spec.action.to_owned())),
        resources,
        target: Target::Builtin(spec.endpoint),
        admits: spec.access.into(),
        keep_credential: false,
        allow_encoded_percent: false,
        allow_encoded_delimiters: false,
        allow_method_override: false,
        websocket: false,
        accept: spec.accept.to_vec(),
        error_style: spec.error_style,
        rate_limit: None,
        secret_in_path: spec.secret_in_path,
        template: format!("{prefix}{}", spec.template),
        query_selectors: Vec::new(),
    }
}
