//! The `relay` Lambda: triggered by the table's DynamoDB Stream (only inserted outbox items, by
//! the mapping's filter), puts each outbox batch on the event queue and reports the first record
//! it could not send (the mapping retries from there).

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{service_fn, LambdaEvent};
use switchboard::app::App;

fn main() -> Result<(), lambda_runtime::Error> {
    switchboard::runtime::start(|| async {
        let app = Arc::new(App::from_env(switchboard::config::Function::Relay).await?);
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
            let app = app.clone();
            async move {
                Ok::<DynamoDbEventResponse, lambda_runtime::Error>(
                    switchboard::transport::stream::handle(app.relay(), &event.payload).await,
                )
            }
        }))
        .await
    })
}
