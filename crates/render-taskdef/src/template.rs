//! `${VAR}` templating of task-definition files from the environment.

/// Replaces `${NAME}` (NAME = `[A-Za-z_][A-Za-z0-9_]*`) with the variable's value; `$${` writes a
/// literal `${`. Any other `$` is left alone, so shell snippets in commands survive. An unset
/// variable is an error naming it and its line.
pub fn render(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(escaped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = escaped;
            continue;
        }
        match variable(after) {
            Some((name, len)) => {
                let value = lookup(name).ok_or_else(|| {
                    let line = text[..text.len() - after.len()].matches('\n').count() + 1;
                    format!("`${{{name}}}` on line {line} is not set in the environment")
                })?;
                // The value lands inside a JSON string: escape it so quotes cannot break out.
                let encoded = serde_json::to_string(&value).unwrap_or_default();
                out.push_str(&encoded[1..encoded.len() - 1]);
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// `${NAME}` at the start of `text`: the name and the length of the whole reference.
fn variable(text: &str) -> Option<(&str, usize)> {
    let inner = text.strip_prefix("${")?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some((name, end + 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TAG" => Some("abc123".into()),
            "QUOTE" => Some("say \"hi\"".into()),
            _ => None,
        }
    }

    #[test]
    fn replaces_variables() {
        assert_eq!(
            render(r#"{"image": "web:${TAG}"}"#, env).unwrap(),
            r#"{"image": "web:abc123"}"#
        );
    }

    #[test]
    fn empty_values_and_numbers() {
        let lookup = |name: &str| (name == "EMPTY").then(String::new).or(Some("512".into()));
        assert_eq!(
            render(r#"{"a": "${EMPTY}", "m": ${MEMORY}}"#, lookup).unwrap(),
            r#"{"a": "", "m": 512}"#
        );
    }

    #[test]
    fn values_are_json_escaped() {
        assert_eq!(render(r#""${QUOTE}""#, env).unwrap(), r#""say \"hi\"""#);
    }

    #[test]
    fn unset_variables_name_the_variable_and_line() {
        let error = render(
            "{\n  \"image\": \"web:${TAG}\",\n  \"x\": \"${MISSING}\"\n}",
            env,
        )
        .unwrap_err();
        assert_eq!(
            error,
            "`${MISSING}` on line 3 is not set in the environment"
        );
    }

    #[test]
    fn escapes_and_other_dollars_are_kept() {
        assert_eq!(
            render("$${TAG} $HOME ${not valid} ${1} ${TAG:-x} ${ $", env).unwrap(),
            "${TAG} $HOME ${not valid} ${1} ${TAG:-x} ${ $"
        );
    }
}
