//! The SQS adapter of `dispatch`: an event source mapping's batch in, its partial batch
//! failures out (only the failed records return to the queue).

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

use crate::app::deliveries::consumer::Received;
use crate::app::Deliveries;

/// Handles one SQS batch; with a `deadline`, no send starts once one attempt no longer fits.
pub async fn handle(
    deliveries: &Deliveries,
    event: &SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let records: Vec<Received> = event.records.iter().map(received).collect();
    let mut response = SqsBatchResponse::default();
    // Boxed: the engine's future is deep, and the Lambda runtime nests it further.
    let failed = Box::pin(deliveries.handle_batch(&records, deadline)).await;
    for id in failed {
        response.add_failure(id);
    }
    response
}

fn received(m: &SqsMessage) -> Received {
    Received {
        message_id: m.message_id.clone().unwrap_or_default(),
        body: m.body.clone(),
        redelivered: m
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|c| c > 1),
    }
}
