//! An endpoint's throttle (docs/reference/outgoing.md#pause-and-throttle, `rate_limit`: deliveries
//! per second, 1–1,000): time is cut into windows of `ceil(limit / 10)` sends each, `window_ms =
//! ⌈1000 × sends / limit⌉` long (2/s: one send per 500 ms; 1,000/s: 100 sends per 100 ms), so a
//! second never holds more than `limit` sends and bursts stay a tenth of it. The windows are
//! counted in the table (one conditional update per send, see `store::RateRepo`), so every Lambda
//! instance shares them.

/// The allowed range of `rate_limit`.
pub const MIN_RATE: u32 = 1;
pub const MAX_RATE: u32 = 1000;

/// One throttle window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Which window `now_ms` falls in (the counter's key).
    pub index: i64,
    /// Sends allowed in it.
    pub sends: u32,
    /// Milliseconds from `now_ms` to the window's end (when to try again).
    pub remaining_ms: i64,
}

/// The window of `limit` deliveries per second at `now_ms` (Unix milliseconds).
pub fn window(limit: u32, now_ms: i64) -> Window {
    let limit = limit.clamp(MIN_RATE, MAX_RATE);
    let sends = limit.div_ceil(10);
    // Rounded up, so that windows never add up to more than `limit` a second.
    let window_ms = (1000 * sends).div_ceil(limit).max(1);
    let window_ms = i64::from(window_ms);
    let index = now_ms.div_euclid(window_ms);
    Window {
        index,
        sends,
        remaining_ms: (index + 1) * window_ms - now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_per_second_is_one_send_per_half_second() {
        let w = window(2, 10_250);
        assert_eq!((w.index, w.sends, w.remaining_ms), (20, 1, 250));
        assert_eq!(window(2, 10_500).index, 21);
    }

    #[test]
    fn a_second_never_holds_more_than_the_limit() {
        for limit in [1, 2, 3, 7, 10, 11, 99, 100, 333, 999, 1000] {
            let w = window(limit, 0);
            let window_ms = w.remaining_ms;
            // Sustained: sends per window over the window's length, per second.
            assert!(
                i64::from(w.sends) * 1000 <= i64::from(limit) * window_ms,
                "{limit}: {} per {window_ms} ms",
                w.sends
            );
            assert!(w.sends <= limit.div_ceil(10), "bursts stay a tenth");
        }
        assert_eq!(window(1000, 0).sends, 100);
        assert_eq!(window(1000, 0).remaining_ms, 100);
        assert_eq!(window(3, 0).remaining_ms, 334);
    }
}
