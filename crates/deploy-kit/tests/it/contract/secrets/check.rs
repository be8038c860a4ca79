//! Running a step with its own output files, and the rule every secret is held to.

use std::path::Path;
use std::time::Duration;

use crate::contract::bad_input::exec::{Job, Run};
use crate::contract::bad_input::setup::World;

/// One run and every file it could have written.
pub struct Step {
    pub ran: Run,
    /// (name, content) of `$GITHUB_OUTPUT`, `$GITHUB_ENV`, `$GITHUB_STEP_SUMMARY` and every file
    /// under its own `$RUNNER_TEMP`.
    pub files: Vec<(String, String)>,
}

pub fn step(world: &World, action: &str, inputs: &[(&str, &str)], env: &[(&str, String)]) -> Step {
    let job = Job {
        action: action.to_owned(),
        env: world.env(action),
    };
    let ran = job
        .invocation()
        .runner_files()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .inputs(inputs)
        .limit(Duration::from_secs(60))
        .run();
    let mut files = Vec::new();
    for (name, path) in [
        ("OUTPUT", ran.files.output()),
        ("ENV", ran.files.exports()),
        ("SUMMARY", ran.files.summary()),
    ] {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        files.push((format!("${name}"), text));
    }
    collect(&ran.files.runner_temp(), &mut files);
    Step { ran, files }
}

fn collect(dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            files.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
}

/// A secret and where, besides its mask, it may be.
pub struct Secret<'a> {
    pub value: &'a str,
    /// The action was given or got it as a secret: it must announce the mask before any use.
    pub masked: bool,
    /// Files (by name, as in [`Step::files`]) whose job is to hold it.
    pub allowed_in: &'a [&'a str],
}

pub fn secret(value: &str) -> Secret<'_> {
    Secret {
        value,
        masked: true,
        allowed_in: &[],
    }
}

/// Every line of stdout and stderr holding the secret is an `::add-mask::` line (the secret, or
/// a larger secret containing it, such as a whole header value); nothing else holds it.
pub fn assert_kept(label: &str, step: &Step, secrets: &[Secret]) {
    let ran = &step.ran;
    assert!(!ran.hung, "{label}: timed out\n{}", ran.stderr);
    assert!(!ran.stderr.contains("panicked"), "{label}: {}", ran.stderr);
    for s in secrets {
        assert!(
            s.value.len() >= 4,
            "{label}: a test secret is too short to mask"
        );
        let mut masked = false;
        for (stream, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
            for line in text.lines().filter(|l| l.contains(s.value)) {
                assert!(
                    line.starts_with("::add-mask::"),
                    "{label}: secret `{}` unmasked in {stream}: {line}",
                    s.value
                );
                masked = true;
            }
        }
        if s.masked {
            assert!(
                masked,
                "{label}: no `::add-mask::` for `{}` in:\n{}",
                s.value, ran.stderr
            );
        }
        for (name, content) in &step.files {
            let allowed = s.allowed_in.iter().any(|a| name.contains(a));
            assert!(
                allowed || !content.contains(s.value),
                "{label}: secret `{}` written to {name}:\n{content}",
                s.value
            );
        }
    }
}

/// The values oidc-login masked: the credentials it obtained (learnt from its own masks, since
/// the bed's STS makes them up).
pub fn masked_values(ran: &Run) -> Vec<String> {
    ran.stderr
        .lines()
        .chain(ran.stdout.lines())
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .map(str::to_owned)
        .collect()
}

/// A JSON web token anywhere outside a mask line (they all start `eyJ`, base64 of `{"`).
pub fn assert_no_token(label: &str, step: &Step) {
    for line in step.ran.stderr.lines().chain(step.ran.stdout.lines()) {
        assert!(
            line.starts_with("::add-mask::") || !line.contains("eyJ"),
            "{label}: a token in the log: {line}"
        );
    }
    for (name, content) in &step.files {
        assert!(!content.contains("eyJ"), "{label}: a token in {name}");
    }
}

/// The rule itself can fail: a secret after its mask, or in a file, is caught.
mod the_rule {
    use super::*;

    fn step(stderr: &str, summary: &str) -> Step {
        Step {
            ran: Run::synthetic(Some(0), "", stderr),
            files: vec![("$SUMMARY".to_owned(), summary.to_owned())],
        }
    }

    #[test]
    fn passes_a_secret_seen_only_in_its_mask() {
        assert_kept(
            "ok",
            &step("::add-mask::hunter22\nfine\n", ""),
            &[secret("hunter22")],
        );
    }

    #[test]
    #[should_panic(expected = "unmasked in stderr")]
    fn catches_a_secret_printed_after_its_mask() {
        let log = "::add-mask::hunter22\nlogin with hunter22\n";
        assert_kept("leak", &step(log, ""), &[secret("hunter22")]);
    }

    #[test]
    #[should_panic(expected = "written to $SUMMARY")]
    fn catches_a_secret_in_a_file() {
        let log = "::add-mask::hunter22\n";
        assert_kept("leak", &step(log, "| hunter22 |"), &[secret("hunter22")]);
    }

    #[test]
    #[should_panic(expected = "no `::add-mask::`")]
    fn catches_a_missing_mask() {
        assert_kept("unmasked", &step("", ""), &[secret("hunter22")]);
    }
}
