//! The one line a retried call gets in the log.

use std::fmt;
use std::time::Duration;

/// A call that needed more than one attempt, as the log says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retried {
    /// `ECS RegisterTaskDefinition`.
    pub operation: String,
    pub retries: u32,
    pub elapsed: Duration,
    pub causes: Vec<(String, u32)>,
    pub succeeded: bool,
    pub out_of_budget: bool,
    pub answer_lost: bool,
}

impl fmt::Display for Retried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let causes = self
            .causes
            .iter()
            .map(|(cause, n)| {
                if *n == 1 {
                    cause.clone()
                } else {
                    format!("{cause} x{n}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let times = if self.retries == 1 { "time" } else { "times" };
        write!(
            f,
            "{} retried {} {times} over {:.1} s ({causes}): ",
            self.operation,
            self.retries,
            self.elapsed.as_secs_f64()
        )?;
        match (self.succeeded, self.out_of_budget) {
            (true, _) => f.write_str("succeeded")?,
            (false, true) => f.write_str("still throttled when its retry budget ran out")?,
            (false, false) => f.write_str("failed")?,
        }
        if self.answer_lost {
            f.write_str(match self.operation.as_str() {
                // ECS takes no client token here: a lost registration stays, unused.
                "ECS RegisterTaskDefinition" => "; an attempt whose answer was lost may have registered a revision too (same content, left ACTIVE and unused; the outputs name the revision deployed)",
                _ => "; an attempt whose answer was lost may have taken effect before the one answered",
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_what_was_retried_and_how_it_ended() {
        let retried = Retried {
            operation: "ECS RegisterTaskDefinition".into(),
            retries: 5,
            elapsed: Duration::from_millis(6240),
            causes: vec![
                ("ThrottlingException: Rate exceeded".into(), 4),
                ("attempt timed out".into(), 1),
            ],
            succeeded: true,
            out_of_budget: false,
            answer_lost: true,
        };
        assert_eq!(
            retried.to_string(),
            "ECS RegisterTaskDefinition retried 5 times over 6.2 s (ThrottlingException: Rate exceeded x4, attempt timed out): succeeded; an attempt whose answer was lost may have registered a revision too (same content, left ACTIVE and unused; the outputs name the revision deployed)"
        );
        let gave_up = Retried {
            retries: 1,
            causes: vec![("ThrottlingException: Rate exceeded".into(), 1)],
            succeeded: false,
            out_of_budget: true,
            answer_lost: false,
            ..retried
        };
        assert_eq!(
            gave_up.to_string(),
            "ECS RegisterTaskDefinition retried 1 time over 6.2 s (ThrottlingException: Rate exceeded): still throttled when its retry budget ran out"
        );
    }
}
