//! The action's inputs, parsed and validated once: after this, no `Option<String>` goes inward.

use std::path::PathBuf;

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::{self, truncate};

use crate::Args;
use crate::rules::CacheRules;

/// What to invalidate in CloudFront once the new files are in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidate {
    /// The HTML files this run uploaded (their paths, and `dir/` for `dir/index.html`).
    Changed,
    /// Everything under the prefix: one `/<prefix>*` path.
    All,
    Nothing,
    /// These paths, as given (each starts with `/`).
    Paths(Vec<String>),
}

/// Every input, typed.
#[derive(Debug, Clone)]
pub struct Input {
    pub source: PathBuf,
    pub bucket: String,
    /// Empty, or ends with `/`; never starts with `/`.
    pub prefix: String,
    pub distribution_id: Option<String>,
    pub rules: CacheRules,
    pub delete: bool,
    pub keep_previous: usize,
    pub invalidate: Invalidate,
    pub wait: bool,
    pub concurrency: usize,
    pub dry_run: bool,
}

impl Input {
    pub fn from_args(args: &Args) -> Result<Self, InputError> {
        let source = PathBuf::from(input::required("source", args.source.as_deref())?);
        let bucket = input::required("bucket", args.bucket.as_deref())?.to_owned();
        bucket_name(&bucket)?;
        let distribution_id = input::set(args.distribution_id.as_deref())
            .map(|id| distribution_id(id).map(|()| id.to_owned()))
            .transpose()?;
        let invalidate = invalidate(input::set(args.invalidate.as_deref()))?;
        if distribution_id.is_none() && matches!(invalidate, Invalidate::All | Invalidate::Paths(_))
        {
            return Err(InputError::new(
                "invalidate",
                "names paths to invalidate but `distribution-id` is not set: set it, or leave `invalidate` empty",
            ));
        }
        Ok(Self {
            source,
            bucket,
            prefix: prefix(input::set(args.prefix.as_deref()).unwrap_or(""))?,
            distribution_id,
            rules: CacheRules::parse(args.cache_control.as_deref().unwrap_or(""))?,
            delete: input::flag("delete", args.delete.as_deref(), true)?,
            keep_previous: number("keep-previous", args.keep_previous.as_deref(), 1, 0..=100)?,
            invalidate,
            wait: input::flag("wait", args.wait.as_deref(), true)?,
            concurrency: number("concurrency", args.concurrency.as_deref(), 16, 1..=256)?,
            dry_run: input::flag("dry-run", args.dry_run.as_deref(), false)?,
        })
    }
}

fn number(
    name: &str,
    value: Option<&str>,
    default: usize,
    range: std::ops::RangeInclusive<u64>,
) -> Result<usize, InputError> {
    match input::set(value) {
        None => Ok(default),
        Some(text) => input::number(name, text, range)
            .and_then(|n| usize::try_from(n).map_err(|_| InputError::new(name, "is too large"))),
    }
}

/// S3's bucket naming rules (general purpose buckets): 3-63 lowercase letters, digits, `.`, `-`,
/// starting and ending with a letter or digit.
fn bucket_name(bucket: &str) -> Result<(), InputError> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(bucket.chars().next())
        && edge(bucket.chars().last())
        && !bucket.contains("..");
    if valid {
        Ok(())
    } else {
        Err(InputError::new(
            "bucket",
            format!(
                "`{}` is not an S3 bucket name (3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit)",
                truncate(bucket, 70)
            ),
        ))
    }
}

/// CloudFront distribution ids are 13 or 14 uppercase letters and digits (`E2QWRUHAPOMQZL`).
fn distribution_id(id: &str) -> Result<(), InputError> {
    if (10..=20).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(InputError::new(
            "distribution-id",
            format!(
                "`{}` is not a CloudFront distribution id (uppercase letters and digits, e.g. `E2QWRUHAPOMQZL`)",
                truncate(id, 40)
            ),
        ))
    }
}

/// `site/`, `site`, `/site/` all mean the key prefix `site/`; `` and `/` mean the bucket's root.
fn prefix(text: &str) -> Result<String, InputError> {
    let trimmed = text.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let bad = trimmed
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    if bad || trimmed.len() > 512 || trimmed.chars().any(|c| c.is_control() || c == '\\') {
        return Err(InputError::new(
            "prefix",
            format!(
                "`{}` is not a key prefix: use folder names separated by `/`, without `.`, `..` or empty parts",
                truncate(text, 60)
            ),
        ));
    }
    Ok(format!("{trimmed}/"))
}

fn invalidate(text: Option<&str>) -> Result<Invalidate, InputError> {
    let Some(text) = text else {
        return Ok(Invalidate::Changed);
    };
    match text {
        "changed" => return Ok(Invalidate::Changed),
        "all" => return Ok(Invalidate::All),
        "none" | "false" => return Ok(Invalidate::Nothing),
        _ => {}
    }
    let paths: Vec<String> = input::lines(text).into_iter().map(str::to_owned).collect();
    let valid = |p: &String| {
        p.starts_with('/')
            && p.len() <= 4096
            && !p.chars().any(|c| c.is_whitespace() || c.is_control())
            && !p[..p.len().saturating_sub(1)].contains('*')
    };
    match paths.iter().find(|p| !valid(p)) {
        None if paths.len() <= 3000 => Ok(Invalidate::Paths(paths)),
        None => Err(InputError::new(
            "invalidate",
            "lists more than 3000 paths (CloudFront's limit per invalidation)",
        )),
        Some(path) => Err(InputError::new(
            "invalidate",
            format!(
                "`{}` is not valid: use `changed` (default), `all`, `none`, or paths one per line, each starting with `/`, without spaces, `*` only at the end",
                truncate(path, 60)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised_and_checked() {
        assert_eq!(prefix("").unwrap(), "");
        assert_eq!(prefix("/").unwrap(), "");
        assert_eq!(prefix("/site").unwrap(), "site/");
        assert_eq!(prefix("a/b/").unwrap(), "a/b/");
        assert!(prefix("a//b").is_err());
        assert!(prefix("../x").is_err());
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(bucket_name("my-site.example").is_ok());
        assert!(bucket_name("My_Bucket").is_err());
        assert!(bucket_name("ab").is_err());
        assert!(bucket_name("-ab").is_err());
    }

    #[test]
    fn invalidate_choices() {
        assert_eq!(invalidate(None).unwrap(), Invalidate::Changed);
        assert_eq!(invalidate(Some("none")).unwrap(), Invalidate::Nothing);
        assert_eq!(
            invalidate(Some("/a\n/b/*")).unwrap(),
            Invalidate::Paths(vec!["/a".into(), "/b/*".into()])
        );
        assert!(invalidate(Some("a")).is_err());
        assert!(invalidate(Some("/a*/b")).is_err());
    }
}
