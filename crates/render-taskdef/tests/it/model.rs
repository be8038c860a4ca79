//! Every field of the SDK's RegisterTaskDefinition model survives render-taskdef, from a file
//! and from DescribeTaskDefinition. The document is generated from the model itself (below), so
//! the tests cover each field the SDK knows, at every depth, and grow with it.

use std::cell::Cell;
use std::collections::BTreeSet;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::TaskDefinition;
use aws_smithy_mocks::{mock, mock_client};
use aws_smithy_schema::Schema;
use aws_smithy_schema::serde::{SerdeError, ShapeDeserializer};
use aws_smithy_types::{BigDecimal, BigInteger, Blob, DateTime, Document};
use deploy_kit_render_taskdef::{Args, describe_only, from_live, task_keys};
use serde_json::{Map, Value, json};

use crate::live::respond;
use crate::render::render;

/// Plays a document in which every member is present: the SDK's generated deserializer asks for
/// each structure by its schema, and this answers with all of its members, one item per list
/// and map, and a value of the member's type. What was asked for is written down as JSON.
struct Everything<'a> {
    slot: &'a mut Value,
    depth: usize,
    /// Numbers the strings, so no two are equal and a value landing in the wrong field shows.
    strings: &'a Cell<usize>,
}

impl Everything<'_> {
    fn child<'b>(&'b self, slot: &'b mut Value) -> Everything<'b> {
        Everything {
            slot,
            depth: self.depth + 1,
            strings: self.strings,
        }
    }
}

impl ShapeDeserializer for Everything<'_> {
    fn read_struct(
        &mut self,
        schema: &Schema<'_>,
        state: &mut dyn FnMut(&Schema<'_>, &mut dyn ShapeDeserializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        // ECS has no recursive shapes today; stop anyway rather than loop if one appears.
        assert!(self.depth < 12, "the model nests deeper than expected");
        let mut object = Map::new();
        for member in schema.members() {
            let name = member.member_name().unwrap().to_owned();
            let mut value = Value::Null;
            state(member, &mut self.child(&mut value))?;
            object.insert(name, value);
        }
        *self.slot = Value::Object(object);
        Ok(())
    }

    fn read_list(
        &mut self,
        _: &Schema<'_>,
        state: &mut dyn FnMut(&mut dyn ShapeDeserializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        let mut item = Value::Null;
        state(&mut self.child(&mut item))?;
        *self.slot = json!([item]);
        Ok(())
    }

    fn read_map(
        &mut self,
        _: &Schema<'_>,
        state: &mut dyn FnMut(String, &mut dyn ShapeDeserializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        let mut value = Value::Null;
        state("key".into(), &mut self.child(&mut value))?;
        *self.slot = json!({ "key": value });
        Ok(())
    }

    fn read_boolean(&mut self, _: &Schema<'_>) -> Result<bool, SerdeError> {
        *self.slot = json!(true);
        Ok(true)
    }

    fn read_byte(&mut self, _: &Schema<'_>) -> Result<i8, SerdeError> {
        *self.slot = json!(1);
        Ok(1)
    }

    fn read_short(&mut self, _: &Schema<'_>) -> Result<i16, SerdeError> {
        *self.slot = json!(2);
        Ok(2)
    }

    fn read_integer(&mut self, _: &Schema<'_>) -> Result<i32, SerdeError> {
        *self.slot = json!(3);
        Ok(3)
    }

    fn read_long(&mut self, _: &Schema<'_>) -> Result<i64, SerdeError> {
        *self.slot = json!(4);
        Ok(4)
    }

    fn read_float(&mut self, _: &Schema<'_>) -> Result<f32, SerdeError> {
        *self.slot = json!(0.5);
        Ok(0.5)
    }

    fn read_double(&mut self, _: &Schema<'_>) -> Result<f64, SerdeError> {
        *self.slot = json!(1.5);
        Ok(1.5)
    }

    fn read_big_integer(&mut self, _: &Schema<'_>) -> Result<BigInteger, SerdeError> {
        *self.slot = json!(5);
        Ok("5".parse().unwrap())
    }

    fn read_big_decimal(&mut self, _: &Schema<'_>) -> Result<BigDecimal, SerdeError> {
        *self.slot = json!(2.5);
        Ok("2.5".parse().unwrap())
    }

    fn read_string(&mut self, schema: &Schema<'_>) -> Result<String, SerdeError> {
        let n = self.strings.get() + 1;
        self.strings.set(n);
        let text = format!("{}-{n}", schema.member_name().unwrap_or("item"));
        *self.slot = json!(text);
        Ok(text)
    }

    fn read_blob(&mut self, _: &Schema<'_>) -> Result<Blob, SerdeError> {
        *self.slot = json!("aGk=");
        Ok(Blob::new("hi"))
    }

    fn read_timestamp(&mut self, _: &Schema<'_>) -> Result<DateTime, SerdeError> {
        *self.slot = json!(1_700_000_000);
        Ok(DateTime::from_secs(1_700_000_000))
    }

    fn read_document(&mut self, _: &Schema<'_>) -> Result<Document, SerdeError> {
        *self.slot = json!({"any": "document"});
        Ok(Document::Null)
    }

    fn is_null(&self) -> bool {
        false
    }

    fn container_size(&self) -> Option<usize> {
        Some(1)
    }
}

type Deserialize = fn(&mut dyn ShapeDeserializer) -> Result<(), SerdeError>;

/// The document in which every field of the shape `deserialize` reads is set.
fn every_field_of(deserialize: Deserialize) -> Map<String, Value> {
    let mut value = Value::Null;
    let strings = Cell::new(0);
    let mut everything = Everything {
        slot: &mut value,
        depth: 0,
        strings: &strings,
    };
    deserialize(&mut everything).unwrap();
    value.as_object().cloned().unwrap()
}

/// A RegisterTaskDefinition request with every field of the model set.
pub fn every_field() -> Map<String, Value> {
    every_field_of(|d| RegisterTaskDefinitionInput::deserialize(d).map(drop))
}

/// Every key at every depth, as paths (`containerDefinitions.logConfiguration.logDriver`).
fn paths(value: &Value, at: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                out.insert(path.clone());
                paths(child, &path, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| paths(item, at, out)),
        _ => {}
    }
}

#[test]
fn the_generated_document_reaches_deep_into_the_model() {
    let mut found = BTreeSet::new();
    paths(&Value::Object(every_field()), "", &mut found);
    // A few that sit three or four structures down: proof the walk is not shallow.
    for path in [
        "containerDefinitions.logConfiguration.secretOptions.valueFrom",
        "containerDefinitions.linuxParameters.capabilities.drop",
        "volumes.efsVolumeConfiguration.authorizationConfig.accessPointId",
        "containerDefinitions.firelensConfiguration.options.key",
        "enableFaultInjection",
    ] {
        assert!(found.contains(path), "{path} in {} paths", found.len());
    }
    assert!(found.len() > 150, "{} paths", found.len());
}

#[tokio::test]
async fn every_field_survives_a_file_render_byte_for_byte() {
    let task = every_field();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("everything.json");
    std::fs::write(&path, serde_json::to_string(&task).unwrap()).unwrap();
    let rendered = render(Args {
        task_definition: Some(path.display().to_string()),
        allow_plaintext_secrets: Some("true".into()),
        ..Args::default()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    let mut expected = serde_json::to_string_pretty(&task).unwrap();
    expected.push('\n');
    assert_eq!(rendered.file, expected);
}

#[tokio::test]
async fn every_field_survives_describe_task_definition() {
    // What DescribeTaskDefinition returns, every field set, plus one the SDK does not know yet.
    let mut described = every_field_of(|d| TaskDefinition::deserialize(d).map(drop));
    described.insert("fieldFromTheFuture".into(), json!({"x": 1}));
    let body = json!({"taskDefinition": described, "tags": []}).to_string();
    let rule = mock!(Client::describe_task_definition)
        .then_http_response(move || respond(200, body.clone()));
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let live = from_live(&client, "api:7").await.unwrap();

    let mut expected = described.clone();
    expected.retain(|key, _| task_keys().contains(&key.as_str()));
    assert_eq!(
        live.task, expected,
        "every registrable field kept, in order"
    );
    assert_eq!(live.unknown, ["fieldFromTheFuture"]);
    // Describe returns every registrable field but `tags` (sent beside the task definition).
    let missing: Vec<&str> = task_keys()
        .into_iter()
        .filter(|key| !live.task.contains_key(*key))
        .collect();
    assert_eq!(missing, ["tags"]);
    for key in describe_only() {
        assert!(
            described.contains_key(key) && !live.task.contains_key(key),
            "{key}"
        );
    }
}
