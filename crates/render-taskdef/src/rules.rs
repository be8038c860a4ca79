//! The naming rules: which variable names are valid, which look like they hold a secret, and
//! what roles, families, sizes and secret references may look like.

/// `[A-Za-z_][A-Za-z0-9_]*`: a name every shell and runtime reads back unchanged.
pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Words that, as a whole `_`-separated word of a name, say the value is a secret.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "CREDENTIAL",
    "CREDENTIALS",
    "APIKEY",
    "PRIVATEKEY",
];

/// Word pairs that do the same (`API_KEY`), where each word alone is harmless (`API_URL`).
const SECRET_PAIRS: &[[&str; 2]] = &[
    ["API", "KEY"],
    ["PRIVATE", "KEY"],
    ["ACCESS", "KEY"],
    ["SECRET", "KEY"],
    ["SIGNING", "KEY"],
    ["ENCRYPTION", "KEY"],
    ["CLIENT", "SECRET"],
];

/// A last word that says the variable describes a secret rather than holding it: where it is
/// (`DB_PASSWORD_FILE`, `TOKEN_URL`, `API_KEY_ARN`), what it is called, or a rule about it
/// (`PASSWORD_POLICY`, `TOKEN_TTL`). Such names are not refused.
const ABOUT_WORDS: &[&str] = &[
    "ARN",
    "FILE",
    "PATH",
    "DIR",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "NAME",
    "ID",
    "HEADER",
    "PARAM",
    "PARAMETER",
    "POLICY",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "LENGTH",
    "TYPE",
    "ENABLED",
    "REQUIRED",
    "VERSION",
    "REGION",
];

/// A plaintext variable whose name says it holds a secret.
///
/// The rule: a whole word of the `_`-separated, case-folded name is a secret word (PASSWORD,
/// TOKEN, SECRET, ...) or two adjacent words are a secret pair (API_KEY, PRIVATE_KEY, ...),
/// unless the last word says the variable is *about* a secret (`_URL`, `_FILE`, `_ARN`,
/// `_POLICY`, ...). So `DB_PASSWORD`, `GITHUB_TOKEN`, `SECRET_KEY_BASE` and `PRIVATE_KEY_PEM`
/// are refused; `TOKENIZER_MODEL` (no whole word), `PASSWORD_POLICY_URL` and `API_KEY_ARN` are
/// not. The bare name `PWD` is the shell's working directory, not a password.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if upper == "PWD" {
        return false;
    }
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    let secret = words.iter().any(|w| SECRET_WORDS.contains(w))
        || words
            .windows(2)
            .any(|pair| SECRET_PAIRS.iter().any(|p| p == pair));
    let about = words.last().is_some_and(|w| ABOUT_WORDS.contains(w));
    secret && !about
}

/// A secret's `valueFrom`: a Secrets Manager or SSM Parameter Store ARN, or a parameter name
/// (which ECS resolves in the task's own region).
pub fn valid_value_from(value: &str) -> Result<(), String> {
    if value.chars().any(char::is_whitespace) {
        return Err("contains whitespace".into());
    }
    let Some(rest) = value.strip_prefix("arn:") else {
        return Ok(());
    };
    let service = rest.split(':').nth(1).unwrap_or_default();
    if matches!(service, "secretsmanager" | "ssm") {
        Ok(())
    } else {
        Err(format!(
            "is an ARN of `{service}`: use a Secrets Manager (`arn:aws:secretsmanager:...`) or SSM Parameter Store (`arn:aws:ssm:...`) ARN, or a parameter name"
        ))
    }
}

/// An IAM role: `arn:<partition>:iam::<account>:role/<path/name>`, or a bare role name.
pub fn valid_role(value: &str) -> bool {
    let name_ok = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
    };
    match value.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            matches!(parts.as_slice(), [partition, "iam", "", account, resource]
                if partition.starts_with("aws")
                    && account.len() == 12
                    && account.chars().all(|c| c.is_ascii_digit())
                    && resource.strip_prefix("role/").is_some_and(name_ok))
        }
        None => name_ok(value) && !value.contains('/'),
    }
}

/// A task definition family: up to 255 letters, digits, `-` and `_` (the ECS rule).
pub fn valid_family(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Task CPU or memory: a number, optionally followed by `unit` (`1024`, `1 vCPU`, `0.5 GB`).
pub fn valid_size(value: &str, unit: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let number = lower
        .strip_suffix(&unit.to_ascii_lowercase())
        .map_or(lower.as_str(), str::trim_end);
    !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.chars().filter(|c| *c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit())
}

/// An S3 object ARN as ECS `environmentFiles` takes it: `arn:PARTITION:s3:::BUCKET/KEY`, printable
/// ASCII, no longer than an S3 bucket name plus the 1024-byte key limit allow.
pub fn valid_s3_object_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    let Some((partition, rest)) = rest.split_once(":s3:::") else {
        return false;
    };
    let Some((bucket, key)) = rest.split_once('/') else {
        return false;
    };
    partition.starts_with("aws")
        && partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        && (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !key.is_empty()
        && key.len() <= 1024
        && key.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names() {
        for name in [
            "DB_PASSWORD",
            "password",
            "DB_PASS",
            "GITHUB_TOKEN",
            "API_KEY",
            "STRIPE_APIKEY",
            "AWS_SECRET_ACCESS_KEY",
            "PRIVATE_KEY_PEM",
            "SECRET_KEY_BASE",
            "GOOGLE_CREDENTIALS",
            "OAUTH_CLIENT_SECRET",
            "JWT_SIGNING_KEY",
        ] {
            assert!(looks_secret(name), "{name} looks secret");
        }
        for name in [
            "TOKENIZER_MODEL",
            "SECRETARY_EMAIL",
            "PASSWORD_POLICY_URL",
            "DB_PASSWORD_FILE",
            "API_KEY_ARN",
            "TOKEN_TTL",
            "AWS_ACCESS_KEY_ID",
            "KEYBOARD_LAYOUT",
            "LOG_LEVEL",
            "PWD",
            "BYPASS_CACHE",
        ] {
            assert!(!looks_secret(name), "{name} does not look secret");
        }
    }

    #[test]
    fn env_names() {
        assert!(valid_env_name("A") && valid_env_name("_B1"));
        for bad in ["", "1A", "A-B", "spring.profiles.active", "A B"] {
            assert!(!valid_env_name(bad), "{bad}");
        }
    }

    #[test]
    fn secret_references() {
        assert!(
            valid_value_from("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbC").is_ok()
        );
        assert!(
            valid_value_from("arn:aws:ssm:us-east-1:123456789012:parameter/db/password").is_ok()
        );
        assert!(valid_value_from("/db/password").is_ok());
        assert!(
            valid_value_from("arn:aws:s3:::bucket/key")
                .unwrap_err()
                .starts_with("is an ARN of `s3`")
        );
        assert!(valid_value_from("has space").is_err());
    }

    #[test]
    fn roles_families_and_sizes() {
        assert!(valid_role("arn:aws:iam::123456789012:role/api-task"));
        assert!(valid_role(
            "arn:aws-cn:iam::123456789012:role/service-role/x"
        ));
        assert!(valid_role("ecsTaskExecutionRole"));
        assert!(!valid_role("arn:aws:iam::123456789012:user/bob"));
        assert!(!valid_role("arn:aws:iam::1234:role/x"));
        assert!(!valid_role("role with spaces"));
        assert!(valid_family("api-staging_2") && !valid_family("api:3") && !valid_family(""));
        for ok in ["256", "1 vCPU", "0.5vcpu", ".25 vCPU"] {
            assert!(valid_size(ok, "vCPU"), "{ok}");
        }
        for ok in ["512", "2 GB", "0.5gb"] {
            assert!(valid_size(ok, "GB"), "{ok}");
        }
        for bad in ["", "lots", "1 GB", "1..2", "vCPU"] {
            assert!(!valid_size(bad, "vCPU"), "{bad}");
        }
    }
}
