//! Where a service deployment stands: over (a terminal status), or about to be (the polling
//! policy polls fast then).

use aws_sdk_ecs::types::{
    ServiceDeployment, ServiceDeploymentLifecycleStage, ServiceDeploymentStatus,
};

/// The status of a deployment started and not over, and of one left running (the
/// `status` output then).
pub const IN_PROGRESS: &str = "IN_PROGRESS";

pub fn is_terminal(deployment: &ServiceDeployment) -> bool {
    deployment
        .status()
        .is_some_and(|status| is_terminal_status(status.as_str()))
}

/// SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED: the deployment is over.
pub fn is_terminal_status(status: &str) -> bool {
    [
        ServiceDeploymentStatus::Successful,
        ServiceDeploymentStatus::RollbackSuccessful,
        ServiceDeploymentStatus::RollbackFailed,
        ServiceDeploymentStatus::Stopped,
    ]
    .iter()
    .any(|terminal| terminal.as_str() == status)
}

/// Clean-up or a rollback under way: the terminal state is next. A deployment that reports no
/// stage (ROLLING) is near its end once green runs all its tasks and no source task runs.
pub fn terminal_next(deployment: &ServiceDeployment) -> bool {
    let winding_down = matches!(
        deployment.status(),
        Some(
            ServiceDeploymentStatus::RollbackRequested
                | ServiceDeploymentStatus::RollbackInProgress
                | ServiceDeploymentStatus::StopRequested
        )
    );
    let scaled = || {
        let green = deployment.target_service_revision().is_some_and(|t| {
            t.requested_task_count() > 0 && t.running_task_count() >= t.requested_task_count()
        });
        let blue_gone = deployment
            .source_service_revisions()
            .iter()
            .all(|s| s.running_task_count() == 0);
        green && blue_gone
    };
    winding_down
        || match deployment.lifecycle_stage() {
            Some(stage) => *stage == ServiceDeploymentLifecycleStage::CleanUp,
            None => scaled(),
        }
}
