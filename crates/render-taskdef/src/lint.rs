//! Findings about the rendered task definition that are not edits: plaintext variables named
//! like secrets, and images that float.

use serde_json::{Map, Value};

use crate::edit::{containers, named_values};
use crate::rules::looks_secret;

/// Environment variables whose names say they hold secrets: (container, name, value).
pub fn plaintext_secrets(task: &Map<String, Value>) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for container in containers(task) {
        let cname = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for (name, value) in named_values(container, "environment", "value") {
            if looks_secret(name) {
                found.push((cname.to_owned(), name.to_owned(), value.to_owned()));
            }
        }
    }
    found
}

/// Images tagged `latest`, or untagged (which means latest): deployments of them are not
/// reproducible. Digest-pinned images are fine.
pub fn floating_images(task: &Map<String, Value>) -> Vec<(String, String)> {
    containers(task)
        .iter()
        .filter_map(|c| {
            let name = c.get("name").and_then(Value::as_str)?;
            let image = c.get("image").and_then(Value::as_str)?;
            floating(image).then(|| (name.to_owned(), image.to_owned()))
        })
        .collect()
}

fn floating(image: &str) -> bool {
    if image.contains("@sha256:") {
        return false;
    }
    // The tag follows the last `:` after the last `/` (a registry port has a `/` after it).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floating_image_references() {
        assert!(floating("nginx"));
        assert!(floating("nginx:latest"));
        assert!(floating("registry:5000/app"));
        assert!(!floating("registry:5000/app:1.2"));
        assert!(!floating("app@sha256:abc"));
        assert!(!floating("registry:5000/app:latest@sha256:abc"));
        assert!(!floating("123.dkr.ecr.us-east-1.amazonaws.com/web:4f5e"));
    }

    #[test]
    fn plaintext_secrets_name_container_variable_and_value() {
        let task = json!({"containerDefinitions": [
            {"name": "web", "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "value": "x"}]},
            {"name": "worker", "environment": [{"name": "GITHUB_TOKEN", "value": "y"}]}
        ]});
        let found = plaintext_secrets(task.as_object().unwrap_or(&Map::new()));
        let expected = [("web", "DB_PASSWORD", "x"), ("worker", "GITHUB_TOKEN", "y")]
            .map(|(c, n, v)| (c.to_owned(), n.to_owned(), v.to_owned()));
        assert_eq!(found, expected);
    }
}
