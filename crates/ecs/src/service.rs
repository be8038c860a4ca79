//! The `cluster` and `service` inputs: the service an ECS action works on.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::Service;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use deploy_kit_gha::input::{self, InputError};

use crate::Error;

/// `cluster` when the input is empty, as in the ECS API.
pub const DEFAULT_CLUSTER: &str = "default";

/// The service, by name or ARN, and its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub cluster: String,
    pub name: String,
}

impl ServiceRef {
    /// The `cluster` (default [`DEFAULT_CLUSTER`]) and `service` (required) inputs, checked as
    /// ECS names or ARNs.
    pub fn from_inputs(cluster: Option<&str>, service: Option<&str>) -> Result<Self, InputError> {
        let name = input::required("service", service)?.to_owned();
        let cluster = input::set(cluster).unwrap_or(DEFAULT_CLUSTER).to_owned();
        input::resource_name("service", &name)?;
        input::resource_name("cluster", &cluster)?;
        Ok(Self { cluster, name })
    }

    /// An AWS call about the service failed (after the SDK's retries): `call` and the service
    /// named, the error as `code: message`.
    pub fn aws_error<E>(&self, call: &'static str, error: &SdkError<E, HttpResponse>) -> Error
    where
        E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        Error::Aws {
            call,
            cluster: self.cluster.clone(),
            service: self.name.clone(),
            message: deploy_kit_aws::describe_error(error),
        }
    }
}

/// What DescribeServices says of one service.
pub enum Described {
    Found(Box<Service>),
    /// ECS has no such service: its failure reason (`MISSING`).
    Missing(String),
}

impl ServiceRef {
    /// DescribeServices for this service alone.
    pub async fn describe(&self, client: &Client) -> Result<Described, Error> {
        let out = client
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.name)
            .send()
            .await
            .map_err(|e| self.aws_error("DescribeServices", &e))?;
        Ok(match out.services().first() {
            Some(service) => Described::Found(Box::new(service.clone())),
            None => Described::Missing(
                out.failures()
                    .first()
                    .and_then(|failure| failure.reason())
                    .unwrap_or("MISSING")
                    .to_owned(),
            ),
        })
    }
}

impl std::fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "service `{}` in cluster `{}`", self.name, self.cluster)
    }
}
