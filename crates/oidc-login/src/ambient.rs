//! The credentials the job already has: kept as they are (`use-existing-credentials`), or the
//! default chain's, used outside Actions and under act without a token.

use aws_credential_types::provider::ProvideCredentials;
use deploy_kit_aws::web_identity::{ChainedRole, Session, SessionOptions, sts_client};
use deploy_kit_gha::{Runner, RunnerEnv};

use crate::{Error, Input, Obtained, assume, export};

/// `use-existing-credentials`: the credentials the job already has, when they work and belong
/// to an allowed account; then nothing new is fetched or exported (as configure-aws-credentials,
/// which also skips the login), and the identity outputs are set.
pub async fn existing(config: &aws_types::SdkConfig, input: &Input, runner: &Runner) -> bool {
    let Some(provider) = config.credentials_provider() else {
        return false;
    };
    let Ok(credentials) = provider.provide_credentials().await else {
        runner.info("no existing credentials: logging in");
        return false;
    };
    let identity = match sts_client(config, credentials)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => identity,
        Err(error) => {
            let error = deploy_kit_aws::describe_error(&error);
            runner.info(format!(
                "the existing credentials do not work ({error}): logging in"
            ));
            return false;
        }
    };
    let account = identity.account().unwrap_or_default();
    let arn = identity.arn().unwrap_or_default();
    // Masked before any line can name it, the refusal below included.
    if input.mask_account_id {
        runner.mask(account);
    }
    if !input.allowed_account_ids.is_empty()
        && !input.allowed_account_ids.iter().any(|id| id == account)
    {
        runner.info(format!(
            "the existing credentials belong to account {account}, which `allowed-account-ids` does not list: logging in"
        ));
        return false;
    }
    export::identity_outputs(account, arn, runner);
    runner.notice(format!(
        "the existing credentials work ({arn}): nothing new fetched (`use-existing-credentials`)"
    ));
    true
}

/// The default credential chain (env, profile, SSO, ...), and `role` assumed with it.
pub async fn default_chain(
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
            session: Session {
                credentials: base,
                arn: None,
            },
            source: label,
            refreshable: false,
            web_identity: false,
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
    // With a chain to follow, the policies and tags are for that last role.
    let none = SessionOptions::default();
    let session = if input.role_chain.is_some() {
        &none
    } else {
        &input.session
    };
    let assumed = assume(&sts, &chained, input, session).await?;
    Ok(Obtained {
        session: assumed,
        source: format!("{label}, then role `{role}` (AssumeRole)"),
        refreshable: false,
        web_identity: false,
    })
}
