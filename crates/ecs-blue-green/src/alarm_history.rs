//! The 5xx-rate alarm through the deployment, for the step summary: its state changes since the
//! deployment started (DescribeAlarmHistory) with CloudWatch's reasons, and its state at the end.

use aws_sdk_cloudwatch::types::HistoryItemType;
use aws_smithy_types::DateTime;

use crate::alarm::Plan;
use crate::gate::Gate;

/// The alarm through the deployment, for the summary.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub name: String,
    pub threshold: String,
    /// (when, from, to, reason) of each state change since the deployment started.
    pub changes: Vec<(String, String)>,
    /// The state when the deployment ended, and its reason.
    pub state: Option<(String, String)>,
}

/// Reads the alarm's state changes since `since` and its state now. A failed read is reported
/// in the summary, not an error: the deployment's result stands.
pub async fn history(
    client: &aws_sdk_cloudwatch::Client,
    plan: &Plan,
    since: std::time::SystemTime,
) -> History {
    let mut out = History {
        name: plan.name.clone(),
        threshold: threshold_text(&plan.gate),
        ..History::default()
    };
    let items = client
        .describe_alarm_history()
        .alarm_name(&plan.name)
        .history_item_type(HistoryItemType::StateUpdate)
        .start_date(DateTime::from(since))
        .send()
        .await;
    match items {
        Ok(items) => {
            let mut changes: Vec<_> = items
                .alarm_history_items()
                .iter()
                .map(|item| {
                    let at = item.timestamp().map_or(0, DateTime::secs);
                    let when = item
                        .timestamp()
                        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                        .unwrap_or_default();
                    let mut text = item.history_summary().unwrap_or("").to_owned();
                    if let Some(reason) = item.history_data().and_then(new_state_reason) {
                        text = format!("{text}: {reason}");
                    }
                    (at, when, text)
                })
                .collect();
            changes.sort_by_key(|(at, _, _)| *at);
            out.changes = changes.into_iter().map(|(_, w, s)| (w, s)).collect();
        }
        Err(error) => out.changes.push((
            String::new(),
            format!(
                "DescribeAlarmHistory failed: {}",
                deploy_kit_aws::describe_error(&error)
            ),
        )),
    }
    if let Ok(now) = client
        .describe_alarms()
        .alarm_names(&plan.name)
        .send()
        .await
        && let Some(alarm) = now.metric_alarms().first()
    {
        out.state = Some((
            alarm.state_value().map_or("?", |s| s.as_str()).to_owned(),
            alarm.state_reason().unwrap_or("").to_owned(),
        ));
    }
    out
}

/// CloudWatch's reason for a state change, from a history item's `HistoryData` JSON
/// (`newState.stateReason`).
fn new_state_reason(data: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(data).ok()?;
    json.pointer("/newState/stateReason")?
        .as_str()
        .map(str::to_owned)
}

/// `5xx rate > 1% in 2 of 3 periods of 1m`.
pub fn threshold_text(gate: &Gate) -> String {
    format!(
        "5xx rate > {}% in {} of {} periods of {}",
        gate.max_percent,
        gate.datapoints,
        gate.evaluation_periods,
        deploy_kit_gha::format_duration(gate.period)
    )
}

impl History {
    /// The summary's section.
    pub fn markdown(&self) -> String {
        use deploy_kit_gha::summary::{Table, code, escape_cell};
        let mut out = String::from("\n#### 5xx-rate alarm\n\n");
        let mut table = Table::new(["", ""]);
        table.row(["alarm", &code(&self.name)]);
        table.row(["fires on", &escape_cell(&self.threshold)]);
        for (when, summary) in &self.changes {
            table.row([escape_cell(when), escape_cell(summary)]);
        }
        if let Some((state, reason)) = &self.state {
            table.row([
                format!("state at the end: {}", code(state)),
                escape_cell(reason),
            ]);
        }
        out.push_str(&table.render());
        out
    }
}
