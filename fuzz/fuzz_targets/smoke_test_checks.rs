//! smoke-test's inputs (URLs, headers, expectations, gates) through `Checks::from_args`, as
//! smoke-test and ecs-blue-green (its `test-*` inputs) parse them, and the parsed expectations
//! applied to a fuzzed response. Errors name the input as the user spelled it; nothing panics.
//!
//! Input: NUL-separated pieces: the action inputs in the order of `args` below, then a response
//! status (a number; 200 when it is not one) and body.
#![no_main]

use deploy_kit_fuzz::Fields;
use deploy_kit_smoke_test::{Args, Checks, TEST_PREFIX};
use libfuzzer_sys::fuzz_target;

fn args(fields: &mut Fields<'_>) -> Args {
    Args {
        url: fields.next(),
        method: fields.next(),
        headers: fields.next(),
        expect_status: fields.next(),
        expect_body: fields.next(),
        expect_json: fields.next(),
        timeout: fields.next(),
        wait_for: fields.next(),
        requests: fields.next(),
        concurrency: fields.next(),
        max_error_rate: fields.next(),
        max_p95: fields.next(),
        follow_redirects: fields.next(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(mut fields) = Fields::new(data) else {
        return;
    };
    let args = args(&mut fields);
    let status = fields.next_str().trim().parse::<u16>().unwrap_or(200);
    let body = fields.next_str();
    for prefix in ["", TEST_PREFIX] {
        match Checks::from_args(&args, prefix) {
            Ok(checks) => {
                assert!(!checks.urls.is_empty());
                assert!(checks.concurrency >= 1);
                assert!((0.0..=1.0).contains(&checks.max_error_rate));
                let _ = checks.expect.check(status, body);
                let _ = checks.expect.status.describe();
            }
            Err(error) => assert!(error.input.starts_with(prefix), "{error}"),
        }
    }
});
