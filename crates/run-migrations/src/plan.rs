//! What to run, decided before anything is written: the service's network configuration, launch
//! type or capacity providers and platform version, the task definition and the container to
//! judge, and where that container logs. Explicit inputs win over the service.

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerDefinition,
    LaunchType, LogDriver, NetworkConfiguration, NetworkMode, Service,
};
use deploy_kit_ecs::{Described, Target};
use deploy_kit_gha::InputError;

use crate::error::Error;
use crate::input::{Input, NetworkOverrides};

/// How the task is placed.
#[derive(Debug, Clone, PartialEq)]
pub enum Launch {
    Type(LaunchType),
    Providers(Vec<CapacityProviderStrategyItem>),
    /// Neither the input nor the service says: the cluster's default.
    ClusterDefault,
}

/// Where the judged container's logs go (its `awslogs` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    pub group: String,
    pub prefix: String,
    pub region: Option<String>,
}

impl LogTarget {
    /// `prefix/container/task-id`, as the awslogs driver names streams.
    pub fn stream(&self, container: &str, task_id: &str) -> String {
        format!("{}/{container}/{task_id}", self.prefix)
    }
}

/// How long the task may take, and how often it is looked at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// From the first RunTask to RUNNING (covers capacity retries and the image pull).
    pub start_timeout: Duration,
    /// The whole run, from the first RunTask.
    pub timeout: Duration,
    /// Multiplies every poll delay, not the timeouts: 1.0 in production; the test bed runs
    /// ECS faster (`runner.env().time_scale()`).
    pub scale: f64,
}

impl Timing {
    pub fn new(input: &Input, scale: f64) -> Self {
        Self {
            start_timeout: input.start_timeout,
            timeout: input.timeout,
            scale,
        }
    }

    /// A nominal poll delay, scaled.
    pub fn delay(&self, nominal: Duration) -> Duration {
        nominal.mul_f64(self.scale)
    }
}

/// Everything RunTask and the follow-up need, decided before anything is written.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The task definition to run: a file to register just before RunTask, or one that exists.
    pub target: Target,
    pub container: String,
    /// `None` when the container does not log to awslogs (said once, then carried on).
    pub log: Option<LogTarget>,
    pub network: Option<NetworkConfiguration>,
    pub launch: Launch,
    pub platform_version: Option<String>,
    pub timing: Timing,
}

/// Reads the service (and the task definition when it is not a file) and decides.
pub async fn plan(client: &Client, input: &Input, timing: Timing) -> Result<Plan, Error> {
    let service = describe_service(client, input).await?;
    let target = input
        .task_definition
        .target(client, &input.service, service.task_definition())
        .await?;
    let (containers, mode) = match &target {
        Target::Register(file) => (
            file.request.container_definitions().to_vec(),
            file.request.network_mode().cloned(),
        ),
        Target::Existing(arn) => describe_task_definition(client, input, arn).await?,
    };
    let container = choose_container(input.container.as_deref(), &containers)?;
    let log = containers
        .iter()
        .find(|c| c.name() == Some(container.as_str()))
        .and_then(log_target);
    let network = network(input, &service, mode.as_ref())?;
    let launch = match (&input.launch_type, service.capacity_provider_strategy()) {
        (Some(launch_type), _) => Launch::Type(launch_type.clone()),
        (None, providers) if !providers.is_empty() => Launch::Providers(providers.to_vec()),
        (None, _) => service
            .launch_type()
            .cloned()
            .map_or(Launch::ClusterDefault, Launch::Type),
    };
    Ok(Plan {
        target,
        container,
        log,
        network,
        launch,
        platform_version: service.platform_version().map(str::to_owned),
        timing,
    })
}

async fn describe_service(client: &Client, input: &Input) -> Result<Service, Error> {
    let reason = match input.service.describe(client).await? {
        Described::Found(service) if service.status() == Some("ACTIVE") => return Ok(*service),
        Described::Found(service) => service.status().unwrap_or("UNKNOWN").to_owned(),
        Described::Missing(reason) => reason,
    };
    Err(Error::NotFound {
        cluster: input.service.cluster.clone(),
        service: input.service.name.clone(),
        reason,
    })
}

async fn describe_task_definition(
    client: &Client,
    input: &Input,
    reference: &str,
) -> Result<(Vec<ContainerDefinition>, Option<NetworkMode>), Error> {
    let out = client
        .describe_task_definition()
        .task_definition(reference)
        .send()
        .await
        .map_err(|e| input.service.aws_error("DescribeTaskDefinition", &e))?;
    let task = out.task_definition();
    Ok((
        task.map(|t| t.container_definitions().to_vec())
            .unwrap_or_default(),
        task.and_then(|t| t.network_mode()).cloned(),
    ))
}

/// The named container, or the single essential one (ECS counts a container without
/// `essential` as essential).
pub fn choose_container(
    wanted: Option<&str>,
    containers: &[ContainerDefinition],
) -> Result<String, InputError> {
    let names: Vec<&str> = containers.iter().filter_map(|c| c.name()).collect();
    if let Some(wanted) = wanted {
        if names.contains(&wanted) {
            return Ok(wanted.to_owned());
        }
        return Err(InputError::new(
            "container-name",
            format!(
                "the task definition has no container `{wanted}`: it has {}",
                quoted(&names)
            ),
        ));
    }
    let essential: Vec<&str> = containers
        .iter()
        .filter(|c| c.essential().unwrap_or(true))
        .filter_map(|c| c.name())
        .collect();
    match essential.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(InputError::new(
            "container-name",
            format!(
                "no container is essential: name the one to run, one of {}",
                quoted(&names)
            ),
        )),
        many => Err(InputError::new(
            "container-name",
            format!(
                "the task definition has {} essential containers ({}): name the one whose command and exit code count",
                many.len(),
                quoted(many)
            ),
        )),
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn log_target(container: &ContainerDefinition) -> Option<LogTarget> {
    let config = container.log_configuration()?;
    if config.log_driver() != &LogDriver::Awslogs {
        return None;
    }
    let options = config.options()?;
    Some(LogTarget {
        group: options.get("awslogs-group")?.clone(),
        // Without a prefix ECS names streams by container id only: not predictable here.
        prefix: options.get("awslogs-stream-prefix")?.clone(),
        region: options.get("awslogs-region").cloned(),
    })
}

/// The service's awsvpc configuration with the explicit inputs laid over it.
fn network(
    input: &Input,
    service: &Service,
    mode: Option<&NetworkMode>,
) -> Result<Option<NetworkConfiguration>, InputError> {
    let base = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    let NetworkOverrides {
        subnets,
        security_groups,
        assign_public_ip,
    } = &input.network;
    let subnets = if subnets.is_empty() {
        base.map(|b| b.subnets().to_vec()).unwrap_or_default()
    } else {
        subnets.clone()
    };
    if subnets.is_empty() {
        if mode == Some(&NetworkMode::Awsvpc) {
            return Err(InputError::new(
                "subnets",
                format!(
                    "{} has no network configuration to copy, and the task definition uses awsvpc: set `subnets` (and `security-groups`)",
                    input.service
                ),
            ));
        }
        return Ok(None);
    }
    let security_groups = if security_groups.is_empty() {
        base.map(|b| b.security_groups().to_vec())
            .unwrap_or_default()
    } else {
        security_groups.clone()
    };
    let public = match assign_public_ip {
        Some(true) => Some(AssignPublicIp::Enabled),
        Some(false) => Some(AssignPublicIp::Disabled),
        None => base.and_then(|b| b.assign_public_ip()).cloned(),
    };
    let awsvpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(subnets))
        .set_security_groups(Some(security_groups))
        .set_assign_public_ip(public)
        .build()
        .map_err(|e| InputError::new("subnets", e))?;
    Ok(Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(awsvpc)
            .build(),
    ))
}
