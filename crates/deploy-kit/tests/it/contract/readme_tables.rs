//! Each action README's Inputs and Outputs tables against its action.yml: every input and
//! output listed once, nothing listed that the action lacks, and each non-empty default shown.
//! READMEs are what users read first; a renamed input must not leave them stale.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;

use crate::contract::action_yml::{actions, keys, load, repo_root};

/// The rows of the tables in the README section headed exactly `heading`: the names in the
/// first column (several per row, comma-separated, in backticks) and the second column.
fn table_rows(readme: &str, heading: &str) -> Vec<(Vec<String>, String)> {
    let section = readme
        .split("\n## ")
        .find(|s| s.lines().next() == Some(heading))
        .unwrap_or_else(|| panic!("no `## {heading}` section"));
    section
        .lines()
        .filter(|line| line.starts_with('|'))
        .map(|line| line.trim_matches('|').split('|').map(str::trim))
        .filter_map(|mut cells| {
            let first = cells.next()?;
            let names: Vec<String> = first
                .split(',')
                .filter_map(|name| {
                    let name = name.trim();
                    (name.len() > 2 && name.starts_with('`') && name.ends_with('`'))
                        .then(|| name.trim_matches('`').to_owned())
                })
                .collect();
            (!names.is_empty()).then(|| (names, cells.next().unwrap_or("").to_owned()))
        })
        .collect()
}

/// Name -> second column; a name listed twice fails.
fn documented(readme: &str, heading: &str, action: &str) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    for (names, second) in table_rows(readme, heading) {
        for name in names {
            let again = seen.insert(name.clone(), second.clone());
            assert!(
                again.is_none(),
                "{action}: `{name}` listed twice in {heading}"
            );
        }
    }
    seen
}

fn default_of(inputs: &Value, name: &str) -> String {
    inputs[name]["default"].as_str().unwrap_or("").to_owned()
}

#[test]
fn readme_tables_list_exactly_the_action_yml_inputs_and_outputs() {
    for (action, ..) in actions() {
        let yaml = load(&repo_root().join(action).join("action.yml"));
        let path = repo_root().join(action).join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();

        let inputs = documented(&readme, "Inputs", action);
        let listed: BTreeSet<String> = inputs.keys().cloned().collect();
        assert_eq!(
            listed,
            keys(&yaml["inputs"]),
            "{action}/README.md Inputs table vs action.yml inputs"
        );
        for (name, default_cell) in &inputs {
            let default = default_of(&yaml["inputs"], name);
            assert!(
                default.is_empty() || default_cell.contains(&format!("`{default}`")),
                "{action}/README.md: `{name}` defaults to `{default}` in action.yml; \
                 the table says {default_cell:?}"
            );
        }

        let outputs: BTreeSet<String> =
            documented(&readme, "Outputs", action).into_keys().collect();
        assert_eq!(
            outputs,
            keys(&yaml["outputs"]),
            "{action}/README.md Outputs table vs action.yml outputs"
        );
    }
}

#[test]
fn the_table_reader_reads_several_names_per_row_and_the_second_column() {
    let readme = "# x\n\n## Inputs\n\n| Input | Default | Meaning |\n|---|---|---|\n\
                  | `a`, `b` | `1` | both |\n\n## Outputs\n\nnone\n";
    let inputs = documented(readme, "Inputs", "x");
    assert_eq!(inputs.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(inputs["a"], "`1`");
    assert!(documented(readme, "Outputs", "x").is_empty());
}
