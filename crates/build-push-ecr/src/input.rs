//! The typed input: every `Args` field parsed and checked before any AWS call or build.

use std::path::PathBuf;
use std::time::Duration;

use deploy_kit_gha::input::{self, InputError};

use crate::Args;

/// ECR's severities, worst first.
pub const SEVERITIES: [&str; 6] = [
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNDEFINED",
];

/// The network `RUN` steps get. BuildKit knows only these three; custom networks are refused
/// by docker itself (docker/buildx#175), so they are refused here, before any AWS call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// The builder's own (a bridge on a runner); no flag is passed.
    #[default]
    Default,
    /// No network at all: reproducible steps, and builders with no bridge.
    None,
    /// The runner's network, e.g. to reach a service container during the build.
    Host,
}

impl Network {
    fn parse(text: Option<&str>) -> Result<Self, InputError> {
        match input::set(text).map(str::trim) {
            None | Some("default") => Ok(Self::Default),
            Some("none") => Ok(Self::None),
            Some("host") => Ok(Self::Host),
            Some(other) => Err(InputError::new(
                "network",
                format!(
                    "`{}` is not a build network: use `default`, `none` or `host`",
                    input::truncate(other, 40)
                ),
            )),
        }
    }

    /// The value of `--network`, or `None` for the builder's default.
    pub fn flag(self) -> Option<&'static str> {
        match self {
            Self::Default => None,
            Self::None => Some("none"),
            Self::Host => Some("host"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Input {
    /// The repository name, e.g. `team/api`.
    pub repository: String,
    /// A registry host given in `repository` (a full URI) or `registry`; else the repository's.
    pub registry: Option<String>,
    pub context: PathBuf,
    pub dockerfile: Option<PathBuf>,
    pub tags: Vec<String>,
    pub build_args: Vec<(String, String)>,
    /// `(id, value)`: build secrets, masked, passed as files, never as build args.
    pub secrets: Vec<(String, String)>,
    pub target: Option<String>,
    pub network: Network,
    pub platforms: Vec<String>,
    pub cache: bool,
    pub skip_if_exists: bool,
    pub create_repository: bool,
    pub immutable_tags: bool,
    pub scan: bool,
    /// Findings at or above this severity fail the step (index into [`SEVERITIES`]).
    pub fail_on_severity: Option<usize>,
    pub ignore_findings: Vec<String>,
    pub scan_timeout: Duration,
    pub provenance: bool,
    pub push: bool,
}

impl Input {
    pub fn from_args(args: &Args, commit: Option<&str>) -> Result<Self, InputError> {
        let (registry_in_uri, repository) =
            repository(input::required("repository", args.repository.as_deref())?)?;
        let registry = input::set(args.registry.as_deref())
            .map(str::to_owned)
            .or(registry_in_uri);
        let tags = tags(args.tags.as_deref(), commit)?;
        let (scan, fail_on_severity) = scan_gate(args)?;
        let secrets = parse_secrets(input::set(args.secrets.as_deref()).unwrap_or_default())?;
        let platforms = platforms(args.platforms.as_deref())?;
        if let Some(host) = input::set(args.registry.as_deref()) {
            check_host(host)?;
        }
        let context = PathBuf::from(input::set(args.context.as_deref()).unwrap_or("."));
        let dockerfile = input::set(args.dockerfile.as_deref()).map(PathBuf::from);
        Ok(Self {
            repository,
            registry,
            context,
            dockerfile,
            tags,
            build_args: input::set(args.build_args.as_deref())
                .map(|text| input::key_values("build-args", text, '='))
                .transpose()?
                .unwrap_or_default(),
            secrets,
            target: input::set(args.target.as_deref()).map(str::to_owned),
            network: Network::parse(args.network.as_deref())?,
            platforms,
            cache: input::flag("cache", args.cache.as_deref(), true)?,
            skip_if_exists: input::flag("skip-if-exists", args.skip_if_exists.as_deref(), true)?,
            create_repository: input::flag(
                "create-repository",
                args.create_repository.as_deref(),
                false,
            )?,
            immutable_tags: input::flag("immutable-tags", args.immutable_tags.as_deref(), true)?,
            scan,
            fail_on_severity,
            ignore_findings: input::set(args.ignore_findings.as_deref())
                .map(|text| input::lines(text).into_iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            scan_timeout: match input::set(args.scan_timeout.as_deref()) {
                Some(text) => input::duration("scan-timeout", text)?,
                None => Duration::from_secs(600),
            },
            provenance: input::flag("provenance", args.provenance.as_deref(), false)?,
            push: input::flag("push", args.push.as_deref(), true)?,
        })
    }
}

impl Input {
    /// The context and Dockerfile are there: checked before any AWS call, not by docker after
    /// the repository was created.
    pub fn check_paths(&self) -> Result<(), InputError> {
        exists("context", &self.context, true)?;
        match &self.dockerfile {
            Some(dockerfile) => exists("dockerfile", dockerfile, false),
            None => Ok(()),
        }
    }
}

/// The tags, one per line; the commit SHA when none is given.
fn tags(text: Option<&str>, commit: Option<&str>) -> Result<Vec<String>, InputError> {
    let tags: Vec<String> = match input::set(text) {
        Some(text) => input::lines(text).into_iter().map(str::to_owned).collect(),
        None => match commit {
            Some(sha) if !sha.is_empty() => vec![sha.to_owned()],
            _ => {
                return Err(InputError::new(
                    "tags",
                    "is empty and there is no GITHUB_SHA to default to: give at least one tag",
                ));
            }
        },
    };
    if tags.is_empty() {
        // Only blank lines and `#` comments: nothing to push, and no default was asked for.
        return Err(InputError::new(
            "tags",
            "has no tag, only blank lines or comments: give at least one tag",
        ));
    }
    for tag in &tags {
        check_tag(tag)?;
    }
    Ok(tags)
}

/// `scan` and `fail-on-severity`: whether to wait for the scan, and the threshold of the gate
/// (which needs the scan).
fn scan_gate(args: &Args) -> Result<(bool, Option<usize>), InputError> {
    let scan = match input::set(args.scan.as_deref()).unwrap_or("none") {
        "none" => false,
        "wait" => true,
        other => {
            return Err(InputError::new(
                "scan",
                format!(
                    "`{}` is not a scan mode: use `none` or `wait`",
                    input::truncate(other, 40)
                ),
            ));
        }
    };
    let fail_on_severity = input::set(args.fail_on_severity.as_deref())
        .map(|text| {
            let upper = text.trim().to_ascii_uppercase();
            SEVERITIES.iter().position(|s| *s == upper).ok_or_else(|| {
                InputError::new(
                    "fail-on-severity",
                    format!(
                        "`{}` is not a severity: use one of {}",
                        input::truncate(text, 40),
                        SEVERITIES.join(", ")
                    ),
                )
            })
        })
        .transpose()?;
    if fail_on_severity.is_some() && !scan {
        return Err(InputError::new(
            "fail-on-severity",
            "has no effect without `scan: wait`: set `scan: wait` to gate on the findings",
        ));
    }
    Ok((scan, fail_on_severity))
}

/// Platforms, separated by commas or lines.
fn platforms(text: Option<&str>) -> Result<Vec<String>, InputError> {
    let platforms: Vec<String> = input::set(text)
        .map(|text| {
            text.split([',', '\n'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for platform in &platforms {
        check_platform(platform)?;
    }
    Ok(platforms)
}

/// A name (`team/api`) or a full URI (`123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api`):
/// (registry host if given, name).
fn repository(text: &str) -> Result<(Option<String>, String), InputError> {
    let (host, name) = match text.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') => {
            (Some(first.to_owned()), rest)
        }
        _ => (None, text),
    };
    let name = name.split(':').next().unwrap_or(name);
    let valid = name.len() >= 2
        && name.len() <= 256
        && name.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && part
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                && part
                    .bytes()
                    .last()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
        });
    if !valid {
        return Err(InputError::new(
            "repository",
            format!(
                "`{}` is not an ECR repository: use a name such as `team/api` (lowercase letters, digits, `.`, `_`, `-`, `/`) or its full URI",
                input::truncate(text, 120)
            ),
        ));
    }
    Ok((host, name.to_owned()))
}

fn check_tag(tag: &str) -> Result<(), InputError> {
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(InputError::new(
            "tags",
            format!(
                "`{}` is not an image tag: letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`",
                input::truncate(tag, 60)
            ),
        ))
    }
}

/// `os/arch` or `os/arch/variant`, e.g. `linux/amd64`, `linux/arm64/v8`.
fn check_platform(platform: &str) -> Result<(), InputError> {
    let parts: Vec<&str> = platform.split('/').collect();
    let valid = (2..=3).contains(&parts.len())
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if valid {
        return Ok(());
    }
    Err(InputError::new(
        "platforms",
        format!(
            "`{}` is not a platform: use `os/arch`, e.g. `linux/amd64` or `linux/arm64`",
            input::truncate(platform, 60)
        ),
    ))
}

/// A registry host, optionally with a port: `123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
fn check_host(host: &str) -> Result<(), InputError> {
    let (name, port) = host.split_once(':').unwrap_or((host, "1"));
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.parse::<u16>().is_ok_and(|p| p > 0);
    if valid {
        return Ok(());
    }
    Err(InputError::new(
        "registry",
        format!(
            "`{}` is not a registry host: use `host` or `host:port`, without `https://`",
            input::truncate(host, 60)
        ),
    ))
}

/// The build context (a directory) or Dockerfile (a file) must be there.
fn exists(input: &str, path: &std::path::Path, dir: bool) -> Result<(), InputError> {
    let found = if dir { path.is_dir() } else { path.is_file() };
    if found {
        return Ok(());
    }
    let what = if dir { "directory" } else { "file" };
    Err(InputError::new(
        input,
        format!(
            "`{}` is not a {what} here",
            input::truncate(&path.display().to_string(), 120)
        ),
    ))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// `id=value` lines. Errors say which line and what is wrong, never quote it: a line that went
/// wrong (a value pasted without its `id=`) is a secret.
fn parse_secrets(text: &str) -> Result<Vec<(String, String)>, InputError> {
    input::lines(text)
        .into_iter()
        .enumerate()
        .map(|(index, line)| {
            let item = index + 1;
            let (id, value) = line.split_once('=').ok_or_else(|| {
                InputError::new(
                    "secrets",
                    format!("item {item} is not of the form `id=value` (not quoted: it may be a secret)"),
                )
            })?;
            let id = id.trim();
            if !valid_id(id) {
                return Err(InputError::new(
                    "secrets",
                    format!(
                        "item {item}: the id before `=` must be letters, digits, `-`, `_` and `.` (not quoted: it may be a secret)"
                    ),
                ));
            }
            Ok((id.to_owned(), value.trim().to_owned()))
        })
        .collect()
}
