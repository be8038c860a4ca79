//! The service's events (`DescribeServices`), printed as they appear while a deployment runs:
//! ECS explains there what the deployment object does not (tasks failing health checks, target
//! registration, "has reached a steady state").

use std::collections::HashSet;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::Service;
use aws_smithy_types::DateTime;

/// Which events were printed already.
#[derive(Debug)]
pub struct Events {
    since: DateTime,
    seen: HashSet<String>,
}

impl Events {
    /// Events from now on (older ones belong to earlier deployments).
    pub fn since_now() -> Self {
        Self {
            since: DateTime::from(std::time::SystemTime::now()),
            seen: HashSet::new(),
        }
    }

    /// The messages not printed yet, oldest first, and the service as described (`None` when
    /// ECS lists it no more); an error is `code: message`.
    pub async fn fetch(
        &mut self,
        client: &Client,
        cluster: &str,
        service: &str,
    ) -> Result<(Vec<String>, Option<Service>), String> {
        let out = client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| deploy_kit_aws::describe_error(&e))?;
        let described = out
            .services
            .and_then(|services| services.into_iter().next());
        let events = described
            .as_ref()
            .map(|service| service.events())
            .unwrap_or_default();
        let mut fresh: Vec<(DateTime, String)> = events
            .iter()
            // Events of earlier deployments are history; this run prints its own.
            .filter(|event| event.created_at().is_some_and(|at| *at >= self.since))
            .filter_map(|event| {
                let id = event.id()?;
                if !self.seen.insert(id.to_owned()) {
                    return None;
                }
                Some((*event.created_at()?, event.message()?.to_owned()))
            })
            .collect();
        // ECS lists the newest first.
        fresh.reverse();
        fresh.sort_by_key(|(at, _)| (at.secs(), at.subsec_nanos()));
        Ok((
            fresh.into_iter().map(|(_, message)| message).collect(),
            described,
        ))
    }
}
