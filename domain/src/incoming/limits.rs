//! Why one execution always fits in one DynamoDB transaction.
//!
//! DynamoDB allows 100 items and 4 MB per `TransactWriteItems`, 400 KB per item; SQS 256 KiB per
//! message. An execution writes, at most:
//!
//! | items                                   | count                   |
//! |-----------------------------------------|-------------------------|
//! | new member: profile + login claim       | 2                       |
//! | per membership change (write + exists)  | 2 × [`MAX_CHANGES`] = 80 |
//! | webhook counter + run                   | 2                       |
//! | idempotency record                      | 1                       |
//! | provider objects' last events           | [`MAX_OBJECTS`] = 4      |
//! | outbox batches                          | [`MAX_OUTBOX_ITEMS`] = 6 |
//! | **total**                               | **95 ≤ 100**            |
//!
//! The changes are bounded because the four id lists of a webhook hold at most
//! [`MAX_IDS_TOTAL`] distinct ids together (a form execution changes each at most once), the
//! products at most [`MAX_IDS_PER_LIST`] spaces and as many courses, and a revoke removes at most
//! [`MAX_CHANGES`] grants per event.
//!
//! Sizes: the mapped meta is at most [`META_MAX_BYTES`] as JSON, and it is the only unbounded
//! input an event carries (twice: `user.meta` and `xprofile.meta`). An event is then at most
//! about [`EVENT_MAX_BYTES`] (24 KiB); an execution makes at most `MAX_CHANGES + 2` events, so
//! 42 × 24 KiB = 1,008 KiB in all, packed in order into outbox batches of at most
//! [`OUTBOX_ITEM_MAX_BYTES`] each (one SQS message each). A batch is closed only when the next
//! event does not fit, so every closed batch holds more than 200 − 24 = 176 KiB: at most
//! ⌈1008 / 176⌉ = 6 batches, about 1 MB — well under 4 MB. Typical executions (meta of a few
//! hundred bytes) write one batch. [`worst_case_items`] is the bound the tests check.

/// Most ids one list of a webhook may hold.
pub const MAX_IDS_PER_LIST: usize = 20;
/// Most distinct ids the four lists (`space_ids`, `remove_space_ids`, `course_ids`,
/// `remove_course_ids`) hold together.
pub const MAX_IDS_TOTAL: usize = 40;
/// Most membership changes one execution makes.
pub const MAX_CHANGES: usize = 40;
/// Most `field_map` entries.
pub const MAX_FIELD_MAP: usize = 20;
/// Most characters of one mapped meta value.
pub const META_VALUE_MAX_CHARS: usize = 2000;
/// Most bytes of the mapped meta, as JSON.
pub const META_MAX_BYTES: usize = 8 * 1024;
/// Most provider objects one event names.
pub const MAX_OBJECTS: usize = 4;
/// Most characters of one provider object id (they are key parts).
pub const OBJECT_MAX_CHARS: usize = 200;
/// An event's size bound, meta twice plus the member's bounded fields and the event envelope.
pub const EVENT_MAX_BYTES: usize = 2 * META_MAX_BYTES + 8 * 1024;
/// Most bytes of one outbox batch (and its SQS message, 256 KiB at most).
pub const OUTBOX_ITEM_MAX_BYTES: usize = 200 * 1024;
/// Outbox batches one execution writes at most: its events in batches of
/// [`OUTBOX_ITEM_MAX_BYTES`].
pub const MAX_OUTBOX_ITEMS: usize =
    ((MAX_CHANGES + 2) * EVENT_MAX_BYTES).div_ceil(OUTBOX_ITEM_MAX_BYTES - EVENT_MAX_BYTES);
/// DynamoDB's limit.
pub const TRANSACTION_MAX_ITEMS: usize = 100;

/// The most items one execution's transaction holds (see the module documentation).
pub const fn worst_case_items() -> usize {
    2 + 2 * MAX_CHANGES + 2 + 1 + MAX_OBJECTS + MAX_OUTBOX_ITEMS
}

// The bound holds at compile time: changing a limit so the worst case no longer fits (with a
// margin of 5 items) or a batch no longer fits an SQS message does not build.
const _: () = assert!(MAX_IDS_TOTAL <= MAX_CHANGES && 2 * MAX_IDS_PER_LIST <= MAX_CHANGES);
const _: () = assert!(worst_case_items() <= TRANSACTION_MAX_ITEMS - 5);
const _: () = assert!(OUTBOX_ITEM_MAX_BYTES < 256 * 1024);
const _: () = assert!(MAX_OUTBOX_ITEMS * OUTBOX_ITEM_MAX_BYTES < 2_000_000);
