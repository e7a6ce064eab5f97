//! Portcullis: a reverse-proxy authorization gateway.
//!
//! For every request it finds the credential, proves it valid, works out which (module, action)
//! the request performs, decides, and forwards the request upstream or rejects it, driven by a
//! JSON policy that reloads while it runs.
//!
//! # Layout
//!
//! Modules in the order a request meets them:
//!
//! - [`workers`]: one single-threaded runtime per core, each with its own accept socket.
//! - [`server`]: accepts connections, serves HTTP/1.1 and h2c with hyper.
//! - [`gateway`]: the pipeline; loads the snapshot once and calls each step.
//! - [`canonical`]: the one parse of the request target; refuses ambiguous targets.
//! - [`php`]: how PHP would read parameter names, so selectors cannot be smuggled.
//! - [`route`]: resolves the route, module, action and resource values.
//! - [`credential`]: finds the presented credential.
//! - [`identity`]: proves it valid; yields a `Principal`.
//! - [`grant`]: permissions, scope and read-only limits of a principal.
//! - [`authz`]: decides; yields a `Permit`.
//! - [`guard`]: refuses cookies and bodies that would override a selector in PHP.
//! - [`forward`]: sends a permitted request upstream; [`headers`] keeps headers clean;
//!   [`upstream`] says where; [`echo`] is the built-in demo upstream.
//! - [`reject`]: the one mapping from rejection to response.
//! - [`body`]: the body type.
//!
//! Around the request path:
//!
//! - [`policy`]: raw → compiled → published policy snapshots.
//! - [`reload`] and [`watch`]: hot reload on file change, SIGHUP or admin request.
//! - [`admin`]: health, readiness, status, reload.
//! - [`settings`]: boot settings; [`clock`]: injected time; [`keygen`] and [`explain`]: CLI tools.
//! - [`schema`]: JSON Schemas of the policy and settings files, generated from the raw types.

pub mod admin;
pub mod authz;
pub mod body;
pub mod canonical;
pub mod clock;
pub mod credential;
pub mod echo;
pub mod explain;
pub mod forward;
pub mod gateway;
pub mod grant;
pub mod guard;
pub mod headers;
pub mod identity;
pub mod issuer;
pub mod keygen;
pub mod managed;
pub mod php;
pub mod policy;
pub mod reject;
pub mod reload;
pub mod route;
pub mod schema;
pub mod server;
pub mod settings;
pub mod token;
pub mod upstream;
pub mod watch;
pub mod workers;
