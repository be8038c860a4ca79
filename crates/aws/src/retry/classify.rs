//! What a failed attempt was: its cause as the log says it, and ECS's concurrent-revision
//! ClientException, which is throttling in all but its name.

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

/// `ThrottlingException: Rate exceeded`, `HTTP 503`, `attempt timed out`; and whether the
/// request may have taken effect without its answer arriving.
pub(super) fn cause(ctx: &InterceptorContext) -> (String, bool) {
    let Some(Err(error)) = ctx.output_or_error() else {
        return ("unknown".to_owned(), false);
    };
    if error.is_timeout_error() {
        return ("attempt timed out".to_owned(), true);
    }
    if error.is_connector_error() {
        return ("connection lost".to_owned(), true);
    }
    let Some(response) = ctx.response() else {
        return ("no answer".to_owned(), true);
    };
    let status = response.status().as_u16();
    if error.is_response_error() {
        // An answer arrived but could not be read: it may say the request succeeded.
        return (format!("unreadable answer (HTTP {status})"), true);
    }
    let body = response.body().bytes().unwrap_or_default();
    match error_code(body) {
        Some((code, message)) if !message.is_empty() => (format!("{code}: {message}"), false),
        Some((code, _)) => (code, false),
        None => (format!("HTTP {status}"), false),
    }
}

/// The code and message of an AWS error document: JSON (`__type`, `message`) or XML
/// (`<Code>`, `<Message>`). The message is cut short: it is AWS's text, quoted in a log line.
pub fn error_code(body: &[u8]) -> Option<(String, String)> {
    // One line, whatever AWS sent: no line break may start a workflow command in the log.
    let cut = |text: &str| {
        text.chars()
            .take(200)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
    };
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let code = value
            .get("__type")
            .or_else(|| value.get("code"))?
            .as_str()?;
        // `com.amazonaws.ecs#ThrottlingException` and `ThrottlingException:http://...` both occur.
        let code = code.rsplit('#').next().unwrap_or(code);
        let code = code.split(':').next().unwrap_or(code);
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(|m| m.as_str())
            .unwrap_or_default();
        return Some((code.to_owned(), cut(message)));
    }
    let text = std::str::from_utf8(body).ok()?;
    let tag = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_owned())
    };
    Some((tag("Code")?, cut(&tag("Message").unwrap_or_default())))
}

/// ECS refuses a registration while another of the same family is being created:
/// `ClientException: Too many concurrent attempts to create a new revision of the specified
/// family`. Nothing was registered, and waiting clears it, as with throttling.
#[derive(Debug, Default)]
pub struct ConcurrentRevision;

/// The start of ECS's message, which is all that tells this ClientException from the others.
pub const CONCURRENT_REVISION: &str = "Too many concurrent attempts to create a new revision";

impl ClassifyRetry for ConcurrentRevision {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(response) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        if response.status().as_u16() != 400 {
            return RetryAction::NoActionIndicated;
        }
        match response.body().bytes().and_then(error_code) {
            Some((code, message))
                if code == "ClientException" && message.starts_with(CONCURRENT_REVISION) =>
            {
                RetryAction::throttling_error()
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ECS concurrent revision"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents_of_both_protocols_are_read() {
        assert_eq!(
            error_code(br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
            Some(("ThrottlingException".into(), "Rate exceeded".into()))
        );
        assert_eq!(
            error_code(br#"{"__type":"com.amazonaws.ecs#ClientException","Message":"x"}"#),
            Some(("ClientException".into(), "x".into()))
        );
        assert_eq!(
            error_code(b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"),
            Some(("Throttling".into(), "Rate exceeded".into()))
        );
        assert_eq!(error_code(b"<html>503</html>"), None);
    }
}
