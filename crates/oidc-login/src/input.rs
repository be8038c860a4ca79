//! The typed input: every `Args` field parsed and checked before any request.

use std::path::PathBuf;
use std::time::Duration;

use deploy_kit_aws::web_identity::SessionOptions;
use deploy_kit_gha::input::{self, InputError};
use deploy_kit_gha::{RunIdentity, RunnerEnv};

use crate::Args;

#[derive(Debug, Clone)]
pub struct Input {
    /// `None` only outside Actions: then the default credential chain is used as it is.
    pub role_to_assume: Option<String>,
    pub region: String,
    pub audience: String,
    pub session_name: String,
    pub duration_seconds: i32,
    pub role_chain: Option<String>,
    pub external_id: Option<String>,
    pub allowed_account_ids: Vec<String>,
    pub mask_account_id: bool,
    pub output_credentials: bool,
    pub max_attempts: u32,
    /// Session policies and tags for the last role assumed ([`crate::session`]).
    pub session: SessionOptions,
    /// `custom-tags` was given (they are dropped, with a warning, when no AssumeRole happens).
    pub custom_tags: bool,
    /// `web-identity-token-file`, resolved against the workspace: its token instead of GitHub's.
    pub token_file: Option<PathBuf>,
    /// `sts-endpoint`: every STS call goes there.
    pub sts_endpoint: Option<String>,
    /// `output-env-credentials`: export the credentials and region through `$GITHUB_ENV`.
    pub output_env_credentials: bool,
    /// `action-timeout-s`: the whole step's limit (none when 0 or unset).
    pub timeout: Option<Duration>,
    /// `use-existing-credentials`: keep working credentials the job already has.
    pub use_existing_credentials: bool,
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`, in the characters IAM allows: a role name
/// is 1 to 64 of `[A-Za-z0-9+=,.@_-]`, a path printable ASCII without spaces (IAM API reference,
/// `Role` and `CreateRole`). Anything else (a newline, a quote) is refused before it is printed or
/// sent anywhere; the value is quoted only when it is printable.
fn role_arn(name: &str, text: &str) -> Result<String, InputError> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && is_partition(parts[1])
        && parts[2] == "iam"
        && parts[3].is_empty()
        && is_account(parts[4])
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(is_role_path_and_name);
    if !valid {
        return Err(InputError::new(
            name,
            format!(
                "{} is not an IAM role ARN: use arn:aws:iam::123456789012:role/NAME, the name being 1 to 64 letters, digits and `+=,.@_-`",
                quoted(text)
            ),
        ));
    }
    Ok(text.to_owned())
}

/// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, ...
fn is_partition(text: &str) -> bool {
    text.starts_with("aws")
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_role_path_and_name(rest: &str) -> bool {
    let (path, name) = rest.rsplit_once('/').unwrap_or(("", rest));
    let name_ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    let path_ok = path.len() <= 510 && path.bytes().all(|b| (b'!'..=b'~').contains(&b));
    name_ok && path_ok
}

/// `` `value` `` when it is printable ASCII, otherwise a description: a value with control
/// characters or look-alikes is not repeated into the log.
fn quoted(text: &str) -> String {
    if text.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        format!("`{}`", input::truncate(text, 120))
    } else {
        "the value (not shown: it has characters other than printable ASCII)".to_owned()
    }
}

/// An external id: 2 to 1224 of `[A-Za-z0-9+=,.@:/_-]` (STS `AssumeRole`).
fn external_id(text: &str) -> Result<String, InputError> {
    let valid = (2..=1224).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/_-".contains(&b));
    if !valid {
        return Err(InputError::new(
            "role-external-id",
            "must be 2 to 1224 letters, digits and `+=,.@:/_-` (STS AssumeRole); not quoted: it may be a secret",
        ));
    }
    Ok(text.to_owned())
}

/// An OIDC audience: printable ASCII without spaces, as an IAM OIDC provider's client id is.
fn audience(text: &str) -> Result<String, InputError> {
    let valid = (1..=255).contains(&text.len()) && text.bytes().all(|b| (b'!'..=b'~').contains(&b));
    if !valid {
        return Err(InputError::new(
            "audience",
            format!(
                "{} is not an audience: use 1 to 255 printable characters without spaces, e.g. `sts.amazonaws.com`",
                quoted(text)
            ),
        ));
    }
    Ok(text.to_owned())
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `us-east-1`, `eu-west-3`, `us-gov-west-1`, `cn-north-1`: lowercase words and a number.
fn region(text: &str) -> Result<String, InputError> {
    let parts: Vec<&str> = text.split('-').collect();
    let valid = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if !valid {
        return Err(InputError::new(
            "aws-region",
            format!(
                "`{}` is not an AWS region: use a code such as `us-east-1` or `eu-west-3`",
                input::truncate(text, 40)
            ),
        ));
    }
    Ok(text.to_owned())
}

/// STS accepts `[\w+=,.@-]`, 2 to 64 characters: other characters become `-`.
pub fn session_name(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if cleaned.len() < 2 {
        "deploy-kit".to_owned()
    } else {
        cleaned
    }
}

/// `<repository>-<run id>-<attempt>` from the workflow run, or `deploy-kit` locally.
fn default_session_name(run: &RunIdentity) -> String {
    let repository = &run.repository;
    if repository.is_empty() {
        return "deploy-kit".to_owned();
    }
    let repository = repository
        .rsplit('/')
        .next()
        .unwrap_or(repository)
        .to_owned();
    session_name(&format!("{repository}-{}-{}", run.run_id, run.attempt))
}

impl Input {
    /// In Actions a role is required (the token exchange needs one); the run names the session.
    pub fn from_args(args: &Args, env: &RunnerEnv) -> Result<Self, InputError> {
        let role_to_assume = role_to_assume(args, env.in_actions)?;
        let region = region(input::required("aws-region", args.aws_region.as_deref())?)?;
        let duration = input::set(args.role_duration_seconds.as_deref())
            .map(|text| input::number("role-duration-seconds", text, 900..=43_200))
            .transpose()?
            .unwrap_or(3600);
        let session = match input::set(args.role_session_name.as_deref()) {
            Some(text) => session_name(text),
            None => default_session_name(&env.run),
        };
        let allowed = allowed_account_ids(args)?;
        let role_chain = input::set(args.role_chain.as_deref())
            .map(|text| role_arn("role-chain", text))
            .transpose()?;
        let external_id = input::set(args.role_external_id.as_deref())
            .map(external_id)
            .transpose()?;
        let token_file = input::set(args.web_identity_token_file.as_deref())
            .map(|text| token_file(text, env))
            .transpose()?;
        if token_file.is_some() && role_to_assume.is_none() {
            return Err(InputError::new(
                "web-identity-token-file",
                "needs `role-to-assume`, the role the file's token may assume",
            ));
        }
        if external_id.is_some() && role_chain.is_none() && role_to_assume.is_none() {
            return Err(InputError::new(
                "role-external-id",
                "is for the role assumed with AssumeRole (`role-chain`, or `role-to-assume` outside Actions): set that role too",
            ));
        }
        Ok(Self {
            role_to_assume,
            region,
            audience: audience(
                input::set(args.audience.as_deref()).unwrap_or("sts.amazonaws.com"),
            )?,
            session_name: session,
            duration_seconds: i32::try_from(duration).unwrap_or(3600),
            role_chain,
            external_id,
            allowed_account_ids: allowed,
            mask_account_id: input::flag(
                "mask-account-id",
                args.mask_account_id.as_deref(),
                false,
            )?,
            output_credentials: input::flag(
                "output-credentials",
                args.output_credentials.as_deref(),
                false,
            )?,
            max_attempts: max_attempts(args)?,
            session: crate::session::options(args, env)?,
            custom_tags: input::set(args.custom_tags.as_deref()).is_some(),
            token_file,
            sts_endpoint: input::set(args.sts_endpoint.as_deref())
                .map(sts_endpoint)
                .transpose()?,
            output_env_credentials: input::flag(
                "output-env-credentials",
                args.output_env_credentials.as_deref(),
                true,
            )?,
            timeout: timeout(args)?,
            use_existing_credentials: input::flag(
                "use-existing-credentials",
                args.use_existing_credentials.as_deref(),
                false,
            )?,
        })
    }
}

/// Required in Actions: the token exchange needs a role.
fn role_to_assume(args: &Args, in_actions: bool) -> Result<Option<String>, InputError> {
    match input::set(args.role_to_assume.as_deref()) {
        Some(text) => role_arn("role-to-assume", text).map(Some),
        None if in_actions => Err(InputError::new(
            "role-to-assume",
            "is required in GitHub Actions: the ARN of the role the workflow's OIDC token may assume",
        )),
        None => Ok(None),
    }
}

/// Account ids separated by commas, spaces or lines.
fn allowed_account_ids(args: &Args) -> Result<Vec<String>, InputError> {
    let allowed: Vec<String> = input::set(args.allowed_account_ids.as_deref())
        .map(|text| {
            text.split([',', '\n', ' '])
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = allowed.iter().find(|id| !is_account(id)) {
        return Err(InputError::new(
            "allowed-account-ids",
            format!(
                "`{}` is not a 12-digit account id",
                input::truncate(bad, 40)
            ),
        ));
    }
    Ok(allowed)
}

/// `action-timeout-s`: seconds, 0 (or unset) for none.
fn timeout(args: &Args) -> Result<Option<Duration>, InputError> {
    Ok(input::set(args.action_timeout_s.as_deref())
        .map(|text| input::number("action-timeout-s", text, 0..=86_400))
        .transpose()?
        .filter(|&seconds| seconds > 0)
        .map(Duration::from_secs))
}

/// `retry-max-attempts` (default 6), or 1 with `disable-retry: true`, which wins as it does in
/// configure-aws-credentials.
fn max_attempts(args: &Args) -> Result<u32, InputError> {
    let attempts = input::set(args.retry_max_attempts.as_deref())
        .map(|text| input::number("retry-max-attempts", text, 1..=20))
        .transpose()?
        .map_or(6, |n| u32::try_from(n).unwrap_or(6));
    let disabled = input::flag("disable-retry", args.disable_retry.as_deref(), false)?;
    Ok(if disabled { 1 } else { attempts })
}

/// A readable file, relative paths against `GITHUB_WORKSPACE` (the checkout) when it is set.
fn token_file(text: &str, env: &RunnerEnv) -> Result<PathBuf, InputError> {
    let given = PathBuf::from(text);
    let path = match env.var("GITHUB_WORKSPACE") {
        Some(workspace) if given.is_relative() => PathBuf::from(workspace).join(given),
        _ => given,
    };
    match std::fs::read_to_string(&path) {
        Ok(token) if !token.trim().is_empty() => Ok(path),
        Ok(_) => Err(InputError::new(
            "web-identity-token-file",
            format!(
                "`{}` is empty: it must hold the web identity token (a JWT)",
                path.display()
            ),
        )),
        Err(error) => Err(InputError::new(
            "web-identity-token-file",
            format!(
                "cannot read `{}`: {error} (a path to the token file; relative paths are from the workspace)",
                input::truncate(&path.display().to_string(), 200)
            ),
        )),
    }
}

/// An `http://` or `https://` URL with a host, and nothing the SDK would refuse later.
fn sts_endpoint(text: &str) -> Result<String, InputError> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let valid = text.len() <= 2048
        && rest.is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && rest.bytes().all(|b| (b'!'..=b'~').contains(&b))
        });
    if !valid {
        return Err(InputError::new(
            "sts-endpoint",
            format!(
                "{} is not an endpoint URL: use https://HOST[:PORT], e.g. https://sts.eu-west-1.amazonaws.com",
                quoted(text)
            ),
        ));
    }
    Ok(text.to_owned())
}
