//! AWS SDK results → [`Error`], in one place: a failed call is a dependency failure (`503`,
//! detail logged, never returned), and a DynamoDB write whose condition failed is an answer,
//! not a failure.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::{Error, Result};

/// The error code of a DynamoDB write refused by its `ConditionExpression` (PutItem,
/// UpdateItem, DeleteItem).
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// The code of a transaction item refused by its condition (`CancellationReason::code`).
pub const TX_CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// `.or_unavailable("PutItem")?`: any SDK failure as [`Error::Dependency`], naming the
/// operation and carrying the SDK's whole error chain for the log.
pub trait OrUnavailable<T> {
    fn or_unavailable(self, operation: &'static str) -> Result<T>;
}

impl<T, E, R> OrUnavailable<T> for std::result::Result<T, SdkError<E, R>>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn or_unavailable(self, operation: &'static str) -> Result<T> {
        self.map_err(|e| unavailable(operation, e))
    }
}

/// `.unless_condition_failed("UpdateItem")?`: `Some(output)`, or `None` when the write's
/// condition did not hold; any other failure as [`Error::Dependency`].
pub trait UnlessConditionFailed<T> {
    fn unless_condition_failed(self, operation: &'static str) -> Result<Option<T>>;
}

impl<T, E, R> UnlessConditionFailed<T> for std::result::Result<T, SdkError<E, R>>
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    fn unless_condition_failed(self, operation: &'static str) -> Result<Option<T>> {
        match self {
            Ok(output) => Ok(Some(output)),
            Err(e) if e.code() == Some(CONDITION_FAILED) => Ok(None),
            Err(e) => Err(unavailable(operation, e)),
        }
    }
}

fn unavailable<E, R>(operation: &str, e: SdkError<E, R>) -> Error
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Error::dep(format!("{operation}: {}", DisplayErrorContext(e)))
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;

    use super::*;

    type Raw = aws_sdk_dynamodb::config::http::HttpResponse;

    fn service_error(e: PutItemError) -> SdkError<PutItemError, Raw> {
        let raw = Raw::new(
            400.try_into().expect("status"),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(e, raw)
    }

    #[test]
    fn a_failed_condition_is_an_answer_and_anything_else_unavailable() {
        let failed = PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .meta(ErrorMetadata::builder().code(CONDITION_FAILED).build())
                .build(),
        );
        assert!(matches!(
            Err::<(), _>(service_error(failed)).unless_condition_failed("PutItem"),
            Ok(None)
        ));
        let throttled = PutItemError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("slow down")
                .build(),
        );
        let err = Err::<(), _>(service_error(throttled))
            .unless_condition_failed("PutItem")
            .expect_err("unavailable");
        assert_eq!(err.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        let Error::Dependency(detail) = err else {
            panic!("not a dependency error")
        };
        assert!(
            detail.starts_with("PutItem: ") && detail.contains("ThrottlingException"),
            "{detail}"
        );
        assert!(matches!(
            Ok::<_, SdkError<PutItemError, Raw>>(7).or_unavailable("PutItem"),
            Ok(7)
        ));
    }
}
