//! The default one-line message of every event type, for the chat formats.
//!
//! Built from what the event carries: the member's display name (`xprofile`, else the member in
//! `data`), the space or course (its title when the data has one, else its id), the post's
//! title, and a link when the data has one (`permalink`, `url` or `link`).

mod facts;
mod system;

use super::markup::Part::{self, Lit, Strong, Text};
use super::EventContext;
use facts::Facts;

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
    match ctx.event {
        "space.created" | "space.updated" | "space.deleted" => space_change(ctx.event, &f),
        "incoming_webhook.processed" => system::incoming_processed(&f),
        "webhook.test" => system::webhook_test(&f),
        "endpoint.disabled" | "endpoint.recovered" => system::endpoint_health(ctx.event, &f),
        event => match member_action(event, &f) {
            Some((verb, rest)) => {
                let mut out = vec![f.actor(), Lit(" "), Lit(verb)];
                out.extend(rest);
                out
            }
            None => system::crm_or_generic(event, &f),
        },
    }
}

/// What the member did in a community event: the verb and what follows it (`None`: not a
/// community event).
fn member_action(event: &str, f: &Facts) -> Option<(&'static str, Vec<Part>)> {
    Some(match event {
        "feed.created" => ("posted", post(f)),
        "feed.updated" => ("edited a post", post(f)),
        "feed.deleted" => ("deleted a post", post(f)),
        "feed.pinned" => ("pinned a post", post(f)),
        "feed.unpinned" => ("unpinned a post", post(f)),
        "comment.created" => ("commented", f.title(COMMENT_TEXT)),
        "comment.updated" => ("edited a comment", f.title(COMMENT_TEXT)),
        "comment.deleted" => ("deleted a comment", f.title(COMMENT_TEXT)),
        "reaction.added" => ("reacted", reaction(f)),
        "reaction.removed" => ("removed a reaction", reaction(f)),
        "space.member_joined" => ("joined", f.place("space")),
        "space.member_left" => ("left", f.place("space")),
        "user.registered" => ("joined the community", vec![]),
        "user.profile_updated" => ("updated their profile", vec![]),
        "user.followed" => ("followed", followed(f)),
        "user.unfollowed" => ("unfollowed", followed(f)),
        "course.enrolled" => ("enrolled in", place_or(f, "course")),
        "course.unenrolled" => ("left", place_or(f, "course")),
        "lesson.completed" => ("completed", lesson(f)),
        "report.created" => (
            "reported content",
            f.title(&["reason", "report.reason", "message"]),
        ),
        "report.resolved" => (
            "had a report resolved",
            f.title(&["resolution", "status", "reason"]),
        ),
        _ => return None,
    })
}

/// ` in space “Title”: “Post title”`.
fn post(f: &Facts) -> Vec<Part> {
    [f.in_place("space"), f.title(POST_TITLE)].concat()
}

/// ` (like): “Post title”`.
fn reaction(f: &Facts) -> Vec<Part> {
    let kind = f.get(&["type", "reaction", "reaction.type"]);
    let mut rest = kind.map_or_else(Vec::new, |k| vec![Lit(" ("), Text(k), Lit(")")]);
    rest.extend(f.title(POST_TITLE));
    rest
}

/// ` Name`, ` member #2`, or ` someone`.
fn followed(f: &Facts) -> Vec<Part> {
    let other = f.get(&[
        "followed.display_name",
        "target.display_name",
        "followed_user.display_name",
    ]);
    match other {
        Some(o) => vec![Lit(" "), Strong(o)],
        None => match f.get(&["followed_id", "target_user_id"]) {
            Some(id) => vec![Lit(" member #"), Text(id)],
            None => vec![Lit(" someone")],
        },
    }
}

/// ` lesson “Title” course “Title”`, or ` a lesson`.
fn lesson(f: &Facts) -> Vec<Part> {
    let mut p = match f.get(&["lesson.title", "lesson_title"]) {
        Some(t) => vec![Lit(" lesson "), Strong(t)],
        None => vec![Lit(" a lesson")],
    };
    p.extend(f.place("course"));
    p
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

#[cfg(test)]
mod tests;
