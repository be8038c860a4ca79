//! The input helpers every action parses with (crates/gha `input`), and the runner-file parser:
//! each must refuse bad text with an error naming the input, never panic, and keep the promise
//! its doc comment makes about what it returns.
//!
//! Input: the text of one action input, given to every helper.
#![no_main]

use std::time::Duration;

use deploy_kit_gha::input::{
    boolean, duration, flag, key_values, lines, number, percent, required, set, truncate,
};
use deploy_kit_gha::output_pairs;
use libfuzzer_sys::fuzz_target;

fn check_lines(text: &str) {
    let items = lines(text);
    assert!(items.len() <= text.lines().count());
    for item in items {
        assert!(!item.is_empty() && !item.starts_with('#'), "{item:?}");
        assert_eq!(item, item.trim());
    }
}

fn check_key_values(text: &str) {
    for sep in ['=', ':'] {
        match key_values("environment-variables", text, sep) {
            Ok(pairs) => {
                assert_eq!(pairs.len(), lines(text).len());
                for (key, value) in pairs {
                    assert!(!key.is_empty() && !key.contains(sep), "{key:?}");
                    assert_eq!(key, key.trim());
                    assert_eq!(value, value.trim());
                }
            }
            Err(error) => assert_eq!(error.input, "environment-variables"),
        }
    }
}

fn check_scalars(text: &str) {
    if let Err(error) = boolean("wait", text) {
        assert_eq!(error.input, "wait");
    }
    match set(Some(text)) {
        None => {
            assert_eq!(flag("wait", Some(text), true), Ok(true));
            assert!(required("service", Some(text)).is_err());
        }
        Some(value) => {
            assert_eq!(value, value.trim());
            assert_eq!(flag("wait", Some(text), true), boolean("wait", value));
        }
    }
    match duration("timeout", text) {
        Ok(value) => assert!(value <= Duration::from_secs(10 * 24 * 3600), "{value:?}"),
        Err(error) => assert_eq!(error.input, "timeout"),
    }
    match percent("max-error-rate", text) {
        Ok(fraction) => assert!((0.0..=1.0).contains(&fraction), "{fraction}"),
        Err(error) => assert_eq!(error.input, "max-error-rate"),
    }
    match number("requests", text, 1..=10_000) {
        Ok(value) => assert!((1..=10_000).contains(&value)),
        Err(error) => assert_eq!(error.input, "requests"),
    }
}

fn check_truncate(text: &str) {
    for max in [0, 1, 40, 80] {
        let cut = truncate(text, max);
        let kept = cut.strip_suffix('…').filter(|_| text.chars().count() > max);
        let kept = kept.unwrap_or(&cut);
        assert!(text.starts_with(kept));
        assert!(kept.chars().count() <= max);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_lines(text);
    check_key_values(text);
    check_scalars(text);
    check_truncate(text);
    // A runner file ($GITHUB_OUTPUT) written by anyone: any text parses to some pairs.
    let _ = output_pairs(text);
});
