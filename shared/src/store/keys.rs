//! Every key of the single table, in one place.
//!
//! | item | pk | sk | gsi1pk / gsi1sk |
//! |---|---|---|---|
//! | id counter | `COUNTER` | `user`, `space`, ... | |
//! | member profile | `MEMBER#{email}` | `PROFILE` | `USERS` / `{user_id:012}` |
//! | space membership | `MEMBER#{email}` | `SPACE#{id:012}` | `SPACE#{id}` / `{user_id:012}` |
//! | course enrollment | `MEMBER#{email}` | `COURSE#{id:012}` | `COURSE#{id}` / `{user_id:012}` |
//!
//! Memberships with a timed grant are also on `gsi2` (sparse): `EXPIRING#{shard 0..15}` /
//! `{next grant end}#{email}#{space|course}#{id}` ([`expiring_shard`]; items written before the
//! index was sharded sit on [`EXPIRING_LEGACY`]).
//!
//! Incoming webhooks with `expect_every_hours` are also on `gsi2` (sparse, on their main item):
//! `SILENCE` / `{due, RFC 3339}#{id:012}`; the entry is removed while an alert is open.
//!
//! | item | pk | sk | gsi1pk / gsi1sk |
//! |---|---|---|---|
//! | login claim | `LOGIN#{login lower-cased}` | `LOGIN` | |
//! | space / course | `SPACE` / `COURSE` | `{id:012}` | |
//! | incoming webhook | `IWH` | `{id:012}` | |
//! | incoming webhook by key | `IWHKEY#{key}` | `IWHKEY` | |
//! | open silence alert of an incoming webhook | `SILENCED` | `{id:012}` | |
//! | incoming run | `IWH#{id}#RUNS` | `{ulid}` | |
//! | provider object state | `IWH#{id}#OBJ#{provider}:{object id}` | `OBJ` | |
//! | provider customer (per incoming webhook) | `IWH#{id}#CUSTOMER#{provider}:{customer id}` | `CUSTOMER` | |
//! | a member's provider customer (erasure finds the maps) | `MEMBER#{email}` | `CUSTOMER#{id}#{provider}:{customer id}` | |
//! | idempotency record | `IDEM#{sha256(webhook key, Idempotency-Key)}` | `IDEM` | |
//! | publish idempotency record | `PUBLISH#{sha256(key or event id)}` | `PUBLISH` | |
//! | outbox batch | `OUTBOX#{shard}` | `{batch ulid}` | |
//! | endpoint (outgoing webhook) | `WEBHOOK` | `{id:012}` | |
//! | delivery | `WEBHOOK#{id}#DELIVERIES` | `{delivery ulid}` | `WEBHOOK#{id}#{status}` / `{delivery ulid}` |
//! | FIFO line entry | `WEBHOOK#{id}#LINE` | `{event ulid}#{delivery ulid}` | |
//! | FIFO line lease | `WEBHOOK#{id}#LINE` | `LEASE` | |
//! | recover job | `WEBHOOK#{id}#RECOVER` | `{recover ulid}` | |
//! | operator notice sent | `NOTICE#{event ulid}` | `NOTICE` | |
//! | application password | `APPPW` | `{id:012}` | |
//! | application password name claim | `APPPWNAME#{name lower-cased}` | `APPPWNAME` | |
//! | sign-in failures of a source | `SIGNIN#{ip or /64}` | `SIGNIN` | |
//! | erasure job | `ERASURE#{erasure ulid}` | `ERASURE` | |
//! | erasure of a member (one per user id) | `ERASUREUSER#{user_id}` | `ERASUREUSER` | |

pub const COUNTER: &str = "COUNTER";
pub const PROFILE: &str = "PROFILE";
pub const USERS: &str = "USERS";
pub const SPACE: &str = "SPACE";
pub const COURSE: &str = "COURSE";
pub const IWH: &str = "IWH";

pub fn id_sk(id: i64) -> String {
    format!("{id:012}")
}

pub fn member(email: &str) -> String {
    format!("MEMBER#{email}")
}

/// The email a member partition key names (the inverse of [`member`]).
pub fn member_email(pk: &str) -> Option<&str> {
    pk.strip_prefix("MEMBER#")
}

pub fn login(login: &str) -> String {
    format!("LOGIN#{}", login.to_lowercase())
}

pub use crate::domain::membership::Kind;

impl Kind {
    /// The catalog partition (`SPACE` / `COURSE`).
    pub fn catalog(self) -> &'static str {
        match self {
            Kind::Space => SPACE,
            Kind::Course => COURSE,
        }
    }

    /// The counter name for new ids.
    pub fn counter(self) -> &'static str {
        match self {
            Kind::Space => "space",
            Kind::Course => "course",
        }
    }

    /// Sort key of a membership in a member's partition.
    pub fn membership_sk(self, id: i64) -> String {
        format!("{}#{id:012}", self.catalog())
    }

    /// GSI partition listing the members of one space / course.
    pub fn members_gsi(self, id: i64) -> String {
        format!("{}#{id}", self.catalog())
    }
}

pub fn webhook_key(key: &str) -> String {
    format!("IWHKEY#{key}")
}

pub const WEBHOOK_KEY_SK: &str = "IWHKEY";

/// The silence index's one partition (incoming webhooks that expect calls, by due time). Not
/// sharded: an entry moves at most once per due bucket (`domain::incoming::silence`).
pub const SILENCE: &str = "SILENCE";

/// Silence index sort key: the due time first, so a range query finds everything overdue.
pub fn silence_sk(due: &str, webhook_id: i64) -> String {
    format!("{due}#{webhook_id:012}")
}

/// The partition of open silence alerts (one item per silent webhook, `id_sk`).
pub const SILENCED: &str = "SILENCED";

pub fn runs(webhook_id: i64) -> String {
    format!("IWH#{webhook_id}#RUNS")
}

/// `key_hash` is sha256 of the webhook key and the caller's idempotency key together.
pub fn idempotency(key_hash: &str) -> String {
    format!("IDEM#{key_hash}")
}

pub const IDEM_SK: &str = "IDEM";

/// A publish's idempotency record (`key_hash`: see `domain::publish::publish_key`).
pub fn publish(key_hash: &str) -> String {
    format!("PUBLISH#{key_hash}")
}

pub const PUBLISH_SK: &str = "PUBLISH";

pub fn outbox(shard: u32) -> String {
    format!("OUTBOX#{shard}")
}

/// The shard of an outbox partition key; `None` for any other key.
pub fn outbox_shard(pk: &str) -> Option<u32> {
    pk.strip_prefix("OUTBOX#")?.parse().ok()
}

/// The prefix of every outbox partition key (the relay's stream filter matches it).
pub const OUTBOX_PREFIX: &str = "OUTBOX#";

pub const WEBHOOK: &str = "WEBHOOK";

/// All deliveries of an endpoint.
pub fn deliveries(webhook_id: i64) -> String {
    format!("WEBHOOK#{webhook_id}#DELIVERIES")
}

/// How many partitions the expiry index spreads over (`EXPIRING#{0..15}`).
pub const EXPIRING_SHARDS: u32 = 16;

/// The expiry index's partition of one shard (memberships with a timed grant).
pub fn expiring(shard: u32) -> String {
    format!("EXPIRING#{shard}")
}

/// The expiry index shard of a membership: a stable hash (sha256) of its member and grant
/// target, so a membership stays on one shard for as long as it has a timed grant.
pub fn expiring_shard(email: &str, kind: Kind, id: i64) -> u32 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{email}#{}#{id}", kind.noun()).as_bytes());
    let head = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    head % EXPIRING_SHARDS
}

/// The expiry index's partition before it was sharded. Nothing writes it any more; the sweeper
/// still reads it (bounded) until the items written before the change have ended or been
/// rewritten (any write of a membership moves it to its shard).
pub const EXPIRING_LEGACY: &str = "EXPIRING";

/// Expiry index sort key: the end first, so a range query finds everything ended.
pub fn expiring_sk(expires_at: &str, email: &str, kind: Kind, id: i64) -> String {
    format!("{expires_at}#{email}#{}#{id}", kind.noun())
}

/// The deliveries of an endpoint in one status (GSI partition; moves when the status changes).
pub fn deliveries_by_status(
    webhook_id: i64,
    status: crate::domain::delivery::DeliveryStatus,
) -> String {
    format!("WEBHOOK#{webhook_id}#{status}")
}

/// An endpoint's throttle windows (`rate_limit`): one counter item per window, with a TTL.
pub fn rate(webhook_id: i64) -> String {
    format!("WEBHOOK#{webhook_id}#RATE")
}

pub fn rate_window_sk(index: i64) -> String {
    format!("{index:020}")
}

/// A FIFO endpoint's line of deliveries waiting their turn (and its lease).
pub fn line(webhook_id: i64) -> String {
    format!("WEBHOOK#{webhook_id}#LINE")
}

/// Sort key of the line's lease: sorts after every entry (ULIDs start with a digit).
pub const LINE_LEASE: &str = "LEASE";

/// An endpoint's recover jobs.
pub fn recover_jobs(webhook_id: i64) -> String {
    format!("WEBHOOK#{webhook_id}#RECOVER")
}

/// Marks the operator notice of one event as sent.
pub fn notice(event_id: &str) -> String {
    format!("NOTICE#{event_id}")
}

pub const NOTICE_SK: &str = "NOTICE";
/// The last event applied to a provider object, per incoming webhook.
pub fn provider_object(webhook_id: i64, object: &str) -> String {
    format!("IWH#{webhook_id}#OBJ#{object}")
}

pub const PROVIDER_OBJECT_SK: &str = "OBJ";

/// Provider customer id → member email, within one incoming webhook.
pub fn provider_customer(webhook_id: i64, source: &str, customer: &str) -> String {
    format!("IWH#{webhook_id}#CUSTOMER#{source}:{customer}")
}

pub const PROVIDER_CUSTOMER_SK: &str = "CUSTOMER";

/// Sort keys of a member's customer references in their partition (so erasure finds the maps).
pub const MEMBER_CUSTOMER_PREFIX: &str = "CUSTOMER#";

/// Sort key of one customer reference in the member's partition.
pub fn member_customer_sk(webhook_id: i64, source: &str, customer: &str) -> String {
    format!("{MEMBER_CUSTOMER_PREFIX}{webhook_id}#{source}:{customer}")
}

pub const APP_PASSWORDS: &str = "APPPW";

/// Name uniqueness of application passwords (case-insensitive).
pub fn app_password_name(name: &str) -> String {
    format!("APPPWNAME#{}", name.to_lowercase())
}

pub const APP_PASSWORD_NAME_SK: &str = "APPPWNAME";

/// Failed sign-ins of one source and user name (see `domain::auth::signin_key`).
pub fn signin(source: &str) -> String {
    format!("SIGNIN#{source}")
}

pub const SIGNIN_SK: &str = "SIGNIN";

/// An erasure job (docs/reference/security.md#gdpr-and-erasure).
pub fn erasure(erasure_id: &str) -> String {
    format!("ERASURE#{erasure_id}")
}

pub const ERASURE_SK: &str = "ERASURE";

/// The one erasure of a member: names its job, so a repeated `DELETE` finds it.
pub fn erasure_of_user(user_id: i64) -> String {
    format!("ERASUREUSER#{user_id}")
}

pub const ERASURE_OF_USER_SK: &str = "ERASUREUSER";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_shards_are_stable_in_range_and_spread() {
        let a = expiring_shard("a@example.com", Kind::Space, 7);
        assert_eq!(a, expiring_shard("a@example.com", Kind::Space, 7));
        let shards: std::collections::BTreeSet<u32> = (0..200)
            .map(|n| expiring_shard(&format!("m{n}@example.com"), Kind::Course, n))
            .collect();
        assert!(shards.iter().all(|s| *s < EXPIRING_SHARDS));
        assert_eq!(shards.len(), EXPIRING_SHARDS as usize);
        assert_eq!(expiring(3), "EXPIRING#3");
        assert!(expiring(3).starts_with(EXPIRING_LEGACY));
    }
}
