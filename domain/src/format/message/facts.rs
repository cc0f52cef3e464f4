//! What a message can say about an event: the member, places, titles and links it carries.

use serde_json::Value;

use super::super::markup::Part::{self, Lit, Strong, Text};
use super::super::EventContext;

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
pub(super) struct Facts<'a> {
    pub(super) data: &'a Value,
    pub(super) who: String,
}

impl<'a> Facts<'a> {
    pub(super) fn new(ctx: &EventContext<'a>) -> Self {
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

    pub(super) fn get<S: AsRef<str>>(&self, paths: &[S]) -> Option<String> {
        pick(self.data, paths)
    }

    /// `space “Title”`, `space #3`, or nothing.
    pub(super) fn place(&self, noun: &'static str) -> Vec<Part> {
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
    pub(super) fn title(&self, paths: &[&str]) -> Vec<Part> {
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
    pub(super) fn in_place(&self, noun: &'static str) -> Vec<Part> {
        let p = self.place(noun);
        if p.is_empty() {
            p
        } else {
            [vec![Lit(" in")], p].concat()
        }
    }

    pub(super) fn actor(&self) -> Part {
        Strong(self.who.clone())
    }
}
