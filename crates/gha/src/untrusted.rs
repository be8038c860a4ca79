//! Text we do not control (container logs, docker output, HTTP bodies, AWS messages), made safe
//! to print where a runner reads our output for workflow commands.
//!
//! How the runner reads a step's output (actions/runner):
//! - `src/Runner.Sdk/ProcessInvoker.cs` reads stdout and stderr with `StreamReader.ReadLine`, so
//!   `\n`, `\r\n` and a lone `\r` each end a line;
//! - `src/Runner.Common/ActionCommand.cs` parses each line: `TryParseV2` takes `::name ...::data`
//!   after leading white space, `TryParse` takes `##[name ...]data` anywhere in the line; names
//!   compare case-insensitively;
//! - `src/Runner.Worker/ActionCommandManager.cs`: after `::stop-commands::TOKEN` every command is
//!   ignored (the line is shown as text) until a command named TOKEN arrives.
//!
//! So a block of untrusted lines is fenced by `::stop-commands::TOKEN` and `::TOKEN::`, with a
//! fresh random TOKEN that occurs in none of its lines (case-insensitively): nothing inside can
//! end the fence, so nothing inside can act.
//!
//! A block whose every line is [`plain`] is printed without a fence, to spare the log two lines.
//! The test is deliberately coarse: the runner's `StartsWith`/`IndexOf` are culture-sensitive, and
//! under ICU some characters (controls, format characters such as zero-width spaces, combining
//! marks) weigh nothing when matching, so `:\u{200b}:` can match `::`. Only lines made of
//! characters with a weight of their own (printable ASCII, Latin letters, punctuation, arrows,
//! math and box-drawing symbols: .NET keeps punctuation significant unless asked to ignore
//! symbols) are judged by their `::` and `##[` substrings; anything else is fenced.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Splits text into the lines a runner would read: at `\r\n`, `\r` and `\n`. A final line
/// terminator does not start another line; empty text is one empty line.
pub(crate) fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    loop {
        match rest.find(['\r', '\n']) {
            None => {
                if !rest.is_empty() || lines.is_empty() {
                    lines.push(rest);
                }
                return lines;
            }
            Some(at) => {
                lines.push(&rest[..at]);
                let width = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[at + width..];
                if rest.is_empty() {
                    return lines;
                }
            }
        }
    }
}

/// A token to fence a block with: 32 random hex digits that occur in none of `lines`.
pub(crate) fn fence_token(lines: &[String]) -> String {
    pick_token(lines, random_hex)
}

fn pick_token(lines: &[String], mut next: impl FnMut() -> String) -> String {
    loop {
        let token = next();
        if !lines
            .iter()
            .any(|line| line.to_ascii_lowercase().contains(&token))
        {
            return token;
        }
    }
}

/// 128 random bits as lowercase hex, from the operating system's generator.
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS generator: std's per-process random SipHash keys still make the token
        // unguessable to text written before it was printed.
        for (index, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_usize(index);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A line no runner can read as a command: made of [`weighty`] characters, without `::` or `##[`.
pub(crate) fn plain(line: &str) -> bool {
    line.chars().all(weighty) && !line.contains("::") && !line.contains("##[")
}

/// Characters that no culture-sensitive comparison skips: printable ASCII, Latin-1 and Latin
/// Extended letters and signs (not the soft hyphen U+00AD), general punctuation without the
/// zero-width and bidirectional controls, arrows, math, technical and box-drawing symbols,
/// shapes and dingbats. Our own messages use `│ ─ → … × ≤`; container text with other scripts is
/// simply fenced.
fn weighty(c: char) -> bool {
    matches!(c,
        ' '..='~'
        | '\u{a0}'..='\u{ac}'
        | '\u{ae}'..='\u{2ff}'
        | '\u{2010}'..='\u{2027}'
        | '\u{2030}'..='\u{205e}'
        | '\u{2190}'..='\u{23ff}'
        | '\u{2500}'..='\u{27bf}')
}

/// The lines to write for a block of untrusted `lines`: fenced when a runner reads them and any
/// line could act.
pub(crate) fn fence(lines: Vec<String>, in_actions: bool) -> Vec<String> {
    if !in_actions || lines.iter().all(|line| plain(line)) {
        return lines;
    }
    let token = fence_token(&lines);
    let mut fenced = Vec::with_capacity(lines.len() + 2);
    fenced.push(format!("::stop-commands::{token}"));
    fenced.extend(lines);
    fenced.push(format!("::{token}::"));
    fenced
}

/// A URL as messages show it: user info, query values and the fragment replaced by `***`
/// (`https://***@host/path?token=***&page=***#***`). Query values carry tokens (pre-signed URLs,
/// `?api_key=`) as often as page numbers, and a message cannot tell which.
pub fn shown_url(url: &str) -> String {
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, fragment)) if !fragment.is_empty() => (rest, Some("***")),
        Some((rest, _)) => (rest, Some("")),
        None => (url, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let mut shown = match rest.find("://") {
        Some(scheme_end) => {
            let authority_start = scheme_end + 3;
            let authority_end = rest[authority_start..]
                .find('/')
                .map_or(rest.len(), |at| authority_start + at);
            match rest[authority_start..authority_end].rfind('@') {
                Some(at) => format!(
                    "{}***{}",
                    &rest[..authority_start],
                    &rest[authority_start + at..]
                ),
                None => rest.to_owned(),
            }
        }
        None => rest.to_owned(),
    };
    if let Some(query) = query {
        shown.push('?');
        let items: Vec<String> = query
            .split('&')
            .map(|item| match item.split_once('=') {
                Some((name, "")) => format!("{name}="),
                Some((name, _)) => format!("{name}=***"),
                None if item.is_empty() => String::new(),
                None => "***".to_owned(),
            })
            .collect();
        shown.push_str(&items.join("&"));
    }
    if let Some(fragment) = fragment {
        shown.push('#');
        shown.push_str(fragment);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_where_a_runner_reads_a_new_line() {
        assert_eq!(split_lines("a\r\nb\rc\nd"), ["a", "b", "c", "d"]);
        assert_eq!(split_lines("a\n"), ["a"]);
        assert_eq!(split_lines("a\n\nb"), ["a", "", "b"]);
        assert_eq!(split_lines("\r"), [""]);
        assert_eq!(split_lines(""), [""]);
        assert_eq!(split_lines("\n\n"), ["", ""]);
    }

    #[test]
    fn tokens_are_fresh_and_absent_from_the_block() {
        let first = fence_token(&[]);
        let second = fence_token(&[]);
        assert_eq!(first.len(), 32);
        assert_ne!(first, second);
        // A token that a line holds, in any case, is drawn again.
        let mut draws = vec!["abc123".to_owned(), "c0ffee".to_owned()].into_iter();
        let lines = vec!["x ABC123 y".to_owned()];
        let token = pick_token(&lines, || draws.next().unwrap_or_default());
        assert_eq!(token, "c0ffee");
    }

    #[test]
    fn blocks_are_fenced_only_for_a_runner() {
        let lines = vec!["ok".to_owned(), "::error::x".to_owned()];
        assert_eq!(fence(lines.clone(), false), lines);
        let fenced = fence(lines, true);
        assert_eq!(fenced.len(), 4);
        let token = fenced[0].trim_start_matches("::stop-commands::");
        assert_eq!(token.len(), 32);
        assert_eq!(fenced[1..3], ["ok", "::error::x"]);
        assert_eq!(fenced[3], format!("::{token}::"));
        assert!(fence(Vec::new(), true).is_empty());
    }

    #[test]
    fn plain_blocks_need_no_fence() {
        let lines = vec!["#5 [2/3] RUN make".to_owned(), "a: b, c # d".to_owned()];
        assert_eq!(fence(lines.clone(), true), lines);
    }

    #[test]
    fn anything_a_runner_could_read_is_not_plain() {
        assert!(!plain("::error::x"));
        assert!(!plain("x ##[add-mask]y"));
        assert!(!plain("std::vector"));
        assert!(!plain("tab\there"));
        assert!(!plain(":\u{200b}:error::x"));
        assert!(!plain("#\u{0}#[error]x"));
        assert!(!plain("soft\u{ad}hyphen"));
        assert!(!plain(":\u{301}:combining"));
        assert!(!plain("\u{feff}bom"));
        assert!(!plain("\u{2028}line separator"));
        assert!(!plain("日本語"));
        assert!(plain("#[x] ## [y] :a: -"));
        assert!(plain("│ café → 3× ≤ 1% … ─ ✓"));
    }

    #[test]
    fn urls_lose_userinfo_query_values_and_fragment() {
        assert_eq!(
            shown_url("https://me:pw@h.example:8443/a/b?token=s3&page=2&flag&e=#frag"),
            "https://***@h.example:8443/a/b?token=***&page=***&***&e=#***"
        );
        assert_eq!(shown_url("http://h/p"), "http://h/p");
        assert_eq!(shown_url("http://h/p@q?x=1"), "http://h/p@q?x=***");
        assert_eq!(shown_url("http://u@h"), "http://***@h");
    }
}
