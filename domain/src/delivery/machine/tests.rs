//! Every transition of the delivery state machine, without I/O.

use super::*;

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2026-12-03T10:00:00Z";

fn delivery(status: DeliveryStatus, next: Option<&str>) -> Delivery {
    Delivery {
        id: "01JDELIVERY".into(),
        webhook_id: 1,
        event_id: "01JEVENT".into(),
        event: crate::events::names::SPACE_CREATED,
        status,
        payload: "{}".into(),
        content_type: None,
        attempts: vec![],
        next_attempt_at: next.map(at),
        created_at: at(NOW),
        attempt_count: 0,
    }
}

fn http(status: u16) -> Outcome {
    Outcome {
        status: Some(status),
        retry_after: None,
    }
}

const NO_RESPONSE: Outcome = Outcome {
    status: None,
    retry_after: None,
};

const HEALTHY: Health = Health {
    recovering: false,
    paused: false,
};

fn scheduled(outcome: Outcome, prev: usize, health: Health, jitter: f64) -> Step {
    let d = delivery(DeliveryStatus::Pending, None);
    after_attempt(
        &d,
        outcome,
        Trigger::Scheduled,
        5,
        prev,
        health,
        at(NOW),
        jitter,
    )
}

fn retry_in(step: &Step) -> i64 {
    match step.next_attempt {
        NextAttempt::At(t) => t.as_second() - at(NOW).as_second(),
        other => panic!("no retry: {other:?}"),
    }
}

#[test]
fn success_ends_the_delivery() {
    let step = scheduled(http(204), 0, HEALTHY, 0.5);
    assert_eq!(step.status, DeliveryStatus::Success);
    assert_eq!(step.next_attempt, NextAttempt::Clear);
    assert!(!step.schedule);
    assert_eq!(step.health, HealthChange::Succeeded);
}

#[test]
fn first_success_after_reactivation_recovers() {
    let recovering = Health {
        recovering: true,
        ..HEALTHY
    };
    assert_eq!(
        scheduled(http(200), 3, recovering, 0.5).health,
        HealthChange::Recovered
    );
}

#[test]
fn retry_ladder_then_failed() {
    let expected = [60, 300, 1800, 7200, 86_400];
    for (prev, secs) in expected.iter().enumerate() {
        let step = scheduled(http(500), prev, HEALTHY, 0.5);
        assert_eq!(
            step.status,
            DeliveryStatus::Pending,
            "after attempt {}",
            prev + 1
        );
        assert!(step.schedule);
        assert_eq!(step.health, HealthChange::Errored);
        assert_eq!(retry_in(&step), *secs);
    }
    let last = scheduled(NO_RESPONSE, 5, HEALTHY, 0.5);
    assert_eq!(last.status, DeliveryStatus::Failed);
    assert_eq!(last.next_attempt, NextAttempt::Clear);
    assert!(!last.schedule);
    assert_eq!(last.health, HealthChange::CountFailure);
}

#[test]
fn jitter_spreads_the_delay_by_twenty_percent() {
    assert_eq!(retry_in(&scheduled(http(500), 0, HEALTHY, 0.0)), 48);
    assert_eq!(retry_in(&scheduled(http(500), 0, HEALTHY, 1.0)), 72);
}

#[test]
fn gone_disables_at_once_without_retry() {
    let step = scheduled(http(410), 0, HEALTHY, 0.5);
    assert_eq!(step.status, DeliveryStatus::Failed);
    assert!(!step.schedule);
    assert_eq!(step.health, HealthChange::Disable);
    // Also when an admin's test gets the 410.
    let d = delivery(DeliveryStatus::Success, None);
    let manual = after_attempt(&d, http(410), Trigger::Manual, 5, 1, HEALTHY, at(NOW), 0.5);
    assert_eq!(manual.health, HealthChange::Disable);
}

#[test]
fn retry_after_is_clamped_to_one_to_two_times_the_schedule() {
    let with = |status, secs| Outcome {
        status: Some(status),
        retry_after: Some(secs),
    };
    // Second retry: 300 s scheduled.
    assert_eq!(retry_in(&scheduled(with(429, 10), 1, HEALTHY, 0.5)), 300);
    assert_eq!(retry_in(&scheduled(with(503, 450), 1, HEALTHY, 0.5)), 450);
    assert_eq!(
        retry_in(&scheduled(with(429, 99_999), 1, HEALTHY, 0.5)),
        600
    );
    // Only 429 and 503 are heard.
    assert_eq!(retry_in(&scheduled(with(500, 450), 1, HEALTHY, 0.5)), 300);
}

#[test]
fn five_failed_deliveries_in_a_row_disable() {
    for count in 1..FAILURES_BEFORE_DISABLE {
        assert!(!disables_after(count, HEALTHY), "{count}");
    }
    assert!(disables_after(5, HEALTHY));
    assert!(disables_after(6, HEALTHY));
}

#[test]
fn paused_endpoints_are_never_disabled() {
    let paused = Health {
        paused: true,
        ..HEALTHY
    };
    assert!(!disables_after(50, paused));
    assert_eq!(
        scheduled(http(410), 0, paused, 0.5).health,
        HealthChange::CountFailure
    );
}

#[test]
fn manual_attempts_are_never_retried() {
    let d = delivery(DeliveryStatus::Failed, None);
    let step = after_attempt(&d, http(500), Trigger::Manual, 5, 6, HEALTHY, at(NOW), 0.5);
    assert_eq!(step.status, DeliveryStatus::Failed);
    assert!(!step.schedule);
    assert_eq!(step.health, HealthChange::Errored, "not counted");
    let ok = after_attempt(&d, http(200), Trigger::Manual, 5, 6, HEALTHY, at(NOW), 0.5);
    assert_eq!(ok.status, DeliveryStatus::Success);
}

#[test]
fn a_manual_attempt_keeps_a_waiting_retry() {
    let d = delivery(DeliveryStatus::Pending, Some("2026-12-03T10:05:00Z"));
    let step = after_attempt(&d, http(500), Trigger::Manual, 5, 1, HEALTHY, at(NOW), 0.5);
    assert_eq!(step.status, DeliveryStatus::Pending);
    assert_eq!(step.next_attempt, NextAttempt::Keep);
    assert!(step.schedule, "re-announced with the new attempt count");
    let mut applied = d.clone();
    step.apply(&mut applied);
    assert_eq!(applied.next_attempt_at, d.next_attempt_at);
}

#[test]
fn a_fifo_head_that_fails_holds_its_line() {
    // A FIFO line delivers its head while it is pending; a failure with retries left keeps it
    // pending (the line waits for the retry), one without ends it (the line moves on).
    let held = scheduled(http(503), 0, HEALTHY, 0.5);
    assert_eq!(held.status, DeliveryStatus::Pending);
    let released = scheduled(http(503), 5, HEALTHY, 0.5);
    assert_eq!(released.status, DeliveryStatus::Failed);
}

#[test]
fn recover_takes_only_failed_deliveries() {
    assert!(recoverable(&delivery(DeliveryStatus::Failed, None)));
    assert!(!recoverable(&delivery(DeliveryStatus::Pending, None)));
    assert!(!recoverable(&delivery(DeliveryStatus::Success, None)));
}

#[test]
fn apply_writes_status_and_time() {
    let mut d = delivery(DeliveryStatus::Pending, None);
    scheduled(http(500), 0, HEALTHY, 0.5).apply(&mut d);
    assert_eq!(d.next_attempt_at, Some(at("2026-12-03T10:01:00Z")));
    scheduled(http(200), 1, HEALTHY, 0.5).apply(&mut d);
    assert_eq!(d.status, DeliveryStatus::Success);
    assert_eq!(d.next_attempt_at, None);
}
