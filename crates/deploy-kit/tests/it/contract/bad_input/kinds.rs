//! What each input takes, and the hostile values each kind must refuse.

/// What an input takes, which decides the hostile values it must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Duration,
    Percent,
    Count,
    /// One of a fixed set of words.
    Choice,
    RoleArn,
    Region,
    Url,
    /// An AWS resource name (or its ARN): letters, digits, `-`, `_`.
    Name,
    /// A task definition JSON file.
    JsonFile,
    /// A directory or file that must exist.
    Path,
    /// run-migrations' task definition: a JSON file, an ARN or `family:revision`.
    TaskReference,
    /// `NAME=value` lines; the values are free text.
    KeyValues,
    /// `Name: value` lines.
    Headers,
    /// `/json/pointer=value` lines.
    Pointers,
    /// `200`, `2xx`, `200,204`.
    Status,
    /// Ids with a fixed shape (subnet-, sg-, 12-digit accounts).
    Ids,
    /// Image tags, one per line.
    Tags,
    /// An image reference (no whitespace).
    Image,
    /// Task cpu or memory.
    Size,
    /// Text or `/regex/`.
    BodyMatch,
    /// A JSON array or shell words.
    Command,
    /// `os/arch` platforms.
    Platforms,
    /// A registry host.
    Host,
    /// Free text: only the universal limits (size, control characters) apply.
    Text,
}

use Kind::*;

/// The kind of every input, by action. A new input needs a line here (the test says so); until
/// then it still gets the cases every kind shares.
pub const KINDS: &[(&str, &[(&str, Kind)])] = &[
    (
        "oidc-login",
        &[
            ("role-to-assume", RoleArn),
            ("aws-region", Region),
            ("audience", Text),
            ("role-session-name", Text),
            ("role-duration-seconds", Count),
            ("role-chain", RoleArn),
            ("role-external-id", Text),
            ("allowed-account-ids", Ids),
            ("mask-account-id", Bool),
            ("output-credentials", Bool),
            ("retry-max-attempts", Count),
            ("disable-retry", Bool),
            ("inline-session-policy", Text),
            ("managed-session-policies", Ids),
            ("role-skip-session-tagging", Bool),
            ("transitive-tag-keys", Text),
            ("custom-tags", Text),
            ("web-identity-token-file", Path),
            ("sts-endpoint", Url),
            ("output-env-credentials", Bool),
            ("action-timeout-s", Count),
            ("use-existing-credentials", Bool),
        ],
    ),
    (
        "build-push-ecr",
        &[
            ("repository", Name),
            ("context", Path),
            ("dockerfile", Path),
            ("tags", Tags),
            ("build-args", KeyValues),
            ("secrets", KeyValues),
            ("target", Text),
            ("network", Choice),
            ("platforms", Platforms),
            ("cache", Bool),
            ("skip-if-exists", Bool),
            ("create-repository", Bool),
            ("immutable-tags", Bool),
            ("scan", Choice),
            ("fail-on-severity", Choice),
            ("ignore-findings", Text),
            ("scan-timeout", Duration),
            ("provenance", Bool),
            ("push", Bool),
            ("registry", Host),
        ],
    ),
    (
        "render-taskdef",
        &[
            ("task-definition", JsonFile),
            ("task-definition-family", Name),
            ("task-definition-arn", Name),
            ("task-definition-revision", Count),
            ("container-name", Name),
            ("image", Image),
            ("images", KeyValues),
            ("environment-variables", KeyValues),
            ("remove-environment-variables", Text),
            ("secrets", KeyValues),
            ("command", Command),
            ("log-configuration-options", KeyValues),
            ("log-configuration-log-driver", Choice),
            ("docker-labels", KeyValues),
            ("env-files", Text),
            ("cpu", Size),
            ("memory", Size),
            ("task-role-arn", Name),
            ("execution-role-arn", Name),
            ("family", Name),
            ("allow-plaintext-secrets", Bool),
        ],
    ),
    (
        "ecs-blue-green",
        &[
            ("cluster", Name),
            ("service", Name),
            ("task-definition", JsonFile),
            ("strategy", Choice),
            ("bake-time", Duration),
            ("canary-percent", Percent),
            ("canary-bake-time", Duration),
            ("linear-step-percent", Percent),
            ("linear-step-interval", Duration),
            ("alarms", Text),
            ("max-5xx-rate", Percent),
            ("max-5xx-rate-period", Duration),
            // `M of N`: free text to the hostile cases, which it must refuse all the same.
            ("max-5xx-rate-datapoints", Text),
            ("circuit-breaker", Bool),
            ("test-url", Url),
            ("test-method", Choice),
            ("test-headers", Headers),
            ("test-expect-status", Status),
            ("test-expect-body", BodyMatch),
            ("test-expect-json", Pointers),
            ("test-timeout", Duration),
            ("test-wait-for", Duration),
            ("test-requests", Count),
            ("test-concurrency", Count),
            ("test-max-error-rate", Percent),
            ("test-max-p95", Duration),
            ("test-follow-redirects", Bool),
            ("desired-count", Count),
            ("force-new-deployment", Bool),
            ("enable-ecs-managed-tags", Bool),
            ("propagate-tags", Choice),
            ("timeout", Duration),
            ("rollback-on-timeout", Bool),
            ("rollback-on-cancel", Bool),
            ("wait", Bool),
            ("dry-run", Bool),
        ],
    ),
    (
        "run-migrations",
        &[
            ("cluster", Name),
            ("service", Name),
            ("task-definition", TaskReference),
            ("container-name", Name),
            ("command", Command),
            ("environment", KeyValues),
            ("subnets", Ids),
            ("security-groups", Ids),
            ("assign-public-ip", Bool),
            ("launch-type", Choice),
            ("start-timeout", Duration),
            ("timeout", Duration),
            ("stream-logs", Bool),
            ("started-by", Name),
        ],
    ),
    (
        "smoke-test",
        &[
            ("url", Url),
            ("method", Choice),
            ("headers", Headers),
            ("expect-status", Status),
            ("expect-body", BodyMatch),
            ("expect-json", Pointers),
            ("timeout", Duration),
            ("wait-for", Duration),
            ("requests", Count),
            ("concurrency", Count),
            ("max-error-rate", Percent),
            ("max-p95", Duration),
            ("follow-redirects", Bool),
        ],
    ),
    (
        "deploy-static",
        &[
            ("source", Path),
            ("bucket", Name),
            ("prefix", Text),
            ("distribution-id", Name),
            ("cache-control", KeyValues),
            ("delete", Bool),
            ("keep-previous", Count),
            ("invalidate", Choice),
            ("wait", Bool),
            ("concurrency", Count),
            ("dry-run", Bool),
        ],
    ),
    (
        "ecr-login",
        &[
            ("registries", Ids),
            ("registry-type", Choice),
            ("mask-password", Bool),
            ("logout", Bool),
        ],
    ),
];

/// The largest value Linux lets through: one environment string is capped at 128 KiB
/// (MAX_ARG_STRLEN), so a 1 MB input cannot reach a step at all, on a runner or here.
const BIG: usize = 120 * 1024;
const UNICODE: &str = "ünïcødé-名前-🚀";

/// The hostile values `kind` must refuse, as (class, value). `shell` is the metacharacter case.
pub fn hostile(kind: Kind, shell: &str, bad_json: &str) -> Vec<(&'static str, String)> {
    let prefix = match kind {
        KeyValues => "NAME=",
        Headers => "X-Big: ",
        Pointers => "/a=",
        Url => "http://127.0.0.1/",
        _ => "",
    };
    let mut cases = vec![
        ("oversized", format!("{prefix}{}", "a".repeat(BIG))),
        ("control", format!("{prefix}red\u{1b}[31m\u{7}bell\u{8}")),
    ];
    let structured = !matches!(
        kind,
        Url | KeyValues | Pointers | Text | Command | BodyMatch
    );
    if structured {
        cases.push(("unicode", UNICODE.to_owned()));
        cases.push(("shell", shell.to_owned()));
    }
    if kind == Url {
        cases.push(("shell", shell.to_owned()));
    }
    if kind == Headers {
        cases.truncate(2);
        cases.push(("unicode", format!("{UNICODE}: v")));
        cases.push(("shell", format!("{shell}: v")));
    }
    cases.extend(specific(kind, bad_json));
    cases
}

/// The hostile values only `kind` has: wrong types and malformed ones, as (class, value).
fn specific(kind: Kind, bad_json: &str) -> Vec<(&'static str, String)> {
    let mut cases = Vec::new();
    let mut add = |class: &'static str, values: &[&str]| {
        cases.extend(values.iter().map(|v| (class, (*v).to_owned())));
    };
    match kind {
        Bool => add("wrong type", &["maybe", "2"]),
        Duration => {
            add("wrong type", &["soon"]);
            add(
                "malformed",
                &["5 minutes", "-1s", "1e9h", "5m3", "99999999999h"],
            );
        }
        Percent => {
            add("wrong type", &["most"]);
            add("malformed", &["101%", "NaN", "-1%", "inf"]);
        }
        Count => {
            add("wrong type", &["many"]);
            add("malformed", &["-1", "1e3", "99999999999999999999", "1.5"]);
        }
        Choice => add("wrong type", &["bogus-choice"]),
        RoleArn => {
            add("wrong type", &["github-deploy"]);
            add(
                "malformed",
                &["arn:aws:iam::12:role/x", "arn:aws:s3:::bucket/role"],
            );
        }
        Region => {
            add("wrong type", &["Europe"]);
            add("malformed", &["us_east_1", "us-east-"]);
        }
        Url => {
            add("wrong type", &["not a url"]);
            add(
                "malformed",
                &["http//127.0.0.1", "ftp://127.0.0.1/", "http://"],
            );
        }
        Name => add("malformed", &["two words", "semi;colon"]),
        JsonFile => {
            add("wrong type", &["/nonexistent/deploy-kit-bad-input.json"]);
            add("malformed", &[bad_json]);
        }
        Path => add("wrong type", &["/nonexistent/deploy-kit-bad-input"]),
        TaskReference => {
            add("wrong type", &["/nonexistent/deploy-kit-bad-input.json"]);
            add("malformed", &[bad_json, "family:rev:x"]);
        }
        KeyValues => add("malformed", &["just-a-word", "=value"]),
        Headers => add("malformed", &["X-Api-Key k", ": v", "Bad Name: v"]),
        Pointers => add("malformed", &["no-slash=1"]),
        Status => {
            add("wrong type", &["ok"]);
            add("malformed", &["2xy", "600", "99"]);
        }
        Ids => add("wrong type", &["vpc-123 12345"]),
        Tags => add("malformed", &[":latest", "-bad", "a b"]),
        Image => add("malformed", &["app 2"]),
        Size => {
            add("wrong type", &["lots"]);
            add("malformed", &["1.5 GHz"]);
        }
        BodyMatch => add("malformed", &["/([unclosed/"]),
        Command => add("malformed", &["[\"bin/run\",", "echo \"unclosed"]),
        Platforms => add("malformed", &["linux", "not a platform"]),
        Host => add("malformed", &["http://registry.example", "not a host!"]),
        Text => {}
    }
    cases
}
