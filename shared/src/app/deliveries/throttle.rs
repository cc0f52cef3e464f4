//! The throttle (docs/reference/outgoing.md#pause-and-throttle `rate_limit`): before a scheduled
//! send to a rate-limited endpoint the engine takes a place in the endpoint's current window (a
//! conditional counter in the table, shared by every instance, see
//! [`crate::domain::outgoing::rate`]). Without one the delivery waits: briefly in place on the slow
//! lane and in a FIFO line, else its message is queued again with an SQS delay; the fast lane hands
//! it to the slow lane at once, so a throttled endpoint never holds another one's sends. Waiting is
//! neither a failure nor an attempt: nothing counts toward auto-disable. Tests, redeliveries and
//! recover are not throttled (an operator asked for them).

use std::time::Duration;

use super::Deliveries;
use crate::domain::outgoing::rate::window;
use crate::domain::outgoing::OutgoingWebhook;
use crate::domain::time;
use crate::error::Result;
use crate::metrics::Observation;

impl Deliveries {
    /// Takes a turn to send to `ep`, waiting in place at most `max_wait` for one. `None`: send
    /// now; `Some(ms)`: no turn yet, try again in about `ms` milliseconds.
    pub(crate) async fn take_turn(
        &self,
        ep: &OutgoingWebhook,
        max_wait: Duration,
    ) -> Result<Option<i64>> {
        let Some(limit) = ep.config.rate_limit else {
            return Ok(None);
        };
        let mut waited = Duration::ZERO;
        loop {
            let w = window(limit, time::now().as_millisecond());
            if self.rates.take(ep.id(), w).await? {
                return Ok(None);
            }
            // A little past the window's end, spread so that waiters do not all wake at once.
            let ms = w.remaining_ms + i64::from(rand::random::<u8>() % 20);
            let wait = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            if waited + wait > max_wait {
                Observation::Throttled {
                    endpoint_id: ep.id(),
                    count: 1,
                }
                .emit();
                return Ok(Some(ms));
            }
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }
}
