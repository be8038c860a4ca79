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

/// What a signal does to a running action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnSignal {
    /// It leaves nothing in AWS to clean up: the signal just stops it.
    Stop,
    /// It watches the signal itself, to leave things safe before it exits.
    Watched,
}

/// One action: its subcommand name, how a signal reaches it, and its run.
trait Action {
    const NAME: &'static str;
    const ON_SIGNAL: OnSignal;
    async fn run(self, runner: &Runner) -> Result<(), Failure>;
}

/// Runs an action, raced against the signal unless it watches the signal itself.
async fn launch<A: Action>(args: A, runner: &Runner) -> Result<(), Failure> {
    match A::ON_SIGNAL {
        OnSignal::Watched => args.run(runner).await,
        OnSignal::Stop => runner.cancellation().run(args.run(runner)).await,
    }
}

/// The subcommands, one line each: `Variant(module) = "name", on a signal`, after the help text.
/// The module (an action crate, or a module path in one) has `Args` (clap) and
/// `run(args, runner)`; the name is the subcommand's and the runner's. Adding an action is
/// adding its line.
macro_rules! actions {
    ($($(#[doc = $doc:literal])* $variant:ident($($module:ident)::+) = $name:literal, $on_signal:ident;)+) => {
        // Parsed once at start-up and moved into its action: boxing the big variants would buy
        // nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Subcommand)]
        enum Command {
            $($(#[doc = $doc])* #[command(name = $name)] $variant($($module)::+::Args),)+
        }

        $(impl Action for $($module)::+::Args {
            const NAME: &'static str = $name;
            const ON_SIGNAL: OnSignal = OnSignal::$on_signal;
            async fn run(self, runner: &Runner) -> Result<(), Failure> {
                $($module)::+::run(self, runner).await.map_err(Failure::from)
            }
        })+

        impl Command {
            fn action(&self) -> &'static str {
                match self {
                    $(Command::$variant(_) => <$($module)::+::Args as Action>::NAME,)+
                }
            }

            async fn dispatch(self, runner: &Runner) -> Result<(), Failure> {
                match self {
                    $(Command::$variant(args) => launch(args, runner).await,)+
                }
            }
        }
    };
}

// oidc-login, render-taskdef, smoke-test and ecr-login leave nothing in AWS to clean up (a
// login cut short is one docker command). ecs-blue-green
// rolls back and run-migrations stops its task before they exit, build-push-ecr stops its build
// and removes the builder it made, deploy-static finishes the HTML it started (the site is never
// half old and half new).
actions! {
    /// Log in, build and push to ECR: skip when the tag exists, registry cache, scan gate.
    BuildPushEcr(deploy_kit_build_push_ecr) = "build-push-ecr", Watched;
    /// GitHub OIDC to AWS credentials for the steps after it (default chain outside Actions).
    OidcLogin(deploy_kit_oidc_login) = "oidc-login", Stop;
    /// Render an ECS task definition (images, environment, secrets, command) and validate it.
    RenderTaskdef(deploy_kit_render_taskdef) = "render-taskdef", Stop;
    /// Check HTTP endpoints: wait for a first success, then gate on error rate and latency.
    SmokeTest(deploy_kit_smoke_test) = "smoke-test", Stop;
    /// Deploy a task definition to an ECS service (blue/green, canary, linear, rolling), follow
    /// it, test green before production, roll back on failure, timeout and cancel.
    EcsBlueGreen(deploy_kit_ecs_blue_green) = "ecs-blue-green", Watched;
    /// Run a one-off ECS task (migrations) from a service's configuration, stream its logs and
    /// judge its exit code; stop it on timeout and cancel.
    RunMigrations(deploy_kit_run_migrations) = "run-migrations", Watched;
    /// Deploy a built web frontend to S3 behind CloudFront: only what changed, assets before
    /// HTML, stale files after, one minimal invalidation.
    DeployStatic(deploy_kit_deploy_static) = "deploy-static", Watched;
    /// Log the runner's docker in to ECR for later steps (and out, with --logout, at the end).
    EcrLogin(deploy_kit_ecr_login) = "ecr-login", Stop;
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
            Ok(()) => match cli.command.dispatch(&runner).await {
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
