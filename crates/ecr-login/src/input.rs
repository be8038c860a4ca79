//! ecr-login's inputs, parsed and checked once, before any AWS call or docker command.

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::{flag, set, truncate};

use crate::Args;

/// GetAuthorizationToken takes at most this many registry ids.
pub const MAX_REGISTRIES: usize = 10;

/// What the step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Log in to `registry`'s registries.
    Login {
        registry: Registry,
        mask_password: bool,
    },
    /// Log out of what the job's ecr-login steps logged in to.
    Logout,
}

/// Which registries a login is for (`registry-type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registry {
    /// The caller's own private registry (`registries` empty) or each listed account's.
    Private { registries: Vec<String> },
    /// ECR Public (`public.ecr.aws`). `ignored` is a `registries` given with it: it names
    /// private registries only, so it is left out (as amazon-ecr-login does), with a warning.
    Public { ignored: Vec<String> },
}

impl Input {
    pub fn from_args(args: &Args) -> Result<Self, InputError> {
        // Every input is checked in either mode: a typo is exit 2 wherever it is.
        let registries = registries(args.registries.as_deref())?;
        let public = registry_type(args.registry_type.as_deref())?;
        let mask_password = flag("mask-password", args.mask_password.as_deref(), true)?;
        if flag("logout", args.logout.as_deref(), false)? {
            return Ok(Input::Logout);
        }
        let registry = if public {
            Registry::Public {
                ignored: registries,
            }
        } else {
            Registry::Private { registries }
        };
        Ok(Input::Login {
            registry,
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

/// `private` (the default) or `public`, in any case; true for `public`.
fn registry_type(text: Option<&str>) -> Result<bool, InputError> {
    match set(text).map(str::to_ascii_lowercase).as_deref() {
        None | Some("private") => Ok(false),
        Some("public") => Ok(true),
        Some(_) => Err(InputError::new(
            "registry-type",
            format!(
                "`{}` is not a registry type: use `private` (the account's ECR registries) or `public` (ECR Public, public.ecr.aws)",
                truncate(text.unwrap_or_default().trim(), 40)
            ),
        )),
    }
}
