//! The `sweeper` Lambda: on a schedule, re-sends outbox batches SQS never acknowledged and
//! re-schedules overdue pending deliveries and ends timed access that expired.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use switchboard::app::App;

fn main() -> Result<(), lambda_runtime::Error> {
    switchboard::runtime::start(|| async {
        let app = Arc::new(App::from_env(switchboard::config::Function::Sweeper).await?);
        lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
            let app = app.clone();
            async move {
                let resent = app.outbox().sweep().await?;
                let rescheduled = app.deliveries().sweep_deliveries().await?;
                let expired = app.members().expire_grants().await?;
                tracing::info!(swept = ?app.incoming().sweep_silence().await?, "silence alerts swept");
                tracing::info!(
                    resent,
                    rescheduled,
                    expired,
                    "outbox, deliveries and timed access swept"
                );
                Ok::<Value, lambda_runtime::Error>(
                    json!({ "resent": resent, "rescheduled": rescheduled, "expired": expired }),
                )
            }
        }))
        .await
    })
}
