//! The 5xx-rate gate in the run: read before any write (with the pre-flight), write the alarm
//! just before UpdateService, read its history for the summary once the deployment ended.

use std::time::SystemTime;

use deploy_kit_gha::Runner;

use crate::alarm::{self, History, Plan};
use crate::{Error, Input, Service};

/// The planned alarm and the client that writes it.
pub struct Armed {
    client: aws_sdk_cloudwatch::Client,
    pub plan: Plan,
}

/// Reads only: `None` without `max-5xx-rate`.
pub async fn read(
    config: &deploy_kit_aws::Aws,
    input: &Input,
    service: &Service,
) -> Result<Option<Armed>, Error> {
    let Some(gate) = &input.rate_gate else {
        return Ok(None);
    };
    let client = config.cloudwatch();
    let elb = config.elbv2();
    let plan = alarm::plan(&elb, &client, input, service, gate).await?;
    Ok(Some(Armed { client, plan }))
}

impl Armed {
    /// What a dry run says it would do.
    pub fn describe(&self) -> String {
        let verb = if self.plan.exists { "update" } else { "create" };
        format!(
            "would {verb} CloudWatch alarm `{}` ({}) over target groups {} and attach it to the deployment's alarms with rollback",
            self.plan.name,
            alarm::threshold_text(&self.plan.gate),
            self.target_list()
        )
    }

    fn target_list(&self) -> String {
        self.plan
            .targets
            .iter()
            .map(|t| t.target_group.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Creates or updates the alarm ([`crate::plan::Plan::alarms`] attaches it).
    pub async fn write(&self, input: &Input, runner: &Runner) -> Result<(), Error> {
        alarm::ensure(&self.client, input, &self.plan).await?;
        runner.info(format!(
            "{} CloudWatch alarm `{}`: {} over {}",
            if self.plan.exists {
                "updated"
            } else {
                "created"
            },
            self.plan.name,
            alarm::threshold_text(&self.plan.gate),
            self.target_list()
        ));
        Ok(())
    }

    pub async fn history(&self, since: SystemTime) -> History {
        alarm::history(&self.client, &self.plan, since).await
    }
}
