//! Throttle windows (docs/reference/outgoing.md#pause-and-throttle `rate_limit`): `pk =
//! WEBHOOK#{id}#RATE`, `sk = {window}`, a counter of the sends started in that window. A send takes
//! its place with one conditional `ADD` (refused once the window is full), so concurrent Lambda
//! instances share the limit exactly; the items expire after a few minutes.

use super::{keys, n, repository};
use crate::domain::outgoing::rate::Window;
use crate::error::Result;

repository!(
    /// The throttle windows of rate-limited endpoints.
    RateRepo
);

/// How long a window's counter is kept (it is only read while current).
const KEEP_SECONDS: i64 = 300;

impl RateRepo {
    /// Takes one send of `window` for the endpoint; `false` when the window is full.
    pub async fn take(&self, webhook_id: i64, window: Window) -> Result<bool> {
        let expires = crate::domain::time::now().as_second() + KEEP_SECONDS;
        let taken = self
            .table
            .update_if(
                &keys::rate(webhook_id),
                &keys::rate_window_sk(window.index),
                "ADD sends :one SET expires_at = :exp",
                "attribute_not_exists(sends) OR sends < :max",
                &[],
                vec![
                    (":one", n(1)),
                    (":exp", n(expires)),
                    (":max", n(i64::from(window.sends))),
                ],
            )
            .await?;
        Ok(taken.is_some())
    }
}
