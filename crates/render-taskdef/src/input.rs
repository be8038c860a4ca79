//! Parse and validate: every input becomes part of one typed [`Input`] before anything is read.

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::{flag, key_values, lines, set, truncate};

use crate::Args;

/// Where the task definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(String),
    /// A family (latest ACTIVE revision), `family:revision`, or an ARN.
    Live(String),
}

/// The command override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command(pub Vec<String>);

/// The changes to make to one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerEdits {
    pub environment: Vec<(String, String)>,
    pub remove_environment: Vec<String>,
    pub secrets: Vec<(String, String)>,
    pub command: Option<Command>,
    pub log_options: Vec<(String, String)>,
    pub docker_labels: Vec<(String, String)>,
}

impl ContainerEdits {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone)]
pub struct Input {
    pub source: Source,
    /// `container-name`, when given.
    pub container: Option<String>,
    /// (container, image) pairs: `container-name` + `image`, and `images` lines.
    pub images: Vec<(String, String)>,
    pub edits: ContainerEdits,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    pub family: Option<String>,
    pub allow_plaintext_secrets: bool,
}

fn owned(value: Option<&String>) -> Option<String> {
    set(value.map(String::as_str)).map(str::to_owned)
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn env_names(input: &str, pairs: &[(String, String)]) -> Result<(), InputError> {
    let mut seen = std::collections::BTreeSet::new();
    for (name, _) in pairs {
        if !valid_env_name(name) {
            return Err(InputError::new(
                input,
                format!(
                    "`{}` is not a valid variable name: use letters, digits and `_`, not starting with a digit",
                    truncate(name, 60)
                ),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(InputError::new(input, format!("`{name}` is given twice")));
        }
    }
    Ok(())
}

/// `command`: a JSON array of strings, or shell words (quotes honoured).
fn parse_command(text: &str) -> Result<Command, InputError> {
    let invalid = |why: String| InputError::new("command", why);
    if text.starts_with('[') {
        let words: Vec<String> = serde_json::from_str(text)
            .map_err(|e| invalid(format!("is not a JSON array of strings: {e}")))?;
        return Ok(Command(words));
    }
    let words = shell_words::split(text).map_err(|e| {
        invalid(format!(
            "cannot be split into words: {e} (check the quotes)"
        ))
    })?;
    if words.is_empty() {
        return Err(invalid("is empty".into()));
    }
    Ok(Command(words))
}

impl Input {
    pub fn parse(args: &Args) -> Result<Self, InputError> {
        let file = owned(args.task_definition.as_ref());
        let family = owned(args.task_definition_family.as_ref());
        let arn = owned(args.task_definition_arn.as_ref());
        let source = match (file, family, arn) {
            (Some(path), None, None) => Source::File(path),
            (None, Some(live), None) | (None, None, Some(live)) => Source::Live(live),
            (None, None, None) => {
                return Err(InputError::new(
                    "task-definition",
                    "is required: give a JSON file, or `task-definition-family` / `task-definition-arn` to start from the live one",
                ));
            }
            _ => {
                return Err(InputError::new(
                    "task-definition",
                    "give only one of `task-definition` (a file), `task-definition-family` and `task-definition-arn`",
                ));
            }
        };

        let container = owned(args.container_name.as_ref());
        let mut images = Vec::new();
        match (&container, owned(args.image.as_ref())) {
            (Some(name), Some(image)) => images.push((name.clone(), image)),
            (None, Some(_)) => {
                return Err(InputError::new(
                    "image",
                    "needs `container-name` to say which container gets it (or use `images` lines `container=image`)",
                ));
            }
            _ => {}
        }
        images.extend(key_values(
            "images",
            args.images.as_deref().unwrap_or(""),
            '=',
        )?);
        let mut seen = std::collections::BTreeSet::new();
        for (name, image) in &images {
            if !seen.insert(name.as_str()) {
                return Err(InputError::new(
                    "images",
                    format!("container `{name}` is given an image twice"),
                ));
            }
            if image.is_empty() || image.chars().any(char::is_whitespace) {
                return Err(InputError::new(
                    "images",
                    format!("`{}` is not an image reference", truncate(image, 100)),
                ));
            }
        }

        let environment = key_values(
            "environment-variables",
            args.environment_variables.as_deref().unwrap_or(""),
            '=',
        )?;
        env_names("environment-variables", &environment)?;
        let remove_environment: Vec<String> =
            lines(args.remove_environment_variables.as_deref().unwrap_or(""))
                .into_iter()
                .map(str::to_owned)
                .collect();
        let secrets = key_values("secrets", args.secrets.as_deref().unwrap_or(""), '=')?;
        env_names("secrets", &secrets)?;
        if let Some((name, _)) = secrets.iter().find(|(_, from)| from.is_empty()) {
            return Err(InputError::new(
                "secrets",
                format!("`{name}` needs a Secrets Manager or SSM ARN/name after `=`"),
            ));
        }
        let edits = ContainerEdits {
            environment,
            remove_environment,
            secrets,
            command: set(args.command.as_deref())
                .map(parse_command)
                .transpose()?,
            log_options: key_values(
                "log-configuration-options",
                args.log_configuration_options.as_deref().unwrap_or(""),
                '=',
            )?,
            docker_labels: key_values(
                "docker-labels",
                args.docker_labels.as_deref().unwrap_or(""),
                '=',
            )?,
        };
        Ok(Self {
            source,
            container,
            images,
            edits,
            cpu: owned(args.cpu.as_ref()),
            memory: owned(args.memory.as_ref()),
            task_role_arn: owned(args.task_role_arn.as_ref()),
            execution_role_arn: owned(args.execution_role_arn.as_ref()),
            family: owned(args.family.as_ref()),
            allow_plaintext_secrets: flag(
                "allow-plaintext-secrets",
                args.allow_plaintext_secrets.as_deref(),
                false,
            )?,
        })
    }
}

/// A plaintext variable whose name says it holds a secret: PASSWORD, SECRET, TOKEN, ... as a whole
/// word of the `_`-separated name (`DB_PASSWORD`, `GITHUB_TOKEN`, `API_KEY`), so `TOKENIZER_MODEL`
/// or `SECRETARY_EMAIL` pass.
pub fn looks_secret(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PWD",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "CREDENTIAL",
        "CREDENTIALS",
        "APIKEY",
    ];
    const PAIRS: &[[&str; 2]] = &[
        ["API", "KEY"],
        ["PRIVATE", "KEY"],
        ["ACCESS", "KEY"],
        ["SECRET", "KEY"],
        ["CLIENT", "SECRET"],
    ];
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    words.iter().any(|w| WORDS.contains(w))
        || words.windows(2).any(|pair| PAIRS.iter().any(|p| p == pair))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names_are_whole_words() {
        for name in [
            "DB_PASSWORD",
            "password",
            "GITHUB_TOKEN",
            "API_KEY",
            "STRIPE_APIKEY",
            "AWS_SECRET_ACCESS_KEY",
            "PRIVATE_KEY_PEM",
            "GOOGLE_CREDENTIALS",
            "OAUTH_CLIENT_SECRET",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "TOKENIZER_MODEL",
            "SECRETARY_EMAIL",
            "PASSWORD_POLICY_URL_X",
        ] {
            // PASSWORD_POLICY_URL_X has PASSWORD as a word: it is flagged; allow-plaintext-secrets exists for such names.
            assert_eq!(looks_secret(name), name.starts_with("PASSWORD"), "{name}");
        }
        assert!(!looks_secret("KEYBOARD_LAYOUT") && !looks_secret("LOG_LEVEL"));
    }

    #[test]
    fn commands_as_json_or_shell_words() {
        assert_eq!(
            parse_command(r#"["bin/migrate", "--to", "latest"]"#)
                .unwrap()
                .0,
            ["bin/migrate", "--to", "latest"]
        );
        assert_eq!(
            parse_command(r#"sh -c "echo 'a b'""#).unwrap().0,
            ["sh", "-c", "echo 'a b'"]
        );
        assert_eq!(parse_command("[1,2]").unwrap_err().input, "command");
        assert!(parse_command("echo 'unclosed").is_err());
    }

    #[test]
    fn env_names_are_checked() {
        let pairs = |names: &[&str]| {
            names
                .iter()
                .map(|n| ((*n).to_owned(), String::new()))
                .collect::<Vec<_>>()
        };
        assert!(env_names("e", &pairs(&["A", "_B1"])).is_ok());
        assert!(
            env_names("e", &pairs(&["1A"]))
                .unwrap_err()
                .message
                .contains("not a valid variable name")
        );
        assert!(env_names("e", &pairs(&["A-B"])).is_err());
        assert_eq!(
            env_names("e", &pairs(&["A", "A"])).unwrap_err().message,
            "`A` is given twice"
        );
    }
}
