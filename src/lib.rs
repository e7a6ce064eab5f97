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
//! - [`server`]: accepts connections; serves the common HTTP/1.1 request itself and hands a
//!   connection to hyper (bodies, upgrades, h2c, HTTP/2) at the first request it does not
//!   serve; [`incoming`] is the request body either way. [`proxy_protocol`] reads the client
//!   address a balancer sends first, where a listener declares it.
//! - [`tls`]: TLS termination on the listeners that have it (rustls); certificates by SNI,
//!   reloaded when their files change.
//! - [`gateway`]: the pipeline; loads the snapshot once and calls each step.
//! - [`canonical`]: the one parse of the request target; refuses ambiguous targets.
//! - [`field`]: reads the header values the steps judge, refusing bytes it cannot read.
//! - [`php`]: how PHP would read parameter names, so selectors cannot be smuggled.
//! - [`decision`]: `authorize`, the one decision (resolve → extract → validate → decide) that
//!   the gateway, `explain` and the benches share.
//! - [`route`]: resolves the route, module, action and resource values; [`builtin`] lists the
//!   endpoints the gateway answers itself, which are routes too.
//! - [`credential`]: finds the presented credential.
//! - [`identity`]: proves it valid; yields a `Principal` ([`token`] verifies signed tokens, in
//!   Portcullis' shape or SeaTable's; [`base_uuid`] reads SeaTable's base uuids).
//! - [`grant`]: permissions, scope and read-only limits of a principal.
//! - [`authz`]: decides; yields a `Permit`.
//! - [`ratelimit`]: rate limits (in this process, or in Redis for a fleet), quotas and the
//!   failed-credential throttle, after the decision and before anything is forwarded; [`wait`] says what a 429 (or an allowed response) tells.
//! - [`guard`]: refuses cookies and bodies that would override a selector in PHP.
//! - [`forward`]: sends a permitted request upstream over [`upstream_pool`]'s kept-alive
//!   connections, in the request's own task ([`upstream_wire`] writes the request head and
//!   reads the response's, [`upstream_chunked`] decodes chunked bodies, [`upstream_body`]
//!   streams a response body and parks its connection, [`upstream_conn`] opens TCP and TLS
//!   connections and keeps the idle ones; [`tunnel`] joins WebSocket upgrades); [`headers`]
//!   keeps headers clean; [`forward_fields`] writes the client's fields that go upstream, and
//!   [`fields`] carries them and the gateway's own into the upstream head;
//!   [`upstream`] says where; [`echo`] is the built-in demo upstream; [`assertion`] signs the
//!   identity assertion an upstream may ask for.
//! - [`issuer`]: answers a permitted request for a built-in SeaTable token endpoint; [`manage`]
//!   for a contract.fit or Trivore management endpoint ([`scim`] parses onePortal's listing
//!   filters); both write through [`managed`], the store of the gateway's own file, or of
//!   PostgreSQL for a fleet ([`store`]).
//! - [`forward_auth`]: on its own listener, reads the original request a fronting proxy
//!   describes and answers the same decision with a status and identity headers; [`vouch`]
//!   sets those headers for it and for `forward`.
//! - [`reject`]: the one mapping from rejection to response.
//! - [`shadow`]: a candidate policy decided beside the live one, counted and logged, never
//!   answered from.
//! - [`body`]: the body type.
//!
//! Around the request path:
//!
//! - [`policy`]: raw → compiled → published policy snapshots; [`registry`] is the managed
//!   counterpart (roles, users, contract.fit keys, authorisation records as stored and compiled),
//!   published in the same snapshot and rebuilt alone by a management write.
//! - [`reload`] and [`watch`]: hot reload on file change, SIGHUP or admin request; reloads run on
//!   a thread of low priority ([`background`]).
//! - [`metrics`]: request counters, latencies and the rest, lock-free on the request path,
//!   served as Prometheus text; [`access_log`]: one JSON (or text) line per request, written by
//!   a thread of its own.
//! - [`admin`]: health, readiness, status, reload, metrics, log reopening, the route table,
//!   keys, users, [`denials`] (the recent ones) and hypothetical decisions.
//! - [`run`]: `serve`, the whole gateway on sockets, clock, environment and shutdown it is
//!   given (`main.rs` supplies the real ones).
//! - [`settings`]: boot settings; [`clock`]: injected time; [`keygen`], [`explain`] and
//!   [`suite`] (`portcullis test`) and [`diff`] (`portcullis diff`): CLI tools.
//! - [`kinds`]: the closed vocabularies (mode, credential kinds, token uses, error styles) the
//!   policy names and the request path acts on.
//! - [`schema`]: JSON Schemas of the policy and settings files, generated from the raw types.

pub mod access_log;
pub mod admin;
pub mod assertion;
pub mod authz;
pub mod background;
pub mod base_uuid;
pub mod body;
pub mod builtin;
pub mod canonical;
pub mod clock;
pub mod credential;
pub mod decision;
pub mod denials;
pub mod diff;
pub mod echo;
pub mod explain;
pub mod field;
pub mod fields;
pub mod forward;
pub mod forward_auth;
pub mod forward_fields;
pub mod forwarded;
pub mod gateway;
pub mod grant;
pub mod guard;
pub mod headers;
pub mod hex_digest;
pub mod identity;
pub mod incoming;
pub mod issuer;
pub mod keygen;
pub mod kinds;
pub mod manage;
pub mod managed;
pub mod metrics;
pub mod php;
pub mod policy;
pub mod proxy_protocol;
pub mod ratelimit;
pub mod registry;
pub mod reject;
pub mod reload;
pub mod route;
pub mod run;
pub mod schema;
pub mod scim;
pub mod server;
pub mod settings;
pub mod shadow;
pub mod store;
pub mod suite;
pub mod tls;
pub mod token;
pub mod tunnel;
pub mod upstream;
pub mod upstream_body;
pub mod upstream_chunked;
pub mod upstream_conn;
pub mod upstream_failure;
pub mod upstream_parked;
pub mod upstream_pool;
pub mod upstream_wire;
pub mod vouch;
pub mod wait;
pub mod watch;
pub mod workers;
