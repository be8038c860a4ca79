//! Credentials that outlive long steps. oidc-login records in `$GITHUB_ENV` what the exchange
//! needs ([`ENV_ROLE`], ...); later deploy-kit steps then get a provider that re-runs it when the
//! SDK's identity cache finds the session near its expiry, instead of failing mid-deployment.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, error::CredentialsError};
use aws_types::SdkConfig;

use crate::web_identity::{
    ChainedRole, Roles, SessionOptions, TokenSource, assume_role, assume_with_token, sts_client,
    web_identity_client,
};

pub const ENV_ROLE: &str = "DEPLOY_KIT_OIDC_ROLE";
pub const ENV_AUDIENCE: &str = "DEPLOY_KIT_OIDC_AUDIENCE";
pub const ENV_SESSION_NAME: &str = "DEPLOY_KIT_OIDC_SESSION_NAME";
pub const ENV_DURATION: &str = "DEPLOY_KIT_OIDC_DURATION";
pub const ENV_CHAIN: &str = "DEPLOY_KIT_OIDC_CHAIN";
pub const ENV_EXTERNAL_ID: &str = "DEPLOY_KIT_OIDC_EXTERNAL_ID";
/// The session policies and tags ([`SessionOptions::to_json`]), so a refresh narrows and tags
/// the new session as oidc-login did the first.
pub const ENV_SESSION: &str = "DEPLOY_KIT_OIDC_SESSION";

/// Re-runs the GitHub OIDC exchange (and the role chain) on demand.
#[derive(Debug, Clone)]
pub struct WebIdentityRefresh {
    config: SdkConfig,
    source: TokenSource,
    roles: Roles,
    http: reqwest::Client,
}

impl WebIdentityRefresh {
    pub fn new(config: SdkConfig, source: TokenSource, roles: Roles) -> Self {
        let http = crate::tls::reqwest_client(&source.url, |name| std::env::var(name).ok());
        Self {
            config,
            source,
            roles,
            http,
        }
    }

    /// From the environment oidc-login left, when it is all there (and a token can be asked for).
    pub fn from_env(config: &SdkConfig) -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let source = TokenSource {
            url: var("ACTIONS_ID_TOKEN_REQUEST_URL")?,
            bearer: var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")?,
            audience: var(ENV_AUDIENCE).unwrap_or_else(|| "sts.amazonaws.com".to_owned()),
        };
        let roles = Roles {
            role_arn: var(ENV_ROLE)?,
            session_name: var(ENV_SESSION_NAME).unwrap_or_else(|| "deploy-kit".to_owned()),
            duration_seconds: var(ENV_DURATION)
                .and_then(|d| d.parse().ok())
                .unwrap_or(3600),
            chain: var(ENV_CHAIN).map(|role_arn| ChainedRole {
                role_arn,
                external_id: var(ENV_EXTERNAL_ID),
            }),
            // Unreadable options would refresh into a broader session than the first: no refresh.
            session: match var(ENV_SESSION) {
                Some(text) => SessionOptions::from_json(&text)?,
                None => SessionOptions::default(),
            },
        };
        Some(Self::new(config.clone(), source, roles))
    }

    /// The exchange, with a few quick retries: a refresh happens mid-step, where a transient
    /// failure should not end a deployment.
    pub async fn exchange(&self) -> Result<Credentials, String> {
        let mut last = String::new();
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
            }
            match self.once().await {
                Ok(credentials) => return Ok(credentials),
                Err(error) => last = error,
            }
        }
        Err(last)
    }

    async fn once(&self) -> Result<Credentials, String> {
        let token = self
            .source
            .fetch(&self.http, Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?;
        let sts = web_identity_client(&self.config);
        let first = assume_with_token(&sts, &self.roles, &token)
            .await
            .map_err(|e| crate::describe_error(&e))?
            .credentials;
        match &self.roles.chain {
            None => Ok(first),
            Some(chain) => {
                let sts = sts_client(&self.config, first);
                assume_role(
                    &sts,
                    chain,
                    &self.roles.session_name,
                    self.roles.duration_seconds,
                    &self.roles.session,
                )
                .await
                .map(|session| session.credentials)
                .map_err(|e| crate::describe_error(&e))
            }
        }
    }
}

impl ProvideCredentials for WebIdentityRefresh {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.exchange()
                .await
                .map_err(CredentialsError::provider_error)
        })
    }
}
