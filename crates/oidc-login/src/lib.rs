//! oidc-login: GitHub OIDC to AWS credentials for the steps after it.
//!
//! In Actions: the job's OIDC token, `AssumeRoleWithWebIdentity` (classified retries, errors that
//! explain the trust policy, see [`exchange`]), an optional second role (`role-chain`), then
//! `GetCallerIdentity` and the allowed-account check. Outside Actions, or under act without a
//! token: the default credential chain, with `role-to-assume` assumed through AssumeRole. The
//! credentials are masked before anything else prints, then exported through `$GITHUB_ENV`
//! with what later deploy-kit steps need to refresh them ([`deploy_kit_aws::refresh`]).

pub mod claims;
mod exchange;
mod input;

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use deploy_kit_aws::refresh;
use deploy_kit_aws::web_identity::{ChainedRole, Roles, TokenSource, assume_role, sts_client};
use deploy_kit_gha::{Classify, Exit, InputError, Runner, RunnerEnv};

pub use input::{Input, session_name};

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// The role the workflow's OIDC token assumes (required in Actions).
    #[arg(long, env = "INPUT_ROLE_TO_ASSUME")]
    pub role_to_assume: Option<String>,
    /// The AWS region, e.g. `eu-west-1`. Required.
    #[arg(long, env = "INPUT_AWS_REGION")]
    pub aws_region: Option<String>,
    /// The token's audience (default `sts.amazonaws.com`).
    #[arg(long, env = "INPUT_AUDIENCE")]
    pub audience: Option<String>,
    /// Session name (default from the repository, run id and attempt).
    #[arg(long, env = "INPUT_ROLE_SESSION_NAME")]
    pub role_session_name: Option<String>,
    /// Session length in seconds, 900 to 43200 (default 3600).
    #[arg(long, env = "INPUT_ROLE_DURATION_SECONDS")]
    pub role_duration_seconds: Option<String>,
    /// A second role, assumed with the first session (a per-environment deploy role).
    #[arg(long, env = "INPUT_ROLE_CHAIN")]
    pub role_chain: Option<String>,
    /// External id for the role assumed with AssumeRole.
    #[arg(long, env = "INPUT_ROLE_EXTERNAL_ID")]
    pub role_external_id: Option<String>,
    /// Account ids the credentials may belong to (commas or lines); others are refused.
    #[arg(long, env = "INPUT_ALLOWED_ACCOUNT_IDS")]
    pub allowed_account_ids: Option<String>,
    /// Mask the account id in logs (default false).
    #[arg(long, env = "INPUT_MASK_ACCOUNT_ID")]
    pub mask_account_id: Option<String>,
    /// Also set the credentials as step outputs (default false).
    #[arg(long, env = "INPUT_OUTPUT_CREDENTIALS")]
    pub output_credentials: Option<String>,
    /// Attempts for transient failures (default 6).
    #[arg(long, env = "INPUT_RETRY_MAX_ATTEMPTS")]
    pub retry_max_attempts: Option<String>,
}

/// The outputs `action.yml` declares (the last three only with `output-credentials`).
pub const OUTPUTS: &[&str] = &[
    "aws-account-id",
    "authenticated-arn",
    "aws-access-key-id",
    "aws-secret-access-key",
    "aws-session-token",
];

const PERMISSIONS_YAML: &str = "permissions:\n  id-token: write   # lets the job ask GitHub for an OIDC token\n  contents: read";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(
        "this job cannot ask GitHub for an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). Add to the workflow or the job:\n{PERMISSIONS_YAML}"
    )]
    NoIdToken,
    #[error("{0}")]
    Token(String),
    #[error("AssumeRoleWithWebIdentity of `{role}` was refused: {message}\n{explanation}")]
    Denied {
        role: String,
        message: String,
        explanation: String,
    },
    #[error("AssumeRoleWithWebIdentity of `{role}` failed {attempts} times; the last: {last}")]
    Exhausted {
        role: String,
        attempts: u32,
        last: String,
    },
    #[error("AssumeRole of `{role}` failed: {message}")]
    AssumeRole { role: String, message: String },
    #[error(
        "no AWS credentials outside GitHub Actions: {0} (set AWS_PROFILE, run `aws sso login`, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    )]
    NoCredentials(String),
    #[error("GetCallerIdentity failed: {0}")]
    Identity(String),
    #[error(
        "the credentials belong to account {account}, which `allowed-account-ids` does not list ({allowed}): nothing was exported"
    )]
    AccountNotAllowed { account: String, allowed: String },
    #[error("cannot export the credentials: {0}")]
    Export(std::io::Error),
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::NoIdToken | Error::AccountNotAllowed { .. } => Exit::BadInput,
            _ => Exit::Failed,
        }
    }
}

/// Where the credentials came from, said once.
struct Obtained {
    credentials: Credentials,
    source: String,
    /// The exchange later steps can re-run (GitHub OIDC only).
    refreshable: bool,
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let in_actions = runner.env().in_actions;
    let input = Input::from_args(&args, runner.env())?;
    let config = deploy_kit_aws::config_loader("oidc-login")
        .region(Region::new(input.region.clone()))
        .load()
        .await;
    let obtained = obtain(&config, &input, in_actions, runner).await?;
    let credentials = obtained.credentials;
    // Before anything else is printed: the secrets, then (if asked) the account.
    runner.mask(credentials.access_key_id());
    runner.mask(credentials.secret_access_key());
    if let Some(token) = credentials.session_token() {
        runner.mask(token);
    }
    let identity = sts_client(&config, credentials.clone())
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| Error::Identity(deploy_kit_aws::describe_error(&e)))?;
    let account = identity.account().unwrap_or_default().to_owned();
    let arn = identity.arn().unwrap_or_default().to_owned();
    if input.mask_account_id {
        runner.mask(&account);
    }
    if !input.allowed_account_ids.is_empty() && !input.allowed_account_ids.contains(&account) {
        return Err(Error::AccountNotAllowed {
            account,
            allowed: input.allowed_account_ids.join(", "),
        });
    }
    export(&input, &credentials, obtained.refreshable, runner)?;
    outputs(&input, &credentials, &account, &arn, runner);
    let expiry = credentials
        .expiry()
        .map(|at| format!("; they expire at {}", aws_smithy_types::DateTime::from(at)))
        .unwrap_or_default();
    runner.info(format!(
        "authenticated as {arn} (account {account}) through {}{expiry}",
        obtained.source
    ));
    let summary = format!(
        "### oidc-login\n\nAuthenticated as `{arn}` in `{}` through {}.\n",
        input.region, obtained.source
    );
    if let Err(error) = runner.summary(&summary) {
        runner.warning(format!("cannot write the step summary: {error}"));
    }
    Ok(())
}

/// GitHub OIDC when a token can be had; otherwise the default chain (locally, under act).
async fn obtain(
    config: &aws_types::SdkConfig,
    input: &Input,
    in_actions: bool,
    runner: &Runner,
) -> Result<Obtained, Error> {
    let env = runner.env();
    let source = env.id_token_request.as_ref().map(|request| TokenSource {
        url: request.url.clone(),
        bearer: request.bearer.clone(),
        audience: input.audience.clone(),
    });
    let under_act = env.act;
    let first = match (source, &input.role_to_assume) {
        (Some(source), Some(role)) => {
            let roles = roles(input, role);
            let credentials = exchange::web_identity(
                config,
                &source,
                &roles,
                input.max_attempts,
                env.time_scale()?,
                runner,
            )
            .await?;
            Obtained {
                credentials,
                source: format!("GitHub OIDC (role `{role}`)"),
                refreshable: true,
            }
        }
        (None, _) if in_actions && !under_act => return Err(Error::NoIdToken),
        (_, role) => default_chain(config, input, role.as_deref(), env).await?,
    };
    match &input.role_chain {
        None => Ok(first),
        Some(chain) => {
            let role = ChainedRole {
                role_arn: chain.clone(),
                external_id: input.external_id.clone(),
            };
            let sts = sts_client(config, first.credentials);
            let credentials = assume_role(&sts, &role, &input.session_name, input.duration_seconds)
                .await
                .map_err(|e| Error::AssumeRole {
                    role: chain.clone(),
                    message: deploy_kit_aws::describe_error(&e),
                })?;
            Ok(Obtained {
                credentials,
                source: format!("{}, then role `{chain}`", first.source),
                refreshable: first.refreshable,
            })
        }
    }
}

fn roles(input: &Input, role: &str) -> Roles {
    Roles {
        role_arn: role.to_owned(),
        session_name: input.session_name.clone(),
        duration_seconds: input.duration_seconds,
        chain: None,
    }
}

/// The default credential chain (env, profile, SSO, ...), and `role` assumed with it.
async fn default_chain(
    config: &aws_types::SdkConfig,
    input: &Input,
    role: Option<&str>,
    env: &RunnerEnv,
) -> Result<Obtained, Error> {
    let provider = config
        .credentials_provider()
        .ok_or_else(|| Error::NoCredentials("no credential provider".to_owned()))?;
    let base = provider
        .provide_credentials()
        .await
        .map_err(|e| Error::NoCredentials(e.to_string()))?;
    let label = if env.var("AWS_ACCESS_KEY_ID").is_some() {
        "the environment's AWS_ACCESS_KEY_ID".to_owned()
    } else if let Some(profile) = env.var("AWS_PROFILE") {
        format!("profile `{profile}`")
    } else {
        "the default credential chain".to_owned()
    };
    let Some(role) = role else {
        return Ok(Obtained {
            credentials: base,
            source: label,
            refreshable: false,
        });
    };
    let chained = ChainedRole {
        role_arn: role.to_owned(),
        external_id: input
            .external_id
            .clone()
            .filter(|_| input.role_chain.is_none()),
    };
    let sts = sts_client(config, base);
    let credentials = assume_role(&sts, &chained, &input.session_name, input.duration_seconds)
        .await
        .map_err(|e| Error::AssumeRole {
            role: role.to_owned(),
            message: deploy_kit_aws::describe_error(&e),
        })?;
    Ok(Obtained {
        credentials,
        source: format!("{label}, then role `{role}` (AssumeRole)"),
        refreshable: false,
    })
}

fn export(
    input: &Input,
    credentials: &Credentials,
    refreshable: bool,
    runner: &Runner,
) -> Result<(), Error> {
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key().to_owned(),
        ),
        (
            "AWS_SESSION_TOKEN",
            credentials.session_token().unwrap_or_default().to_owned(),
        ),
        ("AWS_REGION", input.region.clone()),
        ("AWS_DEFAULT_REGION", input.region.clone()),
    ];
    if refreshable && let Some(role) = &input.role_to_assume {
        vars.extend([
            (refresh::ENV_ROLE, role.clone()),
            (refresh::ENV_AUDIENCE, input.audience.clone()),
            (refresh::ENV_SESSION_NAME, input.session_name.clone()),
            (refresh::ENV_DURATION, input.duration_seconds.to_string()),
            (
                refresh::ENV_CHAIN,
                input.role_chain.clone().unwrap_or_default(),
            ),
            (
                refresh::ENV_EXTERNAL_ID,
                input.external_id.clone().unwrap_or_default(),
            ),
        ]);
    }
    for (name, value) in vars {
        runner
            .export_variable(name, &value)
            .map_err(Error::Export)?;
    }
    Ok(())
}

fn outputs(input: &Input, credentials: &Credentials, account: &str, arn: &str, runner: &Runner) {
    let mut outputs = vec![
        ("aws-account-id", account.to_owned()),
        ("authenticated-arn", arn.to_owned()),
    ];
    if input.output_credentials {
        outputs.extend([
            ("aws-access-key-id", credentials.access_key_id().to_owned()),
            (
                "aws-secret-access-key",
                credentials.secret_access_key().to_owned(),
            ),
            (
                "aws-session-token",
                credentials.session_token().unwrap_or_default().to_owned(),
            ),
        ]);
    }
    for (name, value) in outputs {
        if let Err(error) = runner.set_output(name, &value) {
            runner.warning(format!("cannot set output `{name}`: {error}"));
        }
    }
}
