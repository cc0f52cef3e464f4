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
//! | incoming webhook by key | `IWHKEY#{hex HMAC-SHA256(deployment key, key)}` | `IWHKEY` | |
//! | incoming webhook by key, written before keys were hashed (read, then migrated) | `IWHKEY#{key}` | `IWHKEY` | |
//! | the deployment key of those digests (sealed) | `DEPLOYKEY` | `IWHKEY` | |
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
//! | welcome-email marker of a new member | `WELCOME#{user_id}` | `WELCOME` | |
//!
//! Welcome-email markers still owed are also on `gsi2` (sparse): `WELCOME` /
//! `{due epoch seconds:012}#{user_id:012}` (`store::welcome`).
//!
//! Outbox batches not parked are also on `gsi2` (sparse):
//! `OUTBOXDUE#{shard}` / `{ULID of when the sweeper looks next}` (`store::outbox`).

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

/// A kind's keys (the domain's `Kind` knows no table).
pub trait KindKeys {
    /// The catalog partition (`SPACE` / `COURSE`).
    fn catalog(self) -> &'static str;
    /// The counter name for new ids.
    fn counter(self) -> &'static str;
    /// Sort key of a membership in a member's partition.
    fn membership_sk(self, id: i64) -> String;
    /// GSI partition listing the members of one space / course.
    fn members_gsi(self, id: i64) -> String;
}

impl KindKeys for Kind {
    fn catalog(self) -> &'static str {
        match self {
            Kind::Space => SPACE,
            Kind::Course => COURSE,
        }
    }

    fn counter(self) -> &'static str {
        match self {
            Kind::Space => "space",
            Kind::Course => "course",
        }
    }

    fn membership_sk(self, id: i64) -> String {
        format!("{}#{id:012}", self.catalog())
    }

    fn members_gsi(self, id: i64) -> String {
        format!("{}#{id}", self.catalog())
    }
}

/// The lookup item of an incoming key, by its digest (`secret::incoming_key_digest`): the
/// table never holds a key as a key.
pub fn webhook_key(digest: &str) -> String {
    format!("IWHKEY#{digest}")
}

/// The lookup item of a webhook written before keys were hashed (the key itself); read beside
/// the hashed one and migrated on its first call.
pub fn legacy_webhook_key(key: &str) -> String {
    format!("IWHKEY#{key}")
}

/// The item holding the deployment key of incoming-key digests (sealed by the vault).
pub const DEPLOYMENT_KEY: &str = "DEPLOYKEY";

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

/// The sweeper's index partition (`gsi2`, sparse) of one outbox shard's batches, by when the
/// sweeper looks at each next: written with a batch, removed when it is parked (`store::outbox`).
pub fn outbox_due(shard: u32) -> String {
    format!("OUTBOXDUE#{shard}")
}

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
pub fn expiring_sk(expires_at: jiff::Timestamp, email: &str, kind: Kind, id: i64) -> String {
    let end = crate::domain::time::rfc3339(expires_at);
    format!("{end}#{email}#{}#{id}", kind.noun())
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

/// The welcome-email marker of member `user_id` (one per member: idempotent by id).
pub fn welcome(user_id: i64) -> String {
    format!("WELCOME#{user_id}")
}

pub const WELCOME_SK: &str = "WELCOME";

/// The `gsi2` partition of welcome-email markers still owed (the sweep's index).
pub const WELCOME: &str = "WELCOME";

/// The partition keys each function reads and writes, as IAM `StringLike` patterns (`*` matches
/// any run of characters): `infra/template.yaml` grants each function's role its table and
/// index calls only under `ForAllValues:StringLike` on `dynamodb:LeadingKeys` with exactly this
/// list (`tests/tests/template.rs` compares them). The index partitions a function queries are
/// listed too: on a `Query` of `gsi1`/`gsi2`, `LeadingKeys` is the index's partition key.
///
/// moto does not enforce IAM, so a prefix missing here breaks only production; the unit tests
/// below build every key of this file and check that each is matched by some function's list,
/// and that each function's list matches the keys its code paths build.
pub const PARTITIONS: &[(&str, &[&str])] = &[
    // transport::incoming → app::incoming (call, new_member, provider): the key lookup
    // (IWHKEY#, its digests' deployment key DEPLOYKEY), the webhook's main item (IWH) and its runs, provider objects and customer maps
    // (IWH#…), idempotency (IDEM#), the member, its login claim, memberships and customer
    // references (MEMBER#, LOGIN#), new ids (COUNTER), the catalog it grants (SPACE, COURSE), a
    // resumed silence alert (SILENCED), the events it stages (OUTBOX#) and a new member's
    // welcome-email marker (WELCOME#). Never APPPW…,
    // SIGNIN#, WEBHOOK…, PUBLISH#, ERASURE…, NOTICE#.
    (
        "incoming",
        &[
            "COUNTER",
            "COURSE",
            "DEPLOYKEY",
            "IDEM#*",
            "IWH",
            "IWH#*",
            "IWHKEY#*",
            "LOGIN#*",
            "MEMBER#*",
            "OUTBOX#*",
            "SILENCED",
            "SPACE",
            "WELCOME#*",
        ],
    ),
    // transport::admin reaches every service: access (APPPW, APPPWNAME#, SIGNIN#), catalog and
    // members (SPACE, COURSE, COUNTER, MEMBER#, LOGIN#; gsi1 USERS, SPACE#…, COURSE#…), incoming
    // webhooks (IWH, IWHKEY#, DEPLOYKEY, IWH#…, IDEM#, SILENCED), endpoints, deliveries, publish, test,
    // redeliver and recover (WEBHOOK, WEBHOOK#… and its gsi1 status partitions, PUBLISH#,
    // NOTICE#), erasure jobs (ERASURE#, ERASUREUSER#) and the outbox (OUTBOX#).
    (
        "admin",
        &[
            "APPPW",
            "APPPWNAME#*",
            "COUNTER",
            "COURSE",
            "COURSE#*",
            "DEPLOYKEY",
            "ERASURE#*",
            "ERASUREUSER#*",
            "IDEM#*",
            "IWH",
            "IWH#*",
            "IWHKEY#*",
            "LOGIN#*",
            "MEMBER#*",
            "NOTICE#*",
            "OUTBOX#*",
            "PUBLISH#*",
            "SIGNIN#*",
            "SILENCED",
            "SPACE",
            "SPACE#*",
            "USERS",
            "WEBHOOK",
            "WEBHOOK#*",
        ],
    ),
    // sqs → app::deliveries: endpoints (WEBHOOK) and their deliveries, lines, leases, throttle
    // windows and recover jobs (WEBHOOK#…), operator notices (NOTICE#), consumed outbox batches
    // (OUTBOX#); the erasure steps it runs (app::erasure: ERASURE#, ERASUREUSER#, MEMBER#,
    // LOGIN#, the runs and customer maps of each webhook found by walking IWH — not provider
    // object states); a member's `xprofile` by id for an event that names only `user_id` (gsi1
    // USERS).
    (
        "dispatch",
        &[
            "ERASURE#*",
            "ERASUREUSER#*",
            "IWH",
            "IWH#*#CUSTOMER#*",
            "IWH#*#RUNS",
            "LOGIN#*",
            "MEMBER#*",
            "NOTICE#*",
            "OUTBOX#*",
            "USERS",
            "WEBHOOK",
            "WEBHOOK#*",
        ],
    ),
    // App::scheduled_sweeps: the outbox sweep (gsi2 OUTBOXDUE#…, then OUTBOX#), overdue deliveries (WEBHOOK, the gsi1
    // status partitions WEBHOOK#…, and a FIFO line's entries and lease when it kicks one), timed access (gsi2 EXPIRING#… and the legacy EXPIRING, then MEMBER#) and silence
    // alerts (gsi2 SILENCE, SILENCED, the webhook's main item IWH); each stages events (OUTBOX#);
    // owed welcome emails (gsi2 WELCOME, the markers WELCOME#, the member MEMBER#).
    (
        "sweeper",
        &[
            "EXPIRING",
            "EXPIRING#*",
            "IWH",
            "MEMBER#*",
            "OUTBOX#*",
            "OUTBOXDUE#*",
            "SILENCE",
            "SILENCED",
            "WEBHOOK",
            "WEBHOOK#*",
            "WELCOME",
            "WELCOME#*",
        ],
    ),
    // transport::stream → app::relay: acknowledges outbox batches only.
    ("relay", &["OUTBOX#*"]),
];

/// The partition patterns of one function (`PARTITIONS`); empty for an unknown name.
pub fn partitions_of(function: &str) -> &'static [&'static str] {
    PARTITIONS
        .iter()
        .find(|(f, _)| *f == function)
        .map_or(&[], |(_, p)| p)
}

/// IAM `StringLike` matching (`*` any run, `?` one character) of a partition key.
pub fn like(pattern: &str, key: &str) -> bool {
    fn go(p: &[char], k: &[char]) -> bool {
        match p.split_first() {
            None => k.is_empty(),
            Some(('*', rest)) => (0..=k.len()).any(|i| go(rest, &k[i..])),
            Some(('?', rest)) => !k.is_empty() && go(rest, &k[1..]),
            Some((c, rest)) => k.first() == Some(c) && go(rest, &k[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let k: Vec<char> = key.chars().collect();
    go(&p, &k)
}

/// Whether a function's partition list lets it touch this partition key.
pub fn reaches(function: &str, pk: &str) -> bool {
    partitions_of(function).iter().any(|p| like(p, pk))
}

#[cfg(test)]
mod partition_tests {
    use super::*;
    use crate::domain::delivery::DeliveryStatus;

    /// One sample of every partition key (table and index) this file builds, named by the fn
    /// or const that builds it, with the functions allowed to touch it (those whose code paths
    /// use it; `WEBHOOK#*` also lets the sweeper reach the throttle and recover partitions).
    fn samples() -> Vec<(&'static str, String, &'static [&'static str])> {
        vec![
            ("COUNTER", COUNTER.into(), &["incoming", "admin"]),
            ("USERS", USERS.into(), &["admin", "dispatch"]),
            ("SPACE", SPACE.into(), &["incoming", "admin"]),
            ("COURSE", COURSE.into(), &["incoming", "admin"]),
            (
                "IWH",
                IWH.into(),
                &["incoming", "admin", "dispatch", "sweeper"],
            ),
            (
                "member",
                member("a@example.com"),
                &["incoming", "admin", "dispatch", "sweeper"],
            ),
            ("login", login("Ann"), &["incoming", "admin", "dispatch"]),
            (
                "catalog",
                Kind::Space.catalog().into(),
                &["incoming", "admin"],
            ),
            ("members_gsi", Kind::Course.members_gsi(3), &["admin"]),
            ("members_gsi", Kind::Space.members_gsi(3), &["admin"]),
            ("webhook_key", webhook_key("ab12"), &["incoming", "admin"]),
            (
                "legacy_webhook_key",
                legacy_webhook_key("k3y"),
                &["incoming", "admin"],
            ),
            (
                "DEPLOYMENT_KEY",
                DEPLOYMENT_KEY.into(),
                &["incoming", "admin"],
            ),
            ("SILENCE", SILENCE.into(), &["sweeper"]),
            ("welcome", welcome(7), &["incoming", "sweeper"]),
            ("WELCOME", WELCOME.into(), &["sweeper"]),
            (
                "SILENCED",
                SILENCED.into(),
                &["incoming", "admin", "sweeper"],
            ),
            ("runs", runs(4), &["incoming", "admin", "dispatch"]),
            ("idempotency", idempotency("ab"), &["incoming", "admin"]),
            ("publish", publish("ab"), &["admin"]),
            (
                "outbox",
                outbox(7),
                &["incoming", "admin", "dispatch", "sweeper", "relay"],
            ),
            ("outbox_due", outbox_due(7), &["sweeper"]),
            ("WEBHOOK", WEBHOOK.into(), &["admin", "dispatch", "sweeper"]),
            (
                "deliveries",
                deliveries(5),
                &["admin", "dispatch", "sweeper"],
            ),
            ("EXPIRING_LEGACY", EXPIRING_LEGACY.into(), &["sweeper"]),
            ("expiring", expiring(3), &["sweeper"]),
            (
                "deliveries_by_status",
                deliveries_by_status(5, DeliveryStatus::Pending),
                &["admin", "dispatch", "sweeper"],
            ),
            ("rate", rate(5), &["admin", "dispatch", "sweeper"]),
            ("line", line(5), &["admin", "dispatch", "sweeper"]),
            (
                "recover_jobs",
                recover_jobs(5),
                &["admin", "dispatch", "sweeper"],
            ),
            ("notice", notice("01J"), &["admin", "dispatch"]),
            (
                "provider_object",
                provider_object(4, "shopify:1"),
                &["incoming", "admin"],
            ),
            (
                "provider_customer",
                provider_customer(4, "woo", "7"),
                &["incoming", "admin", "dispatch"],
            ),
            ("APP_PASSWORDS", APP_PASSWORDS.into(), &["admin"]),
            ("app_password_name", app_password_name("CI"), &["admin"]),
            ("signin", signin("203.0.113.9"), &["admin"]),
            ("erasure", erasure("01J"), &["admin", "dispatch"]),
            (
                "erasure_of_user",
                erasure_of_user(9),
                &["admin", "dispatch"],
            ),
        ]
    }

    /// Key-building items of this file that are not partition keys (sort keys, parsers, the
    /// stream filter's prefix) or are this policy itself.
    const NOT_PARTITIONS: &[&str] = &[
        "PROFILE",
        "WELCOME_SK",
        "id_sk",
        "member_email",
        "WEBHOOK_KEY_SK",
        "silence_sk",
        "IDEM_SK",
        "PUBLISH_SK",
        "outbox_shard",
        "OUTBOX_PREFIX",
        "expiring_sk",
        "expiring_shard",
        "EXPIRING_SHARDS",
        "rate_window_sk",
        "LINE_LEASE",
        "NOTICE_SK",
        "PROVIDER_OBJECT_SK",
        "PROVIDER_CUSTOMER_SK",
        "MEMBER_CUSTOMER_PREFIX",
        "member_customer_sk",
        "APP_PASSWORD_NAME_SK",
        "SIGNIN_SK",
        "ERASURE_SK",
        "ERASURE_OF_USER_SK",
        "PARTITIONS",
        "partitions_of",
        "like",
        "reaches",
    ];

    /// Every `pub fn` / `pub const` of this file (above the tests).
    fn declared() -> Vec<String> {
        let src = include_str!("keys.rs");
        let src = &src[..src.find("#[cfg(test)]").expect("tests")];
        src.lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let rest = l
                    .strip_prefix("pub fn ")
                    .or_else(|| l.strip_prefix("pub const "))?;
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
                Some(rest[..end].to_string())
            })
            .collect()
    }

    #[test]
    fn every_key_of_this_file_is_either_sampled_or_not_a_partition() {
        let sampled: Vec<&str> = samples().iter().map(|s| s.0).collect();
        for name in declared() {
            assert!(
                sampled.contains(&name.as_str()) || NOT_PARTITIONS.contains(&name.as_str()),
                "keys.rs `{name}`: add a sample partition key (and its functions) to \
                 partition_tests::samples, or list it in NOT_PARTITIONS"
            );
        }
        // And the lists name nothing stale.
        for name in sampled.iter().chain(NOT_PARTITIONS) {
            assert!(
                declared().iter().any(|d| d == name)
                    || *name == "catalog"
                    || *name == "members_gsi",
                "`{name}` is no longer in keys.rs"
            );
        }
    }

    #[test]
    fn every_partition_key_is_reached_by_exactly_the_functions_listed() {
        let functions: Vec<&str> = PARTITIONS.iter().map(|(f, _)| *f).collect();
        for (name, pk, users) in samples() {
            assert!(!users.is_empty(), "{name}: no function uses it");
            for f in &functions {
                assert_eq!(
                    reaches(f, &pk),
                    users.contains(f),
                    "{name} ({pk}) for {f}: PARTITIONS and the sample disagree"
                );
            }
        }
    }

    #[test]
    fn every_pattern_matches_some_key() {
        let keys: Vec<String> = samples().into_iter().map(|s| s.1).collect();
        for (f, patterns) in PARTITIONS {
            for p in *patterns {
                assert!(keys.iter().any(|k| like(p, k)), "{f}: {p} matches no key");
            }
        }
    }

    #[test]
    fn incoming_reaches_no_password_sign_in_endpoint_or_erasure_item() {
        for pk in [
            APP_PASSWORDS.to_string(),
            app_password_name("ci"),
            signin("203.0.113.9"),
            WEBHOOK.into(),
            deliveries(1),
            line(1),
            publish("x"),
            notice("x"),
            erasure("x"),
            erasure_of_user(1),
        ] {
            assert!(!reaches("incoming", &pk), "incoming reaches {pk}");
        }
    }

    #[test]
    fn like_follows_iam_string_like() {
        assert!(like("IWH#*", "IWH#1#RUNS"));
        assert!(!like("IWH#*", "IWH"));
        assert!(!like("IWH#*", "IWHKEY#x"));
        assert!(like("IWH", "IWH"));
        assert!(like("A?C", "ABC"));
        assert!(!like("APPPW", "APPPWNAME#x"));
    }

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
