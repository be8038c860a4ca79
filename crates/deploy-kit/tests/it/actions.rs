//! One module per action, each against the test bed through its own fixture (bed, clients,
//! scratch directory) and `crate::deploy_kit()`.

// ecs-blue-green: strategies, rollbacks, pre-flight, dry run; the 5xx alarm; a service's life.
pub mod ecs_blue_green;
// run-migrations: logs, verdicts, network, timeouts, cancel, bad input; uneven ECS.
pub mod run_migrations;
// deploy-static against the bed's S3 and CloudFront: only what changed, order, deletions,
// invalidation, bad input.
pub mod deploy_static;
// build-push-ecr against the bed's docker engine and registry behind ECR.
mod build_push_ecr;
// ecr-login against the bed's ECR and registry: later steps' docker pulls and pushes, logout.
mod ecr_login;
// oidc-login against the bed's GitHub OIDC endpoint and STS: exports, masks, retries, errors.
mod oidc_login;
// smoke-test over HTTPS: the system roots every step shares, a private CA among them.
mod smoke_test;
