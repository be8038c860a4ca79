//! render-taskdef's file path end to end, through its public `run`: the task-definition file is
//! fuzzed bytes (templated with `${VAR}`), and so is every action input. Bad input must come back
//! as an error naming the input (exit 2), never a panic.
//!
//! Input: NUL-separated pieces: the file, then the action inputs in the order of `fields` below.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use deploy_kit_fuzz::Fields;
use deploy_kit_gha::{Classify, Exit, OutputFormat, Runner, RunnerEnv};
use deploy_kit_render_taskdef::{Args, run};
use libfuzzer_sys::fuzz_target;

/// Variables the seed templates refer to, with values that must be escaped to stay inside a JSON
/// string. Set once, before the first input is run.
const VARIABLES: &[(&str, &str)] = &[
    ("DK_FUZZ_TAG", "1.2.3"),
    (
        "DK_FUZZ_QUOTE",
        "say \"hi\" \\ \n\t ${DK_FUZZ_TAG} $${x} \u{2028}",
    ),
    ("DK_FUZZ_EMPTY", ""),
    ("DK_FUZZ_NUMBER", "512"),
];

struct Scratch {
    dir: PathBuf,
    runtime: tokio::runtime::Runtime,
}

fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        for (name, value) in VARIABLES {
            // SAFETY: inputs run on this one thread; libFuzzer's only other thread (its memory
            // watch) never reads the environment, and nothing runs concurrently with this.
            unsafe { std::env::set_var(name, value) };
        }
        let dir = std::env::temp_dir().join(format!("deploy-kit-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        Scratch { dir, runtime }
    })
}

fn args(file: String, fields: &mut Fields<'_>) -> Args {
    Args {
        task_definition: Some(file),
        container_name: fields.next(),
        image: fields.next(),
        images: fields.next(),
        environment_variables: fields.next(),
        remove_environment_variables: fields.next(),
        secrets: fields.next(),
        command: fields.next(),
        log_configuration_options: fields.next(),
        docker_labels: fields.next(),
        cpu: fields.next(),
        memory: fields.next(),
        task_role_arn: fields.next(),
        execution_role_arn: fields.next(),
        family: fields.next(),
        allow_plaintext_secrets: fields.next(),
        env_files: fields.next(),
        log_configuration_log_driver: fields.next(),
        // Live sources only (no AWS calls here): with a file it is refused, as is tested.
        task_definition_revision: None,
        task_definition_family: None,
        task_definition_arn: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(mut fields) = Fields::new(data) else {
        return;
    };
    let scratch = scratch();
    let run_dir = scratch.dir.join("run");
    std::fs::create_dir_all(&run_dir).expect("the run directory");
    let file = scratch.dir.join("task-definition.json");
    std::fs::write(&file, fields.next_str()).expect("the template file");
    let args = args(file.display().to_string(), &mut fields);

    let env = RunnerEnv {
        in_actions: true,
        output_file: Some(run_dir.join("output")),
        summary_file: Some(run_dir.join("summary")),
        temp_dir: run_dir.clone(),
        ..RunnerEnv::default()
    };
    let (runner, _captured) = Runner::capture("render-taskdef", env, OutputFormat::Lines);
    let result = scratch.runtime.block_on(run(args, &runner));
    if let Err(error) = &result {
        // File input: nothing can fail but the input (or the scratch disk, which would panic above).
        let message = error.to_string();
        assert_eq!(error.exit(), Exit::BadInput, "{message}");
        assert!(message.starts_with("input `"), "{message}");
    }
    // The rendered file, the outputs and the summary: gone before the next input.
    std::fs::remove_dir_all(&run_dir).expect("clearing the run directory");
});
