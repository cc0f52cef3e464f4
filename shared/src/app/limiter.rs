//! A per-instance, per-webhook fixed-window rate limit (a safety net behind API Gateway's
//! own throttling, which is the real limit when deployed).

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<i64, (i64, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Whether one more call of `webhook_id` fits in the current minute.
    pub fn allow(&self, webhook_id: i64, now_secs: i64) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let minute = now_secs / 60;
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        if windows.len() > 10_000 {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let entry = windows.entry(webhook_id).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn window() {
        let l = super::RateLimiter::new(2);
        assert!(l.allow(1, 0));
        assert!(l.allow(1, 1));
        assert!(!l.allow(1, 2));
        assert!(l.allow(2, 2));
        assert!(l.allow(1, 60));
        assert!(super::RateLimiter::new(0).allow(1, 0));
    }
}
