//! The valid input set of each action, one function per action (an action added is one line
//! in [`baselines`] and its function here).

use std::path::Path;

use super::{Baseline, CLUSTER, ROLE, SITE_BUCKET, owned, write};

/// What the baselines point at: files on disk, the bed's resources, a smoke-check server.
struct Ground {
    api_file: String,
    web_file: String,
    context: String,
    dockerfile: String,
    site: String,
    smoke_url: String,
    api_arn: String,
    migrate: String,
    subnet: String,
}

/// Every action's baselines: one line per action.
pub(super) fn baselines(dir: &Path, api_arn: &str, migrate: &str, subnet: &str) -> Vec<Baseline> {
    let g = ground(dir, api_arn, migrate, subnet);
    [
        oidc_login(&g),
        build_push_ecr(&g),
        render_taskdef(&g),
        ecs_blue_green(&g),
        run_migrations(&g),
        smoke_test(&g),
        deploy_static(&g),
        ecr_login(&g),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn ground(dir: &Path, api_arn: &str, migrate: &str, subnet: &str) -> Ground {
    let taskdef = |family: &str| {
        write(
            dir,
            &format!("{family}.json"),
            &format!(
                r#"{{"family": "{family}", "containerDefinitions": [{{"name": "web", "image": "app:1", "memory": 128, "essential": true, "logConfiguration": {{"logDriver": "awslogs", "options": {{"awslogs-group": "/ecs/{family}"}}}}}}]}}"#
            ),
        )
    };
    let api_file = taskdef("api");
    let web_file = taskdef("web");
    let context = dir.join("context");
    std::fs::create_dir_all(&context).unwrap();
    let dockerfile = write(&context, "Dockerfile", "FROM scratch AS app\nCOPY . /\n");
    let context = context.display().to_string();
    let smoke_url = crate::actions::ecs_blue_green::http_server(200);
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("assets")).unwrap();
    write(
        &site,
        "index.html",
        "<script src=/assets/app-1a2b3c4d.js></script>",
    );
    write(&site.join("assets"), "app-1a2b3c4d.js", "console.log(1)");
    let site = site.display().to_string();
    Ground {
        api_file,
        web_file,
        context,
        dockerfile,
        site,
        smoke_url,
        api_arn: api_arn.to_owned(),
        migrate: migrate.to_owned(),
        subnet: subnet.to_owned(),
    }
}

fn oidc_login(_: &Ground) -> Vec<Baseline> {
    vec![Baseline {
        action: "oidc-login",
        only: &[],
        inputs: owned(&[
            ("role-to-assume", ROLE),
            ("aws-region", "us-east-1"),
            ("audience", "sts.amazonaws.com"),
            ("role-session-name", "deploy-kit-bad-input"),
            ("role-duration-seconds", "3600"),
            (
                "role-chain",
                "arn:aws:iam::123456789012:role/staging-deploy",
            ),
            ("role-external-id", "ext-12345"),
            ("allowed-account-ids", "123456789012"),
            ("mask-account-id", "false"),
            ("output-credentials", "false"),
            ("retry-max-attempts", "2"),
            ("disable-retry", "false"),
            (
                "inline-session-policy",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            ),
            (
                "managed-session-policies",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ),
            ("role-skip-session-tagging", "false"),
            ("transitive-tag-keys", "Team"),
            ("custom-tags", r#"{"Team": "core"}"#),
            ("output-env-credentials", "true"),
            ("action-timeout-s", "600"),
            ("use-existing-credentials", "false"),
        ]),
    }]
}

fn build_push_ecr(g: &Ground) -> Vec<Baseline> {
    vec![Baseline {
        action: "build-push-ecr",
        only: &[],
        inputs: owned(&[
            ("repository", "bad-input"),
            ("context", &g.context),
            ("dockerfile", &g.dockerfile),
            ("tags", "t1\nt2"),
            ("build-args", "VERSION=1.0.0"),
            ("secrets", "token=s3cr3t-value"),
            ("target", "app"),
            ("platforms", "linux/amd64"),
            ("cache", "true"),
            ("skip-if-exists", "true"),
            ("create-repository", "true"),
            ("immutable-tags", "true"),
            ("scan", "wait"),
            ("fail-on-severity", "HIGH"),
            ("ignore-findings", "CVE-2026-0001"),
            ("scan-timeout", "1m"),
            ("provenance", "false"),
            ("push", "true"),
            ("registry", ""),
        ]),
    }]
}

fn render_taskdef(g: &Ground) -> Vec<Baseline> {
    let render_rest = [
        ("container-name", "web"),
        ("image", "app:2"),
        ("environment-variables", "RELEASE=1"),
        ("remove-environment-variables", "OLD_SETTING"),
        (
            "secrets",
            "DB_PASSWORD=arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
        ),
        ("command", r#"["bin/server", "--port", "8080"]"#),
        ("log-configuration-options", "awslogs-group=/ecs/api"),
        ("docker-labels", "team=core"),
        ("cpu", "256"),
        ("memory", "512"),
        ("task-role-arn", "arn:aws:iam::123456789012:role/api-task"),
        ("execution-role-arn", "ecsTaskExecutionRole"),
        ("family", "api"),
        ("allow-plaintext-secrets", "false"),
    ];
    let render = |source: (&'static str, &str)| {
        let mut inputs = owned(&[source]);
        inputs.extend(owned(&render_rest));
        inputs
    };
    vec![
        Baseline {
            action: "render-taskdef",
            only: &[],
            inputs: render(("task-definition", &g.api_file)),
        },
        Baseline {
            action: "render-taskdef",
            only: &["task-definition-family"],
            inputs: render(("task-definition-family", "api")),
        },
        Baseline {
            action: "render-taskdef",
            only: &["task-definition-arn"],
            inputs: render(("task-definition-arn", &g.api_arn)),
        },
        Baseline {
            action: "render-taskdef",
            only: &["images"],
            inputs: owned(&[("task-definition", &g.api_file), ("images", "web=app:3")]),
        },
    ]
}

fn ecs_blue_green(g: &Ground) -> Vec<Baseline> {
    let ecs_common = [
        ("cluster", CLUSTER),
        ("service", "web"),
        ("task-definition", g.web_file.as_str()),
        ("bake-time", "1m"),
        ("alarms", "web-5xx"),
        ("circuit-breaker", "true"),
        ("test-url", g.smoke_url.as_str()),
        ("test-method", "GET"),
        ("test-headers", "X-Check: yes"),
        ("test-expect-status", "2xx"),
        ("test-expect-body", "ok"),
        ("test-timeout", "2s"),
        ("test-wait-for", "5s"),
        ("test-requests", "2"),
        ("test-concurrency", "2"),
        ("test-max-error-rate", "1%"),
        ("test-max-p95", "800ms"),
        ("test-follow-redirects", "false"),
        ("desired-count", "1"),
        ("force-new-deployment", "false"),
        ("timeout", "5m"),
        ("rollback-on-timeout", "true"),
        ("rollback-on-cancel", "true"),
        // `wait: false` is refused with `test-url`: the baseline follows its deployment.
        ("wait", "true"),
        ("dry-run", "false"),
    ];
    let mut canary = owned(&ecs_common);
    canary.extend(owned(&[
        ("strategy", "canary"),
        ("canary-percent", "10%"),
        ("canary-bake-time", "1m"),
    ]));
    let mut linear = owned(&ecs_common);
    linear.retain(|(input, _)| *input != "service");
    linear.extend(owned(&[
        ("service", "web2"),
        ("strategy", "linear"),
        ("linear-step-percent", "50%"),
        ("linear-step-interval", "1m"),
    ]));
    let mut gate = owned(&ecs_common);
    gate.retain(|(input, _)| *input != "service");
    gate.extend(owned(&[
        ("service", "web3"),
        ("max-5xx-rate", "1%"),
        ("max-5xx-rate-period", "1m"),
        ("max-5xx-rate-datapoints", "2 of 3"),
    ]));
    vec![
        Baseline {
            action: "ecs-blue-green",
            only: &[],
            inputs: canary,
        },
        Baseline {
            action: "ecs-blue-green",
            only: &["linear-step-percent", "linear-step-interval"],
            inputs: linear,
        },
        Baseline {
            action: "ecs-blue-green",
            only: &[
                "max-5xx-rate",
                "max-5xx-rate-period",
                "max-5xx-rate-datapoints",
            ],
            inputs: gate,
        },
    ]
}

fn run_migrations(g: &Ground) -> Vec<Baseline> {
    vec![Baseline {
        action: "run-migrations",
        only: &[],
        inputs: owned(&[
            ("cluster", CLUSTER),
            ("service", "mig"),
            ("task-definition", &g.migrate),
            ("container-name", "app"),
            ("command", r#"["bin/migrate", "up"]"#),
            ("environment", "MODE=up"),
            ("subnets", &g.subnet),
            ("security-groups", "sg-0123456789abcdef0"),
            ("assign-public-ip", "false"),
            ("launch-type", "FARGATE"),
            ("start-timeout", "1m"),
            ("timeout", "2m"),
            ("stream-logs", "true"),
            ("started-by", "deploy-kit-bad-input"),
        ]),
    }]
}

fn smoke_test(g: &Ground) -> Vec<Baseline> {
    vec![Baseline {
        action: "smoke-test",
        only: &[],
        inputs: owned(&[
            ("url", &g.smoke_url),
            ("method", "GET"),
            ("headers", "X-Check: yes"),
            ("expect-status", "2xx"),
            ("expect-body", "ok"),
            ("expect-json", ""),
            ("timeout", "2s"),
            ("wait-for", "5s"),
            ("requests", "2"),
            ("concurrency", "2"),
            ("max-error-rate", "1%"),
            ("max-p95", "800ms"),
            ("follow-redirects", "false"),
        ]),
    }]
}

fn deploy_static(g: &Ground) -> Vec<Baseline> {
    vec![Baseline {
        action: "deploy-static",
        only: &[],
        inputs: owned(&[
            ("source", &g.site),
            ("bucket", SITE_BUCKET),
            ("prefix", "web/"),
            ("distribution-id", ""),
            ("cache-control", "*.json=public, max-age=60"),
            ("delete", "true"),
            ("keep-previous", "1"),
            ("invalidate", "changed"),
            ("wait", "true"),
            ("concurrency", "4"),
            ("dry-run", "false"),
        ]),
    }]
}

fn ecr_login(_: &Ground) -> Vec<Baseline> {
    vec![Baseline {
        action: "ecr-login",
        only: &[],
        inputs: owned(&[
            ("registries", "123456789012"),
            ("registry-type", "private"),
            ("mask-password", "true"),
            ("logout", "false"),
        ]),
    }]
}
