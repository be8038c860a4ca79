//! build-push-ecr's inputs through `Input::from_args`: the repository (name or URI), tags,
//! `build-args` and `secrets` lines, platforms, the scan gate. Errors name an input; nothing
//! panics; an accepted input always has a tag to push.
//!
//! Input: NUL-separated pieces: the action inputs in the order of `args` below, then the commit.
#![no_main]

use deploy_kit_build_push_ecr::{Args, Input};
use deploy_kit_fuzz::Fields;
use libfuzzer_sys::fuzz_target;

fn args(fields: &mut Fields<'_>) -> Args {
    Args {
        repository: fields.next(),
        context: fields.next(),
        dockerfile: fields.next(),
        tags: fields.next(),
        build_args: fields.next(),
        secrets: fields.next(),
        target: fields.next(),
        network: fields.next(),
        platforms: fields.next(),
        cache: fields.next(),
        skip_if_exists: fields.next(),
        create_repository: fields.next(),
        immutable_tags: fields.next(),
        scan: fields.next(),
        fail_on_severity: fields.next(),
        ignore_findings: fields.next(),
        scan_timeout: fields.next(),
        provenance: fields.next(),
        push: fields.next(),
        registry: fields.next(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(mut fields) = Fields::new(data) else {
        return;
    };
    let args = args(&mut fields);
    let commit = fields.next();
    match Input::from_args(&args, commit.as_deref()) {
        Ok(input) => {
            assert!(!input.repository.is_empty());
            assert!(!input.tags.is_empty());
            assert!(input.tags.iter().all(|tag| !tag.is_empty()));
            assert!(input.fail_on_severity.is_none() || input.scan);
        }
        Err(error) => assert!(!error.input.is_empty(), "{error}"),
    }
});
