//! The stream relay (docs/outgoing.md#the-outbox "the table's stream is the outbox"): outbox
//! batches written in a change's transaction reach the event queue from the table's DynamoDB
//! Stream, never from the request path.

use crate::domain::time;
use crate::queue::Queue;
use crate::store::outbox::StreamedBatch;
use crate::store::OutboxRepo;

/// One record of a stream batch: its sequence number and, for an outbox item, the batch.
#[derive(Clone, Debug)]
pub struct StreamRecord {
    pub sequence_number: String,
    pub batch: Option<StreamedBatch>,
}

/// Forwards streamed outbox batches to the event queue.
#[derive(Clone, Debug)]
pub struct Relay {
    batches: OutboxRepo,
    queue: Queue,
}

impl Relay {
    pub(crate) fn new(batches: OutboxRepo, queue: Queue) -> Self {
        Self { batches, queue }
    }

    /// Sends the records' batches to the queue in stream order (10 per `SendMessageBatch`) and
    /// marks each sent batch acked. Returns the sequence number of the first record SQS did not
    /// take: the event source mapping retries the batch from there (the records before it are
    /// done). A batch sent twice is harmless: `dispatch` fans a batch out once.
    pub async fn forward(&self, records: &[StreamRecord]) -> Option<String> {
        let bodies: Vec<String> = records
            .iter()
            .filter_map(|r| r.batch.as_ref().map(|b| b.body.clone()))
            .collect();
        let (taken, error) = self.queue.send_in_order(bodies).await;
        let mut sent = records.iter().filter(|r| r.batch.is_some());
        let done: Vec<&StreamedBatch> = sent
            .by_ref()
            .take(taken)
            .filter_map(|r| r.batch.as_ref())
            .collect();
        let first_failed = sent.next().map(|r| r.sequence_number.clone());
        if let Some(e) = &error {
            tracing::warn!(error = %e, sent = taken, "relay: queue send failed; the stream retries from the first unsent record");
        }
        let now = time::now().as_second();
        let acks = done
            .iter()
            .map(|b| self.batches.ack(b.shard, &b.batch_id, now));
        for (b, r) in done.iter().zip(futures::future::join_all(acks).await) {
            if let Err(e) = r {
                // Not acked: the sweeper may send it once more (dispatch drops the duplicate).
                tracing::warn!(error = %e, batch_id = %b.batch_id, "relay: ack failed");
            }
        }
        first_failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_a_batch_is_carried_but_never_sent() {
        let r = StreamRecord {
            sequence_number: "1".into(),
            batch: None,
        };
        assert!(r.batch.is_none());
    }
}
