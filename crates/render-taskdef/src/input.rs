//! Parse and validate: every input becomes part of one typed [`Input`] before anything is read.

use std::collections::BTreeSet;

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::{flag, key_values, lines, set, truncate};

use crate::rules;
use crate::{Args, command};

mod source;

pub use source::Source;
use source::source;

/// The changes to make to one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerEdits {
    pub environment: Vec<(String, String)>,
    pub remove_environment: Vec<String>,
    pub secrets: Vec<(String, String)>,
    pub command: Option<Vec<String>>,
    pub log_options: Vec<(String, String)>,
    /// `log-configuration-log-driver`: one of the model's log drivers.
    pub log_driver: Option<String>,
    pub docker_labels: Vec<(String, String)>,
    /// `env-files`: S3 object ARNs; when given they replace the container's `environmentFiles`.
    pub env_files: Vec<String>,
}

impl ContainerEdits {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Task-level settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskSettings {
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    pub family: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub source: Source,
    /// `container-name`, when given.
    pub container: Option<String>,
    /// (container, image, the input that named it): `container-name` + `image`, and `images`.
    pub images: Vec<(String, String, &'static str)>,
    pub edits: ContainerEdits,
    pub task: TaskSettings,
    pub allow_plaintext_secrets: bool,
}

fn owned(value: Option<&String>) -> Option<String> {
    set(value.map(String::as_str)).map(str::to_owned)
}

fn text(value: Option<&String>) -> &str {
    value.map_or("", String::as_str)
}

fn images(
    args: &Args,
    container: Option<&String>,
) -> Result<Vec<(String, String, &'static str)>, InputError> {
    let mut images = Vec::new();
    match (container, owned(args.image.as_ref())) {
        (Some(name), Some(image)) => images.push((name.clone(), image, "container-name")),
        (None, Some(_)) => {
            return Err(InputError::new(
                "image",
                "needs `container-name` to say which container gets it (or use `images` lines `container=image`)",
            ));
        }
        _ => {}
    }
    for (name, image) in key_values("images", text(args.images.as_ref()), '=')? {
        images.push((name, image, "images"));
    }
    let mut seen = BTreeSet::new();
    for (name, image, input) in &images {
        if !seen.insert(name.as_str()) {
            return Err(InputError::new(
                "images",
                format!(
                    "container `{name}` is given an image twice (check `container-name` and `images`)"
                ),
            ));
        }
        // Image references are printable ASCII: no spaces, no unicode.
        if image.is_empty() || !image.chars().all(|c| c.is_ascii_graphic()) {
            // `container-name` said where; the reference itself came from `image`.
            let at = if *input == "images" {
                "images"
            } else {
                "image"
            };
            return Err(InputError::new(
                at,
                format!("`{}` is not an image reference", truncate(image, 100)),
            ));
        }
    }
    Ok(images)
}

/// Names valid and given once.
fn env_names(input: &str, pairs: &[(String, String)]) -> Result<(), InputError> {
    let mut seen = BTreeSet::new();
    for (name, _) in pairs {
        if !rules::valid_env_name(name) {
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

fn secrets(args: &Args) -> Result<Vec<(String, String)>, InputError> {
    let secrets = key_values("secrets", text(args.secrets.as_ref()), '=')?;
    env_names("secrets", &secrets)?;
    for (name, from) in &secrets {
        if from.is_empty() {
            return Err(InputError::new(
                "secrets",
                format!("`{name}` needs a Secrets Manager or SSM ARN/name after `=`"),
            ));
        }
        rules::valid_value_from(from).map_err(|why| {
            InputError::new(
                "secrets",
                format!("`{name}`: `{}` {why}", truncate(from, 120)),
            )
        })?;
    }
    Ok(secrets)
}

fn edits(args: &Args) -> Result<ContainerEdits, InputError> {
    let environment = key_values(
        "environment-variables",
        text(args.environment_variables.as_ref()),
        '=',
    )?;
    env_names("environment-variables", &environment)?;
    let remove_environment: Vec<String> = lines(text(args.remove_environment_variables.as_ref()))
        .into_iter()
        .map(str::to_owned)
        .collect();
    if let Some(line) = remove_environment
        .iter()
        .find(|n| !rules::valid_env_name(n))
    {
        return Err(InputError::new(
            "remove-environment-variables",
            format!(
                "`{}` is not a variable name: give one name per line, no `=value`",
                truncate(line, 60)
            ),
        ));
    }
    let secrets = secrets(args)?;
    for (name, _) in &environment {
        if remove_environment.contains(name) {
            return Err(InputError::new(
                "remove-environment-variables",
                format!("`{name}` is also set by `environment-variables`: keep one"),
            ));
        }
        if secrets.iter().any(|(s, _)| s == name) {
            return Err(InputError::new(
                "secrets",
                format!(
                    "`{name}` is also a plaintext variable in `environment-variables`: keep one"
                ),
            ));
        }
    }
    Ok(ContainerEdits {
        environment,
        remove_environment,
        secrets,
        command: set(args.command.as_deref())
            .map(command::parse)
            .transpose()?,
        log_options: key_values(
            "log-configuration-options",
            text(args.log_configuration_options.as_ref()),
            '=',
        )?,
        log_driver: log_driver(args)?,
        docker_labels: key_values("docker-labels", text(args.docker_labels.as_ref()), '=')?,
        env_files: env_files(args)?,
    })
}

/// One of the log drivers the ECS model knows (from the SDK, so the list moves with it).
fn log_driver(args: &Args) -> Result<Option<String>, InputError> {
    let Some(driver) = owned(args.log_configuration_log_driver.as_ref()) else {
        return Ok(None);
    };
    let known = aws_sdk_ecs::types::LogDriver::values();
    if known.contains(&driver.as_str()) {
        return Ok(Some(driver));
    }
    Err(InputError::new(
        "log-configuration-log-driver",
        format!(
            "`{}` is not a log driver ECS knows: use one of {}",
            truncate(&driver, 60),
            known.join(", ")
        ),
    ))
}

/// S3 object ARNs, one per line (`arn:aws:s3:::bucket/key.env`).
fn env_files(args: &Args) -> Result<Vec<String>, InputError> {
    let files: Vec<String> = lines(text(args.env_files.as_ref()))
        .into_iter()
        .map(str::to_owned)
        .collect();
    if let Some(bad) = files.iter().find(|f| !rules::valid_s3_object_arn(f)) {
        return Err(InputError::new(
            "env-files",
            format!(
                "`{}` is not an S3 object ARN: give one `arn:aws:s3:::BUCKET/KEY` per line",
                truncate(bad, 100)
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    if let Some(twice) = files.iter().find(|f| !seen.insert(f.as_str())) {
        return Err(InputError::new(
            "env-files",
            format!("`{}` is given twice", truncate(twice, 100)),
        ));
    }
    Ok(files)
}

fn checked(
    input: &str,
    value: Option<&String>,
    ok: impl Fn(&str) -> bool,
    valid: &str,
) -> Result<Option<String>, InputError> {
    match owned(value) {
        Some(value) if !ok(&value) => Err(InputError::new(
            input,
            format!("`{}` is not {valid}", truncate(&value, 100)),
        )),
        value => Ok(value),
    }
}

fn task_settings(args: &Args) -> Result<TaskSettings, InputError> {
    let role = "an IAM role ARN (`arn:aws:iam::123456789012:role/name`) or role name";
    Ok(TaskSettings {
        cpu: checked(
            "cpu",
            args.cpu.as_ref(),
            |v| rules::valid_size(v, "vCPU"),
            "CPU units (`256`, `1024`) or vCPUs (`1 vCPU`)",
        )?,
        memory: checked(
            "memory",
            args.memory.as_ref(),
            |v| rules::valid_size(v, "GB"),
            "MiB (`512`, `2048`) or GB (`2 GB`)",
        )?,
        task_role_arn: checked(
            "task-role-arn",
            args.task_role_arn.as_ref(),
            rules::valid_role,
            role,
        )?,
        execution_role_arn: checked(
            "execution-role-arn",
            args.execution_role_arn.as_ref(),
            rules::valid_role,
            role,
        )?,
        family: checked(
            "family",
            args.family.as_ref(),
            rules::valid_family,
            "a family name: up to 255 letters, digits, `-` and `_`",
        )?,
    })
}

impl Input {
    pub fn parse(args: &Args) -> Result<Self, InputError> {
        let container = owned(args.container_name.as_ref());
        Ok(Self {
            source: source(args)?,
            images: images(args, container.as_ref())?,
            container,
            edits: edits(args)?,
            task: task_settings(args)?,
            allow_plaintext_secrets: flag(
                "allow-plaintext-secrets",
                args.allow_plaintext_secrets.as_deref(),
                false,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_revision_joins_the_family() {
        let args = Args {
            task_definition_family: Some("api".into()),
            task_definition_revision: Some("7".into()),
            ..Args::default()
        };
        assert_eq!(
            source(&args).unwrap(),
            Source::Live {
                input: "task-definition-family",
                reference: "api:7".into()
            }
        );
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
        let message = |names: &[&str]| {
            env_names("e", &pairs(names))
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert!(message(&["1A"]).contains("not a valid variable name"));
        assert_eq!(message(&["A", "A"]), "`A` is given twice");
    }

    #[test]
    fn conflicting_variable_inputs_are_refused() {
        let args = |env: &str, remove: &str, secrets: &str| Args {
            task_definition: Some("td.json".into()),
            environment_variables: Some(env.into()),
            remove_environment_variables: Some(remove.into()),
            secrets: Some(secrets.into()),
            ..Args::default()
        };
        let error = |a: Args| {
            Input::parse(&a)
                .err()
                .map(|e| (e.input, e.message))
                .unwrap_or_default()
        };
        assert_eq!(
            error(args("A=1", "A", "")),
            (
                "remove-environment-variables".into(),
                "`A` is also set by `environment-variables`: keep one".into()
            )
        );
        assert_eq!(
            error(args(
                "A=1",
                "",
                "A=arn:aws:ssm:eu-west-1:123456789012:parameter/a"
            ))
            .0,
            "secrets"
        );
        assert_eq!(error(args("", "A=1", "")).0, "remove-environment-variables");
        assert!(
            error(args("", "", "A=arn:aws:s3:::b/k"))
                .1
                .contains("is an ARN of `s3`")
        );
    }

    #[test]
    fn task_settings_are_checked() {
        let parse = |a: Args| {
            Input::parse(&Args {
                task_definition: Some("td.json".into()),
                ..a
            })
        };
        assert_eq!(
            parse(Args {
                cpu: Some("lots".into()),
                ..Args::default()
            })
            .err()
            .map(|e| e.input),
            Some("cpu".into())
        );
        assert_eq!(
            parse(Args {
                family: Some("api:3".into()),
                ..Args::default()
            })
            .err()
            .map(|e| e.input),
            Some("family".into())
        );
        assert_eq!(
            parse(Args {
                task_role_arn: Some("arn:aws:iam::123456789012:user/x".into()),
                ..Args::default()
            })
            .err()
            .map(|e| e.input),
            Some("task-role-arn".into())
        );
        let input = parse(Args {
            cpu: Some("1 vCPU".into()),
            memory: Some("2 GB".into()),
            ..Args::default()
        });
        assert!(
            input.is_ok_and(|i| i.task.cpu.as_deref() == Some("1 vCPU")
                && i.task.memory.as_deref() == Some("2 GB"))
        );
    }
}
