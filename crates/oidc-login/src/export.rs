//! What oidc-login hands to the later steps: `$GITHUB_ENV` exports (the credentials, the region,
//! and what a refresh needs) and step outputs.

use aws_credential_types::Credentials;
use deploy_kit_aws::refresh;
use deploy_kit_gha::Runner;

use deploy_kit_aws::web_identity::SessionOptions;

use crate::{Error, Input};

/// The session options a refresh must re-apply, empty when none (an earlier login's are then
/// cleared). Tags only matter with `role-chain`: the web identity call takes none.
fn refreshed_session(input: &Input) -> String {
    let mut session = input.session.clone();
    if input.role_chain.is_none() {
        session.tags.clear();
        session.transitive_tag_keys.clear();
    }
    if session == SessionOptions::default() {
        String::new()
    } else {
        session.to_json()
    }
}

pub fn export(
    input: &Input,
    credentials: &Credentials,
    refreshable: bool,
    runner: &Runner,
) -> Result<(), Error> {
    if !input.output_env_credentials {
        return Ok(());
    }
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
    if let (true, Some(role)) = (refreshable, &input.role_to_assume) {
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
            (refresh::ENV_SESSION, refreshed_session(input)),
        ]);
    } else {
        // Credentials that cannot be refreshed (a token file, a custom STS endpoint, the default
        // chain): an earlier login's refresh settings must go, or later steps would swap these
        // credentials for that earlier role's.
        vars.extend(
            [
                refresh::ENV_ROLE,
                refresh::ENV_AUDIENCE,
                refresh::ENV_SESSION_NAME,
                refresh::ENV_DURATION,
                refresh::ENV_CHAIN,
                refresh::ENV_EXTERNAL_ID,
                refresh::ENV_SESSION,
            ]
            .map(|name| (name, String::new())),
        );
    }
    for (name, value) in vars {
        runner
            .export_variable(name, &value)
            .map_err(Error::Export)?;
    }
    Ok(())
}

/// The outputs that name the identity, without credentials.
pub fn identity_outputs(account: &str, arn: &str, runner: &Runner) {
    for (name, value) in [("aws-account-id", account), ("authenticated-arn", arn)] {
        if let Err(error) = runner.set_output(name, value) {
            runner.warning(format!("cannot set output `{name}`: {error}"));
        }
    }
}

pub fn outputs(
    input: &Input,
    credentials: &Credentials,
    account: &str,
    arn: &str,
    runner: &Runner,
) {
    identity_outputs(account, arn, runner);
    if !input.output_credentials {
        return;
    }
    let secrets = [
        ("aws-access-key-id", credentials.access_key_id()),
        ("aws-secret-access-key", credentials.secret_access_key()),
        (
            "aws-session-token",
            credentials.session_token().unwrap_or_default(),
        ),
    ];
    for (name, value) in secrets {
        if let Err(error) = runner.set_output(name, value) {
            runner.warning(format!("cannot set output `{name}`: {error}"));
        }
    }
}
