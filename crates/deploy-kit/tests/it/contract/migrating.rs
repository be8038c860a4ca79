//! docs/migrating.md stays whole: every input name of the aws-actions actions (the data file
//! docs/migrating/aws-actions-inputs.json) has one row in its action's table with a verdict, and a
//! verdict that says we take the input ("same") or point elsewhere ("different") names an input our
//! action.yml really declares.

use std::collections::{BTreeMap, BTreeSet};

use crate::contract::action_yml::{keys, load, repo_root};

const VERDICTS: [&str; 3] = ["same", "different", "not accepted"];

/// One aws-actions action from the data file.
struct Theirs {
    action: String,
    ours: Vec<String>,
    inputs: Vec<String>,
}

fn data() -> Vec<Theirs> {
    let path = repo_root().join("docs/migrating/aws-actions-inputs.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    doc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| Theirs {
            action: a["action"].as_str().unwrap().to_owned(),
            ours: strings(&a["ours"]),
            inputs: strings(&a["inputs"]),
        })
        .collect()
}

/// Our actions' input names, by action.
fn our_inputs() -> BTreeMap<String, BTreeSet<String>> {
    let root = repo_root();
    [
        "oidc-login",
        "build-push-ecr",
        "render-taskdef",
        "ecs-blue-green",
        "run-migrations",
        "ecr-login",
    ]
    .into_iter()
    .map(|a| {
        let yml = load(&root.join(a).join("action.yml"));
        (a.to_owned(), keys(&yml["inputs"]))
    })
    .collect()
}

/// The guide's sections: heading line -> table rows (cells, trimmed).
fn sections(guide: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let mut found: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for line in guide.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            found.push((heading.to_owned(), Vec::new()));
        } else if line.starts_with("| `")
            && let Some((_, rows)) = found.last_mut()
        {
            let cells = line
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect();
            rows.push(cells);
        }
    }
    found
}

fn unquote(cell: &str) -> Option<&str> {
    cell.strip_prefix('`')?.strip_suffix('`')
}

/// What is wrong with `guide` against the data and our action.yml files.
fn problems(guide: &str) -> Vec<String> {
    let ours = our_inputs();
    let sections = sections(guide);
    let mut problems = Vec::new();
    for theirs in data() {
        let heading = format!("{} → {}", theirs.action, theirs.ours.join(", "));
        let Some((_, rows)) = sections.iter().find(|(h, _)| *h == heading) else {
            problems.push(format!("no section `## {heading}`"));
            continue;
        };
        let declared: BTreeSet<&String> = theirs.ours.iter().flat_map(|a| &ours[a]).collect();
        let mut seen = BTreeSet::new();
        for row in rows {
            let [their, our, verdict, why] = row.as_slice() else {
                problems.push(format!(
                    "{}: row {row:?} does not have 4 cells",
                    theirs.action
                ));
                continue;
            };
            let name = unquote(their).unwrap_or(their);
            let at = format!("{} `{name}`", theirs.action);
            if !theirs.inputs.iter().any(|i| i == name) {
                problems.push(format!("{at}: not an input of theirs (stale row?)"));
            }
            if !seen.insert(name.to_owned()) {
                problems.push(format!("{at}: more than one row"));
            }
            if !VERDICTS.contains(&verdict.as_str()) {
                problems.push(format!(
                    "{at}: verdict `{verdict}` is not one of {VERDICTS:?}"
                ));
            }
            if why.is_empty() {
                problems.push(format!("{at}: says neither why nor what to use"));
            }
            let our_name = unquote(our);
            let ours_declares = our_name.is_some_and(|n| declared.iter().any(|d| *d == n));
            match verdict.as_str() {
                "same" if our_name != Some(name) || !ours_declares => problems.push(format!(
                    "{at}: `same`, but {:?} has no input `{name}`",
                    theirs.ours
                )),
                "different" if our_name.is_some() && !ours_declares => problems.push(format!(
                    "{at}: points to {our}, which {:?} does not declare",
                    theirs.ours
                )),
                "not accepted" if declared.iter().any(|d| *d == name) => problems.push(format!(
                    "{at}: `not accepted`, but {:?} declares `{name}`",
                    theirs.ours
                )),
                _ => {}
            }
        }
        for missing in theirs.inputs.iter().filter(|i| !seen.contains(*i)) {
            problems.push(format!(
                "{} `{missing}`: no row in the guide",
                theirs.action
            ));
        }
    }
    problems
}

fn guide() -> String {
    std::fs::read_to_string(repo_root().join("docs/migrating.md")).unwrap()
}

#[test]
fn every_aws_actions_input_has_a_row_with_a_verdict() {
    let problems = problems(&guide());
    assert!(
        problems.is_empty(),
        "docs/migrating.md:\n{}",
        problems.join("\n")
    );
    // Not vacuous: the data file has all four actions and their inputs.
    let data = data();
    assert_eq!(data.len(), 4);
    assert!(data.iter().map(|t| t.inputs.len()).sum::<usize>() > 60);
}

/// The check itself catches a dropped row, a false `same`, and an input we took but still call
/// `not accepted`.
#[test]
fn the_check_fails_on_a_broken_guide() {
    let guide = guide();
    let dropped = guide.replace(
        "| `force-skip-oidc` | — | not accepted |",
        "| `force-skip-odic` | — | not accepted |",
    );
    let found = problems(&dropped).join("\n");
    assert!(found.contains("`force-skip-oidc`: no row"), "{found}");
    assert!(
        found.contains("`force-skip-odic`: not an input of theirs"),
        "{found}"
    );

    let false_same = guide.replace(
        "| `run-task-tags` | — | not accepted |",
        "| `run-task-tags` | `run-task-tags` | same |",
    );
    let found = problems(&false_same).join("\n");
    assert!(found.contains("`run-task-tags`: `same`, but"), "{found}");

    let taken = guide.replace(
        "| `env-files` | `env-files` | same |",
        "| `env-files` | — | not accepted |",
    );
    let found = problems(&taken).join("\n");
    assert!(
        found.contains("`env-files`: `not accepted`, but"),
        "{found}"
    );
}
