//! The bad-input battery: every input of every action (read from the `action.yml` files, so a new
//! input is attacked too), one at a time on a valid baseline, with each hostile value its kind
//! must refuse: empty and whitespace (required inputs), the wrong type, malformed values, an
//! oversized value, unicode, control characters and shell metacharacters. Each case must exit 2
//! naming the input, without a panic, within the deadline, and the bed must see no mutating AWS
//! call. The baselines themselves are run too: accepted, and making the writes a case must not.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::contract::action_yml::{env_name, keys, load, repo_root};

pub(crate) mod exec;
mod kinds;
pub(crate) mod setup;

use exec::{Job, Run};
use kinds::{KINDS, Kind, hostile};

use Kind::Text;
use setup::{Baseline, World};

/// One attack: an input of an action set to a hostile value on its baseline.
struct Case {
    action: &'static str,
    input: String,
    class: &'static str,
    value: String,
}

impl Case {
    fn describe(&self) -> String {
        let shown: String = self
            .value
            .chars()
            .take(40)
            .collect::<String>()
            .escape_debug()
            .to_string();
        let more = if self.value.chars().count() > 40 {
            "…"
        } else {
            ""
        };
        format!(
            "{} `{}` {} ({shown}{more})",
            self.action, self.input, self.class
        )
    }

    /// Why this run does not pass, if it does not.
    fn verdict(&self, ran: &Run) -> Option<String> {
        let named = format!("input `{}`", self.input);
        let problem = if ran.hung {
            format!("still running after {:?}", ran.took)
        } else if ran.stderr.contains("panicked") {
            "panicked".to_owned()
        } else if ran.code != Some(2) {
            format!("exit {:?}, not 2", ran.code)
        } else if !ran.stderr.contains(&named) {
            format!("the error does not name {named}")
        } else if self.class == "oversized" && ran.stderr.len() > 16 * 1024 {
            format!(
                "echoed the value back ({} bytes of stderr)",
                ran.stderr.len()
            )
        } else {
            return None;
        };
        let tail: String = ran.stderr.chars().take(600).collect();
        Some(format!(
            "{}: {problem}\n    {}",
            self.describe(),
            tail.trim_end()
        ))
    }
}

/// Declared inputs of `action`, with their action.yml defaults and whether they are required.
fn declared(action: &str) -> Vec<(String, String, bool)> {
    let yaml = load(&repo_root().join(action).join("action.yml"));
    keys(&yaml["inputs"])
        .into_iter()
        .map(|input| {
            let spec = &yaml["inputs"][input.as_str()];
            let default = spec["default"].as_str().unwrap_or_default().to_owned();
            let required = spec["description"]
                .as_str()
                .unwrap_or_default()
                .contains("Required");
            (input, default, required)
        })
        .collect()
}

fn kind_of(action: &str, input: &str) -> Option<Kind> {
    KINDS
        .iter()
        .find(|(a, _)| *a == action)
        .and_then(|(_, inputs)| inputs.iter().find(|(i, _)| *i == input))
        .map(|(_, kind)| *kind)
}

/// The baseline of `input`: the one that claims it, else the action's general one.
fn baseline_of<'a>(world: &'a World, action: &str, input: &str) -> &'a Baseline {
    let of_action = || world.baselines.iter().filter(|b| b.action == action);
    of_action()
        .find(|b| b.only.contains(&input))
        .or_else(|| of_action().find(|b| b.only.is_empty()))
        .unwrap_or_else(|| panic!("{action}: no baseline"))
}

/// The job for `baseline` with `input` replaced by `value`: defaults first, as the runner does.
fn job(
    world: &World,
    action: &'static str,
    baseline: &Baseline,
    change: Option<(&str, &str)>,
) -> Job {
    let mut inputs: BTreeMap<String, String> = declared(action)
        .into_iter()
        .map(|(input, default, _)| (input, default))
        .collect();
    for (input, value) in &baseline.inputs {
        assert!(
            inputs.contains_key(*input),
            "{action}: baseline sets unknown input `{input}`"
        );
        inputs.insert((*input).to_owned(), value.clone());
    }
    if let Some((input, value)) = change {
        inputs.insert(input.to_owned(), value.to_owned());
    }
    let mut env = world.env(action);
    env.extend(
        inputs
            .into_iter()
            .map(|(input, value)| (env_name(&input), value)),
    );
    Job {
        action: action.to_owned(),
        env,
    }
}

fn is_mutating(call: &str) -> bool {
    let operation = call.split_once(':').map_or(call, |(_, op)| op);
    !["Describe", "List", "Get", "BatchGet"]
        .iter()
        .any(|read| operation.starts_with(read))
}

const ACTIONS: [&str; 7] = [
    "oidc-login",
    "build-push-ecr",
    "render-taskdef",
    "ecs-blue-green",
    "run-migrations",
    "smoke-test",
    "deploy-static",
];

fn cases(shell: &str, bad_json: &str) -> (Vec<Case>, Vec<String>) {
    let mut cases = Vec::new();
    let mut untyped = Vec::new();
    for action in ACTIONS {
        for (input, _, required) in declared(action) {
            let kind = kind_of(action, &input);
            if kind.is_none() {
                untyped.push(format!("{action} `{input}`"));
            }
            let mut values = hostile(kind.unwrap_or(Text), shell, bad_json);
            if kind.is_none() {
                values.truncate(2); // oversized and control: every input must refuse those
            }
            if required {
                values.push(("empty", String::new()));
                values.push(("whitespace", " \n\t ".to_owned()));
            }
            cases.extend(values.into_iter().map(|(class, value)| Case {
                action,
                input: input.clone(),
                class,
                value,
            }));
        }
    }
    (cases, untyped)
}

#[tokio::test]
async fn every_input_refuses_hostile_values_with_exit_2_and_no_write() {
    let world = setup::world().await;
    let canary = world.dir.path().join("shell-ran");
    let shell = format!("$(touch {0})`touch {0}`;touch {0}|&<>", canary.display());
    let bad_json = world.dir.path().join("malformed.json");
    std::fs::write(
        &bad_json,
        r#"{"family": "api", "containerDefinitions": [{"name": "#,
    )
    .unwrap();
    let (cases, untyped) = cases(&shell, &bad_json.display().to_string());
    let jobs: Vec<Job> = cases
        .iter()
        .map(|case| {
            let baseline = baseline_of(&world, case.action, &case.input);
            job(
                &world,
                case.action,
                baseline,
                Some((&case.input, &case.value)),
            )
        })
        .collect();

    check_baselines(&world);
    world.reset_calls();
    let started = Instant::now();
    let runs = exec::run_all(&jobs, Duration::from_secs(10), 4);
    let took = started.elapsed();
    let writes: Vec<String> = world
        .calls()
        .into_iter()
        .filter(|c| is_mutating(c))
        .collect();
    eprintln!(
        "bad input: {} cases over {} actions in {took:.1?}",
        cases.len(),
        ACTIONS.len()
    );

    let failures: Vec<String> = cases
        .iter()
        .zip(&runs)
        .filter_map(|(case, ran)| case.verdict(ran))
        .collect();
    let writers = writers(&world, &cases, &jobs, &writes);
    assert!(
        !canary.exists(),
        "a shell ran an input: {} exists",
        canary.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        writes.is_empty(),
        "mutating AWS calls {writes:?}, by:\n{}",
        writers.join("\n")
    );
    assert!(
        untyped.is_empty(),
        "no kind for {}: add it to KINDS in bad_input.rs (only the oversized and control cases ran)",
        untyped.join(", ")
    );
    let stale = stale_kinds();
    assert!(
        stale.is_empty(),
        "KINDS lists inputs no action.yml declares: {stale:?}"
    );
}

/// Which case wrote, when one did: each suspect again, alone, with the log reset.
fn writers(world: &World, cases: &[Case], jobs: &[Job], writes: &[String]) -> Vec<String> {
    if writes.is_empty() {
        Vec::new()
    } else {
        cases
            .iter()
            .zip(jobs)
            .filter(|(case, _)| {
                !matches!(case.action, "render-taskdef" | "smoke-test" | "ecr-login")
            })
            .filter_map(|(case, job)| {
                world.reset_calls();
                exec::run(job, Duration::from_secs(10));
                let wrote: Vec<String> = world
                    .calls()
                    .into_iter()
                    .filter(|c| is_mutating(c))
                    .collect();
                (!wrote.is_empty()).then(|| format!("{}: {wrote:?}", case.describe()))
            })
            .collect()
    }
}

/// KINDS entries for inputs no action.yml declares.
fn stale_kinds() -> Vec<String> {
    KINDS
        .iter()
        .flat_map(|(action, inputs)| {
            let known: Vec<String> = declared(action).into_iter().map(|(i, _, _)| i).collect();
            inputs
                .iter()
                .filter(move |(input, _)| !known.iter().any(|k| k == input))
                .map(move |(input, _)| format!("{action} `{input}`"))
        })
        .collect()
}

/// Each baseline is accepted (not exit 2), and for the actions that write to AWS it does write:
/// so a case's refusal is its own input's doing, and a write by a case would be seen. They run
/// first: what they leave (a repository, deployments in flight) cannot make a case pass.
fn check_baselines(world: &World) {
    let mut problems = Vec::new();
    for baseline in &world.baselines {
        world.reset_calls();
        let job = job(world, baseline.action, baseline, None);
        let ran = exec::run(&job, Duration::from_secs(30));
        let writes: Vec<String> = world
            .calls()
            .into_iter()
            .filter(|c| is_mutating(c))
            .collect();
        let writer = !matches!(
            baseline.action,
            "render-taskdef" | "smoke-test" | "ecr-login"
        );
        if ran.code == Some(2) || ran.hung || ran.stderr.contains("panicked") {
            problems.push(format!(
                "{} baseline {:?}: exit {:?}\n{}",
                baseline.action, baseline.only, ran.code, ran.stderr
            ));
        } else if writer && writes.is_empty() {
            problems.push(format!(
                "{} baseline wrote nothing: {:?}",
                baseline.action,
                world.calls()
            ));
        }
    }
    assert!(problems.is_empty(), "baselines:\n{}", problems.join("\n"));
}
