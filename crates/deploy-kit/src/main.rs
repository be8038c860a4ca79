//! `deploy-kit`: one binary, one subcommand per action. Parses the command line, runs the action,
//! prints the error chain once and exits with the documented code.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use deploy_kit_gha::{Cancellation, Exit, Failure, InputError, OutputFormat, Runner, RunnerEnv};

#[derive(Debug, Parser)]
#[command(name = "deploy-kit", version, about, propagate_version = true)]
struct Cli {
    /// Print outputs as one JSON object instead of `name=value` lines (when not in Actions).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up and moved into its action: boxing the big variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Log in, build and push to ECR: skip when the tag exists, registry cache, scan gate.
    BuildPushEcr(deploy_kit_build_push_ecr::Args),
    /// GitHub OIDC to AWS credentials for the steps after it (default chain outside Actions).
    OidcLogin(deploy_kit_oidc_login::Args),
    /// Render an ECS task definition (images, environment, secrets, command) and validate it.
    RenderTaskdef(deploy_kit_render_taskdef::Args),
    /// Check HTTP endpoints: wait for a first success, then gate on error rate and latency.
    SmokeTest(deploy_kit_smoke_test::Args),
    /// Deploy a task definition to an ECS service (blue/green, canary, linear, rolling), follow
    /// it, test green before production, roll back on failure, timeout and cancel.
    EcsBlueGreen(deploy_kit_ecs_blue_green::Args),
    /// Run a one-off ECS task (migrations) from a service's configuration, stream its logs and
    /// judge its exit code; stop it on timeout and cancel.
    RunMigrations(deploy_kit_run_migrations::Args),
    /// Deploy a built web frontend to S3 behind CloudFront: only what changed, assets before
    /// HTML, stale files after, one minimal invalidation.
    DeployStatic(deploy_kit_deploy_static::Args),
    /// Log the runner's docker in to ECR for later steps (and out, with --logout, at the end).
    EcrLogin(deploy_kit_ecr_login::Args),
}

impl Command {
    fn action(&self) -> &'static str {
        match self {
            Command::BuildPushEcr(_) => "build-push-ecr",
            Command::OidcLogin(_) => "oidc-login",
            Command::RenderTaskdef(_) => "render-taskdef",
            Command::SmokeTest(_) => "smoke-test",
            Command::EcsBlueGreen(_) => "ecs-blue-green",
            Command::RunMigrations(_) => "run-migrations",
            Command::DeployStatic(_) => "deploy-static",
            Command::EcrLogin(_) => "ecr-login",
        }
    }
}

async fn dispatch(command: Command, runner: &Runner) -> Result<(), Failure> {
    let cancellation = runner.cancellation().clone();
    // oidc-login, render-taskdef and smoke-test leave nothing in AWS to clean up, so a signal
    // just stops them; ecs-blue-green and run-migrations watch the signal themselves, to roll
    // back or stop the task before they exit, and build-push-ecr to stop its build and remove
    // the builder it made.
    match command {
        Command::EcsBlueGreen(args) => deploy_kit_ecs_blue_green::run(args, runner)
            .await
            .map_err(Failure::from),
        Command::RunMigrations(args) => deploy_kit_run_migrations::run(args, runner)
            .await
            .map_err(Failure::from),
        Command::BuildPushEcr(args) => deploy_kit_build_push_ecr::run(args, runner)
            .await
            .map_err(Failure::from),
        // deploy-static watches the signal itself: it finishes the HTML it started, so the site
        // is never half old and half new.
        Command::DeployStatic(args) => deploy_kit_deploy_static::run(args, runner)
            .await
            .map_err(Failure::from),
        Command::OidcLogin(args) => {
            cancellation
                .run(async {
                    deploy_kit_oidc_login::run(args, runner)
                        .await
                        .map_err(Failure::from)
                })
                .await
        }
        Command::RenderTaskdef(args) => {
            cancellation
                .run(async {
                    deploy_kit_render_taskdef::run(args, runner)
                        .await
                        .map_err(Failure::from)
                })
                .await
        }
        // ecr-login leaves nothing in AWS; a login cut short is one docker command.
        Command::EcrLogin(args) => {
            cancellation
                .run(async {
                    deploy_kit_ecr_login::run(args, runner)
                        .await
                        .map_err(Failure::from)
                })
                .await
        }
        Command::SmokeTest(args) => {
            cancellation
                .run(async {
                    deploy_kit_smoke_test::run(args, runner)
                        .await
                        .map_err(Failure::from)
                })
                .await
        }
    }
}

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return usage_error(&error),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(Exit::Failed.code());
        }
    };
    let exit = runtime.block_on(async {
        let format = if cli.json {
            OutputFormat::Json
        } else {
            OutputFormat::Lines
        };
        let cancellation = match Cancellation::from_signals() {
            Ok(cancellation) => cancellation,
            Err(error) => {
                eprintln!("error: cannot listen for SIGINT/SIGTERM: {error}");
                return Exit::Failed;
            }
        };
        let runner = Runner::new(
            cli.command.action(),
            RunnerEnv::from_process_env(),
            format,
            cancellation,
        );
        let exit = match raw_inputs(&matches) {
            Err(error) => {
                runner.failure(error);
                Exit::BadInput
            }
            Ok(()) => match dispatch(cli.command, &runner).await {
                Ok(()) => Exit::Success,
                Err(failure) => {
                    runner.failure(format_args!("{:#}", failure.error));
                    failure.exit
                }
            },
        };
        let exit = match runner.finish() {
            Ok(()) => exit,
            Err(error) => {
                runner.error(format_args!("cannot write outputs: {error}"));
                Exit::Failed
            }
        };
        runner.settle(exit);
        exit
    });
    ExitCode::from(exit.code())
}

/// The limits every input shares (size, control characters), checked here once for all actions
/// so that a new input has them too. Arg ids are the fields' names: `test_url` is `test-url`.
fn raw_inputs(matches: &clap::ArgMatches) -> Result<(), InputError> {
    let Some((_, sub)) = matches.subcommand() else {
        return Ok(());
    };
    for id in sub.ids() {
        let Ok(Some(values)) = sub.try_get_raw(id.as_str()) else {
            continue;
        };
        for value in values {
            deploy_kit_gha::input::raw(&id.as_str().replace('_', "-"), &value.to_string_lossy())?;
        }
    }
    Ok(())
}

/// clap's own errors: help and version are not errors; anything else is bad input (exit 2).
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        _ => {
            let runner = Runner::new(
                "deploy-kit",
                RunnerEnv::from_process_env(),
                OutputFormat::Lines,
                Cancellation::never(),
            );
            let rendered = error.render().to_string();
            let message = rendered.trim_start_matches("error: ").trim_end();
            runner.error(InputError::new("command line", message));
            ExitCode::from(Exit::BadInput.code())
        }
    }
}
