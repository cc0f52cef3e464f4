//! The event catalog (docs/reference/outgoing.md#publishing-events) and the two names checked
//! against it: [`EventName`] (one event) and [`EventPattern`] (a subscription).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Who emits an event: the community platform (through `POST /admin/events`) or Switchboard
/// itself, about its own state (docs/reference/outgoing.md#publishing-events "engine events are the
/// engine's").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Published by the platform; Switchboard may emit it too (a member joining a space).
    Published,
    /// Emitted only by Switchboard about its own state: `POST /admin/events` refuses it.
    Engine,
}

/// `(event, description, origin)` for every catalog event, grouped by namespace.
pub const CATALOG: &[(&str, &str, Origin)] = &[
    ("feed.created", "New feed post created", Origin::Published),
    ("feed.updated", "Feed post updated", Origin::Published),
    ("feed.deleted", "Feed post deleted", Origin::Published),
    ("feed.pinned", "Feed post pinned", Origin::Published),
    ("feed.unpinned", "Feed post unpinned", Origin::Published),
    ("comment.created", "New comment added", Origin::Published),
    ("comment.updated", "Comment updated", Origin::Published),
    ("comment.deleted", "Comment deleted", Origin::Published),
    (
        "reaction.added",
        "Reaction added to content",
        Origin::Published,
    ),
    (
        "reaction.removed",
        "Reaction removed from content",
        Origin::Published,
    ),
    ("space.created", "New space created", Origin::Published),
    ("space.updated", "Space updated", Origin::Published),
    ("space.deleted", "Space deleted", Origin::Published),
    (
        "space.member_joined",
        "User joined space",
        Origin::Published,
    ),
    ("space.member_left", "User left space", Origin::Published),
    ("user.registered", "New user registered", Origin::Published),
    (
        "user.profile_updated",
        "User profile updated",
        Origin::Published,
    ),
    (
        "user.followed",
        "User followed another user",
        Origin::Published,
    ),
    (
        "user.unfollowed",
        "User unfollowed another user",
        Origin::Published,
    ),
    (
        "user.deleted",
        "A member was erased (data: user_id only), so subscribed systems can erase them too",
        Origin::Engine,
    ),
    (
        "course.enrolled",
        "User enrolled in course",
        Origin::Published,
    ),
    (
        "course.unenrolled",
        "User unenrolled from course",
        Origin::Published,
    ),
    (
        "lesson.completed",
        "User completed lesson",
        Origin::Published,
    ),
    (
        "report.created",
        "New moderation report submitted",
        Origin::Published,
    ),
    (
        "report.resolved",
        "Moderation report resolved",
        Origin::Published,
    ),
    ("contact.created", "New contact added", Origin::Published),
    (
        "contact.updated",
        "Contact information changed",
        Origin::Published,
    ),
    ("contact.deleted", "Contact removed", Origin::Published),
    (
        "contact.status_changed",
        "Contact status updated",
        Origin::Published,
    ),
    (
        "contact.tag_added",
        "Tag added to contact",
        Origin::Published,
    ),
    (
        "contact.tag_removed",
        "Tag removed from contact",
        Origin::Published,
    ),
    (
        "contact.list_added",
        "Contact added to list",
        Origin::Published,
    ),
    (
        "contact.list_removed",
        "Contact removed from list",
        Origin::Published,
    ),
    ("email.sent", "Email successfully sent", Origin::Published),
    (
        "email.opened",
        "Email opened by recipient",
        Origin::Published,
    ),
    ("email.clicked", "Link clicked in email", Origin::Published),
    ("email.bounced", "Email bounced", Origin::Published),
    (
        "email.spam_complaint",
        "Spam complaint received",
        Origin::Published,
    ),
    (
        "email.unsubscribed",
        "Contact unsubscribed",
        Origin::Published,
    ),
    (
        "campaign.created",
        "New campaign created",
        Origin::Published,
    ),
    (
        "campaign.sent",
        "Campaign finished sending",
        Origin::Published,
    ),
    ("campaign.paused", "Campaign paused", Origin::Published),
    ("campaign.resumed", "Campaign resumed", Origin::Published),
    (
        "funnel.subscriber_added",
        "Contact entered funnel",
        Origin::Published,
    ),
    (
        "funnel.subscriber_completed",
        "Contact completed funnel",
        Origin::Published,
    ),
    (
        "funnel.subscriber_exited",
        "Contact exited funnel",
        Origin::Published,
    ),
    (
        "funnel.sequence_completed",
        "Contact completed sequence",
        Origin::Published,
    ),
    (
        "commerce.order_created",
        "New order placed",
        Origin::Published,
    ),
    (
        "commerce.order_completed",
        "Order completed",
        Origin::Published,
    ),
    (
        "commerce.order_refunded",
        "Order refunded",
        Origin::Published,
    ),
    (
        "commerce.revenue_recorded",
        "Revenue attributed",
        Origin::Published,
    ),
    (
        "incoming_webhook.processed",
        "An incoming webhook call was executed successfully",
        Origin::Engine,
    ),
    (
        "webhook.test",
        "Test delivery sent from the admin API",
        Origin::Engine,
    ),
    (
        "incoming_webhook.silent",
        "An incoming webhook with expect_every_hours got no accepted call for that long (emitted by Switchboard)",
        Origin::Engine,
    ),
    (
        "incoming_webhook.resumed",
        "A silent incoming webhook accepted a call again (emitted by Switchboard)",
        Origin::Engine,
    ),
    (
        "endpoint.disabled",
        "An outgoing webhook endpoint was disabled (410 Gone or five failed deliveries in a row)",
        Origin::Engine,
    ),
    (
        "endpoint.recovered",
        "A re-activated outgoing webhook endpoint delivered successfully again",
        Origin::Engine,
    ),
];

pub fn is_catalog_event(name: &str) -> bool {
    EventName::parse(name).is_some()
}

fn namespace(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The name of a catalog event (`space.joined`): checked once, when parsed (or, for the names
/// the code emits, at compile time through [`EventName::known`]), so everything downstream
/// holds a name the catalog describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventName(&'static str);

impl EventName {
    /// A name the code emits; a name missing from [`CATALOG`] fails the build when used in a
    /// `const`.
    pub const fn known(name: &'static str) -> Self {
        let mut i = 0;
        while i < CATALOG.len() {
            if same(CATALOG[i].0, name) {
                return Self(CATALOG[i].0);
            }
            i += 1;
        }
        panic!("not a catalog event");
    }

    /// The catalog event of this name, if any.
    pub fn parse(name: &str) -> Option<Self> {
        CATALOG
            .iter()
            .find(|(e, _, _)| *e == name)
            .map(|(e, _, _)| Self(e))
    }

    /// Who emits this event (one policy: [`Origin::Engine`] events are never published).
    pub fn origin(self) -> Origin {
        CATALOG
            .iter()
            .find(|(e, _, _)| *e == self.0)
            .map_or(Origin::Published, |(_, _, o)| *o)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    pub fn namespace(self) -> &'static str {
        namespace(self.0)
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for EventName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for EventName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Serialize for EventName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for EventName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Self::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("not a catalog event: {name}")))
    }
}

/// The events Switchboard itself emits, checked against [`CATALOG`] when the crate compiles.
pub mod names {
    use super::EventName;

    pub const USER_REGISTERED: EventName = EventName::known("user.registered");
    pub const USER_DELETED: EventName = EventName::known("user.deleted");
    pub const SPACE_CREATED: EventName = EventName::known("space.created");
    pub const SPACE_UPDATED: EventName = EventName::known("space.updated");
    pub const SPACE_DELETED: EventName = EventName::known("space.deleted");
    pub const SPACE_MEMBER_JOINED: EventName = EventName::known("space.member_joined");
    pub const SPACE_MEMBER_LEFT: EventName = EventName::known("space.member_left");
    pub const COURSE_ENROLLED: EventName = EventName::known("course.enrolled");
    pub const COURSE_UNENROLLED: EventName = EventName::known("course.unenrolled");
    pub const INCOMING_WEBHOOK_PROCESSED: EventName =
        EventName::known("incoming_webhook.processed");
    pub const INCOMING_WEBHOOK_SILENT: EventName = EventName::known("incoming_webhook.silent");
    pub const INCOMING_WEBHOOK_RESUMED: EventName = EventName::known("incoming_webhook.resumed");
    pub const WEBHOOK_TEST: EventName = EventName::known("webhook.test");
    pub const ENDPOINT_DISABLED: EventName = EventName::known("endpoint.disabled");
    pub const ENDPOINT_RECOVERED: EventName = EventName::known("endpoint.recovered");
}

/// A subscription: `*`, `ns.*` for a catalog namespace, or one catalog event — checked once,
/// when parsed from admin input or read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventPattern(String);

impl EventPattern {
    /// The pattern, if `pattern` is one.
    pub fn parse(pattern: &str) -> Option<Self> {
        let valid = match pattern.strip_suffix(".*") {
            _ if pattern == "*" => true,
            Some(ns) => CATALOG.iter().any(|(e, _, _)| namespace(e) == ns),
            None => is_catalog_event(pattern),
        };
        valid.then(|| Self(pattern.to_string()))
    }

    /// Every event.
    pub fn all() -> Self {
        Self("*".into())
    }

    /// Whether this subscription covers `event`.
    pub fn matches(&self, event: EventName) -> bool {
        let p = self.0.as_str();
        p == "*"
            || p == event.as_str()
            || p.strip_suffix(".*")
                .is_some_and(|ns| event.namespace() == ns)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventPattern {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("not an event or pattern: {s}"))
    }
}

impl From<EventPattern> for String {
    fn from(p: EventPattern) -> String {
        p.0
    }
}

/// `GET /admin/event-types`: the catalog grouped by namespace.
pub fn catalog_json() -> Value {
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for (event, description, _) in CATALOG {
        let ns = namespace(event).to_string();
        let item = json!({"event": event, "description": description});
        match groups.iter_mut().find(|(n, _)| *n == ns) {
            Some((_, items)) => items.push(item),
            None => groups.push((ns, vec![item])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(
            |(ns, events)| json!({"namespace": ns, "pattern": format!("{ns}.*"), "events": events}),
        )
        .collect();
    let all: Vec<Value> = CATALOG
        .iter()
        .map(|(e, d, _)| json!({"event": e, "description": d}))
        .collect();
    json!({"event_types": all, "groups": groups, "wildcards": ["*"]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = |s: &str| EventPattern::parse(s);
        let e = |s: &str| EventName::parse(s).expect(s);
        assert!(p("*").is_some());
        assert!(p("space.*").is_some());
        assert!(p("nope.*").is_none());
        assert!(p("space.nope").is_none());
        assert!(p("space.*").unwrap().matches(e("space.member_joined")));
        assert!(!p("space.*").unwrap().matches(e("feed.created")));
        assert!(p("*").unwrap().matches(e("feed.created")));
        assert!(p("feed.created").unwrap().matches(e("feed.created")));
        assert!(!p("feed.created").unwrap().matches(e("feed.updated")));
    }

    #[test]
    fn names_are_checked_once() {
        const JOINED: EventName = EventName::known("space.member_joined");
        assert_eq!(JOINED, "space.member_joined");
        assert!(EventName::parse("space.nope").is_none());
        assert_eq!(
            serde_json::to_value(JOINED).unwrap(),
            json!("space.member_joined")
        );
        let back: EventName = serde_json::from_value(json!("space.member_joined")).unwrap();
        assert_eq!(back, JOINED);
        assert!(serde_json::from_value::<EventName>(json!("space.nope")).is_err());
        assert!(serde_json::from_value::<EventPattern>(json!("nope.*")).is_err());
        assert_eq!(
            serde_json::to_value(EventPattern::all()).unwrap(),
            json!("*")
        );
    }

    #[test]
    fn engine_events_are_marked_in_the_catalog() {
        use names::*;
        for engine in [
            ENDPOINT_DISABLED,
            ENDPOINT_RECOVERED,
            USER_DELETED,
            WEBHOOK_TEST,
            INCOMING_WEBHOOK_PROCESSED,
        ] {
            assert_eq!(engine.origin(), Origin::Engine, "{engine}");
        }
        for (name, _, origin) in CATALOG {
            if name.starts_with("endpoint.") {
                assert_eq!(*origin, Origin::Engine, "{name}");
            }
        }
        for published in [USER_REGISTERED, SPACE_MEMBER_JOINED, COURSE_ENROLLED] {
            assert_eq!(published.origin(), Origin::Published, "{published}");
        }
        assert_eq!(
            EventName::parse("feed.created").unwrap().origin(),
            Origin::Published
        );
    }
}
