//! Portcullis integration tests: one binary, real sockets on port 0, a recording upstream, real
//! HTTP clients (hyper, curl) and the built `portcullis` binary.
//!
//! Each module tests one concept (`tokens` groups the SeaTable token endpoints); `support` holds
//! the harness.

#![allow(
    clippy::disallowed_methods,
    reason = "tests read response headers as text; the gateway itself reads them through `field`"
)]

mod support;

mod access_log;
mod admin;
mod admin_views;
mod assertion;
mod builtin_routes;
mod canonical_targets;
mod cli_config;
mod cli_diff;
mod cli_explain;
mod cli_key;
mod cli_policy_test;
mod cli_serve;
mod credentials;
mod dashboard;
mod deny_by_default;
mod edge_limits;
mod fail_closed;
mod fleet_haproxy;
mod fleet_postgres;
mod fleet_redis;
mod fleet_seatable;
mod fleet_store_cli;
mod fleet_tls;
mod forward;
mod grant_properties;
mod haproxy_rolling;
mod hot_reload;
mod invalid_edits;
mod linea21;
mod manage;
mod metrics;
mod nginx_forward_auth;
mod one_decision;
mod owned_headers;
mod packaging;
mod per_request;
mod php_params;
mod php_paths;
mod php_upstream;
mod plain_http1;
mod policy_errors;
mod policy_faults;
mod policy_hash;
mod proxy_protocol;
mod rate_limits;
mod rejections;
mod reload_properties;
mod request_hygiene;
mod route_conflicts;
mod route_order;
mod routing;
mod secrets;
mod serve_in_process;
mod shadow;
mod tls;
mod tokens;
mod unreadable_headers;
mod upstream_faults;
mod upstream_wire;
mod websocket;
