//! The `dispatch` Lambda: SQS-triggered, reports partial batch failures.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use switchboard::App;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    switchboard::telemetry::init();
    let app = Arc::new(App::from_env().await);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move { Ok::<SqsBatchResponse, lambda_runtime::Error>(handle(&app, event.payload).await) }
    }))
    .await
}

/// Every record is handled concurrently; the ones that fail are reported so that only they
/// return to the queue.
async fn handle(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let results = futures_join(app, &event).await;
    let mut response = SqsBatchResponse::default();
    for (id, ok) in results {
        if !ok {
            response.add_failure(id);
        }
    }
    response
}

async fn futures_join(app: &App, event: &SqsEvent) -> Vec<(String, bool)> {
    let tasks = event.records.iter().map(|r| async move {
        let id = r.message_id.clone().unwrap_or_default();
        let ok = match r.body.as_deref() {
            Some(body) => app.handle_message(body).await.is_ok(),
            None => true,
        };
        (id, ok)
    });
    switchboard::join_all(tasks).await
}
