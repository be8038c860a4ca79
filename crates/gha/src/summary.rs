//! Markdown for `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write;

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
    fn code_handles_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
