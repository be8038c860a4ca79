//! Inputs the fuzzer (fuzz/fuzz_targets/gha_inputs.rs) found: each was a panic or a broken
//! promise of `duration`, and must now be refused as bad input naming the input.

use std::time::Duration;

use deploy_kit_gha::input::duration;

#[test]
fn durations_past_u64_seconds_are_refused_not_a_panic() {
    // Each part fits a Duration; their sum does not (Duration's `+` panics on overflow).
    let error = duration("timeout", "10000000000000000000s10000000000000000000s").unwrap_err();
    assert_eq!(error.input, "timeout");
    assert!(error.message.contains("is not a duration"), "{error}");
}

#[test]
fn bare_seconds_obey_the_ten_day_limit_like_any_duration() {
    // Found: `22000000` (about 254 days) passed while `22000000s` was refused.
    let error = duration("timeout", "22000000").unwrap_err();
    assert_eq!(error.input, "timeout");
    assert_eq!(error.message, "is longer than 10 days");
    assert!(duration("timeout", "18446744073709551615").is_err());
    assert_eq!(
        duration("timeout", "864000"),
        Ok(Duration::from_secs(10 * 24 * 3600))
    );
}
