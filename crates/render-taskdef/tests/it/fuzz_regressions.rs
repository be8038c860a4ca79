//! Inputs the fuzzer found (fuzz/fuzz_targets/run_migrations_input.rs, through this crate's
//! `parse_command`, which run-migrations shares).

use deploy_kit_render_taskdef::parse_command;

#[test]
fn an_empty_json_array_is_refused_like_an_empty_command() {
    // Found: `[` and `]` split over lines parsed as JSON `[]`, an empty command, where empty
    // shell words were already refused.
    for text in ["[]", "[\n\n\n]", "[ ]"] {
        let error = parse_command(text).unwrap_err();
        assert_eq!(error.input, "command");
        assert!(error.message.contains("is an empty JSON array"), "{error}");
    }
    assert_eq!(
        parse_command(r#"["bin/migrate"]"#),
        Ok(vec!["bin/migrate".to_owned()])
    );
}
