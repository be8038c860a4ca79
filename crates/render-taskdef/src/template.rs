//! `${VAR}` templating of task-definition files from the environment.

/// Replaces `${NAME}` (NAME = `[A-Za-z_][A-Za-z0-9_]*`) with the variable's value; `$${` writes a
/// literal `${`. Any other `$` is left alone, so shell snippets in commands survive. An unset
/// variable is an error naming it and its line, and so is a [`credential`] of the runner, set or
/// not.
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
                let line = text[..text.len() - after.len()].matches('\n').count() + 1;
                if let Some(what) = credential(name) {
                    return Err(format!(
                        "`${{{name}}}` on line {line} is {what}: it would be readable by anyone who can describe the task definition, so render-taskdef never substitutes `AWS_*` secrets and tokens, `ACTIONS_*`, `GITHUB_TOKEN` or `INPUT_*`; put the value in Secrets Manager or SSM Parameter Store and reference it with the `secrets` input"
                    ));
                }
                let value = lookup(name).ok_or_else(|| {
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

/// What a variable holds when it is one of the runner's or AWS's credentials: the step's AWS
/// keys, the runner's own tokens (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `ACTIONS_RUNTIME_TOKEN`),
/// `GITHUB_TOKEN`, and this step's inputs (`INPUT_*`, which may hold secrets).
fn credential(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("AWS_") {
        let secret = rest == "ACCESS_KEY_ID"
            || ["SECRET", "TOKEN", "PASSWORD", "CREDENTIAL"]
                .iter()
                .any(|word| rest.contains(word));
        return secret.then_some("an AWS credential of the runner");
    }
    if upper.starts_with("ACTIONS_") {
        return Some("the runner's own (`ACTIONS_*` holds its tokens)");
    }
    if upper == "GITHUB_TOKEN" || upper == "GH_TOKEN" {
        return Some("the workflow's GitHub token");
    }
    if upper.starts_with("INPUT_") {
        return Some("an action input (`INPUT_*` may hold secrets)");
    }
    None
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
    fn runner_credentials_are_refused_set_or_not() {
        let set = |_: &str| Some("AKIA-or-token".to_owned());
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "GITHUB_TOKEN",
            "INPUT_SECRETS",
            "aws_session_token",
        ] {
            let error = render(&format!("{{\n\"x\": \"${{{name}}}\"}}"), set).unwrap_err();
            assert!(
                error.starts_with(&format!("`${{{name}}}` on line 2 is ")),
                "{error}"
            );
            assert!(error.contains("`secrets` input"), "{error}");
            assert!(!error.contains("AKIA-or-token"), "{error}");
        }
    }

    #[test]
    fn other_aws_and_github_variables_render() {
        let set = |name: &str| Some(format!("<{name}>"));
        assert_eq!(
            render("${AWS_REGION} ${AWS_ACCOUNT_ID} ${GITHUB_SHA}", set).unwrap(),
            "<AWS_REGION> <AWS_ACCOUNT_ID> <GITHUB_SHA>"
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
