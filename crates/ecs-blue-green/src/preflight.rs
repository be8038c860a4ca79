//! Pre-flight, before any write: the service exists, is ACTIVE and uses the ECS deployment
//! controller; no other service deployment is in flight; the strategy has the load balancer
//! `advancedConfiguration` it needs. Every refusal names the resource and what to do.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentControllerType, DeploymentStrategy, LoadBalancer,
    ServiceDeploymentStatus,
};
use deploy_kit_ecs::Described;

use crate::input::{Input, Strategy};
use crate::{Error, update};

/// Why the deployment was not started. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "service `{service}` not found in cluster `{cluster}` ({reason}): check `cluster` and `service`"
    )]
    Missing {
        cluster: String,
        service: String,
        reason: String,
    },
    #[error(
        "service `{service}` in cluster `{cluster}` is {status}, not ACTIVE: deploy to an active service"
    )]
    Inactive {
        cluster: String,
        service: String,
        status: String,
    },
    #[error(
        "service `{service}` in cluster `{cluster}` uses the {controller} deployment controller; ecs-blue-green drives the ECS controller's native blue/green. {hint}"
    )]
    Controller {
        cluster: String,
        service: String,
        controller: String,
        hint: &'static str,
    },
    #[error(
        "service `{service}` in cluster `{cluster}` already has a deployment {status}: {arn}. Wait for it to finish, or stop it (`aws ecs stop-service-deployment --service-deployment-arn {arn}`)"
    )]
    InFlight {
        cluster: String,
        service: String,
        arn: String,
        status: String,
    },
    #[error(
        "service `{service}` in cluster `{cluster}` deploys with ROLLING (its own strategy, kept), which has no test traffic stage for `test-url`: set `strategy` to blue-green, canary or linear, or remove `test-url`"
    )]
    TestUrlOnRolling { cluster: String, service: String },
    #[error("service `{service}` in cluster `{cluster}`: {strategy} needs `loadBalancers[].advancedConfiguration`, which lacks {}", .missing.join(", "))]
    AdvancedConfiguration {
        cluster: String,
        service: String,
        strategy: String,
        missing: Vec<String>,
    },
    #[error(
        "service `{service}` in cluster `{cluster}` has its own PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT (`deploymentConfiguration.lifecycleHooks[{index}]`), where `test-url` puts ecs-blue-green's: ecs-blue-green answers only its own hook, and a deployment paused there would wait on both. Remove `test-url` (your hook gates the test traffic), or move or remove your hook (a hook added without the `hookDetails` marker by an earlier deploy-kit is one to remove)"
    )]
    ForeignTestPause {
        cluster: String,
        service: String,
        index: usize,
    },
    #[error(
        "input `bake-time`: service `{service}` in cluster `{cluster}` has no `bakeTimeInMinutes`, which ECS requires for BLUE_GREEN: set `bake-time` (e.g. `0m` or `5m`)"
    )]
    BakeTimeRequired { cluster: String, service: String },
    #[error(
        "service `{service}` in cluster `{cluster}` keeps a deployment strategy this build does not know (`{strategy}`): set `strategy` explicitly"
    )]
    UnknownStrategy {
        cluster: String,
        service: String,
        strategy: String,
    },
}

/// What the pre-flight learned about the service, for the update and the summary.
#[derive(Debug, Clone)]
pub struct Service {
    pub arn: Option<String>,
    /// The task definition running now (the `previous-task-definition-arn` output).
    pub task_definition: Option<String>,
    /// The strategy this deployment will use: the input's, or the service's own for `keep`.
    pub strategy: DeploymentStrategy,
    /// The service's own deployment configuration, which the update keeps what it does not set.
    pub config: Option<DeploymentConfiguration>,
    pub desired_count: i32,
    /// The service's load balancers (the 5xx-rate alarm's target groups).
    pub load_balancers: Vec<LoadBalancer>,
}

impl Service {
    pub fn strategy_label(&self) -> &str {
        self.strategy.as_str()
    }
}

/// Reads the service and its deployments; refuses what cannot work.
pub async fn check(client: &Client, input: &Input) -> Result<Service, Error> {
    let (cluster, name) = (input.service.cluster.as_str(), input.service.name.as_str());
    let refuse = |refusal: Refusal| Error::Refused(refusal);
    let described = match input.service.describe(client).await? {
        Described::Found(service) => service,
        Described::Missing(reason) => {
            return Err(refuse(Refusal::Missing {
                cluster: cluster.to_owned(),
                service: name.to_owned(),
                reason,
            }));
        }
    };
    let service = &described;
    let status = service.status().unwrap_or("UNKNOWN");
    if status != "ACTIVE" {
        return Err(refuse(Refusal::Inactive {
            cluster: cluster.to_owned(),
            service: name.to_owned(),
            status: status.to_owned(),
        }));
    }
    controller(
        cluster,
        name,
        service.deployment_controller().map(|c| c.r#type()),
    )
    .map_err(refuse)?;
    let strategy = strategy(input, service).map_err(refuse)?;
    ownership(input, service.deployment_configuration(), &strategy).map_err(refuse)?;
    if let Some((arn, status)) = in_flight(client, input).await? {
        return Err(refuse(Refusal::InFlight {
            cluster: cluster.to_owned(),
            service: name.to_owned(),
            arn,
            status,
        }));
    }
    Ok(Service {
        arn: service.service_arn().map(str::to_owned),
        task_definition: service.task_definition().map(str::to_owned),
        strategy,
        config: service.deployment_configuration().cloned(),
        desired_count: service.desired_count(),
        load_balancers: service.load_balancers().to_vec(),
    })
}

/// The strategy this deployment will use, refused when ECS or this build cannot run it on the
/// service as it is (unknown, no test listener for `test-url`, no `advancedConfiguration`).
fn strategy(
    input: &Input,
    service: &aws_sdk_ecs::types::Service,
) -> Result<DeploymentStrategy, Refusal> {
    let own = service
        .deployment_configuration()
        .and_then(|config| config.strategy())
        .cloned()
        .unwrap_or(DeploymentStrategy::Rolling);
    let strategy = effective_strategy(&input.strategy, own);
    let known = matches!(
        strategy,
        DeploymentStrategy::BlueGreen
            | DeploymentStrategy::Canary
            | DeploymentStrategy::Linear
            | DeploymentStrategy::Rolling
    );
    if !known {
        return Err(Refusal::UnknownStrategy {
            cluster: input.service.cluster.clone(),
            service: input.service.name.clone(),
            strategy: strategy.as_str().to_owned(),
        });
    }
    if input.test_checks.is_some() && strategy == DeploymentStrategy::Rolling {
        return Err(Refusal::TestUrlOnRolling {
            cluster: input.service.cluster.clone(),
            service: input.service.name.clone(),
        });
    }
    let missing = missing_advanced(
        &strategy,
        service.load_balancers(),
        input.test_checks.is_some(),
    );
    if !missing.is_empty() {
        return Err(Refusal::AdvancedConfiguration {
            cluster: input.service.cluster.clone(),
            service: input.service.name.clone(),
            strategy: strategy.as_str().to_owned(),
            missing,
        });
    }
    Ok(strategy)
}

/// What the update would send that ECS refuses, or that the action would not own: a PAUSE hook
/// of the service's own where `test-url` puts ours; BLUE_GREEN without any bake time.
fn ownership(
    input: &Input,
    config: Option<&DeploymentConfiguration>,
    strategy: &DeploymentStrategy,
) -> Result<(), Refusal> {
    let (cluster, service) = (input.service.cluster.clone(), input.service.name.clone());
    let hooks = config
        .map(DeploymentConfiguration::lifecycle_hooks)
        .unwrap_or_default();
    if input.test_checks.is_some()
        && let Some(index) = hooks.iter().position(update::is_foreign_test_pause)
    {
        return Err(Refusal::ForeignTestPause {
            cluster,
            service,
            index,
        });
    }
    let own_bake = config.and_then(DeploymentConfiguration::bake_time_in_minutes);
    if *strategy == DeploymentStrategy::BlueGreen && input.bake_time.is_none() && own_bake.is_none()
    {
        return Err(Refusal::BakeTimeRequired { cluster, service });
    }
    Ok(())
}

/// The one place the strategy is decided: the input's, or the service's own for `keep`.
pub fn effective_strategy(asked: &Strategy, own: DeploymentStrategy) -> DeploymentStrategy {
    match asked {
        Strategy::Keep => own,
        Strategy::BlueGreen => DeploymentStrategy::BlueGreen,
        Strategy::Canary { .. } => DeploymentStrategy::Canary,
        Strategy::Linear { .. } => DeploymentStrategy::Linear,
        Strategy::Rolling => DeploymentStrategy::Rolling,
    }
}

fn controller(
    cluster: &str,
    service: &str,
    controller: Option<&DeploymentControllerType>,
) -> Result<(), Refusal> {
    let hint = match controller {
        None | Some(DeploymentControllerType::Ecs) => return Ok(()),
        Some(DeploymentControllerType::CodeDeploy) => {
            "CodeDeploy deployments are driven through CodeDeploy; the controller cannot be changed in place: recreate the service with `deploymentController: {type: ECS}` (or update it where AWS allows) to use native blue/green"
        }
        Some(DeploymentControllerType::External) => {
            "EXTERNAL services are deployed through task sets by your own controller; use that, or a service with the ECS controller"
        }
        Some(_) => "use a service with the ECS deployment controller",
    };
    Err(Refusal::Controller {
        cluster: cluster.to_owned(),
        service: service.to_owned(),
        controller: controller.map_or("unknown", |c| c.as_str()).to_owned(),
        hint,
    })
}

/// The exact `advancedConfiguration` fields the strategy needs and the service lacks.
pub fn missing_advanced(
    strategy: &DeploymentStrategy,
    load_balancers: &[LoadBalancer],
    test_url: bool,
) -> Vec<String> {
    let needs_advanced = matches!(
        strategy,
        DeploymentStrategy::BlueGreen | DeploymentStrategy::Canary | DeploymentStrategy::Linear
    );
    if !needs_advanced {
        return Vec::new();
    }
    if load_balancers.is_empty() {
        return vec!["a load balancer (`loadBalancers` is empty)".to_owned()];
    }
    let mut missing = Vec::new();
    for (index, lb) in load_balancers.iter().enumerate() {
        let at = |field: &str| format!("`loadBalancers[{index}].advancedConfiguration.{field}`");
        let Some(advanced) = lb.advanced_configuration() else {
            missing.push(format!("`loadBalancers[{index}].advancedConfiguration`"));
            continue;
        };
        let fields = [
            (
                "alternateTargetGroupArn",
                advanced.alternate_target_group_arn(),
                true,
            ),
            (
                "productionListenerRule",
                advanced.production_listener_rule(),
                true,
            ),
            ("roleArn", advanced.role_arn(), true),
            ("testListenerRule", advanced.test_listener_rule(), test_url),
        ];
        for (field, value, needed) in fields {
            if needed && value.is_none_or(str::is_empty) {
                missing.push(at(field));
            }
        }
    }
    missing
}

/// The first service deployment not yet finished, with its status.
/// ListServiceDeployments has no paginator in the SDK, hence the token loop.
async fn in_flight(client: &Client, input: &Input) -> Result<Option<(String, String)>, Error> {
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_service_deployments()
            .cluster(&input.service.cluster)
            .service(&input.service.name)
            .status(ServiceDeploymentStatus::Pending)
            .status(ServiceDeploymentStatus::InProgress)
            .status(ServiceDeploymentStatus::StopRequested)
            .status(ServiceDeploymentStatus::RollbackRequested)
            .status(ServiceDeploymentStatus::RollbackInProgress)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| input.service.aws_error("ListServiceDeployments", &e))?;
        let found = page.service_deployments().iter().find_map(|brief| {
            let arn = brief.service_deployment_arn()?;
            let status = brief
                .status()
                .map_or("UNKNOWN", ServiceDeploymentStatus::as_str);
            Some((arn.to_owned(), status.to_owned()))
        });
        if found.is_some() {
            return Ok(found);
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(None),
        }
    }
}
