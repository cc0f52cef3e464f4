//! The `sweeper` Lambda: on a schedule, re-sends outbox batches the stream gave up on,
//! re-schedules overdue pending deliveries, ends timed access that expired, opens and closes
//! silence alerts and sends owed welcome emails — independent sweeps (`App::scheduled_sweeps`).

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use switchboard::app::App;

fn main() -> Result<(), lambda_runtime::Error> {
    switchboard::runtime::start(|| async {
        let app = Arc::new(App::from_env(switchboard::config::Function::Sweeper).await?);
        lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
            let app = app.clone();
            async move {
                let report = app.scheduled_sweeps().await;
                Ok::<Value, lambda_runtime::Error>(serde_json::to_value(report)?)
            }
        }))
        .await
    })
}
