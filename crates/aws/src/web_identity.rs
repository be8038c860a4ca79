//! GitHub OIDC to AWS credentials: the token request and the STS calls, shared by oidc-login
//! (which classifies and explains failures) and by the refreshing credentials provider that
//! keeps long deployment steps authenticated.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_sdk_sts::types::{PolicyDescriptorType, Tag};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Where a job asks GitHub for an OIDC token (`ACTIONS_ID_TOKEN_REQUEST_URL` / `_TOKEN`).
#[derive(Clone)]
pub struct TokenSource {
    pub url: String,
    pub bearer: String,
    pub audience: String,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("url", &self.url)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// The token request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// No answer, or a 5xx/429: worth another try.
    #[error("the GitHub OIDC token request failed: {0}")]
    Transient(String),
    /// A 4xx other than 429: the request itself is wrong.
    #[error("the GitHub OIDC token request was refused: {0}")]
    Refused(String),
}

impl TokenSource {
    /// The token's URL with the audience appended (GitHub's URL already has a query).
    fn request_url(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}audience={}", self.url, encode(&self.audience))
    }

    /// A fresh JWT from GitHub.
    pub async fn fetch(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<String, TokenError> {
        let response = http
            .get(self.request_url())
            .bearer_auth(&self.bearer)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| TokenError::Transient(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| TokenError::Transient(e.without_url().to_string()))?;
        if !status.is_success() {
            let what = format!("HTTP {}", status.as_u16());
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                TokenError::Transient(what)
            } else {
                TokenError::Refused(what)
            });
        }
        let value: serde_json::Value = serde_json::from_str(&body)
            .map_err(|_| TokenError::Transient("the answer is not JSON".to_owned()))?;
        value["value"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| TokenError::Transient("the answer has no `value`".to_owned()))
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The role to assume with the token, and an optional second role assumed with the first
/// session (a per-environment deploy role). `session` narrows and tags the last of them, the
/// one whose credentials are used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: i32,
    pub chain: Option<ChainedRole>,
    pub session: SessionOptions,
}

/// Session policies (`Policy`, `PolicyArns`: both calls take them) and session tags (`Tags`,
/// `TransitiveTagKeys`: AssumeRole only; AssumeRoleWithWebIdentity takes its tags from the
/// token's claims).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOptions {
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
}

impl SessionOptions {
    fn policy_arns(&self) -> Option<Vec<PolicyDescriptorType>> {
        (!self.policy_arns.is_empty()).then(|| {
            self.policy_arns
                .iter()
                .map(|arn| PolicyDescriptorType::builder().arn(arn).build())
                .collect()
        })
    }

    fn tags(&self) -> Option<Vec<Tag>> {
        (!self.tags.is_empty()).then(|| {
            self.tags
                .iter()
                .filter_map(|(key, value)| Tag::builder().key(key).value(value).build().ok())
                .collect()
        })
    }

    /// As one JSON object, for the environment a later step's refresh reads ([`Self::from_json`]).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "policy": self.policy,
            "policyArns": self.policy_arns,
            "tags": self.tags,
            "transitiveTagKeys": self.transitive_tag_keys,
        })
        .to_string()
    }

    /// The options [`Self::to_json`] wrote; `None` when the text is not that.
    pub fn from_json(text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let strings = |key: &str| -> Option<Vec<String>> {
            value[key]
                .as_array()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let tags = value["tags"]
            .as_array()?
            .iter()
            .map(|pair| Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned())))
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            policy: value["policy"].as_str().map(str::to_owned),
            policy_arns: strings("policyArns")?,
            tags,
            transitive_tag_keys: strings("transitiveTagKeys")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedRole {
    pub role_arn: String,
    pub external_id: Option<String>,
}

/// Credentials STS issued, with the ARN of the session they belong to (its `AssumedRoleUser`):
/// the account and role, known without a GetCallerIdentity.
#[derive(Debug, Clone)]
pub struct Session {
    pub credentials: Credentials,
    pub arn: Option<String>,
}

impl Session {
    fn new(
        credentials: Option<&aws_sdk_sts::types::Credentials>,
        user: Option<&aws_sdk_sts::types::AssumedRoleUser>,
        provider: &'static str,
    ) -> Self {
        Self {
            credentials: credentials
                .map(|c| self::credentials(c, provider))
                // The model requires `Credentials` in a success; oidc-login refuses empty keys.
                .unwrap_or_else(|| Credentials::new("", "", None, None, provider)),
            arn: user.map(|user| user.arn().to_owned()),
        }
    }

    /// The account of the session: the fifth field of its ARN
    /// (`arn:aws:sts::123456789012:assumed-role/deploy/run-1`).
    pub fn account(&self) -> Option<&str> {
        let account = self.arn.as_deref()?.split(':').nth(4)?;
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
    }
}

pub type WebIdentityError = SdkError<AssumeRoleWithWebIdentityError, HttpResponse>;
pub type AssumeRoleFailure = SdkError<AssumeRoleError, HttpResponse>;

/// `AssumeRoleWithWebIdentity` (an unsigned call: `sts` needs no credentials), with the session
/// policies when no chained role follows.
pub async fn assume_with_token(
    sts: &aws_sdk_sts::Client,
    roles: &Roles,
    token: &str,
) -> Result<Session, WebIdentityError> {
    let last = roles.chain.is_none();
    let out = sts
        .assume_role_with_web_identity()
        .role_arn(&roles.role_arn)
        .role_session_name(&roles.session_name)
        .duration_seconds(roles.duration_seconds)
        .web_identity_token(token)
        .set_policy(roles.session.policy.clone().filter(|_| last))
        .set_policy_arns(roles.session.policy_arns().filter(|_| last))
        .send()
        .await?;
    Ok(Session::new(
        out.credentials(),
        out.assumed_role_user(),
        "GitHub OIDC",
    ))
}

/// `AssumeRole` of `role` with `sts` (a client carrying the first session's credentials), with
/// the session policies and tags of `session`.
pub async fn assume_role(
    sts: &aws_sdk_sts::Client,
    role: &ChainedRole,
    session_name: &str,
    duration_seconds: i32,
    session: &SessionOptions,
) -> Result<Session, AssumeRoleFailure> {
    let transitive =
        (!session.transitive_tag_keys.is_empty()).then(|| session.transitive_tag_keys.clone());
    let out = sts
        .assume_role()
        .role_arn(&role.role_arn)
        .role_session_name(session_name)
        .duration_seconds(duration_seconds)
        .set_external_id(role.external_id.clone())
        .set_policy(session.policy.clone())
        .set_policy_arns(session.policy_arns())
        .set_tags(session.tags())
        .set_transitive_tag_keys(transitive)
        .send()
        .await?;
    Ok(Session::new(
        out.credentials(),
        out.assumed_role_user(),
        "AssumeRole",
    ))
}

fn credentials(c: &aws_sdk_sts::types::Credentials, provider: &'static str) -> Credentials {
    let expiry = SystemTime::try_from(*c.expiration()).ok();
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        expiry,
        provider,
    )
}

/// A client for STS in `config`'s region and endpoint, signing with `credentials`.
pub fn sts_client(config: &aws_types::SdkConfig, credentials: Credentials) -> aws_sdk_sts::Client {
    let builder = aws_sdk_sts::config::Builder::from(config).credentials_provider(credentials);
    aws_sdk_sts::Client::from_conf(builder.build())
}

/// The client for `AssumeRoleWithWebIdentity`: unsigned, and without the SDK's own retries,
/// because a retry must carry a fresh token (the callers retry themselves).
pub fn web_identity_client(config: &aws_types::SdkConfig) -> aws_sdk_sts::Client {
    let mut builder = aws_sdk_sts::config::Builder::from(config)
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled());
    builder.set_credentials_provider(None);
    aws_sdk_sts::Client::from_conf(builder.build())
}

#[cfg(test)]
mod tests {
    use super::{Session, SessionOptions};
    use aws_credential_types::Credentials;

    #[test]
    fn a_sessions_account_is_the_fifth_field_of_its_arn() {
        let session = |arn: Option<&str>| Session {
            credentials: Credentials::new("AKIA", "s", None, None, "test"),
            arn: arn.map(str::to_owned),
        };
        let assumed = session(Some("arn:aws:sts::123456789012:assumed-role/deploy/run-1"));
        assert_eq!(assumed.account(), Some("123456789012"));
        let gov = session(Some(
            "arn:aws-us-gov:sts::210987654321:assumed-role/deploy/run-1",
        ));
        assert_eq!(gov.account(), Some("210987654321"));
        // Not an account: then the caller asks GetCallerIdentity.
        assert_eq!(
            session(Some("arn:aws:sts::oops:assumed-role/x/y")).account(),
            None
        );
        assert_eq!(session(Some("not an arn")).account(), None);
        assert_eq!(session(None).account(), None);
    }

    #[test]
    fn session_options_survive_the_environment_a_refresh_reads() {
        let options = SessionOptions {
            policy: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned()),
            policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()],
            tags: vec![("Team".to_owned(), "payments".to_owned())],
            transitive_tag_keys: vec!["Team".to_owned()],
        };
        assert_eq!(SessionOptions::from_json(&options.to_json()), Some(options));
        assert_eq!(
            SessionOptions::from_json(&SessionOptions::default().to_json()),
            Some(SessionOptions::default())
        );
        assert_eq!(SessionOptions::from_json("not json"), None);
    }
}
