//! Inputs the fuzzer (fuzz/fuzz_targets/build_push_ecr_input.rs) found.

use deploy_kit_build_push_ecr::{Args, Input};

#[test]
fn tags_of_only_comments_are_refused_not_an_image_without_tags() {
    // Found: `tags: "#"` was set, so the commit default did not apply, yet gave no tag at all.
    for tags in ["#", "# release tags\n\n   # none yet"] {
        let args = Args {
            repository: Some("team/api".into()),
            tags: Some(tags.into()),
            ..Args::default()
        };
        let error = Input::from_args(&args, Some("4f53cda18c2b")).unwrap_err();
        assert_eq!(error.input, "tags");
        assert!(error.message.contains("has no tag"), "{error}");
    }
}
