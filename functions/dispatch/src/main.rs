//! The `dispatch` Lambda: SQS-triggered, reports partial batch failures.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use switchboard::app::App;

/// mimalloc: a delivery allocates many small, short-lived buffers (headers, JSON, records);
/// glibc's allocator was about a fifth of dispatch's CPU per delivery (docs/performance.md#fan-out).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), lambda_runtime::Error> {
    switchboard::runtime::start(|| async {
        let app = Arc::new(App::from_env(switchboard::config::Function::Dispatch).await?);
        lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
            let app = app.clone();
            async move {
                // The invocation's deadline, as the time left from now (the local emulator's
                // deadline is not the function's timeout: ignored in local mode).
                let left = event
                    .context
                    .deadline()
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default();
                let deadline = (!app.config().local_mode).then(|| std::time::Instant::now() + left);
                Ok::<SqsBatchResponse, lambda_runtime::Error>(
                    switchboard::transport::sqs::handle(app.deliveries(), &event.payload, deadline)
                        .await,
                )
            }
        }))
        .await
    })
}
