//! oidc-login: GitHub OIDC to AWS credentials for the steps after it.
//!
//! In Actions: the job's OIDC token, `AssumeRoleWithWebIdentity` (classified retries, errors that
//! explain the trust policy, see [`exchange`]), an optional second role (`role-chain`), then
//! the allowed-account check on the account STS named with the session (`GetCallerIdentity` only
//! when its answer names none: no role assumed). Outside Actions, or under act without a
//! token: the default credential chain, with `role-to-assume` assumed through AssumeRole. The
//! credentials are masked before anything else prints, then exported through `$GITHUB_ENV`
//! with what later deploy-kit steps need to refresh them ([`deploy_kit_aws::refresh`]).
//! configure-aws-credentials' options keep their names and meaning: a token file instead of
//! GitHub's token, another STS endpoint, session policies and tags ([`session`]), working
//! credentials kept ([`ambient`]), a limit for the whole step.

mod ambient;
pub mod claims;
mod exchange;
mod export;
mod input;
mod session;

use aws_config::Region;
use deploy_kit_aws::web_identity::{
    ChainedRole, Roles, Session, SessionOptions, TokenSource, assume_role, sts_client,
};
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
    /// `true`: one attempt, no retry (wins over retry-max-attempts).
    #[arg(long, env = "INPUT_DISABLE_RETRY")]
    pub disable_retry: Option<String>,
    /// An IAM policy document (JSON) that narrows the session.
    #[arg(long, env = "INPUT_INLINE_SESSION_POLICY")]
    pub inline_session_policy: Option<String>,
    /// IAM policy ARNs, one a line, that narrow the session.
    #[arg(long, env = "INPUT_MANAGED_SESSION_POLICIES")]
    pub managed_session_policies: Option<String>,
    /// `true`: no session tags on AssumeRole (default false).
    #[arg(long, env = "INPUT_ROLE_SKIP_SESSION_TAGGING")]
    pub role_skip_session_tagging: Option<String>,
    /// Session tag keys, one a line, made transitive.
    #[arg(long, env = "INPUT_TRANSITIVE_TAG_KEYS")]
    pub transitive_tag_keys: Option<String>,
    /// More session tags, a JSON object.
    #[arg(long, env = "INPUT_CUSTOM_TAGS")]
    pub custom_tags: Option<String>,
    /// A file holding a web identity token, used instead of GitHub's.
    #[arg(long, env = "INPUT_WEB_IDENTITY_TOKEN_FILE")]
    pub web_identity_token_file: Option<String>,
    /// The STS endpoint URL (default: the region's).
    #[arg(long, env = "INPUT_STS_ENDPOINT")]
    pub sts_endpoint: Option<String>,
    /// Export the credentials through `$GITHUB_ENV` (default true).
    #[arg(long, env = "INPUT_OUTPUT_ENV_CREDENTIALS")]
    pub output_env_credentials: Option<String>,
    /// A limit in seconds for the whole step (default none).
    #[arg(long, env = "INPUT_ACTION_TIMEOUT_S")]
    pub action_timeout_s: Option<String>,
    /// `true`: keep the job's working credentials instead of logging in again (default false).
    #[arg(long, env = "INPUT_USE_EXISTING_CREDENTIALS")]
    pub use_existing_credentials: Option<String>,
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
    #[error("STS answered {0} without credentials: nothing was exported")]
    NoSessionCredentials(String),
    #[error(
        "the credentials belong to account {account}, which `allowed-account-ids` does not list ({allowed}): nothing was exported"
    )]
    AccountNotAllowed { account: String, allowed: String },
    #[error("cannot export the credentials: {0}")]
    Export(std::io::Error),
    #[error("`action-timeout-s` ran out: no credentials within {0} s; nothing was exported")]
    TimedOut(u64),
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::NoIdToken | Error::AccountNotAllowed { .. } => Exit::BadInput,
            Error::TimedOut(_) => Exit::TimedOut,
            _ => Exit::Failed,
        }
    }
}

/// Where the credentials came from, said once.
pub(crate) struct Obtained {
    /// The credentials, and the session's ARN when STS issued them.
    session: Session,
    source: String,
    /// The exchange later steps can re-run (GitHub OIDC only).
    refreshable: bool,
    /// Through AssumeRoleWithWebIdentity, which takes no session tags.
    web_identity: bool,
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let input = Input::from_args(&args, runner.env())?;
    match input.timeout {
        None => login(&input, runner).await,
        Some(limit) => tokio::time::timeout(limit, login(&input, runner))
            .await
            .map_err(|_| Error::TimedOut(limit.as_secs()))?,
    }
}

async fn login(input: &Input, runner: &Runner) -> Result<(), Error> {
    let token = token(input, runner.env());
    let mut loader =
        deploy_kit_aws::config_loader("oidc-login").region(Region::new(input.region.clone()));
    if let Some(url) = &input.sts_endpoint {
        loader = loader.endpoint_url(url);
    }
    if token.is_some() && input.role_to_assume.is_some() && !input.use_existing_credentials {
        // The exchange is unsigned and what follows signs with what it returns: building the
        // default chain (its STS, IMDS and profile providers) would cost a tenth of the step.
        loader = loader.no_credentials();
    }
    let config = loader.load().await;
    if input.use_existing_credentials && ambient::existing(&config, input, runner).await {
        return Ok(());
    }
    let obtained = obtain(&config, token, input, runner).await?;
    let credentials = &obtained.session.credentials;
    // Before anything else is printed: the secrets, then (if asked) the account.
    runner.mask(credentials.access_key_id());
    runner.mask(credentials.secret_access_key());
    if let Some(token) = credentials.session_token() {
        runner.mask(token);
    }
    // A 200 without credentials (the model requires them; a stand-in STS may not): exported
    // empty, later steps would fall through to whatever else the runner has.
    if credentials.access_key_id().is_empty() || credentials.secret_access_key().is_empty() {
        return Err(Error::NoSessionCredentials(obtained.source));
    }
    let (account, arn) = identity(&config, &obtained.session).await?;
    if input.mask_account_id {
        runner.mask(&account);
    }
    if !input.allowed_account_ids.is_empty() && !input.allowed_account_ids.contains(&account) {
        return Err(Error::AccountNotAllowed {
            account,
            allowed: input.allowed_account_ids.join(", "),
        });
    }
    export::export(input, credentials, obtained.refreshable, runner)?;
    export::outputs(input, credentials, &account, &arn, runner);
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

/// The web identity token to exchange: the file's, else GitHub's, when there is one.
fn token(input: &Input, env: &RunnerEnv) -> Option<exchange::Token> {
    match (&input.token_file, &env.id_token_request) {
        (Some(path), _) => Some(exchange::Token::File(path.clone())),
        (None, github) => github.as_ref().map(|request| {
            exchange::Token::GitHub(TokenSource {
                url: request.url.clone(),
                bearer: request.bearer.clone(),
                audience: input.audience.clone(),
            })
        }),
    }
}

/// The account and ARN the credentials belong to: the session's own when STS issued it (its
/// `AssumedRoleUser`), which saves a round trip to STS; otherwise GetCallerIdentity.
async fn identity(
    config: &aws_types::SdkConfig,
    session: &Session,
) -> Result<(String, String), Error> {
    if let (Some(account), Some(arn)) = (session.account(), session.arn.as_deref()) {
        return Ok((account.to_owned(), arn.to_owned()));
    }
    let identity = sts_client(config, session.credentials.clone())
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| Error::Identity(deploy_kit_aws::describe_error(&e)))?;
    Ok((
        identity.account().unwrap_or_default().to_owned(),
        identity.arn().unwrap_or_default().to_owned(),
    ))
}

/// The token when there is one; otherwise the default chain (locally, under act). Then the
/// chained role.
async fn obtain(
    config: &aws_types::SdkConfig,
    token: Option<exchange::Token>,
    input: &Input,
    runner: &Runner,
) -> Result<Obtained, Error> {
    let env = runner.env();
    let first = match (token, &input.role_to_assume) {
        (Some(token), Some(role)) => {
            let (source, refreshable) = match &token {
                exchange::Token::File(path) => {
                    (format!("the token in `{}`", path.display()), false)
                }
                // A refresh asks GitHub and the region's STS again: not for another endpoint.
                exchange::Token::GitHub(_) => {
                    ("GitHub OIDC".to_owned(), input.sts_endpoint.is_none())
                }
            };
            let session = exchange::web_identity(
                config,
                &token,
                &roles(input, role),
                input.max_attempts,
                env.time_scale()?,
                runner,
            )
            .await?;
            Obtained {
                session,
                source: format!("{source} (role `{role}`)"),
                refreshable,
                web_identity: true,
            }
        }
        (None, _) if env.in_actions && !env.act => return Err(Error::NoIdToken),
        (_, role) => ambient::default_chain(config, input, role.as_deref(), env).await?,
    };
    let Some(chain) = &input.role_chain else {
        if input.custom_tags && first.web_identity {
            runner.warning("`custom-tags` are not sent: AssumeRoleWithWebIdentity takes no session tags (the token's claims tag the session); they go on the AssumeRole of `role-chain`");
        }
        return Ok(first);
    };
    let role = ChainedRole {
        role_arn: chain.clone(),
        external_id: input.external_id.clone(),
    };
    let sts = sts_client(config, first.session.credentials);
    let session = assume(&sts, &role, input, &input.session).await?;
    Ok(Obtained {
        session,
        source: format!("{}, then role `{chain}`", first.source),
        refreshable: first.refreshable,
        web_identity: false,
    })
}

/// The web identity call: session policies go on it when no chained role follows.
fn roles(input: &Input, role: &str) -> Roles {
    Roles {
        role_arn: role.to_owned(),
        session_name: input.session_name.clone(),
        duration_seconds: input.duration_seconds,
        chain: input.role_chain.as_ref().map(|chain| ChainedRole {
            role_arn: chain.clone(),
            external_id: input.external_id.clone(),
        }),
        session: input.session.clone(),
    }
}

/// AssumeRole with the session policies and tags; a refusal of a tagged call says how to allow
/// the tags.
pub(crate) async fn assume(
    sts: &aws_sdk_sts::Client,
    role: &ChainedRole,
    input: &Input,
    session: &SessionOptions,
) -> Result<Session, Error> {
    assume_role(sts, role, &input.session_name, input.duration_seconds, session)
        .await
        .map_err(|e| {
            let denied = e.as_service_error().and_then(|s| s.meta().code()) == Some("AccessDenied");
            let hint = if denied && !session.tags.is_empty() {
                "\nThe session is tagged (configure-aws-credentials' tags): the role's trust policy must allow `sts:TagSession` as well as `sts:AssumeRole` for the caller, or set `role-skip-session-tagging: true`."
            } else {
                ""
            };
            Error::AssumeRole {
                role: role.role_arn.clone(),
                message: format!("{}{hint}", deploy_kit_aws::describe_error(&e)),
            }
        })
}
