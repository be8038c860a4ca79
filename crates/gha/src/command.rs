//! Workflow-command encoding, per the runner's rules (actions/toolkit `command.ts`), and the
//! runner's limits on annotations.

/// The runner shows at most this many annotations of each kind (error, warning, notice) per
/// step; later ones are log lines only. A composite action's steps count toward their action's
/// step (actions/runner src/Runner.Worker/ExecutionContext.cs: `_maxCountPerIssueType`, and
/// embedded contexts hand their issues to the nearest step).
pub(crate) const ANNOTATIONS_PER_KIND: usize = 10;

/// The runner cuts an annotation's message, and the log line it writes for it, at this many
/// UTF-16 units (ExecutionContext.cs: `_maxIssueMessageLength`).
pub(crate) const ANNOTATION_MESSAGE_MAX: usize = 4096;

/// Which annotations get the runner's slots: ordinary ones up to the last slot, which shows
/// "N more in the log" when some were held back; for errors one more slot is kept for the
/// step's failure, so the message that says why the step failed is always an annotation.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    shown: [usize; 3],
    held: [usize; 3],
}

impl Budget {
    /// Takes a slot for an annotation of `kind` (0 error, 1 warning, 2 notice); false: print
    /// it as a plain log line instead.
    pub(crate) fn take(&mut self, kind: usize, failure: bool) -> bool {
        let reserved = if kind == 0 { 2 } else { 1 };
        let room = if failure {
            ANNOTATIONS_PER_KIND
        } else {
            ANNOTATIONS_PER_KIND - reserved
        };
        if self.shown[kind] < room {
            self.shown[kind] += 1;
            true
        } else {
            self.held[kind] += 1;
            false
        }
    }

    /// How many annotations of `kind` went to the log only; the count is reported once.
    pub(crate) fn take_held(&mut self, kind: usize) -> usize {
        std::mem::take(&mut self.held[kind])
    }
}

/// A message within the runner's annotation limit: its head (what failed) and its tail (the
/// last lines, where tools print the cause), with a note in between saying what was cut.
pub(crate) fn fit_message(message: &str) -> String {
    let units = message.encode_utf16().count();
    if units <= ANNOTATION_MESSAGE_MAX {
        return message.to_owned();
    }
    let head = take_units(message.chars(), 1000);
    let tail: String = take_units(message.chars().rev(), 2900)
        .chars()
        .rev()
        .collect();
    let cut = units - head.encode_utf16().count() - tail.encode_utf16().count();
    format!(
        "{head}\n[... {cut} characters cut: the runner shows {ANNOTATION_MESSAGE_MAX} ...]\n{tail}"
    )
}

fn take_units(chars: impl Iterator<Item = char>, budget: usize) -> String {
    let mut used = 0;
    chars
        .take_while(|c| {
            used += c.len_utf16();
            used <= budget
        })
        .collect()
}

/// Escapes the message part of `::cmd::message`.
pub(crate) fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`title=...`): the data rules plus `:` and `,`, which delimit properties.
pub(crate) fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

/// Renders `::name key=value,...::message`.
pub(crate) fn render(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let mut line = format!("::{name}");
    for (index, (key, value)) in properties.iter().enumerate() {
        line.push(if index == 0 { ' ' } else { ',' });
        line.push_str(key);
        line.push('=');
        line.push_str(&escape_property(value));
    }
    line.push_str("::");
    line.push_str(&escape_data(message));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_and_newlines_but_not_colons() {
        assert_eq!(escape_data("50%\r\nok: a,b"), "50%25%0D%0Aok: a,b");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn render_joins_properties_with_commas() {
        let line = render(
            "error",
            &[("title", "render-taskdef"), ("file", "a,b")],
            "bad\nthing",
        );
        assert_eq!(line, "::error title=render-taskdef,file=a%2Cb::bad%0Athing");
    }

    #[test]
    fn ordinary_annotations_leave_the_last_slots_to_the_count_and_the_failure() {
        let mut budget = Budget::default();
        let warnings = (0..12).filter(|_| budget.take(1, false)).count();
        assert_eq!(warnings, ANNOTATIONS_PER_KIND - 1);
        assert_eq!(budget.take_held(1), 3);
        assert_eq!(budget.take_held(1), 0, "reported once");
        let errors = (0..12).filter(|_| budget.take(0, false)).count();
        assert_eq!(errors, ANNOTATIONS_PER_KIND - 2);
        assert!(budget.take(0, true), "the step's failure always shows");
    }

    #[test]
    fn a_long_message_keeps_its_head_and_tail_within_the_runners_limit() {
        let message = format!(
            "`docker build` failed:\n{}\nERROR: the cause",
            "é".repeat(9000)
        );
        let fitted = fit_message(&message);
        assert!(fitted.encode_utf16().count() <= ANNOTATION_MESSAGE_MAX);
        assert!(fitted.starts_with("`docker build` failed:"));
        assert!(fitted.ends_with("ERROR: the cause"));
        assert!(fitted.contains("characters cut"), "says so");
        assert_eq!(fit_message("short"), "short");
    }

    #[test]
    fn render_without_properties() {
        assert_eq!(render("endgroup", &[], ""), "::endgroup::");
    }
}
