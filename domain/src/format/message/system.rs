//! The lines of Switchboard's own events, of FluentCRM's, and of any other event.

use serde_json::Value;

use super::super::markup::Part::{self, Lit, Strong, Text};
use super::facts::Facts;
use crate::events;

pub(super) fn incoming_processed(f: &Facts) -> Vec<Part> {
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

pub(super) fn webhook_test(f: &Facts) -> Vec<Part> {
    let mut out = vec![Lit("Test message from Switchboard")];
    if let Some(name) = f.get(&["webhook_name"]) {
        out.extend([Lit(": endpoint "), Strong(name), Lit(" is connected")]);
    }
    out
}

/// `Endpoint “name” was disabled: last error`, or `… is delivering again`.
pub(super) fn endpoint_health(event: &str, f: &Facts) -> Vec<Part> {
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
pub(super) fn crm_or_generic(event: &str, f: &Facts) -> Vec<Part> {
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
    let description = events::CATALOG
        .iter()
        .find(|(e, _, _)| *e == event)
        .map_or("Event", |(_, d, _)| d);
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
    if !events::is_catalog_event(event) {
        out.extend([Lit(" ("), Text(event.to_string()), Lit(")")]);
    }
    out
}
