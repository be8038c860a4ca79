//! ecr-login's inputs, parsed and checked once, before any AWS call or docker command.

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::{flag, set, truncate};

use crate::Args;

/// GetAuthorizationToken takes at most this many registry ids.
pub const MAX_REGISTRIES: usize = 10;

/// What the step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Log in to the caller's own private registry (`registries` empty) or to each account's.
    Login {
        registries: Vec<String>,
        mask_password: bool,
    },
    /// Log out of what the job's ecr-login steps logged in to.
    Logout,
}

impl Input {
    pub fn from_args(args: &Args) -> Result<Self, InputError> {
        // Every input is checked in either mode: a typo is exit 2 wherever it is.
        let registries = registries(args.registries.as_deref())?;
        registry_type(args.registry_type.as_deref())?;
        let mask_password = flag("mask-password", args.mask_password.as_deref(), true)?;
        if flag("logout", args.logout.as_deref(), false)? {
            return Ok(Input::Logout);
        }
        Ok(Input::Login {
            registries,
            mask_password,
        })
    }
}

/// Account IDs, comma-separated (lines too), each 12 digits; repeats dropped.
fn registries(text: Option<&str>) -> Result<Vec<String>, InputError> {
    let Some(text) = set(text) else {
        return Ok(Vec::new());
    };
    let mut ids: Vec<String> = Vec::new();
    for id in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::new(
                "registries",
                format!(
                    "`{}` is not an AWS account ID (12 digits): list the accounts whose registries to log in to, separated by commas, e.g. `123456789012,210987654321`",
                    truncate(id, 40)
                ),
            ));
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    if ids.len() > MAX_REGISTRIES {
        return Err(InputError::new(
            "registries",
            format!(
                "{} accounts: ECR hands out logins for at most {MAX_REGISTRIES} at once; use two ecr-login steps",
                ids.len()
            ),
        ));
    }
    Ok(ids)
}

/// `private` only. ECR Public needs its own SDK client, which this build does not have: refused
/// here, by name, rather than logging in to the wrong registry.
fn registry_type(text: Option<&str>) -> Result<(), InputError> {
    match set(text).map(str::to_ascii_lowercase).as_deref() {
        None | Some("private") => Ok(()),
        Some("public") => Err(InputError::new(
            "registry-type",
            "`public` (ECR Public, public.ecr.aws) is not supported: deploy-kit has no ECR Public client yet. Use `private`, or log in with `aws ecr-public get-login-password --region us-east-1 | docker login --username AWS --password-stdin public.ecr.aws`",
        )),
        Some(_) => Err(InputError::new(
            "registry-type",
            format!(
                "`{}` is not a registry type: use `private` (`public` is not supported yet)",
                truncate(text.unwrap_or_default().trim(), 40)
            ),
        )),
    }
}
