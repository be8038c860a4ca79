//! run-migrations' inputs through `Input::from_args`: the command (JSON array or shell words,
//! render-taskdef's parser), `environment` lines, subnets and security groups, durations, and the
//! run identity the defaults come from. Errors name an input; what it returns fits ECS's limits.
//!
//! Input: NUL-separated pieces: the action inputs in the order of `args` below, then the run
//! identity (run id, attempt, job, step).
#![no_main]

use deploy_kit_fuzz::Fields;
use deploy_kit_gha::RunIdentity;
use deploy_kit_run_migrations::{Args, Input};
use libfuzzer_sys::fuzz_target;

fn args(fields: &mut Fields<'_>) -> Args {
    Args {
        cluster: fields.next(),
        service: fields.next(),
        task_definition: fields.next(),
        container_name: fields.next(),
        command: fields.next(),
        environment: fields.next(),
        subnets: fields.next(),
        security_groups: fields.next(),
        assign_public_ip: fields.next(),
        launch_type: fields.next(),
        start_timeout: fields.next(),
        timeout: fields.next(),
        stream_logs: fields.next(),
        started_by: fields.next(),
    }
}

/// ECS's `startedBy`: at most 128 letters, digits, `-`, `_`, `/` and `.`.
fn valid_started_by(text: &str) -> bool {
    text.len() <= 128
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
}

fuzz_target!(|data: &[u8]| {
    let Some(mut fields) = Fields::new(data) else {
        return;
    };
    let args = args(&mut fields);
    let run = RunIdentity {
        run_id: fields.next_str().to_owned(),
        attempt: fields.next_str().to_owned(),
        job: fields.next_str().to_owned(),
        step: fields.next_str().to_owned(),
        ..RunIdentity::default()
    };
    match Input::from_args(&args, &run) {
        Ok(input) => {
            assert!(!input.service.name.is_empty());
            assert!(!input.start_timeout.is_zero() && !input.timeout.is_zero());
            if let Some(command) = &input.command {
                assert!(!command.is_empty());
            }
            // RunTask's clientToken: at most 64 ASCII characters.
            assert!(input.client_token.len() <= 64, "{}", input.client_token);
            assert!(input.client_token.is_ascii(), "{}", input.client_token);
            // The runner's run id and attempt are numbers; from them, the default startedBy fits
            // ECS too (an absurd GITHUB_RUN_ATTEMPT could make it too long: not a real runner).
            let number = |text: &str| text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit());
            let given = args
                .started_by
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty());
            if given || (number(&run.run_id) && number(&run.attempt)) {
                assert!(valid_started_by(&input.started_by), "{}", input.started_by);
            }
        }
        Err(error) => assert!(!error.input.is_empty(), "{error}"),
    }
});
