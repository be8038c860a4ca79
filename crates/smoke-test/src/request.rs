//! What is sent: the method, the URLs and the headers, validated, and which parts are secret.

use deploy_kit_gha::input::{self, truncate};
use deploy_kit_gha::{InputError, Runner};
use reqwest::header::{self, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use crate::Args;

/// The methods a smoke test may use.
pub const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Values shorter than this are not masked: masking `1` or `on` would garble every log line
/// (the runner masks by substring), and such values are not credentials.
pub const MIN_SECRET_LEN: usize = 4;
/// Parts of a header value shorter than this are not masked on their own.
const MIN_PART_LEN: usize = 8;

/// Headers the HTTP client sets from the request itself; a user value would break framing.
const RESERVED_HEADERS: &[HeaderName] = &[
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
];

/// Query parameters whose values are treated as secrets (matched as substrings of the name).
const SECRET_QUERY_NAMES: &[&str] = &[
    "token",
    "secret",
    "key",
    "sig",
    "password",
    "auth",
    "credential",
];

/// Masks the raw header values of `args` before anything can fail and print: a malformed line
/// may still hold a token. Parsing never echoes values either; this is the second lock.
pub fn mask_raw_headers(args: &Args, runner: &Runner) {
    for line in input::lines(args.headers.as_deref().unwrap_or_default()) {
        if let Some((_, value)) = line.split_once(':') {
            let value = value.trim();
            if value.chars().count() >= MIN_SECRET_LEN {
                runner.mask(value);
            }
        }
    }
}

pub(crate) fn parse_method(input: &str, text: Option<&str>) -> Result<Method, InputError> {
    let Some(text) = text else {
        return Ok(Method::GET);
    };
    let upper = text.to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(InputError::new(
            input,
            format!(
                "`{}` is not supported: use one of {}",
                truncate(text, 20),
                METHODS.join(", ")
            ),
        ));
    }
    Method::from_bytes(upper.as_bytes()).map_err(|error| InputError::new(input, error))
}

pub(crate) fn parse_urls(input: &str, text: &str) -> Result<Vec<Url>, InputError> {
    let lines = input::lines(text);
    if lines.is_empty() {
        return Err(InputError::new(input, "is required: give one URL per line"));
    }
    lines
        .into_iter()
        .map(|line| parse_url(input, line))
        .collect()
}

fn parse_url(input: &str, line: &str) -> Result<Url, InputError> {
    let invalid = |why: &str| {
        InputError::new(
            input,
            format!("`{}` is not a valid URL: {why}", without_userinfo(line)),
        )
    };
    if line.contains(char::is_whitespace) || line.contains("|http") || line.contains(",http") {
        return Err(invalid("give one URL per line"));
    }
    let url = Url::parse(line).map_err(|error| invalid(&error.to_string()))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(invalid("it has no host")),
        scheme => Err(invalid(&format!(
            "the scheme is `{scheme}`, not http or https"
        ))),
    }
}

/// The line as quoted in an error: cut short, user info and query values replaced by `***`.
fn without_userinfo(line: &str) -> String {
    truncate(&deploy_kit_gha::shown_url(line), 100)
}

/// `Name: value` lines. Errors never echo a value: header values are secrets until proven not.
pub(crate) fn parse_headers(
    input: &str,
    text: Option<&str>,
) -> Result<Vec<(HeaderName, HeaderValue)>, InputError> {
    input::lines(text.unwrap_or_default())
        .into_iter()
        .enumerate()
        .map(|(index, line)| {
            let item = index + 1;
            let (name, value) = line.split_once(':').ok_or_else(|| {
                InputError::new(
                    input,
                    format!("item {item} is not of the form `Name: value`"),
                )
            })?;
            let header = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                InputError::new(
                    input,
                    format!(
                        "item {item}: `{}` is not a valid header name (letters, digits and `-`)",
                        truncate(name.trim(), 60)
                    ),
                )
            })?;
            if RESERVED_HEADERS.contains(&header) {
                return Err(InputError::new(
                    input,
                    format!("item {item}: `{header}` is set by the HTTP client; remove it"),
                ));
            }
            let value = HeaderValue::from_str(value.trim()).map_err(|_| {
                InputError::new(
                    input,
                    format!("item {item}: the value of `{header}` has invalid characters"),
                )
            })?;
            Ok((header, value))
        })
        .collect()
}

pub(crate) fn secrets_of(urls: &[Url], headers: &[(HeaderName, HeaderValue)]) -> Vec<String> {
    // A server that echoes a header may echo only part of it (the token after `Bearer`, one
    // cookie): each part is a secret of its own.
    let headers = headers
        .iter()
        .filter_map(|(_, value)| value.to_str().ok())
        .flat_map(|value| {
            std::iter::once(value.to_owned()).chain(header_parts(value).map(str::to_owned))
        });
    let passwords = urls
        .iter()
        .filter_map(|url| url.password().map(str::to_owned));
    let query = urls.iter().flat_map(|url| {
        url.query_pairs()
            .filter(|(name, _)| {
                let name = name.to_ascii_lowercase();
                SECRET_QUERY_NAMES.iter().any(|word| name.contains(word))
            })
            .map(|(_, value)| value.into_owned())
            .collect::<Vec<_>>()
    });
    let mut secrets: Vec<String> = headers
        .chain(passwords)
        .chain(query)
        .filter(|secret| secret.chars().count() >= MIN_SECRET_LEN)
        .collect();
    secrets.sort();
    secrets.dedup();
    secrets
}

/// The parts of a header value a server might echo alone: words (`Bearer <token>`), list items
/// and `name=value` values (cookies). Auth scheme names are not secrets.
fn header_parts(value: &str) -> impl Iterator<Item = &str> {
    const SCHEMES: &[&str] = &[
        "basic",
        "bearer",
        "digest",
        "token",
        "negotiate",
        "aws4-hmac-sha256",
    ];
    value
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        // Both `name=value` whole and its value: base64 ends in `=` too.
        .flat_map(|part| [Some(part), part.split_once('=').map(|(_, value)| value)])
        .flatten()
        .map(|part| part.trim_matches('"'))
        // Short parts (`theme=dark`) are words, not credentials: masking them would blank
        // ordinary words across the whole job log.
        .filter(|part| part.chars().count() >= MIN_PART_LEN)
        .filter(|part| !SCHEMES.contains(&part.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Checks;

    fn args(url: &str) -> Args {
        Args {
            url: Some(url.to_owned()),
            ..Args::default()
        }
    }

    #[test]
    fn urls_on_one_line_get_a_hint() {
        for line in [
            "https://a.example/ https://b.example/",
            "https://a.example/|https://b.example/",
        ] {
            let error = Checks::from_args(&args(line), "").unwrap_err();
            assert!(error.message.contains("one URL per line"), "{error}");
        }
    }

    #[test]
    fn url_errors_never_quote_the_password() {
        let error = Checks::from_args(&args("https://me:hunter22@x:99999/"), "").unwrap_err();
        assert_eq!(error.input, "url");
        assert!(!error.to_string().contains("hunter22"), "{error}");
        assert!(
            error.to_string().contains("https://***@x:99999/"),
            "{error}"
        );
    }

    #[test]
    fn methods_are_case_insensitive_and_limited() {
        let mut a = args("http://x/");
        a.method = Some("post".into());
        assert_eq!(Checks::from_args(&a, "").unwrap().method, Method::POST);
        a.method = Some("TRACE".into());
        let error = Checks::from_args(&a, "").unwrap_err();
        assert!(error.message.contains("GET, HEAD, POST"), "{error}");
    }

    #[test]
    fn header_values_are_secrets_and_never_echoed() {
        let mut a = args("https://u:pw-secret@x/?api_key=k-123456&page=2");
        a.headers = Some("Authorization: Bearer abc\nX-Env: staging\nX-Retry: 1".into());
        let checks = Checks::from_args(&a, "").unwrap();
        assert_eq!(
            checks.secrets,
            ["Bearer abc", "k-123456", "pw-secret", "staging"],
            "sorted, each once"
        );
        for bad in [
            "Authorization Bearer abc",
            "X-Key: a\u{7}bcd",
            "Bad Name: abcd",
        ] {
            a.headers = Some(bad.into());
            let error = Checks::from_args(&a, "").unwrap_err();
            assert_eq!(error.input, "headers");
            assert!(
                !error.to_string().contains("abc") && !error.to_string().contains("bcd"),
                "{error}"
            );
        }
    }

    /// No input panics: random text from a hostile alphabet in every field either parses or is
    /// an error naming that field.

    #[test]
    fn framing_headers_are_refused() {
        let mut a = args("http://x/");
        a.headers = Some("content-length: 5".into());
        let error = Checks::from_args(&a, "").unwrap_err();
        assert!(error.message.contains("`content-length`"), "{error}");
    }
}
