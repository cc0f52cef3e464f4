//! Structured JSON logs for CloudWatch, set up once per cold start.

/// Crates that log raw events, requests or bodies at debug/trace level (the Lambda runtime logs
/// the whole API Gateway event, with `Authorization` and form fields such as `user_pass`; the
/// HTTP stacks and the AWS SDK log headers and payloads). They are held at `info` whatever
/// `RUST_LOG` says.
const PINNED: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tower",
    "tower_http",
    "axum",
    "aws_config",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sdk_dynamodb",
    "aws_sdk_sqs",
    "aws_sdk_ses",
];

/// The filter for a `RUST_LOG` value (default `info`): its directives, minus any that would
/// raise a pinned crate (or that select by span or field, which would cross crates), followed by
/// `<crate>=info` for every pinned crate.
pub fn log_filter(rust_log: Option<&str>) -> String {
    let given = rust_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("info");
    let mut out: Vec<String> = given
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty() && !d.contains('['))
        .filter(|d| {
            let target = d.split('=').next().unwrap_or_default();
            !PINNED
                .iter()
                .any(|p| target == *p || target.starts_with(&format!("{p}::")))
        })
        .map(str::to_string)
        .collect();
    out.extend(PINNED.iter().map(|p| format!("{p}=info")));
    out.join(",")
}

/// Installs a JSON `tracing` subscriber filtered by [`log_filter`] of `RUST_LOG`.
pub fn init() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = tracing_subscriber::EnvFilter::try_new(log_filter(rust_log.as_deref()))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(log_filter(None)));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_crates_stay_at_info() {
        for given in [
            Some("trace"),
            Some("debug,lambda_runtime=trace"),
            Some("lambda_runtime::layers=trace,lambda_http=debug"),
            Some("[{authorization}]=trace"),
            None,
        ] {
            let f = log_filter(given);
            assert!(f.contains("lambda_runtime=info") && f.contains("lambda_http=info"));
            assert!(
                !f.contains("=trace") && !f.contains("=debug") && !f.contains('['),
                "{f}"
            );
            assert!(tracing_subscriber::EnvFilter::try_new(&f).is_ok(), "{f}");
        }
        assert!(log_filter(Some("trace")).starts_with("trace,"));
        assert!(log_filter(Some("switchboard=debug")).starts_with("switchboard=debug,"));
        assert!(log_filter(None).starts_with("info,"));
    }
}
