//! Workflow-command encoding, per the runner's rules (actions/toolkit `command.ts`).

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
    fn render_without_properties() {
        assert_eq!(render("endgroup", &[], ""), "::endgroup::");
    }
}
