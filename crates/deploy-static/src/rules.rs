//! Which `Cache-Control` and `Content-Type` each file gets. One place for the defaults:
//! fingerprinted files are immutable, HTML is revalidated on every request, anything else is
//! cached briefly; user rules (by glob, first match wins) come before all of them.

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::{self, truncate};
use globset::{Glob, GlobMatcher};

/// Fingerprinted files never change under their name: cache them for a year, never revalidate.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// HTML names the assets of its release: every request revalidates it, so a new release is seen
/// at once (CloudFront and browsers keep it but ask with `If-None-Match`).
pub const HTML: &str = "no-cache";
/// Neither fingerprinted nor HTML (`favicon.ico`, `robots.txt`): five minutes.
pub const OTHER: &str = "public, max-age=300";

#[derive(Debug, Clone, Default)]
pub struct CacheRules {
    rules: Vec<(String, GlobMatcher, String)>,
}

impl CacheRules {
    /// `glob=value` lines, e.g. `assets/**=public, max-age=31536000, immutable`.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let mut rules = Vec::new();
        for (glob, value) in input::key_values("cache-control", text, '=')? {
            let matcher = Glob::new(&glob)
                .map_err(|e| {
                    InputError::new(
                        "cache-control",
                        format!("`{}` is not a glob: {}", truncate(&glob, 60), e.kind()),
                    )
                })?
                .compile_matcher();
            if value.is_empty() || !value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                return Err(InputError::new(
                    "cache-control",
                    format!(
                        "the value for `{}` must be a non-empty Cache-Control header in printable ASCII, e.g. `public, max-age=600`",
                        truncate(&glob, 60)
                    ),
                ));
            }
            rules.push((glob, matcher, value));
        }
        Ok(Self { rules })
    }

    /// The header for `path` (relative to the build folder, `/`-separated).
    pub fn cache_control(&self, path: &str) -> &str {
        if let Some((_, _, value)) = self.rules.iter().find(|(_, m, _)| m.is_match(path)) {
            return value;
        }
        if is_html(path) {
            HTML
        } else if is_fingerprinted(path) {
            IMMUTABLE
        } else {
            OTHER
        }
    }
}

pub fn is_html(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".html") || lower.ends_with(".htm")
}

/// From the extension (mime_guess's table), with `; charset=utf-8` on text so browsers do not
/// guess; unknown extensions are `application/octet-stream`.
pub fn content_type(path: &str) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    // RFC 9239 made `text/javascript` the one JavaScript type.
    let essence = match mime.essence_str() {
        "application/javascript" => "text/javascript",
        other => other,
    };
    let text = essence.starts_with("text/")
        || matches!(
            essence,
            "application/json" | "image/svg+xml" | "application/manifest+json"
        );
    if text {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    }
}

/// A bundler's content hash in the file name: `main.3f2a1b9c.js` (webpack), `index-BdK3x9aQ.js`
/// (Vite, Rollup), `chunk.5e1f8a2b.css`. A name part of 8 to 64 letters, digits and `_` that is
/// hex, or mixes digits or cases (so `polyfills` or `component` is not a hash).
pub fn is_fingerprinted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    stem.split(['.', '-', '~']).skip(1).any(|part| {
        let ok_len = (8..=64).contains(&part.len());
        let chars = part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let digit = part.chars().any(|c| c.is_ascii_digit());
        let upper = part.chars().any(|c| c.is_ascii_uppercase());
        let lower = part.chars().any(|c| c.is_ascii_lowercase());
        let hex = part.chars().all(|c| c.is_ascii_hexdigit());
        ok_len && chars && ((digit && (hex || upper || lower)) || (upper && lower))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_of_common_bundlers() {
        assert!(is_fingerprinted("assets/index-BdK3x9aQ.js"));
        assert!(is_fingerprinted("static/js/main.3f2a1b9c.chunk.js"));
        assert!(is_fingerprinted("app.5e1f8a2b.css"));
        assert!(!is_fingerprinted("polyfills-legacy.js"));
        assert!(!is_fingerprinted("favicon.ico"));
        assert!(
            !is_fingerprinted("deadbeef.js"),
            "a hash must follow a name"
        );
        assert!(!is_fingerprinted("my-component.js"));
    }

    #[test]
    fn defaults_and_user_rules() {
        let rules = CacheRules::parse("data/*.json=public, max-age=60").unwrap();
        assert_eq!(rules.cache_control("index.html"), HTML);
        assert_eq!(rules.cache_control("assets/index-BdK3x9aQ.js"), IMMUTABLE);
        assert_eq!(rules.cache_control("robots.txt"), OTHER);
        assert_eq!(rules.cache_control("data/a.json"), "public, max-age=60");
        assert!(CacheRules::parse("[=x").is_err());
        assert!(CacheRules::parse("*.js=").is_err());
    }

    #[test]
    fn content_types_from_extensions() {
        assert_eq!(content_type("a.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a.png"), "image/png");
        assert_eq!(content_type("a.woff2"), "font/woff2");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
