use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::list_task_definitions::ListTaskDefinitionsOutput;
use aws_sdk_ecs::types::{TaskDefinition as Described, TaskDefinitionStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_ecs::{Error, RevisionRef, RevisionRefusal, ServiceRef, Target, TaskDefinition};

const ARN: &str = "arn:aws:ecs:us-east-1:1:task-definition/api:7";

fn service() -> ServiceRef {
    ServiceRef::from_inputs(None, Some("api")).unwrap()
}

#[test]
fn cluster_defaults_to_default_and_service_is_required() {
    assert_eq!(service().cluster, "default");
    assert_eq!(service().to_string(), "service `api` in cluster `default`");
    let error = ServiceRef::from_inputs(Some("prod"), None).unwrap_err();
    assert!(error.to_string().contains("`service`"), "{error}");
    let error = ServiceRef::from_inputs(Some("a b"), Some("api")).unwrap_err();
    assert!(error.to_string().contains("`cluster`"), "{error}");
}

#[test]
fn deploy_grammar_takes_an_arn_previous_a_number_or_a_file() {
    let parse = |text: &str| TaskDefinition::for_deploy(Some(text));
    assert!(matches!(parse(ARN).unwrap(), TaskDefinition::Reference(arn) if arn == ARN));
    assert!(matches!(
        parse("previous").unwrap(),
        TaskDefinition::Revision(RevisionRef::Previous)
    ));
    assert!(matches!(
        parse("41").unwrap(),
        TaskDefinition::Revision(RevisionRef::Number(41))
    ));
    // Anything else is a file, read when parsed.
    let error = parse("deploy/missing.json").unwrap_err().to_string();
    assert!(
        error.contains("cannot read `deploy/missing.json`"),
        "{error}"
    );
    let error = parse("arn:aws:ecs:x").unwrap_err().to_string();
    assert!(error.contains("not a task definition ARN"), "{error}");
    assert!(TaskDefinition::for_deploy(None).is_err());
}

#[test]
fn run_grammar_defaults_to_the_service_and_takes_family_revision() {
    assert!(matches!(
        TaskDefinition::for_run(None).unwrap(),
        TaskDefinition::Service
    ));
    assert!(matches!(
        TaskDefinition::for_run(Some("migrate:3")).unwrap(),
        TaskDefinition::Reference(r) if r == "migrate:3"
    ));
    let error = TaskDefinition::for_run(Some("td.json")).unwrap_err();
    assert!(
        error.to_string().contains("cannot read `td.json`"),
        "{error}"
    );
}

#[tokio::test]
async fn previous_is_the_newest_active_revision_below_the_running_one() {
    let list = mock!(Client::list_task_definitions).then_output(|| {
        ListTaskDefinitionsOutput::builder()
            .task_definition_arns("arn:aws:ecs:us-east-1:1:task-definition/api:6")
            .task_definition_arns("arn:aws:ecs:us-east-1:1:task-definition/api-worker:9")
            .task_definition_arns("arn:aws:ecs:us-east-1:1:task-definition/api:5")
            .build()
    });
    let describe = mock!(Client::describe_task_definition).then_output(|| {
        DescribeTaskDefinitionOutput::builder()
            .task_definition(
                Described::builder()
                    .status(TaskDefinitionStatus::Active)
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&list, &describe]);
    let target = TaskDefinition::Revision(RevisionRef::Previous)
        .target(&client, &service(), Some(ARN))
        .await
        .unwrap();
    assert!(
        matches!(&target, Target::Existing(arn) if arn == "arn:aws:ecs:us-east-1:1:task-definition/api:6"),
        "{target:?}"
    );
}

#[tokio::test]
async fn a_service_running_nothing_has_no_family_to_pick_from() {
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, []);
    let error = TaskDefinition::Revision(RevisionRef::Number(3))
        .target(&client, &service(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Revision(RevisionRefusal::NoFamily { .. })),
        "{error}"
    );
}
