//! JSON Schemas of the policy and settings files, generated from their raw serde types.
//!
//! `schema/policy.schema.json` and `schema/settings.schema.json` are written from
//! [`policy::raw::RawPolicy`](crate::policy::raw::RawPolicy) and
//! [`settings::Settings`](crate::settings::Settings) by `portcullis schema --out schema`; a unit
//! test fails when the checked-in files differ. Constraints serde cannot express (patterns,
//! `if`/`then`) are `#[schemars]` attributes on those types; schema-only shapes (digests, dates,
//! secret references) live in [`policy::formats`](crate::policy::formats). Nothing here is used on
//! the request path.

use std::path::Path;

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};

use crate::policy::raw::RawPolicy;
use crate::settings::Settings;

/// Builds one schema.
pub type Generate = fn() -> Schema;

/// The generated schema files: name in `schema/` → the function generating it.
pub const FILES: [(&str, Generate); 2] = [
    ("policy.schema.json", policy),
    ("settings.schema.json", settings),
];

/// The schema of one policy file.
pub fn policy() -> Schema {
    root_for::<RawPolicy>()
}

/// The schema of the boot settings file.
pub fn settings() -> Schema {
    root_for::<Settings>()
}

fn root_for<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(unwrap_description))
        .into_generator()
        .into_root_schema_for::<T>()
}

/// Doc comments are wrapped at 100 columns; a description reads better as one line per
/// paragraph, so single line breaks become spaces (blank lines stay).
fn unwrap_description(schema: &mut Schema) {
    if let Some(serde_json::Value::String(text)) = schema.get_mut("description") {
        *text = text
            .split("\n\n")
            .map(|paragraph| paragraph.replace('\n', " "))
            .collect::<Vec<_>>()
            .join("\n\n");
    }
}

/// An internally tagged enum (`"kind": ...`, `#[schemars(transform = describe_kind)]`): each
/// variant's tag is described in the variant's own words, as every property is.
pub fn describe_kind(schema: &mut Schema) {
    let Some(serde_json::Value::Array(variants)) = schema.get_mut("oneOf") else {
        return;
    };
    for v in variants {
        let about = v
            .get("description")
            .and_then(|d| d.as_str())
            .unwrap_or("this kind")
            .to_owned();
        if let Some(kind) = v.pointer_mut("/properties/kind")
            && kind.get("description").is_none()
        {
            kind["description"] = serde_json::Value::String(format!("Selects: {about}"));
        }
    }
}

/// A schema as it is checked in: pretty JSON with a final newline.
pub fn render(schema: &Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a schema is plain JSON");
    text.push('\n');
    text
}

/// Write every generated schema file into `dir`.
pub fn write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, schema) in FILES {
        std::fs::write(dir.join(name), render(&schema()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_schemas_match_the_types() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        for (name, schema) in FILES {
            let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            assert!(
                on_disk == render(&schema()),
                "schema/{name} differs from what the raw types generate; regenerate it with \
                 `cargo run -- schema --out schema` and commit the result"
            );
        }
    }
}
