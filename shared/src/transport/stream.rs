//! The DynamoDB Stream adapter of `relay`: an event source mapping's batch of table changes in,
//! its partial batch failure out (the mapping retries from the first failed record).

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::app::relay::StreamRecord;
use crate::app::Relay;
use crate::store::outbox::streamed_batch;

/// Forwards one stream batch; only inserted outbox items carry a batch (the mapping's filter
/// lets nothing else through, and anything else is skipped).
pub async fn handle(relay: &Relay, event: &Event) -> DynamoDbEventResponse {
    let records: Vec<StreamRecord> = event.records.iter().map(record).collect();
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence_number) = relay.forward(&records).await {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    response
}

fn record(r: &aws_lambda_events::event::dynamodb::EventRecord) -> StreamRecord {
    StreamRecord {
        sequence_number: r.change.sequence_number.clone().unwrap_or_default(),
        batch: (r.event_name == "INSERT")
            .then(|| streamed_batch(r.change.new_image.clone()))
            .flatten(),
    }
}
