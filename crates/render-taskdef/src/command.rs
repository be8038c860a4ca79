//! The `command` input: a JSON array of strings, or shell words.

use deploy_kit_gha::InputError;

/// `command`: a JSON array of strings, or shell words (quotes honoured). Text that starts with
/// `[` is JSON when it parses as JSON or clearly tries to (`["...`); otherwise it is shell words,
/// so `[ -f /ready ] && serve` still works.
pub fn parse(text: &str) -> Result<Vec<String>, InputError> {
    let invalid = |why: String| InputError::new("command", why);
    if let Some(rest) = text.strip_prefix('[') {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => {
                let words: Vec<String> = serde_json::from_value(value).map_err(|_| {
                    invalid("is a JSON array but not of strings: quote every word, e.g. `[\"bin/serve\", \"--port\", \"8080\"]`".into())
                })?;
                // As for shell words: an empty command is a mistake, not a way to clear one.
                if words.is_empty() {
                    return Err(invalid("is an empty JSON array: give the program and its arguments, e.g. `[\"bin/migrate\"]`".into()));
                }
                return Ok(words);
            }
            Err(e) if rest.trim_start().starts_with(['"', ']']) => {
                return Err(invalid(format!("is not a valid JSON array: {e}")));
            }
            Err(_) => {}
        }
    }
    let words = shell_words::split(text).map_err(|e| {
        invalid(format!(
            "cannot be split into words: {e} (check the quotes)"
        ))
    })?;
    if words.is_empty() {
        return Err(invalid("is empty".into()));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_as_json_or_shell_words() {
        let words = |text: &str| parse(text).unwrap_or_default();
        assert_eq!(
            words(r#"["bin/migrate", "--to", "latest"]"#),
            ["bin/migrate", "--to", "latest"]
        );
        assert_eq!(words(r#"sh -c "echo 'a b'""#), ["sh", "-c", "echo 'a b'"]);
        assert_eq!(
            words("NODE_ENV=dev node app.js"),
            ["NODE_ENV=dev", "node", "app.js"]
        );
        assert_eq!(
            words("[ -f /ready ] && serve"),
            ["[", "-f", "/ready", "]", "&&", "serve"]
        );
        assert!(words("[]").is_empty());
        let error = |text: &str| parse(text).err().map(|e| e.message).unwrap_or_default();
        assert!(error("[1, 2]").starts_with("is a JSON array but not of strings"));
        assert!(error(r#"["a", "b""#).starts_with("is not a valid JSON array"));
        assert!(error("echo 'unclosed").starts_with("cannot be split into words"));
    }
}
