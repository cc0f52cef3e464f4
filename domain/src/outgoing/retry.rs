//! When a failed delivery is tried again (docs/reference/outgoing.md#the-delivery).

/// Base delays between attempts: 1 min, 5 min, 30 min, 2 h, 24 h.
pub const RETRY_DELAYS: [u64; 5] = [60, 300, 1800, 7200, 86_400];

/// Seconds to wait before retry number `retry` (1-based), with ±20 % jitter (`jitter` in
/// [0, 1)), honouring a `Retry-After` (seconds) clamped to [scheduled, 2 × scheduled].
pub fn retry_delay(retry: u32, jitter: f64, retry_after: Option<u64>) -> u64 {
    let idx = (retry.max(1) as usize - 1).min(RETRY_DELAYS.len() - 1);
    let base = RETRY_DELAYS[idx] as f64;
    let scheduled = (base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))).round() as u64;
    match retry_after {
        Some(ra) => ra.clamp(scheduled, scheduled * 2),
        None => scheduled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedule() {
        assert_eq!(retry_delay(1, 0.5, None), 60);
        assert_eq!(retry_delay(1, 0.0, None), 48);
        assert_eq!(retry_delay(1, 1.0, None), 72);
        assert_eq!(retry_delay(5, 0.5, None), 86_400);
        assert_eq!(retry_delay(2, 0.5, Some(10)), 300);
        assert_eq!(retry_delay(2, 0.5, Some(450)), 450);
        assert_eq!(retry_delay(2, 0.5, Some(99_999)), 600);
    }
}
