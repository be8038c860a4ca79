//! Markdown for `$GITHUB_STEP_SUMMARY`, and the runner's size limit on it.

use std::fmt::Write;

/// The runner uploads a step's summary only when its file is at most 1 MiB; a larger one is
/// dropped whole, with an error annotation (actions/runner
/// src/Runner.Worker/FileCommandManager.cs, `CreateStepSummaryCommand.AttachmentSizeLimit`;
/// https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions#adding-a-markdown-summary).
pub const STEP_SUMMARY_LIMIT: u64 = 1024 * 1024;

/// The note that ends a cut summary.
pub const CUT_NOTE: &str = "\n> [!NOTE]\n> The rest of this report is cut: a step summary is limited to 1 MiB. The full detail is in the step's log.\n";

/// What to append to a summary file of `existing` bytes so it stays within `limit`: all of
/// `markdown`, or the whole lines that fit followed by [`CUT_NOTE`] (`cut` true; nothing more
/// should be appended after it), or nothing when not even the note fits.
pub fn fit(existing: u64, markdown: &str, limit: u64) -> (String, bool) {
    let room = limit.saturating_sub(existing);
    if markdown.len() as u64 <= room {
        return (markdown.to_owned(), false);
    }
    let Some(budget) = room.checked_sub(CUT_NOTE.len() as u64 + 4) else {
        return (String::new(), true);
    };
    let mut kept = String::new();
    let mut fenced = false;
    for line in markdown.split_inclusive('\n') {
        if (kept.len() + line.len()) as u64 > budget {
            break;
        }
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        kept.push_str(line);
    }
    if !kept.is_empty() && !kept.ends_with('\n') {
        kept.push('\n');
    }
    if fenced {
        // The note must not land inside a code block the cut left open.
        kept.push_str("```\n");
    }
    kept.push_str(CUT_NOTE);
    (kept, true)
}

/// A Markdown table; cells are escaped so `|` and newlines in values cannot break it.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |cells: &[String]| {
            let cells: Vec<String> = (0..self.headers.len())
                .map(|i| escape_cell(cells.get(i).map_or("", String::as_str)))
                .collect();
            format!("| {} |\n", cells.join(" | "))
        };
        out.push_str(&line(&self.headers));
        let _ = writeln!(out, "|{}", " --- |".repeat(self.headers.len()));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// Escapes a value for a table cell.
pub fn escape_cell(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

/// Inline code that survives backticks in the value.
pub fn code(value: &str) -> String {
    if value.contains('`') {
        format!("`` {value} ``")
    } else {
        format!("`{value}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_table() {
        let mut table = Table::new(["container", "image"]);
        table.row(["web", "nginx:1|2"]).row(["worker"]);
        insta::assert_snapshot!(table.render(), @r"
        | container | image |
        | --- | --- |
        | web | nginx:1\|2 |
        | worker |  |
        ");
    }

    #[test]
    fn a_summary_that_fits_is_written_whole() {
        assert_eq!(fit(10, "| a |\n", 100), ("| a |\n".to_owned(), false));
    }

    #[test]
    fn a_long_summary_is_cut_at_a_line_with_a_note_and_stays_under_the_limit() {
        let rows: String = (0..80_000).map(|i| format!("| {i} | ok |\n")).collect();
        let existing = 300_000;
        let (kept, cut) = fit(existing, &rows, STEP_SUMMARY_LIMIT);
        assert!(cut);
        assert!(existing + kept.len() as u64 <= STEP_SUMMARY_LIMIT);
        assert!(kept.ends_with(CUT_NOTE));
        let body = kept.strip_suffix(CUT_NOTE).unwrap();
        assert!(
            body.lines()
                .all(|l| l.starts_with("| ") && l.ends_with(" |")),
            "whole rows only"
        );
    }

    #[test]
    fn a_cut_inside_a_code_block_closes_it_before_the_note() {
        let text = format!("```\n{}```\n", "log line\n".repeat(100));
        let (kept, cut) = fit(0, &text, 400);
        assert!(cut && kept.len() <= 400);
        assert!(kept.ends_with(&format!("```\n{CUT_NOTE}")), "{kept}");
        assert_eq!(
            fit(399, &text, 400),
            (String::new(), true),
            "no room for the note"
        );
    }

    #[test]
    fn code_handles_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
