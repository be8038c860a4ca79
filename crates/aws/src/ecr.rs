//! The ECR registry login both ECR actions share: GetAuthorizationToken's answer decoded into
//! what `docker login` takes, and the docker command lines around it. build-push-ecr logs in
//! inside its private docker config; ecr-login logs the runner's own config in for later steps,
//! to private registries or to ECR Public.

use aws_sdk_ecr::Client;
use aws_smithy_types::DateTime;

/// The user name ECR's tokens carry (`AWS:<password>`).
pub const USER: &str = "AWS";

/// How long an ECR authorization token lasts (GetAuthorizationToken: 12 hours).
pub const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// One registry's login, as `docker login` takes it. The password is never in Debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// The registry host (`<account>.dkr.ecr.<region>.amazonaws.com`): the proxy endpoint
    /// without its scheme, which is what docker keys its stored logins by.
    pub registry: String,
    pub username: String,
    pub password: String,
    /// When ECR says the token expires, as an RFC 3339 timestamp.
    pub expires_at: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("password", &"***")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why no login could be had. The call name is the caller's to add (it knows the resource).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The call failed: `code: message` ([`crate::describe_error`]).
    #[error("{0}")]
    Aws(String),
    #[error("ECR returned no authorization data")]
    Empty,
    #[error("the token is not `user:password` in base64")]
    Malformed,
}

/// GetAuthorizationToken for the caller's own registry (`registry_ids` empty) or for the
/// registries of the accounts listed, one login each. ECR's token serves every registry the
/// caller may reach; the ids choose which registries' addresses come back.
pub async fn logins(client: &Client, registry_ids: &[String]) -> Result<Vec<Login>, TokenError> {
    let mut request = client.get_authorization_token();
    if !registry_ids.is_empty() {
        // Deprecated in the model because the token does not depend on it; it still picks
        // which proxy endpoints (hence registry hosts) the answer names.
        #[allow(deprecated)]
        {
            request = request.set_registry_ids(Some(registry_ids.to_vec()));
        }
    }
    let out = request
        .send()
        .await
        .map_err(|e| TokenError::Aws(crate::describe_error(&e)))?;
    let logins = out
        .authorization_data()
        .iter()
        .map(|data| {
            login(
                data.authorization_token().unwrap_or_default(),
                data.proxy_endpoint().unwrap_or_default(),
                data.expires_at(),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if logins.is_empty() {
        return Err(TokenError::Empty);
    }
    Ok(logins)
}

/// ECR Public's one registry host: every public repository is under it.
pub const PUBLIC_REGISTRY: &str = "public.ecr.aws";

/// The only region whose ECR Public endpoint hands out login tokens.
pub const PUBLIC_REGION: &str = "us-east-1";

/// ECR Public's GetAuthorizationToken: one token for [`PUBLIC_REGISTRY`] (its answer names no
/// endpoint, and takes no registry ids). The client must be in [`PUBLIC_REGION`]
/// ([`crate::Aws::ecr_public`]).
pub async fn public_login(client: &aws_sdk_ecrpublic::Client) -> Result<Login, TokenError> {
    let out = client
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| TokenError::Aws(crate::describe_error(&e)))?;
    let data = out.authorization_data().ok_or(TokenError::Empty)?;
    login(
        data.authorization_token().ok_or(TokenError::Empty)?,
        PUBLIC_REGISTRY,
        data.expires_at(),
    )
}

/// One authorization data entry decoded: base64 `user:password`, and the endpoint's host.
pub fn login(
    token: &str,
    proxy_endpoint: &str,
    expires_at: Option<&DateTime>,
) -> Result<Login, TokenError> {
    let decoded = aws_smithy_types::base64::decode(token).map_err(|_| TokenError::Malformed)?;
    let text = String::from_utf8(decoded).map_err(|_| TokenError::Malformed)?;
    let (username, password) = text.split_once(':').ok_or(TokenError::Malformed)?;
    if username.is_empty() || password.is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(Login {
        registry: registry_host(proxy_endpoint),
        username: username.to_owned(),
        password: password.to_owned(),
        expires_at: expires_at
            .and_then(|at| at.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
    })
}

/// `https://123456789012.dkr.ecr.eu-west-1.amazonaws.com` -> the host, as docker names it.
pub fn registry_host(proxy_endpoint: &str) -> String {
    let host = proxy_endpoint
        .strip_prefix("https://")
        .or_else(|| proxy_endpoint.strip_prefix("http://"))
        .unwrap_or(proxy_endpoint);
    host.trim_end_matches('/').to_owned()
}

/// `docker login` with the password on stdin, never on argv (where `ps` would show it).
pub fn docker_login_args(registry: &str, username: &str) -> Vec<String> {
    [
        "login",
        "--username",
        username,
        "--password-stdin",
        registry,
    ]
    .map(str::to_owned)
    .to_vec()
}

pub fn docker_logout_args(registry: &str) -> Vec<String> {
    vec!["logout".to_owned(), registry.to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> String {
        aws_smithy_types::base64::encode(text)
    }

    #[test]
    fn a_token_decodes_to_user_and_password_and_the_endpoint_to_its_host() {
        let at = DateTime::from_secs(1_800_000_000);
        let login = login(
            &token("AWS:pass:with:colons"),
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            Some(&at),
        )
        .unwrap();
        assert_eq!(
            login.registry,
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(login.username, "AWS");
        assert_eq!(login.password, "pass:with:colons");
        assert_eq!(login.expires_at.as_deref(), Some("2027-01-15T08:00:00Z"));
        assert!(!format!("{login:?}").contains("pass:with"));
    }

    #[test]
    fn a_token_that_is_not_user_colon_password_is_refused() {
        for bad in [
            "not base64 !",
            &token("no-colon"),
            &token(":nouser"),
            &token("AWS:"),
        ] {
            assert!(
                matches!(login(bad, "https://r", None), Err(TokenError::Malformed)),
                "{bad}"
            );
        }
    }

    #[test]
    fn hosts_lose_their_scheme_and_trailing_slash() {
        assert_eq!(registry_host("http://127.0.0.1:5000/"), "127.0.0.1:5000");
        assert_eq!(registry_host("r.example"), "r.example");
    }
}
