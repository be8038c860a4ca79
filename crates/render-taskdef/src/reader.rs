//! [`Reader`]: one JSON value, read the way the SDK's generated deserializers ask for it, with
//! every key checked against the schema of the structure being read (see `model`).

use aws_smithy_schema::Schema;
use aws_smithy_schema::serde::{SerdeError, ShapeDeserializer};
use aws_smithy_types::{BigDecimal, BigInteger, Blob, DateTime, Document, Number};
use serde_json::Value;
use std::cell::RefCell;

use crate::model::{Findings, Path, Step};

/// One value of the document and where it is.
pub struct Reader<'a> {
    pub value: &'a Value,
    pub path: Path,
    pub findings: &'a RefCell<Findings>,
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The closest valid key, when one is close enough to be a typo.
pub fn suggest<'k>(key: &str, valid: &[&'k str]) -> Option<&'k str> {
    valid
        .iter()
        .map(|candidate| {
            let score =
                strsim::jaro_winkler(&key.to_ascii_lowercase(), &candidate.to_ascii_lowercase());
            (score, *candidate)
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

impl<'a> Reader<'a> {
    fn child(&self, step: Step, value: &'a Value) -> Reader<'a> {
        Reader {
            value,
            path: self.path.join(step),
            findings: self.findings,
        }
    }

    /// `containerDefinitions[0].cpu`, or `the task definition` at the top.
    fn place(&self) -> String {
        if self.path.0.is_empty() {
            "the task definition".to_owned()
        } else {
            format!("`{}`", self.path)
        }
    }

    /// Records `message` as the problem (the first one wins) and aborts the walk.
    fn fail(&self, message: String) -> SerdeError {
        let mut findings = self.findings.borrow_mut();
        if findings.problem.is_none() {
            findings.problem = Some(message);
        }
        SerdeError::custom("task definition does not match the ECS model")
    }

    fn expected(&self, what: &str) -> SerdeError {
        // A number is shown (`1e99`, `-1.5`): "not a number" would read as nonsense there.
        let found = match self.value {
            Value::Number(number) => format!("`{number}`"),
            other => kind(other).to_owned(),
        };
        let mut message = format!("{} must be {what}, not {found}", self.place());
        if what == "a string" && self.value.is_number() {
            message.push_str(&format!(" (write it in quotes: \"{}\")", self.value));
        }
        self.fail(message)
    }

    /// A key the structure `schema` does not have: refused, or noted for removal.
    fn unknown(&self, schema: &Schema<'_>, key: &str) -> Result<(), SerdeError> {
        let at = self.path.join(Step::Key(key.to_owned()));
        if !self.findings.borrow().strict {
            self.findings.borrow_mut().unknown.push(at);
            return Ok(());
        }
        let valid: Vec<&str> = schema
            .members()
            .iter()
            .filter_map(|member| member.member_name())
            .collect();
        let hint = match suggest(key, &valid) {
            Some(close) => format!("did you mean `{close}`?"),
            None if self.path.0.is_empty() && key == "taskDefinition" => "this looks like DescribeTaskDefinition output: use the object under `taskDefinition` (`aws ecs describe-task-definition --query taskDefinition`)".to_owned(),
            None => format!("valid keys are {}", valid.join(", ")),
        };
        let within = if self.path.0.is_empty() {
            "at the top level".to_owned()
        } else {
            format!("in `{}` ({})", self.path, schema.shape_id().shape_name())
        };
        Err(self.fail(format!("unknown key `{key}` {within}: {hint}")))
    }

    /// Gives an error from deeper down (the SDK's own, such as a missing required member) the
    /// path it happened at, unless a deeper reader already did.
    fn locate(&self, error: SerdeError) -> SerdeError {
        if self.findings.borrow().problem.is_none() {
            let text = error.to_string();
            let message = match text.split_once(" was missing: ") {
                Some((field, _)) if field.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
                    format!(
                        "{} needs `{}`, which ECS requires",
                        self.place(),
                        camel(field)
                    )
                }
                _ => format!("{}: {text}", self.place()),
            };
            return self.fail(message);
        }
        error
    }

    fn number(&self, what: &str) -> Result<&serde_json::Number, SerdeError> {
        match self.value {
            Value::Number(number) => Ok(number),
            _ => Err(self.expected(what)),
        }
    }

    fn whole(&self, min: i64, max: i64) -> Result<i64, SerdeError> {
        let what = "a whole number";
        let number = self.number(what)?;
        match number.as_i64() {
            Some(value) if (min..=max).contains(&value) => Ok(value),
            Some(_) => Err(self.fail(format!(
                "{} is out of range: {number} is not from {min} to {max}",
                self.place()
            ))),
            None => Err(self.expected(what)),
        }
    }

    fn string(&self) -> Result<&'a str, SerdeError> {
        self.value.as_str().ok_or_else(|| self.expected("a string"))
    }
}

/// `log_driver` -> `logDriver`: the SDK's builders name a missing member by its Rust field.
fn camel(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            _ => Number::Float(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(document).collect()),
        Value::Object(map) => {
            Document::Object(map.iter().map(|(k, v)| (k.clone(), document(v))).collect())
        }
    }
}

// Integer casts below are within the ranges `whole` was given, so they cannot truncate.
#[allow(clippy::cast_possible_truncation)]
impl ShapeDeserializer for Reader<'_> {
    fn read_struct(
        &mut self,
        schema: &Schema<'_>,
        state: &mut dyn FnMut(&Schema<'_>, &mut dyn ShapeDeserializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        let Value::Object(object) = self.value else {
            return Err(self.expected("an object"));
        };
        for (key, value) in object {
            let Some(member) = schema.member_schema(key) else {
                self.unknown(schema, key)?;
                continue;
            };
            let mut reader = self.child(Step::Key(key.clone()), value);
            state(member, &mut reader).map_err(|error| reader.locate(error))?;
        }
        Ok(())
    }

    fn read_list(
        &mut self,
        _: &Schema<'_>,
        state: &mut dyn FnMut(&mut dyn ShapeDeserializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        let Value::Array(items) = self.value else {
            return Err(self.expected("an array"));
        };
        for (index, value) in items.iter().enumerate() {
            let mut reader = self.child(Step::Index(index), value);
            state(&mut reader).map_err(|error| reader.locate(error))?;
        }
        Ok(())
    }

    fn read_map(
        &mut self,
        _: &Schema<'_>,
        state: &mut dyn FnMut(String, &mut dyn ShapeDeserializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        let Value::Object(object) = self.value else {
            return Err(self.expected("an object"));
        };
        for (key, value) in object {
            let mut reader = self.child(Step::Key(key.clone()), value);
            state(key.clone(), &mut reader).map_err(|error| reader.locate(error))?;
        }
        Ok(())
    }

    fn read_boolean(&mut self, _: &Schema<'_>) -> Result<bool, SerdeError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.expected("true or false"))
    }

    fn read_byte(&mut self, _: &Schema<'_>) -> Result<i8, SerdeError> {
        Ok(self.whole(i8::MIN.into(), i8::MAX.into())? as i8)
    }

    fn read_short(&mut self, _: &Schema<'_>) -> Result<i16, SerdeError> {
        Ok(self.whole(i16::MIN.into(), i16::MAX.into())? as i16)
    }

    fn read_integer(&mut self, _: &Schema<'_>) -> Result<i32, SerdeError> {
        Ok(self.whole(i32::MIN.into(), i32::MAX.into())? as i32)
    }

    fn read_long(&mut self, _: &Schema<'_>) -> Result<i64, SerdeError> {
        self.whole(i64::MIN, i64::MAX)
    }

    fn read_float(&mut self, schema: &Schema<'_>) -> Result<f32, SerdeError> {
        Ok(self.read_double(schema)? as f32)
    }

    fn read_double(&mut self, _: &Schema<'_>) -> Result<f64, SerdeError> {
        let number = self.number("a number")?;
        number.as_f64().ok_or_else(|| self.expected("a number"))
    }

    fn read_big_integer(&mut self, _: &Schema<'_>) -> Result<BigInteger, SerdeError> {
        let number = self.number("a whole number")?;
        number
            .to_string()
            .parse()
            .map_err(|_| self.expected("a whole number"))
    }

    fn read_big_decimal(&mut self, _: &Schema<'_>) -> Result<BigDecimal, SerdeError> {
        let number = self.number("a number")?;
        number
            .to_string()
            .parse()
            .map_err(|_| self.expected("a number"))
    }

    fn read_string(&mut self, _: &Schema<'_>) -> Result<String, SerdeError> {
        self.string().map(str::to_owned)
    }

    fn read_blob(&mut self, _: &Schema<'_>) -> Result<Blob, SerdeError> {
        let text = self.string()?;
        aws_smithy_types::base64::decode(text)
            .map(Blob::new)
            .map_err(|_| self.expected("base64 text"))
    }

    fn read_timestamp(&mut self, _: &Schema<'_>) -> Result<DateTime, SerdeError> {
        let seconds = self.number("a number of seconds since 1970")?;
        seconds
            .as_f64()
            .map(DateTime::from_secs_f64)
            .ok_or_else(|| self.expected("a number of seconds since 1970"))
    }

    fn read_document(&mut self, _: &Schema<'_>) -> Result<Document, SerdeError> {
        Ok(document(self.value))
    }

    fn is_null(&self) -> bool {
        self.value.is_null()
    }

    fn skip_value(&mut self) -> Result<(), SerdeError> {
        // Each reader holds one value, already cut out by its parent: nothing to advance past.
        Ok(())
    }

    fn container_size(&self) -> Option<usize> {
        match self.value {
            Value::Array(items) => Some(items.len()),
            Value::Object(map) => Some(map.len()),
            _ => None,
        }
    }
}
