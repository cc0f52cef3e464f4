//! The default one-line message of every event type, for the chat formats.
//!
//! Built from what the event carries: the member's display name (`xprofile`, else the member in
//! `data`), the space or course (its title when the data has one, else its id), the post's
//! title, and a link when the data has one (`permalink`, `url` or `link`).

use serde_json::Value;

use super::markup::Part::{self, Lit, Strong, Text};
use super::EventContext;

/// The first string (or number) found at one of `paths` (dotted) in `v`.
fn pick<S: AsRef<str>>(v: &Value, paths: &[S]) -> Option<String> {
    paths.iter().find_map(|p| {
        let found = p.as_ref().split('.').try_fold(v, |cur, k| cur.get(k))?;
        match found {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    })
}

/// What a message can say about an event.
struct Facts<'a> {
    data: &'a Value,
    who: String,
}

impl<'a> Facts<'a> {
    fn new(ctx: &EventContext<'a>) -> Self {
        let from_profile = ctx
            .xprofile
            .and_then(|x| pick(x, &["display_name", "username"]));
        let full_name = |base: &str| {
            let first = pick(ctx.data, &[format!("{base}.first_name")]);
            let last = pick(ctx.data, &[format!("{base}.last_name")]);
            match (first, last) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (f, l) => f.or(l),
            }
        };
        let who = from_profile
            .or_else(|| {
                pick(
                    ctx.data,
                    &["user.display_name", "user.username", "display_name"],
                )
            })
            .or_else(|| pick(ctx.data, &["contact.full_name", "full_name"]))
            .or_else(|| full_name("contact"))
            .or_else(|| pick(ctx.data, &["contact.email", "email", "user.email"]))
            .unwrap_or_else(|| "Someone".into());
        Self {
            data: ctx.data,
            who,
        }
    }

    fn get<S: AsRef<str>>(&self, paths: &[S]) -> Option<String> {
        pick(self.data, paths)
    }

    /// `space “Title”`, `space #3`, or nothing.
    fn place(&self, noun: &'static str) -> Vec<Part> {
        let title = self.get(&[
            format!("{noun}.title"),
            format!("{noun}_title"),
            format!("{noun}.name"),
            format!("{noun}_name"),
        ]);
        let id = self.get(&[format!("{noun}_id"), format!("{noun}.id")]);
        match (title, id) {
            (Some(t), _) => vec![Lit(" "), Lit(noun), Lit(" "), Strong(t)],
            (None, Some(id)) => vec![Lit(" "), Lit(noun), Lit(" #"), Text(id)],
            (None, None) => vec![],
        }
    }

    /// `: “Title”` (a link when the data has one) or nothing.
    fn title(&self, paths: &[&str]) -> Vec<Part> {
        let link = self.get(&[
            "permalink",
            "url",
            "link",
            "feed.permalink",
            "post.permalink",
        ]);
        match (self.get(paths), link) {
            (Some(t), Some(url)) => vec![Lit(": "), Part::Link { url, label: t }],
            (Some(t), None) => vec![Lit(": “"), Text(t), Lit("”")],
            (None, Some(url)) => vec![
                Lit(" "),
                Part::Link {
                    url: url.clone(),
                    label: url,
                },
            ],
            (None, None) => vec![],
        }
    }

    /// ` in space “Title”`, or nothing.
    fn in_place(&self, noun: &'static str) -> Vec<Part> {
        let p = self.place(noun);
        if p.is_empty() {
            p
        } else {
            [vec![Lit(" in")], p].concat()
        }
    }

    fn actor(&self) -> Part {
        Strong(self.who.clone())
    }
}

const POST_TITLE: &[&str] = &[
    "title",
    "feed.title",
    "post.title",
    "message",
    "feed.message",
];
const COMMENT_TEXT: &[&str] = &["comment.message", "message", "comment", "content"];

/// The default message of an event (any name: unknown events get a generic line).
pub fn default_message(ctx: &EventContext) -> Vec<Part> {
    let f = Facts::new(ctx);
    let mut out = vec![f.actor()];
    let (verb, rest): (&'static str, Vec<Part>) = match ctx.event {
        "feed.created" => (
            "posted",
            [f.in_place("space"), f.title(POST_TITLE)].concat(),
        ),
        "feed.updated" => (
            "edited a post",
            [f.in_place("space"), f.title(POST_TITLE)].concat(),
        ),
        "feed.deleted" => (
            "deleted a post",
            [f.in_place("space"), f.title(POST_TITLE)].concat(),
        ),
        "feed.pinned" => (
            "pinned a post",
            [f.in_place("space"), f.title(POST_TITLE)].concat(),
        ),
        "feed.unpinned" => (
            "unpinned a post",
            [f.in_place("space"), f.title(POST_TITLE)].concat(),
        ),
        "comment.created" => ("commented", f.title(COMMENT_TEXT)),
        "comment.updated" => ("edited a comment", f.title(COMMENT_TEXT)),
        "comment.deleted" => ("deleted a comment", f.title(COMMENT_TEXT)),
        "reaction.added" | "reaction.removed" => {
            let kind = f.get(&["type", "reaction", "reaction.type"]);
            let verb = if ctx.event == "reaction.added" {
                "reacted"
            } else {
                "removed a reaction"
            };
            let mut rest = kind.map_or_else(Vec::new, |k| vec![Lit(" ("), Text(k), Lit(")")]);
            rest.extend(f.title(POST_TITLE));
            (verb, rest)
        }
        "space.created" | "space.updated" | "space.deleted" => {
            return space_change(ctx.event, &f);
        }
        "space.member_joined" => ("joined", f.place("space")),
        "space.member_left" => ("left", f.place("space")),
        "user.registered" => ("joined the community", vec![]),
        "user.profile_updated" => ("updated their profile", vec![]),
        "user.followed" | "user.unfollowed" => {
            let other = f.get(&[
                "followed.display_name",
                "target.display_name",
                "followed_user.display_name",
            ]);
            let verb = if ctx.event == "user.followed" {
                "followed"
            } else {
                "unfollowed"
            };
            let rest = match other {
                Some(o) => vec![Lit(" "), Strong(o)],
                None => match f.get(&["followed_id", "target_user_id"]) {
                    Some(id) => vec![Lit(" member #"), Text(id)],
                    None => vec![Lit(" someone")],
                },
            };
            (verb, rest)
        }
        "course.enrolled" => ("enrolled in", place_or(&f, "course")),
        "course.unenrolled" => ("left", place_or(&f, "course")),
        "lesson.completed" => ("completed", {
            let mut p = match f.get(&["lesson.title", "lesson_title"]) {
                Some(t) => vec![Lit(" lesson "), Strong(t)],
                None => vec![Lit(" a lesson")],
            };
            p.extend(f.place("course"));
            p
        }),
        "report.created" => (
            "reported content",
            f.title(&["reason", "report.reason", "message"]),
        ),
        "report.resolved" => (
            "had a report resolved",
            f.title(&["resolution", "status", "reason"]),
        ),
        "incoming_webhook.processed" => return incoming_processed(&f),
        "webhook.test" => return webhook_test(&f),
        "endpoint.disabled" | "endpoint.recovered" => return endpoint_health(ctx.event, &f),
        other => return crm_or_generic(other, &f),
    };
    out.push(Lit(" "));
    out.push(Lit(verb));
    out.extend(rest);
    out
}

/// ` course “Title”`, or ` a course`.
fn place_or(f: &Facts, noun: &'static str) -> Vec<Part> {
    let p = f.place(noun);
    if p.is_empty() {
        vec![Lit(" a "), Lit(noun)]
    } else {
        p
    }
}

fn space_change(event: &str, f: &Facts) -> Vec<Part> {
    let verb = match event {
        "space.created" => "created",
        "space.updated" => "updated",
        _ => "deleted",
    };
    let mut out = vec![Lit("Space")];
    let place = f.place("space");
    out.extend(place.into_iter().skip(2));
    out.push(Lit(" was "));
    out.push(Lit(verb));
    out
}

fn incoming_processed(f: &Facts) -> Vec<Part> {
    let mut out = vec![Lit("Incoming webhook")];
    if let Some(id) = f.get(&["incoming_webhook_id"]) {
        out.extend([Lit(" #"), Text(id)]);
    }
    out.push(Lit(" processed "));
    out.push(f.actor());
    let created = f.data.get("created").and_then(Value::as_bool) == Some(true);
    out.push(Lit(if created {
        " (new member)"
    } else {
        " (existing member)"
    }));
    for (key, noun) in [("spaces", "space"), ("courses", "course")] {
        let count = |what: &str| {
            f.data
                .get(key)
                .and_then(|s| s.get(what))
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        };
        let (added, removed) = (count("added"), count("removed"));
        if added > 0 {
            out.push(Lit(", added to "));
            out.push(Text(format!(
                "{added} {noun}{}",
                if added == 1 { "" } else { "s" }
            )));
        }
        if removed > 0 {
            out.push(Lit(", removed from "));
            out.push(Text(format!(
                "{removed} {noun}{}",
                if removed == 1 { "" } else { "s" }
            )));
        }
    }
    out
}

fn webhook_test(f: &Facts) -> Vec<Part> {
    let mut out = vec![Lit("Test message from Switchboard")];
    if let Some(name) = f.get(&["webhook_name"]) {
        out.extend([Lit(": endpoint "), Strong(name), Lit(" is connected")]);
    }
    out
}

/// `Endpoint “name” was disabled: last error`, or `… is delivering again`.
fn endpoint_health(event: &str, f: &Facts) -> Vec<Part> {
    let mut out = vec![Lit("Endpoint")];
    match (f.get(&["name"]), f.get(&["webhook_id"])) {
        (Some(name), _) => out.extend([Lit(" "), Strong(name)]),
        (None, Some(id)) => out.extend([Lit(" #"), Text(id)]),
        (None, None) => {}
    }
    if event == "endpoint.recovered" {
        out.push(Lit(" is delivering again"));
        return out;
    }
    out.push(Lit(" was disabled"));
    if let Some(e) = f.get(&["last_error"]) {
        out.extend([Lit(": "), Text(e)]);
    }
    out
}

/// FluentCRM events, and a generic line for anything else.
fn crm_or_generic(event: &str, f: &Facts) -> Vec<Part> {
    let detail: Option<(&'static str, Vec<&str>)> = match event.split('.').next() {
        Some("contact") => Some((
            " – ",
            vec![
                "new_status",
                "status",
                "tag.title",
                "tag_name",
                "list.title",
                "list_name",
            ],
        )),
        Some("email") => Some((
            " – ",
            vec!["email.subject", "subject", "campaign.title", "url"],
        )),
        Some("campaign") => Some((": ", vec!["campaign.title", "title", "name"])),
        Some("funnel") => Some((": ", vec!["funnel.title", "funnel_title", "title"])),
        Some("commerce") => Some((": ", vec!["order.total", "total", "amount"])),
        _ => None,
    };
    let description = super::super::events::CATALOG
        .iter()
        .find(|(e, _)| *e == event)
        .map_or("Event", |(_, d)| d);
    let mut out = vec![Lit(description)];
    if f.who != "Someone" && !matches!(event.split('.').next(), Some("campaign")) {
        out.extend([Lit(": "), f.actor()]);
    }
    if let Some((sep, paths)) = detail {
        if let Some(v) = f.get(paths.as_slice()) {
            out.extend([Lit(sep), Text(v)]);
            if let Some(cur) = f.get(&["order.currency", "currency"]) {
                out.extend([Lit(" "), Text(cur)]);
            }
        }
    }
    if !super::super::events::is_catalog_event(event) {
        out.extend([Lit(" ("), Text(event.to_string()), Lit(")")]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::markup::{render, Chat};
    use super::*;
    use serde_json::json;

    fn line(event: &str, data: Value, x: Option<Value>) -> String {
        let ctx = EventContext {
            event,
            timestamp: "t",
            webhook_id: 1,
            delivery_id: "d",
            data: &data,
            xprofile: x.as_ref(),
        };
        render(Chat::Slack, &default_message(&ctx))
    }

    #[test]
    fn community_events() {
        let x = Some(json!({"display_name": "Jane Doe"}));
        assert_eq!(
            line(
                "feed.created",
                json!({"title": "Welcome!", "space_id": 12}),
                x.clone()
            ),
            "*Jane Doe* posted in space #12: “Welcome!”"
        );
        assert_eq!(
            line(
                "feed.created",
                json!({"title": "Hi", "space": {"title": "General"}, "permalink": "https://c.example/p/1"}),
                x.clone()
            ),
            "*Jane Doe* posted in space *General*: <https://c.example/p/1|Hi>"
        );
        assert_eq!(
            line("space.member_joined", json!({"space_id": 3}), x.clone()),
            "*Jane Doe* joined space #3"
        );
        assert_eq!(
            line("course.enrolled", json!({"course_id": 7}), x.clone()),
            "*Jane Doe* enrolled in course #7"
        );
        assert_eq!(
            line(
                "space.created",
                json!({"space_id": 3, "space": {"title": "VIP"}}),
                None
            ),
            "Space *VIP* was created"
        );
        assert_eq!(
            line(
                "user.registered",
                json!({"user": {"display_name": "Bo"}}),
                None
            ),
            "*Bo* joined the community"
        );
    }

    #[test]
    fn other_events() {
        assert_eq!(
            line("webhook.test", json!({"webhook_name": "Ops"}), None),
            "Test message from Switchboard: endpoint *Ops* is connected"
        );
        assert_eq!(
            line(
                "incoming_webhook.processed",
                json!({"incoming_webhook_id": 2, "created": true, "spaces": {"added": [1, 2]}, "user": {"display_name": "Al"}}),
                None
            ),
            "Incoming webhook #2 processed *Al* (new member), added to 2 spaces"
        );
        assert_eq!(
            line(
                "contact.status_changed",
                json!({"contact": {"first_name": "Ann", "last_name": "Lee"}, "new_status": "subscribed"}),
                None
            ),
            "Contact status updated: *Ann Lee* – subscribed"
        );
        assert_eq!(
            line(
                "commerce.order_created",
                json!({"order": {"total": 49.5, "currency": "USD"}}),
                None
            ),
            "New order placed: 49.5 USD"
        );
        assert_eq!(
            line("unknown.thing", json!({}), None),
            "Event (unknown.thing)"
        );
        assert_eq!(
            line(
                "endpoint.disabled",
                json!({"webhook_id": 4, "name": "CRM", "last_error": "HTTP 500"}),
                None
            ),
            "Endpoint *CRM* was disabled: HTTP 500"
        );
    }

    #[test]
    fn every_catalog_event_has_a_line() {
        for (event, _) in crate::domain::events::CATALOG {
            assert!(!line(event, json!({}), None).is_empty(), "{event}");
        }
    }
}
