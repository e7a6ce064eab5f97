//! Linea21 import: reads a Linea21 `api-permissions*.json` as it is and adds its tokens to the
//! key index as API keys.
//!
//! Linea21 files hold plaintext tokens; they are digested at load and never logged. A token's key
//! id is `l21-` plus the first 12 hex digits of its digest, so logs can name it without revealing
//! it. `permissions.status` becomes the key's content status (`P` when absent). Loading warns that
//! the file holds plaintext secrets.

use std::sync::Arc;

use crate::grant::{Actions, Grants};
use crate::identity::{self, Key, KeyIndex};
use crate::policy::compile::Cx;
use crate::policy::load::Input;
use crate::policy::locate::JsonPath;
use crate::policy::raw::{Linea21Value, RawStatus};
use crate::policy::{key_fields, keys};

/// The key id a Linea21 token gets.
pub fn key_id(digest: &[u8; 32]) -> String {
    format!("l21-{}", &hex::encode(digest)[..12])
}

/// Add every imported token to `index`.
pub fn import(cx: &mut Cx<'_>, input: &Input, index: &mut KeyIndex, places: &mut keys::Places) {
    for imp in &input.imports {
        if !imp.entries.is_empty() {
            cx.warn(
                imp.from,
                imp.at.clone(),
                format!(
                    "{} holds {} plaintext token(s); Portcullis keeps only their SHA-256 digests, \
                     prefer `keys` with `sha256`",
                    input.files[imp.file].path.display(),
                    imp.entries.len()
                ),
            );
        }
        for (token, entry) in &imp.entries {
            // The path names the token's position without the token itself.
            let at = JsonPath::root().key(token);
            let digest = identity::digest(token);
            cx.redact(token, format!("<token {}>", key_id(&digest)));
            if token.trim().is_empty() {
                cx.error(imp.file, at.clone(), "expected a non-empty token");
                continue;
            }
            let mut grants = Grants::default();
            let mut status = None;
            for (module, value) in &entry.permissions {
                match value {
                    Linea21Value::Actions(list) if module == "status" => {
                        status = Some(RawStatus::Many(list.clone()))
                    }
                    Linea21Value::Actions(actions) => {
                        let a = if actions.iter().any(|a| a == "all") {
                            Actions::All
                        } else {
                            Actions::Some(actions.iter().cloned().collect())
                        };
                        grants.add(module, &a);
                    }
                    Linea21Value::Status(s) if module == "status" => {
                        status = Some(RawStatus::One(s.clone()))
                    }
                    Linea21Value::Status(_) => cx.error(
                        imp.file,
                        at.key("permissions").key(module),
                        "expected a list of actions (only `status` takes a string)",
                    ),
                }
            }
            let status = key_fields::status(
                cx,
                imp.file,
                &at.key("permissions").key("status"),
                status.as_ref(),
            );
            let key = Key {
                id: key_id(&digest),
                digest,
                grants: Arc::new(grants),
                status,
                not_before: None,
                expires_at: None,
                disabled: false,
            };
            keys::insert(cx, index, places, imp.file, at, key);
        }
    }
}
