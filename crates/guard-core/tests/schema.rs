//! `policies/schema.json` is what editors check policies against; it must be the schema the
//! loader uses, and useful in an editor (every field described, no field left open).

use guard_core::policy::{SourceFile, load, schema, schema_json};
use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn committed_schema_is_the_generated_one() {
    let committed =
        std::fs::read_to_string(repo("policies/schema.json")).expect("policies/schema.json exists");
    assert!(
        committed == schema_json(),
        "policies/schema.json is stale; regenerate it with\n    cargo run -q -p budget-guard -- schema > policies/schema.json"
    );
}

#[test]
fn example_policies_point_editors_at_the_schema_and_are_valid() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo("policies")).expect("policies/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).expect("readable policy");
        assert!(
            text.starts_with("# yaml-language-server: $schema=./schema.json\n"),
            "{} must begin with `# yaml-language-server: $schema=./schema.json`",
            path.display()
        );
        let (policy, diagnostics) = load(&[SourceFile::new(path.display().to_string(), text)]);
        assert!(
            policy.is_some(),
            "{} is valid: {diagnostics:#?}",
            path.display()
        );
    }
    assert!(seen >= 1, "policies/ holds an example policy");
}

/// Every object of the schema, with where it is.
fn objects<'a>(
    value: &'a serde_json::Value,
    at: String,
    out: &mut Vec<(String, &'a serde_json::Value)>,
) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("type").and_then(|t| t.as_str()) == Some("object")
                && map.contains_key("properties")
            {
                out.push((at.clone(), value));
            }
            for (k, v) in map {
                objects(v, format!("{at}/{k}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                objects(v, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn schema_closes_every_object_and_describes_every_field() {
    let mut found = Vec::new();
    objects(schema(), String::new(), &mut found);
    assert!(
        found.len() >= 10,
        "the schema has the policy's objects: {}",
        found.len()
    );
    for (at, object) in found {
        assert_eq!(
            object.get("additionalProperties"),
            Some(&serde_json::Value::Bool(false)),
            "{at}: an editor flags unknown fields only with `additionalProperties: false`"
        );
        assert!(
            object.get("description").is_some() || at.is_empty(),
            "{at}: no description"
        );
        for (name, property) in object["properties"].as_object().into_iter().flatten() {
            assert!(
                property.get("description").is_some(),
                "{at}/properties/{name}: no description for the editor to show"
            );
        }
    }
    assert!(
        schema().get("description").is_some(),
        "the root describes a policy file"
    );
}
