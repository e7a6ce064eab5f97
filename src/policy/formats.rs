//! Schema-only shapes: string formats serde reads as plain `String`s (digests, instants, CIDRs,
//! socket addresses) and the schemas of the raw types whose `Deserialize` is written by hand
//! (`SecretRef`, `RawStatus`).
//!
//! The marker types are never built: raw fields name them in `#[schemars(with = "...")]`. What
//! the gateway checks at load time (`policy::compile`, `token::compile`) stays the authority;
//! these schemas let editors and CI catch the same faults early.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::policy::key_fields::STATUSES;
use crate::policy::raw::{RawStatus, SecretRef};

/// SHA-256 of a secret as 64 hex digits, never the digest of the empty string.
pub struct Sha256Hex;

impl JsonSchema for Sha256Hex {
    fn schema_name() -> Cow<'static, str> {
        "sha256".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "SHA-256 of the secret as 64 hexadecimal digits (either case). The digest of the empty string is refused here: an empty `X-API-Key` header or an empty credential query parameter would match it.",
            "type": "string",
            "pattern": "^[0-9a-fA-F]{64}$",
            "not": {
                "pattern": "^[eE]3[bB]0[cC]44298[fF][cC]1[cC]149[aA][fF][bB][fF]4[cC]8996[fF][bB]92427[aA][eE]41[eE]4649[bB]934[cC][aA]495991[bB]7852[bB]855$"
            }
        })
    }
}

/// An RFC 3339 instant with an offset.
pub struct Rfc3339;

impl JsonSchema for Rfc3339 {
    fn schema_name() -> Cow<'static, str> {
        "rfc3339".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An RFC 3339 instant with an offset, e.g. 2026-01-31T12:00:00Z or 2026-01-31T13:00:00+01:00.",
            "type": "string",
            "format": "date-time",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
        })
    }
}

/// A permission on a base: `rw` or `r`.
pub struct BasePermission;

impl JsonSchema for BasePermission {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "base_permission".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": ["rw", "r"] })
    }
}

/// An IPv4 or IPv6 network in CIDR notation, prefix length required.
pub struct Cidr;

impl JsonSchema for Cidr {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "cidr".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An IPv4 or IPv6 network in CIDR notation.",
            "type": "string",
            "anyOf": [
                { "pattern": "^(25[0-5]|2[0-4][0-9]|[01]?[0-9]{1,2})(\\.(25[0-5]|2[0-4][0-9]|[01]?[0-9]{1,2})){3}/(3[0-2]|[12]?[0-9])$" },
                { "pattern": "^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$" }
            ]
        })
    }
}

/// `ip:port` with an IP address, not a host name.
pub struct SocketAddress;

impl JsonSchema for SocketAddress {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "socket_address".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "anyOf": [
                { "pattern": "^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)$" },
                { "pattern": "^\\[[0-9A-Fa-f:.]+(%[0-9]+)?\\]:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)$" }
            ]
        })
    }
}

/// Mirrors `SecretRef`'s hand-written deserializer: an object with exactly one source.
impl JsonSchema for SecretRef {
    fn schema_name() -> Cow<'static, str> {
        "secret_ref".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Where secret material comes from: exactly one of `env` (an environment variable of the gateway process), `file` (a file, relative to the policy file naming it; trailing newlines are ignored) or `inline` (the value itself; accepted with a warning). Secret files and variables are read at every reload.",
            "type": "object",
            "additionalProperties": false,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "env": {
                    "description": "Name of an environment variable of the gateway process. Unset is a load error.",
                    "type": "string"
                },
                "file": {
                    "description": "Path of a file holding the value, relative to the policy file that names it. Trailing CR/LF are removed. Unreadable is a load error.",
                    "type": "string"
                },
                "inline": {
                    "description": "The value itself. Accepted with a warning: prefer `env` or `file` so the policy holds no secrets.",
                    "type": "string"
                }
            }
        })
    }
}

/// Mirrors `RawStatus` with the status codes `policy::compile` accepts.
impl JsonSchema for RawStatus {
    fn schema_name() -> Cow<'static, str> {
        "status".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let one: Vec<&str> = std::iter::once("all")
            .chain(STATUSES.iter().copied())
            .collect();
        json_schema!({
            "description": "Linea21 content status the upstream may return, sent in `X-Portcullis-Status`: \"all\", one status, or a list of statuses (P public, D draft, PA publicly archived, AA archived, administration only). Absent: P (public content only).",
            "oneOf": [
                {
                    "description": "\"all\", or one status code.",
                    "type": "string",
                    "enum": one
                },
                {
                    "description": "Several status codes; sent comma-separated.",
                    "type": "array",
                    "items": { "type": "string", "enum": STATUSES }
                }
            ]
        })
    }
}
