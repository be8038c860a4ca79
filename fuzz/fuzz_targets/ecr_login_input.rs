//! ecr-login's inputs through `Input::from_args`: `registries` (account IDs, commas and lines),
//! `registry-type`, `mask-password`, `logout`. Errors name an input; nothing panics; an accepted
//! login (private, or public with `registries` set aside) lists at most 10 distinct 12-digit
//! account IDs.
//!
//! Input: NUL-separated pieces: the action inputs in the order of `Args` below.
#![no_main]

use deploy_kit_ecr_login::{Args, Input, MAX_REGISTRIES, Registry};
use deploy_kit_fuzz::Fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(mut fields) = Fields::new(data) else {
        return;
    };
    let args = Args {
        registries: fields.next(),
        registry_type: fields.next(),
        mask_password: fields.next(),
        logout: fields.next(),
    };
    match Input::from_args(&args) {
        Ok(Input::Login {
            registry: Registry::Private { registries } | Registry::Public { ignored: registries },
            ..
        }) => {
            assert!(registries.len() <= MAX_REGISTRIES);
            for (i, id) in registries.iter().enumerate() {
                assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
                assert!(!registries[..i].contains(id), "repeated {id}");
            }
        }
        Ok(Input::Logout) => {}
        Err(error) => assert!(!error.input.is_empty(), "{error}"),
    }
});
